"""RFC 3161 time-stamps of checkpoints, against a real ``openssl ts`` authority on loopback:
tokens checked with ``openssl ts -verify`` and with rfc3161-client; a tampered token, the
wrong authority certificate, a down and a slow authority."""

from __future__ import annotations

import base64
import io
import subprocess
import time
from pathlib import Path
from typing import Any

import pytest
from django.core.management import CommandError, call_command
from django.db import IntegrityError, transaction

from fieldvisit import jobs
from fieldvisit.ledger import store, timestamps
from fieldvisit.ledger.checkpoints import make_checkpoint
from fieldvisit.models import Checkpoint, CheckpointTimestamp
from tests.ledger.helpers import append_many
from tests.tsa import Authority

pytestmark = pytest.mark.django_db(transaction=True)


def openssl_ts_verify(data: Path, token: Path, ca: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["openssl", "ts", "-verify", "-data", str(data), "-in", str(token), "-CAfile", str(ca)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def api_checkpoint(world: Any) -> dict[str, Any]:
    response = world.client(world.legal).get("/api/v1/ledger/checkpoint/")
    assert response.status_code == 200, response.content
    return response.json()


def grow(world: Any, count: int) -> int:
    """Append ``count`` entries; the new tree size. The legal user's API client is made
    first: issuing its token is a ledger entry too."""
    world.client(world.legal)
    append_many(count)
    return store.tree_size()


def stamped_files(world: Any, tmp_path: Path) -> tuple[Path, Path, dict[str, Any]]:
    size = grow(world, 3)
    assert jobs.checkpoint() == size
    body = api_checkpoint(world)
    data = tmp_path / "checkpoint.json"
    data.write_bytes(base64.b64decode(body["signed_b64"]))
    token = tmp_path / "checkpoint.tsr"
    assert body["tsa_token"], body
    token.write_bytes(base64.b64decode(body["tsa_token"]))
    return data, token, body


def test_a_checkpoint_is_stamped_and_both_verifiers_agree(
    world: Any, tsa: Authority, tmp_path: Path
) -> None:
    data, token, body = stamped_files(world, tmp_path)
    assert body["tsa_status"] == "stamped"
    assert body["tsa_authority"] == tsa.url and body["tsa_error"] is None
    assert len(tsa.requests) == 1
    done = openssl_ts_verify(data, token, tsa.ca_file)
    assert done.returncode == 0, done.stderr
    assert "Verification: OK" in done.stdout
    parsed = timestamps.verify(
        token.read_bytes(), data.read_bytes(), [*timestamps.ca_certificates()]
    )
    assert parsed.tst_info.gen_time.isoformat()[:19] == body["tsa_time"][:19]
    # The job does not ask twice for a checkpoint that has its token.
    assert jobs.timestamp_checkpoints() == {"stamped": 0, "failed": 0, "pending": 0}
    assert len(tsa.requests) == 1


def test_a_tampered_token_is_detected(world: Any, tsa: Authority, tmp_path: Path) -> None:
    data, token, _ = stamped_files(world, tmp_path)
    raw = bytearray(token.read_bytes())
    raw[-10] ^= 0x01  # inside the authority's signature
    token.write_bytes(bytes(raw))
    done = openssl_ts_verify(data, token, tsa.ca_file)
    assert done.returncode != 0
    assert "Verification: OK" not in done.stdout
    with pytest.raises(timestamps.TimestampError, match="does not verify"):
        timestamps.verify(bytes(raw), data.read_bytes(), timestamps.ca_certificates())


def test_a_token_over_other_bytes_is_detected(world: Any, tsa: Authority, tmp_path: Path) -> None:
    data, token, _ = stamped_files(world, tmp_path)
    other = tmp_path / "other.json"
    other.write_bytes(data.read_bytes().replace(b'"tree_size":', b'"tree_size":1'))
    assert openssl_ts_verify(other, token, tsa.ca_file).returncode != 0
    with pytest.raises(timestamps.TimestampError, match="Mismatch between messages"):
        timestamps.verify(token.read_bytes(), other.read_bytes(), timestamps.ca_certificates())


def test_the_wrong_authority_certificate_is_detected(
    world: Any, tsa: Authority, tmp_path: Path, settings: Any
) -> None:
    data, token, _ = stamped_files(world, tmp_path)
    done = openssl_ts_verify(data, token, tsa.other_ca_file)
    assert done.returncode != 0
    wrong = timestamps.ca_certificates(str(tsa.other_ca_file))
    with pytest.raises(timestamps.TimestampError, match="does not verify"):
        timestamps.verify(token.read_bytes(), data.read_bytes(), wrong)
    # verify_ledger re-checks kept tokens against the configured CA.
    settings.LEDGER_TSA_CA_FILE = str(tsa.other_ca_file)
    with pytest.raises(CommandError, match="time-stamp of checkpoint at size"):
        call_command("verify_ledger", stdout=io.StringIO(), stderr=io.StringIO())


def test_a_token_from_an_authority_we_do_not_trust_is_not_kept(
    world: Any, tsa: Authority, settings: Any
) -> None:
    tsa.use(settings, ca_file=tsa.other_ca_file)
    grow(world, 2)
    jobs.checkpoint()
    (attempt,) = CheckpointTimestamp.objects.all()
    assert not attempt.granted and bytes(attempt.response) == b""
    assert "does not verify" in attempt.error
    assert api_checkpoint(world)["tsa_status"] == "failed"


def test_a_down_authority_never_blocks_and_the_job_fills_the_gap(
    world: Any, tsa: Authority, settings: Any, tmp_path: Path
) -> None:
    settings.LEDGER_TSA_URL = tsa.down_url
    size = grow(world, 2)
    assert jobs.checkpoint() == size  # the checkpoint is kept
    body = api_checkpoint(world)
    assert body["tsa_status"] == "failed" and body["tsa_token"] is None
    assert "could not be reached" in body["tsa_error"]
    out = io.StringIO()
    call_command("verify_ledger", stdout=out)
    assert "1 WITHOUT a token" in out.getvalue()
    # Appends and new checkpoints go on while the authority is down.
    append_many(1)
    assert jobs.checkpoint() == size + 1
    assert timestamps.checkpoints_without_token().count() == 2
    # The authority is back: the retry job stamps both, oldest first.
    settings.LEDGER_TSA_URL = tsa.url
    assert jobs.timestamp_checkpoints() == {"stamped": 2, "failed": 0, "pending": 0}
    body = api_checkpoint(world)
    assert body["tsa_status"] == "stamped" and body["tsa_error"] is None
    out = io.StringIO()
    call_command("verify_ledger", stdout=out)
    assert "2 checkpoints stamped by the authority." in out.getvalue()
    # The failed attempt stays on record next to the token.
    first = Checkpoint.objects.get(tree_size=size)
    assert [a.granted for a in first.timestamps.order_by("id")] == [False, False, True]


def test_an_authority_error_is_recorded(world: Any, tsa: Authority) -> None:
    tsa.mode = "error"
    grow(world, 1)
    jobs.checkpoint()
    assert "HTTP 500" in api_checkpoint(world)["tsa_error"]


def test_a_slow_authority_times_out_quickly_and_the_retry_stamps(
    world: Any, tsa: Authority, settings: Any
) -> None:
    tsa.mode, tsa.delay = "slow", 3.0
    settings.LEDGER_TSA_TIMEOUT_S = 0.5
    size = grow(world, 2)
    started = time.monotonic()
    assert jobs.checkpoint() == size
    assert time.monotonic() - started < 2.5  # bounded by the timeout, not the authority
    (attempt,) = CheckpointTimestamp.objects.all()
    assert "timed out" in attempt.error
    tsa.mode = "ok"
    assert jobs.timestamp_checkpoints()["stamped"] == 1
    assert api_checkpoint(world)["tsa_status"] == "stamped"


def test_without_an_authority_nothing_is_asked(world: Any, settings: Any) -> None:
    settings.LEDGER_TSA_URL = ""
    grow(world, 1)
    jobs.checkpoint()
    assert api_checkpoint(world)["tsa_status"] == "off"
    assert not CheckpointTimestamp.objects.exists()


def test_requests_never_run_inside_a_transaction(world: Any, tsa: Authority) -> None:
    append_many(1)
    checkpoint = make_checkpoint()
    with pytest.raises(RuntimeError), transaction.atomic():
        timestamps.stamp(checkpoint)
    assert tsa.requests == []


def test_admin_shows_the_gap(world: Any, tsa: Authority, settings: Any, client: Any) -> None:
    settings.LEDGER_TSA_URL = tsa.down_url
    append_many(1)
    jobs.checkpoint()
    client.force_login(world.auditor)
    page = client.get("/admin/fieldvisit/checkpoint/")
    assert page.status_code == 200
    assert "MISSING: attempts failed, retried" in page.content.decode()
    attempts = client.get("/admin/fieldvisit/checkpointtimestamp/?gen_time__isempty=1")
    assert attempts.status_code == 200
    assert "could not be reached" in attempts.content.decode()
    settings.LEDGER_TSA_URL = tsa.url
    jobs.timestamp_checkpoints()
    assert "stamped 20" in client.get("/admin/fieldvisit/checkpoint/").content.decode()


def test_a_missing_authority_ca_is_a_system_check_warning(settings: Any, tmp_path: Path) -> None:
    from fieldvisit.checks import timestamp_authority

    settings.LEDGER_TSA_URL = "http://127.0.0.1:9/tsr"
    for ca in ("", str(tmp_path / "absent.pem")):
        settings.LEDGER_TSA_CA_FILE = ca
        (warning,) = timestamp_authority()
        assert warning.id == "fieldvisit.W011"
    settings.LEDGER_TSA_URL = ""
    assert timestamp_authority() == []


def test_a_backlog_larger_than_one_batch_is_stamped_in_one_run(
    world: Any, tsa: Authority, settings: Any
) -> None:
    settings.LEDGER_TSA_URL = tsa.down_url
    for _ in range(timestamps.BATCH + 5):
        append_many(1)
        jobs.checkpoint()
    pending = timestamps.checkpoints_without_token().count()
    assert pending >= timestamps.BATCH + 5
    settings.LEDGER_TSA_URL = tsa.url
    assert jobs.timestamp_checkpoints() == {"stamped": pending, "failed": 0, "pending": 0}


def test_kept_tokens_cannot_be_rewritten_or_removed(world: Any, tsa: Authority) -> None:
    grow(world, 1)
    jobs.checkpoint()
    (row,) = CheckpointTimestamp.objects.all()
    assert row.granted
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        CheckpointTimestamp.objects.filter(pk=row.pk).update(response=b"forged")
    with pytest.raises(IntegrityError, match="append-only"), transaction.atomic():
        CheckpointTimestamp.objects.filter(pk=row.pk).delete()
    # A second granted token for the same checkpoint is refused by the database too.
    with pytest.raises(IntegrityError), transaction.atomic():
        CheckpointTimestamp.objects.create(
            checkpoint=row.checkpoint,
            authority=tsa.url,
            requested_at=row.requested_at,
            response=bytes(row.response),
            gen_time=row.gen_time,
        )
