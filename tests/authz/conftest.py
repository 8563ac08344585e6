"""Authorization tests: on the pinned clock, with real transactions, and a scene in which
every kind of record exists."""

from __future__ import annotations

import datetime as dt
from typing import Any

import pytest
from django.contrib.auth.models import User
from django.utils import timezone

from fieldvisit.actions import alerts, incidents
from fieldvisit.actions import reports as report_actions
from fieldvisit.actions.qualifications import record_agreement
from fieldvisit.choices import RelationKind
from fieldvisit.models import Agency, AgentProfile, Checkpoint, CheckpointTimestamp, Relation
from tests import factories
from tests.authz.scene import Scene


@pytest.fixture(autouse=True)
def _pinned_clock(clock: Any) -> None:
    """Every test here runs on the pinned clock, set before ``world`` is built."""


@pytest.fixture
def scene(world: Any) -> Scene:
    return Scene(world)


@pytest.fixture
def full_scene(scene: Scene) -> Scene:
    """The scene, with the records only admin shows: a relation and a review."""
    w = scene.world
    Relation.objects.create(case=w.cases[0], name="Li Si", kind=RelationKind.choices[0][0])
    report_actions.cosign_report(scene.closed, w.agent_a, "phone-a", scene.report.pk)
    report_actions.review_visit(scene.closed.pk, w.supervisor, "Looks right.")
    # An outsourcing agency with its agreement, agent B working for it.
    agency = Agency.objects.create(name="Acme Field Services")
    record_agreement(
        agency_id=agency.pk,
        reference="AG-1",
        issued_on=dt.date(2025, 1, 1),
        expires_on=dt.date(2099, 12, 31),
        by=w.supervisor,
    )
    AgentProfile.objects.filter(user=w.agent_b).update(agency=agency)
    # A time-stamp authority that did not answer: an attempt on record.
    CheckpointTimestamp.objects.create(
        checkpoint=Checkpoint.objects.order_by("pk").first(),
        authority="https://tsa.example/",
        requested_at=timezone.now(),
        error="timed out",
    )
    # A conduct incident (closed by a compliance officer: the case is open again), a
    # complaint, and a suspension of a third agent, lifted.
    officer = User.objects.create_superuser("compliance_officer", password="x")
    incident = scene.incident()
    incidents.decide(
        incident.pk, decision="warning", findings="Warned.", case_status="open", by=officer
    )
    alerts.resolve(incident.alert_id, w.supervisor, "Incident decided.")
    incidents.record_complaint(
        incidents.ComplaintData(
            channel="phone",
            complainant_kind="relation",
            complainant_name="Wang Fang",
            complainant_contact="",
            case_number=w.cases[0].number,
            category="disturbance",
            description="They rang the bell again and again.",
        ),
        by=w.supervisor,
    )
    suspension = incidents.suspend_agent(
        factories.agent("agent_c", w.team), reason="Pending review.", by=w.risk
    )
    incidents.lift_suspension(suspension.pk, reason="Cleared.", by=w.risk)
    return scene
