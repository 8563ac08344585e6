"""Typed helpers that read settings from the environment.

Every secret can also come from a file named by ``<NAME>_FILE`` (Docker and Kubernetes secrets),
so no secret ever has to sit in a settings file or a shell history.
"""

from __future__ import annotations

import os
from pathlib import Path
from urllib.parse import quote, urlsplit, urlunsplit

from django.core.exceptions import ImproperlyConfigured

# Django's own test for a key it would call weak (security.W009): long and varied enough.
SECRET_KEY_MIN_LENGTH = 50
SECRET_KEY_MIN_UNIQUE = 5
INSECURE_PREFIX = "django-insecure"


def env_str(name: str, default: str = "") -> str:
    """``NAME``, or the contents of the file ``NAME_FILE`` names (not both: which would win?)."""
    file_name = os.environ.get(f"{name}_FILE")
    if file_name:
        if os.environ.get(name):
            raise ImproperlyConfigured(f"Set {name} or {name}_FILE, not both.")
        try:
            return Path(file_name).read_text(encoding="utf-8").strip()
        except (OSError, UnicodeDecodeError) as exc:
            # The message names the variable, never the secret.
            raise ImproperlyConfigured(f"{name}_FILE cannot be read: {exc}") from None
    return os.environ.get(name, default)


def env_bool(name: str, default: bool = False) -> bool:
    value = os.environ.get(name)
    if value is None or value == "":
        return default
    return value.strip().lower() in {"1", "true", "yes", "on"}


def env_int(name: str, default: int) -> int:
    value = os.environ.get(name)
    return int(value) if value not in (None, "") else default


def env_list(name: str, default: str = "") -> list[str]:
    return [item.strip() for item in env_str(name, default).split(",") if item.strip()]


def env_path(name: str, default: Path) -> Path:
    value = os.environ.get(name)
    return Path(value).expanduser() if value else default


def read_or_create_secret(path: Path, nbytes: int = 50) -> str:
    """Return the secret stored at ``path``, creating it (mode 0600) on first use."""
    import secrets

    if path.exists():
        return path.read_text(encoding="utf-8").strip()
    path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
    value = secrets.token_urlsafe(nbytes)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(value + "\n")
    return value


def weak_secret_key(value: str) -> str:
    """Why ``value`` is no secret key for production (empty when it is a good one)."""
    if not value:
        return "it is not set"
    if value.startswith(INSECURE_PREFIX):
        return f"it starts with {INSECURE_PREFIX!r}"
    if len(value) < SECRET_KEY_MIN_LENGTH or len(set(value)) < SECRET_KEY_MIN_UNIQUE:
        return (
            f"it is shorter than {SECRET_KEY_MIN_LENGTH} characters or has fewer than "
            f"{SECRET_KEY_MIN_UNIQUE} different ones"
        )
    return ""


def with_password(url: str, password: str) -> str:
    """``url`` with its password replaced, so the password can come from its own secret file
    (``DATABASE_PASSWORD_FILE``) while the rest of the URL stays plain configuration."""
    if not password:
        return url
    parts = urlsplit(url)
    if parts.hostname is None:
        raise ImproperlyConfigured("DATABASE_PASSWORD needs a DATABASE_URL with a host.")
    user = parts.username or ""  # already percent-encoded as written
    host = parts.hostname if ":" not in parts.hostname else f"[{parts.hostname}]"
    port = f":{parts.port}" if parts.port else ""
    netloc = f"{user}:{quote(password, safe='')}@{host}{port}"
    return urlunsplit((parts.scheme, netloc, parts.path, parts.query, parts.fragment))
