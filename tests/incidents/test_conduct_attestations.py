"""The report's conduct attestations follow the seeds item by item (``rules.conduct.ITEMS``),
and one attested broken is enforced, not only recorded: the report is kept as filed, every
item stored; the visit's verdict fails naming the item; and an incident opens at once,
linked to the case, visit, report and both agents, the case put on hold, the risk manager
and legal alerted, each agent asked for an account. One test per seed rule, named after it.
"""

from __future__ import annotations

from typing import Any

import pytest

from fieldvisit.choices import AlertKind, CaseStatus, IncidentSource
from fieldvisit.compliance import judge
from fieldvisit.models import Alert, AlertNotice, ContactPoint, Incident, VisitReport
from fieldvisit.queries.visits import visit_records
from fieldvisit.rules import conduct
from tests.helpers import ATTESTATIONS, cosign, file_report, ledger_entries, report_body


def breach(world: Any, visit: Any, phone_a: Any, item: str) -> Incident:
    """A files a report attesting ``item`` broken (every other item kept); what must follow."""
    # Legal is reached through a verified e-mail address.
    ContactPoint.objects.create(
        user=world.legal,
        kind="email",
        value="legal@example.com",
        verified_at=visit.stop.route.decided_at,
    )
    response = file_report(phone_a, visit, report_body(attestations={item: False}))
    assert response.status_code == 201, response.content
    answer = response.json()
    assert answer["broken_attestations"] == [item]
    assert answer["unattested"] == []

    # Stored as filed: every item, the kept ones too.
    report = VisitReport.objects.get(pk=answer["id"])
    assert report.attestations == {**dict.fromkeys(conduct.NAMES, True), item: False}

    # The verdict fails, naming the item.
    check = judge(visit_records(visit)).checks["report_cosigned"]
    assert not check.ok and item in str(check.detail)

    # An incident, at once.
    incident = Incident.objects.get(report=report)
    assert incident.source == IncidentSource.ATTESTATION
    assert incident.rules == [item]
    assert incident.severity == conduct.BY_NAME[item].severity
    assert incident.visit_id == visit.pk and incident.case_id == visit.stop.case_id
    assert {n.agent_id for n in incident.named.all()} == {world.agent_a.pk, world.agent_b.pk}
    # The case is on hold until a risk manager decides.
    case = visit.stop.case
    case.refresh_from_db()
    assert case.status == CaseStatus.ON_HOLD
    assert incident.hold is not None and incident.hold.changed_by is None
    # The risk manager and legal are told at once.
    alert = Alert.objects.get(kind=AlertKind.INCIDENT, visit=visit)
    told = set(
        AlertNotice.objects.filter(alert=alert).values_list("recipient__username", flat=True)
    )
    assert {"supervisor", "legal"} <= told
    # Ledgered.
    opened = ledger_entries("incident.opened")
    assert len(opened) == 1 and opened[0]["data"]["rules"] == [item]
    return incident


def test_identity_and_badge_shown_上门催收物品_工作证(world: Any, visit: Any, phone_a: Any) -> None:
    breach(world, visit, phone_a, "identity_shown")


def test_debtor_identity_verified_before_debt_discussed_催收技巧_确定对方的身份(
    world: Any, visit: Any, phone_a: Any
) -> None:
    breach(world, visit, phone_a, "identity_verified_first")


def test_residence_not_entered_外访流程_5_1(world: Any, visit: Any, phone_a: Any) -> None:
    breach(world, visit, phone_a, "did_not_enter_residence")


def test_no_shouting_banging_or_repeated_ringing_外访流程_5_2(
    world: Any, visit: Any, phone_a: Any
) -> None:
    breach(world, visit, phone_a, "no_disturbance")


def test_no_physical_contact_外访流程_5_3(world: Any, visit: Any, phone_a: Any) -> None:
    incident = breach(world, visit, phone_a, "no_physical_contact")
    assert incident.severity == 40  # critical


def test_no_threats_or_insults_外访流程_5_3_行为指引_1(
    world: Any, visit: Any, phone_a: Any
) -> None:
    breach(world, visit, phone_a, "no_threats_or_insults")


def test_no_impersonation_of_police_courts_or_banks_电话催收_第三方_1(
    world: Any, visit: Any, phone_a: Any
) -> None:
    breach(world, visit, phone_a, "no_impersonation")


def test_no_promise_of_reductions_or_waivers_不得擅自承诺减免(
    world: Any, visit: Any, phone_a: Any
) -> None:
    breach(world, visit, phone_a, "no_unauthorised_reduction")


def test_nothing_disclosed_to_third_parties_电话催收_第三方_2(
    world: Any, visit: Any, phone_a: Any
) -> None:
    breach(world, visit, phone_a, "no_third_party_disclosure")


def test_no_cash_notes_goods_or_gifts_accepted_行为指引_4(
    world: Any, visit: Any, phone_a: Any
) -> None:
    breach(world, visit, phone_a, "no_cash_accepted")


def test_recording_opening_statement_spoken_外访流程_4(
    world: Any, visit: Any, phone_a: Any
) -> None:
    breach(world, visit, phone_a, "opening_statement_recorded")


def test_recording_closing_statement_spoken_外访流程_6(
    world: Any, visit: Any, phone_a: Any
) -> None:
    breach(world, visit, phone_a, "closing_statement_recorded")


def test_the_items_follow_the_seeds_one_field_each() -> None:
    assert len(conduct.ITEMS) == 12
    assert set(ATTESTATIONS) == set(conduct.NAMES)
    assert all(item.seed for item in conduct.ITEMS)


def test_every_attestation_false_at_once_fails_the_verdict_on_each(
    world: Any, closed_visit: Any, phone_a: Any, phone_b: Any
) -> None:
    """Filed and co-signed with every item false: kept, co-signed, the verdict names all
    twelve, and one incident names them all at the gravest severity."""
    payload = report_body(attestations=dict.fromkeys(conduct.NAMES, False))
    assert file_report(phone_a, closed_visit, payload).status_code == 201
    assert cosign(phone_b, closed_visit).status_code == 200

    verdict = judge(visit_records(closed_visit))
    check = verdict.checks["report_cosigned"]
    assert not verdict.ok and not check.ok
    for name in conduct.NAMES:
        assert name in str(check.detail), name
    assert "not attested" not in str(check.detail)
    incident = Incident.objects.get()
    assert incident.rules == list(conduct.NAMES)
    assert incident.severity == 40
    assert Incident.objects.count() == 1


def test_every_attestation_kept_opens_no_incident(
    world: Any, closed_visit: Any, phone_a: Any, phone_b: Any
) -> None:
    assert file_report(phone_a, closed_visit).status_code == 201
    assert cosign(phone_b, closed_visit).status_code == 200
    assert judge(visit_records(closed_visit)).checks["report_cosigned"].ok
    assert not Incident.objects.exists()
    closed_visit.stop.case.refresh_from_db()
    assert closed_visit.stop.case.status == CaseStatus.OPEN


@pytest.mark.parametrize("missing", conduct.ADDED)
def test_an_older_phone_leaves_a_new_item_not_attested_never_presumed_kept(
    world: Any, visit: Any, phone_a: Any, missing: str
) -> None:
    """Phones built before an item existed still file (the six original items are all they
    send): the report is kept, the item stored as not attested (null), the verdict fails
    on it by name, and nothing opens (nobody attested a breach)."""
    payload = report_body()
    del payload["attestations"][missing]
    response = file_report(phone_a, visit, payload)
    assert response.status_code == 201, response.content
    assert response.json()["unattested"] == [missing]
    assert response.json()["attestations"][missing] is None
    check = judge(visit_records(visit)).checks["report_cosigned"]
    assert not check.ok and f"not attested: {missing}" in str(check.detail)
    assert not Incident.objects.exists()


def test_a_report_of_the_six_original_items_keeps_its_content_and_hash(
    world: Any, visit: Any, phone_a: Any
) -> None:
    """A report filed with the six items phones have always sent signs the same content as
    before the new items existed: its co-signature and ledger entry stay valid."""
    six = dict.fromkeys(conduct.REQUIRED, True)
    payload = report_body()
    payload["attestations"] = six
    response = file_report(phone_a, visit, payload)
    assert response.status_code == 201, response.content
    report = VisitReport.objects.get(pk=response.json()["id"])
    assert report.content()["attestations"] == six
    assert report.compute_sha256() == report.content_sha256
    assert ledger_entries("report.filed")[0]["data"]["content"]["attestations"] == six
