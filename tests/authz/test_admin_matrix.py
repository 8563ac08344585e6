"""The authorization matrix of admin: every admin page (changelists, add, change, history
and delete pages of every model, the custom pages, the site's own pages) as each of eight
principals, with the status each must get. One literal table, one test.

Pages are found at run time in the URL resolver under /admin/ (admin.site's and those
mounted beside it); a page without a row fails
``test_every_admin_page_has_a_row_in_the_matrix``. Each page is asked for with GET about a
record of the supervisor's team: 200 shown; 302 to the sign-in page (nobody, or not
staff), or back to the list ("does not exist") for a record out of the user's scope; 403
a page the user's permissions do not open.
"""

from __future__ import annotations

import uuid
from dataclasses import dataclass
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone

from fieldvisit.actions import reports as report_actions
from fieldvisit.choices import RelationKind
from fieldvisit.models import Checkpoint, CheckpointTimestamp, Relation
from tests.authz.scene import PRINCIPALS, Scene

pytestmark = pytest.mark.django_db(transaction=True)


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


@pytest.fixture
def full_scene(scene: Scene) -> Scene:
    """The scene, with the records only admin shows: a relation and a review."""
    w = scene.world
    Relation.objects.create(case=w.cases[0], name="Li Si", kind=RelationKind.choices[0][0])
    report_actions.cosign_report(scene.closed, w.agent_a, "phone-a", scene.report.pk)
    report_actions.review_visit(scene.closed.pk, w.supervisor, "Looks right.")
    # A time-stamp authority that did not answer: an attempt on record.
    CheckpointTimestamp.objects.create(
        checkpoint=Checkpoint.objects.order_by("pk").first(),
        authority="https://tsa.example/",
        requested_at=timezone.now(),
        error="timed out",
    )
    return scene


def record_for(scene: Scene, model: type) -> Any:
    """The record of ``model`` a page is asked about: one of the supervisor's team."""
    w = scene.world
    chosen = {
        "route": w.route,
        "visit": scene.closed,
        "team": w.team,
        "user": w.agent_a,
        "alert": scene.alert,
        "routechangerequest": scene.change,
        "devicetoken": scene.revoked_token,
    }.get(model._meta.model_name)
    return chosen or model._default_manager.order_by("pk").first()


def url_for(scene: Scene, name: str, page: Page) -> str:
    kwargs: dict[str, Any] = {}
    pattern = page.pattern
    params = set(pattern.pattern.converters) | set(pattern.pattern.regex.groupindex)
    if name == "view_on_site":
        record = scene.closed
        kwargs = {
            "content_type_id": ContentType.objects.get_for_model(record).pk,
            "object_id": record.pk,
        }
    elif name == "app_list":
        kwargs = {"app_label": "fieldvisit"}
    elif params:
        model = next(
            (
                m
                for m in admin.site._registry
                if name.startswith(f"{m._meta.app_label}_{m._meta.model_name}_")
            ),
            None,
        )
        assert model is not None, f"{name}: say in url_for which record its page is about"
        record = record_for(scene, model)
        # A model the scene has no record of (a newcomer): a record that does not exist, so
        # the page still shows who may open the model's pages at all.
        missing = uuid.UUID(int=0) if "<uuid:" in str(pattern.pattern) else 0
        kwargs = dict.fromkeys(params, record.pk if record is not None else missing)
    return page.reverse(**kwargs)


# The table: admin page (URL name): the status for each principal, in the order anonymous,
# revoked API token (means nothing to admin), agent of the team, outsider agent (agents
# are not staff), planner, supervisor (of the team), legal, auditor.
MATRIX: dict[str, tuple[int, int, int, int, int, int, int, int]] = {
    # The site's own pages: staff only; the sign-in page sends the signed-in staff on.
    "index": (302, 302, 302, 302, 200, 200, 200, 200),
    "login": (200, 200, 200, 200, 302, 302, 302, 302),
    "logout": (302, 302, 302, 302, 405, 405, 405, 405),
    "password_change": (302, 302, 302, 302, 200, 200, 200, 200),
    "password_change_done": (302, 302, 302, 302, 200, 200, 200, 200),
    "autocomplete": (302, 302, 302, 302, 403, 403, 403, 403),
    "jsi18n": (302, 302, 302, 302, 200, 200, 200, 200),
    "view_on_site": (302, 302, 302, 302, 404, 404, 404, 404),
    # Users and groups: the superuser's alone.
    "auth_group_changelist": (302, 302, 302, 302, 403, 403, 403, 403),
    "auth_group_add": (302, 302, 302, 302, 403, 403, 403, 403),
    "auth_group_history": (302, 302, 302, 302, 403, 403, 403, 403),
    "auth_group_delete": (302, 302, 302, 302, 403, 403, 403, 403),
    "auth_group_change": (302, 302, 302, 302, 403, 403, 403, 403),
    "auth_user_password_change": (302, 302, 302, 302, 403, 403, 403, 403),
    "auth_user_changelist": (302, 302, 302, 302, 403, 403, 403, 403),
    "auth_user_add": (302, 302, 302, 302, 403, 403, 403, 403),
    "auth_user_history": (302, 302, 302, 302, 403, 403, 403, 403),
    "auth_user_delete": (302, 302, 302, 302, 403, 403, 403, 403),
    "auth_user_change": (302, 302, 302, 302, 403, 403, 403, 403),
    # Alerts: supervisors handle them; legal and auditors read them; planners do not see
    # them at all, not even the count of open ones the list polls.
    "fieldvisit_alert_feed": (302, 302, 302, 302, 403, 200, 200, 200),
    "fieldvisit_alert_handle": (302, 302, 302, 302, 403, 200, 403, 403),
    "fieldvisit_alert_changelist": (302, 302, 302, 302, 403, 200, 200, 200),
    "fieldvisit_alert_add": (302, 302, 302, 302, 403, 403, 403, 403),
    "fieldvisit_alert_history": (302, 302, 302, 302, 403, 200, 200, 200),
    "fieldvisit_alert_delete": (302, 302, 302, 302, 403, 403, 403, 403),
    "fieldvisit_alert_change": (302, 302, 302, 302, 403, 200, 200, 200),
    # Evidence and the ledger: read by supervisors, legal and auditors; added, changed and
    # deleted by nobody.
    "fieldvisit_checkin_changelist": (302, 302, 302, 302, 403, 200, 200, 200),
    "fieldvisit_checkin_add": (302, 302, 302, 302, 403, 403, 403, 403),
    "fieldvisit_checkin_history": (302, 302, 302, 302, 403, 200, 200, 200),
    "fieldvisit_checkin_delete": (302, 302, 302, 302, 403, 403, 403, 403),
    "fieldvisit_checkin_change": (302, 302, 302, 302, 403, 200, 200, 200),
    # Cases and their places: every staff role reads them; planners add them.
    "fieldvisit_creditor_changelist": (302, 302, 302, 302, 200, 200, 200, 200),
    "fieldvisit_creditor_add": (302, 302, 302, 302, 403, 403, 403, 403),
    "fieldvisit_creditor_history": (302, 302, 302, 302, 200, 200, 200, 200),
    "fieldvisit_creditor_delete": (302, 302, 302, 302, 403, 403, 403, 403),
    "fieldvisit_creditor_change": (302, 302, 302, 302, 200, 200, 200, 200),
    "fieldvisit_case_changelist": (302, 302, 302, 302, 200, 200, 200, 200),
    "fieldvisit_case_add": (302, 302, 302, 302, 200, 403, 403, 403),
    "fieldvisit_case_history": (302, 302, 302, 302, 200, 200, 200, 200),
    "fieldvisit_case_delete": (302, 302, 302, 302, 403, 403, 403, 403),
    "fieldvisit_case_change": (302, 302, 302, 302, 200, 200, 200, 200),
    "fieldvisit_case_import": (302, 302, 302, 302, 200, 403, 403, 403),
    "fieldvisit_case_process_import": (302, 302, 302, 302, 405, 405, 405, 405),  # POST only
    "fieldvisit_address_changelist": (302, 302, 302, 302, 200, 200, 200, 200),
    "fieldvisit_address_add": (302, 302, 302, 302, 200, 403, 403, 403),
    "fieldvisit_address_history": (302, 302, 302, 302, 200, 200, 200, 200),
    "fieldvisit_address_delete": (302, 302, 302, 302, 403, 403, 403, 403),
    "fieldvisit_address_change": (302, 302, 302, 302, 200, 200, 200, 200),
    "fieldvisit_relation_changelist": (302, 302, 302, 302, 200, 200, 200, 200),
    "fieldvisit_relation_add": (302, 302, 302, 302, 200, 403, 403, 403),
    "fieldvisit_relation_history": (302, 302, 302, 302, 200, 200, 200, 200),
    "fieldvisit_relation_delete": (302, 302, 302, 302, 403, 403, 403, 403),
    "fieldvisit_relation_change": (302, 302, 302, 302, 200, 200, 200, 200),
    "fieldvisit_photo_thumb": (302, 302, 302, 302, 403, 200, 200, 200),
    "fieldvisit_photo_original": (302, 302, 302, 302, 403, 200, 200, 200),
    "fieldvisit_photo_changelist": (302, 302, 302, 302, 403, 200, 200, 200),
    "fieldvisit_photo_add": (302, 302, 302, 302, 403, 403, 403, 403),
    "fieldvisit_photo_history": (302, 302, 302, 302, 403, 200, 200, 200),
    "fieldvisit_photo_delete": (302, 302, 302, 302, 403, 403, 403, 403),
    "fieldvisit_photo_change": (302, 302, 302, 302, 403, 200, 200, 200),
    "fieldvisit_receipt_changelist": (302, 302, 302, 302, 403, 200, 200, 200),
    "fieldvisit_receipt_add": (302, 302, 302, 302, 403, 403, 403, 403),
    "fieldvisit_receipt_history": (302, 302, 302, 302, 403, 200, 200, 200),
    "fieldvisit_receipt_delete": (302, 302, 302, 302, 403, 403, 403, 403),
    "fieldvisit_receipt_change": (302, 302, 302, 302, 403, 200, 200, 200),
    "fieldvisit_recording_changelist": (302, 302, 302, 302, 403, 200, 200, 200),
    "fieldvisit_recording_add": (302, 302, 302, 302, 403, 403, 403, 403),
    "fieldvisit_recording_history": (302, 302, 302, 302, 403, 200, 200, 200),
    "fieldvisit_recording_delete": (302, 302, 302, 302, 403, 403, 403, 403),
    "fieldvisit_recording_change": (302, 302, 302, 302, 403, 200, 200, 200),
    "fieldvisit_evidencefile_changelist": (302, 302, 302, 302, 403, 200, 200, 200),
    "fieldvisit_evidencefile_add": (302, 302, 302, 302, 403, 403, 403, 403),
    "fieldvisit_evidencefile_history": (302, 302, 302, 302, 403, 200, 200, 200),
    "fieldvisit_evidencefile_delete": (302, 302, 302, 302, 403, 403, 403, 403),
    "fieldvisit_evidencefile_change": (302, 302, 302, 302, 403, 200, 200, 200),
    # Who read which evidence: the auditor's.
    "fieldvisit_evidenceaccess_changelist": (302, 302, 302, 302, 403, 403, 403, 200),
    "fieldvisit_evidenceaccess_add": (302, 302, 302, 302, 403, 403, 403, 403),
    "fieldvisit_evidenceaccess_history": (302, 302, 302, 302, 403, 403, 403, 200),
    "fieldvisit_evidenceaccess_delete": (302, 302, 302, 302, 403, 403, 403, 403),
    "fieldvisit_evidenceaccess_change": (302, 302, 302, 302, 403, 403, 403, 200),
    "fieldvisit_ledgerentry_changelist": (302, 302, 302, 302, 403, 200, 200, 200),
    "fieldvisit_ledgerentry_add": (302, 302, 302, 302, 403, 403, 403, 403),
    "fieldvisit_ledgerentry_history": (302, 302, 302, 302, 403, 200, 200, 200),
    "fieldvisit_ledgerentry_delete": (302, 302, 302, 302, 403, 403, 403, 403),
    "fieldvisit_ledgerentry_change": (302, 302, 302, 302, 403, 200, 200, 200),
    "fieldvisit_checkpoint_changelist": (302, 302, 302, 302, 403, 200, 200, 200),
    "fieldvisit_checkpoint_add": (302, 302, 302, 302, 403, 403, 403, 403),
    "fieldvisit_checkpoint_history": (302, 302, 302, 302, 403, 200, 200, 200),
    "fieldvisit_checkpoint_delete": (302, 302, 302, 302, 403, 403, 403, 403),
    "fieldvisit_checkpoint_change": (302, 302, 302, 302, 403, 200, 200, 200),
    # Time-stamps of checkpoints: read like the ledger.
    "fieldvisit_checkpointtimestamp_changelist": (302, 302, 302, 302, 403, 200, 200, 200),
    "fieldvisit_checkpointtimestamp_add": (302, 302, 302, 302, 403, 403, 403, 403),
    "fieldvisit_checkpointtimestamp_history": (302, 302, 302, 302, 403, 200, 200, 200),
    "fieldvisit_checkpointtimestamp_delete": (302, 302, 302, 302, 403, 403, 403, 403),
    "fieldvisit_checkpointtimestamp_change": (302, 302, 302, 302, 403, 200, 200, 200),
    "fieldvisit_signingkey_changelist": (302, 302, 302, 302, 403, 200, 200, 200),
    "fieldvisit_signingkey_add": (302, 302, 302, 302, 403, 403, 403, 403),
    "fieldvisit_signingkey_history": (302, 302, 302, 302, 403, 200, 200, 200),
    "fieldvisit_signingkey_delete": (302, 302, 302, 302, 403, 403, 403, 403),
    "fieldvisit_signingkey_change": (302, 302, 302, 302, 403, 200, 200, 200),
    # Teams, agents and their devices: not legal's business.
    "fieldvisit_team_changelist": (302, 302, 302, 302, 200, 200, 403, 200),
    "fieldvisit_team_add": (302, 302, 302, 302, 403, 403, 403, 403),
    "fieldvisit_team_history": (302, 302, 302, 302, 200, 200, 403, 200),
    "fieldvisit_team_delete": (302, 302, 302, 302, 403, 403, 403, 403),
    "fieldvisit_team_change": (302, 302, 302, 302, 200, 200, 403, 200),
    "fieldvisit_agentprofile_changelist": (302, 302, 302, 302, 200, 200, 403, 200),
    "fieldvisit_agentprofile_add": (302, 302, 302, 302, 403, 200, 403, 403),
    "fieldvisit_agentprofile_history": (302, 302, 302, 302, 200, 200, 403, 200),
    "fieldvisit_agentprofile_delete": (302, 302, 302, 302, 403, 403, 403, 403),
    "fieldvisit_agentprofile_change": (302, 302, 302, 302, 200, 200, 403, 200),
    "fieldvisit_devicetoken_changelist": (302, 302, 302, 302, 403, 200, 403, 200),
    "fieldvisit_devicetoken_add": (302, 302, 302, 302, 403, 403, 403, 403),
    "fieldvisit_devicetoken_history": (302, 302, 302, 302, 403, 200, 403, 200),
    "fieldvisit_devicetoken_delete": (302, 302, 302, 302, 403, 403, 403, 403),
    "fieldvisit_devicetoken_change": (302, 302, 302, 302, 403, 200, 403, 200),
    # Visits: only the team's supervisor reviews.
    "fieldvisit_visit_review": (302, 302, 302, 302, 403, 200, 403, 403),
    "fieldvisit_visit_changelist": (302, 302, 302, 302, 403, 200, 200, 200),
    "fieldvisit_visit_add": (302, 302, 302, 302, 403, 403, 403, 403),
    "fieldvisit_visit_history": (302, 302, 302, 302, 403, 200, 200, 200),
    "fieldvisit_visit_delete": (302, 302, 302, 302, 403, 403, 403, 403),
    "fieldvisit_visit_change": (302, 302, 302, 302, 403, 200, 200, 200),
    "fieldvisit_visitreport_changelist": (302, 302, 302, 302, 403, 200, 200, 200),
    "fieldvisit_visitreport_add": (302, 302, 302, 302, 403, 403, 403, 403),
    "fieldvisit_visitreport_history": (302, 302, 302, 302, 403, 200, 200, 200),
    "fieldvisit_visitreport_delete": (302, 302, 302, 302, 403, 403, 403, 403),
    "fieldvisit_visitreport_change": (302, 302, 302, 302, 403, 200, 200, 200),
    "fieldvisit_visitreview_changelist": (302, 302, 302, 302, 403, 200, 200, 200),
    "fieldvisit_visitreview_add": (302, 302, 302, 302, 403, 403, 403, 403),
    "fieldvisit_visitreview_history": (302, 302, 302, 302, 403, 200, 200, 200),
    "fieldvisit_visitreview_delete": (302, 302, 302, 302, 403, 403, 403, 403),
    "fieldvisit_visitreview_change": (302, 302, 302, 302, 403, 200, 200, 200),
    # Routes: the route is approved, so it is frozen (no delete); submitting and deciding
    # pages open only to those who may submit (GET goes back to the route) or decide.
    "fieldvisit_route_submit": (302, 302, 302, 302, 302, 403, 403, 403),
    "fieldvisit_route_decide": (302, 302, 302, 302, 403, 200, 403, 403),
    "fieldvisit_route_changelist": (302, 302, 302, 302, 200, 200, 200, 200),
    "fieldvisit_route_add": (302, 302, 302, 302, 200, 403, 403, 403),
    "fieldvisit_route_propose": (302, 302, 302, 302, 200, 403, 403, 403),
    "fieldvisit_route_history": (302, 302, 302, 302, 200, 200, 200, 200),
    "fieldvisit_route_delete": (302, 302, 302, 302, 403, 403, 403, 403),
    "fieldvisit_route_change": (302, 302, 302, 302, 200, 200, 200, 200),
    "fieldvisit_routechangerequest_decide": (302, 302, 302, 302, 403, 200, 403, 403),
    "fieldvisit_routechangerequest_changelist": (302, 302, 302, 302, 200, 200, 403, 200),
    "fieldvisit_routechangerequest_add": (302, 302, 302, 302, 403, 403, 403, 403),
    "fieldvisit_routechangerequest_history": (302, 302, 302, 302, 200, 200, 403, 200),
    "fieldvisit_routechangerequest_delete": (302, 302, 302, 302, 403, 403, 403, 403),
    "fieldvisit_routechangerequest_change": (302, 302, 302, 302, 200, 200, 403, 200),
    "app_list": (302, 302, 302, 302, 200, 200, 200, 200),
    # The live operations dashboard (mounted beside admin.site): supervisors'.
    "fieldvisit-operations": (302, 302, 302, 302, 403, 200, 403, 403),
    "fieldvisit-operations-feed": (302, 302, 302, 302, 403, 200, 403, 403),
}


NOT_STAFF = ("anonymous", "revoked", "agent", "outsider")


def test_the_admin_authorization_matrix(full_scene) -> None:  # type: ignore[no-untyped-def]
    browsers = {principal: full_scene.browser(principal) for principal in PRINCIPALS}
    wrong = []
    for name, page in admin_pages().items():
        if name not in MATRIX:
            continue  # test_every_admin_page_has_a_row_in_the_matrix names it
        url = url_for(full_scene, name, page)
        for principal, status in zip(PRINCIPALS, MATRIX[name], strict=True):
            response = browsers[principal].get(url)
            if getattr(response, "streaming", False):
                b"".join(response.streaming_content)  # a failure midway must show
            if response.status_code != status:
                wrong.append(f"{name} as {principal}: {response.status_code}, not {status}")
            elif status == 302 and principal in NOT_STAFF and name != "logout":
                # Not staff: to the sign-in page (logout, a POST form, sends to the index).
                assert response["Location"].startswith(reverse("admin:login")), (name, principal)
    assert not wrong, "\n".join(wrong)


def test_every_admin_page_has_a_row_in_the_matrix() -> None:
    pages = admin_pages()
    assert {"index", "fieldvisit_route_changelist", "fieldvisit_alert_handle"} <= pages.keys()

    assert pages.keys() - MATRIX.keys() == set(), "add these admin pages to MATRIX"
    assert MATRIX.keys() - pages.keys() == set(), "MATRIX names pages that do not exist"
