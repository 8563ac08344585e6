"""A real server process killed with SIGKILL in the middle of uploads, and (on PostgreSQL) its
database connection cut in the middle of a request.

After each fault: the tus upload resumes (HEAD, then PATCH from the stored offset) and
completes with the right SHA-256; a re-sent photo is stored once; the sweep removes what the
dead request left; and then storage holds no object that no row cites, the database no record
without its bytes or its ledger entry, and ``verify_ledger`` finds the ledger whole.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import io
import json
import os
import socket
import uuid
from pathlib import Path
from typing import Any

import pytest
import requests
from PIL import Image
from tusclient import client as tus
from urllib3 import encode_multipart_formdata

from fieldvisit.evidence.storage import key_for
from tests.faults.conftest import Child, admin_sql, postgres_url, wait_for, wav

KIB = 1024
MIB = 1024 * KIB


def now_iso() -> str:
    # The server runs on the machine's clock (these tests pin no clock).
    return dt.datetime.now(dt.UTC).isoformat()


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def send_partly(
    child: Child, method: str, path: str, headers: dict[str, str], length: int, part: bytes
) -> socket.socket:
    """Start a request announcing ``length`` body bytes and send only ``part`` of them."""
    sock = socket.create_connection(("127.0.0.1", child.server.port), timeout=10)
    lines = [f"{method} {path} HTTP/1.1", f"Host: 127.0.0.1:{child.server.port}"]
    lines += [f"{k}: {v}" for k, v in {**headers, "Content-Length": str(length)}.items()]
    sock.sendall(("\r\n".join(lines) + "\r\n\r\n").encode() + part)
    return sock


def read_response(sock: socket.socket) -> tuple[int, dict[str, str], bytes]:
    """A whole HTTP/1.1 response from a raw socket (the server closes or sends a length)."""
    data = b""
    while b"\r\n\r\n" not in data:
        block = sock.recv(65536)
        assert block, data
        data += block
    head, body = data.split(b"\r\n\r\n", 1)
    status_line, *header_lines = head.decode("latin-1").split("\r\n")
    headers = {k.lower(): v.strip() for k, v in (line.split(":", 1) for line in header_lines)}
    length = int(headers.get("content-length", "-1"))
    while length < 0 or len(body) < length:
        block = sock.recv(65536)
        if not block:
            break
        body += block
    return int(status_line.split()[1]), headers, body


def assert_whole(child: Child) -> dict[str, Any]:
    """Sweep what dead requests left, then: nothing orphaned, nothing half-stored, the ledger
    whole (``verify_ledger`` exits 0)."""
    report = child.state_report("--sweep", "--verify")
    assert report["staging"] == []
    assert report["orphan_objects"] == []
    assert report["rows_missing_bytes"] == []
    assert report["corrupt"] == []
    assert report["uncited_rows"] == []
    assert report["ledger_files_without_row"] == []
    assert report["photos"] == report["photo_entries"]
    assert report["segments"] == report["segment_entries"]
    assert not report["ledger_gap"]
    assert report["ledger_head_size"] == report["ledger_size"]
    # The disk itself, not only the storage API: exactly the cited files, nothing else.
    assert child.evidence_files() == {key_for(s) for s in report["evidence_files"]}
    receiving = {k for k, v in report["uploads"].items() if v["status"] == "receiving"}
    assert {name.split(".")[0] for name in child.upload_dir_files()} <= receiving
    assert report["verify_ledger"]["exit"] == 0, report["verify_ledger"]["output"]
    assert "Ledger OK" in report["verify_ledger"]["output"]
    return report


def test_a_tus_upload_resumes_after_the_server_is_killed_mid_patch(child: Child) -> None:
    data = wav(60)  # 1.9 MB: more than the server's 1 MiB read, so some bytes hit the disk
    digest = sha(data)
    headers = child.headers()
    metadata = {
        "visit": child.visit_id(0),
        "recording": str(uuid.uuid4()),
        "segment": "0",
        "started_at": now_iso(),
        "sha256": digest,
        "prev_sha256": "",
        "filename": "seg0.wav",
    }
    client = tus.TusClient(f"{child.url}/uploads/", headers=headers)
    first = client.uploader(file_stream=io.BytesIO(data), chunk_size=256 * KIB, metadata=metadata)
    first.upload(stop_at=256 * KIB)
    assert first.offset == 256 * KIB
    upload_id = first.url.rstrip("/").rsplit("/", 1)[-1]
    part = child.state / "uploads" / f"{upload_id}.part"

    # The next PATCH announces the rest but sends only 1.25 MiB of it; the server writes its
    # first 1 MiB block and waits for more. Then the server process is killed.
    sock = send_partly(
        child,
        "PATCH",
        f"/api/v1/uploads/{upload_id}/",
        {
            **headers,
            "Tus-Resumable": "1.0.0",
            "Content-Type": "application/offset+octet-stream",
            "Upload-Offset": str(256 * KIB),
        },
        len(data) - 256 * KIB,
        data[256 * KIB : 256 * KIB + MIB + 256 * KIB],
    )
    wait_for(lambda: part.stat().st_size >= 256 * KIB + MIB, what="the first block on disk")
    child.kill()
    sock.close()
    dead = child.state_report()
    assert upload_id in dead["uploads_with_lease"]  # the dead writer's lease is still there
    assert dead["uploads"][upload_id]["offset"] == 256 * KIB
    assert part.stat().st_size > 256 * KIB  # bytes no answer ever acknowledged

    child.start()  # a new process: nothing of the upload survives in memory
    status = requests.head(first.url, headers={**headers, "Tus-Resumable": "1.0.0"}, timeout=10)
    assert status.status_code == 200
    assert status.headers["Upload-Offset"] == str(256 * KIB)
    resumed = client.uploader(
        file_stream=io.BytesIO(data), chunk_size=256 * KIB, url=first.url, metadata=metadata
    )
    assert resumed.offset == 256 * KIB
    resumed.upload()  # no 423: the dead writer's lease is taken over at once

    recording = requests.get(
        f"{child.url}/visits/{metadata['visit']}/recording/", headers=headers, timeout=10
    ).json()
    assert [(s["index"], s["sha256"], s["size"]) for s in recording["segments"]] == [
        (0, digest, len(data))
    ]
    report = assert_whole(child)
    assert report["uploads"][upload_id] == {
        "status": "completed",
        "offset": len(data),
        "length": len(data),
    }
    assert report["uploads_with_lease"] == []
    assert upload_id in report["segments"]
    assert not part.exists()


def big_jpeg() -> bytes:
    """A JPEG of noise: more than the server's 1 MiB read, unique bytes."""
    out = io.BytesIO()
    Image.frombytes("RGB", (1200, 900), os.urandom(1200 * 900 * 3)).save(
        out, "JPEG", quality=95, subsampling=0
    )
    data = out.getvalue()
    assert len(data) > 1.5 * MIB
    return data


def photo_body(photo_id: str, data: bytes) -> tuple[bytes, str]:
    return encode_multipart_formdata(
        {
            "id": photo_id,
            "kind": "door",
            "captured_at": now_iso(),
            "sha256": sha(data),
            "partner_in_frame": "true",
            "file": ("door.jpg", data, "application/octet-stream"),
        }
    )


def temporary_uploads(child: Child) -> list[Path]:
    staging = child.state / "evidence" / "staging"
    return sorted(staging.glob("*.upload")) if staging.exists() else []


def test_a_photo_upload_killed_midway_is_resent_and_stored_once(child: Child) -> None:
    data = big_jpeg()
    photo_id = str(uuid.uuid4())
    body, content_type = photo_body(photo_id, data)
    url = f"/api/v1/visits/{child.visit_id(0)}/photos/"
    headers = {**child.headers(), "Content-Type": content_type}
    assert temporary_uploads(child) == []

    sock = send_partly(child, "POST", url, headers, len(body), body[: MIB + 256 * KIB])
    wait_for(
        lambda: any(p.stat().st_size > 0 for p in temporary_uploads(child)),
        what="the photo's first bytes on disk",
    )
    child.kill()
    sock.close()
    left = temporary_uploads(child)
    assert left  # the dead request's half photo
    child.start()
    dead = child.state_report()
    assert photo_id not in dead["photos"]
    assert sha(data) not in dead["evidence_files"]

    # The phone sends the photo again, and again (it never saw an answer): stored once.
    first = requests.post(
        f"{child.url}{url[len('/api/v1') :]}", data=body, headers=headers, timeout=30
    )
    assert first.status_code == 201, first.text
    again = requests.post(
        f"{child.url}{url[len('/api/v1') :]}", data=body, headers=headers, timeout=30
    )
    assert again.status_code == 200, again.text
    assert again.json()["id"] == first.json()["id"] == photo_id

    report = assert_whole(child)
    assert report["swept"]["removed"] == 1  # the half photo
    assert not any(p.exists() for p in left)
    assert report["photos"].count(photo_id) == 1
    assert report["photo_entries"].count(photo_id) == 1
    assert (child.state / "evidence" / key_for(sha(data))).read_bytes() == data


@pytest.mark.skipif(not postgres_url(), reason="cuts a PostgreSQL backend connection")
def test_the_database_connection_cut_mid_request_is_503_and_keeps_nothing(child: Child) -> None:
    pg = postgres_url()
    assert pg is not None and child.pg_name is not None
    data = big_jpeg()
    photo_id = str(uuid.uuid4())
    body, content_type = photo_body(photo_id, data)
    url = f"/api/v1/visits/{child.visit_id(0)}/photos/"
    headers = {**child.headers(), "Content-Type": content_type}

    sock = send_partly(child, "POST", url, headers, len(body), body[: 64 * KIB])

    def serving() -> list[tuple[Any, ...]]:
        # The request looked its visit up and now waits for the rest of the body. The read
        # names its columns first (v."id", v."stop_id", ...): pg_stat_activity keeps only a
        # statement's first 1,024 bytes, which end before its FROM.
        return admin_sql(
            pg,
            "SELECT pid FROM pg_stat_activity WHERE datname = %s AND state = 'idle' "
            "AND query LIKE %s",
            (child.pg_name, 'SELECT v."id", v."stop_id"%'),
        )

    wait_for(serving, what="the request's database connection")
    cut = admin_sql(
        pg,
        "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s",
        (child.pg_name,),
    )
    assert cut and all(ok for (ok,) in cut)
    sock.sendall(body[64 * KIB :])
    status, answer_headers, answer = read_response(sock)
    sock.close()
    assert status == 503, answer
    assert answer_headers["content-type"] == "application/problem+json"
    assert answer_headers["retry-after"] == "5"
    problem = json.loads(answer)
    assert problem["code"] == "database_unavailable"
    assert problem["status"] == 503

    dead = child.state_report()
    assert photo_id not in dead["photos"]
    assert sha(data) not in dead["evidence_files"]
    # The server reconnects by itself: the phone's retry is stored.
    retry = requests.post(
        f"{child.url}{url[len('/api/v1') :]}", data=body, headers=headers, timeout=30
    )
    assert retry.status_code == 201, retry.text
    report = assert_whole(child)
    assert report["photos"].count(photo_id) == 1
