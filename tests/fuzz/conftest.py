"""Fuzzing runs on the check-in tests' pinned clock and world, with real transactions."""

from __future__ import annotations

from tests.checkins.conftest import clock, world  # noqa: F401 - fixtures shared on purpose
