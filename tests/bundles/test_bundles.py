"""Evidence bundles, checked the way an outsider would: unzip, then ``sha256sum -c``,
``openssl pkeyutl -verify`` and ``python3 verify.py`` in a clean environment; then one byte
flipped in an evidence file, in a ledger entry, in the checkpoint: each is caught."""

from __future__ import annotations

import base64
import hashlib
import io
import json
import os
import shutil
import subprocess
import sys
import zipfile
from pathlib import Path
from typing import Any

import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

from fieldvisit.models import EvidenceAccess, LedgerEntry
from tests.bundles.pins import pinned
from tests.helpers import assert_problem, download, unzip

pytestmark = pytest.mark.django_db(transaction=True)

CLEAN_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}


def run(args: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(args, cwd=cwd, env=CLEAN_ENV, capture_output=True, text=True, timeout=60)


def openssl_verify(root: Path) -> subprocess.CompletedProcess[str]:
    return run(
        ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "public_key.pem", "-rawin",
         "-in", "checkpoint.json", "-sigfile", "checkpoint.sig"],
        root,
    )  # fmt: skip


def verify_py(
    root: Path, *args: str, python: str = sys.executable
) -> subprocess.CompletedProcess[str]:
    """verify.py as a court's expert runs it: the company's key pinned from outside."""
    return run([python, "verify.py", *pinned(*args)], root)


@pytest.fixture
def bundle(world: Any, evidenced_visit: Any, tmp_path: Path) -> Path:
    legal = world.client(world.legal, "desk")
    return unzip(download(legal, f"/api/v1/visits/{evidenced_visit.pk}/bundle/"), tmp_path)


def test_a_visit_bundle_holds_what_api_md_lists(bundle: Path, evidenced_visit: Any) -> None:
    names = {p.relative_to(bundle).as_posix() for p in bundle.rglob("*") if p.is_file()}
    assert {
        "README.txt",
        "manifest.json",
        "SHA256SUMS",
        "checkpoint.json",
        "checkpoint.sig",
        "public_key.pem",
        "ledger/entries.jsonl",
        "report.html",
        "verify.py",
    } <= names
    manifest = json.loads((bundle / "manifest.json").read_text())
    kinds = sorted(item["record"]["type"] for item in manifest["items"])
    assert kinds == ["audio_segment"] * 3 + ["photo", "receipt"]
    for item in manifest["items"]:
        data = (bundle / item["path"]).read_bytes()
        assert len(data) == item["size"]
        assert item["path"].startswith("evidence/")
        assert {"captured_at", "received_at", "ledger_entry", "sha256"} <= set(item)
    assert len((bundle / "checkpoint.sig").read_bytes()) == 64


def test_standard_tools_verify_the_bundle(bundle: Path) -> None:
    sums = run(["sha256sum", "-c", "SHA256SUMS"], bundle)
    assert sums.returncode == 0, sums.stdout + sums.stderr
    assert sums.stdout.count(": OK") == len((bundle / "SHA256SUMS").read_text().splitlines())
    signature = openssl_verify(bundle)
    assert signature.returncode == 0, signature.stderr
    assert "Signature Verified Successfully" in signature.stdout
    sums = run(
        ["openssl", "pkeyutl", "-verify", "-pubin", "-inkey", "public_key.pem", "-rawin",
         "-in", "SHA256SUMS", "-sigfile", "SHA256SUMS.sig"],
        bundle,
    )  # fmt: skip
    assert sums.returncode == 0, sums.stderr
    verified = verify_py(bundle)
    assert verified.returncode == 0, verified.stdout
    assert "checkpoint.sig verified" in verified.stdout
    assert "SHA256SUMS.sig verified" in verified.stdout
    assert verified.stdout.strip().endswith("ALL CHECKS PASSED")


def test_verify_py_without_cryptography_says_the_signature_was_not_checked(
    bundle: Path, tmp_path: Path
) -> None:
    python = shutil.which("python3", path="/usr/bin:/bin")
    probe = run([python, "-c", "import cryptography"], bundle) if python else None
    if python is None or probe.returncode == 0:
        # Make a Python without it: isolated mode with an empty site directory.
        python = sys.executable
        result = run([python, "-I", "-S", "verify.py", *pinned()], bundle)
    else:
        result = verify_py(bundle, python=python)
    assert result.returncode == 2, result.stdout
    assert "checkpoint.sig NOT checked" in result.stdout
    assert "openssl pkeyutl -verify" in result.stdout
    assert "INCOMPLETE" in result.stdout


def flip(path: Path, offset: int) -> None:
    data = bytearray(path.read_bytes())
    data[offset] ^= 0x01
    path.write_bytes(bytes(data))


def test_one_flipped_byte_in_an_evidence_file_is_caught(bundle: Path) -> None:
    manifest = json.loads((bundle / "manifest.json").read_text())
    photo = next(i for i in manifest["items"] if i["record"]["type"] == "photo")
    flip(bundle / photo["path"], 200)
    sums = run(["sha256sum", "-c", "SHA256SUMS"], bundle)
    assert sums.returncode != 0
    assert f"{photo['path']}: FAILED" in sums.stdout
    verified = verify_py(bundle)
    assert verified.returncode == 1
    assert f"file changed (SHA-256 differs): {photo['path']}" in verified.stdout


def test_one_flipped_byte_in_a_ledger_entry_is_caught_by_its_proof(bundle: Path) -> None:
    """Even with SHA256SUMS rewritten to match, the entry no longer proves into the root."""
    path = bundle / "ledger" / "entries.jsonl"
    lines = path.read_bytes().splitlines()
    entry = json.loads(lines[0])
    raw = bytearray(base64.b64decode(entry["entry_b64"]))
    raw[raw.index(b'"kind"') + 9] ^= 0x01
    entry["entry_b64"] = base64.b64encode(bytes(raw)).decode()
    entry.pop("entry")
    lines[0] = json.dumps(entry).encode()
    path.write_bytes(b"\n".join(lines) + b"\n")
    rewrite_sums(bundle)
    verified = verify_py(bundle)
    assert verified.returncode == 1
    assert f"ledger entry {entry['index']}: leaf hash does not match its bytes" in verified.stdout


def test_a_forged_leaf_hash_does_not_prove_into_the_root(bundle: Path) -> None:
    path = bundle / "ledger" / "entries.jsonl"
    lines = path.read_bytes().splitlines()
    entry = json.loads(lines[-1])
    raw = bytearray(base64.b64decode(entry["entry_b64"]))
    raw[-3] ^= 0x01
    entry["entry_b64"] = base64.b64encode(bytes(raw)).decode()
    entry["leaf_hash"] = hashlib.sha256(b"\x00" + bytes(raw)).hexdigest()
    entry.pop("entry")
    lines[-1] = json.dumps(entry).encode()
    path.write_bytes(b"\n".join(lines) + b"\n")
    rewrite_sums(bundle)
    verified = verify_py(bundle)
    assert verified.returncode == 1
    assert "inclusion proof does not lead to the checkpoint's root" in verified.stdout


def test_one_flipped_byte_in_the_checkpoint_is_caught(bundle: Path) -> None:
    flip(bundle / "checkpoint.json", 20)
    rewrite_sums(bundle)
    assert openssl_verify(bundle).returncode != 0
    verified = verify_py(bundle)
    assert verified.returncode == 1
    assert "FAIL" in verified.stdout


def rewrite_sums(root: Path, drop: str = "") -> None:
    """What a forger would do: make SHA256SUMS match the altered files."""
    lines = []
    for line in (root / "SHA256SUMS").read_text().splitlines():
        _, name = line.split("  ", 1)
        if name != drop:
            lines.append(f"{hashlib.sha256((root / name).read_bytes()).hexdigest()}  {name}")
    (root / "SHA256SUMS").write_text("\n".join(lines) + "\n")


def test_the_same_evidence_gives_the_same_bytes(world: Any, evidenced_visit: Any) -> None:
    legal = world.client(world.legal, "desk")
    url = f"/api/v1/visits/{evidenced_visit.pk}/bundle/"
    first = download(legal, url)
    from fieldvisit.ledger.checkpoints import make_checkpoint

    make_checkpoint()  # a newer checkpoint exists now; the bundle still cites the first
    second = download(legal, url)
    assert first == second
    downloads = LedgerEntry.objects.filter(kind="bundle.downloaded")
    assert downloads.count() == 2
    assert downloads.first().subject == f"bundle:visit:{evidenced_visit.pk}"


def test_media_is_stored_uncompressed(world: Any, evidenced_visit: Any) -> None:
    legal = world.client(world.legal, "desk")
    content = download(legal, f"/api/v1/visits/{evidenced_visit.pk}/bundle/")
    with zipfile.ZipFile(io.BytesIO(content)) as archive:
        evidence = [i for i in archive.infolist() if "/evidence/" in i.filename]
        assert evidence
        assert {i.compress_type for i in evidence} == {zipfile.ZIP_STORED}
        assert {i.date_time for i in archive.infolist()} == {archive.infolist()[0].date_time}


def test_a_case_bundle_verifies_too(world: Any, evidenced_visit: Any, tmp_path: Path) -> None:
    legal = world.client(world.legal, "desk")
    case = evidenced_visit.stop.case
    root = unzip(download(legal, f"/api/v1/cases/{case.pk}/bundle/"), tmp_path)
    verified = verify_py(root)
    assert verified.returncode == 0, verified.stdout
    assert root.name == f"case-{case.number}"


def test_bundles_are_for_legal_users_only(world: Any, evidenced_visit: Any) -> None:
    for user, device in ((world.agent_a, "phone-a"), (world.supervisor, "desk")):
        response = world.client(user, device).get(f"/api/v1/visits/{evidenced_visit.pk}/bundle/")
        assert_problem(response, 403, "permission_denied")


def test_reads_by_legal_are_logged(world: Any, evidenced_visit: Any) -> None:
    legal = world.client(world.legal, "desk")
    case = evidenced_visit.stop.case
    assert legal.get(f"/api/v1/cases/{case.pk}/evidence/").status_code == 200
    download(legal, f"/api/v1/visits/{evidenced_visit.pk}/bundle/")
    log = list(EvidenceAccess.objects.filter(user=world.legal).order_by("at", "id"))
    assert [(a.action, a.subject, a.via) for a in log] == [
        ("case_evidence", f"case:{case.pk}", "api"),
        ("bundle", f"visit:{evidenced_visit.pk}", "api"),
    ]
    supervisor = world.client(world.supervisor, "desk")
    assert supervisor.get(f"/api/v1/visits/{evidenced_visit.pk}/").status_code == 200
    (read,) = EvidenceAccess.objects.filter(user=world.supervisor)
    assert (read.action, read.subject) == ("visit", f"visit:{evidenced_visit.pk}")
    # An agent reading their own visit is the work itself, not oversight.
    world.client(world.agent_a, "phone-a").get(f"/api/v1/visits/{evidenced_visit.pk}/")
    assert not EvidenceAccess.objects.filter(user=world.agent_a).exists()


def test_case_search_and_evidence_timeline(world: Any, evidenced_visit: Any) -> None:
    legal = world.client(world.legal, "desk")
    case = evidenced_visit.stop.case
    found = legal.get("/api/v1/cases/", {"q": case.number}).json()
    assert [c["id"] for c in found["results"]] == [str(case.pk)]
    assert found["results"][0]["debtor_id_number"] == case.debtor_id_number
    assert legal.get("/api/v1/cases/", {"q": case.debtor_id_number.lower()}).json()["count"] == 1
    timeline = legal.get(f"/api/v1/cases/{case.pk}/evidence/").json()
    (visit,) = timeline["visits"]
    assert visit["id"] == str(evidenced_visit.pk)
    assert len(visit["photos"]) == 1 and len(visit["receipts"]) == 1
    assert visit["recording"]["continuous"] is True
    agent = world.client(world.agent_a, "phone-a")
    assert_problem(agent.get("/api/v1/cases/"), 403, "permission_denied")


def test_report_html_shows_the_timeline(bundle: Path) -> None:
    html = (bundle / "report.html").read_text()
    assert "Compliance verdict" in html
    assert "thumbnails/" in html and "<img" in html
    assert "Zhang San" in html
    assert "http://" not in html and "https://" not in html  # opens offline


@pytest.mark.skipif(not shutil.which("chromium"), reason="Debian's chromium is not installed")
def test_report_html_renders_in_headless_chromium(bundle: Path, tmp_path: Path) -> None:
    shot = tmp_path / "report.png"
    result = subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--disable-quic",
         "--no-first-run", "--disable-background-networking", "--disable-component-update",
         "--disable-sync", f"--user-data-dir={tmp_path / 'profile'}",
         "--virtual-time-budget=3000", "--dump-dom", (bundle / "report.html").as_uri()],
        capture_output=True, text=True, timeout=90,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-2000:]
    dom = result.stdout
    assert "Compliance verdict" in dom
    assert dom.count('<img src="thumbnails/') >= 2
    images_loaded = subprocess.run(
        ["chromium", "--headless", "--no-sandbox", "--disable-gpu", "--no-first-run",
         "--disable-background-networking", f"--user-data-dir={tmp_path / 'profile2'}",
         f"--screenshot={shot}", "--window-size=1200,2000", (bundle / "report.html").as_uri()],
        capture_output=True, text=True, timeout=90,
    )  # fmt: skip
    assert images_loaded.returncode == 0, images_loaded.stderr[-2000:]
    assert shot.stat().st_size > 10_000
    os.remove(shot)


def test_a_fully_evidenced_visit_is_compliant_and_its_report_says_so(
    world: Any, evidenced_visit: Any, bundle: Path
) -> None:
    shown = world.client(world.agent_a, "phone-a").get(f"/api/v1/visits/{evidenced_visit.pk}/")
    compliance = shown.json()["compliance"]
    assert {name: c["ok"] for name, c in compliance["checks"].items() if not c["ok"]} == {}
    assert compliance["ok"] is True
    assert shown.json()["status"] == "reported"
    html = (bundle / "report.html").read_text()
    assert "all checks passed" in html
    assert "Co-signed by agent_b" in html
    entries = [
        json.loads(line) for line in (bundle / "ledger/entries.jsonl").read_text().splitlines()
    ]
    kinds = {e["entry"]["kind"] for e in entries}
    assert {"report.filed", "report.cosigned", "photo.added", "receipt.recorded",
            "recording.segment_added", "visit.opened", "visit.closed"} <= kinds  # fmt: skip


def test_a_dropped_segment_is_caught_even_with_every_list_rewritten(bundle: Path) -> None:
    """A forger removes a recording segment: its file, its manifest item, its ledger line
    and its SHA256SUMS line. The signed SHA256SUMS no longer matches."""
    manifest = json.loads((bundle / "manifest.json").read_text())
    segment = next(i for i in manifest["items"] if i["record"]["type"] == "audio_segment")
    (bundle / segment["path"]).unlink()
    manifest["items"].remove(segment)
    (bundle / "manifest.json").write_text(json.dumps(manifest))
    path = bundle / "ledger" / "entries.jsonl"
    lines = [
        line for line in path.read_text().splitlines()
        if json.loads(line)["index"] != segment["ledger_entry"]
    ]  # fmt: skip
    path.write_text("\n".join(lines) + "\n")
    rewrite_sums(bundle, drop=segment["path"])
    verified = verify_py(bundle)
    assert verified.returncode == 1
    assert "SHA256SUMS.sig is not a valid signature of SHA256SUMS" in verified.stdout


def test_an_added_file_is_caught(bundle: Path) -> None:
    extra = bundle / "__pycache__" / "notes.txt"
    extra.parent.mkdir()
    extra.write_text("planted")
    verified = verify_py(bundle)
    assert verified.returncode == 1
    assert "file not listed in SHA256SUMS: __pycache__/notes.txt" in verified.stdout


def test_a_rewritten_report_html_is_caught(bundle: Path) -> None:
    report = bundle / "report.html"
    report.write_text(report.read_text().replace("Zhang San", "Li Si"))
    rewrite_sums(bundle)
    verified = verify_py(bundle)
    assert verified.returncode == 1
    assert "SHA256SUMS.sig is not a valid signature" in verified.stdout


def test_without_a_pinned_key_a_sound_bundle_is_only_unpinned(bundle: Path) -> None:
    verified = run([sys.executable, "verify.py"], bundle)
    assert verified.returncode == 3, verified.stdout
    assert "UNPINNED" in verified.stdout and "ALL CHECKS PASSED" not in verified.stdout


def test_the_key_is_pinned_by_fingerprint_or_verifier_key_and_another_fails(
    bundle: Path, anon: Any
) -> None:
    (published,) = anon.get("/api/v1/ledger/keys/").json()
    for pin in (published["fingerprint"], published["note_verifier_key"]):
        verified = run([sys.executable, "verify.py", "--key", pin], bundle)
        assert verified.returncode == 0, verified.stdout
        assert verified.stdout.strip().endswith("ALL CHECKS PASSED")
    # openssl's fingerprint of the PEM (DER SubjectPublicKeyInfo) is accepted too.
    spki = subprocess.run(
        ["openssl", "pkey", "-pubin", "-in", "public_key.pem", "-outform", "DER"],
        cwd=bundle,
        capture_output=True,
        check=True,
    ).stdout
    verified = run([sys.executable, "verify.py", "--key", hashlib.sha256(spki).hexdigest()], bundle)
    assert verified.returncode == 0, verified.stdout
    other = hashlib.sha256(b"another company's key").hexdigest()
    verified = run([sys.executable, "verify.py", "--key", other], bundle)
    assert verified.returncode == 1
    assert "not signed by the key you trust" in verified.stdout
    bad = run([sys.executable, "verify.py", "--key", "not-a-key"], bundle)
    assert bad.returncode == 1 and "neither a SHA-256 fingerprint" in bad.stdout


def test_a_bundle_re_signed_with_another_key_fails_when_pinned(bundle: Path) -> None:
    """A forger's own key in public_key.pem and SHA256SUMS.key.pem: self-consistent, and
    UNPINNED without a pin; with the company's key pinned, refused."""
    forger = Ed25519PrivateKey.generate()
    pem = forger.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    (bundle / "SHA256SUMS.key.pem").write_bytes(pem)
    sums_lines = (bundle / "SHA256SUMS").read_text().splitlines()
    sums_lines.append(f"{hashlib.sha256(pem).hexdigest()}  SHA256SUMS.key.pem")
    sums = ("\n".join(sorted(sums_lines, key=lambda x: x.split("  ", 1)[1])) + "\n").encode()
    (bundle / "SHA256SUMS").write_bytes(sums)
    (bundle / "SHA256SUMS.sig").write_bytes(forger.sign(sums))
    alone = run([sys.executable, "verify.py"], bundle)
    assert alone.returncode == 3, alone.stdout
    verified = verify_py(bundle)
    assert verified.returncode == 1
    assert "the SHA256SUMS signing key (SHA256SUMS.key.pem) is key" in verified.stdout


def test_a_relative_path_to_a_bundle_verifies(bundle: Path) -> None:
    verified = run(
        [sys.executable, str(bundle / "verify.py"), *pinned(), bundle.name], bundle.parent
    )
    assert verified.returncode == 0, verified.stdout


def test_a_bundle_carries_no_other_debtors_addresses(
    world: Any, evidenced_visit: Any, bundle: Path
) -> None:
    others = [s for s in evidenced_visit.stop.route.stops.all() if s.pk != evidenced_visit.stop_id]
    assert others
    text = (bundle / "ledger" / "entries.jsonl").read_text() + (bundle / "report.html").read_text()
    for stop in others:
        assert str(stop.case_id) not in text
        assert stop.address.text not in text
