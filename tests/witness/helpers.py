"""Witnesses on real ports in this process, a log key to sign notes with, plain HTTP."""

from __future__ import annotations

import base64
import http.client
import urllib.parse
from dataclasses import dataclass, field
from pathlib import Path

from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
from django.conf import settings

from fieldvisit.ledger import keys as ledger_keys
from fieldvisit.witness import keys, note
from fieldvisit.witness.server import WitnessServer
from fieldvisit.witness.service import Witness
from fieldvisit.witness.state import StateFile


def log_private() -> Ed25519PrivateKey:
    """The ledger's own signing key (the test settings' key file)."""
    return ledger_keys.private_key()


def log_vkey(private: Ed25519PrivateKey | None = None, origin: str | None = None) -> str:
    private = private or log_private()
    origin = origin or settings.LEDGER_ORIGIN
    return ledger_keys.note_verifier_key(origin, ledger_keys.public_raw(private))


def signed_checkpoint(
    size: int,
    root: bytes,
    private: Ed25519PrivateKey | None = None,
    origin: str | None = None,
) -> str:
    """A tlog-checkpoint note of (size, root) signed as the ledger signs its notes."""
    private = private or log_private()
    origin = origin or settings.LEDGER_ORIGIN
    text = f"{origin}\n{size}\n{base64.b64encode(root).decode()}\n"
    key_id = ledger_keys.note_key_hash(origin, ledger_keys.public_raw(private))
    signature = base64.b64encode(key_id + private.sign(text.encode())).decode()
    return f"{text}\n\u2014 {origin} {signature}\n"


def body(old: int, proof: list[bytes], checkpoint_note: str) -> bytes:
    lines = "".join(base64.b64encode(h).decode() + "\n" for h in proof)
    return f"old {old}\n{lines}\n{checkpoint_note}".encode()


@dataclass
class Reply:
    status: int
    content_type: str
    body: bytes


def request(url: str, method: str, path: str, data: bytes | None = None, **headers: str) -> Reply:
    parts = urllib.parse.urlsplit(url)
    connection = http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)
    try:
        connection.request(method, path, body=data, headers=headers)
        response = connection.getresponse()
        return Reply(response.status, response.getheader("Content-Type", ""), response.read())
    finally:
        connection.close()


def post(url: str, data: bytes) -> Reply:
    return request(url, "POST", "/add-checkpoint", data)


@dataclass
class RunningWitness:
    """A witness with its own key file and state file, serving on 127.0.0.1 in a thread."""

    folder: Path
    name: str
    log_keys: list[str] = field(default_factory=list)
    server: WitnessServer | None = None
    state: StateFile | None = None

    @property
    def key_file(self) -> Path:
        return self.folder / "witness-key.pem"

    @property
    def state_file(self) -> Path:
        return self.folder / "witness-state.json"

    @property
    def private(self) -> Ed25519PrivateKey:
        return keys.load_or_create(self.key_file)[0]

    @property
    def vkey(self) -> str:
        return str(note.cosigner_key(self.name, self.private))

    @property
    def url(self) -> str:
        assert self.server is not None
        return self.server.url

    @property
    def config(self) -> dict[str, str]:
        return {"name": self.name, "url": self.url, "key": self.vkey}

    def start(self) -> RunningWitness:
        self.state = StateFile(self.state_file).open()
        witness = Witness(
            self.name,
            self.private,
            [note.parse_verifier_key(k) for k in self.log_keys],
            self.state,
        )
        self.server = WitnessServer(("127.0.0.1", 0), witness)
        self.server.start_in_thread()
        return self

    def stop(self) -> None:
        if self.server is not None:
            self.server.stop()
            self.server = None
        if self.state is not None:
            self.state.close()
            self.state = None

    def restart(self) -> RunningWitness:
        self.stop()
        return self.start()

    def recorded(self, origin: str | None = None) -> dict | None:
        assert self.state is not None
        return self.state.log(origin or settings.LEDGER_ORIGIN)
