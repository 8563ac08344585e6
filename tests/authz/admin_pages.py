"""Every admin page, found in the URL resolver, and the table of who may open each (the GET
matrix, ``test_admin_matrix``; the POST matrix checks its writing pages against it)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from django.urls import URLPattern, URLResolver, get_resolver, reverse


@dataclass
class Page:
    pattern: URLPattern
    namespace: str | None

    def reverse(self, **kwargs: Any) -> str:
        name = f"{self.namespace}:{self.pattern.name}" if self.namespace else self.pattern.name
        return reverse(name, kwargs=kwargs)


def admin_pages() -> dict[str, Page]:
    """Every named page under /admin/, by URL name: admin.site's and those mounted beside
    it (the operations dashboard)."""
    found: dict[str, Page] = {}

    def walk(patterns: list[Any], prefix: str, namespace: str | None) -> None:
        for item in patterns:
            route = prefix + str(item.pattern)
            if isinstance(item, URLResolver):
                walk(item.url_patterns, route, item.namespace or namespace)
            elif item.name and route.startswith("admin/"):
                found[item.name] = Page(item, namespace)

    walk(get_resolver().url_patterns, "", None)
    return found


# The table: admin page (URL name): the status for each principal, in the order anonymous,
# revoked API token (means nothing to admin), agent of the team, outsider agent (agents
# are not staff), planner, supervisor (of the team), legal, auditor, team lead (of the team),
# risk manager (of the team).
MATRIX: dict[str, tuple[int, int, int, int, int, int, int, int, int, int]] = {
    # The site's own pages: staff only; the sign-in page sends the signed-in staff on.
    "index": (302, 302, 302, 302, 200, 200, 200, 200, 200, 200),
    "login": (200, 200, 200, 200, 302, 302, 302, 302, 302, 302),
    "logout": (302, 302, 302, 302, 405, 405, 405, 405, 405, 405),
    "password_change": (302, 302, 302, 302, 200, 200, 200, 200, 200, 200),
    "password_change_done": (302, 302, 302, 302, 200, 200, 200, 200, 200, 200),
    "autocomplete": (302, 302, 302, 302, 403, 403, 403, 403, 403, 403),
    "jsi18n": (302, 302, 302, 302, 200, 200, 200, 200, 200, 200),
    "view_on_site": (302, 302, 302, 302, 404, 404, 404, 404, 404, 404),
    # Users and groups: the superuser's alone.
    "auth_group_changelist": (302, 302, 302, 302, 403, 403, 403, 403, 403, 403),
    "auth_group_add": (302, 302, 302, 302, 403, 403, 403, 403, 403, 403),
    "auth_group_history": (302, 302, 302, 302, 403, 403, 403, 403, 403, 403),
    "auth_group_delete": (302, 302, 302, 302, 403, 403, 403, 403, 403, 403),
    "auth_group_change": (302, 302, 302, 302, 403, 403, 403, 403, 403, 403),
    "auth_user_password_change": (302, 302, 302, 302, 403, 403, 403, 403, 403, 403),
    "auth_user_changelist": (302, 302, 302, 302, 403, 403, 403, 403, 403, 403),
    "auth_user_add": (302, 302, 302, 302, 403, 403, 403, 403, 403, 403),
    "auth_user_history": (302, 302, 302, 302, 403, 403, 403, 403, 403, 403),
    "auth_user_delete": (302, 302, 302, 302, 403, 403, 403, 403, 403, 403),
    "auth_user_change": (302, 302, 302, 302, 403, 403, 403, 403, 403, 403),
    # Alerts: supervisors handle them; legal and auditors read them; planners do not see
    # them at all, not even the count of open ones the list polls.
    "fieldvisit_alert_feed": (302, 302, 302, 302, 403, 200, 200, 200, 200, 200),
    "fieldvisit_alert_handle": (302, 302, 302, 302, 403, 200, 403, 403, 200, 200),
    "fieldvisit_alert_changelist": (302, 302, 302, 302, 403, 200, 200, 200, 200, 200),
    "fieldvisit_alert_add": (302, 302, 302, 302, 403, 403, 403, 403, 403, 403),
    "fieldvisit_alert_history": (302, 302, 302, 302, 403, 200, 200, 200, 200, 200),
    "fieldvisit_alert_delete": (302, 302, 302, 302, 403, 403, 403, 403, 403, 403),
    "fieldvisit_alert_change": (302, 302, 302, 302, 403, 200, 200, 200, 200, 200),
    # Evidence and the ledger: read by supervisors, legal and auditors; added, changed and
    # deleted by nobody.
    "fieldvisit_checkin_changelist": (302, 302, 302, 302, 403, 200, 200, 200, 200, 200),
    "fieldvisit_checkin_add": (302, 302, 302, 302, 403, 403, 403, 403, 403, 403),
    "fieldvisit_checkin_history": (302, 302, 302, 302, 403, 200, 200, 200, 200, 200),
    "fieldvisit_checkin_delete": (302, 302, 302, 302, 403, 403, 403, 403, 403, 403),
    "fieldvisit_checkin_change": (302, 302, 302, 302, 403, 200, 200, 200, 200, 200),
    # Cases and their places: every staff role reads them; planners add them.
    "fieldvisit_creditor_changelist": (302, 302, 302, 302, 200, 200, 200, 200, 200, 200),
    "fieldvisit_creditor_add": (302, 302, 302, 302, 403, 403, 403, 403, 403, 403),
    "fieldvisit_creditor_history": (302, 302, 302, 302, 200, 200, 200, 200, 200, 200),
    "fieldvisit_creditor_delete": (302, 302, 302, 302, 403, 403, 403, 403, 403, 403),
    "fieldvisit_creditor_change": (302, 302, 302, 302, 200, 200, 200, 200, 200, 200),
    "fieldvisit_case_changelist": (302, 302, 302, 302, 200, 200, 200, 200, 200, 200),
    "fieldvisit_case_add": (302, 302, 302, 302, 200, 403, 403, 403, 403, 403),
    "fieldvisit_case_history": (302, 302, 302, 302, 200, 200, 200, 200, 200, 200),
    "fieldvisit_case_delete": (302, 302, 302, 302, 403, 403, 403, 403, 403, 403),
    "fieldvisit_case_change": (302, 302, 302, 302, 200, 200, 200, 200, 200, 200),
    "fieldvisit_case_import": (302, 302, 302, 302, 200, 403, 403, 403, 403, 403),
    "fieldvisit_case_process_import": (
        302,
        302,
        302,
        302,
        405,
        405,
        405,
        405,
        405,
        405,
    ),  # POST only
    "fieldvisit_case_import_template": (302, 302, 302, 302, 200, 403, 403, 403, 403, 403),
    "fieldvisit_address_changelist": (302, 302, 302, 302, 200, 200, 200, 200, 200, 200),
    "fieldvisit_address_add": (302, 302, 302, 302, 200, 403, 403, 403, 403, 403),
    "fieldvisit_address_history": (302, 302, 302, 302, 200, 200, 200, 200, 200, 200),
    "fieldvisit_address_delete": (302, 302, 302, 302, 403, 403, 403, 403, 403, 403),
    "fieldvisit_address_change": (302, 302, 302, 302, 200, 200, 200, 200, 200, 200),
    "fieldvisit_relation_changelist": (302, 302, 302, 302, 200, 200, 200, 200, 200, 200),
    "fieldvisit_relation_add": (302, 302, 302, 302, 200, 403, 403, 403, 403, 403),
    "fieldvisit_relation_history": (302, 302, 302, 302, 200, 200, 200, 200, 200, 200),
    "fieldvisit_relation_delete": (302, 302, 302, 302, 403, 403, 403, 403, 403, 403),
    "fieldvisit_relation_change": (302, 302, 302, 302, 200, 200, 200, 200, 200, 200),
    # Only a supervisor accepts a door photo the rules could not place.
    "fieldvisit_photo_accept": (302, 302, 302, 302, 403, 200, 403, 403, 200, 403),
    "fieldvisit_photo_thumb": (302, 302, 302, 302, 403, 200, 200, 200, 200, 200),
    "fieldvisit_photo_original": (302, 302, 302, 302, 403, 200, 200, 200, 200, 200),
    "fieldvisit_photo_changelist": (302, 302, 302, 302, 403, 200, 200, 200, 200, 200),
    "fieldvisit_photo_add": (302, 302, 302, 302, 403, 403, 403, 403, 403, 403),
    "fieldvisit_photo_history": (302, 302, 302, 302, 403, 200, 200, 200, 200, 200),
    "fieldvisit_photo_delete": (302, 302, 302, 302, 403, 403, 403, 403, 403, 403),
    "fieldvisit_photo_change": (302, 302, 302, 302, 403, 200, 200, 200, 200, 200),
    "fieldvisit_receipt_changelist": (302, 302, 302, 302, 403, 200, 200, 200, 200, 200),
    "fieldvisit_receipt_add": (302, 302, 302, 302, 403, 403, 403, 403, 403, 403),
    "fieldvisit_receipt_history": (302, 302, 302, 302, 403, 200, 200, 200, 200, 200),
    "fieldvisit_receipt_delete": (302, 302, 302, 302, 403, 403, 403, 403, 403, 403),
    "fieldvisit_receipt_change": (302, 302, 302, 302, 403, 200, 200, 200, 200, 200),
    "fieldvisit_recording_changelist": (302, 302, 302, 302, 403, 200, 200, 200, 200, 200),
    "fieldvisit_recording_add": (302, 302, 302, 302, 403, 403, 403, 403, 403, 403),
    "fieldvisit_recording_history": (302, 302, 302, 302, 403, 200, 200, 200, 200, 200),
    "fieldvisit_recording_delete": (302, 302, 302, 302, 403, 403, 403, 403, 403, 403),
    "fieldvisit_recording_change": (302, 302, 302, 302, 403, 200, 200, 200, 200, 200),
    "fieldvisit_evidencefile_changelist": (302, 302, 302, 302, 403, 200, 200, 200, 200, 200),
    "fieldvisit_evidencefile_add": (302, 302, 302, 302, 403, 403, 403, 403, 403, 403),
    "fieldvisit_evidencefile_history": (302, 302, 302, 302, 403, 200, 200, 200, 200, 200),
    "fieldvisit_evidencefile_delete": (302, 302, 302, 302, 403, 403, 403, 403, 403, 403),
    "fieldvisit_evidencefile_change": (302, 302, 302, 302, 403, 200, 200, 200, 200, 200),
    # Who read which evidence: the auditor's.
    "fieldvisit_evidenceaccess_changelist": (302, 302, 302, 302, 403, 403, 403, 200, 403, 403),
    "fieldvisit_evidenceaccess_add": (302, 302, 302, 302, 403, 403, 403, 403, 403, 403),
    "fieldvisit_evidenceaccess_history": (302, 302, 302, 302, 403, 403, 403, 200, 403, 403),
    "fieldvisit_evidenceaccess_delete": (302, 302, 302, 302, 403, 403, 403, 403, 403, 403),
    "fieldvisit_evidenceaccess_change": (302, 302, 302, 302, 403, 403, 403, 200, 403, 403),
    "fieldvisit_ledgerentry_changelist": (302, 302, 302, 302, 403, 200, 200, 200, 403, 403),
    "fieldvisit_ledgerentry_add": (302, 302, 302, 302, 403, 403, 403, 403, 403, 403),
    "fieldvisit_ledgerentry_history": (302, 302, 302, 302, 403, 200, 200, 200, 403, 403),
    "fieldvisit_ledgerentry_delete": (302, 302, 302, 302, 403, 403, 403, 403, 403, 403),
    "fieldvisit_ledgerentry_change": (302, 302, 302, 302, 403, 200, 200, 200, 403, 403),
    "fieldvisit_checkpoint_changelist": (302, 302, 302, 302, 403, 200, 200, 200, 403, 403),
    "fieldvisit_checkpoint_add": (302, 302, 302, 302, 403, 403, 403, 403, 403, 403),
    "fieldvisit_checkpoint_history": (302, 302, 302, 302, 403, 200, 200, 200, 403, 403),
    "fieldvisit_checkpoint_delete": (302, 302, 302, 302, 403, 403, 403, 403, 403, 403),
    "fieldvisit_checkpoint_change": (302, 302, 302, 302, 403, 200, 200, 200, 403, 403),
    # Time-stamps of checkpoints: read like the ledger.
    "fieldvisit_checkpointtimestamp_changelist": (302, 302, 302, 302, 403, 200, 200, 200, 403, 403),
    "fieldvisit_checkpointtimestamp_add": (302, 302, 302, 302, 403, 403, 403, 403, 403, 403),
    "fieldvisit_checkpointtimestamp_history": (302, 302, 302, 302, 403, 200, 200, 200, 403, 403),
    "fieldvisit_checkpointtimestamp_delete": (302, 302, 302, 302, 403, 403, 403, 403, 403, 403),
    "fieldvisit_checkpointtimestamp_change": (302, 302, 302, 302, 403, 200, 200, 200, 403, 403),
    "fieldvisit_signingkey_changelist": (302, 302, 302, 302, 403, 200, 200, 200, 403, 403),
    "fieldvisit_signingkey_add": (302, 302, 302, 302, 403, 403, 403, 403, 403, 403),
    "fieldvisit_signingkey_history": (302, 302, 302, 302, 403, 200, 200, 200, 403, 403),
    "fieldvisit_signingkey_delete": (302, 302, 302, 302, 403, 403, 403, 403, 403, 403),
    "fieldvisit_signingkey_change": (302, 302, 302, 302, 403, 200, 200, 200, 403, 403),
    # Teams, agents and their devices: not legal's business.
    "fieldvisit_team_changelist": (302, 302, 302, 302, 200, 200, 403, 200, 200, 200),
    "fieldvisit_team_add": (302, 302, 302, 302, 403, 403, 403, 403, 403, 403),
    "fieldvisit_team_history": (302, 302, 302, 302, 200, 200, 403, 200, 200, 200),
    "fieldvisit_team_delete": (302, 302, 302, 302, 403, 403, 403, 403, 403, 403),
    "fieldvisit_team_change": (302, 302, 302, 302, 200, 200, 403, 200, 200, 200),
    # Agents' papers: recorded by supervisors (added, never changed or deleted); read by
    # whoever reads the agents, legal excepted.
    "fieldvisit_qualificationdocument_changelist": (
        302,
        302,
        302,
        302,
        200,
        200,
        403,
        200,
        200,
        200,
    ),
    "fieldvisit_qualificationdocument_add": (302, 302, 302, 302, 403, 200, 403, 403, 403, 403),
    "fieldvisit_qualificationdocument_history": (302, 302, 302, 302, 200, 200, 403, 200, 200, 200),
    "fieldvisit_qualificationdocument_delete": (302, 302, 302, 302, 403, 403, 403, 403, 403, 403),
    "fieldvisit_qualificationdocument_change": (302, 302, 302, 302, 200, 200, 403, 200, 200, 200),
    # Agencies and their agreements: kept by supervisors, read by auditors and risk managers.
    "fieldvisit_agency_changelist": (302, 302, 302, 302, 403, 200, 403, 200, 403, 200),
    "fieldvisit_agency_add": (302, 302, 302, 302, 403, 200, 403, 403, 403, 403),
    "fieldvisit_agency_history": (302, 302, 302, 302, 403, 200, 403, 200, 403, 200),
    "fieldvisit_agency_delete": (302, 302, 302, 302, 403, 403, 403, 403, 403, 403),
    "fieldvisit_agency_change": (302, 302, 302, 302, 403, 200, 403, 200, 403, 200),
    "fieldvisit_agencyagreement_changelist": (302, 302, 302, 302, 403, 200, 403, 200, 403, 200),
    "fieldvisit_agencyagreement_add": (302, 302, 302, 302, 403, 200, 403, 403, 403, 403),
    "fieldvisit_agencyagreement_history": (302, 302, 302, 302, 403, 200, 403, 200, 403, 200),
    "fieldvisit_agencyagreement_delete": (302, 302, 302, 302, 403, 403, 403, 403, 403, 403),
    "fieldvisit_agencyagreement_change": (302, 302, 302, 302, 403, 200, 403, 200, 403, 200),
    "fieldvisit_agentprofile_changelist": (302, 302, 302, 302, 200, 200, 403, 200, 200, 200),
    "fieldvisit_agentprofile_add": (302, 302, 302, 302, 403, 200, 403, 403, 403, 403),
    "fieldvisit_agentprofile_history": (302, 302, 302, 302, 200, 200, 403, 200, 200, 200),
    "fieldvisit_agentprofile_delete": (302, 302, 302, 302, 403, 403, 403, 403, 403, 403),
    "fieldvisit_agentprofile_change": (302, 302, 302, 302, 200, 200, 403, 200, 200, 200),
    # Contacts of the people on call: supervisors keep them (their own and their chains').
    "fieldvisit_contactpoint_changelist": (302, 302, 302, 302, 403, 200, 403, 403, 403, 403),
    "fieldvisit_contactpoint_add": (302, 302, 302, 302, 403, 200, 403, 403, 403, 403),
    # (a contact out of one's scope is absent: back to the list)
    "fieldvisit_contactpoint_history": (302, 302, 302, 302, 302, 200, 302, 302, 403, 403),
    "fieldvisit_contactpoint_delete": (302, 302, 302, 302, 403, 200, 403, 403, 403, 403),
    "fieldvisit_contactpoint_change": (302, 302, 302, 302, 403, 200, 403, 403, 403, 403),
    "fieldvisit_devicetoken_changelist": (302, 302, 302, 302, 403, 200, 403, 200, 403, 403),
    "fieldvisit_devicetoken_add": (302, 302, 302, 302, 403, 403, 403, 403, 403, 403),
    "fieldvisit_devicetoken_history": (302, 302, 302, 302, 403, 200, 403, 200, 403, 403),
    "fieldvisit_devicetoken_delete": (302, 302, 302, 302, 403, 403, 403, 403, 403, 403),
    "fieldvisit_devicetoken_change": (302, 302, 302, 302, 403, 200, 403, 200, 403, 403),
    # Visits: only the team's supervisor reviews.
    "fieldvisit_visit_review": (302, 302, 302, 302, 403, 200, 403, 403, 200, 403),
    "fieldvisit_visit_changelist": (302, 302, 302, 302, 403, 200, 200, 200, 200, 200),
    "fieldvisit_visit_add": (302, 302, 302, 302, 403, 403, 403, 403, 403, 403),
    "fieldvisit_visit_history": (302, 302, 302, 302, 403, 200, 200, 200, 200, 200),
    "fieldvisit_visit_delete": (302, 302, 302, 302, 403, 403, 403, 403, 403, 403),
    "fieldvisit_visit_change": (302, 302, 302, 302, 403, 200, 200, 200, 200, 200),
    "fieldvisit_visitreport_changelist": (302, 302, 302, 302, 403, 200, 200, 200, 200, 200),
    "fieldvisit_visitreport_add": (302, 302, 302, 302, 403, 403, 403, 403, 403, 403),
    "fieldvisit_visitreport_history": (302, 302, 302, 302, 403, 200, 200, 200, 200, 200),
    "fieldvisit_visitreport_delete": (302, 302, 302, 302, 403, 403, 403, 403, 403, 403),
    "fieldvisit_visitreport_change": (302, 302, 302, 302, 403, 200, 200, 200, 200, 200),
    "fieldvisit_visitreview_changelist": (302, 302, 302, 302, 403, 200, 200, 200, 200, 200),
    "fieldvisit_visitreview_add": (302, 302, 302, 302, 403, 403, 403, 403, 403, 403),
    "fieldvisit_visitreview_history": (302, 302, 302, 302, 403, 200, 200, 200, 200, 200),
    "fieldvisit_visitreview_delete": (302, 302, 302, 302, 403, 403, 403, 403, 403, 403),
    "fieldvisit_visitreview_change": (302, 302, 302, 302, 403, 200, 200, 200, 200, 200),
    # Routes: the route is approved, so it is frozen (no delete); submitting and deciding
    # pages open only to those who may submit (GET goes back to the route) or decide.
    "fieldvisit_route_submit": (302, 302, 302, 302, 302, 403, 403, 403, 403, 403),
    "fieldvisit_route_decide": (302, 302, 302, 302, 403, 200, 403, 403, 403, 200),
    "fieldvisit_route_changelist": (302, 302, 302, 302, 200, 200, 200, 200, 200, 200),
    "fieldvisit_route_add": (302, 302, 302, 302, 200, 403, 403, 403, 403, 403),
    "fieldvisit_route_propose": (302, 302, 302, 302, 200, 403, 403, 403, 403, 403),
    "fieldvisit_route_history": (302, 302, 302, 302, 200, 200, 200, 200, 200, 200),
    "fieldvisit_route_delete": (302, 302, 302, 302, 403, 403, 403, 403, 403, 403),
    "fieldvisit_route_change": (302, 302, 302, 302, 200, 200, 200, 200, 200, 200),
    "fieldvisit_routechangerequest_decide": (302, 302, 302, 302, 403, 200, 403, 403, 200, 403),
    "fieldvisit_routechangerequest_changelist": (302, 302, 302, 302, 200, 200, 403, 200, 200, 200),
    "fieldvisit_routechangerequest_add": (302, 302, 302, 302, 403, 403, 403, 403, 403, 403),
    "fieldvisit_routechangerequest_history": (302, 302, 302, 302, 200, 200, 403, 200, 200, 200),
    "fieldvisit_routechangerequest_delete": (302, 302, 302, 302, 403, 403, 403, 403, 403, 403),
    "fieldvisit_routechangerequest_change": (302, 302, 302, 302, 200, 200, 403, 200, 200, 200),
    # Conduct incidents, suspensions and complaints: supervisors, legal and auditors read
    # them; a supervisor opens findings, closes incidents (as the team's risk manager) and
    # suspends; supervisors and legal take complaints and record answers; nobody edits or
    # deletes any of it.
    "fieldvisit_incident_changelist": (302, 302, 302, 302, 403, 200, 200, 200, 403, 200),
    "fieldvisit_incident_add": (302, 302, 302, 302, 403, 200, 403, 403, 403, 200),
    "fieldvisit_incident_history": (302, 302, 302, 302, 403, 200, 200, 200, 403, 200),
    "fieldvisit_incident_delete": (302, 302, 302, 302, 403, 403, 403, 403, 403, 403),
    "fieldvisit_incident_change": (302, 302, 302, 302, 403, 200, 200, 200, 403, 200),
    "fieldvisit_incident_decide": (302, 302, 302, 302, 403, 200, 403, 403, 403, 200),
    "fieldvisit_agentsuspension_changelist": (302, 302, 302, 302, 403, 200, 200, 200, 403, 200),
    "fieldvisit_agentsuspension_add": (302, 302, 302, 302, 403, 200, 403, 403, 403, 200),
    "fieldvisit_agentsuspension_history": (302, 302, 302, 302, 403, 200, 200, 200, 403, 200),
    "fieldvisit_agentsuspension_delete": (302, 302, 302, 302, 403, 403, 403, 403, 403, 403),
    "fieldvisit_agentsuspension_change": (302, 302, 302, 302, 403, 200, 200, 200, 403, 200),
    "fieldvisit_agentsuspension_lift": (302, 302, 302, 302, 403, 200, 403, 403, 403, 200),
    "fieldvisit_complaint_changelist": (302, 302, 302, 302, 403, 200, 200, 200, 403, 200),
    "fieldvisit_complaint_add": (302, 302, 302, 302, 403, 200, 200, 403, 403, 200),
    "fieldvisit_complaint_history": (302, 302, 302, 302, 403, 200, 200, 200, 403, 200),
    "fieldvisit_complaint_delete": (302, 302, 302, 302, 403, 403, 403, 403, 403, 403),
    "fieldvisit_complaint_change": (302, 302, 302, 302, 403, 200, 200, 200, 403, 200),
    "fieldvisit_complaint_answer": (302, 302, 302, 302, 403, 200, 200, 403, 403, 200),
    "app_list": (302, 302, 302, 302, 200, 200, 200, 200, 200, 200),
    # The live operations dashboard (mounted beside admin.site): supervisors'.
    "fieldvisit-operations": (302, 302, 302, 302, 403, 200, 403, 403, 200, 200),
    "fieldvisit-operations-feed": (302, 302, 302, 302, 403, 200, 403, 403, 200, 200),
}
