"""Recompute the whole ledger from its stored bytes; exit non-zero on the first problem."""

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fieldvisit.ledger import timestamps
from fieldvisit.ledger.audit import audit


class Command(BaseCommand):
    help = (
        "Recompute every leaf hash from the stored entry bytes, every subtree hash, the tree "
        "head and every checkpoint's root and signatures. Exits 1 naming the first bad index."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--strict",
            action="store_true",
            help="Also check that every entry is in RFC 8785 canonical form (slower).",
        )

    def handle(self, *args: Any, **options: Any) -> None:
        report = audit(strict=options["strict"])
        if not report.ok:
            for problem in report.problems[:20]:
                self.stderr.write(problem)
            where = (
                f"first bad index: {report.first_bad_index}"
                if report.first_bad_index is not None
                else "the tree structure or a checkpoint is wrong"
            )
            raise CommandError(f"Ledger verification FAILED ({where}): {report.problems[0]}")
        tokens = timestamps.audit_tokens()
        if tokens.problems:
            for problem in tokens.problems[:20]:
                self.stderr.write(problem)
            raise CommandError(f"Ledger verification FAILED: {tokens.problems[0]}")
        self.stdout.write(
            self.style.SUCCESS(
                f"Ledger OK: {report.entries} entries, {report.nodes} subtree hashes, "
                f"{report.checkpoints} checkpoints verified."
            )
        )
        gap = (
            f"; {tokens.missing} WITHOUT a token (the timestamp_checkpoints job retries)"
            if tokens.missing
            else ""
        )
        self.stdout.write(
            f"RFC 3161 time-stamps: {tokens.stamped} checkpoints stamped by the authority{gap}."
        )
