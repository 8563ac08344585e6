"""Every admin page, read in Chinese, shows no English of ours (issue 19's check): each page of
the authorization matrix is opened in zh-Hans by the first staff role that may open it, and
its readable text is searched for English (``tests.i18n.english``). The alert and contact
pages outside admin, and the 403 page, are read the same way."""

from __future__ import annotations

from typing import Any

import polib
import pytest

from fieldvisit.actions.notices import ack_token
from fieldvisit.models import AlertNotice
from tests.authz.admin_pages import MATRIX, admin_pages
from tests.authz.scene import PRINCIPALS, Scene
from tests.authz.test_admin_matrix import url_for
from tests.i18n.english import data_values, english_left
from tests.i18n.test_catalog import catalogue

pytestmark = pytest.mark.django_db(transaction=True)

READERS = ("supervisor", "planner", "legal", "auditor")
ZH = {"HTTP_ACCEPT_LANGUAGE": "zh-CN,zh;q=0.9"}


def our_words() -> set[str]:
    """Our own single-word messages (column titles, buttons): English if seen alone."""
    po: polib.POFile = catalogue("django")
    return {e.msgid for e in po if e.msgid.isalpha() and len(e.msgid) > 2}


@pytest.fixture
def chinese_deployment(settings: Any) -> None:
    """A deployment in Chinese: the records the scene writes (alert texts, a review's
    verdict) are in Chinese too, as they are where LANGUAGE_CODE is zh-hans."""
    settings.LANGUAGE_CODE = "zh-hans"


def test_every_admin_page_reads_in_chinese(chinese_deployment: None, full_scene: Scene) -> None:
    browsers = {p: full_scene.browser(p) for p in READERS}
    data, ours = data_values(), our_words()
    left: dict[str, list[str]] = {}
    opened = 0
    for name, page in sorted(admin_pages().items()):
        statuses = dict(zip(PRINCIPALS, MATRIX[name], strict=True))
        reader = next((p for p in READERS if statuses[p] == 200), None)
        if reader is None or name in {"jsi18n", "autocomplete"}:
            continue
        response = browsers[reader].get(url_for(full_scene, name, page), **ZH)
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        opened += 1
        assert response["Content-Language"] == "zh-hans", name
        english = english_left(response.content.decode(), ours, data)
        if english:
            left[name] = sorted(set(english))
    assert opened > 60
    assert not left, "\n".join(f"{name}: {words}" for name, words in left.items())


def test_the_refusal_and_alert_pages_read_in_chinese(
    chinese_deployment: None, full_scene: Scene
) -> None:
    data, ours = data_values(), our_words()
    planner = full_scene.browser("planner")
    denied = planner.get("/admin/fieldvisit/alert/", **ZH)
    assert denied.status_code == 403
    assert not english_left(denied.content.decode(), ours, data)
    supervisor = full_scene.browser("supervisor")
    urls = ["/alerts/ack/not-a-token/", "/alerts/verify/not-a-token/"]
    notice = AlertNotice.objects.order_by("pk").first()
    if notice is not None:
        urls.append(f"/alerts/ack/{ack_token(notice)}/")
    for url in urls:
        page = supervisor.get(url, **ZH)
        assert page.status_code in (200, 404), (url, page.status_code)
        assert not english_left(page.content.decode(), ours, data), url
