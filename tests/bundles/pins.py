"""The company's key as a verifier pins it: taken from outside the bundle (here, from the
server's own key file), never from the bundle's ``public_key.pem``."""

from __future__ import annotations

from fieldvisit.ledger import keys


def published_key() -> str:
    """The full SHA-256 fingerprint the company publishes (``/api/v1/ledger/keys/``)."""
    return keys.fingerprint(keys.public_raw(keys.private_key()))


def pinned(*args: str) -> list[str]:
    """verify.py's arguments with the company's key pinned first."""
    return ["--key", published_key(), *args]
