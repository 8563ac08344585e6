"""A refusal in admin is a page in the admin's style that names the missing permission, and
one log line."""

from __future__ import annotations

import logging
from typing import Any

import pytest
from django.test import Client

from tests.helpers import World

pytestmark = pytest.mark.django_db


def test_a_planner_is_told_which_permission_the_alerts_need(
    world: World, client: Client, caplog: Any
) -> None:
    client.force_login(world.planner)
    with caplog.at_level(logging.WARNING, logger="django.request"):
        response = client.get("/admin/fieldvisit/alert/")
    assert response.status_code == 403
    html = response.content.decode()
    assert "You are not allowed to open this page" in html
    assert "Can view alert (fieldvisit.view_alert)" in html
    assert 'id="site-name"' in html  # the admin's own header, not a bare "403 Forbidden"
    [record] = [r for r in caplog.records if r.name == "django.request"]
    from fieldvisit.log_filters import OneLineRefusals

    # Django logs the refusal with its exception; the console handler's filter dropped it.
    assert record.exc_info is None and "Forbidden" in record.getMessage()
    console = [h for h in logging.getLogger().handlers if type(h) is logging.StreamHandler]
    assert any(isinstance(f, OneLineRefusals) for h in console for f in h.filters)


def test_a_custom_page_names_its_own_permission(world: World, client: Client) -> None:
    client.force_login(world.planner)
    response = client.get(f"/admin/fieldvisit/route/{world.route.pk}/decide/")
    assert response.status_code == 403
    assert "(fieldvisit.decide_route)" in response.content.decode()


def test_the_api_still_answers_problem_details(world: World) -> None:
    api = world.client(world.agent_a, "phone-a")
    response = api.get("/api/v1/ledger/entries/")
    assert response.status_code in (403, 404)
    assert response["Content-Type"].startswith("application/problem+json")
