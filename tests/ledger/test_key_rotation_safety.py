"""A key rotation survives a crash at any point and never leaves a key that signs outside
its validity; a lost key file is an error to repair, never a reason for a fresh key that no
hand-over vouches for."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from django.core.exceptions import ImproperlyConfigured

from fieldvisit.ledger import keys
from fieldvisit.ledger.checkpoints import make_checkpoint
from fieldvisit.models import Checkpoint, SigningKey
from tests.ledger.helpers import append_many

pytestmark = pytest.mark.django_db


@pytest.fixture
def key_file(settings: Any, tmp_path: Path) -> Path:
    settings.LEDGER_SIGNING_KEY_FILE = tmp_path / "ledger.pem"
    keys._cache.clear()
    append_many(2)
    make_checkpoint()
    return Path(settings.LEDGER_SIGNING_KEY_FILE)


def test_a_rotation_that_died_after_its_commit_is_finished_by_the_next_use(
    key_file: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    old_id = keys.current_signing_key()[0].key_id
    real_finish = keys._finish_staged
    calls = []

    def dies_after_commit(path: Path) -> None:
        calls.append(path)
        if len(calls) == 2:  # the swap after the hand-over committed
            raise KeyboardInterrupt("the process was stopped here")
        real_finish(path)

    monkeypatch.setattr(keys, "_finish_staged", dies_after_commit)
    with pytest.raises(KeyboardInterrupt):
        keys.rotate()
    monkeypatch.setattr(keys, "_finish_staged", real_finish)
    new = SigningKey.objects.order_by("-valid_from").first()
    assert new.key_id != old_id
    assert key_file.with_name("ledger.pem.new").exists()  # the new key, not yet swapped in
    keys._cache.clear()
    record, private = keys.current_signing_key()
    assert record.key_id == new.key_id == keys.key_id_for(keys.public_raw(private))
    assert not key_file.with_name("ledger.pem.new").exists()
    assert key_file.with_name(f"ledger.pem.{old_id}.retired").exists()
    append_many(1)
    assert make_checkpoint().key_id == new.key_id


def test_a_rotation_that_died_before_its_commit_leaves_nothing_behind(key_file: Path) -> None:
    old = keys.current_signing_key()[0]
    keys.write_new_key(key_file.with_name("ledger.pem.new"))  # staged, never published
    record = keys.rotate()
    assert record.key_id != old.key_id
    assert SigningKey.objects.count() == 2
    assert keys.current_signing_key()[0] == record


def test_a_lost_key_file_is_not_replaced_by_a_fresh_key(key_file: Path) -> None:
    key_file.unlink()
    keys._cache.clear()
    with pytest.raises(ImproperlyConfigured, match="restore the current key file"):
        keys.current_signing_key()
    assert not key_file.exists()
    assert SigningKey.objects.count() == 1


def test_a_key_file_older_than_the_newest_key_is_refused(key_file: Path) -> None:
    before = key_file.read_bytes()
    keys.rotate()
    key_file.write_bytes(before)  # a backup of the old key restored over the new one
    keys._cache.clear()
    with pytest.raises(ImproperlyConfigured, match="took over from it"):
        keys.current_signing_key()
    assert Checkpoint.objects.count() == 1


def test_every_checkpoint_lies_within_its_keys_validity(key_file: Path) -> None:
    keys.rotate()
    append_many(1)
    make_checkpoint()
    keys.rotate()
    append_many(1)
    make_checkpoint()
    windows = {record.key_id: (record.valid_from, end) for record, end in keys.with_validity()}
    for checkpoint in Checkpoint.objects.all():
        start, end = windows[checkpoint.key_id]
        assert start <= checkpoint.timestamp and (end is None or checkpoint.timestamp < end)
