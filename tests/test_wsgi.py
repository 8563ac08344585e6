"""The WSGI application a server worker imports is ready for its first request."""

from __future__ import annotations

import subprocess
import sys

from tests.childserver import ROOT


def test_a_worker_loads_the_urls_and_views_as_it_starts() -> None:
    """Not on its first request, which would wait for them."""
    loaded = subprocess.run(
        [
            sys.executable,
            "-c",
            "import sys, config.wsgi; print('fieldvisit.api.urls' in sys.modules)",
        ],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    )
    assert loaded.stdout.strip() == "True", loaded.stderr
