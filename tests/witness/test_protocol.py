"""The witness over HTTP, by the tlog-witness spec's rules (https://c2sp.org/tlog-witness):
every status it names, the 409 body, atomic updates, a state that survives a restart. The
log here is an in-memory tree signed with the ledger's key: no database."""

from __future__ import annotations

import base64
import hashlib
import http.client
import socket
import threading
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from django.conf import settings

from fieldvisit.ledger import merkle
from fieldvisit.witness import note
from fieldvisit.witness.server import MAX_BODY
from fieldvisit.witness.state import StateError, StateFile
from tests.witness.helpers import (
    RunningWitness,
    body,
    log_vkey,
    post,
    request,
    signed_checkpoint,
)


def tree(size: int, prefix: str = "entry") -> merkle.MemoryTree:
    log = merkle.MemoryTree()
    for n in range(size):
        log.append(f"{prefix} {n}".encode())
    return log


def add(witness: RunningWitness, log: merkle.MemoryTree, old: int, size: int | None = None) -> Any:
    size = log.size if size is None else size
    proof = log.consistency_proof(old, size) if 0 < old < size else []
    return post(witness.url, body(old, proof, signed_checkpoint(size, log.root(size))))


def test_cosigns_the_first_checkpoint_then_only_consistent_ones(notary: RunningWitness) -> None:
    log = tree(10)
    first = add(notary, log, 0, 4)
    assert first.status == 200, first.body
    assert first.content_type.startswith("text/plain")
    [signature] = note.parse_signature_lines(first.body.decode())
    key = note.parse_verifier_key(notary.vkey)
    text = f"{settings.LEDGER_ORIGIN}\n4\n{note.b64encode(log.root(4))}\n"
    assert (signature.name, signature.key_id) == (key.name, key.key_id)
    assert key.verify(text, signature.signature)

    assert add(notary, log, 4, 10).status == 200
    assert notary.recorded()["size"] == 10
    # The same size again (equal roots, no proof) is cosigned again.
    assert add(notary, log, 10, 10).status == 200

    # The monitoring API serves the latest checkpoint with the log's and the witness's lines.
    origin_hash = hashlib.sha256(settings.LEDGER_ORIGIN.encode()).hexdigest()
    latest = request(notary.url, "GET", f"/{origin_hash}/checkpoint")
    assert latest.status == 200
    served = note.parse_note(latest.body.decode())
    assert served.text == f"{settings.LEDGER_ORIGIN}\n10\n{note.b64encode(log.root())}\n"
    assert len(note.verify_note(served, [key, note.parse_verifier_key(log_vkey())])) == 2
    assert request(notary.url, "GET", f"/{'0' * 64}/checkpoint").status == 404


def test_a_stale_old_size_is_409_with_the_latest_size(notary: RunningWitness) -> None:
    log = tree(9)
    assert add(notary, log, 0, 5).status == 200
    for old in (0, 3, 6):
        reply = add(notary, log, old, 9)
        assert reply.status == 409
        assert reply.content_type == "text/x.tlog.size"
        assert reply.body == b"5\n"
    assert notary.recorded()["size"] == 5


def test_rollbacks_and_forks_are_refused(notary: RunningWitness) -> None:
    log = tree(8)
    assert add(notary, log, 0, 6).status == 200
    # A smaller tree after a larger one: its old size cannot be the recorded 6 ...
    assert add(notary, log, 0, 4).status == 409
    # ... and an old size above the checkpoint's is malformed.
    assert add(notary, log, 6, 4).status == 400
    # A history that differs from the cosigned one, with a proof valid for itself.
    fork = tree(8, prefix="forked")
    assert add(notary, fork, 6, 8).status == 422
    # Same size, other root.
    assert add(notary, fork, 6, 6).status == 422
    # The genuine log with a proof that does not hold (one hash changed).
    proof = log.consistency_proof(6, 8)
    proof[0] = bytes(32)
    reply = post(notary.url, body(6, proof, signed_checkpoint(8, log.root())))
    assert reply.status == 422
    # A proof too short.
    reply = post(notary.url, body(6, proof[1:], signed_checkpoint(8, log.root())))
    assert reply.status == 422
    assert notary.recorded()["size"] == 6
    assert len(notary.state.refusals()) == 4
    assert add(notary, log, 6, 8).status == 200


def test_size_zero_rules(witness_factory: Any) -> None:
    witness = witness_factory("zero.example/witness")
    log = tree(3)
    # A proof from size zero must be empty.
    reply = post(witness.url, body(0, [bytes(32)], signed_checkpoint(3, log.root())))
    assert reply.status == 422
    # A checkpoint of size zero must carry the empty tree's root.
    assert post(witness.url, body(0, [], signed_checkpoint(0, bytes(32)))).status == 422
    assert post(witness.url, body(0, [], signed_checkpoint(0, merkle.EMPTY_ROOT))).status == 200
    assert witness.recorded()["size"] == 0


def test_unknown_keys_and_origins(notary: RunningWitness) -> None:
    log = tree(4)
    stranger = Ed25519PrivateKey.generate()
    # Signed under the ledger's origin by a key the witness was not given: 403.
    reply = post(notary.url, body(0, [], signed_checkpoint(4, log.root(), private=stranger)))
    assert reply.status == 403
    # The ledger's key name and key ID, but a signature that does not verify: 403.
    genuine = signed_checkpoint(4, log.root())
    text, _, line = genuine.rpartition("\n\n")
    raw = bytearray(base64.b64decode(line.split(" ")[2]))
    raw[-1] ^= 1
    tampered = f"{text}\n\n\u2014 {settings.LEDGER_ORIGIN} {base64.b64encode(raw).decode()}\n"
    assert post(notary.url, body(0, [], tampered)).status == 403
    # A log the witness does not follow: 404 (tlog-witness: "If the checkpoint origin is
    # unknown, the witness MUST respond with a 404 Not Found").
    other = signed_checkpoint(4, log.root(), private=stranger, origin="other.example/log")
    assert post(notary.url, body(0, [], other)).status == 404
    # A signature by an unknown key beside the genuine one is ignored.
    unknown_line = signed_checkpoint(4, log.root(), private=stranger).rpartition("\n\n")[2]
    assert post(notary.url, body(0, [], genuine + unknown_line)).status == 200
    assert notary.recorded() is not None and notary.state.refusals() == []


def test_malformed_bodies_are_400_and_the_witness_carries_on(notary: RunningWitness) -> None:
    log = tree(4)
    good = signed_checkpoint(4, log.root())
    hash_line = note.b64encode(bytes(32)) + "\n"
    malformed = [
        b"",
        b"\n\n",
        b"garbage",
        b"\xff\xfe" + good.encode(),
        b"old 0\n" + good.encode(),  # no blank line after the proof
        b"new 0\n\n" + good.encode(),
        b"old 00\n\n" + good.encode(),
        b"old 01\n\n" + good.encode(),
        b"old -1\n\n" + good.encode(),
        b"old  0\n\n" + good.encode(),
        b"old 0x1\n\n" + good.encode(),
        b"old 99999999999999999999\n\n" + good.encode(),
        b"old 0\nnot base64!\n\n" + good.encode(),
        b"old 0\n" + note.b64encode(bytes(31)).encode() + b"\n\n" + good.encode(),
        b"old 0\n" + (hash_line * 64).encode() + b"\n" + good.encode(),
        b"old 0\n\n" + good.rpartition("\n\n")[0].encode() + b"\n",  # no signature line
        b"old 0\n\n" + good.encode()[:-1],  # the last line without its newline
        b"old 0\n\n" + good.replace("\u2014", "-").encode(),
        b"old 0\n\n" + good.replace("\n4\n", "\n04\n").encode(),
        b"old 0\n\n" + good.replace("\n4\n", "\n\n").encode(),
        b"old 0\n\n" + good.replace(settings.LEDGER_ORIGIN, "a\tb").encode(),
        b"old 0\n\n" + f"{settings.LEDGER_ORIGIN}\n4\n\n\u2014 x AAAAAAAA\n".encode(),
        "old 0\n\nx\n4\nAAAA\n\n\u2014 x AAAAAAAA\n".encode(),  # a root hash of 3 bytes
        b"old 5\n\n" + good.encode(),  # old size above the checkpoint's
    ]
    for data in malformed:
        reply = post(notary.url, data)
        assert reply.status == 400, (data, reply)
        assert reply.content_type.startswith("text/plain")
    # 63 proof lines are allowed (then the proof is checked, and fails here: 409 first).
    assert (
        post(notary.url, b"old 1\n" + (hash_line * 63).encode() + b"\n" + good.encode()).status
        == 409
    )
    assert notary.recorded() is None
    assert add(notary, log, 0).status == 200


def test_http_edges(notary: RunningWitness) -> None:
    url = notary.url
    assert request(url, "GET", "/add-checkpoint").status == 405
    assert request(url, "POST", "/elsewhere", b"old 0\n\n").status == 404
    assert request(url, "PUT", "/add-checkpoint", b"").status == 405
    assert post(url, b"x" * (MAX_BODY + 1)).status == 413
    # No Content-Length at all.
    host, port = notary.server.server_address[:2]
    connection = http.client.HTTPConnection(host, port, timeout=10)
    connection.putrequest("POST", "/add-checkpoint")
    connection.endheaders()
    assert connection.getresponse().status == 400
    connection.close()
    # A body shorter than its Content-Length, then the connection closes.
    with socket.create_connection((host, port), timeout=10) as raw:
        raw.sendall(b"POST /add-checkpoint HTTP/1.1\r\nHost: x\r\nContent-Length: 50\r\n\r\nold")
        raw.shutdown(socket.SHUT_WR)
        assert raw.recv(100).startswith(b"HTTP/1.1 400")
    # Garbage instead of HTTP: http.server answers it and closes the connection.
    for garbage in (b"\x00\x01\x02 nonsense\r\n\r\n", b"POST / HTTP/9.9\r\n\r\n", b"\xff" * 70000):
        with socket.create_connection((host, port), timeout=10) as raw:
            raw.sendall(garbage)
            while raw.recv(4096):
                pass
    # Keep-alive: two requests on one connection.
    connection = http.client.HTTPConnection(host, port, timeout=10)
    for _ in range(2):
        connection.request("POST", "/add-checkpoint", body=b"bad")
        response = connection.getresponse()
        assert response.status == 400
        response.read()
    connection.close()
    assert add(notary, tree(2), 0).status == 200


def test_updates_are_serialized(notary: RunningWitness) -> None:
    """Twelve checkpoints sent at once, all from the recorded size: exactly one is cosigned
    (the others are told the new size), so the recorded size never rolls back."""
    log = tree(20)
    assert add(notary, log, 0, 4).status == 200
    statuses: list[int] = []
    barrier = threading.Barrier(12)

    def send(size: int) -> None:
        data = body(4, log.consistency_proof(4, size), signed_checkpoint(size, log.root(size)))
        barrier.wait()
        statuses.append(post(notary.url, data).status)

    threads = [threading.Thread(target=send, args=(size,)) for size in range(5, 17)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert sorted(statuses) == [200] + [409] * 11
    size = notary.recorded()["size"]
    assert notary.recorded()["root"] == note.b64encode(log.root(size))


def test_the_state_survives_a_restart_and_has_one_owner(notary: RunningWitness) -> None:
    log = tree(12)
    assert add(notary, log, 0, 5).status == 200
    vkey = notary.vkey
    # A second process cannot take the same state file while the witness runs.
    with pytest.raises(StateError, match="in use"):
        StateFile(notary.state_file).open()
    notary.restart()  # new port, same key file and state file
    assert notary.vkey == vkey
    reply = add(notary, log, 0, 12)
    assert (reply.status, reply.body) == (409, b"5\n")
    assert add(notary, tree(12, prefix="forked"), 5, 12).status == 422
    assert add(notary, log, 5, 12).status == 200
    notary.restart()
    assert notary.recorded()["size"] == 12
    assert notary.recorded()["root"] == note.b64encode(log.root())
    # Nothing but the state file itself (and its lock and refusal log) is left behind.
    names = sorted(p.name for p in notary.state_file.parent.iterdir())
    assert names == [
        "witness-key.pem",
        "witness-state.json",
        "witness-state.json.lock",
        "witness-state.json.refused.jsonl",
    ]
    assert oct(notary.key_file.stat().st_mode & 0o777) == "0o600"


def test_cosignature_message_format(notary: RunningWitness) -> None:
    """cosignature/v1 (c2sp.org/tlog-cosignature): the key ID is SHA-256(name || 0x0A ||
    0x04 || key)[:4]; the signature is a big-endian u64 time then Ed25519 over
    "cosignature/v1\\ntime <t>\\n" + the checkpoint's note text."""
    log = tree(3)
    reply = add(notary, log, 0)
    line = reply.body.decode()
    assert line.startswith(f"\u2014 {notary.name} ") and line.endswith("\n")
    raw = base64.b64decode(line.rstrip("\n").split(" ")[2], validate=True)
    assert len(raw) == 4 + 8 + 64
    public = note.public_raw(notary.private)
    assert raw[:4] == hashlib.sha256(notary.name.encode() + b"\n\x04" + public).digest()[:4]
    timestamp = int.from_bytes(raw[4:12], "big")
    assert timestamp == notary.state.log(settings.LEDGER_ORIGIN)["cosigned_at"] > 1_700_000_000
    text = f"{settings.LEDGER_ORIGIN}\n3\n{base64.b64encode(log.root()).decode()}\n"
    message = f"cosignature/v1\ntime {timestamp}\n{text}".encode()
    Ed25519PublicKey.from_public_bytes(public).verify(raw[12:], message)
    material = base64.b64encode(b"\x04" + public).decode()
    assert notary.vkey == f"{notary.name}+{raw[:4].hex()}+{material}"
