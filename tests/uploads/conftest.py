"""tus upload tests: on the pinned clock, with real transactions."""

from __future__ import annotations

from typing import Any

import pytest


@pytest.fixture(autouse=True)
def _pinned_clock(clock: Any) -> None:
    """Every test here runs on the pinned clock, set before ``world`` is built."""


@pytest.fixture(autouse=True)
def _whitenoise_indexes_lazily(settings: Any) -> None:
    """WhiteNoise indexes every static file whenever a test client loads the middleware,
    and these tests make a few clients each; uploads never touch static files."""
    settings.WHITENOISE_AUTOREFRESH = True
