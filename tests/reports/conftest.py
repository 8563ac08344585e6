"""Visit report tests, on the pinned clock.

The ``visit`` (root conftest) is the first stop's, opened by agents A and B arriving
together; the ``closed_visit`` is the same visit after both left. Agent C is a third
qualified agent of the team who was not at the visit.
"""

from __future__ import annotations

from typing import Any

import pytest

from fieldvisit.models import Visit
from tests import factories
from tests.helpers import cosign, file_report, leave_pair


@pytest.fixture(autouse=True)
def _pinned_clock(clock: Any) -> None:
    """Every test here runs on the pinned clock, set before ``world`` is built."""


@pytest.fixture
def closed_visit(world: Any, visit: Visit) -> Visit:
    leave_pair(world, visit.stop)
    visit.refresh_from_db()
    return visit


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
