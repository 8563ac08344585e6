"""Ask the configured witnesses (LEDGER_WITNESSES) to cosign the latest checkpoint."""

from __future__ import annotations

from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fieldvisit.ledger import checkpoints, witnessing


class Command(BaseCommand):
    help = (
        "Send the latest checkpoint (signing one first if the ledger grew) to every witness in "
        "LEDGER_WITNESSES with a consistency proof, keep the cosignatures that verify, and say "
        "whether LEDGER_WITNESS_POLICY (k of n) is met. Exits 1 when it is not."
    )

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--print-note", action="store_true", help="print the cosigned checkpoint note"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        if not witnessing.witnesses():
            raise CommandError("No witnesses configured (LEDGER_WITNESSES).")
        checkpoint = checkpoints.latest_checkpoint()
        if checkpoint is None:
            raise CommandError("The ledger is empty: there is no checkpoint to witness.")
        self.stdout.write(f"Checkpoint @ {checkpoint.tree_size} ({checkpoint.origin})")
        for outcome in witnessing.witness_checkpoint(checkpoint):
            if outcome.cosignature is not None:
                when = outcome.cosignature.cosigned_at.isoformat()
                self.stdout.write(f"  {outcome.witness}: cosigned at {when}")
            else:
                self.stdout.write(f"  {outcome.witness}: {outcome.error}")
        status = witnessing.policy_status(checkpoint)
        if options["print_note"]:
            self.stdout.write(witnessing.cosigned_note(checkpoint), ending="")
        summary = (
            f"{len(status.cosigned_by)} of {status.configured} witnesses cosigned; "
            f"the policy needs {status.required}"
        )
        if not status.met:
            raise CommandError(summary + ": NOT met.")
        self.stdout.write(summary + ": met.")
