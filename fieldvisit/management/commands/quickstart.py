"""Migrate, make sure today's demo world exists, print its logins and serve."""

import datetime as dt
import json
import os
import zoneinfo
from pathlib import Path
from typing import Any

from django.conf import settings
from django.contrib.auth.models import User
from django.core.management import call_command
from django.core.management.base import BaseCommand, CommandParser

from fieldvisit import scheduler
from fieldvisit.demo import ZONE, build_world


class Command(BaseCommand):
    help = "Set up the local database with demo data and run the development server."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--addrport", default="127.0.0.1:8000")
        parser.add_argument("--no-serve", action="store_true", help="Set up, print, and stop.")

    def handle(self, *args: Any, **options: Any) -> None:
        call_command("migrate", interactive=False, verbosity=0)
        saved = Path(settings.STATE_DIR) / "demo-world.json"
        world = self._saved_world(saved)
        if world is None:
            world = build_world()
            # It holds passwords: readable by the owner only, from the first byte.
            fd = os.open(saved, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
            with os.fdopen(fd, "w", encoding="utf-8") as handle:
                json.dump(world, handle, ensure_ascii=False, indent=2)
        host = options["addrport"]
        self.stdout.write(self.style.SUCCESS(f"\nDemo route for {world['route']['date']}. Logins:"))
        for role, login in world["users"].items():
            self.stdout.write(f"  {role:<17} {login['username']:<22} {login['password']}")
        self.stdout.write(
            f"\nAdmin:    http://{host}/admin/  (planner, supervisor, legal, auditor)\n"
            f"API docs: http://{host}/api/docs/\n"
            f"Demo world saved in {saved}\n"
        )
        if not options["no_serve"]:
            scheduler.start()  # the watchdog and checkpoints, in this process
            call_command("runserver", host, use_reloader=False)

    def _saved_world(self, path: Path) -> dict[str, Any] | None:
        """Reuse the demo world of an earlier run when its route is for today."""
        if not path.exists():
            return None
        try:
            world = json.loads(path.read_text(encoding="utf-8"))
            today = dt.datetime.now(tz=zoneinfo.ZoneInfo(ZONE)).date().isoformat()
            agent = world["users"]["agent_a"]["username"]
        except (ValueError, KeyError):
            return None
        if world["route"]["date"] != today or not User.objects.filter(username=agent).exists():
            return None
        return world
