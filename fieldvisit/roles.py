"""The roles as auth groups and the model permissions each holds.

The data migrations 0003, 0005, 0007 and 0009 created these (migrations stay frozen as
written); this module is the current list, and ``ensure_role_groups`` runs after every
``migrate`` (and after a test database flush) so the groups exist and hold exactly their
permissions.
Nobody gets delete on evidence.
"""

from __future__ import annotations

from typing import Any

from django.contrib.auth.models import Group, Permission

# What supervisors, legal and auditors all read: every kind of evidence and its report.
EVIDENCE_READERS = [
    "view_evidencefile",
    "view_photo",
    "view_photoacceptance",
    "view_receipt",
    "view_recording",
    "view_audiosegment",
    "view_visit",
    "view_visitreport",
    "view_reportcosignature",
    "view_visitreview",
]

# Conduct incidents and complaints: supervisors, legal and auditors read them all.
INCIDENT_READERS = [
    "view_incident",
    "view_incidentagent",
    "view_incidentaccount",
    "view_incidentdecision",
    "view_agentsuspension",
    "view_suspensionlift",
    "view_complaint",
    "view_complaintagent",
    "view_complaintanswer",
]

ROLE_PERMISSIONS: dict[str, list[str]] = {
    "agent": [],
    "planner": [
        "view_creditor",
        "view_case",
        "add_case",
        "change_case",
        "import_case",
        "view_address",
        "add_address",
        "change_address",
        "view_relation",
        "add_relation",
        "change_relation",
        "view_team",
        "view_agentprofile",
        "view_route",
        "add_route",
        "change_route",
        "delete_route",
        "view_stop",
        "add_stop",
        "change_stop",
        "delete_stop",
        "view_routechangerequest",
        "view_qualificationdocument",
    ],
    "supervisor": [
        "view_creditor",
        "view_case",
        "view_address",
        "view_relation",
        "view_team",
        "change_team",
        "view_agentprofile",
        "add_agentprofile",
        "change_agentprofile",
        # Agents' papers and the agencies outsourced agents work for (never changed: a
        # renewal is a new record).
        "view_qualificationdocument",
        "add_qualificationdocument",
        "view_agency",
        "add_agency",
        "change_agency",
        "view_agencyagreement",
        "add_agencyagreement",
        "view_route",
        "decide_route",
        "view_stop",
        "view_routechangerequest",
        "decide_routechangerequest",
        "view_devicetoken",
        "revoke_devicetoken",
        "view_ledgerentry",
        "view_checkpoint",
        "view_checkpointtimestamp",
        "view_signingkey",
        "view_checkin",
        "view_alert",
        "handle_alert",
        # The team's on-call chain and the contacts of the people on it.
        "view_oncallentry",
        "add_oncallentry",
        "change_oncallentry",
        "delete_oncallentry",
        "view_contactpoint",
        "add_contactpoint",
        "change_contactpoint",
        "delete_contactpoint",
        "view_alertnotice",
        "view_deliveryattempt",
        *EVIDENCE_READERS,
        "review_visit",
        "add_photoacceptance",
        # The team's risk manager (风控经理) opens findings, closes incidents, suspends.
        *INCIDENT_READERS,
        "add_incident",
        "decide_incident",
        "suspend_agent",
        "add_complaint",
        "answer_complaint",
    ],
    "legal": [
        "view_creditor",
        "view_case",
        "view_address",
        "view_relation",
        "view_route",
        "view_stop",
        "view_ledgerentry",
        "view_checkpoint",
        "view_checkpointtimestamp",
        "view_signingkey",
        "view_checkin",
        "view_alert",
        *EVIDENCE_READERS,
        *INCIDENT_READERS,
        "add_complaint",
        "answer_complaint",
    ],
    "auditor": [
        "view_creditor",
        "view_case",
        "view_address",
        "view_relation",
        "view_team",
        "view_agentprofile",
        "view_route",
        "view_stop",
        "view_routechangerequest",
        "view_devicetoken",
        "view_ledgerentry",
        "view_checkpoint",
        "view_checkpointtimestamp",
        "view_signingkey",
        "view_checkin",
        "view_alert",
        *EVIDENCE_READERS,
        "view_evidenceaccess",
        *INCIDENT_READERS,
        "view_qualificationdocument",
        "view_agency",
        "view_agencyagreement",
    ],
    # Seeds (外访流程 (2), (7); 行为指引 3): the team lead (客户负责人) receives the arrival,
    # position and return reports of the teams they lead, decides their route changes, and
    # reviews and keeps their visit reports and slips.
    "team_lead": [
        "view_creditor",
        "view_case",
        "view_address",
        "view_relation",
        "view_team",
        "view_agentprofile",
        "view_qualificationdocument",
        "view_route",
        "view_stop",
        "view_routechangerequest",
        "decide_routechangerequest",
        "view_checkin",
        "view_alert",
        "handle_alert",
        *EVIDENCE_READERS,
        "review_visit",
        "add_photoacceptance",
    ],
    # Seeds (上门催收个案的确定): routes are approved by the risk manager (风控) before they
    # are walked; incidents and escalated alerts are theirs.
    "risk_manager": [
        "view_creditor",
        "view_case",
        "view_address",
        "view_relation",
        "view_team",
        "view_agentprofile",
        "view_qualificationdocument",
        "view_agency",
        "view_agencyagreement",
        "view_route",
        "decide_route",
        "view_stop",
        "view_routechangerequest",
        "view_checkin",
        "view_alert",
        "handle_alert",
        *EVIDENCE_READERS,
        # Conduct incidents and complaints are theirs to handle (the team's risk manager).
        *INCIDENT_READERS,
        "add_incident",
        "decide_incident",
        "suspend_agent",
        "add_complaint",
        "answer_complaint",
    ],
}


def ensure_role_groups(
    sender: Any = None, using: str = "default", plan: Any = None, **kwargs: Any
) -> None:
    """Create the role groups if missing and give each exactly its permissions."""
    if plan and all(backwards for _, backwards in plan):
        return  # unapplying migrations: the groups go with them

    wanted = {codename for codenames in ROLE_PERMISSIONS.values() for codename in codenames}
    perms = {
        p.codename: p
        for p in Permission.objects.using(using).filter(
            content_type__app_label="fieldvisit", codename__in=wanted
        )
    }
    if set(perms) != wanted:
        return  # permissions not created yet (an earlier app's post_migrate): next time
    for role, codenames in ROLE_PERMISSIONS.items():
        group, _ = Group.objects.using(using).get_or_create(name=role)
        group.permissions.set([perms[c] for c in codenames])
