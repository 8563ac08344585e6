"""The authorization matrix of admin writes: every admin page that writes (add, change and
delete pages, changelist actions, the custom decide, handle, review, submit, propose and
import pages) POSTed by each of the eight principals, each POST an attack: it targets a
record of a team the supervisor does not oversee (Pudong), or sets a foreign key to one, or
writes what the role may not write at all. One literal table, one test.

Each attack must be refused and leave the database as it was: 302 to the sign-in page for
those who are not staff; 403; 404 (another team's record is absent); 302 back to the list
("does not exist", or no such action for the role); 200, the list again (it offers the role
no action) or a confirmation that lists what protects the record; or 200, the form again,
with its error on the field the attack set (and only there). ``OK`` marks a principal who
may do it (a planner plans for every team): not posted.
``test_every_admin_write_page_has_a_post_row`` and
``test_every_writable_foreign_key_has_a_post_row`` fail when a page or a foreign key a form
can set has no row. The GET matrix beside this one (test_admin_matrix.py) says who opens
which page.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
import re
import uuid
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.auth.models import Group, User
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection, transaction
from django.forms.models import _get_foreign_key
from django.urls import reverse

from fieldvisit.access_log import record_read
from fieldvisit.actions import alerts as alert_actions
from fieldvisit.actions import incidents
from fieldvisit.actions import routes as route_actions
from fieldvisit.actions.auth import issue_token
from fieldvisit.admin.base import ReadOnlyAdmin, ReadOnlyInline
from fieldvisit.choices import AlertKind, RelationKind, Role
from fieldvisit.db.append_only import AppendOnlyModel
from fieldvisit.ledger import store as ledger
from fieldvisit.models import (
    Agency,
    AgentProfile,
    AgentSuspension,
    Complaint,
    Incident,
    Relation,
    RouteChangeRequest,
    Team,
    Visit,
)
from tests import factories
from tests.authz.admin_pages import MATRIX as GET_MATRIX
from tests.authz.admin_pages import admin_pages
from tests.authz.scene import PRINCIPALS, Scene
from tests.helpers import DAY

pytestmark = pytest.mark.django_db(transaction=True)

OK = 0  # the principal may: not posted
NOT_STAFF = (302, 302, 302, 302)


def staff(
    planner: int, supervisor: int, legal: int, auditor: int, lead: int, risk: int
) -> tuple[int, ...]:
    """The expected statuses: not staff to the sign-in page, then the six staff roles (the
    team lead and the risk manager of the supervisor's team last)."""
    return (*NOT_STAFF, planner, supervisor, legal, auditor, lead, risk)


NOBODY = staff(403, 403, 403, 403, 403, 403)


@dataclass
class Records:
    """The fixture team's records (``own_...``) and the other team's (``their_...``)."""

    scene: Scene
    own_relation: Relation
    recruit: User
    their_case: Any
    their_address: Any
    their_relation: Relation
    their_draft: Any
    their_submitted: Any
    their_approved: Any
    their_change: RouteChangeRequest
    their_visit: Visit
    their_alert: Any
    their_token: Any
    own_made: Any

    def __getattr__(self, name: str) -> Any:
        return getattr(self.scene.world, name)


@pytest.fixture
def records(full_scene: Scene) -> Records:
    """Pudong's records beside the scene's: a case with an address and a relation, a draft,
    a submitted and an approved route (with a visit and a change request), an alert and a
    device token. Pudong's routes were approved by a superuser (nobody supervises it)."""
    scene = full_scene
    w = scene.world
    root = User.objects.create_superuser("root", password="x")
    # Pudong's own on-call chain (none of the scene's principals on it).
    factories.oncall(
        w.other_team,
        factories.user("pudong_on_call", Role.SUPERVISOR),
        factories.user("pudong_duty", Role.SUPERVISOR),
    )
    their_case = factories.case(w.other_team, w.creditor)
    addresses = [factories.address(their_case, lat=31.1 + 0.002 * n) for n in range(3)]
    days = [DAY + dt.timedelta(days=n) for n in (1, 2, 3)]
    approved = factories.route(w.other_team, w.planner, days[0], addresses[:1])
    submitted = factories.route(w.other_team, w.planner, days[1], addresses[1:2])
    draft = factories.route(w.other_team, w.planner, days[2], addresses[2:])
    for route in (approved, submitted):
        route_actions.submit_route(route.pk, w.planner)
    route_actions.decide_route(approved.pk, root, True, "ok")
    change = RouteChangeRequest.objects.create(
        id=uuid.uuid4(),
        route=approved,
        requested_by=w.outsider,
        reason="gate",
        skip_stops=[str(approved.stops.get().pk)],
        request_sha256="0" * 64,
    )
    with transaction.atomic():
        alert = alert_actions.raise_alert(
            kind=AlertKind.PANIC,
            team=w.other_team,
            detail="help",
            actor=ledger.actor_for(w.outsider),
        )
    _, token = issue_token(w.outsider, "their-phone", "their phone", "android")
    record_read(w.legal, "visit", f"visit:{scene.closed.pk}", via="admin")  # a read on record
    # Pudong's conduct records: an incident (closed, its case open again), a complaint and
    # a suspension, lifted.
    their_visit = Visit.objects.get(stop__route=approved)
    found = incidents.open_finding(
        visit_id=their_visit.pk, rules=["no_disturbance"], summary="x", agents=[w.outsider], by=root
    )
    officer = User.objects.get(username="compliance_officer")
    incidents.decide(found.pk, decision="warning", findings="x", case_status="open", by=officer)
    incidents.record_complaint(
        incidents.ComplaintData(
            "phone", "debtor", "Zhao", "", "", "disturbance", "x", visit=their_visit
        ),
        by=root,
    )
    suspended = incidents.suspend_agent(w.outsider_partner, reason="x", by=root)
    incidents.lift_suspension(suspended.pk, reason="x", by=root)
    # A Huangpu route the planner drafted and submitted and the supervisor changed as a draft:
    # one of its makers, so not its checker.
    made = factories.route(w.team, w.planner, DAY + dt.timedelta(days=4), w.addresses[:1])
    route_actions.record_draft_change(made.pk, w.supervisor)
    route_actions.submit_route(made.pk, w.planner)
    kind = RelationKind.choices[0][0]
    return Records(
        scene=scene,
        own_relation=Relation.objects.get(case=w.cases[0]),
        recruit=factories.user("recruit", Role.AGENT),
        their_case=their_case,
        their_address=addresses[0],
        their_relation=Relation.objects.create(case=their_case, name="Wang Wu", kind=kind),
        their_draft=draft,
        their_submitted=submitted,
        their_approved=approved,
        their_change=change,
        their_visit=Visit.objects.get(stop__route=approved),
        their_alert=alert,
        their_token=token,
        own_made=made,
    )


# --- the forms the attacks post ------------------------------------------------------------


def management(prefix: str, total: int, initial: int) -> dict[str, str]:
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def profile_form(profile: AgentProfile | None, user: Any, team: Team) -> dict[str, str]:
    return {
        "user": str(user.pk),
        "team": str(team.pk),
        "badge_number": profile.badge_number if profile else "NEW-1",
        "background_check_on": "2025-01-15",
        "background_check_reference": "",
        "active": "on",
        **management("documents", 0, 0),  # the papers' rows (none added)
    }


def paper_form(**fields: Any) -> dict[str, str]:
    """A paper's add form: its owner (agent and kind, or agency) and its dates."""
    return {
        "reference": "NEW-1",
        "issued_on": "2025-01-15",
        "expires_on": "2099-12-31",
        **{name: str(value) for name, value in fields.items()},
    }


def team_form(team: Team, **extra_row: Any) -> dict[str, str]:
    """The team page as shown (its agent rows), plus one new agent row if given."""
    agents = list(AgentProfile.objects.filter(team=team).order_by("pk"))
    form = {"name": team.name, "timezone": team.timezone, "active": "on"}
    form |= management("agents", len(agents) + bool(extra_row), len(agents))
    form |= management("oncall", 0, 0)  # the on-call chain's rows (none shown: left alone)
    for n, agent in enumerate(agents):
        form |= {
            f"agents-{n}-id": str(agent.pk),
            f"agents-{n}-team": str(team.pk),
            f"agents-{n}-user": str(agent.user_id),
            f"agents-{n}-badge_number": agent.badge_number,
            f"agents-{n}-background_check_on": "2025-01-15",
            f"agents-{n}-active": "on",
        }
    if extra_row:
        n = len(agents)
        form |= {f"agents-{n}-team": str(team.pk), f"agents-{n}-active": "on"}
        form |= {f"agents-{n}-{k}": str(v) for k, v in extra_row.items()}
    return form


def case_form(r: Records, team: Team, number: str = "NEW-1") -> dict[str, str]:
    return {
        "number": number,
        "creditor": str(r.creditor.pk),
        "team": str(team.pk),
        "debtor_name": "Zhao Liu",
        "amount_due": "100",
        "currency": "CNY",
        "reachable": "on",
        "status": "open",
        **management("addresses", 0, 0),
        **management("relations", 0, 0),
    }


def address_form(case: Any) -> dict[str, str]:
    return {
        "case": str(case.pk),
        "kind": "home",
        "text": "1 Attack Road",
        "lat": "31.2",
        "lon": "121.4",
        "timezone": "Asia/Shanghai",
    }


def relation_form(case: Any) -> dict[str, str]:
    return {"case": str(case.pk), "name": "Sun Qi", "kind": RelationKind.choices[0][0]}


def route_form(r: Records, team: Team, day: dt.date) -> dict[str, str]:
    return {
        "team": str(team.pk),
        "date": f"{day:%Y-%m-%d}",
        **management("stops", 1, 0),
        "stops-0-sequence": "1",
        "stops-0-case": str(r.their_case.pk),
        "stops-0-address": str(r.their_address.pk),
    }


def import_form(r: Records) -> dict[str, Any]:
    text = f"number,creditor,team,debtor_name,amount_due\nIMP-9,acme,{r.other_team.name},X,1\n"
    return {"import_file": SimpleUploadedFile("c.csv", text.encode()), "format": "0"}


DELETE = {"post": "yes"}


def select(action: str) -> Callable[[Records, Any], dict[str, Any]]:
    """A changelist action on the row's record, confirmed (``post``) at once."""
    return lambda r, record: {
        "action": action,
        "_selected_action": [str(record.pk)],
        "index": "0",
        "post": "yes",
    }


@dataclass(frozen=True)
class Post:
    page: str  # the admin page's URL name
    record: str  # the record the URL names ("" none), an attribute of Records
    form: Callable[[Records, Any], dict[str, Any]]  # (records, that record) -> the POST
    expect: tuple[int, ...]  # per principal, in PRINCIPALS' order
    sets: tuple[str, ...] = ()  # foreign keys set out of scope, "model.field"


def no_form(r: Records, record: Any) -> dict[str, Any]:
    return {}


# Records of the scene the rows name: the fixture team's (own_*, scene.*) and Pudong's.
RECORD = {
    "own_team": lambda r: r.team,
    "own_profile": lambda r: AgentProfile.objects.get(user=r.agent_b),
    "their_profile": lambda r: AgentProfile.objects.get(user=r.outsider),
    "own_case": lambda r: r.cases[0],
    "own_address": lambda r: r.addresses[0],
    "own_route": lambda r: r.route,
    "own_alert": lambda r: r.scene.alert,
    "own_change": lambda r: r.scene.change,
    "own_visit": lambda r: r.scene.closed,
    "own_token": lambda r: r.scene.revoked_token,
    "any_user": lambda r: r.agent_a,
    "any_group": lambda r: Group.objects.order_by("pk").first(),
    "their_incident": lambda r: Incident.objects.get(team=r.other_team),
    "their_suspension": lambda r: AgentSuspension.objects.get(agent=r.outsider_partner),
    "their_complaint": lambda r: Complaint.objects.get(case__team=r.other_team),
    "agency": lambda r: Agency.objects.get(),
}


def record_of(r: Records, name: str) -> Any:
    if not name:
        return None
    if name in RECORD:
        return RECORD[name](r)
    if name.startswith("first:"):
        return apps.get_model("fieldvisit", name[6:])._base_manager.order_by("pk").first()
    return getattr(r, name)


def readonly(model: str) -> list[Post]:
    """A record nobody adds, changes or deletes in admin (evidence, the ledger, read logs):
    every staff POST is refused whatever the role may read. Its list offers no action, so
    deleting through it shows the list again to those who read it (the GET matrix's 200)
    and is refused to the others."""
    listed = GET_MATRIX[f"fieldvisit_{model}_changelist"]
    return [
        Post(f"fieldvisit_{model}_add", "", no_form, NOBODY),
        Post(f"fieldvisit_{model}_change", f"first:{model}", no_form, NOBODY),
        Post(f"fieldvisit_{model}_delete", f"first:{model}", lambda r, o: DELETE, NOBODY),
        Post(f"fieldvisit_{model}_changelist", f"first:{model}", LIST_DELETE, listed),
    ]


# Changelist actions: deleting through the list needs the delete permission, which only the
# planner holds (routes and stops), and routes are deleted only as drafts.
LIST_DELETE = select("delete_selected")

POSTS: list[Post] = [
    # Agents: the issue. A supervisor moves their agent only into a team they oversee, adds
    # agents only to such a team and only from users who are not agents elsewhere, and
    # changes nothing of another team's agents (absent: back to the list).
    Post(
        "fieldvisit_agentprofile_change",
        "own_profile",
        lambda r, o: profile_form(o, o.user, r.other_team),
        staff(403, 200, 403, 403, 403, 403),
        ("agentprofile.team",),
    ),
    Post(
        "fieldvisit_agentprofile_change",
        "their_profile",
        lambda r, o: profile_form(o, o.user, r.team),
        staff(403, 302, 403, 403, 403, 403),
    ),
    Post(
        "fieldvisit_agentprofile_add",
        "",
        lambda r, o: profile_form(None, r.recruit, r.other_team),
        staff(403, 200, 403, 403, 403, 403),
        ("agentprofile.team",),
    ),
    Post(
        "fieldvisit_agentprofile_add",
        "",
        lambda r, o: profile_form(None, r.outsider, r.team),
        staff(403, 200, 403, 403, 403, 403),
        ("agentprofile.user",),
    ),
    # Only field agents join a team: not legal (whose devices and ledger entries would then
    # be the supervisor's) nor an auditor, whatever the page.
    Post(
        "fieldvisit_agentprofile_add",
        "",
        lambda r, o: profile_form(None, r.legal, r.team),
        staff(403, 200, 403, 403, 403, 403),
        ("agentprofile.user",),
    ),
    Post("fieldvisit_agentprofile_delete", "own_profile", lambda r, o: DELETE, NOBODY),
    # Agents' papers and agencies: a supervisor records papers of their own teams' agents
    # only (another team's agent is not a choice), never changes or deletes one; agencies
    # and their agreements are the supervisors' to keep (not team-bound: every other role
    # is refused).
    Post(
        "fieldvisit_qualificationdocument_add",
        "",
        lambda r, o: paper_form(
            agent=AgentProfile.objects.get(user=r.outsider).pk, kind="training"
        ),
        staff(403, 200, 403, 403, 403, 403),
        ("qualificationdocument.agent",),
    ),
    Post("fieldvisit_qualificationdocument_change", "first:qualificationdocument", no_form, NOBODY),
    Post(
        "fieldvisit_qualificationdocument_delete",
        "first:qualificationdocument",
        lambda r, o: DELETE,
        NOBODY,
    ),
    Post(
        "fieldvisit_qualificationdocument_changelist",
        "first:qualificationdocument",
        LIST_DELETE,
        GET_MATRIX["fieldvisit_qualificationdocument_changelist"],
    ),
    Post(
        "fieldvisit_agentprofile_change",
        "own_profile",
        lambda r, o: profile_form(o, o.user, r.team) | {"agency": str(Agency.objects.get().pk)},
        staff(403, OK, 403, 403, 403, 403),
        ("agentprofile.agency",),
    ),
    Post(
        "fieldvisit_agency_add",
        "",
        lambda r, o: {"name": "Shell Co"},
        staff(403, OK, 403, 403, 403, 403),
    ),
    Post(
        "fieldvisit_agency_change",
        "agency",
        lambda r, o: {"name": "Renamed", "active": "on", **management("agreements", 0, 0)},
        staff(403, OK, 403, 403, 403, 403),
    ),
    Post("fieldvisit_agency_delete", "agency", lambda r, o: DELETE, NOBODY),
    Post(
        "fieldvisit_agency_changelist",
        "agency",
        LIST_DELETE,
        GET_MATRIX["fieldvisit_agency_changelist"],
    ),
    Post(
        "fieldvisit_agencyagreement_add",
        "",
        lambda r, o: paper_form(agency=Agency.objects.get().pk),
        staff(403, OK, 403, 403, 403, 403),
        ("agencyagreement.agency",),
    ),
    Post("fieldvisit_agencyagreement_change", "first:agencyagreement", no_form, NOBODY),
    Post("fieldvisit_agencyagreement_delete", "first:agencyagreement", lambda r, o: DELETE, NOBODY),
    Post(
        "fieldvisit_agencyagreement_changelist",
        "first:agencyagreement",
        LIST_DELETE,
        GET_MATRIX["fieldvisit_agencyagreement_changelist"],
    ),
    Post(
        "fieldvisit_agentprofile_changelist",
        "own_profile",
        LIST_DELETE,
        staff(200, 200, 403, 200, 200, 200),
    ),
    # Teams: only a superuser names who oversees a team (the fields are ignored: saved as
    # they were); a new agent row is a newcomer's; another team's page is absent.
    Post(
        "fieldvisit_team_change",
        "own_team",
        lambda r, o: (
            team_form(o)
            | {"supervisor": r.recruit.pk, "risk_manager": r.recruit.pk, "lead": r.recruit.pk}
        ),
        staff(403, 302, 403, 403, 403, 403),
        ("team.supervisor", "team.risk_manager", "team.lead"),
    ),
    Post(
        "fieldvisit_team_change",
        "own_team",
        lambda r, o: team_form(o, user=r.outsider.pk, badge_number="NEW-2"),
        staff(403, 200, 403, 403, 403, 403),
        ("agentprofile.user",),
    ),
    Post(
        "fieldvisit_team_change",
        "own_team",
        lambda r, o: team_form(o, user=r.auditor.pk, badge_number="NEW-3"),
        staff(403, 200, 403, 403, 403, 403),
        ("agentprofile.user",),
    ),
    Post(
        "fieldvisit_team_change",
        "other_team",
        lambda r, o: team_form(o) | {"name": "Taken over"},
        staff(403, 302, 403, 403, 403, 403),
    ),
    # The on-call chain (an inline of the team page) takes only supervisors: an agent put
    # on it is a form error.
    Post(
        "fieldvisit_team_change",
        "own_team",
        lambda r, o: (
            team_form(o)
            | management("oncall", 1, 0)
            | {"oncall-0-team": str(o.pk), "oncall-0-position": "9", "oncall-0-user": r.agent_a.pk}
        ),
        staff(403, 200, 403, 403, 403, 403),
        ("oncallentry.user",),
    ),
    Post("fieldvisit_team_add", "", lambda r, o: {"name": "New", "timezone": "UTC"}, NOBODY),
    Post("fieldvisit_team_delete", "own_team", lambda r, o: DELETE, NOBODY),
    Post(
        "fieldvisit_team_changelist", "other_team", LIST_DELETE, staff(200, 200, 403, 200, 200, 200)
    ),
    # Contacts: a supervisor adds them for themselves, the people on their teams' chains and
    # their teams' agents; one for anybody else (another team's agent) is a form error.
    Post(
        "fieldvisit_contactpoint_add",
        "",
        lambda r, o: {"user": r.outsider.pk, "kind": "email", "value": "spy@example.com"},
        staff(403, 200, 403, 403, 403, 403),
        ("contactpoint.user",),
    ),
    Post(
        "fieldvisit_contactpoint_add",
        "",
        lambda r, o: {"user": r.duty.pk, "kind": "mobile", "value": "13800138000"},
        staff(403, OK, 403, 403, 403, 403),
    ),
    Post(
        "fieldvisit_contactpoint_change",
        "first:contactpoint",
        lambda r, o: {"user": o.user_id, "kind": "email", "value": "not an address"},
        staff(403, 200, 403, 403, 403, 403),
    ),
    Post(
        "fieldvisit_contactpoint_changelist",
        "first:contactpoint",
        LIST_DELETE,
        staff(403, OK, 403, 403, 403, 403),
    ),
    Post(
        "fieldvisit_contactpoint_delete",
        "first:contactpoint",
        lambda r, o: DELETE,
        staff(403, OK, 403, 403, 403, 403),
    ),
    # Device tokens: revoked by a supervisor of the owner's team; another team's token is
    # not among the selected (nothing done, back to the list).
    Post(
        "fieldvisit_devicetoken_changelist",
        "their_token",
        select("revoke"),
        staff(403, 302, 403, 200, 403, 403),
    ),
    Post("fieldvisit_devicetoken_add", "", no_form, NOBODY),
    Post("fieldvisit_devicetoken_change", "own_token", no_form, NOBODY),
    Post("fieldvisit_devicetoken_delete", "own_token", lambda r, o: DELETE, NOBODY),
    # Deleting is no action of the list; a supervisor, who has one (revoke), is told so.
    Post(
        "fieldvisit_devicetoken_changelist",
        "own_token",
        LIST_DELETE,
        staff(403, 302, 403, 200, 403, 403),
    ),
    # Cases and their places: planners plan for every team; nobody else writes them.
    Post(
        "fieldvisit_case_change",
        "own_case",
        lambda r, o: case_form(r, r.other_team, o.number),
        staff(OK, 403, 403, 403, 403, 403),
        ("case.team", "case.creditor"),
    ),
    Post(
        "fieldvisit_case_change",
        "their_case",
        lambda r, o: case_form(r, r.team, o.number),
        staff(OK, 403, 403, 403, 403, 403),
    ),
    Post(
        "fieldvisit_case_add",
        "",
        lambda r, o: case_form(r, r.other_team),
        staff(OK, 403, 403, 403, 403, 403),
        ("case.team", "case.creditor"),
    ),
    Post("fieldvisit_case_delete", "own_case", lambda r, o: DELETE, NOBODY),
    Post(
        "fieldvisit_case_changelist", "their_case", LIST_DELETE, staff(200, 200, 200, 200, 200, 200)
    ),
    Post(
        "fieldvisit_case_import",
        "",
        lambda r, o: import_form(r),
        staff(200, 403, 403, 403, 403, 403),
    ),
    Post(
        "fieldvisit_case_process_import",
        "",
        lambda r, o: {"import_file_name": "../../x", "original_file_name": "c.csv", "format": "0"},
        staff(302, 403, 403, 403, 403, 403),
    ),
    Post(
        "fieldvisit_address_change",
        "own_address",
        lambda r, o: address_form(r.their_case),
        staff(OK, 403, 403, 403, 403, 403),
        ("address.case",),
    ),
    Post(
        "fieldvisit_address_add",
        "",
        lambda r, o: address_form(r.their_case),
        staff(OK, 403, 403, 403, 403, 403),
        ("address.case",),
    ),
    Post("fieldvisit_address_delete", "their_address", lambda r, o: DELETE, NOBODY),
    Post(
        "fieldvisit_address_changelist",
        "their_address",
        LIST_DELETE,
        staff(200, 200, 200, 200, 200, 200),
    ),
    Post(
        "fieldvisit_relation_change",
        "own_relation",
        lambda r, o: relation_form(r.their_case),
        staff(OK, 403, 403, 403, 403, 403),
        ("relation.case",),
    ),
    Post(
        "fieldvisit_relation_add",
        "",
        lambda r, o: relation_form(r.their_case),
        staff(OK, 403, 403, 403, 403, 403),
        ("relation.case",),
    ),
    Post("fieldvisit_relation_delete", "their_relation", lambda r, o: DELETE, NOBODY),
    Post(
        "fieldvisit_relation_changelist",
        "their_relation",
        LIST_DELETE,
        staff(200, 200, 200, 200, 200, 200),
    ),
    Post(
        "fieldvisit_creditor_change",
        "creditor",
        lambda r, o: {"name": "Taken", "code": "taken"},
        NOBODY,
    ),
    Post("fieldvisit_creditor_add", "", lambda r, o: {"name": "N", "code": "n"}, NOBODY),
    Post("fieldvisit_creditor_delete", "creditor", lambda r, o: DELETE, NOBODY),
    Post(
        "fieldvisit_creditor_changelist",
        "creditor",
        LIST_DELETE,
        staff(200, 200, 200, 200, 200, 200),
    ),
    # Routes: planners draft for every team; an approved route is frozen for everyone; only
    # a supervisor of the route's team decides it (another team's route is absent).
    Post(
        "fieldvisit_route_change",
        "own_route",
        lambda r, o: route_form(r, r.other_team, o.date),
        NOBODY,
        ("route.team", "stop.case", "stop.address"),
    ),
    Post(
        "fieldvisit_route_change",
        "their_draft",
        lambda r, o: route_form(r, r.team, o.date),
        staff(OK, 403, 403, 403, 403, 403),
    ),
    Post(
        "fieldvisit_route_add",
        "",
        lambda r, o: route_form(r, r.other_team, DAY + dt.timedelta(days=9)),
        staff(OK, 403, 403, 403, 403, 403),
        ("route.team", "stop.case", "stop.address"),
    ),
    Post("fieldvisit_route_delete", "own_route", lambda r, o: DELETE, NOBODY),
    Post(
        "fieldvisit_route_changelist", "own_route", LIST_DELETE, staff(200, 200, 200, 200, 200, 200)
    ),
    Post("fieldvisit_route_submit", "their_draft", no_form, staff(OK, 403, 403, 403, 403, 403)),
    Post(
        "fieldvisit_route_decide",
        "their_submitted",
        lambda r, o: {"comment": "mine now", "_approve": "1"},
        staff(403, 404, 403, 403, 403, 404),
    ),
    # Nobody who made a route decides it: the supervisor changed this one as a draft (the
    # decision page again, with the refusal).
    Post(
        "fieldvisit_route_decide",
        "own_made",
        lambda r, o: {"comment": "my own plan", "_approve": "1"},
        staff(403, 200, 403, 403, 403, OK),
    ),
    Post(
        "fieldvisit_route_propose",
        "",
        lambda r, o: (
            {"team": r.other_team.pk, "date": f"{DAY + dt.timedelta(days=5)}"}
            | {"stops": "5", "start": "09:00"}
        ),
        staff(OK, 403, 403, 403, 403, 403),
    ),
    Post(
        "fieldvisit_routechangerequest_decide",
        "their_change",
        lambda r, o: {"comment": "fine", "_approve": "1"},
        staff(403, 404, 403, 403, 404, 403),
    ),
    Post(
        "fieldvisit_routechangerequest_change",
        "own_change",
        lambda r, o: {"route": str(r.their_approved.pk), "reason": "x"},
        NOBODY,
    ),
    Post("fieldvisit_routechangerequest_add", "", no_form, NOBODY),
    Post("fieldvisit_routechangerequest_delete", "own_change", lambda r, o: DELETE, NOBODY),
    Post(
        "fieldvisit_routechangerequest_changelist",
        "own_change",
        LIST_DELETE,
        staff(200, 200, 403, 200, 200, 200),
    ),
    # Alerts: handled by a supervisor of the alert's team (another team's is absent).
    Post(
        "fieldvisit_alert_handle",
        "their_alert",
        lambda r, o: {"note": "not mine", "_resolve": "1"},
        staff(403, 404, 403, 403, 404, 404),
    ),
    Post("fieldvisit_alert_change", "own_alert", lambda r, o: {"team": r.other_team.pk}, NOBODY),
    Post("fieldvisit_alert_add", "", no_form, NOBODY),
    Post("fieldvisit_alert_delete", "own_alert", lambda r, o: DELETE, NOBODY),
    Post(
        "fieldvisit_alert_changelist",
        "their_alert",
        LIST_DELETE,
        staff(403, 200, 200, 200, 200, 200),
    ),
    # Visits: reviewed only by a supervisor of the visit's team.
    Post(
        "fieldvisit_visit_review",
        "their_visit",
        lambda r, o: {"comment": "reviewed"},
        staff(403, 404, 403, 403, 404, 403),
    ),
    Post("fieldvisit_visit_change", "own_visit", no_form, NOBODY),
    Post("fieldvisit_visit_add", "", no_form, NOBODY),
    Post("fieldvisit_visit_delete", "own_visit", lambda r, o: DELETE, NOBODY),
    Post(
        "fieldvisit_visit_changelist",
        "their_visit",
        LIST_DELETE,
        staff(403, 200, 200, 200, 200, 200),
    ),
    # Evidence, reports, the ledger and the read log: nobody writes them here.
    *readonly("checkin"),
    *readonly("photo"),
    *readonly("receipt"),
    *readonly("recording"),
    *readonly("evidencefile"),
    *readonly("evidenceaccess"),
    *readonly("visitreport"),
    *readonly("visitreview"),
    *readonly("ledgerentry"),
    *readonly("checkpoint"),
    *readonly("checkpointtimestamp"),
    *readonly("signingkey"),
    # Users and groups: the superuser's alone.
    Post(
        "auth_user_add",
        "",
        lambda r, o: {"username": "x", "password1": "p", "password2": "p"},
        NOBODY,
    ),
    Post(
        "auth_user_change", "any_user", lambda r, o: {"username": "x", "is_superuser": "on"}, NOBODY
    ),
    Post("auth_user_delete", "any_user", lambda r, o: DELETE, NOBODY),
    Post(
        "auth_user_password_change",
        "any_user",
        lambda r, o: {"password1": "Hijacked-123", "password2": "Hijacked-123"},
        NOBODY,
    ),
    Post("auth_user_changelist", "any_user", LIST_DELETE, NOBODY),
    # Conduct incidents, suspensions and complaints: a supervisor opens findings about,
    # suspends and takes complaints about their own teams' visits and agents only (the form
    # again, its error on the other team's visit or agent), and closes, lifts and answers
    # nothing of another team's (absent); legal takes and answers complaints about any.
    Post(
        "fieldvisit_incident_add",
        "",
        lambda r, o: {
            "visit": str(r.their_visit.pk),
            "rules": ["no_disturbance"],
            "agents": [str(r.outsider.pk)],
            "summary": "x",
        },
        staff(403, 200, 403, 403, 403, 200),
    ),
    *readonly("incident")[1:],
    Post(
        "fieldvisit_incident_decide",
        "their_incident",
        lambda r, o: {"decision": "warning", "findings": "x", "case_status": "open"},
        staff(403, 404, 403, 403, 403, 404),
    ),
    Post(
        "fieldvisit_agentsuspension_add",
        "",
        lambda r, o: {"agent": str(r.outsider.pk), "reason": "x"},
        staff(403, 200, 403, 403, 403, 200),
    ),
    *readonly("agentsuspension")[1:],
    Post(
        "fieldvisit_agentsuspension_lift",
        "their_suspension",
        lambda r, o: {"reason": "x"},
        staff(403, 404, 403, 403, 403, 404),
    ),
    Post(
        "fieldvisit_complaint_add",
        "",
        lambda r, o: {
            "channel": "phone",
            "complainant_kind": "debtor",
            "complainant_name": "x",
            "visit": str(r.their_visit.pk),
            "agents": [str(r.outsider.pk)],
            "category": "disturbance",
            "description": "x",
        },
        staff(403, 200, OK, 403, 403, 200),
    ),
    *readonly("complaint")[1:],
    Post(
        "fieldvisit_complaint_answer",
        "their_complaint",
        lambda r, o: {"text": "x"},
        staff(403, 404, OK, 403, 403, 404),
    ),
    Post("auth_group_add", "", lambda r, o: {"name": "x"}, NOBODY),
    Post("auth_group_change", "any_group", lambda r, o: {"name": "x"}, NOBODY),
    Post("auth_group_delete", "any_group", lambda r, o: DELETE, NOBODY),
    Post("auth_group_changelist", "any_group", LIST_DELETE, NOBODY),
]


# Pages that take a POST but write nothing an attacker could aim elsewhere: signing in and
# out, and changing one's own password (covered by Django's tests).
NOT_ATTACKS = {"login", "logout", "password_change"}

WRITE_PAGE = re.compile(
    r"_(add|change|delete|changelist|decide|handle|submit|propose|review|import|"
    r"process_import|password_change|lift|answer)$"
)


def writes_of(name: str) -> bool:
    return bool(WRITE_PAGE.search(name)) and name not in NOT_ATTACKS


def digest() -> str:
    """The state the attacks could change: every row of the tables that take updates, and
    how many rows the append-only ones hold (the database refuses their UPDATE and DELETE),
    counted in one query. Not admin's own change log or the sessions; nor the
    evidence-access log, which pages that show records write."""
    state = hashlib.sha256()
    counted = []
    for model in [*apps.get_app_config("fieldvisit").get_models(), User, Group]:
        if model._meta.model_name == "evidenceaccess":
            continue
        if issubclass(model, AppendOnlyModel):
            counted.append(connection.ops.quote_name(model._meta.db_table))
            continue
        for row in model._base_manager.order_by("pk").values_list():
            cells = [bytes(c) if isinstance(c, memoryview) else c for c in row]
            state.update(repr(cells).encode())
        state.update(b"|")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT " + ", ".join(f"(SELECT COUNT(*) FROM {table})" for table in counted)
        )
        state.update(repr(cursor.fetchone()).encode())
    return state.hexdigest()


def form_error_fields(response: Any) -> set[str]:
    """The fields a re-shown admin form (and its inline rows) names errors on."""
    context = response.context
    names: set[str] = set()
    if context is None or "adminform" not in context:
        return names
    names |= set(context["adminform"].form.errors)
    for inline in context.get("inline_admin_formsets", []):
        for errors in inline.formset.errors:
            names |= set(errors)
        if inline.formset.non_form_errors():
            names.add("__all__")
    return names


def url_of(post: Post, record: Any) -> str:
    """The page's address: about the record (change, delete and custom pages), or not."""
    if record is None or post.page.endswith("_changelist"):
        return reverse(f"admin:{post.page}")
    return reverse(f"admin:{post.page}", args=[record.pk])


@pytest.fixture
def quiet_refusals() -> Any:
    """Every 403 is logged as a warning with its traceback; hundreds of them here cost
    seconds. Server errors still log (and fail the statuses)."""
    logger = logging.getLogger("django.request")
    level = logger.level
    logger.setLevel(logging.ERROR)
    yield
    logger.setLevel(level)


def test_the_admin_post_matrix(records: Records, quiet_refusals: Any) -> None:
    browsers = {principal: records.scene.browser(principal) for principal in PRINCIPALS}
    sign_in = reverse("admin:login")
    before = digest()
    wrong = []
    for post in POSTS:
        record = record_of(records, post.record)
        assert record is not None or not post.record, f"{post.page}: no {post.record} here"
        url = url_of(post, record)
        label = f"{post.page} on {post.record or 'nothing'}"
        for principal, status in zip(PRINCIPALS, post.expect, strict=True):
            if status == OK:
                continue
            response = browsers[principal].post(url, post.form(records, record))
            if response.status_code != status:
                wrong.append(f"{label} as {principal}: {response.status_code}, not {status}")
            elif status == 302 and principal in NOT_STAFF_NAMES:
                assert response["Location"].startswith(sign_in), (label, principal)
            elif status == 200 and post.sets:
                # The form again: with its error on the field the attack set, and only there.
                fields = {fk.split(".")[1] for fk in post.sets}
                shown = form_error_fields(response)
                if not shown or not shown <= fields:
                    wrong.append(f"{label} as {principal}: errors on {shown}, not {fields}")
        after = digest()
        if after != before:
            wrong.append(f"{label}: the database changed")
            before = after
    assert not wrong, "\n".join(wrong)


NOT_STAFF_NAMES = ("anonymous", "revoked", "agent", "outsider")


def test_every_admin_write_page_has_a_post_row() -> None:
    pages = {name for name in admin_pages() if writes_of(name)}
    assert {"fieldvisit_agentprofile_change", "fieldvisit_route_decide"} <= pages
    covered = {post.page for post in POSTS}
    assert pages - covered == set(), "add POST rows for these admin pages"
    assert covered - pages == set(), "POSTS names pages that do not exist"


def test_every_writable_foreign_key_has_a_post_row() -> None:
    """Each foreign key an admin form can set (a model's own admin or an inline of another)
    has a row that sets it out of scope; read-only admins and inlines set nothing, and an
    inline's key to the page's record is the page's."""
    writable: set[str] = set()
    for model, model_admin in admin.site._registry.items():
        if isinstance(model_admin, ReadOnlyAdmin):
            continue
        forms = [(model, model_admin, None)]
        for inline_class in model_admin.inlines:
            inline = inline_class(model, admin.site)
            if isinstance(inline, ReadOnlyInline):
                continue
            parent = _get_foreign_key(model, inline.model, fk_name=inline.fk_name)
            forms.append((inline.model, inline, parent.name))
        for form_model, form_admin, parent_key in forms:
            fixed = set(getattr(form_admin, "readonly_fields", ()))
            for field in form_model._meta.fields:
                if (
                    field.is_relation
                    and field.editable
                    and field.name != parent_key
                    and field.name not in fixed
                    and (form_admin.fields is None or field.name in form_admin.fields)
                ):
                    writable.add(f"{form_model._meta.model_name}.{field.name}")
    assert {"agentprofile.team", "agentprofile.user", "stop.case"} <= writable
    covered = {fk for post in POSTS for fk in post.sets}
    assert writable - covered == set(), "add POST rows that set these foreign keys"
