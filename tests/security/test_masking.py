"""ID numbers: masked in every answer an agent gets, in full only to legal (who take cases to
court), and masked in the logs whoever writes them; so are phone numbers, names and the
search terms of query strings."""

from __future__ import annotations

import io
import logging
import os
import subprocess
import sys
import time
import urllib.error
import urllib.request
from pathlib import Path
from typing import Any

import pytest

from fieldvisit.choices import CheckInKind
from fieldvisit.models import Case, Visit
from fieldvisit.privacy import (
    MaskPersonalData,
    mask_id_number,
    mask_id_numbers_in,
    mask_personal_data_in,
)
from tests.childserver import ROOT, free_port
from tests.helpers import DAY, assert_problem, body, post, stops_of

# On the pinned clock (the root conftest's ``clock``), set before ``world`` is built.
pytestmark = pytest.mark.usefixtures("clock")

ID = "31010119820101451X"
OLD_ID = "310101820101451"
PHONE = "13812345678"
NAME = "王建国"
NAME_IN_URL = "%E7%8E%8B%E5%BB%BA%E5%9B%BD"  # 王建国, percent-encoded as a client sends it


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"id {ID}.", "id 310***********451X."),
        (f"q={ID.lower()}&page=2", "q=310***********451x&page=2"),
        (f"/cases/{ID}/evidence/", "/cases/310***********451X/evidence/"),
        (f"old {OLD_ID}", "old 310********1451"),
        (f'{{"debtor_id_number": "{ID}"}}', '{"debtor_id_number": "310***********451X"}'),
    ],
)
def test_id_numbers_in_text_are_masked(text: str, expected: str) -> None:
    assert mask_id_numbers_in(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "sha256 9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08",
        "a5e2c2a2-3f0e-4c55-9a8e-000000123456",
        "1732412345678901234 ns",  # 19 digits: no ID number
        "amount 1234567890123456",  # 16 digits
        "ledger index 123456789012",
        "visit 1234567890123456789X0",
    ],
)
def test_other_numbers_are_left_alone(text: str) -> None:
    assert mask_id_numbers_in(text) == text


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            f'"GET /api/v1/cases/?q={PHONE}&name={NAME_IN_URL} HTTP/1.1" 401 85',
            '"GET /api/v1/cases/?q=138****5678&name=*** HTTP/1.1" 401 85',
        ),
        (f"GET /api/v1/cases/?q={NAME}&page=2", "GET /api/v1/cases/?q=***&page=2"),
        ("/api/v1/cases/?q=Wang+Lei", "/api/v1/cases/?q=***"),
        (f"/api/v1/cases/?q={ID}", "/api/v1/cases/?q=310***********451X"),
        (f"/api/v1/cases/?q=%2B86{PHONE}", "/api/v1/cases/?q=138****5678"),
        (
            "/admin/fieldvisit/case/?q=Li&status__exact=open&o=2",
            "/admin/fieldvisit/case/?q=***&status__exact=***&o=2",
        ),
        (
            f"Not Found: /api/v1/cases/{PHONE}/evidence/",
            "Not Found: /api/v1/cases/138****5678/evidence/",
        ),
        (f"Not Found: /api/v1/cases/{NAME}/", "Not Found: /api/v1/cases/***/"),
        (r"Not Found: /api/v1/cases/\u738b\u5efa\u56fd/", "Not Found: /api/v1/cases/***/"),
        (f"GET /api/v1/cases/{NAME_IN_URL}/ HTTP/1.1", "GET /api/v1/cases/***/ HTTP/1.1"),
        ("call +86 138-1234-5678 back", "call 138****5678 back"),
        (f"debtor {NAME} not home", "debtor *** not home"),
        # A landline (8 digits), a number with its area code, a long account number: search
        # terms, not page numbers; only a parameter known to hold numbers keeps a long one.
        ("/api/v1/cases/?q=62345678", "/api/v1/cases/?q=***"),
        ("/api/v1/cases/?phone=02162345678&team=3", "/api/v1/cases/?phone=***&team=3"),
        ("/admin/fieldvisit/case/?q=123456", "/admin/fieldvisit/case/?q=***"),
        (
            f'"GET /x/ HTTP/1.1" 200 5 "https://h.example/admin/?q={PHONE}" "curl"',
            '"GET /x/ HTTP/1.1" 200 5 "https://h.example/admin/?q=138****5678" "curl"',
        ),
    ],
)
def test_phone_numbers_names_and_search_terms_are_masked_for_the_logs(
    text: str, expected: str
) -> None:
    assert mask_personal_data_in(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "GET /api/v1/routes/?date=2026-12-04 HTTP/1.1",
        "GET /api/v1/cases/?page=3&page_size=50 HTTP/1.1",
        "GET /api/v1/ledger/proof/?entry=12&tree_size=40 HTTP/1.1",
        "GET /api/v1/ledger/proof/?entry=1234567&tree_size=12345678 HTTP/1.1",
        "GET /admin/fieldvisit/visit/?route__team__id__exact=12345 HTTP/1.1",
        "GET /api/v1/bundles/?visit=5f0c1d2e-3a4b-4c5d-8e9f-0a1b2c3d4e5f HTTP/1.1",
        "ledger index 12345678901 and 1732412345678 ms",  # 11 digits not a mobile, 13 digits
        "Is it done? Not yet.",
    ],
)
def test_what_is_not_personal_stays_readable_in_the_logs(text: str) -> None:
    assert mask_personal_data_in(text) == text


def test_the_model_masks_the_same_way() -> None:
    assert Case(debtor_id_number=ID).debtor_id_masked == mask_id_number(ID) == "310***********451X"


def agent_answers(world: Any) -> list[Any]:
    """Every kind of answer an agent gets while working a stop."""
    phone = world.client(world.agent_a, "phone-a")
    stop = stops_of(world.route)[0]
    arrive_a = post(phone, body(world, CheckInKind.ARRIVE, stop))
    arrive_b = post(world.client(world.agent_b, "phone-b"), body(world, CheckInKind.ARRIVE, stop))
    visit = Visit.objects.get(stop=stop)
    answers = [
        arrive_a,
        arrive_b,
        phone.get("/api/v1/routes/", {"date": DAY.isoformat()}),
        phone.get(f"/api/v1/routes/{world.route.pk}/"),
        phone.get("/api/v1/me/"),
        phone.get(f"/api/v1/visits/{visit.pk}/"),
        phone.get(f"/api/v1/visits/{visit.pk}/recording/"),
        phone.get("/api/v1/cases/"),
        phone.get(f"/api/v1/cases/{stop.case_id}/evidence/"),
    ]
    assert [a.status_code for a in answers] == [201, 201, 200, 200, 200, 200, 200, 403, 403]
    return answers


def test_no_answer_to_an_agent_holds_a_full_id_number(world: Any) -> None:
    numbers = list(
        Case.objects.exclude(debtor_id_number="").values_list("debtor_id_number", flat=True)
    )
    assert len(numbers) == 4

    answers = agent_answers(world)

    for answer in answers:
        for number in numbers:
            assert number.encode() not in answer.content, answer.content
        assert b"debtor_id_number" not in answer.content
    route = answers[3].json()
    for stop in route["stops"]:
        case = Case.objects.get(pk=stop["case"]["id"])
        assert stop["case"]["debtor_id_masked"] == mask_id_number(case.debtor_id_number)


def test_legal_sees_the_full_number_to_take_the_case_to_court(world: Any) -> None:
    case = world.cases[0]

    found = world.client(world.legal).get("/api/v1/cases/", {"q": case.debtor_id_number})

    assert found.status_code == 200
    assert found.json()["results"][0]["debtor_id_number"] == case.debtor_id_number


@pytest.fixture
def console() -> Any:
    """What the configured console handler (settings.LOGGING) writes, as a string."""
    handler = next(
        h
        for h in logging.getLogger().handlers
        if any(isinstance(f, MaskPersonalData) for f in h.filters)
    )
    stream = io.StringIO()
    previous = handler.setStream(stream)
    yield stream
    handler.setStream(previous)


def test_a_request_carrying_an_id_number_is_logged_masked(world: Any, console: Any) -> None:
    legal = world.client(world.legal)

    answer = legal.get(f"/api/v1/cases/{ID}/evidence/")

    assert_problem(answer, 404, "not_found")
    written = console.getvalue()
    assert "Not Found: /api/v1/cases/310***********451X/evidence/" in written
    assert ID not in written


def test_a_404_path_with_a_phone_number_or_a_name_is_logged_masked(
    world: Any, console: Any
) -> None:
    legal = world.client(world.legal)

    for path in (f"/api/v1/cases/{PHONE}/evidence/", f"/api/v1/cases/{NAME}/evidence/"):
        assert_problem(legal.get(path, {"q": PHONE}), 404, "not_found")

    written = console.getvalue()
    assert "Not Found: /api/v1/cases/138****5678/evidence/" in written
    assert "Not Found: /api/v1/cases/***/evidence/" in written
    assert PHONE not in written and NAME not in written


def test_a_traceback_is_masked_too(console: Any) -> None:
    try:
        raise ValueError(f"no case for {ID}")
    except ValueError:
        logging.getLogger("fieldvisit.test").exception("lookup of %s failed", ID)

    written = console.getvalue()
    assert "lookup of 310***********451X failed" in written
    assert "ValueError: no case for 310***********451X" in written
    assert ID not in written


def test_the_servers_request_log_masks_the_query_string(tmp_path: Path) -> None:
    """The development server logs every request line, query string included."""
    port = free_port()
    log = tmp_path / "server.log"
    env = {
        **os.environ,
        "STATE_DIR": str(tmp_path),
        "DATABASE_URL": f"sqlite:///{tmp_path / 'db.sqlite3'}",
        "DEBUG": "0",
    }
    with log.open("wb") as sink:
        server = subprocess.Popen(
            [sys.executable, "manage.py", "runserver", "--noreload", "--skip-checks",
             f"127.0.0.1:{port}"],
            cwd=ROOT, env=env, stdout=sink, stderr=sink,
        )  # fmt: skip
        try:
            deadline = time.monotonic() + 60
            while True:
                try:
                    urllib.request.urlopen(
                        f"http://127.0.0.1:{port}/api/v1/cases/?q={ID}", timeout=5
                    )
                except urllib.error.HTTPError as refused:
                    assert refused.code == 401
                    break
                except OSError:
                    assert time.monotonic() < deadline, log.read_text()
                    time.sleep(0.2)
            with pytest.raises(urllib.error.HTTPError):
                urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/api/v1/cases/?q={PHONE}&name={NAME_IN_URL}",
                    timeout=5,
                )
            line = "GET /api/v1/cases/?q=138****5678&name=*** HTTP/1.1"
            deadline = time.monotonic() + 20
            while line not in log.read_text() and time.monotonic() < deadline:
                time.sleep(0.1)
        finally:
            server.terminate()
            server.wait(10)

    written = log.read_text()
    assert "GET /api/v1/cases/?q=310***********451X HTTP/1.1" in written, written
    assert "GET /api/v1/cases/?q=138****5678&name=*** HTTP/1.1" in written, written
    assert ID not in written
    assert PHONE not in written and NAME_IN_URL not in written and NAME not in written
