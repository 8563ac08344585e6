# ruff: noqa: F811 - fixtures named ``world`` take the imported fixture of that name
"""Authorization tests: the check-in tests' pinned clock and world, with real transactions,
and a scene in which every kind of record exists."""

from __future__ import annotations

from typing import Any

import pytest

from tests.authz.scene import Scene
from tests.checkins.conftest import clock, world  # noqa: F401 - fixtures shared on purpose


@pytest.fixture
def scene(world: Any) -> Scene:
    return Scene(world)
