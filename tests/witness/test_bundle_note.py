"""The checkpoint job asks the witnesses, and a bundle's checkpoint.txt and tlog-proof files
carry their cosignature lines after the log's own signature; ``verify.py --witness KEY``
requires them (k of n with ``--witnesses-required``), so a history the witnesses never saw
fails even when we re-sign the bundle with our own key."""

from __future__ import annotations

import base64
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from fieldvisit import jobs
from fieldvisit.models import WitnessCosignature
from tests.bundles.conftest import _pinned_clock, evidenced_visit  # noqa: F401 - fixtures
from tests.bundles.forge import resign
from tests.bundles.pins import pinned
from tests.helpers import download, unzip
from tests.witness.conftest import witness_factory  # noqa: F401 - fixture
from tests.witness.helpers import RunningWitness

pytestmark = pytest.mark.django_db(transaction=True)


def test_a_bundle_carries_the_witnesses_cosignatures(
    both: list[RunningWitness],
    world: Any,
    evidenced_visit: Any,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
) -> None:
    size = jobs.checkpoint()
    assert size is not None
    lines = list(WitnessCosignature.objects.filter(checkpoint__tree_size=size))
    assert len(lines) == 2
    legal = world.client(world.legal, "desk")
    root = unzip(download(legal, f"/api/v1/visits/{evidenced_visit.pk}/bundle/"), tmp_path)
    note = (root / "checkpoint.txt").read_text()
    for cosignature in lines:
        assert cosignature.line in note
    proof = next((root / "ledger" / "proofs").iterdir()).read_text()
    assert all(c.line in proof for c in lines)
    verified = subprocess.run(
        [sys.executable, "verify.py", *pinned()], cwd=root, capture_output=True, text=True
    )
    assert verified.returncode == 0, verified.stdout


def verify(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "verify.py", *pinned(*args)],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
    )


@pytest.fixture
def witnessed(
    both: list[RunningWitness],
    world: Any,
    evidenced_visit: Any,  # noqa: F811 - the fixture imported above
    tmp_path: Path,
) -> Path:
    """A bundle whose checkpoint both witnesses cosigned."""
    assert jobs.checkpoint() is not None
    legal = world.client(world.legal, "desk")
    return unzip(download(legal, f"/api/v1/visits/{evidenced_visit.pk}/bundle/"), tmp_path)


def test_verify_requires_each_witness_given(
    witnessed: Path,
    both: list[RunningWitness],
    witness_factory: Any,  # noqa: F811 - the fixture imported above
) -> None:
    notary, creditor = both
    passed = verify(witnessed, "--witness", notary.vkey, "--witness", creditor.vkey)
    assert passed.returncode == 0, passed.stdout
    assert "cosigned by 2 of 2 witnesses" in passed.stdout
    # A witness that never saw this log: its cosignature is required and missing.
    stranger = witness_factory("law-firm.example/witness")
    three = ["--witness", notary.vkey, "--witness", creditor.vkey, "--witness", stranger.vkey]
    failed = verify(witnessed, *three)
    assert failed.returncode == 1
    assert "no cosignature by witness law-firm.example/witness" in failed.stdout
    # Two of the three are enough when the reader says so.
    two_of_three = verify(witnessed, *three, "--witnesses-required", "2")
    assert "cosigned by 2 of 3 witnesses" in two_of_three.stdout
    # Without --witness the lines are named, not trusted.
    plain = verify(witnessed)
    assert plain.returncode == 0
    assert "2 witness cosignature(s)" in plain.stdout and "give --witness" in plain.stdout


def test_a_cosignature_cut_or_forged_by_us_fails(
    witnessed: Path, both: list[RunningWitness]
) -> None:
    """We hold the log key, not the witnesses': dropping one witness's line, or writing one
    of our own under its name, and re-signing SHA256SUMS does not pass."""
    notary, creditor = both
    note = witnessed / "checkpoint.txt"
    text = note.read_text()
    creditor_line = next(line for line in text.splitlines() if creditor.name in line)
    note.write_text(text.replace(creditor_line + "\n", ""))
    resign(witnessed)
    args = ("--witness", notary.vkey, "--witness", creditor.vkey)
    cut = verify(witnessed, *args)
    assert cut.returncode == 1
    assert f"no cosignature by witness {creditor.name}" in cut.stdout
    assert verify(witnessed, *args, "--witnesses-required", "1").returncode == 0
    # A line under the creditor's name and key ID, signed by a key that is not the creditor's.
    name, blob = creditor_line.split(" ")[1:]
    raw = bytearray(base64.b64decode(blob))
    raw[-1] ^= 1
    forged = f"\u2014 {name} {base64.b64encode(bytes(raw)).decode()}"
    note.write_text(note.read_text() + forged + "\n")
    resign(witnessed)
    bad = verify(witnessed, *args)
    assert bad.returncode == 1
    assert f"witness {creditor.name}'s cosignature does not verify" in bad.stdout


def test_witness_keys_are_read_strictly(witnessed: Path, both: list[RunningWitness]) -> None:
    notary, _ = both
    name, key_hash, material = notary.vkey.split("+", 2)
    wrong_id = f"{name}+{'0' * 8}+{material}"
    for key, said in (
        (wrong_id, "its key ID does not match"),
        ("not-a-key", "a witness key is name+keyid+base64"),
        (f"{name}+{key_hash}+{material[:-4]}AAAA", "its key ID does not match"),
    ):
        run = verify(witnessed, "--witness", key)
        assert run.returncode == 1 and said in run.stdout, run.stdout
    too_many = verify(witnessed, "--witness", notary.vkey, "--witnesses-required", "2")
    assert too_many.returncode == 1
