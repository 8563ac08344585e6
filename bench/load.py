"""Load: two-person teams walking their routes at a compressed pace, through gunicorn with
several workers on PostgreSQL, over loopback. Run by hand.

    .venv/bin/python bench/load.py [--teams 100] [--duration 300] [--workers 4] [--stops 3]

A fresh PostgreSQL database (``loadbench``) is migrated and seeded with ``--teams`` teams of
two agents, each with a route approved the evening before for today (Shanghai) whose stops
are real-looking Shanghai addresses of distinct debtors. gunicorn serves the API; one thread
per agent (so 200 phones for 100 teams) walks the day within ``--duration`` seconds: both
depart; at every stop agent A starts the recording, both arrive (the visit opens), A uploads
WAV segments over tus (creation, then one PATCH), each chained to the one before, B takes
photos (JPEG with EXIF GPS of the stop), both report every ``--periodic-s`` seconds; both
leave, A closes the recording and checks that it is valid (continuous, covering the visit),
B checks that the visit is closed; after the last stop both return. Every answer the
scenario does not expect is an error: the bench prints it and exits 1.

Reported: per operation count, errors, p50/p95/p99/max and requests/s; the server's own
errors; the database counted against what the phones were told; ``verify_ledger --strict``
after a final checkpoint. Baseline, in the same run: p50 of ``GET /api/v1/me/`` measured
alone before the load; a probe repeats it once a second under load, and every operation's
p50 is printed as a multiple of the idle baseline.

Throttles are left at their defaults: the default rates must allow this load.
"""

from __future__ import annotations

import argparse
import base64
import contextlib
import datetime as dt
import hashlib
import http.client
import io
import json
import math
import os
import secrets
import struct
import subprocess
import sys
import threading
import time
import uuid
import zoneinfo
from collections import defaultdict
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

ROOT = Path(__file__).resolve().parents[1]
ZONE = zoneinfo.ZoneInfo("Asia/Shanghai")
# Visits are allowed 08:00-21:00 at the address (DESIGN rule 3); the bench runs inside that.
VISIT_HOURS = (dt.time(8, 0), dt.time(21, 0))

DISTRICTS = ["黄浦区", "静安区", "徐汇区", "长宁区", "虹口区"]
STREETS = [
    "南京西路", "淮海中路", "延安中路", "四川北路", "复兴中路",
    "长乐路", "陕西南路", "西藏中路", "河南中路", "北京东路",
    "衡山路", "愚园路", "武康路", "巨鹿路", "威海路",
]  # fmt: skip
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = ["建国", "秀英", "伟", "静", "敏", "磊", "洋", "艳", "军", "丽", "强", "娜"]
PHOTO_KINDS = ["door", "surroundings", "notice_on_door", "other"]


# --- the world ------------------------------------------------------------------------------


@dataclass
class Stop:
    id: str
    visit_id: str
    lat: float
    lon: float
    photo: bytes  # a JPEG with this stop's position in its EXIF GPS, made once


@dataclass
class TeamPlan:
    """What the two phones of one team know: their tokens, the route and its stops."""

    name: str
    route_id: str
    tokens: tuple[str, str]
    devices: tuple[str, str]
    stops: list[Stop]
    start: tuple[float, float]


def shanghai_place(team: int, stop: int) -> tuple[str, float, float]:
    """A real-looking central Shanghai address: teams about 900 m apart on a grid, a team's
    stops about 170 m apart (walkable)."""
    lat = 31.190 + (team // 10 % 10) * 0.008 + stop * 0.0015
    lon = 121.430 + (team % 10) * 0.009 + (team // 100) * 0.0007
    street = STREETS[(team + stop) % len(STREETS)]
    district = DISTRICTS[team % len(DISTRICTS)]
    number = 11 + (team * 7 + stop * 13) % 880
    return f"上海市{district}{street} {number} 号 {1 + stop % 6} 楼", round(lat, 6), round(lon, 6)


def exif_jpeg(lat: float, lon: float, colour: tuple[int, int, int]) -> bytes:
    """A small camera-like JPEG whose EXIF GPS says where it was taken."""
    from fractions import Fraction

    from PIL import Image, TiffImagePlugin
    from PIL.ExifTags import GPS, IFD, Base

    def dms(value: float) -> tuple[TiffImagePlugin.IFDRational, ...]:
        degrees = int(value)
        minutes = int((value - degrees) * 60)
        seconds = Fraction(((value - degrees) * 60 - minutes) * 60).limit_denominator(1_000_000)
        return (
            TiffImagePlugin.IFDRational(degrees, 1),
            TiffImagePlugin.IFDRational(minutes, 1),
            TiffImagePlugin.IFDRational(seconds.numerator, seconds.denominator),
        )

    exif = Image.Exif()
    exif[Base.Make] = "LoadCam"
    exif[Base.Model] = "Bench 1"
    gps = exif.get_ifd(IFD.GPSInfo)
    gps[GPS.GPSVersionID] = b"\x02\x03\x00\x00"
    gps[GPS.GPSLatitudeRef] = "N"
    gps[GPS.GPSLatitude] = dms(lat)
    gps[GPS.GPSLongitudeRef] = "E"
    gps[GPS.GPSLongitude] = dms(lon)
    out = io.BytesIO()
    Image.new("RGB", (320, 240), colour).save(out, "JPEG", quality=85, exif=exif)
    return out.getvalue()


def wav(seconds: float) -> bytes:
    """A PCM WAV segment: 8 kHz mono 8-bit, noise (every segment's bytes differ)."""
    data = os.urandom(int(8000 * seconds))
    header = b"RIFF" + struct.pack("<I", 36 + len(data)) + b"WAVE"
    header += b"fmt " + struct.pack("<IHHIIHH", 16, 1, 1, 8000, 8000, 1, 8)
    return header + b"data" + struct.pack("<I", len(data)) + data


def check_visit_hours(now: dt.datetime, duration_s: float) -> None:
    """The whole run must fall inside the visit hours in ``ZONE``, or the rules refuse it."""
    local = now.astimezone(ZONE)
    end = local + dt.timedelta(seconds=duration_s + 120)
    start_ok = VISIT_HOURS[0] <= local.time() and local.date() == end.date()
    if not (start_ok and end.time() < VISIT_HOURS[1]):
        first = dt.datetime.combine(local.date(), VISIT_HOURS[0], tzinfo=ZONE)
        last = dt.datetime.combine(local.date(), VISIT_HOURS[1], tzinfo=ZONE)
        last -= dt.timedelta(seconds=duration_s + 120)
        raise SystemExit(
            f"It is {local:%H:%M} in {ZONE.key}: visits are allowed {VISIT_HOURS[0]:%H:%M}-"
            f"{VISIT_HOURS[1]:%H:%M} there, so run this between {first.astimezone(dt.UTC):%H:%M}"
            f" and {last.astimezone(dt.UTC):%H:%M} UTC."
        )


def seed(teams: int, stops: int, now: dt.datetime | None = None) -> list[TeamPlan]:
    """Teams of two qualified agents, each with a route for today approved the evening
    before through the real actions (so the ledger records them), and a token per phone."""
    from django.contrib.auth.models import Group, User
    from django.db import transaction
    from django.utils import timezone

    from fieldvisit.actions import routes as route_actions
    from fieldvisit.actions.auth import issue_token
    from fieldvisit.choices import AddressKind, DocumentKind, Role
    from fieldvisit.models import (
        Address,
        AgentProfile,
        Case,
        ContactPoint,
        Creditor,
        OnCallEntry,
        QualificationDocument,
        Route,
        Team,
    )
    from fieldvisit.models import Stop as StopModel

    now = now or timezone.now()
    day = now.astimezone(ZONE).date()
    tag = secrets.token_hex(3)
    groups = {
        role: Group.objects.get(name=role) for role in (Role.AGENT, Role.PLANNER, Role.SUPERVISOR)
    }

    def person(name: str, role: str, staff: bool) -> User:
        # No password: the phones hold tokens, and hashing 200 passwords would take a minute.
        user = User(username=f"{name}_{tag}", is_staff=staff, first_name=name)
        user.set_unusable_password()
        user.save()
        user.groups.add(groups[role])
        return user

    made: list[tuple[Team, list[User], Route]] = []
    with transaction.atomic():
        planner = person("load_planner", Role.PLANNER, True)
        supervisor = person("load_supervisor", Role.SUPERVISOR, True)
        duty = person("load_duty_manager", Role.SUPERVISOR, True)
        for user in (supervisor, duty):  # reached by e-mail (the bench's mail stays local)
            ContactPoint.objects.create(
                user=user, kind="email", value=f"{user.username}@example.com",
                verified_at=now,
            )  # fmt: skip
        creditor = Creditor.objects.create(name=f"Load Consumer Finance {tag}", code=f"load-{tag}")
        debtor = 0
        for t in range(teams):
            team = Team.objects.create(
                name=f"Load team {tag}-{t:03d}",
                supervisor=supervisor,
                risk_manager=duty,
                timezone=str(ZONE),
            )
            OnCallEntry.objects.create(team=team, position=1, user=supervisor)
            OnCallEntry.objects.create(team=team, position=2, user=duty)
            agents = []
            for side in "ab":
                agent = person(f"load_{t:03d}{side}", Role.AGENT, False)
                profile = AgentProfile.objects.create(
                    user=agent,
                    team=team,
                    badge_number=f"L{tag}{t:03d}{side}".upper(),
                    background_check_on=day - dt.timedelta(days=300),
                    background_check_reference=f"PSB-{tag}-{t:03d}{side}",
                )
                # The papers a qualified agent holds, in force on the day.
                QualificationDocument.objects.bulk_create(
                    QualificationDocument(
                        agent=profile,
                        kind=kind,
                        reference=f"{kind}-{tag}-{t:03d}{side}",
                        issued_on=day - dt.timedelta(days=300),
                        expires_on=day + dt.timedelta(days=365),
                        recorded_by=supervisor,
                        recorded_at=timezone.now(),
                    )
                    for kind in DocumentKind.values
                )
                agents.append(agent)
            route = Route.objects.create(team=team, date=day, planned_by=planner)
            for k in range(stops):
                debtor += 1
                text, lat, lon = shanghai_place(t, k)
                birth = dt.date(1960, 1, 1) + dt.timedelta(days=debtor * 37)
                case = Case.objects.create(
                    number=f"LOAD-{tag}-{t:03d}-{k}",
                    creditor=creditor,
                    team=team,
                    debtor_name=SURNAMES[debtor % len(SURNAMES)] + GIVEN[debtor % len(GIVEN)],
                    debtor_id_number=f"310101{birth:%Y%m%d}{debtor % 1000:03d}X",
                    amount_due=1000 + 137 * debtor,
                    overdue_since=day - dt.timedelta(days=90 + debtor % 60),
                )
                address = Address.objects.create(
                    case=case,
                    kind=AddressKind.HOME,
                    text=text,
                    lat=lat,
                    lon=lon,
                    timezone=str(ZONE),
                )
                StopModel.objects.create(route=route, sequence=k + 1, case=case, address=address)
            made.append((team, agents, route))

    evening_before = dt.datetime.combine(day - dt.timedelta(days=1), dt.time(18, 0), tzinfo=ZONE)
    for _, _, route in made:
        route_actions.submit_route(route.pk, planner, now=evening_before)
        route_actions.decide_route(
            route.pk, supervisor, approve=True, comment="Load test route.",
            now=evening_before + dt.timedelta(minutes=30),
        )  # fmt: skip

    plans = []
    for t, (team, agents, route) in enumerate(made):
        devices = (f"load-{t:03d}a", f"load-{t:03d}b")
        keys = [
            issue_token(agent, device, "load phone", "android")[0]
            for agent, device in zip(agents, devices, strict=True)
        ]
        plan = TeamPlan(
            name=team.name,
            route_id=str(route.pk),
            tokens=(keys[0], keys[1]),
            devices=devices,
            stops=[],
            start=shanghai_place(t, 0)[1:],
        )
        plans.append(plan)
        for k, stop in enumerate(
            route.stops.select_related("address", "visit").order_by("sequence")
        ):
            colour = ((t * 37) % 256, (k * 71) % 256, (t * k * 13) % 256)
            plan.stops.append(
                Stop(
                    id=str(stop.pk),
                    visit_id=str(stop.visit.pk),
                    lat=stop.address.lat,
                    lon=stop.address.lon,
                    photo=exif_jpeg(stop.address.lat, stop.address.lon, colour),
                )
            )
    return plans


# --- measuring ------------------------------------------------------------------------------


class Failure(Exception):
    """An answer the scenario did not expect: the team stops, the run fails."""


@dataclass
class Stats:
    """Latencies per operation and every error, shared by all agent threads."""

    times: dict[str, list[float]] = field(default_factory=lambda: defaultdict(list))
    errors: dict[str, list[str]] = field(default_factory=lambda: defaultdict(list))
    lock: threading.Lock = field(default_factory=threading.Lock)

    def ok(self, op: str, seconds: float) -> None:
        with self.lock:
            self.times[op].append(seconds)

    def error(self, op: str, what: str) -> None:
        with self.lock:
            self.errors[op].append(what)

    @property
    def requests(self) -> int:
        return sum(len(v) for v in self.times.values()) + self.error_count

    @property
    def error_count(self) -> int:
        return sum(len(v) for v in self.errors.values())


def percentile(values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile."""
    ordered = sorted(values)
    return ordered[max(0, math.ceil(p / 100 * len(ordered)) - 1)]


class Phone:
    """One agent's phone: a new loopback connection per request, as a phone on a mobile
    network would, every request timed, every unexpected answer an error."""

    def __init__(
        self, host: str, port: int, token: str, stats: Stats, gate: threading.Lock | None = None
    ) -> None:
        self.host, self.port, self.token, self.stats = host, port, token, stats
        # One request at a time for all phones sharing the gate (SQLite test databases).
        self.gate = gate or contextlib.nullcontext()

    def call(
        self,
        op: str,
        method: str,
        path: str,
        body: bytes | None = None,
        headers: dict[str, str] | None = None,
        expect: tuple[int, ...] = (200,),
    ) -> tuple[int, http.client.HTTPResponse, bytes]:
        sent = {"Authorization": f"Token {self.token}", "Accept": "application/json"}
        sent.update(headers or {})
        with self.gate:
            started = time.perf_counter()
            connection = http.client.HTTPConnection(self.host, self.port, timeout=120)
            try:
                connection.request(method, path, body=body, headers=sent)
                response = connection.getresponse()
                answer = response.read()
            except (OSError, http.client.HTTPException) as error:
                self.stats.error(op, f"{method} {path}: {error!r}")
                raise Failure(op) from error
            finally:
                connection.close()
            elapsed = time.perf_counter() - started
        if response.status not in expect:
            self.stats.error(op, f"{method} {path}: {response.status} {answer[:300]!r}")
            raise Failure(op)
        self.stats.ok(op, elapsed)
        return response.status, response, answer

    def post_json(self, op: str, path: str, payload: dict[str, Any]) -> dict[str, Any]:
        _, _, answer = self.call(
            op, "POST", path, json.dumps(payload).encode(),
            {"Content-Type": "application/json"}, expect=(201,),
        )  # fmt: skip
        return json.loads(answer)

    def get_json(self, op: str, path: str) -> dict[str, Any]:
        return json.loads(self.call(op, "GET", path)[2])


def iso(moment: float) -> str:
    return dt.datetime.fromtimestamp(moment, dt.UTC).isoformat()


def sleep_until(moment: float) -> None:
    time.sleep(max(0.0, moment - time.time()))


def tus_metadata(values: dict[str, str]) -> str:
    return ",".join(
        f"{key} {base64.b64encode(value.encode()).decode()}" if value else key
        for key, value in values.items()
    )


# --- the scenario ---------------------------------------------------------------------------


@dataclass(frozen=True)
class Pace:
    """The day compressed into ``duration_s``: stops share it equally after a short stagger."""

    duration_s: float = 300.0
    periodic_s: float = 60.0
    segment_s: float = 30.0
    photos: int = 2
    travel_s: float = 4.0
    # Teams set out over this many seconds, so that they do not all knock at the same moment.
    stagger_s: float = 30.0

    def window(self, stops: int) -> float:
        return (self.duration_s - self.stagger_s - 2.0) / stops

    def check(self, stops: int) -> None:
        # Travel, a visit at least one segment long, then the segment covering the leave.
        need = self.travel_s + 2 * self.segment_s + 3.0
        if self.window(stops) < need:
            raise SystemExit(
                f"{stops} stop(s) in {self.duration_s:.0f} s leave {self.window(stops):.1f} s a "
                f"stop; at least {need:.1f} s are needed (fewer stops or shorter segments)."
            )


class Team:
    """The two agent threads of one team and what they share: the barrier at the door,
    the recording's start and the leave times."""

    def __init__(
        self,
        plan: TeamPlan,
        host: str,
        port: int,
        pace: Pace,
        stats: Stats,
        gate: threading.Lock | None = None,
    ) -> None:
        self.plan, self.pace, self.stats = plan, pace, stats
        self.phones = [Phone(host, port, token, stats, gate) for token in plan.tokens]
        self.barrier = threading.Barrier(2, timeout=pace.duration_s + 120)
        self.recording_starts = 0.0
        self.leaves: list[float] = []

    def run(self, begin: float, offset: float) -> list[threading.Thread]:
        threads = [
            threading.Thread(target=self._agent, args=(side, begin + offset), daemon=True)
            for side in (0, 1)
        ]
        for thread in threads:
            thread.start()
        return threads

    def _agent(self, side: int, begin: float) -> None:
        try:
            Walk(self, side).day(begin)
        except (Failure, threading.BrokenBarrierError):
            # Counted where it happened; the partner stops too instead of waiting.
            self.barrier.abort()
        except Exception as error:  # a bench bug is an error too, never silent
            self.stats.error("scenario", f"{self.plan.name} agent {side}: {error!r}")
            self.barrier.abort()


class Walk:
    """One agent's day. Agent A (side 0) records the audio, agent B (side 1) takes photos."""

    def __init__(self, team: Team, side: int) -> None:
        self.team, self.side = team, side
        self.phone = team.phones[side]
        self.plan, self.pace = team.plan, team.pace
        self.here = self.plan.start
        # The two phones report at different moments, as two people would.
        self.next_report = 0.0
        self.recording = str(uuid.uuid4())
        self.segment = 0
        self.prev_sha = ""
        self.photos_taken = 0
        self.captured_at = 0.0

    def checkin(self, kind: str, stop: Stop | None = None) -> dict[str, Any]:
        # A few metres of GPS scatter, different for the two phones.
        self.captured_at = time.time()
        jitter = (0.00008 if self.side else -0.00005) + secrets.randbelow(5) * 0.00001
        payload = {
            "id": str(uuid.uuid4()),
            "route": self.plan.route_id,
            "kind": kind,
            "lat": round(self.here[0] + jitter, 6),
            "lon": round(self.here[1] - jitter / 2, 6),
            "accuracy_m": 8 + secrets.randbelow(10),
            "captured_at": iso(self.captured_at),
        }
        if stop is not None:
            payload["stop"] = stop.id
        return self.phone.post_json(f"checkin {kind}", "/api/v1/checkins/", payload)

    def day(self, begin: float) -> None:
        sleep_until(begin)
        self.checkin("depart")
        self.next_report = time.time() + self.pace.periodic_s * (1 + self.side) / 2
        window = self.pace.window(len(self.plan.stops))
        for k, stop in enumerate(self.plan.stops):
            window_end = begin + (k + 1) * window
            self.busy_until(time.time() + self.pace.travel_s, stop=None)
            self.here = (stop.lat, stop.lon)
            self.visit(stop, window_end)
        # Back to the office, reporting on the way: the day ends with the window.
        self.busy_until(begin + len(self.plan.stops) * window, stop=None)
        self.team.barrier.wait()
        self.checkin("return")

    def busy_until(self, end: float, stop: Stop | None, photos: list[float] | None = None) -> None:
        """Periodic reports (and, at a stop, segments or photos) on schedule until ``end``."""
        photos = photos or []
        while True:
            due = [self.next_report]
            if stop is not None and self.side == 0:
                due.append(self.segment_start())
            if photos:
                due.append(photos[0])
            moment = min(due)
            if moment >= end:
                sleep_until(end)
                return
            sleep_until(moment)
            if moment == self.next_report:
                self.checkin("periodic")
                # A phone that fell behind reports once, not once for every slot it missed.
                while self.next_report <= time.time():
                    self.next_report += self.pace.periodic_s
            elif photos and moment == photos[0]:
                photos.pop(0)
                self.photo(stop)  # type: ignore[arg-type]
            else:
                self.upload_segment(stop)  # type: ignore[arg-type]

    def visit(self, stop: Stop, window_end: float) -> None:
        pace = self.pace
        self.photos_taken = 0
        if self.side == 0:
            # The phone starts recording before the agents knock (rule 6).
            self.recording_begins()
        self.team.barrier.wait()
        self.checkin("arrive", stop)
        self.team.barrier.wait()  # both arrived: the visit is open
        started = self.team.recording_starts
        visit_end = window_end - pace.segment_s - 2.0
        photos = []
        if self.side == 1:
            step = (visit_end - time.time()) / (pace.photos + 1)
            photos = [time.time() + step * (n + 1) for n in range(pace.photos)]
        self.busy_until(visit_end, stop, photos)
        self.team.barrier.wait()
        self.checkin("leave", stop)
        self.team.leaves.append(self.captured_at)
        self.team.barrier.wait()
        if self.side == 0:
            # Record on until after the last leave, then ask for the verdict.
            last_leave = max(self.team.leaves) + 1.0
            while started + self.segment * pace.segment_s < last_leave:
                sleep_until(self.segment_start())
                self.upload_segment(stop)
            verdict = self.phone.get_json("recording", f"/api/v1/visits/{stop.visit_id}/recording/")
            if not (verdict["valid"] and len(verdict["segments"]) == self.segment):
                self.team.stats.error("recording", f"{stop.visit_id}: {verdict['detail']}")
                raise Failure("recording")
        else:
            visit = self.phone.get_json("visit", f"/api/v1/visits/{stop.visit_id}/")
            if visit["status"] != "closed":
                self.team.stats.error("visit", f"{stop.visit_id} is {visit['status']}")
                raise Failure("visit")

    def recording_begins(self) -> None:
        self.team.leaves.clear()
        self.recording = str(uuid.uuid4())
        self.segment, self.prev_sha = 0, ""
        self.team.recording_starts = time.time() - 1.0

    def segment_start(self) -> float:
        return self.team.recording_starts + self.segment * self.pace.segment_s

    def upload_segment(self, stop: Stop) -> None:
        """One segment over tus: creation, then the whole segment in one PATCH (as tuspy
        does with a chunk larger than the segment)."""
        data = wav(self.pace.segment_s)
        digest = hashlib.sha256(data).hexdigest()
        meta = tus_metadata(
            {
                "visit": stop.visit_id,
                "recording": self.recording,
                "segment": str(self.segment),
                "started_at": iso(self.segment_start()),
                "sha256": digest,
                "prev_sha256": self.prev_sha,
                "filename": f"seg{self.segment:04d}.wav",
                "content_type": "audio/wav",
            }
        )
        tus = {"Tus-Resumable": "1.0.0"}
        _, created, _ = self.phone.call(
            "tus create", "POST", "/api/v1/uploads/", b"",
            {**tus, "Upload-Length": str(len(data)), "Upload-Metadata": meta}, expect=(201,),
        )  # fmt: skip
        path = urlsplit(created.getheader("Location") or "").path
        checksum = base64.b64encode(hashlib.sha1(data).digest()).decode()  # noqa: S324 - tus transport
        self.phone.call(
            "tus patch segment", "PATCH", path, data,
            {**tus, "Upload-Offset": "0", "Content-Type": "application/offset+octet-stream",
             "Upload-Checksum": f"sha1 {checksum}"},
            expect=(204,),
        )  # fmt: skip
        self.segment += 1
        self.prev_sha = digest

    def photo(self, stop: Stop) -> None:
        boundary = uuid.uuid4().hex
        # The first photo of a visit is the door number with the partner in frame (rule 7).
        kind = PHOTO_KINDS[self.photos_taken % len(PHOTO_KINDS)]
        self.photos_taken += 1
        fields = {
            "id": str(uuid.uuid4()),
            "kind": kind,
            "captured_at": iso(time.time()),
            "lat": str(self.here[0]),
            "lon": str(self.here[1]),
            "sha256": hashlib.sha256(stop.photo).hexdigest(),
            "partner_in_frame": "true" if kind == "door" else "false",
        }
        body = io.BytesIO()
        for name, value in fields.items():
            body.write(
                f'--{boundary}\r\nContent-Disposition: form-data; name="{name}"\r\n\r\n'
                f"{value}\r\n".encode()
            )
        body.write(
            f'--{boundary}\r\nContent-Disposition: form-data; name="file"; filename="door.jpg"'
            "\r\nContent-Type: image/jpeg\r\n\r\n".encode()
        )
        body.write(stop.photo + f"\r\n--{boundary}--\r\n".encode())
        self.phone.call(
            "photo", "POST", f"/api/v1/visits/{stop.visit_id}/photos/", body.getvalue(),
            {"Content-Type": f"multipart/form-data; boundary={boundary}"}, expect=(201,),
        )  # fmt: skip


def run_load(
    plans: Sequence[TeamPlan],
    host: str,
    port: int,
    pace: Pace,
    stats: Stats,
    probe: Callable[[], None] | None = None,
    one_at_a_time: bool = False,
) -> float:
    """Walk every team's day; return the wall time it took. ``one_at_a_time`` sends one
    request at a time (an in-memory SQLite test database cannot take concurrent writes)."""
    pace.check(len(plans[0].stops))
    begin = time.time() + 0.5
    gate = threading.Lock() if one_at_a_time else None
    teams = [Team(plan, host, port, pace, stats, gate) for plan in plans]
    threads = []
    for n, team in enumerate(teams):
        threads += team.run(begin, pace.stagger_s * n / max(1, len(teams)))
    done = threading.Event()
    prober = None
    if probe is not None:

        def probing() -> None:
            while not done.wait(1.0):
                probe()

        prober = threading.Thread(target=probing, daemon=True)
        prober.start()
    for thread in threads:
        thread.join(max(1.0, begin + pace.duration_s + 180 - time.time()))
    done.set()
    if prober is not None:
        prober.join(10)
    stuck = sum(thread.is_alive() for thread in threads)
    if stuck:
        stats.error("scenario", f"{stuck} agent(s) still walking long after the day ended")
    return time.time() - begin


# --- the run --------------------------------------------------------------------------------


def report(stats: Stats, elapsed: float, baseline: float) -> None:
    print(f"{stats.requests} requests in {elapsed:.1f} s: {stats.requests / elapsed:.1f} req/s, "
          f"{stats.error_count} errors")  # fmt: skip
    head = f"  {'operation':<22}{'count':>7}{'errors':>7}{'p50 ms':>9}{'p95 ms':>9}"
    print(head + f"{'p99 ms':>9}{'max ms':>9}{'req/s':>8}{'p50/base':>9}")
    for op in sorted(set(stats.times) | set(stats.errors)):
        times = stats.times.get(op, [])
        errors = len(stats.errors.get(op, []))
        if not times:
            print(f"  {op:<22}{0:>7}{errors:>7}")
            continue
        p50, p95, p99 = (percentile(times, p) * 1000 for p in (50, 95, 99))
        print(f"  {op:<22}{len(times):>7}{errors:>7}{p50:>9.1f}{p95:>9.1f}{p99:>9.1f}"
              f"{max(times) * 1000:>9.1f}{len(times) / elapsed:>8.1f}"
              f"{p50 / 1000 / baseline:>9.1f}")  # fmt: skip
    for op, errors in stats.errors.items():
        for error in errors[:5]:
            print(f"  ERROR {op}: {error}")


def database_counts(stats: Stats, plans: Sequence[TeamPlan]) -> list[str]:
    """What the database holds against what the phones were told was stored."""
    from fieldvisit.models import AudioSegment, CheckIn, LedgerEntry, Photo, Route, Visit

    told = {op: len(times) for op, times in stats.times.items()}
    routes = [plan.route_id for plan in plans]
    checkins = CheckIn.objects.filter(route_id__in=routes).count()
    expected = sum(n for op, n in told.items() if op.startswith("checkin "))
    problems = []
    photos = Photo.objects.filter(visit__stop__route_id__in=routes)
    segments = AudioSegment.objects.filter(recording__visit__stop__route_id__in=routes)
    closed = Visit.objects.filter(stop__route_id__in=routes, status="closed")
    completed = Route.objects.filter(pk__in=routes, status="completed")
    entries = LedgerEntry.objects.filter(kind__startswith="checkin.")
    checks = [
        ("check-ins", checkins, expected),
        ("photos", photos.count(), told.get("photo", 0)),
        ("audio segments", segments.count(), told.get("tus patch segment", 0)),
        ("closed visits", closed.count(), sum(len(plan.stops) for plan in plans)),
        ("completed routes", completed.count(), len(plans)),
        ("check-in ledger entries", entries.count(), expected),
    ]
    for name, found, wanted in checks:
        mark = "ok" if found == wanted else "MISMATCH"
        print(f"  {name}: {found} in the database, {wanted} expected: {mark}")
        if found != wanted:
            problems.append(name)
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--teams", type=int, default=100)
    parser.add_argument("--stops", type=int, default=3, help="stops per route")
    parser.add_argument("--duration", type=float, default=300.0, help="seconds of load")
    parser.add_argument("--workers", type=int, default=4, help="gunicorn worker processes")
    parser.add_argument("--threads", type=int, default=4, help="threads per gunicorn worker")
    parser.add_argument("--periodic-s", type=float, default=60.0, help="each agent reports every")
    parser.add_argument("--segment-s", type=float, default=30.0, help="audio per tus segment")
    parser.add_argument("--photos", type=int, default=2, help="photos per visit")
    parser.add_argument("--stagger-s", type=float, default=30.0, help="teams set out over")
    parser.add_argument("--database", default="loadbench", help="PostgreSQL database (dropped!)")
    parser.add_argument("--conn-max-age", default="60", help="CONN_MAX_AGE for the server")
    parser.add_argument(
        "--profile",
        metavar="DIR",
        help="serve under cProfile (bench/profiled_wsgi.py), statistics per worker in DIR",
    )
    parser.add_argument(
        "--zone",
        default="Asia/Shanghai",
        help="the teams' and addresses' zone (Shanghai's addresses, another clock: run the "
        "bench when it is not visiting time in Shanghai)",
    )
    args = parser.parse_args()
    global ZONE
    ZONE = zoneinfo.ZoneInfo(args.zone)
    pace = Pace(
        duration_s=args.duration,
        periodic_s=args.periodic_s,
        segment_s=args.segment_s,
        photos=args.photos,
        stagger_s=args.stagger_s,
    )
    pace.check(args.stops)
    check_visit_hours(dt.datetime.now(dt.UTC), args.duration)

    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from _django import setup

    print("database:", setup("postgres", "load", database=args.database))
    from django.core.management import call_command
    from django.db import connection

    from tests.childserver import free_port

    started = time.perf_counter()
    plans = seed(args.teams, args.stops)
    print(f"seeded {len(plans)} teams ({2 * len(plans)} agents), {args.stops} stops each, "
          f"in {time.perf_counter() - started:.1f} s")  # fmt: skip
    connection.close()

    port = free_port()
    server, log = start_gunicorn(
        port, args.workers, args.threads, args.conn_max_age, profile=args.profile
    )
    stats = Stats()
    try:
        wait_for(port)
        print(f"gunicorn: {args.workers} workers x {args.threads} threads (gthread), port {port}")
        me = Phone("127.0.0.1", port, plans[0].tokens[0], Stats())
        for _ in range(30):  # warm every worker up
            me.call("me", "GET", "/api/v1/me/")
        idle = Stats()
        alone = Phone("127.0.0.1", port, plans[0].tokens[0], idle)
        for _ in range(200):
            alone.call("me", "GET", "/api/v1/me/")
        baseline = percentile(idle.times["me"], 50)
        print(f"baseline: GET /api/v1/me/ alone, p50 {baseline * 1000:.1f} ms "
              f"(p95 {percentile(idle.times['me'], 95) * 1000:.1f} ms)")  # fmt: skip
        probe = Phone("127.0.0.1", port, plans[0].tokens[1], stats)
        print(
            f"load: {args.duration:.0f} s, periodic every {pace.periodic_s:.0f} s per agent, "
            f"{pace.segment_s:.0f} s WAV segments, {pace.photos} photos a visit ...",
            flush=True,
        )

        def probing() -> None:
            with contextlib.suppress(Failure):  # counted as an error by the call itself
                probe.call("me (probe)", "GET", "/api/v1/me/")

        cpu = ServerCpu(server.pid)
        elapsed = run_load(plans, "127.0.0.1", port, pace, stats, probing)
        cpu.report(sum(len(times) for times in stats.times.values()))
    finally:
        server.terminate()
        server.wait(30)
    report(stats, elapsed, baseline)
    probe_times = stats.times.get("me (probe)")
    if probe_times:
        ratio = percentile(probe_times, 50) / baseline
        print(f"  RATIO GET /me/ p50 under load / alone = {ratio:.2f}")
    server_errors = [
        line
        for line in log.read_text(errors="replace").splitlines()
        if "Traceback" in line or "[ERROR]" in line or "[CRITICAL]" in line
    ]
    print(f"server log: {len(server_errors)} error line(s) ({log})")
    for line in server_errors[:10]:
        print("   ", line)

    print("database after the load:")
    mismatches = database_counts(stats, plans)
    call_command("make_checkpoint")
    started = time.perf_counter()
    try:
        call_command("verify_ledger", "--strict")
        ledger_ok = True
    except Exception as error:  # CommandError: reported, and the run fails
        print(f"verify_ledger: {error}")
        ledger_ok = False
    print(f"  (verify_ledger --strict took {time.perf_counter() - started:.1f} s)")
    failed = stats.error_count or server_errors or mismatches or not ledger_ok
    print("RESULT:", "FAILED" if failed else "OK (zero errors, database and ledger consistent)")
    sys.exit(1 if failed else 0)


def start_gunicorn(
    port: int, workers: int, threads: int, conn_max_age: str = "60", profile: str | None = None
) -> tuple[subprocess.Popen[bytes], Path]:
    """gunicorn serving the app on ``port`` (gthread workers), with this process's
    environment; its own log (gunicorn's and Django's, with any traceback) goes to a file in
    ``STATE_DIR``, read afterwards. ``profile``: a folder for each worker's cProfile
    statistics (``bench/profiled_wsgi.py``)."""
    log = Path(os.environ["STATE_DIR"]) / "gunicorn.log"
    env = {**os.environ, "DEBUG": "0", "ALLOWED_HOSTS": "127.0.0.1,localhost",
           "CONN_MAX_AGE": conn_max_age}  # fmt: skip
    app = ["config.wsgi"]
    if profile:
        env["BENCH_PROFILE_DIR"] = profile
        app = ["--pythonpath", str(ROOT / "bench"), "profiled_wsgi"]
    # Production's configuration (config/gunicorn.py: access log, limits, hooks), with the
    # bench's workers, threads, address and log level.
    command = [
        str(Path(sys.executable).with_name("gunicorn")), "-c", str(ROOT / "config" / "gunicorn.py"),
        *app, "-w", str(workers), "-k", "gthread", "--threads", str(threads),
        "-b", f"127.0.0.1:{port}", "--log-level", "warning",
    ]  # fmt: skip
    with log.open("wb") as sink:
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=sink, stderr=sink)
    return server, log


def _cpu_s(pid: int) -> float:
    """User + system CPU seconds of a process so far (0 once it is gone)."""
    try:
        fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    except OSError:
        return 0.0
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _children(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        with contextlib.suppress(OSError, IndexError, ValueError):
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
    return found


def _machine_busy_s() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine so far, all cores."""
    values = [int(v) for v in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    idle = values[3] + values[4]
    tick = os.sysconf("SC_CLK_TCK")
    return (sum(values) - idle) / tick, sum(values) / tick


class ServerCpu:
    """CPU the server spent on a load: its gunicorn workers and the database sessions they
    hold, per request, beside what the whole machine spent (other programs share it)."""

    def __init__(self, server_pid: int) -> None:
        from django.db import connection

        self.server_pid = server_pid
        self.connection = connection
        self.workers = {pid: _cpu_s(pid) for pid in _children(server_pid)}
        self.backends = {pid: _cpu_s(pid) for pid in self._backend_pids()}
        self.machine = _machine_busy_s()

    def _backend_pids(self) -> list[int]:
        with self.connection.cursor() as cursor:
            cursor.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()"
            )
            return [row[0] for row in cursor.fetchall()]

    def report(self, requests: int) -> None:
        workers = sum(
            _cpu_s(pid) - self.workers.get(pid, 0.0) for pid in _children(self.server_pid)
        )
        backends = sum(_cpu_s(pid) - self.backends.get(pid, 0.0) for pid in self._backend_pids())
        busy, total = (a - b for a, b in zip(_machine_busy_s(), self.machine, strict=True))
        cores = os.cpu_count() or 1
        per = 1000 * (workers + backends) / max(requests, 1)
        print(
            f"server CPU: gunicorn workers {workers:.1f} s + PostgreSQL sessions {backends:.1f} s"
            f" for {requests} requests = {per:.1f} ms a request ({cores} cores: at most "
            f"{1000 * cores / per:.0f} req/s with the machine to itself); the machine was busy "
            f"{100 * busy / total:.0f} % of the time, the server's share "
            f"{100 * (workers + backends) / total:.0f} %"
        )


def wait_for(port: int) -> None:
    import socket

    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.2).close()
            return
        except OSError:
            time.sleep(0.2)
    raise RuntimeError("gunicorn did not start")


if __name__ == "__main__":
    main()
