"""``examples/walkthrough.py`` (the README's walkthrough) runs against a real server with a
demo world built where it is visiting time now, and the visit it makes opens."""

from __future__ import annotations

import datetime as dt
import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from fieldvisit.demo import build_world, zone_for
from fieldvisit.models import CheckIn, Visit

SCRIPT = Path(__file__).resolve().parents[1] / "examples" / "walkthrough.py"


@pytest.mark.django_db(transaction=True)
def test_the_walkthrough_opens_a_visit(live_server: Any, tmp_path: Path) -> None:
    world = build_world(zone_name=zone_for(dt.datetime.now(dt.UTC)))
    saved = tmp_path / "demo-world.json"
    saved.write_text(json.dumps(world), encoding="utf-8")
    done = subprocess.run(
        [sys.executable, str(SCRIPT), live_server.url, str(saved)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stdout + done.stderr
    assert "arrive: visit {'id':" in done.stdout and '"status": "open"' in done.stdout
    assert Visit.objects.get(pk=world["stops"][0]["visit_id"]).status == "open"
    assert CheckIn.objects.count() == 5  # two departs, two arrivals, one periodic
