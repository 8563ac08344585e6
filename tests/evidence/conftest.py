"""Photo and receipt tests: on the pinned clock, with real transactions.

Evidence reaches its final storage key only after the transaction commits, so these tests
run with real transactions (``transaction=True``) and look at the storage afterwards.
"""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _pinned_clock(clock: Any) -> None:
    """Every test here runs on the pinned clock, set before ``world`` is built."""
