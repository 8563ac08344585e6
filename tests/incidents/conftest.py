"""Conduct incident and complaint tests, on the pinned clock.

The team's risk manager here is ``risk``, another supervisor than the one who oversees the
team day to day (``world.supervisor``), so a finding the supervisor opens can be closed by
someone who did not open it (maker-checker).
"""

from __future__ import annotations

from typing import Any

import pytest

from fieldvisit.choices import Role
from fieldvisit.models import Visit
from tests import factories
from tests.helpers import leave_pair


@pytest.fixture(autouse=True)
def _pinned_clock(clock: Any) -> None:
    """Every test here runs on the pinned clock, set before ``world`` is built."""


@pytest.fixture
def risk(world: Any) -> Any:
    manager = factories.user("risk_manager", Role.SUPERVISOR, first_name="Li", last_name="Feng")
    world.team.risk_manager = manager
    world.team.save(update_fields=["risk_manager"])
    return manager


@pytest.fixture
def closed_visit(world: Any, visit: Visit) -> Visit:
    leave_pair(world, visit.stop)
    visit.refresh_from_db()
    return visit
