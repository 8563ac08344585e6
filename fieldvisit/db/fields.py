"""Key columns that SQLite stores as the table's own rowid.

SQLite keeps every ordinary table in a B-tree keyed by a 64-bit rowid; a column declared
exactly ``integer PRIMARY KEY`` is that rowid, anything else (``bigint PRIMARY KEY``) is a
second B-tree beside it, written on every insert and looked through on every read by key.
``AUTOINCREMENT`` adds a read and a write of ``sqlite_sequence`` to every insert, to keep
keys from being reused after a delete, which append-only tables never see; without it a new
row takes the largest key plus one, so keys still follow the order rows were written in.
PostgreSQL's columns are unchanged (``bigint``, ``bigserial``).
"""

from __future__ import annotations

from typing import Any

from django.db import models


class RowidBigIntegerField(models.BigIntegerField):
    """A ``BigIntegerField`` primary key that is SQLite's rowid (both are 64-bit)."""

    def db_type(self, connection: Any) -> str | None:
        if connection.vendor == "sqlite" and self.primary_key:
            return "integer"
        return super().db_type(connection)


class RowidAutoField(models.BigAutoField):
    """A ``BigAutoField`` that SQLite numbers as a plain rowid, without ``AUTOINCREMENT``:
    for append-only tables, whose rows are never deleted."""

    def db_type_suffix(self, connection: Any) -> str | None:
        if connection.vendor == "sqlite":
            return None
        return super().db_type_suffix(connection)
