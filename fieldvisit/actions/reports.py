"""Filing, co-signing and reviewing visit reports (DESIGN rules 9 and 11).

The rules, as this module applies them:

- A report is filed by a qualified agent of the visit's team who arrived at the visit, once
  the visit has begun (someone arrived). It may be written before the agents leave.
- A visit has one chain of reports. The first corrects nothing; every later one is a
  correction that names the current report (the chain's head) in ``corrects``. Nothing is
  edited: the old report stays, marked superseded by the new one.
- The co-signer is the other agent: a qualified agent of the team who arrived at the visit
  and did not write the report. Co-signing waits until the visit is closed (both agents
  left), because the report attests the closing statement. The co-signature records the
  SHA-256 of the report's canonical content.
- Visit status: ``reported`` means "closed, and the current report is co-signed". A
  co-signature moves a closed visit to ``reported``. Filing a correction of a reported or
  reviewed visit moves it back to ``closed`` (the new report awaits its co-signature); the
  correction's co-signature makes it ``reported`` again, to be reviewed again.
- A review is made by a supervisor or risk manager of the visit's team holding
  ``review_visit``, with a comment, on a ``reported`` (or already ``reviewed``) visit; it
  points at the report read, keeps the compliance verdict it was made on, and moves the
  visit to ``reviewed``. Evidence received after it moves the visit back to ``reported``
  (``fieldvisit.actions.late_evidence``); the review itself never changes.

Each step is one durable transaction with its ledger entry, under a lock on the visit row.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import uuid
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone

from fieldvisit.actions import incidents, late_evidence, lone
from fieldvisit.actions.common import lock_visit, require_perm, require_team_agent
from fieldvisit.choices import CheckInKind, PromiseTerms, ReportStatus, VisitStatus
from fieldvisit.compliance import judge
from fieldvisit.ledger import store as ledger
from fieldvisit.models import Case, CheckIn, ReportCosignature, Visit, VisitReport, VisitReview
from fieldvisit.queries.visits import current_report, may_review, visit_records
from fieldvisit.rules import RuleViolation
from fieldvisit.rules import reports as report_rules
from fieldvisit.texts import _, format_lazy, records_language

COSIGNABLE = (VisitStatus.CLOSED, VisitStatus.REPORTED, VisitStatus.REVIEWED)
REVIEWABLE = (VisitStatus.REPORTED, VisitStatus.REVIEWED)


def _arrived(visit: Visit) -> set[int]:
    return set(
        CheckIn.objects.filter(visit=visit, kind=CheckInKind.ARRIVE).values_list(
            "agent_id", flat=True
        )
    )


def _move(visit: Visit, status: str) -> dict[str, str] | None:
    """Set the visit's status; the change as the ledger records it (None if unchanged)."""
    if visit.status == status:
        return None
    change = {"from": visit.status, "to": status}
    visit.status = status
    visit.save(update_fields=["status"])
    return change


@dataclass
class ReportData:
    id: uuid.UUID
    visit: Visit
    outcome: str
    promise_amount: Decimal | None
    promise_date: dt.date | None
    notes: str
    attestations: dict[str, bool]
    corrects: uuid.UUID | None
    promise_terms: str = ""  # empty: in full when it covers the amount due, else an instalment
    promise_method: str = ""
    promise_payer: str = ""  # empty: the debtor
    promise_payer_voluntary: bool | None = None
    promise_authorisation: str = ""


def file_report(
    data: ReportData,
    agent: Any,
    device_id: str,
    fingerprint: str,
    now: dt.datetime | None = None,
) -> VisitReport:
    """File the visit's first report, or a correction naming its current one."""
    require_team_agent(agent, data.visit.stop.route.team_id)
    with transaction.atomic(durable=True):
        visit = lock_visit(data.visit.pk)
        received_at = now or timezone.now()  # under the lock, like a review's time
        if VisitReport.objects.filter(pk=data.id).exists():
            # A concurrent retry of the same request committed while this one waited for the
            # lock: the caller's create_once answers with that report (or id_conflict).
            raise IntegrityError(f"report {data.id} exists")
        report_rules.check_may_file(_arrived(visit), agent.pk).raise_if_failed()
        data = _with_promise_terms(data, visit)
        current = current_report(visit)
        _require_corrects_current(data.corrects, current)
        report = _new_report(data, visit, agent, device_id, fingerprint, received_at, current)
        content = report.content()
        report.content_sha256 = report.compute_sha256()
        report.save()
        # A correction of a co-signed report awaits its own co-signature.
        was_reviewed = visit.status == VisitStatus.REVIEWED
        change = _move(visit, VisitStatus.CLOSED) if visit.status in REVIEWABLE else None
        actor = ledger.actor_for(agent, device_id)
        ledger.append("report.filed", actor, f"visit:{visit.id}", _filed(report, content, change))
        # A rule attested broken is an incident at once, not only a failed check.
        incidents.from_report(report, visit, actor)
        if visit.status == VisitStatus.ARRIVING:  # filed while the partner had not arrived
            lone.raise_lone_alert(visit, agent, "report", actor, captured_at=received_at)
        if was_reviewed:
            # Received after the review: the review stays, the supervisors hear of it.
            late_evidence.review_reopened(
                visit,
                kind="report",
                record_id=report.id,
                received_at=received_at,
                actor=actor,
                agent=agent,
                flags=[],
                late_by_s=None,
                change=change,
            )
    return report


def _require_corrects_current(corrects: uuid.UUID | None, current: VisitReport | None) -> None:
    """The first report corrects nothing; every later one names the chain's head."""
    if current is None and corrects is not None:
        detail = _("The visit has no report yet: there is nothing to correct.")
        raise RuleViolation("validation_error", detail, {"corrects": [detail]})
    if current is not None and corrects is None:
        raise RuleViolation(
            "report_exists",
            format_lazy(
                _(
                    "The visit already has a report ({id}). A second report is a correction: "
                    "name the current report in `corrects`."
                ),
                id=current.id,
            ),
        )
    if current is not None and corrects != current.id:
        raise RuleViolation(
            "not_current_report",
            format_lazy(_("A correction names the visit's current report ({id})."), id=current.id),
        )


def _with_promise_terms(data: ReportData, visit: Visit) -> ReportData:
    """The promise's terms as filed (inferred when the phone did not say: in full when it
    covers the amount due, else an instalment), judged against the case's amount due and its
    creditor's limit on reductions (``rules.reports.check_promise_terms``)."""
    if data.promise_amount is None:
        return data
    verdict = report_rules.check_payer_voluntary(data.promise_payer, data.promise_payer_voluntary)
    if not verdict.ok:
        raise RuleViolation(verdict.code, verdict.detail, {"payer_voluntary": [verdict.detail]})
    case = Case.objects.select_related("creditor").get(stops__pk=visit.stop_id)
    terms = data.promise_terms or (
        PromiseTerms.FULL if data.promise_amount >= case.amount_due else PromiseTerms.INSTALMENT
    )
    report_rules.check_promise_terms(
        data.promise_amount,
        case.amount_due,
        terms,
        data.promise_authorisation,
        case.creditor.max_reduction_pct,
    ).raise_if_failed()
    return dataclasses.replace(data, promise_terms=terms)


def _new_report(
    data: ReportData,
    visit: Visit,
    agent: Any,
    device_id: str,
    fingerprint: str,
    received_at: dt.datetime,
    current: VisitReport | None,
) -> VisitReport:
    """The report as filed, not yet saved."""
    return VisitReport(
        id=data.id,
        visit=visit,
        author=agent,
        device_id=device_id,
        outcome=data.outcome,
        promise_amount=data.promise_amount,
        promise_date=data.promise_date,
        promise_terms=data.promise_terms,
        promise_method=data.promise_method,
        promise_payer=data.promise_payer,
        promise_payer_voluntary=data.promise_payer_voluntary,
        promise_authorisation=data.promise_authorisation,
        notes=data.notes,
        corrects_id=current.id if current is not None else None,
        received_at=received_at,
        request_sha256=fingerprint,
        **data.attestations,
    )


def _filed(report: VisitReport, content: dict, change: dict[str, str] | None) -> dict:
    """The ``report.filed`` ledger entry's data."""
    return {
        "report": report.id,
        "content": content,
        "content_sha256": report.content_sha256,
        "failed_attestations": report.failed_attestations,
        "broken_attestations": report.broken_attestations,
        "unattested": report.unattested,
        "received_at": report.received_at,
        "status": ReportStatus.AWAITING_COSIGN,
        "visit_status": change,
    }


@dataclass
class Cosigned:
    cosignature: ReportCosignature
    report: VisitReport
    created: bool


def cosign_report(
    visit: Visit,
    agent: Any,
    device_id: str,
    report_id: uuid.UUID | None = None,
    now: dt.datetime | None = None,
) -> Cosigned:
    """The partner co-signs the visit's current report (``report_id``, when the phone names
    the report it read, must be that one). Signing again answers with the same signature."""
    require_team_agent(agent, visit.stop.route.team_id)
    signed_at = now or timezone.now()
    with transaction.atomic(durable=True):
        locked = lock_visit(visit.pk)
        report = _report_to_cosign(locked, agent, report_id)
        existing = report.cosignature_or_none()
        if existing is not None:
            if existing.agent_id == agent.pk:
                return Cosigned(existing, report, created=False)
            raise RuleViolation(
                "already_cosigned",
                format_lazy(
                    _("The report is already co-signed by {username}."),
                    username=existing.agent.get_username(),
                ),
            )
        closed = locked.status in COSIGNABLE
        report_rules.check_may_cosign(_arrived(locked), agent.pk, closed).raise_if_failed()
        digest = report.compute_sha256()
        cosignature = ReportCosignature.objects.create(
            report=report,
            agent=agent,
            device_id=device_id,
            report_sha256=digest,
            signed_at=signed_at,
        )
        report.cosignature = cosignature
        change = _move(locked, VisitStatus.REPORTED)
        ledger.append(
            "report.cosigned",
            ledger.actor_for(agent, device_id),
            f"visit:{locked.id}",
            _cosigned(report, cosignature, change),
        )
    return Cosigned(cosignature, report, created=True)


def _report_to_cosign(visit: Visit, agent: Any, report_id: uuid.UUID | None) -> VisitReport:
    """The visit's current report, when it is the one the phone named and ``agent`` did
    not write it."""
    report = current_report(visit)
    if report is None:
        raise RuleViolation("report_missing", _("The visit has no report to co-sign yet."))
    if report_id is not None and report_id != report.id:
        raise RuleViolation(
            "not_current_report",
            format_lazy(_("The visit's current report is {id}; co-sign that one."), id=report.id),
        )
    if report.author_id == agent.pk:
        raise RuleViolation(
            "cosign_by_author",
            _("The author of a report cannot co-sign it: the other agent does."),
        )
    return report


def _cosigned(
    report: VisitReport, cosignature: ReportCosignature, change: dict[str, str] | None
) -> dict:
    """The ``report.cosigned`` ledger entry's data."""
    return {
        "report": report.id,
        "cosignature": cosignature.id,
        "author": report.author_id,
        "report_sha256": cosignature.report_sha256,
        "signed_at": cosignature.signed_at,
        "failed_attestations": report.failed_attestations,
        "visit_status": change,
    }


def review_visit(
    visit_id: Any, by: Any, comment: str, now: dt.datetime | None = None
) -> VisitReview:
    """A supervisor reviews the visit's co-signed report; the review keeps the verdict it saw."""
    comment = comment.strip()
    if not comment:
        raise RuleViolation("comment_required", _("Say what the review found."))
    with transaction.atomic(durable=True):
        visit = lock_visit(visit_id)
        # Under the lock, as evidence takes its time of arrival (``late_evidence.arriving``).
        created_at = now or timezone.now()
        _require_reviewer(by, visit)
        records = visit_records(visit)
        report, cosignature = _cosigned_report(visit, records.report)
        # The verdict the supervisor reviews, kept with the review: evidence that arrives
        # later re-opens the visit (``late_evidence``) and never changes what this one saw.
        with records_language():  # kept as a record: in the deployment's language
            verdict = judge(records).as_dict()
        review_id = uuid.uuid4()
        change = _move(visit, VisitStatus.REVIEWED)
        entry = ledger.append(
            "visit.reviewed",
            ledger.actor_for(by),
            f"visit:{visit.id}",
            {
                "review": review_id,
                "report": report.id,
                "report_sha256": report.content_sha256,
                "cosignature": cosignature.id,
                "comment": comment,
                "reviewed_at": created_at,
                "compliance": verdict,
                "visit_status": change,
            },
        )
        # Its place in the ledger says what it saw: the visit's records entered before it
        # (``queries.visits.recorded_after``).
        review = VisitReview.objects.create(
            id=review_id,
            visit=visit,
            report=report,
            reviewer=by,
            comment=comment,
            created_at=created_at,
            compliance=verdict,
            ledger_index=entry.index,
        )
    return review


def _require_reviewer(by: Any, visit: Visit) -> None:
    """Only a supervisor (or risk manager) of the visit's team with the right reviews it."""
    require_perm(by, "fieldvisit.review_visit", _("review visits"))
    if not may_review(by, visit):
        raise RuleViolation(
            "permission_denied", _("Only a supervisor of the visit's team reviews it.")
        )


def _cosigned_report(
    visit: Visit, report: VisitReport | None
) -> tuple[VisitReport, ReportCosignature]:
    """The report a review reads: the current one (``report``), co-signed, on a reported
    visit."""
    cosignature = report.cosignature_or_none() if report is not None else None
    if visit.status not in REVIEWABLE or cosignature is None:
        raise RuleViolation(
            "visit_not_reported", _("The visit has no co-signed report to review yet.")
        )
    return report, cosignature
