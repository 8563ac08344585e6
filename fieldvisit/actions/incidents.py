"""Conduct incidents and complaints: opened, accounted for, decided; agents suspended and
reinstated. Each step one transaction with its records and ledger entry.

An incident opens, inside the transaction of what opened it, when

- a report attests a rule of the seeds broken (``rules.conduct.broken``),
- an agent records evidence alone at the door (``actions.lone``: 行为指引 2),
- a serious complaint is received (``rules.conduct.opens_incident``),
- a supervisor records a finding in admin.

Opening it, at once: alerts the team's on-call chain and, directly, the team's risk manager
and every legal user (an ``incident`` alert); asks each named agent for a written account
(due in ``ACCOUNT_DUE``); puts an open case on hold (a ``CaseStatusChange`` by the system,
with the incident as its reason), so no route is approved and no arrival accepted for it.
Only the team's risk manager closes it, with a decision and findings, and says what the case
becomes; a case another open incident still holds stays on hold.
"""

from __future__ import annotations

import datetime as dt
import secrets
import uuid
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from django.contrib.auth import get_user_model
from django.db import transaction
from django.utils import timezone

from fieldvisit.access import has_role
from fieldvisit.actions import alerts, deliveries, notices
from fieldvisit.actions.common import require_perm
from fieldvisit.channels import registry as channels
from fieldvisit.choices import (
    AlertKind,
    CaseStatus,
    IncidentDecisionKind,
    IncidentSource,
    Role,
)
from fieldvisit.ledger import store as ledger
from fieldvisit.models import (
    AgentSuspension,
    AlertNotice,
    Case,
    CaseStatusChange,
    Complaint,
    ComplaintAgent,
    ComplaintAnswer,
    Incident,
    IncidentAccount,
    IncidentAgent,
    IncidentDecision,
    SuspensionLift,
    Team,
    Visit,
    VisitReport,
)
from fieldvisit.rules import RuleViolation, conduct
from fieldvisit.texts import _, for_records, format_lazy
from fieldvisit.words import person_name

SYSTEM = ledger.actor_for(system="fieldvisit")
# Each agent's written account is due within a day: while they remember the door.
ACCOUNT_DUE = dt.timedelta(hours=24)


# --- opening ---------------------------------------------------------------------------------


def open_incident(
    *,
    source: str,
    rules: Sequence[str],
    summary: Any,
    case: Case,
    team: Team,
    agents: Iterable[Any],
    actor: dict[str, Any],
    visit: Visit | None = None,
    report: VisitReport | None = None,
    complaint: Complaint | None = None,
    opened_by: Any = None,
    severity: int | None = None,
    now: dt.datetime | None = None,
) -> Incident:
    """Open an incident inside the caller's transaction (see the module's docstring)."""
    now = now or timezone.now()
    severity = severity or conduct.severity_of(list(rules))
    named = list({agent.pk: agent for agent in agents}.values())
    incident_id = uuid.uuid4()
    detail = format_lazy(
        _("Incident on case {case}: {summary} Agents: {agents}. The case is on hold."),
        case=case.number,
        summary=summary,
        agents=", ".join(person_name(a) for a in named) or "-",
    )
    alert = alerts.raise_alert(
        kind=AlertKind.INCIDENT,
        team=team,
        detail=detail,
        actor=actor,
        severity=severity,
        visit=visit,
        route=visit.stop.route if visit is not None else None,
        agent=named[0] if len(named) == 1 else None,
    )
    told = _tell_risk_and_legal(alert, team, now)
    hold = _hold_case(case, incident_id, now)
    incident = Incident.objects.create(
        id=incident_id,
        source=source,
        rules=list(rules),
        severity=severity,
        summary=for_records(summary),
        case=case,
        visit=visit,
        team=team,
        report=report,
        complaint=complaint,
        alert=alert,
        hold=hold,
        opened_by=opened_by,
        opened_at=now,
    )
    due = now + ACCOUNT_DUE
    IncidentAgent.objects.bulk_create(
        [IncidentAgent(incident=incident, agent=a, account_due_at=due) for a in named]
    )
    ledger.append(
        "incident.opened",
        actor,
        f"visit:{visit.pk}" if visit is not None else f"case:{case.pk}",
        {
            "incident": incident.id,
            "source": source,
            "rules": list(rules),
            "severity": severity,
            "summary": incident.summary,
            "case": case.number,
            "visit": visit.pk if visit is not None else None,
            "report": report.pk if report is not None else None,
            "complaint": complaint.reference if complaint is not None else None,
            "agents": [a.pk for a in named],
            "accounts_due_at": due,
            "alert": alert.pk,
            "told_at_once": told,
            "case_on_hold": hold is not None,
            "opened_at": now,
        },
    )
    return incident


def _tell_risk_and_legal(alert: Any, team: Team, now: dt.datetime) -> list[str]:
    """The team's risk manager and every legal user hear of the incident at once, besides
    the on-call chain's first person (``raise_alert``): a notice each through every channel
    the severity uses that reaches them, on the alert's current step."""
    User = get_user_model()
    already = set(alert.notices.values_list("recipient_id", flat=True))
    people = [team.risk_manager] if team.risk_manager_id else []
    people += list(
        User.objects.filter(groups__name=Role.LEGAL, is_active=True)
        .prefetch_related("contact_points")
        .order_by("pk")
    )
    made = []
    for user in dict.fromkeys(people):
        if user.pk in already:
            continue
        recipient = notices.recipient_of(user)
        for channel in channels.for_severity(alert.severity):
            target = channel.target(recipient)
            if target:
                made.append(
                    AlertNotice(
                        alert=alert,
                        step=max(alert.step, 1),
                        recipient=user,
                        channel=channel.name,
                        target=target[:254],
                        next_try_at=now,
                        created_at=now,
                    )
                )
    AlertNotice.objects.bulk_create(made)
    if made:
        alert_id = alert.pk
        transaction.on_commit(lambda: deliveries.dispatch(alert_id))
    return sorted({person_name(n.recipient) for n in made})


def _hold_case(case: Case, incident_id: uuid.UUID, now: dt.datetime) -> CaseStatusChange | None:
    """Put an open case on hold for the incident (a system change, ledgered). A case that
    is not open (already held, disputed, closed, ...) is left as it is."""
    case = Case.objects.select_for_update().get(pk=case.pk)
    if case.status != CaseStatus.OPEN:
        return None
    reason = for_records(
        format_lazy(_("Conduct incident {id} opened: on hold until decided."), id=incident_id)
    )
    change = CaseStatusChange.objects.create(
        case=case,
        status=CaseStatus.ON_HOLD,
        previous_status=case.status,
        do_not_contact=case.do_not_contact,
        reason=reason,
        changed_by=None,
        changed_at=now,
    )
    ledger.append(
        "case.status_changed",
        SYSTEM,
        f"case:{case.pk}",
        {
            "case": case.number,
            "status": CaseStatus.ON_HOLD,
            "previous_status": case.status,
            "do_not_contact": case.do_not_contact,
            "previous_do_not_contact": case.do_not_contact,
            "reason": reason,
            "incident": incident_id,
        },
    )
    case.status, case.status_reason = CaseStatus.ON_HOLD, reason
    case.save(update_fields=["status", "status_reason", "updated_at"])
    return change


def _visit_agents(visit: Visit) -> list[Any]:
    """The agents who arrived at the visit: those a report about it speaks for."""
    User = get_user_model()
    return list(
        User.objects.filter(checkins__visit=visit, checkins__kind="arrive")
        .distinct()
        .order_by("pk")
    )


def from_report(report: VisitReport, visit: Visit, actor: dict[str, Any]) -> Incident | None:
    """A report that attests a rule broken opens an incident (inside ``file_report``'s
    transaction): the agents of the visit are named, the report linked."""
    # A correction that states again what an open incident of the visit already holds
    # opens nothing new; a rule it newly says was broken does.
    held = {
        rule
        for rules in Incident.objects.filter(
            visit=visit, source=IncidentSource.ATTESTATION, decision__isnull=True
        ).values_list("rules", flat=True)
        for rule in rules
    }
    broken = [name for name in report.broken_attestations if name not in held]
    if not broken:
        return None
    statements = "; ".join(str(conduct.BY_NAME[name].statement) for name in broken)
    summary = format_lazy(
        _("The visit report attests these rules broken: {rules} (not kept: {statements})."),
        rules=", ".join(broken),
        statements=statements,
    )
    return open_incident(
        source=IncidentSource.ATTESTATION,
        rules=broken,
        summary=summary,
        case=visit.stop.case,
        team=visit.stop.route.team,
        agents=_visit_agents(visit) or [report.author],
        actor=actor,
        visit=visit,
        report=report,
        now=report.received_at,
    )


def from_lone_action(visit: Visit, agent: Any, what: Any, actor: dict[str, Any]) -> Incident | None:
    """An agent who recorded evidence alone at the door (行为指引 2: 严禁单独行动). Each
    lone record raises its alert; one incident stands for them while it is open."""
    already = Incident.objects.filter(
        visit=visit,
        source=IncidentSource.LONE_AGENT,
        named__agent=agent,
        decision__isnull=True,
    ).exists()
    if already:
        return None
    return open_incident(
        source=IncidentSource.LONE_AGENT,
        rules=[conduct.LONE_AGENT_RULE],
        summary=format_lazy(
            _("{agent} recorded {what} without their partner beside them (行为指引 2)."),
            agent=person_name(agent),
            what=what,
        ),
        case=visit.stop.case,
        team=visit.stop.route.team,
        agents=[agent],
        actor=actor,
        visit=visit,
    )


def open_finding(
    *, visit_id: Any, rules: Sequence[str], summary: str, agents: Sequence[Any], by: Any
) -> Incident:
    """A supervisor's finding (reviewing a recording, a photo, a call): an incident they
    open by hand, naming the visit, the rules and the agents."""
    summary = summary.strip()
    require_perm(by, "fieldvisit.add_incident", _("open incidents"))
    if not summary:
        detail = _("Say what was found.")
        raise RuleViolation("validation_error", detail, {"summary": [detail]})
    unknown = [r for r in rules if r not in conduct.BY_NAME and r != conduct.LONE_AGENT_RULE]
    if not rules or unknown:
        detail = _("Name the rules the finding concerns.")
        raise RuleViolation("validation_error", detail, {"rules": [detail]})
    with transaction.atomic(durable=True):
        visit = Visit.objects.select_related("stop__case", "stop__route__team").get(pk=visit_id)
        team = visit.stop.route.team
        _require_overseer(by, team)
        if not agents:
            detail = _("Name the agents concerned.")
            raise RuleViolation("validation_error", detail, {"agents": [detail]})
        return open_incident(
            source=IncidentSource.FINDING,
            rules=list(rules),
            summary=summary,
            case=visit.stop.case,
            team=team,
            agents=agents,
            actor=ledger.actor_for(by),
            visit=visit,
            opened_by=by,
        )


def _require_overseer(by: Any, team: Team) -> None:
    if not (by.is_superuser or by.pk in (team.supervisor_id, team.risk_manager_id)):
        raise RuleViolation("not_found", _("No such visit."))


# --- accounts and decisions ------------------------------------------------------------------


def submit_account(
    incident_id: Any, agent: Any, text: str, account_id: uuid.UUID, device_id: str, digest: str
) -> IncidentAccount:
    """A named agent's written account of the incident, while it is open."""
    text = text.strip()
    if not text:
        detail = _("Write the account.")
        raise RuleViolation("validation_error", detail, {"text": [detail]})
    with transaction.atomic(durable=True):
        incident = Incident.objects.select_for_update().filter(pk=incident_id).first()
        named = incident is not None and incident.named.filter(agent=agent).exists()
        closed = (
            incident is not None and IncidentDecision.objects.filter(incident=incident).exists()
        )
        conduct.check_account_by_named_agent(named, closed).raise_if_failed()
        assert incident is not None  # narrowed by the check
        account = IncidentAccount.objects.create(
            id=account_id,
            incident=incident,
            agent=agent,
            device_id=device_id,
            text=text,
            submitted_at=timezone.now(),
            request_sha256=digest,
        )
        ledger.append(
            "incident.account",
            ledger.actor_for(agent, device_id),
            f"incident:{incident.pk}",
            {
                "incident": incident.pk,
                "account": account.pk,
                "agent": agent.pk,
                "text": text,
                "submitted_at": account.submitted_at,
            },
        )
    return account


def may_decide(by: Any, incident: Incident) -> bool:
    """The team's risk manager (or a superuser), holding ``decide_incident``."""
    if not by.has_perm("fieldvisit.decide_incident"):
        return False
    return bool(by.is_superuser or incident.team.risk_manager_id == by.pk)


def decide(
    incident_id: Any,
    *,
    decision: str,
    findings: str,
    case_status: str,
    by: Any,
    suspend: bool = False,
    now: dt.datetime | None = None,
) -> IncidentDecision:
    """The risk manager closes the incident with a decision and findings, and sets what the
    case becomes (``case_status``; a case another open incident holds stays on hold). A
    suspension decision suspends every agent the incident names."""
    findings = findings.strip()
    require_perm(by, "fieldvisit.decide_incident", _("close incidents"))
    if not findings:
        detail = _("Give the findings the decision rests on.")
        raise RuleViolation("validation_error", detail, {"findings": [detail]})
    if decision not in IncidentDecisionKind.values or case_status not in CaseStatus.values:
        raise RuleViolation("validation_error", _("Choose a decision and the case's status."))
    now = now or timezone.now()
    with transaction.atomic(durable=True):
        incident = (
            Incident.objects.select_for_update(of=("self",))
            .select_related("team", "case")
            .filter(pk=incident_id)
            .first()
        )
        if incident is None or not may_decide(by, incident):
            raise RuleViolation("not_found", _("No such incident."))
        closed = IncidentDecision.objects.filter(incident=incident).exists()
        conduct.check_decidable(closed, incident.opened_by_id, by.pk).raise_if_failed()
        release = _release_case(incident, case_status, by, now)
        made = IncidentDecision.objects.create(
            incident=incident,
            decision=decision,
            findings=findings,
            decided_by=by,
            decided_at=now,
            release=release,
        )
        suspended = []
        if suspend or decision == IncidentDecisionKind.SUSPENSION:
            for named in incident.named.select_related("agent"):
                suspended.append(
                    _suspend(named.agent, incident, findings, by, now).pk,
                )
        ledger.append(
            "incident.decided",
            ledger.actor_for(by),
            f"incident:{incident.pk}",
            {
                "incident": incident.pk,
                "decision": decision,
                "findings": findings,
                "case": incident.case.number,
                "case_status": incident.case.status,
                "suspensions": suspended,
                "decided_at": now,
            },
        )
    return made


def _release_case(
    incident: Incident, status: str, by: Any, now: dt.datetime
) -> CaseStatusChange | None:
    """What the case becomes when the incident closes; while another open incident of the
    case holds it, it stays on hold."""
    case = Case.objects.select_for_update().get(pk=incident.case_id)
    others_open = (
        Incident.objects.filter(case=case, decision__isnull=True).exclude(pk=incident.pk).exists()
    )
    if others_open and status != CaseStatus.ON_HOLD:
        status = CaseStatus.ON_HOLD
    if case.status == status:
        return None
    reason = for_records(format_lazy(_("Conduct incident {id} decided."), id=incident.pk))
    change = CaseStatusChange.objects.create(
        case=case,
        status=status,
        previous_status=case.status,
        do_not_contact=case.do_not_contact,
        reason=reason,
        changed_by=by,
        changed_at=now,
    )
    ledger.append(
        "case.status_changed",
        ledger.actor_for(by),
        f"case:{case.pk}",
        {
            "case": case.number,
            "status": status,
            "previous_status": case.status,
            "do_not_contact": case.do_not_contact,
            "previous_do_not_contact": case.do_not_contact,
            "reason": reason,
            "incident": incident.pk,
        },
    )
    case.status, case.status_reason = status, reason
    case.save(update_fields=["status", "status_reason", "updated_at"])
    incident.case = case
    return change


# --- suspensions -----------------------------------------------------------------------------


def suspended_agents(user_ids: Iterable[int]) -> dict[int, str]:
    """Of ``user_ids``, those under a suspension not lifted: id -> name."""
    found = (
        AgentSuspension.objects.filter(agent_id__in=list(user_ids), lift__isnull=True)
        .select_related("agent")
        .order_by("agent_id")
    )
    return {s.agent_id: person_name(s.agent) for s in found}


def require_team_not_suspended(team: Team) -> None:
    """Route submission and approval: no route for a team one of whose agents is suspended
    (``rules.conduct.check_not_suspended``)."""
    members = team.agents.values_list("user_id", flat=True)
    conduct.check_not_suspended(suspended_agents(members)).raise_if_failed()


def _suspend(
    agent: Any, incident: Incident | None, reason: str, by: Any, now: dt.datetime
) -> AgentSuspension:
    current = AgentSuspension.objects.filter(agent=agent, lift__isnull=True).first()
    if current is not None:
        return current
    suspension = AgentSuspension.objects.create(
        agent=agent, incident=incident, reason=reason, suspended_by=by, suspended_at=now
    )
    ledger.append(
        "agent.suspended",
        ledger.actor_for(by),
        f"user:{agent.pk}",
        {
            "suspension": suspension.pk,
            "agent": agent.pk,
            "incident": incident.pk if incident is not None else None,
            "reason": reason,
            "suspended_at": now,
        },
    )
    return suspension


def suspend_agent(agent: Any, *, reason: str, by: Any, incident: Incident | None = None) -> Any:
    """Suspend an agent from field work (pending an incident's decision, or after it)."""
    reason = reason.strip()
    require_perm(by, "fieldvisit.suspend_agent", _("suspend agents"))
    if not reason:
        detail = _("Say why the agent is suspended.")
        raise RuleViolation("validation_error", detail, {"reason": [detail]})
    if not has_role(agent, Role.AGENT):
        detail = _("Only field agents are suspended.")
        raise RuleViolation("validation_error", detail, {"agent": [detail]})
    with transaction.atomic(durable=True):
        team = getattr(getattr(agent, "agent_profile", None), "team", None)
        if team is None or not (by.is_superuser or team.risk_manager_id == by.pk):
            raise RuleViolation("not_found", _("No such agent."))
        return _suspend(agent, incident, reason, by, timezone.now())


def lift_suspension(suspension_id: Any, *, reason: str, by: Any) -> SuspensionLift:
    reason = reason.strip()
    require_perm(by, "fieldvisit.suspend_agent", _("lift suspensions"))
    if not reason:
        detail = _("Say why the suspension is lifted.")
        raise RuleViolation("validation_error", detail, {"reason": [detail]})
    with transaction.atomic(durable=True):
        suspension = (
            AgentSuspension.objects.select_for_update(of=("self",))
            .select_related("agent__agent_profile__team")
            .filter(pk=suspension_id)
            .first()
        )
        team = suspension.agent.agent_profile.team if suspension is not None else None
        if suspension is None or not (by.is_superuser or (team and team.risk_manager_id == by.pk)):
            raise RuleViolation("not_found", _("No such suspension."))
        if SuspensionLift.objects.filter(suspension=suspension).exists():
            raise RuleViolation("validation_error", _("The suspension is already lifted."))
        lift = SuspensionLift.objects.create(
            suspension=suspension, reason=reason, lifted_by=by, lifted_at=timezone.now()
        )
        ledger.append(
            "agent.reinstated",
            ledger.actor_for(by),
            f"user:{suspension.agent_id}",
            {
                "suspension": suspension.pk,
                "agent": suspension.agent_id,
                "reason": reason,
                "lifted_at": lift.lifted_at,
            },
        )
    return lift


# --- complaints ------------------------------------------------------------------------------


@dataclass
class ComplaintData:
    channel: str
    complainant_kind: str
    complainant_name: str
    complainant_contact: str
    case_number: str
    category: str
    description: str
    occurred_on: dt.date | None = None
    grade: int | None = None  # None: by its category (``rules.conduct.default_grade``)
    visit: Visit | None = None
    agents: Sequence[Any] = ()


def new_reference(now: dt.datetime) -> str:
    """A reference the complainant can quote: the day and a random part (no count of the
    company's complaints in it)."""
    return f"TS-{now:%Y%m%d}-{secrets.token_hex(3).upper()}"


def record_complaint(data: ComplaintData, by: Any = None, digest: str = "") -> Complaint:
    """Record a complaint as received: by staff (``by``), or through the public form
    (``by`` None). The case is found by its number; the public form never says whether it
    was. A serious one opens an incident at once."""
    if by is not None:
        require_perm(by, "fieldvisit.add_complaint", _("record complaints"))
    now = timezone.now()
    grade = data.grade or conduct.default_grade(data.category)
    with transaction.atomic(durable=True):
        case = (
            Case.objects.select_related("team").filter(number=data.case_number.strip()).first()
            if data.case_number.strip()
            else None
        )
        visit = data.visit
        if visit is not None:
            case = visit.stop.case
        complaint = Complaint.objects.create(
            reference=new_reference(now),
            received_at=now,
            channel=data.channel,
            complainant_kind=data.complainant_kind,
            complainant_name=data.complainant_name.strip(),
            complainant_contact=data.complainant_contact.strip(),
            case_number_given=data.case_number.strip(),
            case=case,
            visit=visit,
            category=data.category,
            description=data.description.strip(),
            occurred_on=data.occurred_on,
            grade=grade,
            respond_by=now + dt.timedelta(days=conduct.RESPONSE_DAYS[grade]),
            recorded_by=by,
            request_sha256=digest,
        )
        agents = list(data.agents) or (_visit_agents(visit) if visit is not None else [])
        ComplaintAgent.objects.bulk_create(
            [ComplaintAgent(complaint=complaint, agent=a) for a in agents]
        )
        actor = ledger.actor_for(by) if by is not None else ledger.actor_for(system="public-form")
        ledger.append(
            "complaint.received",
            actor,
            f"case:{case.pk}" if case is not None else f"complaint:{complaint.pk}",
            {
                "complaint": complaint.reference,
                "channel": complaint.channel,
                "complainant_kind": complaint.complainant_kind,
                "case": case.number if case is not None else None,
                "case_number_given": complaint.case_number_given,
                "visit": visit.pk if visit is not None else None,
                "agents": [a.pk for a in agents],
                "category": complaint.category,
                "grade": grade,
                "respond_by": complaint.respond_by,
                "received_at": now,
            },
        )
        team = visit.stop.route.team if visit is not None else (case.team if case else None)
        # A complaint about no known case, or a case no team holds, waits for staff to
        # link it (they record it again, naming the visit): nobody's conduct to hold yet.
        if conduct.opens_incident(grade) and case is not None and team is not None:
            open_incident(
                source=IncidentSource.COMPLAINT,
                rules=[complaint.category],
                summary=format_lazy(
                    _("Complaint {reference} ({category}): {description}"),
                    reference=complaint.reference,
                    category=complaint.get_category_display(),
                    description=complaint.description[:500],
                ),
                case=case,
                team=team,
                agents=agents,
                actor=actor,
                visit=visit,
                complaint=complaint,
                severity=conduct.complaint_severity(grade),
                now=now,
            )
    return complaint


def answer_complaint(complaint_id: Any, *, text: str, by: Any) -> ComplaintAnswer:
    text = text.strip()
    require_perm(by, "fieldvisit.answer_complaint", _("answer complaints"))
    if not text:
        detail = _("Write the answer given to the complainant.")
        raise RuleViolation("validation_error", detail, {"text": [detail]})
    with transaction.atomic(durable=True):
        complaint = Complaint.objects.select_for_update().get(pk=complaint_id)
        answer = ComplaintAnswer.objects.create(
            complaint=complaint, text=text, answered_by=by, answered_at=timezone.now()
        )
        ledger.append(
            "complaint.answered",
            ledger.actor_for(by),
            f"complaint:{complaint.pk}",
            {
                "complaint": complaint.reference,
                "answer": answer.pk,
                "text": text,
                "answered_at": answer.answered_at,
                "late": answer.answered_at > complaint.respond_by,
            },
        )
    return answer
