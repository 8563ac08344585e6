"""Property-based fuzzing of every API operation with schemathesis, against the schema the
app serves at ``/api/v1/schema/``, through the real WSGI application in this process.

Each operation is fuzzed as agent A (of a team with an approved route for today, with a
visit open and a report awaiting co-signature, so deep paths are reachable) and as a legal
user, with generated data that conforms to the schema (positive) and data that breaks it
(negative), then with schemathesis' deterministic coverage cases (boundaries, missing and
extra fields, wrong types). Path ids are often swapped for records that exist, and body
references, files (a real JPEG or PNG with its SHA-256) and tus metadata likewise, so cases
get past the first 404 or 422. Every answer must be no server error, a documented status
code, of a documented content type, and conform to the documented schema.

The CI run is bounded and derandomized (``FUZZ_EXAMPLES`` cases per operation, principal
and mode; 8 by default). A long run by hand, which prints its count of cases and the
answers by status for every operation::

    FUZZ_EXAMPLES=1000 FUZZ_SEED=random .venv/bin/pytest tests/fuzz -s -p no:xdist -k fuzzing
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import os
import uuid
from collections import Counter, defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
import schemathesis
from django.core.cache import cache
from django.core.signals import request_finished, request_started
from django.db import close_old_connections
from django.utils import timezone
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from schemathesis import GenerationMode
from schemathesis.checks import not_a_server_error
from schemathesis.core.failures import FailureGroup
from schemathesis.specs.openapi.checks import (
    content_type_conformance,
    response_schema_conformance,
    status_code_conformance,
)

from config.wsgi import application
from fieldvisit.actions import incidents
from fieldvisit.actions.auth import issue_token
from fieldvisit.models import Case, LedgerEntry, Visit
from tests.authz.scene import report_body
from tests.helpers import arrive_pair, stops_of
from tests.images import jpeg, png

pytestmark = pytest.mark.django_db(transaction=True)

# tus PATCH bodies are raw bytes.
schemathesis.serializer.alias("application/offset+octet-stream", "application/octet-stream")

EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "8"))
RANDOM = os.environ.get("FUZZ_SEED", "") == "random"
CHECKS = [
    not_a_server_error,
    status_code_conformance,
    content_type_conformance,
    response_schema_conformance,
]
MODES = [GenerationMode.POSITIVE, GenerationMode.NEGATIVE]
# Body fields that name a record: often replaced by one that exists.
REFERENCES = ("route", "stop", "visit", "case", "report", "corrects")


@pytest.fixture
def in_process() -> Any:
    """Requests share the test's database connection, as with Django's test client: the
    WSGI handler must not close it at the end of each request."""
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    yield
    request_started.connect(close_old_connections)
    request_finished.connect(close_old_connections)


@pytest.fixture
def schema(in_process: Any) -> Any:
    """The schema as the app serves it."""
    return schemathesis.openapi.from_wsgi("/api/v1/schema/?format=json", application)


def tus_metadata(**values: str) -> str:
    return ",".join(f"{k} {base64.b64encode(v.encode()).decode()}" for k, v in values.items())


class Seeds:
    """Records that exist, for path ids and body references, and how to sign in."""

    def __init__(self, world: Any) -> None:
        self.world = world
        stops = stops_of(world.route)
        arrive_pair(world, stops[0])
        agent = world.client(world.agent_a, "phone-a")
        change = agent.post(
            f"/api/v1/routes/{world.route.pk}/change-requests/",
            {"id": str(uuid.uuid4()), "reason": "gate locked", "skip_stops": [str(stops[2].pk)]},
            format="json",
        )
        assert change.status_code == 201, change.content
        visit = Visit.objects.get(stop=stops[0])
        upload = agent.post(
            "/api/v1/uploads/",
            HTTP_TUS_RESUMABLE="1.0.0",
            HTTP_UPLOAD_LENGTH="1000",
            HTTP_UPLOAD_METADATA=tus_metadata(
                visit=str(visit.pk),
                recording=str(uuid.uuid4()),
                segment="0",
                started_at=visit.opened_at.isoformat(),
                sha256=hashlib.sha256(b"x").hexdigest(),
                filename="a.m4a",
                content_type="audio/mp4",
            ),
        )
        assert upload.status_code == 201, upload.content
        # Agent B's report awaits agent A's co-signature (or a correction naming it).
        report = world.client(world.agent_b, "phone-b").post(
            f"/api/v1/visits/{visit.pk}/report/", report_body(), format="json"
        )
        assert report.status_code == 201, report.content
        self.ids = {
            "route": [str(world.route.pk)],
            "stop": [str(s.pk) for s in stops],
            "visit": [str(v) for v in Visit.objects.values_list("pk", flat=True)],
            "case": [str(c) for c in Case.objects.values_list("pk", flat=True)],
            "change-request": [change.json()["id"]],
            "upload": [upload["Location"].rstrip("/").rsplit("/", 1)[-1]],
            "index": list(LedgerEntry.objects.values_list("index", flat=True)[:5]),
        }
        self.ids["report"] = self.ids["corrects"] = [report.json()["id"]]
        # A conduct incident naming agent A, who gives an account of it.
        finding = incidents.open_finding(
            visit_id=visit.pk,
            rules=["no_disturbance"],
            summary="Rang the bell repeatedly.",
            agents=[world.agent_a],
            by=world.supervisor,
        )
        self.ids["incident"] = [str(finding.pk)]
        self.places = [(s.address.lat, s.address.lon) for s in stops]
        self.tokens = {
            "agent": world.client(world.agent_a, "phone-a").token,
            "legal": world.client(world.legal, "laptop").token,
        }
        self.users = {"agent": world.agent_a, "legal": world.legal}

    def path_ids(self, path: str) -> dict[str, list[Any]]:
        """Existing values for the path's parameters, by the resource the path names."""
        if "{index}" in path:
            return {"index": self.ids["index"]}
        if "{id}" not in path:
            return {}
        resource = path.split("/api/v1/", 1)[1].split("/", 1)[0]
        kind = {"routes": "route", "visits": "visit", "cases": "case", "uploads": "upload"}
        return {"id": self.ids[kind.get(resource, resource.rstrip("s"))]}

    def headers(self, principal: str, path: str) -> dict[str, str]:
        if path.endswith("/auth/logout/"):
            # Signing out revokes the token: each case signs out a device of its own.
            key, _ = issue_token(self.users[principal], uuid.uuid4().hex, "fuzz", "android")
            return {"Authorization": f"Token {key}"}
        return {"Authorization": f"Token {self.tokens[principal]}"}


def strategy(operation: Any, mode: GenerationMode, seeds: Seeds) -> st.SearchStrategy[Any]:
    """Generated cases; often with path ids, body references and files that are real."""
    generated = operation.as_strategy(generation_mode=mode)
    choices = [generated]
    for name, values in seeds.path_ids(operation.path).items():
        choices += [
            operation.as_strategy(generation_mode=mode, path_parameters={name: value})
            for value in values
        ]
    cases = st.one_of(choices)
    return st.tuples(cases, st.randoms(use_true_random=False)).map(
        lambda pair: realistic(*pair, seeds)
    )


# Multipart file fields, a real file for each, and the field declaring its SHA-256.
FILES = {
    "file": ("sha256", jpeg),
    "photo": ("photo_sha256", jpeg),
    "signature": (
        "signature_sha256",
        png,
    ),
}


def realistic(case: Any, rnd: Any, seeds: Seeds) -> Any:
    """Half the time, swap generated references and files for real ones, so cases get
    past the first 404 or 422 to the rules and the file inspection behind them."""
    if isinstance(case.body, dict):
        for key in REFERENCES:
            if key in case.body and seeds.ids.get(key) and rnd.random() < 0.5:
                case.body[key] = rnd.choice(seeds.ids[key])
        if "captured_at" in case.body and rnd.random() < 0.5:
            # Within the day's visit hours: now, or queued offline for up to an hour.
            ago = dt.timedelta(seconds=rnd.choice([0, rnd.randint(0, 3600)]))
            case.body["captured_at"] = (timezone.now() - ago).isoformat()
        if "lat" in case.body and "lon" in case.body and rnd.random() < 0.5:
            case.body["lat"], case.body["lon"] = rnd.choice(seeds.places)
        for key, (digest_field, make) in FILES.items():
            if key in case.body and rnd.random() < 0.5:
                data = make()
                case.body[key] = data
                case.body[digest_field] = hashlib.sha256(data).hexdigest()
    if case.operation.path == "/api/v1/uploads/" and case.headers and rnd.random() < 0.5:
        segment = rnd.randint(0, 2)
        case.headers["Upload-Metadata"] = tus_metadata(
            visit=rnd.choice(seeds.ids["visit"]),
            recording=str(uuid.UUID(int=rnd.getrandbits(128))),
            segment=str(segment),
            started_at=timezone.now().isoformat(),
            sha256=rnd.getrandbits(256).to_bytes(32, "big").hex(),
            prev_sha256=hashlib.sha256(b"prev").hexdigest() if segment else "",
            filename="a.m4a",
            content_type="audio/mp4",
        )
    return case


@dataclass
class Tally:
    """What a run did: cases per operation and mode, answers by status, failures."""

    cases: Counter[str] = field(default_factory=Counter)
    statuses: dict[str, Counter[int]] = field(default_factory=lambda: defaultdict(Counter))
    failures: dict[str, str] = field(default_factory=dict)

    def reached(self, status_class: int) -> set[str]:
        """Operations that answered at least once with a status of that class (2 for 2xx)."""
        return {
            op for op, seen in self.statuses.items() if any(s // 100 == status_class for s in seen)
        }


def runner(
    operation: Any, mode: GenerationMode, seeds: Seeds, principal: str, tally: Tally
) -> Callable[[], None]:
    label = f"{operation.label} {mode.value}"

    @settings(
        max_examples=EXAMPLES,
        derandomize=not RANDOM,
        database=None,
        deadline=None,
        suppress_health_check=list(HealthCheck),
        report_multiple_bugs=False,
    )
    @given(case=strategy(operation, mode, seeds))
    def run(case: Any) -> None:
        cache.clear()  # throttles and the sign-in guard would answer 429 to most cases
        response = case.call(headers=seeds.headers(principal, operation.path))
        tally.cases[label] += 1
        tally.statuses[operation.label][response.status_code] += 1
        case.validate_response(response, checks=CHECKS)

    return run


def nothing_to_break(operation: Any) -> bool:
    """No parameter, body or required token (tus OPTIONS, the public ledger keys): no input
    that negative mode could make invalid. A token is not required where the operation's
    security also allows none (``{}``)."""
    raw = operation.definition.raw
    security = raw.get("security") or []
    token_required = bool(security) and {} not in security
    return not (raw.get("parameters") or raw.get("requestBody") or token_required)


def fuzz(schema: Any, seeds: Seeds, principal: str) -> Tally:
    """Every operation in both modes; each failing operation's (shrunk) failure."""
    tally = Tally()
    for result in schema.get_all_operations():
        operation = result.ok()
        for mode in MODES:
            if mode is GenerationMode.NEGATIVE and nothing_to_break(operation):
                continue
            try:
                runner(operation, mode, seeds, principal, tally)()
            except (Exception, FailureGroup) as exc:  # every operation's failure is reported
                name = f"{principal} {operation.label} {mode.value}"
                tally.failures[name] = f"{type(exc).__name__}: {exc}"[:3000]
    return tally


def coverage(schema: Any, seeds: Seeds, principal: str) -> Tally:
    """schemathesis' coverage phase: for every operation, the deterministic boundary and
    schema-violating cases (missing and extra fields, wrong types, limits), every other
    one with path ids that exist."""
    tally = Tally()
    for result in schema.get_all_operations():
        operation = result.ok()
        generation = schema.config.generation_for(operation=operation, phase="coverage")
        cases = schema.iter_coverage_cases(
            operation, generation_modes=MODES, generation_config=generation
        )
        ids = seeds.path_ids(operation.path)
        for number, case in enumerate(cases):
            if number % 2 and case.path_parameters:
                for name, values in ids.items():
                    if name in case.path_parameters:
                        case.path_parameters[name] = values[number // 2 % len(values)]
            cache.clear()
            response = case.call(headers=seeds.headers(principal, operation.path))
            tally.cases[operation.label] += 1
            tally.statuses[operation.label][response.status_code] += 1
            try:
                case.validate_response(response, checks=CHECKS)
            except (Exception, FailureGroup) as exc:
                name = f"{principal} {operation.label} coverage"
                tally.failures.setdefault(name, f"{type(exc).__name__}: {exc}"[:3000])
    return tally


def report(kind: str, principal: str, tally: Tally) -> None:
    total = sum(tally.cases.values())
    print(f"\n{kind} as {principal}: {total} cases over {len(tally.statuses)} operations")
    for operation, seen in sorted(tally.statuses.items()):
        print(f"  {operation}: {dict(sorted(seen.items()))}")


# Operations each principal must get a 2xx from at least once: the seeded world makes the
# deep paths reachable, so a fuzz run that never gets past 401/404 fails rather than passes.
MUST_SUCCEED = {
    "agent": {
        "GET /api/v1/me/",
        "GET /api/v1/routes/",
        "GET /api/v1/routes/{id}/",
        "GET /api/v1/change-requests/{id}/",
        "GET /api/v1/visits/{id}/",
        "GET /api/v1/visits/{id}/recording/",
        "POST /api/v1/alerts/panic/",
        "POST /api/v1/auth/logout/",
    },
    "legal": {
        "GET /api/v1/me/",
        "GET /api/v1/cases/",
        "GET /api/v1/cases/{id}/evidence/",
        "GET /api/v1/cases/{id}/bundle/",
        "GET /api/v1/visits/{id}/bundle/",
        "GET /api/v1/ledger/checkpoint/",
        "GET /api/v1/ledger/entries/{index}/",
        "GET /api/v1/ledger/keys/",
        "GET /api/v1/ledger/public-key/",
        "POST /api/v1/auth/logout/",
    },
}


@pytest.mark.parametrize("principal", ["agent", "legal"])
def test_every_operation_survives_fuzzing(world, schema, in_process, principal) -> None:  # type: ignore[no-untyped-def]
    seeds = Seeds(world)

    tally = fuzz(schema, seeds, principal)

    report("fuzzed", principal, tally)
    assert not tally.failures, "\n\n".join(f"== {k}\n{v}" for k, v in tally.failures.items())
    assert len(tally.statuses) == len(list(schema.get_all_operations()))
    assert MUST_SUCCEED[principal] <= tally.reached(2), MUST_SUCCEED[principal] - tally.reached(2)


@pytest.mark.parametrize("principal", ["agent", "legal"])
def test_every_operation_survives_its_coverage_cases(world, schema, in_process, principal) -> None:  # type: ignore[no-untyped-def]
    seeds = Seeds(world)

    tally = coverage(schema, seeds, principal)

    report("coverage", principal, tally)
    assert not tally.failures, "\n\n".join(f"== {k}\n{v}" for k, v in tally.failures.items())
    assert len(tally.statuses) == len(list(schema.get_all_operations()))
    assert sum(tally.cases.values()) > 20 * len(tally.statuses)
