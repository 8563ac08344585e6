"""A phone-app integrator's first hour: generate a Python client from the served OpenAPI
schema with a stock generator (openapi-python-client), and drive a sign-in and check-ins
with it against the running server: typed answers, and refusals as typed problems.

The generator leaves out only what stock tools drive better: the ZIP bundles, the PEM key and
the tus uploads (``application/offset+octet-stream``; any tus client speaks those).
"""

from __future__ import annotations

import importlib
import os
import re
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from django.test import Client

from tests.factories import PASSWORD
from tests.helpers import World, stops_of

pytestmark = [pytest.mark.django_db(transaction=True), pytest.mark.usefixtures("clock")]


@pytest.fixture
def generated(tmp_path: Path) -> Any:
    """The client package generated now from the schema the server serves."""
    schema = tmp_path / "schema.json"
    schema.write_bytes(Client().get("/api/v1/schema/?format=json").content)
    generator = Path(sys.executable).with_name("openapi-python-client")
    done = subprocess.run(
        [str(generator), "generate", "--path", str(schema), "--meta", "none",
         "--output-path", str(tmp_path / "fvclient")],
        capture_output=True, text=True, check=False, cwd=tmp_path,
        env={**os.environ, "COLUMNS": "300"},  # its report's lines unwrapped
    )  # fmt: skip
    assert done.returncode == 0, done.stdout + done.stderr
    skipped = re.findall(
        r"parsing (\w+ \S+) within \w+\.\s+Endpoint will not be generated",
        done.stdout + done.stderr,
    )
    assert sorted(skipped) == ["PATCH /api/v1/uploads/{id}/", "POST /api/v1/uploads/"]  # tus
    sys.path.insert(0, str(tmp_path))
    try:
        yield importlib.import_module("fvclient")
    finally:
        sys.path.remove(str(tmp_path))
        for name in [m for m in sys.modules if m == "fvclient" or m.startswith("fvclient.")]:
            del sys.modules[name]


def test_a_generated_client_signs_in_and_checks_in(
    world: World, live_server: Any, generated: Any
) -> None:
    from fvclient.api.auth import auth_token
    from fvclient.api.checkins import checkins_create
    from fvclient.client import AuthenticatedClient
    from fvclient.client import Client as PlainClient
    from fvclient.models import CheckInCreateRequest, CheckInKindEnum, SignInRequest

    anonymous = PlainClient(base_url=live_server.url)
    signed_in = auth_token.sync(
        client=anonymous,
        body=SignInRequest(username="agent_a", password=PASSWORD, device_id="generated-1"),
    )
    assert signed_in.token and signed_in.user.username == "agent_a"
    phone = AuthenticatedClient(base_url=live_server.url, token=signed_in.token, prefix="Token")

    stop = stops_of(world.route)[0]
    from django.utils import timezone

    now = timezone.now()
    departed = checkins_create.sync_detailed(
        client=phone,
        body=CheckInCreateRequest(
            id=uuid.uuid4(), route=world.route.pk, kind=CheckInKindEnum.DEPART,
            lat=stop.address.lat - 0.01, lon=stop.address.lon, accuracy_m=8, captured_at=now,
        ),
    )  # fmt: skip
    assert departed.status_code == 201
    assert departed.parsed.kind == CheckInKindEnum.DEPART
    assert departed.parsed.next_due_at is not None

    far = checkins_create.sync_detailed(
        client=phone,
        body=CheckInCreateRequest(
            id=uuid.uuid4(), route=world.route.pk, kind=CheckInKindEnum.ARRIVE, stop=stop.pk,
            lat=stop.address.lat + 0.02, lon=stop.address.lon, accuracy_m=8, captured_at=now,
        ),
    )  # fmt: skip
    assert far.status_code == 422
    assert far.parsed.code.value == "too_far_from_address"  # the operation's code enum
