"""``manage.py run_witness``: its key, its name, and a real run in a child process."""

from __future__ import annotations

import io
import os
import re
import signal
import subprocess
import sys
from pathlib import Path

import pytest
from django.core.management import CommandError, call_command

from fieldvisit.witness import keys, note
from tests.childserver import ROOT
from tests.witness.helpers import body, log_vkey, post, signed_checkpoint


def print_key(tmp_path: Path, *extra: str) -> str:
    out = io.StringIO()
    call_command(
        "run_witness",
        "--key",
        str(tmp_path / "k.pem"),
        "--state",
        str(tmp_path / "s.json"),
        "--print-key",
        *extra,
        stdout=out,
        stderr=io.StringIO(),
    )
    return out.getvalue().strip()


def test_print_key_creates_the_key_once(tmp_path: Path) -> None:
    with pytest.raises(CommandError, match="--name is required"):
        print_key(tmp_path)
    vkey = print_key(tmp_path, "--name", "notary.example/witness")
    assert (tmp_path / "k.pem").stat().st_mode & 0o777 == 0o600
    private, created = keys.load_or_create(tmp_path / "k.pem")
    assert not created
    assert vkey == str(note.cosigner_key("notary.example/witness", private))
    assert print_key(tmp_path, "--name", "notary.example/witness") == vkey
    with pytest.raises(CommandError, match="--name"):
        print_key(tmp_path, "--name", "bad name")


def test_the_command_refuses_what_it_cannot_run(tmp_path: Path) -> None:
    base = ["run_witness", "--key", str(tmp_path / "k.pem"), "--state", str(tmp_path / "s.json")]
    with pytest.raises(CommandError, match="--log-key is required"):
        call_command(*base, "--name", "n.example/w", stdout=io.StringIO(), stderr=io.StringIO())
    with pytest.raises(CommandError, match="--log-key"):
        call_command(*base, "--log-key", "nonsense", stdout=io.StringIO(), stderr=io.StringIO())
    # The name is kept in the state: another one would not match the published key.
    with pytest.raises(CommandError, match=r"is named 'n\.example/w'"):
        call_command(*base, "--name", "m.example/w", "--log-key", log_vkey(), stdout=io.StringIO())
    (tmp_path / "bad.pem").write_text("not a key")
    with pytest.raises(CommandError, match="cannot read"):
        call_command(
            "run_witness", "--key", str(tmp_path / "bad.pem"), "--state", str(tmp_path / "x"),
            "--print-key", "--name", "n.example/w", stdout=io.StringIO(),
        )  # fmt: skip


def test_run_witness_serves_until_terminated(tmp_path: Path, settings) -> None:  # type: ignore[no-untyped-def]
    command = [
        sys.executable, str(ROOT / "manage.py"), "run_witness",
        "--key", str(tmp_path / "k.pem"), "--state", str(tmp_path / "s.json"),
        "--name", "notary.example/witness", "--log-key", log_vkey(),
        "--addr", "127.0.0.1:0",
    ]  # fmt: skip
    env = {**os.environ, "LEDGER_SIGNING_KEY_FILE": str(settings.LEDGER_SIGNING_KEY_FILE)}
    process = subprocess.Popen(
        command, cwd=ROOT, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        assert process.stdout is not None
        vkey = process.stdout.readline().strip()
        started = process.stdout.readline()
        match = re.search(r"at (http://127\.0\.0\.1:\d+)/add-checkpoint", started)
        assert match, started
        url = match.group(1)
        key = note.parse_verifier_key(vkey)
        assert (key.name, key.signature_type) == ("notary.example/witness", note.COSIGNATURE_V1)
        assert post(url, b"old zero").status == 400
        reply = post(url, body(0, [], signed_checkpoint(1, bytes(32))))
        assert reply.status == 200
        [signature] = note.parse_signature_lines(reply.body.decode())
        assert key.verify(
            f"{settings.LEDGER_ORIGIN}\n1\n{note.b64encode(bytes(32))}\n", signature.signature
        )
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=10)
    assert process.returncode == 0, process.stderr.read() if process.stderr else ""
    assert '"size": 1' in (tmp_path / "s.json").read_text()
