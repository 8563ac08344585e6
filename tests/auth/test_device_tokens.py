"""POST /api/v1/auth/token/, POST /api/v1/auth/logout/, GET /api/v1/me/ and device revocation.

A token belongs to one user on one device: signing in again on that device, signing out, or a
supervisor revoking it in admin stops that token and no other.
"""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from rest_framework.test import APIClient

from fieldvisit.models import DeviceToken, LedgerEntry
from tests import factories
from tests.helpers import assert_problem

TOKEN_URL = "/api/v1/auth/token/"
LOGOUT_URL = "/api/v1/auth/logout/"
ME_URL = "/api/v1/me/"


def sign_in(
    client: APIClient,
    username: str,
    password: str = factories.PASSWORD,
    device_id: str = "phone-1",
    **extra: Any,
):
    body = {
        "username": username,
        "password": password,
        "device_id": device_id,
        "device_name": f"{username}'s {device_id}",
        "platform": "android",
    }
    return client.post(TOKEN_URL, body, format="json", **extra)


def token_client(key: str) -> APIClient:
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return api


# --- sign-in -------------------------------------------------------------------------------


def test_sign_in_returns_token_device_and_user(world, anon):
    response = sign_in(anon, "agent_a", device_id="pixel-7")

    assert response.status_code == 201
    body = response.json()
    assert set(body) == {"token", "device_id", "user"}
    assert body["device_id"] == "pixel-7"
    assert body["user"] == {"id": world.agent_a.pk, "username": "agent_a", "roles": ["agent"]}
    assert len(body["token"]) >= 32
    # Only the digest is stored: the key itself is nowhere in the database.
    token = DeviceToken.objects.get(user=world.agent_a, device_id="pixel-7")
    assert token.key_digest != body["token"]
    assert body["token"].startswith(token.key_prefix)
    assert token.device_name == "agent_a's pixel-7"
    assert token.platform == "android"
    # The new token works.
    me = token_client(body["token"]).get(ME_URL)
    assert me.status_code == 200
    assert me.json()["username"] == "agent_a"


def test_sign_in_appends_token_issued_to_the_ledger(world, anon):
    before = LedgerEntry.objects.filter(kind="token.issued").count()

    response = sign_in(anon, "agent_a", device_id="pixel-7")

    assert response.status_code == 201
    issued = LedgerEntry.objects.filter(kind="token.issued").order_by("-index")
    assert issued.count() == before + 1
    assert issued.first().subject == f"user:{world.agent_a.pk}"


def test_wrong_password_is_invalid_credentials(world, anon):
    response = sign_in(anon, "agent_a", password="not the password")

    body = assert_problem(response, 401, "invalid_credentials")
    assert "token" not in body
    assert not DeviceToken.objects.filter(user=world.agent_a).exists()


def test_unknown_user_is_invalid_credentials(world, anon):
    assert_problem(sign_in(anon, "nobody"), 401, "invalid_credentials")


def test_inactive_user_cannot_sign_in(world, anon):
    world.agent_a.is_active = False
    world.agent_a.save(update_fields=["is_active"])

    assert_problem(sign_in(anon, "agent_a"), 401, "invalid_credentials")


def test_missing_fields_are_a_validation_error(world, anon):
    response = anon.post(TOKEN_URL, {"username": "agent_a"}, format="json")

    body = assert_problem(response, 422, "validation_error")
    assert set(body["errors"]) == {"password", "device_id"}


def test_unknown_platform_is_a_validation_error(world, anon):
    response = anon.post(
        TOKEN_URL,
        {
            "username": "agent_a",
            "password": factories.PASSWORD,
            "device_id": "d",
            "platform": "palm-os",
        },
        format="json",
    )

    body = assert_problem(response, 422, "validation_error")
    assert set(body["errors"]) == {"platform"}


def test_repeated_failures_are_throttled_even_for_the_right_password(world, anon, settings):
    limit = settings.LOGIN_FAILURE_LIMIT
    for _ in range(limit):
        assert_problem(sign_in(anon, "agent_a", password="guess"), 401, "invalid_credentials")

    refused = sign_in(anon, "agent_a", password="guess")
    body = assert_problem(refused, 429, "too_many_login_attempts")
    assert body["detail"]
    assert int(refused["Retry-After"]) > settings.LOGIN_FAILURE_WINDOW_S - 5
    # The right password is refused too while this username is blocked at this address.
    assert_problem(sign_in(anon, "agent_a"), 429, "too_many_login_attempts")
    assert not DeviceToken.objects.filter(user=world.agent_a).exists()


# The policy (README, "Failed sign-ins"): failures count per (username, address) pair, per
# username and per address. The pair locks first; the username-wide and the address-wide
# limits are higher and do not stop a username at an address where it signed in recently.


def test_one_users_failures_do_not_lock_out_others_behind_the_same_address(world, anon, settings):
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        sign_in(anon, "agent_a", password="guess", REMOTE_ADDR="203.0.113.9")
    assert_problem(
        sign_in(anon, "agent_a", REMOTE_ADDR="203.0.113.9"), 429, "too_many_login_attempts"
    )

    # agent_b, behind the same office address, signs in as usual.
    assert sign_in(anon, "agent_b", REMOTE_ADDR="203.0.113.9").status_code == 201


def test_failures_for_a_name_elsewhere_do_not_lock_the_agent_out(world, anon, settings):
    """Someone who knows an agent's username cannot lock that agent out with a few tries."""
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        sign_in(anon, "agent_a", password="guess", REMOTE_ADDR="198.51.100.66")
    assert_problem(
        sign_in(anon, "agent_a", REMOTE_ADDR="198.51.100.66"), 429, "too_many_login_attempts"
    )

    assert sign_in(anon, "agent_a", REMOTE_ADDR="203.0.113.9").status_code == 201


def test_guessing_one_name_from_many_addresses_locks_that_name(world, anon, settings):
    """Spread over addresses, the guesses for one username still stop, at a higher count;
    where the agent signed in recently, the agent still gets in."""
    assert sign_in(anon, "agent_a", REMOTE_ADDR="203.0.113.9").status_code == 201
    per_address = settings.LOGIN_FAILURE_LIMIT
    for n in range(settings.LOGIN_USERNAME_FAILURE_LIMIT):
        address = f"198.51.100.{n // per_address}"
        assert_problem(
            sign_in(anon, "agent_a", password="guess", REMOTE_ADDR=address),
            401,
            "invalid_credentials",
        )

    fresh = sign_in(anon, "agent_a", REMOTE_ADDR="192.0.2.200")
    assert_problem(fresh, 429, "too_many_login_attempts")
    assert int(fresh["Retry-After"]) > settings.LOGIN_FAILURE_WINDOW_S - 5
    # The agent's own office, where agent_a signed in before, still lets agent_a in.
    assert (
        sign_in(anon, "agent_a", device_id="phone-2", REMOTE_ADDR="203.0.113.9").status_code == 201
    )
    # Other usernames are not touched.
    assert sign_in(anon, "agent_b", REMOTE_ADDR="192.0.2.200").status_code == 201


def test_an_office_of_200_behind_one_address_is_not_locked_out(world, anon):
    """Every one of 200 agents behind one NAT mistypes once in the same quarter hour: the
    next agent still signs in."""
    for n in range(199):
        assert_problem(
            sign_in(anon, f"office_agent_{n}", password="typo", REMOTE_ADDR="203.0.113.9"),
            401,
            "invalid_credentials",
        )

    assert sign_in(anon, "agent_a", REMOTE_ADDR="203.0.113.9").status_code == 201


def test_spraying_many_names_from_one_address_locks_the_address(world, anon, settings):
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 12
    assert sign_in(anon, "agent_b", REMOTE_ADDR="203.0.113.9").status_code == 201
    for n in range(12):
        sign_in(anon, f"name_{n}", password="spray", REMOTE_ADDR="203.0.113.9")

    assert_problem(
        sign_in(anon, "agent_a", REMOTE_ADDR="203.0.113.9"), 429, "too_many_login_attempts"
    )
    # An agent who signed in from this address recently is not stopped by the address limit.
    assert (
        sign_in(anon, "agent_b", device_id="phone-2", REMOTE_ADDR="203.0.113.9").status_code == 201
    )
    # The sprayer signing in with an account of their own does not clear the address count.
    assert_problem(
        sign_in(anon, "outsider", REMOTE_ADDR="203.0.113.9"), 429, "too_many_login_attempts"
    )
    assert sign_in(anon, "agent_a", REMOTE_ADDR="198.51.100.7").status_code == 201


def test_a_successful_sign_in_clears_that_names_count_at_that_address(world, anon, settings):
    limit = settings.LOGIN_FAILURE_LIMIT
    for _ in range(limit - 1):
        sign_in(anon, "agent_a", password="guess")
    assert sign_in(anon, "agent_a").status_code == 201

    for _ in range(limit - 1):
        assert_problem(sign_in(anon, "agent_a", password="guess"), 401, "invalid_credentials")
    assert sign_in(anon, "agent_a", device_id="phone-2").status_code == 201


def test_usernames_count_together_whatever_their_case(world, anon, settings):
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        sign_in(anon, "Agent_A ", password="guess")

    assert_problem(sign_in(anon, "agent_a"), 429, "too_many_login_attempts")


def test_a_request_without_a_client_address_is_counted_not_a_500(world, anon, settings):
    """A WSGI server may pass no REMOTE_ADDR (the fuzzer's in-process calls do)."""
    for _ in range(settings.LOGIN_FAILURE_LIMIT):
        assert_problem(
            sign_in(anon, "agent_a", password="guess", REMOTE_ADDR=None), 401, "invalid_credentials"
        )

    assert_problem(sign_in(anon, "agent_a", REMOTE_ADDR=None), 429, "too_many_login_attempts")


def test_the_default_limits_leave_an_office_alone_and_stop_guessing(settings):
    """README: an office of 200 behind one NAT, each mistyping once, is not locked out; a
    username locks at its own address first, username-wide only at a higher count."""
    assert settings.LOGIN_ADDRESS_FAILURE_LIMIT >= 200
    assert settings.LOGIN_FAILURE_LIMIT < settings.LOGIN_USERNAME_FAILURE_LIMIT
    assert settings.LOGIN_USERNAME_FAILURE_LIMIT <= 50
    assert settings.LOGIN_FAILURE_WINDOW_S >= 600


def test_successful_sign_ins_do_not_add_up_to_a_lock(world, anon, settings):
    """Only wrong passwords stay counted: an agent signing in on many phones from many
    addresses, or many agents from one new address, is never refused."""
    settings.LOGIN_USERNAME_FAILURE_LIMIT = 2
    settings.LOGIN_ADDRESS_FAILURE_LIMIT = 2
    for n in range(5):
        response = sign_in(anon, "agent_a", device_id=f"phone-{n}", REMOTE_ADDR=f"198.51.100.{n}")
        assert response.status_code == 201
    for name in ("agent_b", "supervisor", "planner", "agent_a"):
        assert sign_in(anon, name, REMOTE_ADDR="192.0.2.50").status_code == 201


def test_one_failure_short_of_the_limit_still_signs_in(world, anon, settings):
    for _ in range(settings.LOGIN_FAILURE_LIMIT - 1):
        sign_in(anon, "agent_a", password="guess")

    assert sign_in(anon, "agent_a").status_code == 201


def test_successful_sign_ins_do_not_count_towards_the_limit(world, anon, settings):
    for n in range(settings.LOGIN_FAILURE_LIMIT + 2):
        assert sign_in(anon, "agent_a", device_id=f"phone-{n}").status_code == 201

    assert DeviceToken.objects.filter(user=world.agent_a, revoked_at__isnull=True).count() == (
        settings.LOGIN_FAILURE_LIMIT + 2
    )


# --- one token per device --------------------------------------------------------------


def test_signing_in_again_on_the_same_device_revokes_the_previous_token(world, anon):
    first = sign_in(anon, "agent_a", device_id="phone-1").json()["token"]
    other_device = sign_in(anon, "agent_a", device_id="tablet").json()["token"]
    revoked_before = LedgerEntry.objects.filter(kind="token.revoked").count()

    second = sign_in(anon, "agent_a", device_id="phone-1").json()["token"]

    assert second != first
    assert_problem(token_client(first).get(ME_URL), 401, "token_revoked")
    assert token_client(second).get(ME_URL).status_code == 200
    assert token_client(other_device).get(ME_URL).status_code == 200
    assert LedgerEntry.objects.filter(kind="token.revoked").count() == revoked_before + 1
    tokens = DeviceToken.objects.filter(user=world.agent_a, device_id="phone-1")
    assert tokens.count() == 2
    assert tokens.filter(revoked_at__isnull=True).count() == 1


def test_the_same_device_id_of_two_users_are_two_tokens(world, anon):
    a = sign_in(anon, "agent_a", device_id="shared-phone").json()["token"]
    b = sign_in(anon, "agent_b", device_id="shared-phone").json()["token"]

    assert token_client(a).get(ME_URL).json()["username"] == "agent_a"
    assert token_client(b).get(ME_URL).json()["username"] == "agent_b"


# --- sign-out --------------------------------------------------------------------------


def test_logout_revokes_only_this_device(world):
    phone = world.client(world.agent_a, device="phone-1")
    tablet = world.client(world.agent_a, device="tablet")
    revoked_before = LedgerEntry.objects.filter(kind="token.revoked").count()

    response = phone.post(LOGOUT_URL)

    assert response.status_code == 204
    assert response.content == b""
    assert_problem(phone.get(ME_URL), 401, "token_revoked")
    assert tablet.get(ME_URL).status_code == 200
    revoked = LedgerEntry.objects.filter(kind="token.revoked").order_by("-index")
    assert revoked.count() == revoked_before + 1
    assert revoked.first().subject == f"user:{world.agent_a.pk}"
    token = DeviceToken.objects.get(user=world.agent_a, device_id="phone-1")
    assert token.revoked_at is not None
    assert token.revoked_by == world.agent_a


def test_logout_twice_is_token_revoked(world):
    phone = world.client(world.agent_a)
    assert phone.post(LOGOUT_URL).status_code == 204

    assert_problem(phone.post(LOGOUT_URL), 401, "token_revoked")


def test_logout_needs_a_token(world, anon):
    assert_problem(anon.post(LOGOUT_URL), 401, "not_authenticated")


# --- authentication failures -----------------------------------------------------------


def test_missing_header_is_not_authenticated(world, anon):
    response = anon.get(ME_URL)

    assert_problem(response, 401, "not_authenticated")
    assert response["WWW-Authenticate"].startswith("Token")


def test_unknown_token_is_invalid_token(world):
    response = token_client("this-token-was-never-issued").get(ME_URL)

    assert_problem(response, 401, "invalid_token")
    assert response["WWW-Authenticate"].startswith("Token")


@pytest.mark.parametrize(
    "header",
    ["Token", "Token a b", "Token \u00e9\u00e9\u00e9"],
    ids=["no-key", "two-keys", "non-ascii"],
)
def test_malformed_authorization_header_is_invalid_token(world, header):
    api = APIClient()
    api.credentials(HTTP_AUTHORIZATION=header)

    assert_problem(api.get(ME_URL), 401, "invalid_token")


def test_inactive_user_token_is_refused(world):
    phone = world.client(world.agent_a)
    world.agent_a.is_active = False
    world.agent_a.save(update_fields=["is_active"])

    assert_problem(phone.get(ME_URL), 401, "user_inactive")


# --- revocation by a supervisor in admin ---------------------------------------------


def test_supervisor_revokes_a_lost_phone_in_admin(world):
    lost = world.client(world.agent_a, device="lost-phone")
    spare = world.client(world.agent_a, device="spare-phone")
    partner = world.client(world.agent_b, device="phone-1")
    token = DeviceToken.objects.get(user=world.agent_a, device_id="lost-phone")
    revoked_before = LedgerEntry.objects.filter(kind="token.revoked").count()
    admin = Client()
    admin.force_login(world.supervisor)

    response = admin.post(
        "/admin/fieldvisit/devicetoken/",
        {"action": "revoke", "_selected_action": [str(token.pk)], "index": 0},
    )

    assert response.status_code == 302
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert token.revoked_by == world.supervisor
    assert_problem(lost.get(ME_URL), 401, "token_revoked")
    assert spare.get(ME_URL).status_code == 200
    assert partner.get(ME_URL).status_code == 200
    assert LedgerEntry.objects.filter(kind="token.revoked").count() == revoked_before + 1


def test_legal_cannot_revoke_tokens_in_admin(world):
    phone = world.client(world.agent_a)
    token = DeviceToken.objects.get(user=world.agent_a, device_id="phone-1")
    admin = Client()
    admin.force_login(world.legal)

    response = admin.post(
        "/admin/fieldvisit/devicetoken/",
        {"action": "revoke", "_selected_action": [str(token.pk)], "index": 0},
    )

    assert response.status_code == 403
    token.refresh_from_db()
    assert token.revoked_at is None
    assert phone.get(ME_URL).status_code == 200


def test_an_auditor_sees_tokens_but_cannot_revoke_them(world):
    phone = world.client(world.agent_a)
    token = DeviceToken.objects.get(user=world.agent_a, device_id="phone-1")
    admin = Client()
    admin.force_login(world.auditor)

    listing = admin.get("/admin/fieldvisit/devicetoken/")
    response = admin.post(
        "/admin/fieldvisit/devicetoken/",
        {"action": "revoke", "_selected_action": [str(token.pk)], "index": 0},
    )

    assert listing.status_code == 200
    assert response.status_code in (200, 302)
    token.refresh_from_db()
    assert token.revoked_at is None
    assert phone.get(ME_URL).status_code == 200
    assert not LedgerEntry.objects.filter(kind="token.revoked").exists()


# --- who am I --------------------------------------------------------------------------


def test_me_for_an_agent_shows_the_team_and_its_members(world):
    response = world.client(world.agent_a).get(ME_URL)

    assert response.status_code == 200
    body = response.json()
    assert set(body) == {"id", "username", "roles", "team"}
    assert body["id"] == world.agent_a.pk
    assert body["username"] == "agent_a"
    assert body["roles"] == ["agent"]
    assert set(body["team"]) == {"id", "name", "members"}
    assert body["team"]["id"] == world.team.pk
    assert body["team"]["name"] == "Huangpu"
    members = {member["username"]: member for member in body["team"]["members"]}
    assert set(members) == {"agent_a", "agent_b"}
    assert members["agent_b"]["id"] == world.agent_b.pk
    assert members["agent_b"]["badge_number"] == world.agent_b.agent_profile.badge_number


def test_me_for_the_outsider_shows_only_their_own_team(world):
    body = world.client(world.outsider).get(ME_URL).json()

    assert body["team"]["name"] == "Pudong"
    assert {m["username"] for m in body["team"]["members"]} == {"outsider", "outsider_partner"}


def test_me_leaves_out_inactive_team_members(world):
    profile = world.agent_b.agent_profile
    profile.active = False
    profile.save(update_fields=["active"])

    body = world.client(world.agent_a).get(ME_URL).json()

    assert [m["username"] for m in body["team"]["members"]] == ["agent_a"]


def test_me_for_legal_has_no_team(world):
    response = world.client(world.legal).get(ME_URL)

    assert response.status_code == 200
    assert response.json() == {
        "id": world.legal.pk,
        "username": "legal",
        "roles": ["legal"],
        "team": None,
    }


def test_me_for_the_supervisor_lists_the_role(world):
    body = world.client(world.supervisor).get(ME_URL).json()

    assert body["roles"] == ["supervisor"]
    assert body["team"] is None


def test_a_supervisor_sees_only_their_own_teams_devices(world, client) -> None:  # type: ignore[no-untyped-def]
    from fieldvisit.models import DeviceToken

    world.client(world.agent_a)
    world.client(world.outsider)
    client.force_login(world.supervisor)
    page = client.get("/admin/fieldvisit/devicetoken/")
    assert page.status_code == 200
    shown = {token.user.username for token in page.context["cl"].result_list}
    assert shown == {"agent_a"}
    outsider_token = DeviceToken.objects.get(user=world.outsider)
    client.post(
        "/admin/fieldvisit/devicetoken/",
        {"action": "revoke", "_selected_action": [str(outsider_token.pk)]},
    )
    outsider_token.refresh_from_db()
    assert outsider_token.revoked_at is None


def test_a_forged_forwarded_for_does_not_escape_the_throttle(world, anon, settings):
    """Without proxies of ours, X-Forwarded-For is the client's word and is ignored."""
    for n in range(settings.LOGIN_FAILURE_LIMIT):
        sign_in(anon, "agent_b", password="guess", HTTP_X_FORWARDED_FOR=f"198.51.100.{n}")
    refused = sign_in(anon, "agent_b", password="guess", HTTP_X_FORWARDED_FOR="198.51.100.99")
    assert_problem(refused, 429, "too_many_login_attempts")  # same real address: blocked
