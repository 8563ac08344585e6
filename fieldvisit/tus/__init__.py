"""A tus 1.0.0 resumable upload server (https://tus.io/protocols/resumable-upload):
core, creation, creation-with-upload, checksum (sha1, sha256), expiration, termination.

``protocol`` parses and writes the protocol's headers; ``partials`` keeps the bytes of
uploads in progress and their running SHA-256; the HTTP side is
``fieldvisit.api.views.uploads`` and the state changes are ``fieldvisit.actions.uploads``.
"""

VERSION = "1.0.0"
EXTENSIONS = ("creation", "creation-with-upload", "checksum", "expiration", "termination")
CHECKSUMS = ("sha1", "sha256")
OFFSET_OCTET_STREAM = "application/offset+octet-stream"
