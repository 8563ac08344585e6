"""Deployment checks (``manage.py check --deploy``) for what the quick start creates itself.

Generated on first use is right for one machine; behind a load balancer every server must
share one ledger key and one secret key, or checkpoints and sessions split between them.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from django.conf import settings
from django.core.checks import Tags, Warning, register


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
