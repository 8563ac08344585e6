"""Deployment checks warn about secrets a single machine would generate for itself."""

from __future__ import annotations

from pathlib import Path

import pytest
from django.core.checks import run_checks


def warning_ids() -> set[str]:
    return {message.id for message in run_checks(include_deployment_checks=True)}


def test_a_missing_ledger_key_and_a_generated_secret_are_reported(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    settings.LEDGER_SIGNING_KEY_FILE = tmp_path / "absent.pem"
    settings.SECRET_KEY_GENERATED = True
    assert {"fieldvisit.W001", "fieldvisit.W002"} <= warning_ids()


def test_shared_secrets_pass(settings, tmp_path: Path) -> None:  # type: ignore[no-untyped-def]
    key = tmp_path / "ledger.pem"
    key.write_text("present")
    settings.LEDGER_SIGNING_KEY_FILE = key
    settings.SECRET_KEY_GENERATED = False
    assert not {"fieldvisit.W001", "fieldvisit.W002"} & warning_ids()


def test_a_per_process_cache_is_reported_because_limits_would_count_per_worker(settings) -> None:  # type: ignore[no-untyped-def]
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    assert "fieldvisit.W003" in warning_ids()

    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:6379/0",
        }
    }
    assert "fieldvisit.W003" not in warning_ids()


@pytest.mark.parametrize("rate", ["120/min", "20/hour", "5/s", "0/day", None])
def test_a_rate_limit_drf_reads_passes(settings, rate) -> None:  # type: ignore[no-untyped-def]
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"write": rate}}
    assert "fieldvisit.E016" not in warning_ids()


@pytest.mark.parametrize("rate", ["120", "120/", "twenty/min", "120/week", "-1/min", "1/2/min", ""])
def test_a_rate_limit_drf_cannot_read_is_an_error_at_start_up(settings, rate) -> None:  # type: ignore[no-untyped-def]
    settings.REST_FRAMEWORK = {**settings.REST_FRAMEWORK, "DEFAULT_THROTTLE_RATES": {"write": rate}}
    assert "fieldvisit.E016" in warning_ids()
