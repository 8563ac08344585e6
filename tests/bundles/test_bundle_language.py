"""Bundles for Chinese courts: report.html and README.txt in the language asked for at
download, the evidence, its proofs and its verifier untouched by the language."""

from __future__ import annotations

import hashlib
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from fieldvisit.models import Preferences
from tests.bundles.pins import pinned
from tests.helpers import assert_problem, download, ledger_entries, unzip

pytestmark = pytest.mark.django_db(transaction=True)


def fetch(world: Any, visit: Any, tmp: Path, query: str = "", **headers: Any) -> Path:
    legal = world.client(world.legal, "desk")
    url = f"/api/v1/visits/{visit.pk}/bundle/{query}"
    content = legal.get(url, **headers)
    assert content.status_code == 200, content.content[:300] if hasattr(content, "content") else ""
    return unzip(b"".join(content.streaming_content), tmp)


def digests(root: Path) -> dict[str, str]:
    return {
        str(p.relative_to(root)): hashlib.sha256(p.read_bytes()).hexdigest()
        for p in sorted(root.rglob("*"))
        if p.is_file()
    }


def test_lang_zh_hans_gives_a_chinese_report_and_readme(
    world: Any, evidenced_visit: Any, tmp_path: Path
) -> None:
    root = fetch(world, evidenced_visit, tmp_path, "?lang=zh-hans")
    html = (root / "report.html").read_text()
    assert '<html lang="zh-hans">' in html
    assert "合规结论" in html
    assert "签收回执" in html and "上门催收情况报告" in html
    # Times in the visit's zone with their offset, the zone named with it.
    assert "Asia/Shanghai (UTC+08:00)" in html
    assert f"{evidenced_visit.stop.route.date:%Y-%m-%d}" in html and ":00 +08:00<" in html
    # Amounts as yuan with two decimals.
    case = evidenced_visit.stop.case
    assert f"¥{case.amount_due:,.2f}" in html
    readme = (root / "README.txt").read_text()
    assert readme.startswith("证据包 ")
    for command in ("sha256sum -c SHA256SUMS", "openssl pkeyutl -verify", "python3 verify.py"):
        assert command in readme
    assert "如何核验" in readme
    # The bundle still verifies, whatever language it reads in.
    verified = subprocess.run(
        [sys.executable, "verify.py", *pinned()],
        cwd=root,
        capture_output=True,
        text=True,
        timeout=60,
    )
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "ALL CHECKS PASSED" in verified.stdout


def test_the_same_evidence_and_language_give_the_same_bytes(
    world: Any, evidenced_visit: Any, tmp_path: Path
) -> None:
    first = digests(fetch(world, evidenced_visit, tmp_path / "1", "?lang=zh-hans"))
    again = digests(fetch(world, evidenced_visit, tmp_path / "2", "?lang=zh-hans"))
    english = digests(fetch(world, evidenced_visit, tmp_path / "3", "?lang=en"))
    assert first == again
    differ = {name for name in first if first[name] != english.get(name)}
    # Only what people read changes (and the signed list of files that names them).
    assert differ == {"report.html", "README.txt", "SHA256SUMS", "SHA256SUMS.sig"}
    downloads = ledger_entries("bundle.downloaded")
    assert [e["data"]["language"] for e in downloads] == ["zh-hans", "zh-hans", "en"]


def test_the_default_is_the_legal_users_profile_then_the_client(
    world: Any, evidenced_visit: Any, tmp_path: Path
) -> None:
    english = fetch(world, evidenced_visit, tmp_path / "en")
    assert '<html lang="en">' in (english / "report.html").read_text()
    browser = fetch(world, evidenced_visit, tmp_path / "zh", HTTP_ACCEPT_LANGUAGE="zh-CN")
    assert '<html lang="zh-hans">' in (browser / "report.html").read_text()
    Preferences.objects.create(user=world.legal, language="zh-hans")
    profile = fetch(world, evidenced_visit, tmp_path / "profile")
    assert (profile / "README.txt").read_text().startswith("证据包 ")
    asked = fetch(world, evidenced_visit, tmp_path / "asked", "?lang=en")
    assert '<html lang="en">' in (asked / "report.html").read_text()


def test_an_unknown_language_is_refused(world: Any, evidenced_visit: Any) -> None:
    legal = world.client(world.legal, "desk")
    problem = assert_problem(
        legal.get(f"/api/v1/visits/{evidenced_visit.pk}/bundle/?lang=fr"), 422, "validation_error"
    )
    assert "lang" in problem["errors"]
    assert download(legal, f"/api/v1/visits/{evidenced_visit.pk}/bundle/?lang=zh-CN")
