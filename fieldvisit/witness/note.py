"""C2SP signed notes, checkpoints, verifier keys and Ed25519 cosignatures, byte for byte.

* signed note (https://c2sp.org/signed-note@v1.0.0): a text ending in a newline, a blank
  line, then one or more lines ``— <key name> base64(4-byte key ID || signature)``; the text
  is separated from the signatures by the *last* blank line. Key IDs are
  ``SHA-256(name || 0x0A || type || public key)[:4]``; a verifier key (vkey) is
  ``<name>+<hex key ID>+base64(type || public key)``.
* checkpoint (https://c2sp.org/tlog-checkpoint@v1.0.0): the note text is the origin, the tree
  size (decimal, no leading zeroes), the base64 root hash, then optional non-empty extension
  lines.
* cosignature/v1 (https://c2sp.org/tlog-cosignature): signature type 0x04; the signature is
  ``u64 big-endian timestamp || Ed25519 signature`` over ``"cosignature/v1\\n" ||
  "time <timestamp>\\n" || <the checkpoint's note text>``.

Pure functions over bytes and strings: no Django, no clock, no files.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import re
from dataclasses import dataclass

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey

ED25519 = 0x01
"""Signature type of a plain Ed25519 note signature (the log's own)."""

COSIGNATURE_V1 = 0x04
"""Signature type of a timestamped Ed25519 checkpoint cosignature (tlog-cosignature)."""

SIGNATURE_TYPES = (ED25519, COSIGNATURE_V1)

EM_DASH = "\u2014"
MAX_SIGNATURES = 64
"""Signature lines read from one note: the spec asks for at least 16."""

MAX_TIMESTAMP = 2**63 - 1
HASH_SIZE = 32

_DECIMAL = re.compile(r"(?:0|[1-9][0-9]*)\Z")
_HEX_KEY_ID = re.compile(r"[0-9a-f]{8}\Z")


class NoteError(ValueError):
    """Text that is not a well-formed signed note, checkpoint, key or signature."""


def b64decode(text: str) -> bytes:
    """Standard base64 (RFC 4648 section 4), strictly: padded, no stray characters, and the
    one encoding of its bytes (unused bits zero), so a value has exactly one spelling."""
    try:
        raw = base64.b64decode(text.encode("ascii"), validate=True)
    except (UnicodeEncodeError, binascii.Error):
        raise NoteError("not base64") from None
    if base64.b64encode(raw).decode("ascii") != text:
        raise NoteError("not canonical base64")
    return raw


def b64encode(raw: bytes) -> str:
    return base64.b64encode(raw).decode("ascii")


def decimal(text: str, what: str) -> int:
    """An ASCII decimal with no leading zeroes (``0`` for zero), below 2**63."""
    if not _DECIMAL.match(text):
        raise NoteError(f"{what} is not a decimal without leading zeroes")
    value = int(text)
    if value > MAX_TIMESTAMP:
        raise NoteError(f"{what} is too large")
    return value


def check_name(name: str) -> str:
    """Key names are non-empty and contain neither Unicode spaces nor ``+``."""
    if not name or "+" in name or any(ch.isspace() for ch in name):
        raise NoteError("a key name must be non-empty, without spaces or '+'")
    if any(ord(ch) < 0x20 or ord(ch) == 0x7F for ch in name):
        raise NoteError("a key name must not contain control characters")
    return name


def key_id(name: str, signature_type: int, public: bytes) -> bytes:
    """SHA-256(name || 0x0A || type || public key)[:4] (signed-note, tlog-cosignature)."""
    return hashlib.sha256(name.encode() + b"\n" + bytes([signature_type]) + public).digest()[:4]


def public_raw(key: Ed25519PrivateKey | Ed25519PublicKey) -> bytes:
    public = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    return public.public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)


# --------------------------------------------------------------------------------------------
# Verifier keys
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class VerifierKey:
    """A vkey of signature type 0x01 (a log's Ed25519 key) or 0x04 (a cosigner's)."""

    name: str
    signature_type: int
    public: bytes

    @property
    def key_id(self) -> bytes:
        return key_id(self.name, self.signature_type, self.public)

    def __str__(self) -> str:
        material = b64encode(bytes([self.signature_type]) + self.public)
        return f"{self.name}+{self.key_id.hex()}+{material}"

    def verify(self, text: str, signature: bytes) -> bool:
        """Whether ``signature`` (the bytes after the key ID) signs note text ``text``."""
        public = Ed25519PublicKey.from_public_bytes(self.public)
        if self.signature_type == COSIGNATURE_V1:
            if len(signature) != 8 + 64:
                return False
            timestamp = int.from_bytes(signature[:8], "big")
            if timestamp > MAX_TIMESTAMP:
                return False
            message, signature = cosigned_message(text, timestamp), signature[8:]
        else:
            if len(signature) != 64:
                return False
            message = text.encode()
        try:
            public.verify(signature, message)
        except InvalidSignature:
            return False
        return True


def parse_verifier_key(vkey: str) -> VerifierKey:
    """Read ``name+hexid+base64(type || key)``; the key ID must be the one its key gives."""
    parts = vkey.strip().split("+", 2)
    if len(parts) != 3:
        raise NoteError("a verifier key is name+keyid+base64(type||key)")
    name, hex_id, material = parts
    check_name(name)
    if not _HEX_KEY_ID.match(hex_id):
        raise NoteError("a verifier key's key ID is 8 lowercase hex digits")
    raw = b64decode(material)
    if len(raw) != 33 or raw[0] not in SIGNATURE_TYPES:
        raise NoteError("only Ed25519 verifier keys (type 0x01 or 0x04) are supported")
    key = VerifierKey(name=name, signature_type=raw[0], public=raw[1:])
    if key.key_id.hex() != hex_id:
        raise NoteError("the verifier key's key ID does not match its name and key")
    return key


def cosigner_key(name: str, private: Ed25519PrivateKey) -> VerifierKey:
    """The cosignature/v1 verifier key (type 0x04) of a witness's Ed25519 key."""
    return VerifierKey(
        name=check_name(name), signature_type=COSIGNATURE_V1, public=public_raw(private)
    )


# --------------------------------------------------------------------------------------------
# Signed notes
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Signature:
    name: str
    key_id: bytes
    signature: bytes

    @property
    def line(self) -> str:
        """The signature line, with its final newline."""
        return f"{EM_DASH} {self.name} {b64encode(self.key_id + self.signature)}\n"


@dataclass(frozen=True)
class Note:
    text: str
    signatures: tuple[Signature, ...]


def parse_signature_line(line: str) -> Signature:
    """One ``— <name> <base64>`` line (without its newline)."""
    prefix = EM_DASH + " "
    if not line.startswith(prefix):
        raise NoteError("a signature line starts with an em dash and a space")
    name, sep, blob = line[len(prefix) :].partition(" ")
    if not sep:
        raise NoteError("a signature line is '— name signature'")
    check_name(name)
    raw = b64decode(blob)
    if len(raw) < 5:
        raise NoteError("a signature is a key ID and at least one byte")
    return Signature(name=name, key_id=raw[:4], signature=raw[4:])


def parse_signature_lines(block: str) -> tuple[Signature, ...]:
    """Newline-terminated signature lines (a witness's answer, the end of a note)."""
    if not block or not block.endswith("\n"):
        raise NoteError("signature lines end with a newline")
    check_characters(block)
    lines = block[:-1].split("\n")
    if len(lines) > MAX_SIGNATURES:
        raise NoteError("too many signature lines")
    return tuple(parse_signature_line(line) for line in lines)


def check_characters(text: str) -> None:
    """Signed notes are UTF-8 without control characters other than newline."""
    if any((ord(ch) < 0x20 and ch != "\n") or ord(ch) == 0x7F for ch in text):
        raise NoteError("control characters are not allowed in a signed note")


def parse_note(note: str) -> Note:
    """Split a signed note at its last blank line into its text and signature lines."""
    check_characters(note)
    cut = note.rfind("\n\n")
    if cut < 0:
        raise NoteError("a signed note has a blank line before its signatures")
    text, block = note[: cut + 1], note[cut + 2 :]
    return Note(text=text, signatures=parse_signature_lines(block))


def verify_note(note: Note, keys: list[VerifierKey]) -> list[tuple[VerifierKey, Signature]]:
    """The signatures by known keys, all verified.

    Per signed-note: lines whose (name, key ID) match no known key are ignored; a line that
    matches a known key but does not verify rejects the whole note; so does a note with no
    verified signature by a known key. Raises NoteError.
    """
    known = {(key.name, key.key_id): key for key in keys}
    verified = []
    for signature in note.signatures:
        key = known.get((signature.name, signature.key_id))
        if key is None:
            continue
        if not key.verify(note.text, signature.signature):
            raise NoteError(f"the signature by {key.name} does not verify")
        verified.append((key, signature))
    if not verified:
        raise NoteError("no signature by a known key")
    return verified


# --------------------------------------------------------------------------------------------
# Checkpoints and cosignatures
# --------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Checkpoint:
    origin: str
    size: int
    root: bytes
    text: str
    """The whole note text (origin, size, root, extension lines), ending in a newline."""


def parse_checkpoint(text: str) -> Checkpoint:
    """A tlog-checkpoint note text: at least three non-empty lines, newline-terminated."""
    if not text.endswith("\n"):
        raise NoteError("a checkpoint ends with a newline")
    lines = text[:-1].split("\n")
    if len(lines) < 3 or any(not line for line in lines):
        raise NoteError("a checkpoint is origin, size and root hash on non-empty lines")
    origin, size, root = lines[:3]
    root_hash = b64decode(root)
    if len(root_hash) != HASH_SIZE:
        raise NoteError("a checkpoint's root hash is 32 bytes")
    return Checkpoint(origin=origin, size=decimal(size, "tree size"), root=root_hash, text=text)


def cosigned_message(text: str, timestamp: int) -> bytes:
    """What a cosignature/v1 signs: header line, time line, then the checkpoint's note text
    (with its final newline, without any signature line)."""
    return f"cosignature/v1\ntime {timestamp}\n{text}".encode()


def cosign(name: str, private: Ed25519PrivateKey, text: str, timestamp: int) -> Signature:
    """The cosignature/v1 signature of ``private`` (named ``name``) on a checkpoint text."""
    if not 0 < timestamp <= MAX_TIMESTAMP:
        raise NoteError("a cosignature's timestamp is a positive 63-bit number")
    signed = private.sign(cosigned_message(text, timestamp))
    key = cosigner_key(name, private)
    return Signature(name=name, key_id=key.key_id, signature=timestamp.to_bytes(8, "big") + signed)


def cosignature_timestamp(signature: Signature) -> int:
    """The POSIX time a cosignature/v1 carries (its first 8 bytes, big-endian)."""
    if len(signature.signature) != 8 + 64:
        raise NoteError("a cosignature/v1 is 8 bytes of time and 64 of signature")
    return int.from_bytes(signature.signature[:8], "big")
