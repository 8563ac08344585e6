"""Deployment checks (``manage.py check --deploy``) for what the quick start creates itself,
and for what only works right when every server shares it.

Generated on first use is right for one machine; behind a load balancer every server must
share one ledger key and one secret key, or checkpoints and sessions split between them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.checks import Error, Tags, Warning, register

from fieldvisit.channels import registry as channel_registry
from fieldvisit.choices import Datum
from fieldvisit.ledger import timestamps


@register(Tags.security, deploy=True)
def shared_secrets(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    warnings = []
    if not Path(settings.LEDGER_SIGNING_KEY_FILE).exists():
        warnings.append(
            Warning(
                f"The ledger signing key {settings.LEDGER_SIGNING_KEY_FILE} does not exist; "
                "the first request that signs a checkpoint will create one on this server.",
                hint="Create the key once (manage.py make_checkpoint) and give every server "
                "the same file through LEDGER_SIGNING_KEY_FILE.",
                id="fieldvisit.W001",
            )
        )
    if getattr(settings, "SECRET_KEY_GENERATED", False):
        warnings.append(
            Warning(
                "SECRET_KEY was generated on this machine.",
                hint="Set SECRET_KEY or SECRET_KEY_FILE so that every server shares it.",
                id="fieldvisit.W002",
            )
        )
    return warnings


PLACEHOLDER_ORIGIN = "fieldvisit.example/ledger"


@register(Tags.security, deploy=True)
def ledger_origin(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """The log's origin names it in every signed note, cosignature and bundle: a placeholder
    that every deployment shares would let one company's checkpoints pass for another's."""
    if settings.LEDGER_ORIGIN != PLACEHOLDER_ORIGIN:
        return []
    return [
        Error(
            f"LEDGER_ORIGIN is the placeholder {PLACEHOLDER_ORIGIN!r}.",
            hint="Set LEDGER_ORIGIN to a name of this company's log, e.g. "
            "'evidence.<company domain>/ledger', before the first checkpoint is signed; "
            "each checkpoint keeps the origin it was signed under.",
            id="fieldvisit.E015",
        )
    ]


@register(Tags.security, deploy=True)
def shared_counters(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """API throttles and the failed sign-in guard count in the default cache: a per-process
    cache gives every worker its own count, so N workers allow N times the limits."""
    backend = settings.CACHES["default"]["BACKEND"]
    if backend.endswith(("LocMemCache", "DummyCache")):
        return [
            Warning(
                f"The default cache ({backend.rsplit('.', 1)[-1]}) is not shared between "
                "processes: rate limits and the failed sign-in limit count per worker.",
                hint="Set REDIS_URL so every worker counts in one place.",
                id="fieldvisit.W003",
            )
        ]
    return []


@register()
def timestamp_authority(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """A time-stamp authority without a CA certificate to check its tokens against stamps
    nothing: every token would be refused, and the gap would only grow."""
    warnings = []
    for number, authority in enumerate(timestamps.authorities()):
        setting = "LEDGER_TSA_CA_FILE" if number == 0 else f"the CA file of {authority.url}"
        try:
            found = timestamps.ca_certificates(authority.ca_file)
        except (OSError, ValueError) as error:
            found, problem = [], f"cannot be read as PEM certificates ({error})"
        else:
            problem = "holds no certificate" if authority.ca_file else "is not set"
        if found:
            continue
        warnings.append(
            Warning(
                f"{'LEDGER_TSA_URL' if number == 0 else authority.url} is set but {setting} "
                f"{problem}: no RFC 3161 token can be checked, so none is kept.",
                hint="Point LEDGER_TSA_CA_FILE (or the CA file after the URL in "
                "LEDGER_TSA_MORE) at the time-stamp authority's CA certificate (PEM).",
                id="fieldvisit.W011",
            )
        )
    return warnings


@register()
def map_tile_datum(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """The admin maps convert positions to the tiles' datum: an unknown one would draw every
    point in the wrong place, or fail the page."""
    if settings.MAP_TILE_DATUM in Datum.values:
        return []
    return [
        Error(
            f"MAP_TILE_DATUM is {settings.MAP_TILE_DATUM!r}.",
            hint="Set it to wgs84 (OpenStreetMap and most servers), gcj02 (AMap/高德, Tencent) "
            "or bd09 (Baidu).",
            id="fieldvisit.E012",
        )
    ]


@register()
def alert_channels(app_configs: Any = None, **kwargs: Any) -> list[Warning]:
    """An alert channel named for a severity but not configured would be skipped silently
    at the worst moment: say so at start-up."""
    return [
        Warning(
            f"Alert channel: {problem}.",
            hint="Set its ALERT_* URL (see the README), or take it out of ALERT_CHANNELS_*.",
            id="fieldvisit.W013",
        )
        for problem in channel_registry.problems()
    ]


@register()
def language_code(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """Records are written in LANGUAGE_CODE (fieldvisit.texts): one the product does not
    speak would write them half in English, half in nothing."""
    spoken = [code for code, _name in settings.LANGUAGES]
    if settings.LANGUAGE_CODE in spoken:
        return []
    return [
        Error(
            f"LANGUAGE_CODE is {settings.LANGUAGE_CODE!r}.",
            hint=f"Set it to one of {', '.join(spoken)} (zh-hans: 简体中文).",
            id="fieldvisit.E014",
        )
    ]


@register()
def throttle_rates(app_configs: Any = None, **kwargs: Any) -> list[Error]:
    """A rate limit DRF cannot read raises in every request it guards (a 500 for each): say
    so at start-up. DRF reads ``<number>/<period>``, the period's first letter s, m, h or d."""
    from rest_framework.settings import api_settings
    from rest_framework.throttling import SimpleRateThrottle

    errors = []
    for scope, rate in api_settings.DEFAULT_THROTTLE_RATES.items():
        try:
            number, _seconds = SimpleRateThrottle.parse_rate(None, rate)  # type: ignore[arg-type]
            readable = number is None or number >= 0
        except (AttributeError, IndexError, KeyError, TypeError, ValueError):
            readable = False
        if not readable:
            errors.append(
                Error(
                    f"The rate limit {scope!r} is {rate!r}.",
                    hint=f"Set THROTTLE_{scope.upper()} to a number of requests per period, "
                    "such as 120/min, 20/hour or 5/s (0: refuse every request).",
                    id="fieldvisit.E016",
                )
            )
    return errors
