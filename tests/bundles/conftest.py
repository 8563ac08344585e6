"""Bundle tests: a visit with real evidence (photo, receipt, recording segments), downloaded
as a legal user would, then checked as an outsider would, with standard tools."""

from __future__ import annotations

from typing import Any

import pytest

from fieldvisit.models import Visit
from tests.bundles.visiting import Visiting


@pytest.fixture(autouse=True)
def _pinned_clock(clock: Any) -> None:
    """Every test here runs on the pinned clock, set before ``world`` is built."""


@pytest.fixture
def evidenced_visit(world: Any, clock: Any) -> Visit:
    """A whole visit: recording from before the arrivals, photo, receipt, both agents leave,
    the report filed and co-signed."""
    making = Visiting(world, clock).arrive()
    making.photo()
    making.receipt().record().leave().report()
    visit = making.visit
    visit.refresh_from_db()
    return visit
