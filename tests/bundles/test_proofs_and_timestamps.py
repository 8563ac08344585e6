"""Bundles with RFC 3161 time-stamps, C2SP tlog-proof files and consistency across bundles:
checked with ``openssl ts -verify`` and ``verify.py`` as an outsider would; a tampered token,
the wrong authority certificate, a tampered proof file and a forked history each caught."""

from __future__ import annotations

import base64
import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from django.db import transaction

from fieldvisit import jobs
from fieldvisit.ledger import merkle, store, timestamps
from fieldvisit.ledger.checkpoints import first_checkpoint_covering
from fieldvisit.models import LedgerEntry
from tests.bundles.forge import fork, resign
from tests.bundles.pins import pinned
from tests.helpers import assert_problem, download, unzip
from tests.tsa import Authority

pytestmark = pytest.mark.django_db(transaction=True)

CLEAN_ENV = {"PATH": "/usr/bin:/bin", "LANG": "C.UTF-8"}


def run(args: list[str], cwd: Path, env: dict[str, str] | None = None) -> Any:
    return subprocess.run(
        args, cwd=cwd, env=env or CLEAN_ENV, capture_output=True, text=True, timeout=120
    )


def verify_py(root: Path, *args: str, env: dict[str, str] | None = None) -> Any:
    """verify.py as a court's expert runs it: the company's key pinned from outside."""
    return run([sys.executable, "verify.py", *pinned(*args)], root, env)


def visit_url(visit: Any, query: str = "") -> str:
    return f"/api/v1/visits/{visit.pk}/bundle/{query}"


def fetch(world: Any, url: str, into: Path) -> Path:
    into.mkdir(parents=True, exist_ok=True)
    return unzip(download(world.client(world.legal, "desk"), url), into)


def real_now() -> dt.datetime:
    """The machine's real time (a child process does not travel with the pinned clock)."""
    seconds = subprocess.run(["date", "+%s"], capture_output=True, text=True, check=True).stdout
    return dt.datetime.fromtimestamp(int(seconds), dt.UTC)


@pytest.fixture
def stamped(world: Any, evidenced_visit: Any, tsa: Authority, tmp_path: Path, clock: Any) -> Path:
    world.client(world.legal, "desk")
    # The authority (openssl ts) stamps with the real time: the checkpoint is signed then
    # too, as it would be in production, where the two lie seconds apart.
    clock.move_to(real_now())
    jobs.checkpoint()  # signs and stamps the tree head that covers the visit
    return fetch(world, visit_url(evidenced_visit), tmp_path / "a")


def test_a_stamped_bundle_verifies_with_openssl_ts_and_verify_py(
    stamped: Path, tsa: Authority
) -> None:
    assert (stamped / "timestamp" / "tsa-ca.pem").read_bytes() == tsa.ca_file.read_bytes()
    done = run(
        ["openssl", "ts", "-verify", "-data", "checkpoint.json",
         "-in", "timestamp/checkpoint.tsr", "-CAfile", "timestamp/tsa-ca.pem"],
        stamped,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "Verification: OK" in done.stdout
    readme = (stamped / "README.txt").read_text()
    assert (
        "openssl ts -verify -data checkpoint.json -in timestamp/checkpoint.tsr "
        "-CAfile timestamp/tsa-ca.pem" in readme
    )
    verified = verify_py(stamped, "--require-timestamp", "--tsa-ca", str(tsa.ca_file))
    assert verified.returncode == 0, verified.stdout
    assert "timestamp/checkpoint.tsr verified (openssl ts)" in verified.stdout
    assert "the authority stamped the checkpoint" in verified.stdout
    assert "C2SP tlog-proof files verified" in verified.stdout
    sums = run(["sha256sum", "-c", "--quiet", "SHA256SUMS"], stamped)
    assert sums.returncode == 0, sums.stdout


def test_tlog_proof_files_follow_c2sp(stamped: Path) -> None:
    """Read with this test's own parser and the server's Merkle code, not verify.py."""
    entries = [
        json.loads(x) for x in (stamped / "ledger" / "entries.jsonl").read_text().splitlines()
    ]
    checkpoint = json.loads((stamped / "checkpoint.json").read_bytes())
    note = (stamped / "checkpoint.txt").read_text()
    assert note.split("\n")[1:3] == [
        str(checkpoint["tree_size"]),
        base64.b64encode(bytes.fromhex(checkpoint["root_hash"])).decode(),
    ]
    proofs = sorted((stamped / "ledger" / "proofs").iterdir())
    assert [p.name for p in proofs] == sorted(f"{e['index']}.tlog-proof" for e in entries)
    for entry in entries:
        text = (stamped / "ledger" / "proofs" / f"{entry['index']}.tlog-proof").read_text()
        head, _, rest = text.partition("\n\n")
        lines = head.split("\n")
        assert lines[0] == "c2sp.org/tlog-proof@v1"
        assert lines[1] == f"extra {entry['entry_b64']}"
        assert lines[2] == f"index {entry['index']}"
        path = [base64.b64decode(x) for x in lines[3:]]
        assert rest == note
        leaf = merkle.leaf_hash(base64.b64decode(entry["entry_b64"]))
        merkle.verify_inclusion(  # raises ProofError unless it holds
            entry["index"],
            checkpoint["tree_size"],
            leaf,
            path,
            bytes.fromhex(checkpoint["root_hash"]),
        )


def test_a_tampered_token_is_caught(stamped: Path, tsa: Authority) -> None:
    token = stamped / "timestamp" / "checkpoint.tsr"
    data = bytearray(token.read_bytes())
    data[-10] ^= 0x01
    token.write_bytes(bytes(data))
    resign(stamped)  # even with SHA256SUMS re-signed by the ledger key
    verified = verify_py(stamped, "--tsa-ca", str(tsa.ca_file))
    assert verified.returncode == 1
    assert "FAIL  timestamp/checkpoint.tsr does not verify" in verified.stdout


def test_the_wrong_authority_certificate_is_caught(stamped: Path, tsa: Authority) -> None:
    verified = verify_py(stamped, "--tsa-ca", str(tsa.other_ca_file))
    assert verified.returncode == 1
    assert "timestamp/checkpoint.tsr does not verify" in verified.stdout


def test_the_authority_certificate_in_the_bundle_is_never_trusted(
    stamped: Path, tsa: Authority
) -> None:
    # Whoever forges a bundle can stamp it with an authority of their own and ship its CA.
    (stamped / "timestamp" / "tsa-ca.pem").write_bytes(tsa.other_ca_file.read_bytes())
    resign(stamped)
    verified = verify_py(stamped)
    assert verified.returncode == 2, verified.stdout
    assert "timestamp/checkpoint.tsr NOT checked: give the authority's CA" in verified.stdout
    assert "verified (openssl ts)" not in verified.stdout
    required = verify_py(stamped, "--require-timestamp")
    assert required.returncode == 1, required.stdout
    # With the authority's CA from outside, the genuine token still verifies.
    assert verify_py(stamped, "--tsa-ca", str(tsa.ca_file)).returncode == 0


def test_without_openssl_the_token_is_not_checked_and_the_exit_code_says_so(
    stamped: Path, tmp_path: Path, tsa: Authority
) -> None:
    no_openssl = tmp_path / "bin"
    no_openssl.mkdir()
    verified = verify_py(
        stamped, "--tsa-ca", str(tsa.ca_file), env={"PATH": str(no_openssl), "LANG": "C.UTF-8"}
    )
    assert verified.returncode == 2, verified.stdout
    assert "timestamp/checkpoint.tsr NOT checked: openssl is not installed" in verified.stdout
    assert "openssl ts -verify -data checkpoint.json" in verified.stdout


def test_a_tampered_tlog_proof_is_caught(stamped: Path) -> None:
    proof = next((stamped / "ledger" / "proofs").iterdir())
    lines = proof.read_text().split("\n")
    lines[3] = base64.b64encode(b"\x07" * 32).decode()  # the first path hash
    proof.write_text("\n".join(lines))
    resign(stamped)
    verified = verify_py(stamped)
    assert verified.returncode == 1
    assert f"ledger/proofs/{proof.name}: inclusion proof does not lead" in verified.stdout


def test_an_unstamped_bundle_says_so(
    world: Any, evidenced_visit: Any, tsa: Authority, settings: Any, tmp_path: Path
) -> None:
    settings.LEDGER_TSA_URL = tsa.down_url
    jobs.checkpoint()
    root = fetch(world, visit_url(evidenced_visit), tmp_path)
    assert not (root / "timestamp").exists()
    verified = verify_py(root)
    assert verified.returncode == 0, verified.stdout
    assert "no RFC 3161 time-stamp in this bundle" in verified.stdout
    assert verify_py(root, "--require-timestamp").returncode == 1


def add_visit_event(visit: Any) -> None:
    """A later event of the same visit (as a supervisor's review would be)."""
    with transaction.atomic():
        store.append("test.visit_note", {"type": "system", "name": "test"}, f"visit:{visit.pk}", {})


def test_two_bundles_months_apart_lie_on_one_history(
    world: Any, evidenced_visit: Any, tmp_path: Path
) -> None:
    first = fetch(world, visit_url(evidenced_visit), tmp_path / "first")
    size = json.loads((first / "checkpoint.json").read_bytes())["tree_size"]
    add_visit_event(evidenced_visit)
    second = fetch(world, visit_url(evidenced_visit), tmp_path / "second")
    later = json.loads((second / "checkpoint.json").read_bytes())["tree_size"]
    assert later > size
    # The later bundle proves it extends the checkpoint the first download cited.
    (line,) = (second / "ledger" / "consistency.jsonl").read_text().splitlines()
    assert json.loads(line)["first"] == size
    for a, b in ((first, second), (second, first)):
        verified = verify_py(a, "--against", str(b))
        assert verified.returncode == 0, verified.stdout
        assert f"one history: tree size {size}" in verified.stdout


def test_an_explicit_older_checkpoint_is_proven_too(
    world: Any, evidenced_visit: Any, tmp_path: Path
) -> None:
    visit_bundle = fetch(world, visit_url(evidenced_visit), tmp_path / "visit")
    size = json.loads((visit_bundle / "checkpoint.json").read_bytes())["tree_size"]
    add_visit_event(evidenced_visit)
    case = evidenced_visit.stop.case
    # The case bundle was never downloaded: it has no proof from the visit bundle's size...
    plain = fetch(world, f"/api/v1/cases/{case.pk}/bundle/", tmp_path / "plain")
    verified = verify_py(plain, "--against", str(visit_bundle))
    assert verified.returncode == 1
    assert f"download it again with ?consistent_with={size}" in verified.stdout
    # ...until asked for one.
    asked = fetch(
        world, f"/api/v1/cases/{case.pk}/bundle/?consistent_with={size}", tmp_path / "asked"
    )
    verified = verify_py(asked, "--against", str(visit_bundle))
    assert verified.returncode == 0, verified.stdout


def test_a_forked_history_is_caught(world: Any, evidenced_visit: Any, tmp_path: Path) -> None:
    first = fetch(world, visit_url(evidenced_visit), tmp_path / "first")
    add_visit_event(evidenced_visit)
    second = fetch(world, visit_url(evidenced_visit), tmp_path / "second")
    fork(first)  # the same tree size, but another entry 0: a second history, signed
    alone = verify_py(first)
    assert alone.returncode == 0, alone.stdout  # on its own, the fork is self-consistent
    verified = verify_py(second, "--against", str(first))
    assert verified.returncode == 1
    assert "FORKED HISTORY" in verified.stdout


def test_a_fork_at_the_same_size_is_caught(
    world: Any, evidenced_visit: Any, tmp_path: Path
) -> None:
    first = fetch(world, visit_url(evidenced_visit), tmp_path / "first")
    again = fetch(world, visit_url(evidenced_visit), tmp_path / "again")
    assert verify_py(first, "--against", str(again)).returncode == 0
    fork(again)
    verified = verify_py(first, "--against", str(again))
    assert verified.returncode == 1
    assert "FORKED HISTORY: both bundles cite tree size" in verified.stdout


@pytest.mark.parametrize("value", ["0", "-1", "x", "1.5", str(2**60)])
def test_a_bad_consistent_with_is_a_problem_not_a_500(
    world: Any, evidenced_visit: Any, value: str
) -> None:
    response = world.client(world.legal, "desk").get(
        visit_url(evidenced_visit, f"?consistent_with={value}")
    )
    assert_problem(response, 422, "validation_error")


def test_a_consistent_with_beyond_the_ledger_is_a_ledger_range_problem(
    world: Any, evidenced_visit: Any
) -> None:
    beyond = store.tree_size() + 10
    response = world.client(world.legal, "desk").get(
        visit_url(evidenced_visit, f"?consistent_with={beyond}")
    )
    assert_problem(response, 422, "ledger_range")
    assert not LedgerEntry.objects.filter(kind="bundle.downloaded").exists()


def test_verify_py_consistency_check_agrees_with_the_server_on_every_size_pair() -> None:
    """verify.py carries its own RFC 9162 consistency check (it must stay standalone):
    every pair of sizes up to 33, valid proofs accepted and altered ones refused."""
    import importlib.util

    from fieldvisit.bundles import contents
    from tests.bundles.forge import all_nodes

    spec = importlib.util.spec_from_file_location(
        "bundle_verify", contents.__file__.replace("contents.py", "verify.py")
    )
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    leaves = [merkle.leaf_hash(str(n).encode()) for n in range(33)]
    for second in range(1, 34):
        nodes = all_nodes(leaves[:second])
        root2 = merkle.root_from_nodes(second, nodes)
        for first in range(1, second + 1):
            root1 = merkle.root_from_nodes(first, all_nodes(leaves[:first]))
            path = merkle.consistency_proof(first, second, nodes)
            assert module.verify_consistency(first, second, root1, root2, path), (first, second)
            merkle.verify_consistency(first, second, path, root1, root2)
            if first < second:
                wrong = merkle.leaf_hash(b"another history")
                assert not module.verify_consistency(first, second, wrong, root2, path)
                bent = [*path[:-1], bytes(32)]
                assert not module.verify_consistency(first, second, root1, root2, bent)


def test_two_authorities_each_stamp_and_each_token_verifies(
    world: Any,
    evidenced_visit: Any,
    tsa: Authority,
    second_authority: Authority,
    settings: Any,
    tmp_path: Path,
    clock: Any,
) -> None:
    second_authority.mode = "ok"
    settings.LEDGER_TSA_MORE = f"{second_authority.url} {second_authority.ca_file}"
    clock.move_to(real_now())
    jobs.checkpoint()
    checkpoint = first_checkpoint_covering(1)
    assert sorted(t.authority for t in timestamps.granted_all(checkpoint)) == sorted(
        [tsa.url, second_authority.url]
    )
    root = fetch(world, visit_url(evidenced_visit), tmp_path / "two")
    names = sorted(p.name for p in (root / "timestamp").iterdir())
    assert names == ["checkpoint.2.tsr", "checkpoint.tsr", "tsa-ca.2.pem", "tsa-ca.pem"]
    both = verify_py(root, "--tsa-ca", str(tsa.ca_file), "--tsa-ca", str(second_authority.ca_file))
    assert both.returncode == 0, both.stdout
    assert "timestamp/checkpoint.tsr verified" in both.stdout
    assert "timestamp/checkpoint.2.tsr verified" in both.stdout
    # With only the second authority's CA, its token suffices; the other is not checked.
    one = verify_py(root, "--require-timestamp", "--tsa-ca", str(second_authority.ca_file))
    assert one.returncode == 0, one.stdout
    assert "timestamp/checkpoint.tsr NOT checked: none of the --tsa-ca" in one.stdout
    # A CA of neither: nothing verifies, and that is a failure.
    neither = verify_py(root, "--tsa-ca", str(tsa.other_ca_file))
    assert neither.returncode == 1, neither.stdout
    assert verify_ledger_tokens_ok()


def verify_ledger_tokens_ok() -> bool:
    audit = timestamps.audit_tokens()
    return not audit.problems and audit.stamped >= 1
