"""Sign a checkpoint of the ledger now (the job runner also does so periodically)."""

from typing import Any

from django.core.management.base import BaseCommand

from fieldvisit.ledger.checkpoints import make_checkpoint


class Command(BaseCommand):
    help = "Sign the current tree head with the ledger key (no-op if already signed)."

    def handle(self, *args: Any, **options: Any) -> None:
        checkpoint = make_checkpoint()
        if checkpoint is None:
            self.stdout.write("The ledger is empty; nothing to sign.")
            return
        self.stdout.write(
            f"Checkpoint at size {checkpoint.tree_size}, root {bytes(checkpoint.root_hash).hex()}, "
            f"key {checkpoint.key_id}."
        )
