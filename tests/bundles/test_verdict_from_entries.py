"""Issue 21, item 4: what people read comes from the log. A visit's compliance verdict is
re-derived from its ledger entries alone (``verify.judge_visit``, run by the server to mark
report.html and by ``verify.py`` to check it), and it says what ``compliance.judge`` says
from the records, check by check, whatever the visit went through. A report.html whose
verdict was rewritten fails verify.py even when the bundle is re-signed with our own key."""

from __future__ import annotations

import datetime as dt
import json
import re
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from fieldvisit.actions.acceptances import accept_door_photo
from fieldvisit.bundles import verify
from fieldvisit.compliance import judge
from fieldvisit.models import LedgerEntry, Visit
from fieldvisit.queries.visits import visit_records
from fieldvisit.rules import conduct
from tests.bundles.forge import resign
from tests.bundles.pins import pinned
from tests.bundles.visiting import Visiting
from tests.helpers import body, download, post, report_body, stops_of, unzip

pytestmark = pytest.mark.django_db(transaction=True)


def chain(visit: Visit) -> list[dict[str, Any]]:
    rows = LedgerEntry.objects.filter(chain_visit=str(visit.pk)).order_by("chain_seq")
    return [json.loads(bytes(row.entry_bytes)) for row in rows]


def both_verdicts(visit: Visit) -> tuple[dict[str, bool], dict[str, bool]]:
    """(what the entries show, what the records show), check by check."""
    derived = verify.judge_visit(chain(visit))
    assert derived is not None, "the visit is closed: its verdict can be derived"
    from_records = judge(visit_records(Visit.objects.get(pk=visit.pk))).checks
    return (
        {name: passed for name, (passed, _why) in derived.items()},
        {name: check.ok for name, check in from_records.items()},
    )


def failing(visit: Visit) -> list[str]:
    entries, records = both_verdicts(visit)
    assert entries == records
    return [name for name, ok in entries.items() if not ok]


def test_a_whole_visit_passes_from_its_entries_as_from_its_records(world, clock):
    making = Visiting(world, clock).arrive()
    making.photo()
    making.receipt().record().leave().report()
    assert failing(making.visit) == []


def test_a_visit_with_nothing_but_its_arrivals_fails_alike(world, clock):
    making = Visiting(world, clock).arrive().leave()
    assert failing(making.visit) == ["door_photo", "recording", "notice_outcome", "report_cosigned"]


def test_a_door_photo_without_gps_fails_until_a_supervisor_accepts_it(world, clock):
    making = Visiting(world, clock).arrive()
    photo = making.photo(gps=False)
    making.receipt().record().leave().report()
    assert failing(making.visit) == ["door_photo"]
    accept_door_photo(photo.pk, "The building has no GPS fix indoors.", world.supervisor)
    assert failing(making.visit) == []


def test_a_door_photo_without_the_partner_fails_alike(world, clock):
    making = Visiting(world, clock).arrive()
    making.photo(partner=False)
    making.receipt().record().leave().report()
    assert failing(making.visit) == ["door_photo"]


def test_a_pause_in_the_recording_or_a_short_one_fails_alike(world, clock):
    making = Visiting(world, clock).arrive()
    making.photo()
    making.receipt().record(pause_s=5).leave().report()
    assert failing(making.visit) == ["recording"]


def test_a_recording_ending_before_the_leave_fails_alike(world, clock):
    making = Visiting(world, clock).arrive()
    making.photo()
    making.receipt().record(segments=1).leave().report()
    assert failing(making.visit) == ["recording"]


def test_a_notice_signed_by_an_unlisted_neighbour_without_a_reason_fails_alike(world, clock):
    making = Visiting(world, clock).arrive()
    making.photo()
    clock.shift(dt.timedelta(minutes=10))
    making.receipt(
        queued=dt.timedelta(minutes=6),
        outcome="signed_by_relation",
        signer_name="Zhao Liu",
        signer_relation="邻居",
    )
    making.record().leave().report()
    assert "notice_outcome" in failing(making.visit)


def test_an_arrival_out_of_the_approved_order_fails_alike(world, clock):
    """Both agents' arrivals at the second stop, queued offline, come before the first."""
    making = Visiting(world, clock, stop_index=1).arrive(queued=dt.timedelta(minutes=6))
    making.visit = Visit.objects.select_related("stop__address").get(stop=making.stop)
    making.photo()
    making.receipt().leave().report()
    assert "approved_order" in failing(making.visit)


def test_an_attestation_not_given_then_corrected_follows_the_current_report(world, clock):
    making = Visiting(world, clock).arrive()
    making.photo()
    making.receipt().record().leave().report(did_not_enter_residence=False)
    assert failing(making.visit) == ["report_cosigned"]
    making.correct()
    assert failing(making.visit) == []


def test_an_older_phones_report_without_the_added_items_fails_alike(world, clock):
    """Six items only (what older phones send): the added ones were not attested."""

    making = Visiting(world, clock).arrive()
    making.photo()
    making.receipt().record().leave()
    payload = report_body()
    payload["attestations"] = dict.fromkeys(conduct.REQUIRED, True)
    making.report(payload=payload)
    assert failing(making.visit) == ["report_cosigned"]


def test_a_report_awaiting_its_cosignature_fails_alike(world, clock):
    making = Visiting(world, clock).arrive()
    making.photo()
    making.receipt().record().leave().report(cosigned=False)
    assert failing(making.visit) == ["report_cosigned"]


def test_check_ins_missed_during_a_long_visit_fail_alike(world, clock):
    """Both agents stay 50 minutes without their periodic report (due every 30)."""
    making = Visiting(world, clock).arrive()
    making.photo()
    making.receipt().leave(after=dt.timedelta(minutes=50)).report()
    entries, _records = both_verdicts(making.visit)
    assert "checkins_on_time" in failing(making.visit)
    assert entries["checkins_on_time"] is False


def test_a_report_missed_before_the_second_arrival_counts_from_the_report_before(world, clock):
    """Agent B departed, then arrived 41 minutes later, 12 after A: the report B owed 30
    minutes after departing fell due during the visit and came past its 10 minutes' grace.
    Only the visit.closed entry's statement of B's report before the visit lets the entries
    show it."""
    stop = stops_of(world.route)[0]
    phone_b = world.client(world.agent_b, "phone-b")
    assert post(phone_b, body(world, "depart")).status_code == 201
    clock.shift(dt.timedelta(minutes=29))
    phone_a = world.client(world.agent_a, "phone-a")
    assert post(phone_a, body(world, "arrive", stop)).status_code == 201
    clock.shift(dt.timedelta(minutes=12))
    assert post(phone_b, body(world, "arrive", stop, dlat=20)).status_code == 201
    visit = Visit.objects.get(stop=stop)
    clock.shift(dt.timedelta(minutes=2))
    for client in (phone_a, phone_b):
        assert post(client, body(world, "leave", stop)).status_code == 201
    closed = chain(visit)
    stated = next(e for e in closed if e["kind"] == "visit.closed")["data"]
    assert stated["reports_before"] == {
        str(world.agent_b.pk): {"at": stated["reports_before"][str(world.agent_b.pk)]["at"],
                                "kind": "depart"},
    }  # fmt: skip
    assert "checkins_on_time" in failing(visit)


# --- report.html, as verify.py reads it ---------------------------------------------------


@pytest.fixture
def unreceipted(world: Any, clock: Any, tmp_path: Path) -> Path:
    """The bundle of a visit that fails one check (no notice receipt)."""
    making = Visiting(world, clock).arrive()
    making.photo()
    making.record().leave().report()
    legal = world.client(world.legal, "desk")
    return unzip(download(legal, f"/api/v1/visits/{making.visit.pk}/bundle/"), tmp_path)


def run(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "verify.py", *pinned()], cwd=root, capture_output=True, text=True
    )


def test_report_html_marks_the_verdict_its_entries_show(unreceipted: Path) -> None:
    page = (unreceipted / "report.html").read_text()
    assert 'data-verdict="fail"' in page
    assert 'data-check="notice_outcome" data-ok="false"' in page
    assert 'data-check="door_photo" data-ok="true"' in page
    verified = run(unreceipted)
    assert verified.returncode == 0, verified.stdout
    assert "compliance verdict on 1 visit(s) is what their entries show" in verified.stdout


def flip_to_compliant(page: str) -> str:
    """What someone holding our key would write: every mark and word says compliant."""
    page = page.replace('data-verdict="fail"', 'data-verdict="pass"')
    page = page.replace('data-ok="false"', 'data-ok="true"')
    page = re.sub(r'class="bad">(failed|未通过)<', lambda m: 'class="ok">passed<', page)
    return re.sub(
        r'<span class="bad">[^<]*</span>', '<span class="ok">all checks passed</span>', page
    )


def test_a_report_html_flipped_to_compliant_fails_even_re_signed(unreceipted: Path) -> None:
    page = unreceipted / "report.html"
    page.write_text(flip_to_compliant(page.read_text()))
    resign(unreceipted)
    verified = run(unreceipted)
    assert verified.returncode == 1
    assert "says check notice_outcome passed, but its entries show: no notice receipt" in (
        verified.stdout
    )
    assert "verdict is not 'fail', which the entries show" in verified.stdout


@pytest.mark.parametrize(
    "rewrite, said",
    [
        # The words changed, the marks left: the reader sees "passed".
        (
            lambda p: re.sub(
                r'(data-check="notice_outcome" data-ok="false"><td>[^<]*</td>'
                r'<td class=")bad">[^<]*<',
                r'\1ok">passed<',
                p,
            ),
            "shows check notice_outcome otherwise than it marks it",
        ),
        # A row of our own in the verdict table.
        (
            lambda p: p.replace(
                "</table>", "<tr><td>Overall</td><td>compliant</td></tr></table>", 1
            ),
            "rows that name no check",
        ),
        # A check dropped.
        (
            lambda p: re.sub(r'<tr data-check="notice_outcome".*?</tr>', "", p, flags=re.S),
            "does not show check notice_outcome",
        ),
    ],
)
def test_any_other_rewrite_of_the_verdict_fails(unreceipted: Path, rewrite: Any, said: str) -> None:
    page = unreceipted / "report.html"
    text = page.read_text()
    changed = rewrite(text)
    assert changed != text
    page.write_text(changed)
    resign(unreceipted)
    verified = run(unreceipted)
    assert verified.returncode == 1
    assert said in verified.stdout, verified.stdout


def test_the_verdict_words_are_the_servers_in_every_language() -> None:
    from django.conf import settings
    from django.utils import translation

    for code, _name in settings.LANGUAGES:
        with translation.override(code):
            assert translation.gettext("passed") in verify.PASS_WORDS
            assert translation.gettext("failed") in verify.FAIL_WORDS
            assert translation.gettext("all checks passed") in verify.VERDICT_WORDS["pass"]
            assert translation.gettext("not compliant") in verify.VERDICT_WORDS["fail"]


def test_verify_knows_every_conduct_attestation() -> None:
    assert verify.ATTESTATION_ITEMS == conduct.NAMES
