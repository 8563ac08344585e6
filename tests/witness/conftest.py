from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.witness.helpers import RunningWitness, log_vkey


@pytest.fixture
def witness_factory(tmp_path: Path) -> Iterator[Any]:
    """Start witnesses that follow the ledger's key; each is stopped after the test."""
    started: list[RunningWitness] = []

    def start(name: str, log_keys: list[str] | None = None) -> RunningWitness:
        folder = tmp_path / name.replace("/", "_")
        folder.mkdir(exist_ok=True)
        witness = RunningWitness(folder, name, log_keys or [log_vkey()]).start()
        started.append(witness)
        return witness

    yield start
    for witness in started:
        witness.stop()


@pytest.fixture
def notary(witness_factory: Any) -> RunningWitness:
    return witness_factory("notary.example/witness")


@pytest.fixture
def creditor(witness_factory: Any) -> RunningWitness:
    return witness_factory("creditor.example/witness")


@pytest.fixture
def both(settings: Any, notary: RunningWitness, creditor: RunningWitness) -> list[RunningWitness]:
    """Two independent witnesses configured for the ledger, both required (2 of 2)."""
    settings.LEDGER_WITNESSES = [notary.config, creditor.config]
    settings.LEDGER_WITNESS_POLICY = 2
    return [notary, creditor]
