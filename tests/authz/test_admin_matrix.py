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
from typing import Any

import pytest
from django.contrib import admin
from django.contrib.contenttypes.models import ContentType
from django.urls import reverse

from fieldvisit.models import QualificationDocument
from tests.authz.admin_pages import MATRIX, Page, admin_pages
from tests.authz.scene import PRINCIPALS, Scene

pytestmark = pytest.mark.django_db(transaction=True)


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
        "qualificationdocument": QualificationDocument.objects.filter(agent__user=w.agent_a)
        .order_by("kind")
        .first(),
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
    elif name == "fieldvisit_case_import_template":
        kwargs = {"kind": "csv"}
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
