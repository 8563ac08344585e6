"""Which language a person is answered in: their own choice, else their browser's, else the
deployment's; the problem's ``code`` never changes with it."""

from __future__ import annotations

from typing import Any

import pytest
from django.test import Client
from django.utils import translation

from fieldvisit.languages import SESSION_KEY, supported
from fieldvisit.models import Preferences
from tests.helpers import assert_problem

pytestmark = pytest.mark.django_db

CASES = "/api/v1/cases/00000000-0000-0000-0000-000000000000/evidence/"


def test_supported_languages_take_the_browsers_spellings() -> None:
    assert supported("zh-CN") == "zh-hans"
    assert supported("zh-Hans-CN") == "zh-hans"
    assert supported("ZH-HANS") == "zh-hans"
    assert supported("en-GB") == "en"
    assert supported("fr") == ""
    assert supported("") == ""
    assert supported(None) == ""


def test_a_problem_follows_accept_language_and_keeps_its_code(world: Any) -> None:
    client = world.client(world.legal, "desk")
    english = assert_problem(client.get(CASES), 404, "not_found")
    chinese_answer = client.get(CASES, HTTP_ACCEPT_LANGUAGE="zh-CN,zh;q=0.9,en;q=0.5")
    chinese = assert_problem(chinese_answer, 404, "not_found")
    assert chinese_answer["Content-Language"] == "zh-hans"
    assert english["title"] == "Not found"
    assert chinese["title"] == "未找到"
    assert chinese["code"] == english["code"] == "not_found"
    assert chinese["type"] == english["type"]


def test_a_rule_refusal_reads_in_chinese(world: Any) -> None:
    """A refusal from the rules, with its values, in the phone's language."""
    client = world.client(world.agent_a, "phone-a")
    answer = client.post(
        "/api/v1/checkins/",
        {"kind": "depart"},
        format="json",
        HTTP_ACCEPT_LANGUAGE="zh-Hans",
    )
    problem = assert_problem(answer, 422, "validation_error")
    assert problem["title"] == "请求中有字段无效"
    assert problem["detail"] == "部分字段无效。"


def test_the_profile_language_goes_before_the_browser(world: Any) -> None:
    Preferences.objects.create(user=world.legal, language="zh-hans")
    client = world.client(world.legal, "desk")
    problem = assert_problem(client.get(CASES, HTTP_ACCEPT_LANGUAGE="en"), 404, "not_found")
    assert problem["title"] == "未找到"
    Preferences.objects.filter(user=world.legal).update(language="")
    problem = assert_problem(client.get(CASES, HTTP_ACCEPT_LANGUAGE="en"), 404, "not_found")
    assert problem["title"] == "Not found"


def test_without_any_header_the_deployment_language_speaks(world: Any, settings: Any) -> None:
    settings.LANGUAGE_CODE = "zh-hans"
    client = world.client(world.legal, "desk")
    assert assert_problem(client.get(CASES), 404, "not_found")["title"] == "未找到"


def test_choosing_a_language_in_admin_keeps_it(world: Any) -> None:
    browser = Client()
    browser.force_login(world.supervisor)
    home = browser.get("/admin/", HTTP_ACCEPT_LANGUAGE="en")
    assert home.status_code == 200
    assert "Site administration" in home.content.decode() or "Today" in home.content.decode()
    chosen = browser.post("/account/language/", {"language": "zh-hans", "next": "/admin/"})
    assert chosen.status_code == 302 and chosen["Location"] == "/admin/"
    assert Preferences.objects.get(user=world.supervisor).language == "zh-hans"
    assert browser.session[SESSION_KEY] == "zh-hans"
    home = browser.get("/admin/", HTTP_ACCEPT_LANGUAGE="en")
    assert home["Content-Language"] == "zh-hans"
    assert '<html lang="zh-hans"' in home.content.decode()
    # Signing in again elsewhere brings it back from the profile.
    other = Client()
    fresh = type(world.supervisor).objects.get(pk=world.supervisor.pk)  # as a sign-in loads it
    other.force_login(fresh)  # user_logged_in, as a real sign-in
    assert other.get("/admin/", HTTP_ACCEPT_LANGUAGE="en")["Content-Language"] == "zh-hans"
    # Back to the browser's.
    browser.post("/account/language/", {"language": "", "next": "/admin/"})
    assert browser.get("/admin/", HTTP_ACCEPT_LANGUAGE="en")["Content-Language"] == "en"


def test_choosing_a_language_goes_back_only_to_this_site(world: Any) -> None:
    browser = Client()
    browser.force_login(world.supervisor)
    answer = browser.post("/account/language/", {"language": "en", "next": "https://evil.example/"})
    assert answer["Location"] == "/admin/"
    assert Client().post("/account/language/", {"language": "en"}).status_code == 302  # sign in
    assert browser.get("/account/language/").status_code == 405


def test_records_are_written_in_the_deployment_language(settings: Any) -> None:
    from fieldvisit.canonical import canonical_json
    from fieldvisit.texts import _, for_records

    settings.LANGUAGE_CODE = "zh-hans"
    message = _("Not found")
    with translation.override("en"):
        assert str(message) == "Not found"
        assert for_records(message) == "未找到"
        assert canonical_json({"detail": message}) == canonical_json({"detail": "未找到"})


def test_a_language_code_the_product_does_not_speak_fails_the_system_check(settings: Any) -> None:
    from fieldvisit.checks import language_code

    assert language_code() == []
    settings.LANGUAGE_CODE = "fr"
    [error] = language_code()
    assert error.id == "fieldvisit.E014" and "zh-hans" in error.hint


def test_the_admin_top_bar_switches_the_language(world: Any) -> None:
    browser = Client()
    browser.force_login(world.supervisor)
    page = browser.get("/admin/fieldvisit/route/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert 'id="fv-language"' in page and 'value="zh-hans"' in page and "简体中文" in page
    assert 'name="next" value="/admin/fieldvisit/route/"' in page
    chosen = browser.post(
        "/account/language/", {"language": "zh-hans", "next": "/admin/fieldvisit/route/"}
    )
    assert chosen["Location"] == "/admin/fieldvisit/route/"
    page = browser.get("/admin/fieldvisit/route/", HTTP_ACCEPT_LANGUAGE="en").content.decode()
    assert "外访路线" in page
