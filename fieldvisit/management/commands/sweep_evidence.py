"""Run the evidence sweep now (the ``sweep_evidence`` job), e.g. after a crash."""

import datetime as dt
import json
from typing import Any

from django.core.management.base import BaseCommand, CommandParser

from fieldvisit import jobs


class Command(BaseCommand):
    help = (
        "Finish evidence promotions a crash interrupted, remove staged bytes and temporary "
        "upload files no committed row cites, and files of ended tus uploads. Only files "
        "older than --older-than seconds are touched (default 3600): use 0 only while no "
        "server is running."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument("--older-than", type=float, default=3600.0, metavar="SECONDS")

    def handle(self, *args: Any, **options: Any) -> None:
        done = jobs.sweep_evidence(dt.timedelta(seconds=max(0.0, options["older_than"])))
        self.stdout.write(json.dumps(done, sort_keys=True))
