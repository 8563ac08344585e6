"""The write limit on the busiest write, a tus PATCH: refused with 429 ``throttled`` that still
speaks tus (Tus-Resumable, Retry-After), nothing written; HEAD, a read, goes on, and once the
limit allows it the same PATCH resumes at the same offset."""

from __future__ import annotations

from typing import Any

import pytest
from django.core.cache import cache

from tests.helpers import (
    assert_tus_problem,
    audio,
    created,
    head,
    partial_path,
    patch,
    segment_meta,
)

# On the pinned clock (the root conftest's ``clock``), set before ``world`` is built.
pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("clock")]


def test_a_throttled_patch_writes_nothing_and_resumes_later(
    agent: Any, visit: Any, settings: Any
) -> None:
    data = audio("m4a_aac_lc.m4a")
    url = created(agent, data, segment_meta(visit, data))
    cache.clear()  # the arrival and the creation are not counted
    framework = dict(settings.REST_FRAMEWORK)
    rates = framework["DEFAULT_THROTTLE_RATES"]
    framework["DEFAULT_THROTTLE_RATES"] = {**rates, "write": "1/hour"}
    settings.REST_FRAMEWORK = framework
    half = len(data) // 2

    assert patch(agent, url, data[:half], 0).status_code == 204
    refused = patch(agent, url, data[half:], half)

    assert_tus_problem(refused, 429, "throttled")
    assert 0 < int(refused["Retry-After"]) <= 3601
    assert partial_path(url).stat().st_size == half
    assert int(head(agent, url)["Upload-Offset"]) == half

    framework["DEFAULT_THROTTLE_RATES"] = rates
    settings.REST_FRAMEWORK = dict(framework)
    done = patch(agent, url, data[half:], half)
    assert done.status_code == 204, done.content
