"""Recording an agent's papers and an agency's agreements (seeds: 外访催收作业人员诚信规定).

Each paper is a new record and a ledger entry, in one transaction: a renewal never edits the
paper it renews, so who was qualified on which day stays provable. Only someone who oversees
the agent's team (``access.oversight_scope``) with the permission records an agent's paper.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from django.conf import settings
from django.db import transaction
from django.utils import timezone

from fieldvisit.access import oversight_scope
from fieldvisit.actions.common import require_perm, require_record_in_scope
from fieldvisit.geo import local_today
from fieldvisit.ledger import store as ledger
from fieldvisit.models import Agency, AgencyAgreement, AgentProfile, QualificationDocument
from fieldvisit.rules import RuleViolation
from fieldvisit.rules.qualifications import paper_errors
from fieldvisit.texts import _


def _check_dates(issued_on: dt.date, expires_on: dt.date, zone: str, now: dt.datetime) -> None:
    if errors := paper_errors(issued_on, expires_on, local_today(zone, now)):
        raise RuleViolation("validation_error", _("The paper's dates are not valid."), errors)


def check_document(
    document: QualificationDocument, by: Any, now: dt.datetime | None = None
) -> None:
    """Refuse (``RuleViolation``, naming the field) a paper ``by`` may not record for the
    agent: without the permission, of an agent of a team they do not oversee, or with dates
    that cannot be. ``record_document`` runs it; admin forms run it while validating."""
    require_perm(by, "fieldvisit.add_qualificationdocument", _("record agents' papers"))
    agent = AgentProfile.objects.select_related("team").get(pk=document.agent_id)
    require_record_in_scope(oversight_scope(by, ""), agent.team_id, _("agent profile"))
    zone = agent.team.timezone if agent.team else settings.TIME_ZONE
    _check_dates(document.issued_on, document.expires_on, zone, now or timezone.now())


def check_agreement(agreement: AgencyAgreement, by: Any, now: dt.datetime | None = None) -> None:
    """Refuse an agreement ``by`` may not record, or with dates that cannot be."""
    require_perm(by, "fieldvisit.add_agencyagreement", _("record agency agreements"))
    _check_dates(
        agreement.issued_on, agreement.expires_on, settings.TIME_ZONE, now or timezone.now()
    )


def _paper(row: Any) -> dict[str, Any]:
    return {
        "id": row.id,
        "reference": row.reference,
        "issued_by": row.issued_by,
        "issued_on": row.issued_on,
        "expires_on": row.expires_on,
    }


def record_document(
    *,
    agent_id: int,
    kind: str,
    reference: str,
    issued_on: dt.date,
    expires_on: dt.date,
    by: Any,
    issued_by: str = "",
    now: dt.datetime | None = None,
) -> QualificationDocument:
    """Put one of an agent's papers on file (a renewal is one more)."""
    now = now or timezone.now()
    with transaction.atomic():
        agent = AgentProfile.objects.select_for_update().get(pk=agent_id)
        document = QualificationDocument(
            agent=agent,
            kind=kind,
            reference=reference.strip(),
            issued_by=issued_by.strip(),
            issued_on=issued_on,
            expires_on=expires_on,
            recorded_by=by,
            recorded_at=now,
        )
        check_document(document, by, now)
        document.save(force_insert=True)
        ledger.append(
            "agent.document_recorded",
            ledger.actor_for(by),
            f"user:{agent.user_id}",
            {"kind": kind, **_paper(document)},
        )
    return document


def record_agreement(
    *,
    agency_id: int,
    reference: str,
    issued_on: dt.date,
    expires_on: dt.date,
    by: Any,
    issued_by: str = "",
    now: dt.datetime | None = None,
) -> AgencyAgreement:
    """Put an agency's outsourcing agreement on file (a renewal is one more)."""
    now = now or timezone.now()
    with transaction.atomic():
        agency = Agency.objects.select_for_update().get(pk=agency_id)
        agreement = AgencyAgreement(
            agency=agency,
            reference=reference.strip(),
            issued_by=issued_by.strip(),
            issued_on=issued_on,
            expires_on=expires_on,
            recorded_by=by,
            recorded_at=now,
        )
        check_agreement(agreement, by, now)
        agreement.save(force_insert=True)
        ledger.append(
            "agency.agreement_recorded",
            ledger.actor_for(by),
            f"agency:{agency.pk}",
            {"agency": agency.name, **_paper(agreement)},
        )
    return agreement
