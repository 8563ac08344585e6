"""Run a C2SP tlog-witness of a ledger (``fieldvisit.witness``): no database needed."""

from __future__ import annotations

import logging
import signal
import sys
from pathlib import Path
from typing import Any

from django.core.management.base import BaseCommand, CommandError, CommandParser

from fieldvisit.witness import keys, note
from fieldvisit.witness.server import WitnessServer
from fieldvisit.witness.service import Witness
from fieldvisit.witness.state import StateError, StateFile, peek_name


def parse_addr(addr: str) -> tuple[str, int]:
    host, sep, port = addr.rpartition(":")
    if not sep or not host or not port.isdigit() or not 0 <= int(port) < 65536:
        raise CommandError(f"--addr must be HOST:PORT, not {addr!r}")
    return host.strip("[]"), int(port)


class Command(BaseCommand):
    help = (
        "Serve a tlog-witness (POST /add-checkpoint): cosign the ledger's checkpoints that "
        "extend what it cosigned before, refuse forks and rollbacks. Prints its verifier key."
    )
    requires_system_checks: list[str] = []

    def add_arguments(self, parser: CommandParser) -> None:
        parser.add_argument(
            "--key",
            required=True,
            type=Path,
            help="Ed25519 key file (PEM, created 0600 if missing)",
        )
        parser.add_argument(
            "--state", required=True, type=Path, help="state file (JSON, created if missing)"
        )
        parser.add_argument(
            "--log-key",
            action="append",
            default=[],
            metavar="VKEY",
            help="a log's C2SP verifier key (name+hash+base64); repeat for more keys or logs",
        )
        parser.add_argument(
            "--name",
            help="the witness's key name, e.g. notary.example/witness (kept in the state file)",
        )
        parser.add_argument("--addr", default="127.0.0.1:7380", help="HOST:PORT to listen on")
        parser.add_argument(
            "--print-key", action="store_true", help="print the verifier key and exit"
        )

    def handle(self, *args: Any, **options: Any) -> None:
        try:
            private, created = keys.load_or_create(options["key"])
        except keys.KeyFileError as exc:
            raise CommandError(str(exc)) from None
        if created:
            self.stderr.write(f"Created a new witness key in {options['key']}.")
        if options["print_key"]:
            self._print_key(private, options["state"], options["name"])
            return
        state = StateFile(options["state"])
        try:
            state.open()
        except StateError as exc:
            raise CommandError(str(exc)) from None
        try:
            name = self._name(state, options["name"])
            verifier = note.cosigner_key(name, private)
            witness = self._witness(name, private, options["log_key"], state)
            host, port = parse_addr(options["addr"])
            try:
                server = WitnessServer((host, port), witness)
            except OSError as exc:
                raise CommandError(f"cannot listen on {options['addr']}: {exc}") from None
            self.stdout.write(str(verifier))
            self.stdout.write(
                f"Witnessing {', '.join(sorted(witness.logs))} at {server.url}/add-checkpoint"
            )
            self.stdout.flush()
            self._serve(server)
        finally:
            state.close()

    def _print_key(self, private: Any, state_path: Path, given: str | None) -> None:
        """The verifier key, without taking the state's lock (the witness may be running)."""
        try:
            kept = peek_name(state_path)
        except StateError as exc:
            raise CommandError(str(exc)) from None
        if kept and given and kept != given:
            raise CommandError(f"this witness is named {kept!r} (in {state_path})")
        name = kept or given
        if not name:
            raise CommandError("--name is required until the witness has run once")
        try:
            self.stdout.write(str(note.cosigner_key(name, private)))
        except note.NoteError as exc:
            raise CommandError(f"--name: {exc}") from None

    def _name(self, state: StateFile, given: str | None) -> str:
        """The name is part of the key ID: once chosen, it stays (the state keeps it)."""
        if given is not None:
            try:
                note.check_name(given)
            except note.NoteError as exc:
                raise CommandError(f"--name: {exc}") from None
        if state.name and given and given != state.name:
            raise CommandError(
                f"this witness is named {state.name!r} (in {state.path}); its cosignatures "
                "would not match its published verifier key under another name"
            )
        name = state.name or given
        if not name:
            raise CommandError("--name is required the first time (e.g. notary.example/witness)")
        if not state.name:
            state.set_name(name)
        return name

    def _witness(self, name: str, private: Any, log_keys: list[str], state: StateFile) -> Witness:
        if not log_keys:
            raise CommandError("--log-key is required: the verifier key of the ledger")
        parsed = []
        for vkey in log_keys:
            try:
                key = note.parse_verifier_key(vkey)
            except note.NoteError as exc:
                raise CommandError(f"--log-key {vkey!r}: {exc}") from None
            if key.signature_type != note.ED25519:
                raise CommandError(f"--log-key {vkey!r} is not a log's Ed25519 key (type 0x01)")
            parsed.append(key)
        return Witness(name, private, parsed, state)

    def _serve(self, server: WitnessServer) -> None:
        logging.basicConfig(level=logging.INFO, stream=sys.stderr)

        def stop(signum: int, frame: Any) -> None:
            raise KeyboardInterrupt

        signal.signal(signal.SIGTERM, stop)
        try:
            server.serve_forever()
        except KeyboardInterrupt:
            pass
        finally:
            server.server_close()
