"""The supervisors' workspace (maps, operations dashboard) on the pinned clock: Tuesday
2026-11-24, 09:30 in Shanghai, so visit hours and "today" hold whenever the suite runs."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _pinned_clock(clock: Any) -> None:
    """Every test here runs on the pinned clock, set before ``world`` is built."""
