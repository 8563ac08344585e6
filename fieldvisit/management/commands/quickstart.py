"""Migrate, make sure today's demo world exists, print its logins and serve.

The world is built where it is visiting time now (``demo.zone_for``: Shanghai when it is
08:00-19:00 there, else London's, New York's or San Francisco's Chinatown), so an arrival
made during the next two hours is not refused ``outside_visit_hours`` whatever the hour of
the newcomer's day. ``--zone`` picks the place, ``--at`` the moment the choice is made for.
"""

import datetime as dt
import json
import os
import zoneinfo
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandError, CommandParser

from fieldvisit import scheduler
from fieldvisit.demo import AREAS, HOURS, build_world, in_visiting_hours, zone_for


class Command(BaseCommand):
    help = "Set up the local database with demo data and run the development server."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--addrport", default="127.0.0.1:8000")
        parser.add_argument("--no-serve", action="store_true", help="Set up, print, and stop.")
        parser.add_argument(
            "--zone",
            choices=list(AREAS),
            help="Build the demo there (default: where it is visiting time now).",
        )
        parser.add_argument(
            "--at",
            type=dt.datetime.fromisoformat,
            help="Choose the zone for this moment (ISO 8601 with offset) instead of now.",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        now = options["at"] or dt.datetime.now(tz=dt.UTC)
        if now.tzinfo is None:
            raise CommandError("--at needs a UTC offset, e.g. 2026-12-05T15:00:00+00:00")
        zone = options["zone"] or zone_for(now)
        saved = Path(settings.STATE_DIR) / "demo-world.json"
        world = self._saved_world(saved, zone, now)
        if world is None:
            world = build_world(zone_name=zone)
            # It holds passwords: readable by the owner only, from the first byte.
            fd = os.open(saved, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(world, handle, ensure_ascii=False, indent=2)
        host = options["addrport"]
        local = now.astimezone(zoneinfo.ZoneInfo(zone))
        open_now = in_visiting_hours(now, zone)
        self.stdout.write(
            f"\nDemo world in {world.get('area', zone)} ({zone}): visits are allowed "
            f"{HOURS[0]:%H:%M}-{HOURS[1]:%H:%M} local time; it is {local:%H:%M} there now"
            + ("." if open_now else " (outside the hours: arrivals will be refused).")
        )
        self.stdout.write(self.style.SUCCESS(f"Demo route for {world['route']['date']}. Logins:"))
        for role, login in world["users"].items():
            self.stdout.write(f"  {role:<17} {login['username']:<22} {login['password']}")
        self.stdout.write(
            f"\nAdmin:    http://{host}/admin/  (planner, supervisor, team_lead, risk_manager,"
            " legal, auditor)\n"
            f"API docs: http://{host}/api/docs/\n"
            f"Demo world saved in {saved}\n"
        )
        if not options["no_serve"]:
            scheduler.start()  # the watchdog and checkpoints, in this process
            call_command("runserver", host, use_reloader=False)

    def _saved_world(self, path: Path, zone: str, now: dt.datetime) -> dict[str, Any] | None:
        """Reuse the demo world of an earlier run when it is in ``zone`` and its route is for
        today there."""
        if not path.exists():
            return None
        try:
            world = json.loads(path.read_text(encoding="utf-8"))
            today = now.astimezone(zoneinfo.ZoneInfo(zone)).date().isoformat()
            agent = world["users"]["agent_a"]["username"]
            same = world.get("zone", "Asia/Shanghai") == zone and world["route"]["date"] == today
        except (ValueError, KeyError, TypeError):
            return None
        if not same or not User.objects.filter(username=agent).exists():
            return None
        return world
