# ruff: noqa: F811 - fixtures named ``world`` take the imported fixture of that name
"""Visit report tests: the check-in tests' pinned clock and world.

The ``visit`` is the first stop's, opened by agents A and B arriving together; the
``closed_visit`` is the same visit after both left. Agent C is a third qualified agent of
the team who was not at the visit.
"""

from __future__ import annotations

import uuid
from typing import Any

import pytest

from fieldvisit.choices import CheckInKind
from fieldvisit.models import Visit
from tests import factories
from tests.checkins.conftest import (  # noqa: F401 - fixtures and helpers shared on purpose
    ZONE,
    arrive_pair,
    assert_problem,
    body,
    clock,
    iso,
    ledger_entries,
    post,
    stops_of,
    visit_url,
    world,
)

ATTESTATIONS = {
    "did_not_enter_residence": True,
    "no_cash_accepted": True,
    "identity_shown": True,
    "no_third_party_disclosure": True,
    "opening_statement_recorded": True,
    "closing_statement_recorded": True,
}


def report_url(visit: Visit | Any) -> str:
    return f"/api/v1/visits/{getattr(visit, 'pk', visit)}/report/"


def cosign_url(visit: Visit | Any) -> str:
    return f"/api/v1/visits/{getattr(visit, 'pk', visit)}/report/cosign/"


def report_body(**fields: Any) -> dict[str, Any]:
    """A report of a visit that met the debtor, every attestation given, no promise."""
    attestations = {**ATTESTATIONS, **fields.pop("attestations", {})}
    payload: dict[str, Any] = {
        "id": str(uuid.uuid4()),
        "outcome": "met_debtor",
        "promise_to_pay": None,
        "notes": "Met the debtor at the door; notice delivered.",
        "attestations": attestations,
    }
    payload.update(fields)
    return payload


def file_report(client: Any, visit: Any, payload: dict[str, Any] | None = None) -> Any:
    return client.post(report_url(visit), payload or report_body(), format="json")


def cosign(client: Any, visit: Any, payload: dict[str, Any] | None = None) -> Any:
    return client.post(cosign_url(visit), payload or {}, format="json")


def leave_pair(world: Any, stop: Any) -> None:
    """Agents A and B leave ``stop``: the visit closes."""
    for user, device in ((world.agent_a, "phone-a"), (world.agent_b, "phone-b")):
        response = post(world.client(user, device), body(world, CheckInKind.LEAVE, stop))
        assert response.status_code == 201, response.content
    assert Visit.objects.get(stop=stop).status == "closed"


@pytest.fixture
def visit(world: Any) -> Visit:
    stop = stops_of(world.route)[0]
    arrive_pair(world, stop)
    return Visit.objects.select_related("stop__route", "stop__address").get(stop=stop)


@pytest.fixture
def closed_visit(world: Any, visit: Visit) -> Visit:
    leave_pair(world, visit.stop)
    visit.refresh_from_db()
    return visit


@pytest.fixture
def phone_a(world: Any) -> Any:
    return world.client(world.agent_a, "phone-a")


@pytest.fixture
def phone_b(world: Any) -> Any:
    return world.client(world.agent_b, "phone-b")


@pytest.fixture
def agent_c(world: Any) -> Any:
    return factories.agent("agent_c", world.team)


@pytest.fixture
def phone_c(world: Any, agent_c: Any) -> Any:
    return world.client(agent_c, "phone-c")


@pytest.fixture
def cosigned(world: Any, closed_visit: Visit, phone_a: Any, phone_b: Any) -> dict[str, Any]:
    """A's report on the closed visit, co-signed by B."""
    filed = file_report(phone_a, closed_visit)
    assert filed.status_code == 201, filed.content
    signed = cosign(phone_b, closed_visit)
    assert signed.status_code == 200, signed.content
    return filed.json()
