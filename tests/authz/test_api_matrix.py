"""The authorization matrix of the API: every endpoint of fieldvisit/api/urls.py, as each
of ten principals, with the status each must get. One literal table, one test.

Each request is one the principal could plausibly make with a valid body, so the status
says what the principal may do, not how the body was malformed: 2xx allowed; 401 not
signed in (or a revoked token); 403 a role or rule refusal; 404 a record the principal
may not know exists (agents see only their own team's; uploads only their owner).
"""

from __future__ import annotations

import uuid
from collections.abc import Callable
from typing import Any

import pytest
from django.urls import URLResolver, get_resolver

from fieldvisit.models import LedgerEntry
from tests.authz.scene import PRINCIPALS, Scene, now, report_body
from tests.factories import PASSWORD
from tests.helpers import TUS, body, create, head, iso, patch, photo_form, segment_meta
from tests.images import jpeg

pytestmark = pytest.mark.django_db(transaction=True)


Request = Callable[[Scene, Any, str], Any]  # (scene, client, principal) -> response


def get(path: Callable[[Scene], str]) -> Request:
    return lambda scene, client, principal: client.get(path(scene))


def post_json(path: Callable[[Scene], str], data: Callable[[Scene], dict[str, Any]]) -> Request:
    return lambda scene, client, principal: client.post(path(scene), data(scene), format="json")


def post_form(path: Callable[[Scene], str], data: Callable[[Scene], dict[str, Any]]) -> Request:
    return lambda scene, client, principal: client.post(
        path(scene), data(scene), format="multipart"
    )


def route(s: Scene) -> str:
    return f"/api/v1/routes/{s.world.route.pk}/"


def open_visit(s: Scene) -> str:
    return f"/api/v1/visits/{s.open.pk}/"


def closed_visit(s: Scene) -> str:
    return f"/api/v1/visits/{s.closed.pk}/"


def case(s: Scene) -> str:
    return f"/api/v1/cases/{s.closed.stop.case_id}/"


def foreign_entry(s: Scene) -> int:
    """The ledger entry of the outsider's panic: about a team the supervisor does not oversee."""
    subject = f"alert:{s.foreign_alert.pk}"
    return LedgerEntry.objects.get(kind="alert.raised", subject=subject).index


def tus_create(scene: Scene, client: Any, principal: str) -> Any:
    data = b"\0" * 100
    return create(client, len(data), segment_meta(scene.open, data))


def sign_in(scene: Scene, client: Any, principal: str) -> Any:
    """Sign in with the principal's own password (agent B's for those without a user):
    the token endpoint ignores any Authorization header."""
    user = scene.user(principal) or scene.world.agent_b
    return client.post(
        "/api/v1/auth/token/",
        {
            "username": user.username,
            "password": PASSWORD,
            "device_id": uuid.uuid4().hex,
            "device_name": "new phone",
            "platform": "android",
        },
        format="json",
    )


# The table: (url name, method): how to ask, then the status for each principal, in the
# order anonymous, revoked token, agent of the team (agent A), outsider agent (another
# team), planner, supervisor (of the team), legal, auditor, team lead (of the team), risk
# manager (of the team).
MATRIX: dict[
    tuple[str, str], tuple[Request, tuple[int, int, int, int, int, int, int, int, int, int]]
] = {
    # The schema is public; a revoked token is refused wherever it is shown.
    ("schema", "GET"): (
        get(lambda s: "/api/v1/schema/"),
        (200, 401, 200, 200, 200, 200, 200, 200, 200, 200),
    ),
    ("auth-token", "POST"): (sign_in, (201, 201, 201, 201, 201, 201, 201, 201, 201, 201)),
    ("auth-logout", "POST"): (
        lambda s, c, p: c.post("/api/v1/auth/logout/"),
        (401, 401, 204, 204, 204, 204, 204, 204, 204, 204),
    ),
    ("me", "GET"): (
        get(lambda s: "/api/v1/me/"),
        (401, 401, 200, 200, 200, 200, 200, 200, 200, 200),
    ),
    # Everyone signed in may ask for their routes; only agents and supervisors have any.
    ("route-list", "GET"): (
        get(lambda s: "/api/v1/routes/"),
        (401, 401, 200, 200, 200, 200, 200, 200, 200, 200),
    ),
    # A route shows to its team's agents and to the supervisor who oversees the team.
    ("route-detail", "GET"): (get(route), (401, 401, 200, 404, 404, 200, 404, 404, 200, 200)),
    # Only the team's own agents ask for changes; the supervisor sees the route but may
    # not ask (not_team_member).
    ("route-change-requests", "POST"): (
        post_json(
            lambda s: route(s) + "change-requests/",
            lambda s: {
                "id": str(uuid.uuid4()),
                "reason": "dog",
                "skip_stops": [str(s.stops[2].pk)],
            },
        ),
        (401, 401, 201, 404, 404, 403, 404, 404, 403, 403),
    ),
    ("change-request-detail", "GET"): (
        get(lambda s: f"/api/v1/change-requests/{s.change.pk}/"),
        (401, 401, 200, 404, 404, 200, 404, 404, 200, 200),
    ),
    ("checkin-create", "POST"): (
        post_json(
            lambda s: "/api/v1/checkins/",
            lambda s: body(
                s.world, "periodic", lat=s.stops[1].address.lat, lon=s.stops[1].address.lon
            ),
        ),
        (401, 401, 201, 404, 404, 403, 404, 404, 403, 403),
    ),
    # Any field agent in danger raises a panic for their own team; nobody else does.
    ("alert-panic", "POST"): (
        post_json(
            lambda s: "/api/v1/alerts/panic/",
            lambda s: {
                "id": str(uuid.uuid4()),
                "lat": 31.2,
                "lon": 121.4,
                "captured_at": iso(now()),
            },
        ),
        (401, 401, 201, 201, 403, 403, 403, 403, 403, 403),
    ),
    # A field agent's phone beats (watched only while out); nobody else's.
    ("heartbeat", "POST"): (
        post_json(lambda s: "/api/v1/heartbeat/", lambda s: {"battery": 80, "signal": 3}),
        (401, 401, 200, 200, 403, 403, 403, 403, 403, 403),
    ),
    # Legal reads the visits of the cases they take to court (issue 22); writes stay 404.
    ("visit-detail", "GET"): (
        get(closed_visit),
        (401, 401, 200, 404, 404, 200, 200, 404, 200, 200),
    ),
    ("visit-photos", "POST"): (
        post_form(lambda s: open_visit(s) + "photos/", lambda s: photo_form(jpeg(colour="red"))),
        (401, 401, 201, 404, 404, 403, 404, 404, 403, 403),
    ),
    ("visit-receipts", "POST"): (
        post_form(lambda s: open_visit(s) + "receipts/", lambda s: s.receipt_form(s.open)),
        (401, 401, 201, 404, 404, 403, 404, 404, 403, 403),
    ),
    ("visit-report", "POST"): (
        post_json(lambda s: open_visit(s) + "report/", lambda s: report_body()),
        (401, 401, 201, 404, 404, 403, 404, 404, 403, 403),
    ),
    # Agent A co-signs agent B's report of the closed visit.
    ("visit-report-cosign", "POST"): (
        post_json(
            lambda s: closed_visit(s) + "report/cosign/", lambda s: {"report": str(s.report.pk)}
        ),
        (401, 401, 200, 404, 404, 403, 404, 404, 403, 403),
    ),
    ("visit-recording", "GET"): (
        get(lambda s: closed_visit(s) + "recording/"),
        (401, 401, 200, 404, 404, 200, 200, 404, 200, 200),
    ),
    # The legal API is legal's alone.
    ("visit-bundle", "GET"): (
        get(lambda s: closed_visit(s) + "bundle/"),
        (401, 401, 403, 403, 403, 403, 200, 403, 403, 403),
    ),
    ("case-list", "GET"): (
        get(lambda s: "/api/v1/cases/"),
        (401, 401, 403, 403, 403, 403, 200, 403, 403, 403),
    ),
    ("case-evidence", "GET"): (
        get(lambda s: case(s) + "evidence/"),
        (401, 401, 403, 403, 403, 403, 200, 403, 403, 403),
    ),
    ("case-bundle", "GET"): (
        get(lambda s: case(s) + "bundle/"),
        (401, 401, 403, 403, 403, 403, 200, 403, 403, 403),
    ),
    # Conduct incidents: every signed-in user lists those naming them (none but agent A's);
    # only an agent the incident names gives an account of it.
    ("incident-list", "GET"): (
        get(lambda s: "/api/v1/incidents/"),
        (401, 401, 200, 200, 200, 200, 200, 200, 200, 200),
    ),
    ("incident-account", "POST"): (
        post_json(
            lambda s: f"/api/v1/incidents/{s.incident().pk}/account/",
            lambda s: {"id": str(uuid.uuid4()), "text": "We stayed at the door."},
        ),
        (401, 401, 201, 404, 404, 404, 404, 404, 404, 404),
    ),
    # tus: OPTIONS is open (the protocol's discovery); an upload is its owner's alone.
    ("upload-create", "POST"): (tus_create, (401, 401, 201, 404, 404, 403, 404, 404, 403, 403)),
    ("upload-create", "OPTIONS"): (
        lambda s, c, p: c.options("/api/v1/uploads/"),
        (204, 401, 204, 204, 204, 204, 204, 204, 204, 204),
    ),
    ("upload-detail", "OPTIONS"): (
        lambda s, c, p: c.options(s.new_upload()),
        (204, 401, 204, 204, 204, 204, 204, 204, 204, 204),
    ),
    ("upload-detail", "HEAD"): (
        lambda s, c, p: head(c, s.new_upload()),
        (401, 401, 200, 404, 404, 404, 404, 404, 404, 404),
    ),
    ("upload-detail", "PATCH"): (
        lambda s, c, p: patch(c, s.new_upload(), b"\0" * 10, 0),
        (401, 401, 204, 404, 404, 404, 404, 404, 404, 404),
    ),
    ("upload-detail", "DELETE"): (
        lambda s, c, p: c.delete(s.new_upload(), **TUS),
        (401, 401, 204, 404, 404, 404, 404, 404, 404, 404),
    ),
    # The ledger's entries are read by those who audit it: supervisors, legal, auditors; an
    # entry's bytes (its own page, its inclusion proof) are a supervisor's only for entries
    # about their teams: not the outsider's panic (tests/authz/test_ledger_scope.py has the
    # rest). Hashes, keys and the verifier are public, like the schema: whoever checks a
    # bundle takes them from us, not from the bundle.
    ("ledger-checkpoint", "GET"): (
        get(lambda s: "/api/v1/ledger/checkpoint/"),
        (200, 401, 200, 200, 200, 200, 200, 200, 200, 200),
    ),
    ("ledger-note", "GET"): (
        get(lambda s: "/api/v1/ledger/checkpoint.txt"),
        (200, 401, 200, 200, 200, 200, 200, 200, 200, 200),
    ),
    ("ledger-proof", "GET"): (
        get(lambda s: f"/api/v1/ledger/proof/?entry={foreign_entry(s)}"),
        (401, 401, 403, 403, 403, 404, 200, 200, 403, 403),
    ),
    ("ledger-consistency", "GET"): (
        get(lambda s: "/api/v1/ledger/consistency/?first=1&second=2"),
        (200, 401, 200, 200, 200, 200, 200, 200, 200, 200),
    ),
    ("ledger-public-key", "GET"): (
        get(lambda s: "/api/v1/ledger/public-key/"),
        (200, 401, 200, 200, 200, 200, 200, 200, 200, 200),
    ),
    ("ledger-keys", "GET"): (
        get(lambda s: "/api/v1/ledger/keys/"),
        (200, 401, 200, 200, 200, 200, 200, 200, 200, 200),
    ),
    ("ledger-verifier", "GET"): (
        get(lambda s: "/api/v1/ledger/verify.py"),
        (200, 401, 200, 200, 200, 200, 200, 200, 200, 200),
    ),
    ("ledger-entry", "GET"): (
        get(lambda s: f"/api/v1/ledger/entries/{foreign_entry(s)}/"),
        (401, 401, 403, 403, 403, 404, 200, 200, 403, 403),
    ),
}

# Requests that change the principal's session (signing out): a device of its own each time.
FRESH_DEVICE = {("auth-logout", "POST")}


def drain(response: Any) -> None:
    """Read a streamed answer (a bundle) to its end: a failure midway must show."""
    if getattr(response, "streaming", False):
        b"".join(response.streaming_content)


def test_the_authorization_matrix(scene) -> None:  # type: ignore[no-untyped-def]
    wrong = []
    for (name, method), (request, expected) in MATRIX.items():
        for principal, status in zip(PRINCIPALS, expected, strict=True):
            client = scene.api(principal, fresh=(name, method) in FRESH_DEVICE)
            response = request(scene, client, principal)
            drain(response)
            if response.status_code != status:
                wrong.append(
                    f"{method} {name} as {principal}: {response.status_code}, not {status}"
                )
            elif status == 401 and method != "HEAD":
                # Who is refused is told why, with the problem code phones switch on.
                code = "token_revoked" if principal == "revoked" else "not_authenticated"
                assert response.json()["code"] == code, (name, method, principal)
    assert not wrong, "\n".join(wrong)


def view_methods(view_class: type) -> set[str]:
    """The methods a view answers: those it implements, and HEAD and OPTIONS when a view of
    ours defines them (Django and DRF otherwise answer them for every view alike)."""
    methods = {
        m.upper() for m in ("get", "post", "put", "patch", "delete") if hasattr(view_class, m)
    }
    for method in ("head", "options"):
        if any(
            method in vars(cls) and cls.__module__.startswith("fieldvisit")
            for cls in view_class.__mro__
        ):
            methods.add(method.upper())
    return methods


def api_routes() -> set[tuple[str, str]]:
    """Every (url name, method) of fieldvisit/api/urls.py, found in the URL resolver."""
    found: set[tuple[str, str]] = set()

    def walk(patterns: list[Any], namespace: str | None) -> None:
        for item in patterns:
            if isinstance(item, URLResolver):
                walk(item.url_patterns, item.namespace or namespace)
            elif namespace == "api":
                view_class = item.callback.view_class
                found.update((item.name, method) for method in view_methods(view_class))

    walk(get_resolver().url_patterns, None)
    return found


def test_every_api_route_has_a_row_in_the_matrix() -> None:
    routes = api_routes()
    assert {("me", "GET"), ("upload-detail", "HEAD"), ("ledger-entry", "GET")} <= routes

    assert routes - MATRIX.keys() == set(), "add these to MATRIX"
    assert MATRIX.keys() - routes == set(), "MATRIX names routes that do not exist"
