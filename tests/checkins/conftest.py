"""Check-in tests run on the pinned clock: Tuesday 2026-11-24, 09:30 in Shanghai.

The fixture world's route is for ``today()`` and visits are allowed 08:00-21:00 local, so an
unpinned clock would make these tests depend on the hour they run at. The clock keeps
ticking, so every check-in's ``captured_at`` is taken relative to ``timezone.now()``.
"""

from __future__ import annotations

from typing import Any

import pytest

from fieldvisit.models import Stop
from tests.helpers import stops_of


@pytest.fixture(autouse=True)
def _pinned_clock(clock: Any) -> None:
    """Every test here runs on the pinned clock, set before ``world`` is built."""


@pytest.fixture
def stops(world: Any) -> list[Stop]:
    return stops_of(world.route)
