"""A bundle proves each visit complete: what the holder of the ledger key could do before
(drop a photo, the last audio segment or a middle one, and re-sign SHA256SUMS) now fails
``verify.py`` naming what is missing. And the keys: a rotation signed by the old key lets one
pinned key vouch for the next; a key that hands over twice is caught."""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import importlib.util
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fieldvisit.ledger import keys
from fieldvisit.ledger.checkpoints import make_checkpoint
from fieldvisit.models import LedgerEntry
from tests.bundles.forge import resign
from tests.bundles.pins import pinned
from tests.helpers import download, unzip

pytestmark = pytest.mark.django_db(transaction=True)

VERIFY = Path(__file__).resolve().parents[2] / "fieldvisit" / "bundles" / "verify.py"


def run(root: Path, *args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "verify.py", *args], cwd=root, capture_output=True, text=True, timeout=60
    )


@pytest.fixture
def bundle(world: Any, evidenced_visit: Any, tmp_path: Path) -> Path:
    legal = world.client(world.legal, "desk")
    return unzip(download(legal, f"/api/v1/visits/{evidenced_visit.pk}/bundle/"), tmp_path)


def entries(root: Path) -> list[dict[str, Any]]:
    lines = (root / "ledger" / "entries.jsonl").read_text().splitlines()
    return [json.loads(line) for line in lines]


def content(item: dict[str, Any]) -> dict[str, Any]:
    return json.loads(base64.b64decode(item["entry_b64"]))


def drop_entries(root: Path, indexes: set[int]) -> None:
    """Leave entries out as a dishonest key holder would: their lines, proof files, the
    evidence they record and its manifest items; then SHA256SUMS re-signed with our key."""
    kept = [item for item in entries(root) if item["index"] not in indexes]
    (root / "ledger" / "entries.jsonl").write_text(
        "".join(json.dumps(item) + "\n" for item in kept)
    )
    for index in indexes:
        (root / "ledger" / "proofs" / f"{index}.tlog-proof").unlink()
    manifest = json.loads((root / "manifest.json").read_text())
    for item in [i for i in manifest["items"] if i["ledger_entry"] in indexes]:
        (root / item["path"]).unlink()
        manifest["items"].remove(item)
    (root / "manifest.json").write_text(json.dumps(manifest, indent=2))
    resign(root)


def chain(root: Path) -> list[dict[str, Any]]:
    return sorted(
        (content(item) for item in entries(root) if "chain" in content(item)),
        key=lambda e: e["chain"]["seq"],
    )


def test_a_sealed_visit_bundle_shows_its_chain_whole(bundle: Path) -> None:
    links = chain(bundle)
    assert [e["chain"]["seq"] for e in links] == list(range(1, len(links) + 1))
    assert links[-1]["kind"] == "visit.sealed"
    kinds = {e["kind"] for e in links}
    assert {"checkin.arrive", "visit.opened", "photo.added", "receipt.recorded"} <= kinds
    assert {"recording.segment_added", "visit.closed", "report.filed"} <= kinds
    seal = links[-1]["data"]
    assert seal["entries"] == len(links) - 1
    (segments,) = seal["segments"]
    assert segments["count"] == 3 and segments["last"] == 2
    verified = run(bundle, *pinned())
    assert verified.returncode == 0, verified.stdout
    assert "1 visit(s) complete" in verified.stdout


def test_a_photo_left_out_is_caught(bundle: Path) -> None:
    (photo,) = [e for e in chain(bundle) if e["kind"] == "photo.added"]
    drop_entries(bundle, {photo["index"]})
    verified = run(bundle, *pinned())
    assert verified.returncode == 1, verified.stdout
    assert f"entry number {photo['chain']['seq']} of its chain is missing" in verified.stdout


@pytest.mark.parametrize("which", ["last", "middle"])
def test_an_audio_segment_left_out_is_caught(bundle: Path, which: str) -> None:
    segments = [e for e in chain(bundle) if e["kind"] == "recording.segment_added"]
    gone = segments[-1] if which == "last" else segments[1]
    drop_entries(bundle, {gone["index"]})
    verified = run(bundle, *pinned())
    assert verified.returncode == 1, verified.stdout
    assert f"entry number {gone['chain']['seq']} of its chain is missing" in verified.stdout


def test_a_chain_cut_short_before_its_seal_is_caught(bundle: Path) -> None:
    links = chain(bundle)
    first_seal = next(e for e in links if e["kind"] == "visit.sealed")
    drop_entries(
        bundle, {e["index"] for e in links if e["chain"]["seq"] >= first_seal["chain"]["seq"]}
    )
    verified = run(bundle, *pinned())
    assert verified.returncode == 1, verified.stdout
    assert "it was closed, but its seal (visit.sealed) is missing" in verified.stdout


def test_a_visit_still_open_is_genuine_but_not_shown_complete(world: Any, tmp_path: Path) -> None:
    from tests.helpers import arrive_pair, stops_of

    stop = stops_of(world.route)[0]
    arrive_pair(world, stop)
    legal = world.client(world.legal, "desk")
    root = unzip(download(legal, f"/api/v1/visits/{stop.visit.pk}/bundle/"), tmp_path)
    verified = run(root, *pinned())
    assert verified.returncode == 2, verified.stdout
    assert "was still open at the checkpoint" in verified.stdout
    assert "INCOMPLETE" in verified.stdout and "FAIL" not in verified.stdout


def load_verifier() -> Any:
    spec = importlib.util.spec_from_file_location("bundle_verify", VERIFY)
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def segment(recording: str, index: int, data: bytes, prev: str) -> dict[str, Any]:
    sha = hashlib.sha256(data).hexdigest()
    return {
        "kind": "recording.segment_added",
        "data": {
            "recording": recording,
            "segment": index,
            "file": {"sha256": sha},
            "prev_sha256": prev,
        },
    }


def test_the_segment_chain_rules() -> None:
    verify = load_verifier()
    a, b, c = (segment("r", i, bytes([i]), "") for i in range(3))
    b["data"]["prev_sha256"] = a["data"]["file"]["sha256"]
    c["data"]["prev_sha256"] = b["data"]["file"]["sha256"]
    sealed = [{"recording": "r", "count": 3, "last": 2, "last_sha256": c["data"]["file"]["sha256"]}]
    assert verify.segment_chain_problems([c, a, b], sealed) == []
    # A gap in the numbers, whatever the seal says.
    problems = verify.segment_chain_problems([a, c], sealed)
    assert "recording r: segment 1 is missing" in problems
    # A segment that does not name its predecessor.
    c["data"]["prev_sha256"] = a["data"]["file"]["sha256"]
    assert any(
        "does not name the SHA-256" in p for p in verify.segment_chain_problems([a, b, c], sealed)
    )
    # The seal commits to more segments than the bundle holds.
    c["data"]["prev_sha256"] = b["data"]["file"]["sha256"]
    assert verify.segment_chain_problems([a, b], sealed) == [
        "its recordings are not the ones its seal commits to (a segment is missing or added)"
    ]


def test_a_rotated_key_is_vouched_for_by_the_old_one(
    world: Any, evidenced_visit: Any, tmp_path: Path
) -> None:
    legal = world.client(world.legal, "desk")
    old_pin = pinned()[1]
    old_record, _ = keys.current_signing_key()
    make_checkpoint()  # the old key signs the tree head that covers the visit
    new_record = keys.rotate()  # the bundle cites the old key's checkpoint, signs with the new
    (entry,) = LedgerEntry.objects.filter(kind=keys.ROTATED)
    data = json.loads(bytes(entry.entry_bytes))["data"]
    assert (data["old_key_id"], data["new_key_id"]) == (old_record.key_id, new_record.key_id)
    assert keys.rotation_problems() == []
    root = unzip(download(legal, f"/api/v1/visits/{evidenced_visit.pk}/bundle/"), tmp_path)
    assert (root / "SHA256SUMS.key.pem").exists() and (root / "keys.jsonl").exists()
    for pin in (old_pin, keys.fingerprint(bytes(new_record.public_key))):
        verified = run(root, "--key", pin)
        assert verified.returncode == 0, verified.stdout
        assert f"key {new_record.key_id} took over from {old_record.key_id}" in verified.stdout
    # Without keys.jsonl, pinning the old key no longer covers the new one.
    (root / "keys.jsonl").unlink()
    resign(root)
    verified = run(root, "--key", old_pin)
    assert verified.returncode == 1
    assert "the SHA256SUMS signing key (SHA256SUMS.key.pem) is key" in verified.stdout


def test_a_key_that_hands_over_twice_is_caught(
    world: Any, evidenced_visit: Any, tmp_path: Path
) -> None:
    """Whoever stole a retired key could sign a hand-over to a key of their own."""
    legal = world.client(world.legal, "desk")
    old = keys.private_key()
    old_raw = keys.public_raw(old)
    keys.rotate()
    root = unzip(download(legal, f"/api/v1/visits/{evidenced_visit.pk}/bundle/"), tmp_path)
    thief = Ed25519PrivateKey.generate()
    statement = {
        "type": keys.ROTATION,
        "old_key": old_raw.hex(),
        "new_key": keys.public_raw(thief).hex(),
        "at": "2026-11-24T02:00:00Z",
    }
    raw = keys.rotation_statement(statement)
    line = {"statement_b64": base64.b64encode(raw).decode(), "signature": old.sign(raw).hex()}
    with (root / "keys.jsonl").open("a") as f:
        f.write(json.dumps(line) + "\n")
    resign(root)
    verified = run(root, "--key", keys.fingerprint(old_raw))
    assert verified.returncode == 1
    assert f"key {keys.key_id_for(old_raw)} hands over twice" in verified.stdout


def test_a_checkpoint_dated_after_its_key_was_retired_is_refused(
    world: Any, evidenced_visit: Any, tmp_path: Path
) -> None:
    legal = world.client(world.legal, "desk")
    old = keys.private_key()
    pin = keys.fingerprint(keys.public_raw(old))
    make_checkpoint()
    keys.rotate()
    root = unzip(download(legal, f"/api/v1/visits/{evidenced_visit.pk}/bundle/"), tmp_path)
    # The retired key signs the same tree head again, dated a month after its retirement.
    checkpoint = json.loads((root / "checkpoint.json").read_bytes())
    checkpoint["timestamp"] = "2027-01-01T00:00:00Z"
    signed = json.dumps(checkpoint, sort_keys=True, separators=(",", ":")).encode()
    (root / "checkpoint.json").write_bytes(signed)
    (root / "checkpoint.sig").write_bytes(old.sign(signed))
    resign(root)
    verified = run(root, "--key", pin)
    assert verified.returncode == 1
    assert "but its key" in verified.stdout and "was retired at" in verified.stdout


def test_a_manifest_time_rewritten_and_re_signed_is_caught(bundle: Path) -> None:
    manifest = json.loads((bundle / "manifest.json").read_text())
    photo = next(i for i in manifest["items"] if i["record"]["type"] == "photo")
    photo["captured_at"] = "2026-11-23T23:59:00Z"  # the day before: outside visiting hours
    (bundle / "manifest.json").write_text(json.dumps(manifest, indent=2))
    resign(bundle)
    verified = run(bundle, *pinned())
    assert verified.returncode == 1, verified.stdout
    assert (
        f"manifest item {photo['path']}: captured_at not as its ledger entry "
        f"{photo['ledger_entry']} says" in verified.stdout
    )


def test_a_visit_left_out_of_the_manifest_is_still_judged(bundle: Path) -> None:
    (photo,) = [e for e in chain(bundle) if e["kind"] == "photo.added"]
    drop_entries(bundle, {photo["index"]})
    manifest = json.loads((bundle / "manifest.json").read_text())
    (visit,) = manifest["bundle"]["visits"]
    manifest["bundle"]["visits"] = []
    (bundle / "manifest.json").write_text(json.dumps(manifest, indent=2))
    resign(bundle)
    verified = run(bundle, *pinned())
    assert verified.returncode == 1, verified.stdout
    assert f"about visit {visit}, which manifest.json does not list" in verified.stdout
    assert f"entry number {photo['chain']['seq']} of its chain is missing" in verified.stdout


def test_a_forged_hand_over_to_the_companys_key_vouches_for_nothing(bundle: Path) -> None:
    """A forger signs "my key handed over to the company's" with their own key, and signs the
    bundle with it: pinned to the company's key, it fails (the company's key signed nothing)."""
    company = keys.public_raw(keys.private_key())
    forger = Ed25519PrivateKey.generate()
    forged = keys.public_raw(forger)
    statement = keys.rotation_statement(
        {
            "type": keys.ROTATION,
            "old_key": forged.hex(),
            "new_key": company.hex(),
            "at": "2026-11-24T02:00:00Z",
        }
    )
    line = {
        "statement_b64": base64.b64encode(statement).decode(),
        "signature": forger.sign(statement).hex(),
        "new_signature": "",
    }
    (bundle / "keys.jsonl").write_text(json.dumps(line) + "\n")
    pem = keys.public_pem(forged).encode()
    (bundle / "SHA256SUMS.key.pem").write_bytes(pem)
    names = sorted(
        p.relative_to(bundle).as_posix()
        for p in bundle.rglob("*")
        if p.is_file() and p.name not in ("SHA256SUMS", "SHA256SUMS.sig")
    )
    sums = "".join(f"{hashlib.sha256((bundle / n).read_bytes()).hexdigest()}  {n}\n" for n in names)
    (bundle / "SHA256SUMS").write_text(sums)
    (bundle / "SHA256SUMS.sig").write_bytes(forger.sign(sums.encode()))
    verified = run(bundle, *pinned())
    assert verified.returncode == 1, verified.stdout
    assert "the SHA256SUMS signing key (SHA256SUMS.key.pem) is key" in verified.stdout


def test_a_key_pinned_with_its_retirement_covers_only_what_it_signed_before(
    bundle: Path,
) -> None:
    """A court that filed the old key with the date the company retired it (as the key list
    at /api/v1/ledger/keys/ gives it) needs no keys.jsonl to refuse a checkpoint that key
    signed afterwards: a bundle leaving out the hand-over proves nothing more."""
    checkpoint = json.loads((bundle / "checkpoint.json").read_text())
    signed_at = dt.datetime.fromisoformat(checkpoint["timestamp"].replace("Z", "+00:00"))
    pin = pinned()[1]
    before = (signed_at - dt.timedelta(seconds=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    after = (signed_at + dt.timedelta(hours=1)).strftime("%Y-%m-%dT%H:%M:%SZ")
    refused = run(bundle, "--key", f"{pin}@{before}")
    assert refused.returncode == 1
    assert f"was retired at {before}" in refused.stdout
    assert run(bundle, "--key", f"{pin}@{after}").returncode == 0
    unzoned = run(bundle, "--key", f"{pin}@2026-01-01T00:00:00")
    assert unzoned.returncode == 1 and "with its zone" in unzoned.stdout


def test_an_entry_dated_after_its_checkpoint_is_caught(bundle: Path) -> None:
    """A checkpoint that says it was signed before an entry it includes was appended is
    back-dated: the entries' own times give it away."""
    verify = load_verifier()
    _signed, checkpoint = verify.load_checkpoint(str(bundle), verify.Report())
    assert verify.check_entries(str(bundle), checkpoint, verify.Report()) != {}
    checkpoint["timestamp"] = "2000-01-01T00:00:00.000000Z"
    report = verify.Report()
    verify.check_entries(str(bundle), checkpoint, report)
    assert report.failures and all(
        "after the checkpoint that includes it" in failure for failure in report.failures
    )


def test_a_visit_recorded_before_chains_is_genuine_but_not_shown_complete(
    tmp_path: Path,
) -> None:
    """Entries about a visit written before entries carried their visit's chain (migration
    0023) cannot show that none is missing: INCOMPLETE, not a failure."""
    verify = load_verifier()
    (tmp_path / "manifest.json").write_text(json.dumps({"bundle": {"visits": ["v-1"]}}))
    old = {"index": 3, "kind": "checkin.arrive", "subject": "visit:v-1", "data": {}}
    report = verify.Report()
    assert verify.check_chains(str(tmp_path), {3: old}, {3: b"\0" * 32}, report) is False
    assert report.failures == []
    assert "recorded before visits were chained" in report.notes[0]
