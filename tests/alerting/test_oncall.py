"""Alerts that reach a person: the on-call chain, escalation until someone acknowledges,
every delivery attempt recorded, one-tap acknowledgement, verified contacts, heartbeats.

Time travels (time-machine); the jobs are the real ones the scheduler and Celery beat run.
"""

from __future__ import annotations

import datetime as dt
import re
import threading
import time
import uuid
from typing import Any

import pytest
from django.core import mail
from django.core.mail.backends.base import BaseEmailBackend
from django.db import connection, connections, transaction
from django.test.utils import CaptureQueriesContext

from fieldvisit import jobs
from fieldvisit.actions import alerts as alert_actions
from fieldvisit.actions import oncall as oncall_actions
from fieldvisit.actions import routes as route_actions
from fieldvisit.actions.heartbeats import Heartbeat, record_heartbeat
from fieldvisit.choices import AlertKind, AlertStatus, NoticeState, Role
from fieldvisit.models import (
    AgentClock,
    Alert,
    AlertNotice,
    ContactPoint,
    DeliveryAttempt,
    LedgerEntry,
    OnCallEntry,
    Preferences,
    Route,
)
from fieldvisit.queries.heartbeats import locked_route_under_way
from fieldvisit.rules import RuleViolation
from fieldvisit.rules.alerting import ChainEntry, check_oncall_chain, next_try, step_positions
from tests import factories
from tests.checkins.test_checkin_answers import TRANSACTION_CONTROL
from tests.helpers import World, ledger_entries

# The watchdog's Tuesday in Shanghai: its clock (stopped, moved by hand), the world built
# under it, and check-ins sent online at a given local time.
from tests.jobs import test_watchdog as watchdog_tests
from tests.jobs.test_watchdog import DAY, local, report

clock = watchdog_tests.clock
world = watchdog_tests.world
ACK_LINK = re.compile(r"https?://[^/\s]+(/alerts/ack/[^/\s]+/)")


def panic(world: World, clock: Any, when: dt.datetime, capture: Any) -> Alert:
    clock.move_to(when)
    api = world.client(world.agent_a, "phone-a")
    payload = {
        "id": str(uuid.uuid4()),
        "lat": 31.2311,
        "lon": 121.4742,
        "captured_at": when.isoformat(),
        "discreet": True,
    }
    with capture(execute=True):
        response = api.post("/api/v1/alerts/panic/", payload, format="json")
    assert response.status_code == 201, response.content
    return Alert.objects.get(pk=payload["id"])


def run(capture: Any, job: Any) -> int:
    with capture(execute=True):
        return job()


def addressees() -> list[list[str]]:
    return [message.to for message in mail.outbox]


# --- rules ---------------------------------------------------------------------------------


def test_a_chain_needs_two_different_verified_people() -> None:
    assert check_oncall_chain([ChainEntry(1, True), ChainEntry(2, True)]).ok
    assert check_oncall_chain([ChainEntry(1, True)]).code == "oncall_chain_incomplete"
    assert not check_oncall_chain([ChainEntry(1, True), ChainEntry(2, False)]).ok
    same = check_oncall_chain([ChainEntry(1, True), ChainEntry(1, True), ChainEntry(2, True)])
    assert (same.ok, "same person" in same.detail) == (False, True)


def test_steps_walk_the_chain_then_tell_everyone() -> None:
    assert [step_positions(3, s) for s in (1, 2, 3, 4, 5)] == [[0], [1], [2], [0, 1, 2], [0, 1, 2]]
    assert step_positions(0, 1) == []


def test_retries_back_off_then_give_up() -> None:
    now = local(9)
    assert [next_try(n, now) for n in (0, 1, 2, 3)] == [
        now,
        now + dt.timedelta(seconds=10),
        now + dt.timedelta(seconds=30),
        now + dt.timedelta(seconds=90),
    ]
    assert next_try(4, now) is None


# --- approval --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_route_is_not_approved_for_a_chain_of_one(world: World) -> None:
    route = factories.route(
        world.team, world.planner, DAY + dt.timedelta(days=1), world.addresses[3:]
    )
    route_actions.submit_route(route.pk, world.planner, now=local(18) - dt.timedelta(days=0))
    OnCallEntry.objects.filter(team=world.team, user=world.duty).delete()
    with pytest.raises(RuleViolation) as refused:
        route_actions.decide_route(route.pk, world.supervisor, True, "ok", now=local(18, 5))
    assert refused.value.code == "oncall_chain_incomplete"
    # The duty manager back on the chain, but not verified: still refused.
    OnCallEntry.objects.create(team=world.team, position=2, user=world.duty)
    ContactPoint.objects.filter(user=world.duty).update(verified_at=None)
    with pytest.raises(RuleViolation):
        route_actions.decide_route(route.pk, world.supervisor, True, "ok", now=local(18, 5))
    ContactPoint.objects.filter(user=world.duty).update(verified_at=local(8))
    route_actions.decide_route(route.pk, world.supervisor, True, "ok", now=local(18, 5))


@pytest.mark.django_db
def test_a_deactivated_account_on_the_chain_does_not_count(world: World) -> None:
    """Someone who left (their account deactivated) is no longer on call: a route is not
    approved on their verified contact."""
    route = factories.route(
        world.team, world.planner, DAY + dt.timedelta(days=1), world.addresses[3:]
    )
    route_actions.submit_route(route.pk, world.planner, now=local(18))
    world.duty.is_active = False
    world.duty.save(update_fields=["is_active"])
    with pytest.raises(RuleViolation) as refused:
        route_actions.decide_route(route.pk, world.supervisor, True, "ok", now=local(18, 5))
    assert refused.value.code == "oncall_chain_incomplete"


# --- escalation ------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_panic_goes_along_a_chain_of_three_until_the_third_acknowledges(
    world: World, clock: Any, client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    capture = django_capture_on_commit_callbacks
    third = factories.user("night_manager", Role.SUPERVISOR, first_name="Lan", last_name="Ye")
    factories.oncall(world.team, third, start=3)

    alert = panic(world, clock, local(9, 0), capture)
    assert addressees() == [["supervisor@example.com"]]
    assert (alert.step, alert.next_step_at) == (1, local(9, 3))

    clock.move_to(local(9, 2, 59))
    assert run(capture, jobs.escalate_alerts) == 0  # three minutes not over
    clock.move_to(local(9, 3))
    assert run(capture, jobs.escalate_alerts) == 1
    assert addressees()[-1] == ["duty_manager@example.com"]
    clock.move_to(local(9, 6))
    assert run(capture, jobs.escalate_alerts) == 1
    assert addressees()[-1] == ["night_manager@example.com"]
    alert.refresh_from_db()
    assert (alert.step, alert.escalated_at) == (3, local(9, 6))

    # The third acknowledges in one tap from the link in their e-mail.
    clock.move_to(local(9, 7))
    path = ACK_LINK.search(mail.outbox[-1].body).group(1)
    assert len(ACK_LINK.findall(mail.outbox[-1].body)) == 1  # one link, not one per layer
    page = client.get(path)
    assert page.status_code == 200 and b"Acknowledge" in page.content
    assert Alert.objects.get(pk=alert.pk).status == AlertStatus.OPEN  # a GET changes nothing
    assert client.post(path, {"note": "Calling agent A now"}).status_code == 200
    alert.refresh_from_db()
    assert (alert.status, alert.acknowledged_by, alert.acknowledged_via) == (
        AlertStatus.ACKNOWLEDGED,
        third,
        "email",
    )
    assert (alert.acknowledged_at, alert.acknowledge_note) == (local(9, 7), "Calling agent A now")
    assert alert.next_step_at is None

    clock.move_to(local(9, 30))
    assert run(capture, jobs.escalate_alerts) == 0  # answered: the chain stops
    assert len(mail.outbox) == 3
    kinds = list(
        LedgerEntry.objects.filter(subject=f"alert:{alert.pk}")
        .order_by("index")
        .values_list("kind", flat=True)
    )
    assert kinds == [
        "alert.raised",
        "alert.delivery",
        "alert.escalated",
        "alert.delivery",
        "alert.escalated",
        "alert.delivery",
        "alert.acknowledged",
    ]
    assert [e["data"]["told"] for e in ledger_entries("alert.escalated")] == [
        ["Min Duty (duty_manager)"],
        ["Lan Ye (night_manager)"],
    ]
    assert client.get("/alerts/ack/forged-token/").status_code == 404


@pytest.mark.django_db
def test_a_deactivated_accounts_link_does_not_stop_the_panic_chain(
    world: World, clock: Any, client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """A link sent before the recipient's account was deactivated (they left) no longer
    acknowledges for them, which would stop the chain; the alert goes on to the next person."""
    capture = django_capture_on_commit_callbacks
    alert = panic(world, clock, local(9, 0), capture)
    assert addressees() == [["supervisor@example.com"]]
    link = ACK_LINK.search(mail.outbox[-1].body).group(1)
    world.supervisor.is_active = False
    world.supervisor.save(update_fields=["is_active"])
    assert client.post(link, {"note": "Seen"}).status_code == 404
    assert Alert.objects.get(pk=alert.pk).status == AlertStatus.OPEN
    clock.move_to(local(9, 3))
    run(capture, jobs.escalate_alerts)
    # Step 2 is still the duty manager: taking the supervisor off would have skipped them.
    assert addressees()[-1] == ["duty_manager@example.com"]


@pytest.mark.django_db
def test_past_the_end_of_the_chain_everyone_on_it_is_told_again(
    world: World, clock: Any, django_capture_on_commit_callbacks: Any
) -> None:
    capture = django_capture_on_commit_callbacks
    panic(world, clock, local(9, 0), capture)
    for minute in (3, 6):
        clock.move_to(local(9, minute))
        run(capture, jobs.escalate_alerts)
    assert sorted(map(tuple, addressees()[2:])) == [
        ("duty_manager@example.com",),
        ("supervisor@example.com",),
    ]


def test_each_person_is_told_in_their_own_language(
    world: World, clock: Any, django_capture_on_commit_callbacks: Any
) -> None:
    """The supervisor chose Chinese; the duty manager chose nothing (the deployment's)."""
    capture = django_capture_on_commit_callbacks
    Preferences.objects.create(user=world.supervisor, language="zh-hans")
    panic(world, clock, local(9, 0), capture)
    [chinese] = mail.outbox
    assert chinese.to == ["supervisor@example.com"]
    assert "紧急求助" in chinese.subject
    assert "级别" in chinese.body and "一键确认" in chinese.body
    clock.move_to(local(9, 3))
    run(capture, jobs.escalate_alerts)
    english = mail.outbox[-1]
    assert english.to == ["duty_manager@example.com"]
    assert "Severity: " in english.body and "Acknowledge in one tap: " in english.body


# --- delivery --------------------------------------------------------------------------------


class Failing(BaseEmailBackend):
    """A mail server that is down."""

    def send_messages(self, messages: Any) -> int:
        raise ConnectionRefusedError("[Errno 111] Connection refused")


@pytest.mark.django_db
def test_a_channel_that_fails_every_retry_leaves_the_alert_undelivered_and_moves_on(
    world: World, clock: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    capture = django_capture_on_commit_callbacks
    settings.EMAIL_BACKEND = f"{__name__}.Failing"
    alert = panic(world, clock, local(9, 0), capture)
    [notice] = AlertNotice.objects.filter(alert=alert)
    assert (notice.attempts, notice.next_try_at) == (1, local(9, 0, 10))
    for when in (local(9, 0, 10), local(9, 0, 40)):
        clock.move_to(when)
        assert run(capture, jobs.deliver_alerts) == 1
    clock.move_to(local(9, 2, 9))
    assert run(capture, jobs.deliver_alerts) == 0  # the fourth try is at 09:02:10
    clock.move_to(local(9, 2, 10))
    assert run(capture, jobs.deliver_alerts) == 1
    notice.refresh_from_db()
    assert (notice.state, notice.attempts, notice.next_try_at) == (NoticeState.FAILED, 4, None)
    tries = list(DeliveryAttempt.objects.filter(notice=notice).order_by("number"))
    assert [(t.number, t.ok) for t in tries] == [(1, False), (2, False), (3, False), (4, False)]
    assert "Connection refused" in tries[0].detail
    # Nobody at step 1 was reached: undelivered, and the next person is told at once.
    alert.refresh_from_db()
    assert (alert.undelivered, alert.step) == (True, 2)
    assert LedgerEntry.objects.filter(kind="alert.undelivered").count() == 1
    assert LedgerEntry.objects.filter(kind="alert.delivery").count() == 5  # 4 + step 2's first


@pytest.mark.django_db
def test_an_unverified_contact_is_never_used(
    world: World, clock: Any, django_capture_on_commit_callbacks: Any
) -> None:
    ContactPoint.objects.filter(user=world.supervisor).update(verified_at=None)
    alert = panic(world, clock, local(9, 0), django_capture_on_commit_callbacks)
    # Nobody reachable at step 1: step 2 at once, and the ledger says why.
    assert addressees() == [["duty_manager@example.com"]]
    assert alert.step == 2
    [raised] = ledger_entries("alert.raised")
    assert raised["data"]["unreachable_steps"] == [1]


# --- contacts --------------------------------------------------------------------------------


@pytest.mark.django_db
def test_a_contact_is_verified_once_its_test_message_is_confirmed(
    world: World, client: Any
) -> None:
    contact = ContactPoint.objects.create(user=world.duty, kind="email", value="duty@corp.cn")
    detail = oncall_actions.send_test(contact.pk, world.supervisor)
    assert "duty@corp.cn" in detail
    [message] = mail.outbox
    path = re.search(r"https?://[^/\s]+(/alerts/verify/[^/\s]+/)", message.body).group(1)
    assert client.get(path).status_code == 200
    contact.refresh_from_db()
    assert contact.verified_at is None  # opening the link is not confirming
    assert client.post(path).status_code == 200
    contact.refresh_from_db()
    assert contact.verified_at is not None
    assert LedgerEntry.objects.filter(kind="contact.verified", subject=f"user:{world.duty.pk}")
    # A link made for an old value does not verify a new one.
    contact.value = "other@corp.cn"
    contact.verified_at = None
    contact.save()
    assert client.post(path).status_code == 404
    with pytest.raises(RuleViolation):
        oncall_actions.send_test(contact.pk, world.agent_a)  # not theirs to manage


# --- heartbeat -------------------------------------------------------------------------------


def beat(world: World, **state: Any) -> Any:
    api = world.client(world.agent_a, "phone-a")
    return api.post("/api/v1/heartbeat/", state, format="json")


@pytest.mark.django_db
def test_a_heartbeat_is_watched_only_while_the_agent_is_out(world: World, clock: Any) -> None:
    answer = beat(world, battery=80, signal=3, network="4g")
    assert answer.status_code == 200
    assert answer.json() == {"watched": False, "next_beat_by": None, "warning": ""}
    report(world, clock, "depart", local(9, 0))
    clock.move_to(local(9, 1))
    answer = beat(world, battery=80, charging=False, signal=3, network="4g")
    assert answer.json()["watched"] is True
    clock_row = AgentClock.objects.get(agent=world.agent_a)
    assert (clock_row.battery, clock_row.signal, clock_row.phone_silent_at) == (80, 3, local(9, 6))

    clock.move_to(local(9, 5, 59))
    assert jobs.watchdog() == 0
    clock.move_to(local(9, 6, 1))
    assert jobs.watchdog() == 1
    assert jobs.watchdog() == 0  # once per silence
    [silent] = Alert.objects.filter(kind=AlertKind.PHONE_SILENT)
    assert silent.agent == world.agent_a and "no heartbeat since 09:01 CST" in silent.detail

    answer = beat(world, battery=9, charging=False)
    assert answer.json()["warning"].startswith("Battery at 9 %")
    beat(world, battery=8, charging=False)
    [low] = Alert.objects.filter(kind=AlertKind.LOW_BATTERY)  # once per route
    assert low.agent == world.agent_a
    assert beat(world, battery=101).status_code == 422
    assert world.client(world.supervisor).post("/api/v1/heartbeat/", {}).status_code == 403


@pytest.mark.django_db
def test_a_heartbeat_reads_its_route_and_clock_in_one_statement_and_writes_what_it_moves(
    world: World, clock: Any
) -> None:
    report(world, clock, "depart", local(9, 0))
    clock.move_to(local(9, 1))
    found = locked_route_under_way(world.agent_a.pk)
    assert found is not None
    route, agent_clock = found
    expected = AgentClock.objects.select_related("route__team").get(agent=world.agent_a)
    for read, orm in ((route, expected.route), (route.team, expected.route.team)):
        assert [getattr(read, f.attname) for f in read._meta.concrete_fields] == [
            getattr(orm, f.attname) for f in orm._meta.concrete_fields
        ]
    assert [getattr(agent_clock, f.attname) for f in AgentClock._meta.concrete_fields] == [
        getattr(expected, f.attname) for f in AgentClock._meta.concrete_fields
    ]
    assert locked_route_under_way(world.agent_b.pk) is None  # B has not departed

    # The watchdog writes its own fields of the clock meanwhile: the beat leaves them be.
    AgentClock.objects.filter(pk=expected.pk).update(alerted=2, depart_checked=True)
    phone = world.client(world.agent_a, "phone-a")
    with CaptureQueriesContext(connection) as queries:
        answer = phone.post("/api/v1/heartbeat/", {"battery": 70, "signal": 2}, format="json")
    assert answer.json()["watched"] is True
    statements = [
        q["sql"]
        for q in queries
        if not q["sql"].startswith(TRANSACTION_CONTROL) and "fieldvisit_devicetoken" not in q["sql"]
    ]
    assert len(statements) == 2, statements  # the route with the clock, then the clock
    (update,) = [sql for sql in statements if sql.startswith("UPDATE")]
    assert 'alerted" = 2' not in update and "last_report_at" not in update
    row = AgentClock.objects.get(pk=expected.pk)
    assert (row.alerted, row.depart_checked, row.battery, row.signal) == (2, True, 70, 2)


@pytest.mark.django_db(transaction=True)
def test_a_beat_that_waited_for_the_route_lock_reads_the_clock_as_committed(
    world: World, clock: Any
) -> None:
    """The clock comes locked with the route: a beat that waited for the lock reads what the
    holder committed (a clock read with the route but not locked is the one from before)."""
    if connection.vendor != "postgresql":
        pytest.skip("row locks between connections are a PostgreSQL test (set DATABASE_URL)")
    report(world, clock, "depart", local(9, 0))
    clock.move_to(local(9, 1))
    row = AgentClock.objects.get(agent=world.agent_a)
    locked, errors = threading.Event(), []

    def another_beat_holding_the_lock() -> None:
        try:
            with transaction.atomic():
                Route.objects.select_for_update(no_key=True).get(pk=row.route_id)
                locked.set()
                time.sleep(0.5)  # the beat below waits on the route meanwhile
                AgentClock.objects.filter(pk=row.pk).update(battery_alerted=True)
        except BaseException as exc:  # pragma: no cover - reported below
            errors.append(exc)
        finally:
            connections.close_all()

    holder = threading.Thread(target=another_beat_holding_the_lock)
    holder.start()
    locked.wait()
    record_heartbeat(world.agent_a, Heartbeat(battery=8, charging=False, signal=3, network="4g"))
    holder.join()
    assert not errors
    # The clock said battery_alerted when the lock was granted: no second low_battery alert.
    assert not Alert.objects.filter(kind=AlertKind.LOW_BATTERY).exists()
    assert AgentClock.objects.get(pk=row.pk).battery_alerted is True


@pytest.mark.django_db
def test_acknowledging_in_admin_records_the_channel(world: World, clock: Any) -> None:
    with django_atomic():
        alert = alert_actions.raise_alert(
            kind=AlertKind.PANIC, team=world.team, detail="help", actor=alert_actions.SYSTEM
        )
    alert_actions.acknowledge(alert.pk, world.supervisor, "On it")
    alert.refresh_from_db()
    assert (alert.acknowledged_via, alert.next_step_at) == ("admin", None)
    assert set(AlertNotice.objects.filter(alert=alert).values_list("state", flat=True)) == {
        NoticeState.CANCELLED
    }


def django_atomic() -> Any:
    from django.db import transaction

    return transaction.atomic()


@pytest.mark.django_db
def test_the_board_shows_an_undelivered_alert_and_each_phone(
    world: World, clock: Any, client: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    report(world, clock, "depart", local(9, 0))
    clock.move_to(local(9, 1))
    beat(world, battery=62, charging=False, network="4g")
    settings.EMAIL_BACKEND = f"{__name__}.Failing"
    ContactPoint.objects.filter(user=world.duty).update(verified_at=None)  # step 2: nobody
    alert = panic(world, clock, local(9, 2), django_capture_on_commit_callbacks)
    for when in (local(9, 2, 10), local(9, 2, 40), local(9, 4, 10)):
        clock.move_to(when)
        run(django_capture_on_commit_callbacks, jobs.deliver_alerts)
    alert.refresh_from_db()
    assert alert.undelivered is True

    client.force_login(world.supervisor)
    board = client.get("/admin/operations/feed/").json()
    assert board["undelivered"] == 1
    [team] = [t for t in board["teams"] if t["team"] == "Huangpu"]
    assert [a["undelivered"] for a in team["alerts"]] == [True]
    [agent] = [a for a in team["agents"] if a["agent"] == "agent_a"]
    assert agent["phone"].startswith("62 %, 4g, ")
    page = client.get("/admin/operations/")
    assert b"UNDELIVERED" in page.content


@pytest.mark.django_db
def test_the_panic_page_shows_where_whom_to_call_and_acknowledges_in_one_tap(
    world: World, clock: Any, client: Any, django_capture_on_commit_callbacks: Any
) -> None:
    report(world, clock, "depart", local(9, 0), agent="agent_a")
    report(world, clock, "depart", local(9, 0, 30), agent="agent_b")
    ContactPoint.objects.create(user=world.agent_b, kind="mobile", value="13800138000")
    alert = panic(world, clock, local(9, 5), django_capture_on_commit_callbacks)
    client.force_login(world.supervisor)
    page = client.get(f"/admin/fieldvisit/alert/{alert.pk}/change/")
    assert page.status_code == 200
    html = page.content.decode()
    assert "Raised 2026-11-24 09:05:00 CST" in html  # local time with the zone
    assert 'href="tel:13800138000"' in html  # the partner, one tap to call
    assert page.context["fv_told"] == ["supervisor"]  # step 1 only, so far
    kinds = [p["kind"] for p in page.context["fv_map"]["points"]]
    assert kinds.count("alert") == 1 and kinds.count("checkin") == 2
    handle = f"/admin/fieldvisit/alert/{alert.pk}/handle/"
    answer = client.post(handle, {"note": "Acknowledged in admin.", "_acknowledge": "1"})
    assert answer.status_code == 302
    alert.refresh_from_db()
    assert (alert.status, alert.acknowledged_via) == (AlertStatus.ACKNOWLEDGED, "admin")


@pytest.mark.django_db
def test_a_panic_reaches_every_channel_and_a_500_is_retried(
    world: World, clock: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from tests.receiver import Receiver

    capture = django_capture_on_commit_callbacks
    ContactPoint.objects.create(
        user=world.supervisor, kind="mobile", value="13800138000", verified_at=local(8)
    )
    with Receiver() as receiver:
        settings.ALERT_DINGTALK_URL = f"{receiver.url}/robot/send?access_token=t"
        settings.ALERT_DINGTALK_SECRET = "SECx"
        settings.ALERT_WEBHOOK_URL = f"{receiver.url}/hooks"
        settings.ALERT_WEBHOOK_SECRET = "whsec"
        settings.ALERT_SMS_URL = f"{receiver.url}/sms"
        settings.ALERT_SEVERITY_CHANNELS = {
            **settings.ALERT_SEVERITY_CHANNELS,
            "critical": ["email", "sms", "dingtalk", "webhook"],
        }
        receiver.script(200)  # sms
        receiver.script(200)  # dingtalk
        receiver.script(500, b"busy")  # webhook, first try
        alert = panic(world, clock, local(9, 0), capture)
        assert [r.path.split("?")[0] for r in receiver.received] == [
            "/sms",
            "/robot/send",
            "/hooks",
        ]
        assert len(mail.outbox) == 1
        webhook = AlertNotice.objects.get(alert=alert, channel="webhook")
        assert (webhook.state, webhook.attempts) == (NoticeState.PENDING, 1)
        clock.move_to(local(9, 0, 10))
        assert run(capture, jobs.deliver_alerts) == 1
        webhook.refresh_from_db()
        assert (webhook.state, webhook.attempts) == (NoticeState.DELIVERED, 2)
        first, second = receiver.received[2:]
        assert first.headers["Idempotency-Key"] == second.headers["Idempotency-Key"]
    notices = AlertNotice.objects.filter(alert=alert)
    assert {(n.channel, n.state) for n in notices} == {
        ("email", NoticeState.DELIVERED),
        ("sms", NoticeState.DELIVERED),
        ("dingtalk", NoticeState.DELIVERED),
        ("webhook", NoticeState.DELIVERED),
    }
    outcomes = [e["data"]["outcome"] for e in ledger_entries("alert.delivery")]
    assert "HTTP 500: busy" in outcomes and outcomes.count("HTTP 200, errcode 0") == 1


@pytest.mark.django_db
def test_a_link_posted_to_a_group_asks_who_opens_it_to_sign_in(
    world: World, clock: Any, client: Any, settings: Any, django_capture_on_commit_callbacks: Any
) -> None:
    from fieldvisit.actions.notices import ack_token
    from tests.receiver import Receiver

    with Receiver() as receiver:
        settings.ALERT_WECOM_URL = f"{receiver.url}/send?key=k"
        settings.ALERT_SEVERITY_CHANNELS = {
            **settings.ALERT_SEVERITY_CHANNELS,
            "critical": ["wecom"],
        }
        alert = panic(world, clock, local(9, 0), django_capture_on_commit_callbacks)
        receiver.wait_for(1)
    notice = AlertNotice.objects.get(alert=alert, channel="wecom")
    path = f"/alerts/ack/{ack_token(notice)}/"
    opened = client.get(path)
    assert opened.status_code == 302 and opened["Location"].startswith("/admin/login/")
    client.force_login(world.agent_a)  # in the group, not on call
    client.post(path, {"note": "I saw it"})
    assert Alert.objects.get(pk=alert.pk).status == AlertStatus.OPEN
    client.force_login(world.duty)  # on the chain, though not the one mentioned
    assert client.post(path, {"note": "Calling them"}).status_code == 200
    alert.refresh_from_db()
    assert (alert.acknowledged_by, alert.acknowledged_via) == (world.duty, "wecom")


@pytest.mark.django_db
def test_repeated_alerts_of_one_visit_are_counted_and_listed_together(
    world: World, clock: Any, client: Any
) -> None:
    from django.db import transaction

    from fieldvisit.models import Visit
    from tests.helpers import arrive_pair, stops_of

    stop = stops_of(world.route)[0]
    clock.move_to(local(9, 0))
    arrive_pair(world, stop)
    visit = Visit.objects.get(stop=stop)
    with transaction.atomic():
        for n in range(3):
            alert_actions.raise_alert(
                kind=AlertKind.RULE_BREAK, team=world.team, detail=f"break {n}",
                actor=alert_actions.SYSTEM, visit=visit, route=world.route,
            )  # fmt: skip
    client.force_login(world.supervisor)
    html = client.get("/admin/fieldvisit/alert/").content.decode()
    assert html.count("3 like it") == 3
    listed = client.get(
        f"/admin/fieldvisit/alert/?visit__id__exact={visit.pk}&kind__exact=rule_break"
    )
    assert listed.status_code == 200
    assert listed.context["cl"].result_count == 3


@pytest.mark.django_db
def test_an_attempt_under_way_when_the_alert_is_acknowledged_is_still_recorded(
    world: World, clock: Any, settings: Any
) -> None:
    from django.db import transaction

    from fieldvisit.actions import deliveries
    from fieldvisit.channels import Outcome

    settings.ALERT_DISPATCH = "job"
    with transaction.atomic():
        alert = alert_actions.raise_alert(
            kind=AlertKind.PANIC, team=world.team, detail="help", actor=alert_actions.SYSTEM
        )
    [notice] = AlertNotice.objects.filter(alert=alert)
    assert deliveries._claim(notice.pk, local(8, 55))  # a sender takes it, and sends ...
    alert_actions.acknowledge(alert.pk, world.supervisor, "On it")  # ... while acknowledged
    deliveries._record(notice.pk, Outcome(ok=True, detail="HTTP 200"), 12, local(8, 55, 1))
    notice.refresh_from_db()
    assert (notice.state, notice.attempts) == (NoticeState.CANCELLED, 1)
    assert DeliveryAttempt.objects.filter(notice=notice, ok=True).count() == 1
    assert [e["data"]["outcome"] for e in ledger_entries("alert.delivery")] == ["HTTP 200"]


@pytest.mark.django_db
def test_whoever_is_on_the_chain_opens_and_acknowledges_the_alert_in_admin(
    world: World, clock: Any, client: Any
) -> None:
    from django.db import transaction

    with transaction.atomic():
        alert = alert_actions.raise_alert(
            kind=AlertKind.PANIC, team=world.team, detail="help", actor=alert_actions.SYSTEM
        )
    client.force_login(world.duty)  # second on the chain; supervises no team
    assert client.get(f"/admin/fieldvisit/alert/{alert.pk}/change/").status_code == 200
    answer = client.post(f"/admin/fieldvisit/alert/{alert.pk}/handle/", {"note": "On my way"})
    assert answer.status_code == 302
    alert.refresh_from_db()
    assert (alert.status, alert.acknowledged_by) == (AlertStatus.ACKNOWLEDGED, world.duty)
    # Off the chain, the same person sees another team's alert no more than before.
    OnCallEntry.objects.filter(user=world.duty).delete()
    assert client.get(f"/admin/fieldvisit/alert/{alert.pk}/change/").status_code == 302


@pytest.mark.django_db
def test_a_changed_contact_is_verified_anew(world: World, client: Any) -> None:
    contact = ContactPoint.objects.get(user=world.duty, kind="email")
    assert contact.verified_at is not None
    client.force_login(world.supervisor)
    url = f"/admin/fieldvisit/contactpoint/{contact.pk}/change/"
    form = {"user": world.duty.pk, "kind": "email", "value": "duty@corp.cn"}
    assert client.post(url, form).status_code == 302
    contact.refresh_from_db()
    assert (contact.value, contact.verified_at) == ("duty@corp.cn", None)
    [saved] = ledger_entries("contact.saved")
    assert saved["subject"] == f"user:{world.duty.pk}" and saved["data"]["verified"] is False
