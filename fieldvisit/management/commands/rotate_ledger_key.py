"""Start signing with a new ledger key; the old one stays published for old checkpoints."""

from typing import Any

from django.core.management.base import BaseCommand

from fieldvisit.ledger import keys
from fieldvisit.ledger.checkpoints import make_checkpoint


class Command(BaseCommand):
    help = "Retire the current Ed25519 ledger key (file kept beside it) and create a new one."

    def handle(self, *args: Any, **options: Any) -> None:
        record = keys.rotate()
        make_checkpoint()
        self.stdout.write(f"Now signing with key {record.key_id} (valid from {record.valid_from}).")
