"""Reports, co-signatures and reviews are append-only: the models refuse UPDATE and DELETE,
and so do the database's triggers, on both engines (DESIGN rule 11)."""

from __future__ import annotations

import uuid
from typing import Any

import pytest
from django.db import DatabaseError, IntegrityError, connection, transaction
from django.db.models import Model

from fieldvisit.actions import reports as actions
from fieldvisit.db.append_only import AppendOnlyViolation, installed_triggers, trigger_names
from fieldvisit.models import ReportCosignature, VisitReport, VisitReview

pytestmark = pytest.mark.django_db

MODELS = [VisitReport, ReportCosignature, VisitReview]


@pytest.fixture
def reviewed(world: Any, cosigned: dict[str, Any], closed_visit: Any) -> VisitReview:
    return actions.review_visit(closed_visit.pk, world.supervisor, "Checked the recording.")


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_the_tables_carry_their_triggers(model: type[Model]) -> None:
    table = model._meta.db_table
    assert installed_triggers(connection, table) == set(trigger_names(table))


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
@pytest.mark.parametrize("statement", ["UPDATE {table} SET id = id", "DELETE FROM {table}"])
def test_raw_sql_changes_are_refused(
    reviewed: VisitReview, model: type[Model], statement: str
) -> None:
    with (
        pytest.raises(DatabaseError, match="append-only"),
        transaction.atomic(),
        connection.cursor() as cursor,
    ):
        cursor.execute(statement.format(table=model._meta.db_table))
    assert model._default_manager.count() == 1


@pytest.mark.parametrize("model", MODELS, ids=lambda m: m.__name__)
def test_orm_changes_are_refused(reviewed: VisitReview, model: type[Model]) -> None:
    row = model._default_manager.get()
    with pytest.raises(AppendOnlyViolation):
        row.save()
    with pytest.raises(AppendOnlyViolation):
        row.delete()
    with pytest.raises(IntegrityError), transaction.atomic():
        model._default_manager.all().delete()
    assert model._default_manager.count() == 1


def test_the_database_keeps_the_chain_single(
    world: Any, cosigned: dict[str, Any], closed_visit: Any
) -> None:
    """A second first report, or a second correction of the same report, is refused by the
    database even if the action's checks were skipped."""
    first = VisitReport.objects.get()

    def another(**fields: Any) -> VisitReport:
        row = VisitReport(
            id=fields.pop("id"),
            visit=closed_visit,
            author=world.agent_b,
            device_id="phone-b",
            outcome="no_answer",
            received_at=first.received_at,
            content_sha256="0" * 64,
            request_sha256="0" * 64,
            **dict.fromkeys(first.attestations, True),
            **fields,
        )
        row.save()
        return row

    with pytest.raises(IntegrityError), transaction.atomic():
        another(id=uuid.uuid4())  # corrects nothing: a second first report
    another(id=uuid.uuid4(), corrects=first)
    with pytest.raises(IntegrityError), transaction.atomic():
        another(id=uuid.uuid4(), corrects=first)  # a fork
    with pytest.raises(IntegrityError), transaction.atomic():
        ReportCosignature.objects.create(
            report=first,
            agent=world.agent_a,
            device_id="phone-a",
            report_sha256=first.content_sha256,
            signed_at=first.received_at,
        )  # a second signature on one report
