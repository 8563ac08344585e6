"""The checkpoint job asks the witnesses, and a bundle's checkpoint.txt and tlog-proof files
carry their cosignature lines after the log's own signature; verify.py still passes it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from fieldvisit import jobs
from fieldvisit.models import WitnessCosignature
from tests.bundles.conftest import _pinned_clock, evidenced_visit  # noqa: F401 - fixtures
from tests.bundles.pins import pinned
from tests.helpers import download, unzip
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
