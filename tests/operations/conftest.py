"""The supervisors' workspace (maps, operations dashboard) on the check-in tests' pinned
clock: Tuesday 2026-11-24, 09:30 in Shanghai, so visit hours and "today" hold whenever the
suite runs."""

from tests.checkins.conftest import clock, world  # noqa: F401 - fixtures shared on purpose
