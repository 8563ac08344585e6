"""Admin sits behind sessions and CSRF; the API behind device tokens. Neither opens the other:
a token does not sign in to admin, an admin session does not authenticate API calls, and no
admin form is accepted without its CSRF token."""

from __future__ import annotations

from typing import Any

from django.test import Client

from fieldvisit.actions.auth import issue_token
from fieldvisit.models import Team
from tests import factories
from tests.helpers import assert_problem

LOGIN_URL = "/admin/login/"


def team_change_url(team: Team) -> str:
    return f"/admin/fieldvisit/team/{team.pk}/change/"


def test_signing_in_to_admin_without_the_csrf_token_is_refused(world: Any) -> None:
    browser = Client(enforce_csrf_checks=True)
    credentials = {"username": "supervisor", "password": factories.PASSWORD}

    refused = browser.post(LOGIN_URL, credentials)

    assert refused.status_code == 403
    assert "sessionid" not in refused.cookies
    assert browser.get("/admin/").status_code == 302  # still signed out


def test_with_the_csrf_token_the_same_sign_in_works(world: Any) -> None:
    browser = Client(enforce_csrf_checks=True)
    page = browser.get(LOGIN_URL)
    token = page.cookies["csrftoken"].value
    form = {"username": "supervisor", "password": factories.PASSWORD}

    signed_in = browser.post(LOGIN_URL, {**form, "csrfmiddlewaretoken": token})

    assert signed_in.status_code == 302
    cookie = signed_in.cookies["sessionid"]
    assert cookie["httponly"] is True
    assert cookie["samesite"] == "Lax"
    assert browser.get("/admin/").status_code == 200


def test_a_signed_in_supervisors_form_without_the_csrf_token_changes_nothing(
    world: Any,
) -> None:
    browser = Client(enforce_csrf_checks=True)
    browser.force_login(world.supervisor)
    page = browser.get(team_change_url(world.team))
    assert page.status_code == 200

    refused = browser.post(team_change_url(world.team), {"name": "Renamed", "timezone": "UTC"})

    assert refused.status_code == 403
    world.team.refresh_from_db()
    assert world.team.name == "Huangpu"


def test_an_admin_page_cannot_be_framed(world: Any) -> None:
    browser = Client()
    browser.force_login(world.supervisor)

    response = browser.get("/admin/")

    assert response.status_code == 200
    assert response["X-Frame-Options"] == "DENY"
    assert response["X-Content-Type-Options"] == "nosniff"


def test_an_api_token_does_not_open_admin(world: Any) -> None:
    key, _ = issue_token(world.supervisor, "laptop", "supervisor's laptop", "web")
    browser = Client(HTTP_AUTHORIZATION=f"Token {key}")

    index = browser.get("/admin/")
    posted = browser.post(team_change_url(world.team), {"name": "Renamed", "timezone": "UTC"})

    assert index.status_code == 302 and index["Location"].startswith(LOGIN_URL)
    assert posted.status_code == 302 and posted["Location"].startswith(LOGIN_URL)
    world.team.refresh_from_db()
    assert world.team.name == "Huangpu"


def test_an_admin_session_does_not_authenticate_the_api(world: Any) -> None:
    for user, url in ((world.supervisor, "/api/v1/me/"), (world.legal, "/api/v1/cases/")):
        browser = Client()
        browser.force_login(user)

        assert_problem(browser.get(url), 401, "not_authenticated")
        assert_problem(browser.post("/api/v1/auth/logout/"), 401, "not_authenticated")


def test_agents_cannot_sign_in_to_admin(world: Any) -> None:
    browser = Client()

    response = browser.post(LOGIN_URL, {"username": "agent_a", "password": factories.PASSWORD})

    assert response.status_code == 200  # the form again, with an error
    assert browser.get("/admin/").status_code == 302
