"""A case's status and do-not-contact flag: changed only here, each change a record of its own
(``CaseStatusChange``) with its reason and a ledger entry, in the change's transaction.

Whether a visit was lawful depends on them: a debtor the company agreed not to contact, or a
case on hold, disputed, paid or closed, is not to be visited (``rules.cases``), and a court
asks when that changed and why.
"""

from __future__ import annotations

from typing import Any

from django.db import transaction
from django.utils import timezone

from fieldvisit.actions.common import require_perm
from fieldvisit.ledger import store as ledger
from fieldvisit.models import Case, CaseStatusChange
from fieldvisit.rules import RuleViolation
from fieldvisit.rules.cases import CaseState
from fieldvisit.texts import _


def case_state(case: Case) -> CaseState:
    """What the visiting rules read of a case."""
    return CaseState(case.number, case.status, case.status_reason, case.do_not_contact)


def change_case_status(
    case_id: Any, *, status: str, do_not_contact: bool, reason: str, by: Any
) -> CaseStatusChange | None:
    """Set the case's status and do-not-contact flag, giving the reason. Nothing is written
    when neither changes; a change without a reason is refused."""
    reason = reason.strip()
    with transaction.atomic():
        require_perm(by, "fieldvisit.change_case", _("change cases"))
        case = Case.objects.select_for_update().get(pk=case_id)
        if (case.status, case.do_not_contact) == (status, do_not_contact):
            return None
        if not reason:
            detail = _("Say why the status changes.")
            raise RuleViolation("validation_error", detail, errors={"status_reason": [detail]})
        change = CaseStatusChange.objects.create(
            case=case,
            status=status,
            previous_status=case.status,
            do_not_contact=do_not_contact,
            reason=reason,
            changed_by=by,
            changed_at=timezone.now(),
        )
        ledger.append(
            "case.status_changed",
            ledger.actor_for(by),
            f"case:{case.pk}",
            {
                "case": case.number,
                "status": status,
                "previous_status": case.status,
                "do_not_contact": do_not_contact,
                "previous_do_not_contact": case.do_not_contact,
                "reason": reason,
            },
        )
        case.status, case.do_not_contact, case.status_reason = status, do_not_contact, reason
        case.save(update_fields=["status", "do_not_contact", "status_reason", "updated_at"])
    return change
