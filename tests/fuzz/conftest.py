"""Fuzzing runs on the check-in tests' pinned clock, with real transactions."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _pinned_clock(clock: Any) -> None:
    """Every test here runs on the pinned clock, set before ``world`` is built."""
