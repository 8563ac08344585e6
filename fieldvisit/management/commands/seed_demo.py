import datetime as dt
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fieldvisit.demo import build_world


class Command(BaseCommand):
    help = "Create a new, independent demo world and print its logins (JSON with --json)."

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--json", action="store_true", help="Print one JSON object only.")
        parser.add_argument("--date", help="The route's day, YYYY-MM-DD (default: today).")

    def handle(self, *args: Any, **options: Any) -> None:
        day = None
        if options["date"]:
            try:
                day = dt.date.fromisoformat(options["date"])
            except ValueError:
                raise CommandError("--date takes YYYY-MM-DD") from None
        world = build_world(day)
        if options["json"]:
            self.stdout.write(json.dumps(world, ensure_ascii=False))
            return
        self.stdout.write(
            self.style.SUCCESS(f"Demo world with a route on {world['route']['date']}:")
        )
        for role, login in world["users"].items():
            self.stdout.write(f"  {role:<17} {login['username']:<22} {login['password']}")
