"""POST /visits/{id}/receipts/: the outcome of delivering the stop's demand notice (rule 8),
with the signature (PNG) and the slip or mailbox photo (JPEG/HEIC) as evidence, checked,
recorded with a ledger entry and stored content-addressed only after the commit."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.db import DatabaseError, connection, transaction
from django.utils import timezone

from fieldvisit.models import EvidenceFile, LedgerEntry, Receipt, Relation, Visit
from tests import images
from tests.helpers import (
    SIGNATURE,
    SLIP,
    ZONE,
    assert_problem,
    body,
    final_path,
    ledger_entries,
    post,
    post_form,
    receipt_form,
    receipts_url,
    sha,
    signed,
    stops_of,
    stored_files,
)

pytestmark = pytest.mark.django_db(transaction=True)


def assert_nothing_kept(receipts: int = 0, before: dict[str, bytes] | None = None) -> None:
    """No new receipt, no file row, no ledger entry, no byte in storage (staging included)."""
    assert Receipt.objects.count() == receipts
    if before is None:
        assert EvidenceFile.objects.count() == 0
    assert LedgerEntry.objects.filter(kind="receipt.recorded").count() == receipts
    assert stored_files() == (before or {})


def test_a_signed_receipt_is_recorded_ledgered_and_stored(agent: Any, visit: Any) -> None:
    form = signed(visit, photo=SLIP, signer_name="  Zhang San ")
    response = post_form(agent, receipts_url(visit), form)
    assert response.status_code == 201, response.content
    answer = response.json()
    assert answer["id"] == form["id"]
    assert answer["notice_number"] == visit.stop.notice_number
    assert answer["outcome"] == "signed_by_debtor"
    assert answer["signer_name"] == "Zhang San"
    assert answer["agent"] == "agent_a"
    assert answer["signature"] == {
        "sha256": sha(SIGNATURE),
        "size": len(SIGNATURE),
        "media_type": "image/png",
    }
    assert answer["photo"] == {"sha256": sha(SLIP), "size": len(SLIP), "media_type": "image/jpeg"}
    assert answer["flags"] == []

    shown = agent.get(f"/api/v1/visits/{visit.pk}/").json()
    assert shown["receipts"] == [answer]

    (entry,) = ledger_entries("receipt.recorded")
    assert entry["subject"] == f"visit:{visit.pk}"
    data = entry["data"]
    assert data["receipt"] == form["id"]
    assert data["outcome"] == "signed_by_debtor"
    assert data["notice_number"] == visit.stop.notice_number
    assert data["signer_name"] == "Zhang San"
    assert data["signature"] == answer["signature"]
    assert data["photo"] == answer["photo"]
    assert data["flags"] == []

    # Both files at their content address, byte for byte, and nothing left in staging.
    assert stored_files() == {final_path(sha(SIGNATURE)): SIGNATURE, final_path(sha(SLIP)): SLIP}
    receipt = Receipt.objects.select_related("signature").get()
    assert receipt.signature.size == len(SIGNATURE)
    assert receipt.signature.media_type == "image/png"


def test_a_receipt_signed_by_a_relation_names_the_relation(agent: Any, visit: Any) -> None:
    # A phone from before the signer picker names the relation by name: still that relation.
    li_si = Relation.objects.create(case=visit.stop.case, name="Li Si", kind="family")
    form = receipt_form(
        visit,
        "signed_by_relation",
        signature=SIGNATURE,
        signer_name="Li Si",
        signer_relation="spouse",
    )
    response = post_form(agent, receipts_url(visit), form)
    assert response.status_code == 201, response.content
    assert (response.json()["signer_name"], response.json()["signer_relation"]) == (
        "Li Si",
        "spouse",
    )
    assert response.json()["relation"] == str(li_si.id)
    (entry,) = ledger_entries("receipt.recorded")
    assert entry["data"]["signer_relation"] == "spouse"
    assert entry["data"]["relation"] == str(li_si.id)
    assert entry["data"]["photo"] is None


@pytest.mark.parametrize(
    ("outcome", "fields", "missing"),
    [
        ("signed_by_debtor", {"signer_name": "Zhang San"}, {"signature"}),
        ("signed_by_debtor", {"signature": SIGNATURE}, {"signer_name"}),
        ("signed_by_debtor", {"signature": SIGNATURE, "signer_name": "   "}, {"signer_name"}),
        ("signed_by_debtor", {}, {"signature", "signer_name"}),
        (
            "signed_by_relation",
            {"signature": SIGNATURE, "signer_name": "Li Si"},
            {"signer_relation"},
        ),
        ("left_in_mailbox", {}, {"photo"}),
        # The slip photo is not the signature.
        ("signed_by_debtor", {"photo": SLIP, "signer_name": "Zhang San"}, {"signature"}),
    ],
)
def test_what_an_outcome_needs_is_named(
    agent: Any, visit: Any, outcome: str, fields: dict[str, Any], missing: set[str]
) -> None:
    form = receipt_form(visit, outcome, **fields)
    problem = assert_problem(post_form(agent, receipts_url(visit), form), 422, "validation_error")
    assert set(problem["errors"]) == missing
    assert_nothing_kept()


@pytest.mark.parametrize("outcome", ["refused", "not_delivered"])
def test_refused_and_not_delivered_need_no_files(agent: Any, visit: Any, outcome: str) -> None:
    response = post_form(agent, receipts_url(visit), receipt_form(visit, outcome))
    assert response.status_code == 201, response.content
    answer = response.json()
    assert (answer["outcome"], answer["signature"], answer["photo"]) == (outcome, None, None)
    assert answer["signer_name"] == ""
    assert EvidenceFile.objects.count() == 0
    assert stored_files() == {}
    (entry,) = ledger_entries("receipt.recorded")
    assert (entry["data"]["signature"], entry["data"]["photo"]) == (None, None)


def test_a_notice_left_in_the_mailbox_is_photographed(agent: Any, visit: Any) -> None:
    response = post_form(agent, receipts_url(visit), receipt_form(visit, "left_in_mailbox"))
    assert_problem(response, 422, "validation_error")
    mailbox = images.jpeg(colour="darkred")
    response = post_form(
        agent, receipts_url(visit), receipt_form(visit, "left_in_mailbox", photo=mailbox)
    )
    assert response.status_code == 201, response.content
    assert response.json()["photo"]["media_type"] == "image/jpeg"
    assert response.json()["signature"] is None
    assert stored_files() == {final_path(sha(mailbox)): mailbox}


def test_another_notice_number_is_refused(agent: Any, visit: Any, world: Any) -> None:
    other_stop = stops_of(world.route)[1]
    assert other_stop.notice_number and other_stop.notice_number != visit.stop.notice_number
    for number in (other_stop.notice_number, "N-0000-000000"):
        form = signed(visit, notice_number=number)
        assert_problem(post_form(agent, receipts_url(visit), form), 422, "notice_mismatch")
    assert_nothing_kept()


def test_a_signature_that_is_a_jpeg_is_415(agent: Any, visit: Any) -> None:
    form = signed(visit, signature=images.jpeg())
    problem = assert_problem(
        post_form(agent, receipts_url(visit), form), 415, "unsupported_media_type"
    )
    assert set(problem["errors"]) == {"signature"}
    assert_nothing_kept()


def test_a_slip_photo_that_is_a_png_is_415(agent: Any, visit: Any) -> None:
    form = receipt_form(visit, "left_in_mailbox", photo=images.png())
    problem = assert_problem(
        post_form(agent, receipts_url(visit), form), 415, "unsupported_media_type"
    )
    assert set(problem["errors"]) == {"photo"}
    assert_nothing_kept()


def test_a_good_signature_with_a_bad_photo_keeps_neither(agent: Any, visit: Any) -> None:
    form = signed(visit, photo=images.png(colour="black"))
    assert_problem(post_form(agent, receipts_url(visit), form), 415, "unsupported_media_type")
    assert_nothing_kept()


@pytest.mark.parametrize("field", ["signature", "photo"])
def test_a_declared_hash_that_differs_keeps_nothing(agent: Any, visit: Any, field: str) -> None:
    form = signed(visit, photo=SLIP, **{f"{field}_sha256": "f" * 64})
    problem = assert_problem(post_form(agent, receipts_url(visit), form), 422, "hash_mismatch")
    assert set(problem["errors"]) == {field}
    actual = SIGNATURE if field == "signature" else SLIP
    assert sha(actual) in problem["detail"]
    assert_nothing_kept()


@pytest.mark.parametrize("field", ["signature", "photo"])
def test_a_file_without_its_declared_hash_is_refused(agent: Any, visit: Any, field: str) -> None:
    form = signed(visit, photo=SLIP, **{f"{field}_sha256": None})
    assert f"{field}_sha256" not in form and field in form
    problem = assert_problem(post_form(agent, receipts_url(visit), form), 422, "validation_error")
    assert set(problem["errors"]) == {f"{field}_sha256"}
    assert_nothing_kept()


def test_an_upper_case_declared_hash_is_the_same_hash(agent: Any, visit: Any) -> None:
    form = signed(visit, signature_sha256=sha(SIGNATURE).upper())
    response = post_form(agent, receipts_url(visit), form)
    assert response.status_code == 201, response.content
    assert response.json()["signature"]["sha256"] == sha(SIGNATURE)


def test_a_receipt_of_the_open_visit_has_no_flags(agent: Any, visit: Any) -> None:
    response = post_form(agent, receipts_url(visit), receipt_form(visit, "refused"))
    assert response.status_code == 201
    assert response.json()["flags"] == []
    assert Receipt.objects.get().flags == []


def test_a_receipt_before_the_partner_arrived_is_kept_and_flagged_lone_agent(world: Any) -> None:
    stop = stops_of(world.route)[0]
    agent = world.client(world.agent_a, "phone-a")
    assert post(agent, body(world, "arrive", stop)).status_code == 201
    visit = Visit.objects.select_related("stop__address").get(stop=stop)
    assert visit.status == "arriving"
    response = post_form(agent, receipts_url(visit), signed(visit))
    assert response.status_code == 201, response.content
    assert response.json()["flags"] == ["lone_agent"]
    (entry,) = ledger_entries("receipt.recorded")
    assert entry["data"]["flags"] == ["lone_agent"]
    assert stored_files() == {final_path(sha(SIGNATURE)): SIGNATURE}


def test_a_receipt_at_a_stop_nobody_arrived_at_is_flagged_lone_agent(world: Any) -> None:
    stop = stops_of(world.route)[1]
    visit = Visit.objects.select_related("stop__address").get(stop=stop)
    assert visit.status == "planned"
    agent = world.client(world.agent_a, "phone-a")
    response = post_form(agent, receipts_url(visit), receipt_form(visit, "not_delivered"))
    assert response.status_code == 201, response.content
    assert response.json()["flags"] == ["lone_agent"]


def test_a_retry_with_the_same_id_answers_200_and_other_content_409(agent: Any, visit: Any) -> None:
    form = signed(visit, photo=SLIP)
    first = post_form(agent, receipts_url(visit), form)
    assert first.status_code == 201, first.content
    stored = stored_files()
    assert len(stored) == 2

    def again(**changes: Any) -> Any:
        fields = {"id": form["id"], "captured_at": form["captured_at"], "photo": SLIP, **changes}
        return post_form(agent, receipts_url(visit), signed(visit, **fields))

    retry = again()
    assert retry.status_code == 200, retry.content
    assert retry.json() == first.json()
    assert_problem(again(signer_name="Wang Wu"), 409, "id_conflict")
    assert_problem(again(signature=images.png(colour="gray")), 409, "id_conflict")
    assert_problem(again(outcome="refused"), 409, "id_conflict")
    # The retries and conflicts kept nothing more.
    assert_nothing_kept(receipts=1, before=stored)
    assert EvidenceFile.objects.count() == 2


def test_only_the_visits_team_agents_record_receipts(world: Any, visit: Any) -> None:
    outsider = world.client(world.outsider, "phone-o")
    assert_problem(post_form(outsider, receipts_url(visit), signed(visit)), 404, "not_found")
    supervisor = world.client(world.supervisor, "desk")
    assert_problem(
        post_form(supervisor, receipts_url(visit), signed(visit)), 403, "not_team_member"
    )
    assert_nothing_kept()


def test_receipts_are_multipart_only(agent: Any, visit: Any) -> None:
    payload = {"id": str(uuid.uuid4()), "outcome": "refused"}
    response = agent.post(receipts_url(visit), payload, format="json")
    assert_problem(response, 415, "unsupported_media_type")
    assert_nothing_kept()


def test_captured_at_keeps_its_moment(agent: Any, visit: Any) -> None:
    moment = timezone.now().astimezone(ZONE).replace(microsecond=0)
    form = receipt_form(visit, "refused", captured_at=moment.isoformat())
    assert post_form(agent, receipts_url(visit), form).status_code == 201
    assert Receipt.objects.get().captured_at == moment


@pytest.mark.parametrize(
    "statement", ["UPDATE {table} SET outcome = 'refused'", "DELETE FROM {table}"]
)
def test_the_database_refuses_to_change_receipts(agent: Any, visit: Any, statement: str) -> None:
    response = post_form(agent, receipts_url(visit), signed(visit))
    assert response.status_code == 201, response.content
    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(statement.format(table=Receipt._meta.db_table))
    assert Receipt.objects.get().outcome == "signed_by_debtor"
