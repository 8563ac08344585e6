"""The ledger in admin: read-only, for auditors and supervisors."""

from __future__ import annotations

import json

from django.contrib import admin
from django.utils.html import format_html

from fieldvisit.admin.base import ReadOnlyAdmin
from fieldvisit.models import Checkpoint, LedgerEntry, SigningKey


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyAdmin):
    list_display = ["index", "kind", "subject", "at"]
    list_filter = ["kind"]
    search_fields = ["subject", "kind"]
    fields = ["index", "kind", "subject", "at", "leaf_hash_hex", "content"]
    readonly_fields = fields
    show_full_result_count = False

    @admin.display(description="Leaf hash")
    def leaf_hash_hex(self, obj: LedgerEntry) -> str:
        return bytes(obj.leaf_hash).hex()

    @admin.display(description="Entry (canonical JSON)")
    def content(self, obj: LedgerEntry) -> str:
        pretty = json.dumps(json.loads(bytes(obj.entry_bytes)), indent=2, ensure_ascii=False)
        return format_html("<pre>{}</pre>", pretty)


@admin.register(Checkpoint)
class CheckpointAdmin(ReadOnlyAdmin):
    list_display = ["tree_size", "timestamp", "key"]
    list_select_related = ["key"]
    search_fields = ["tree_size"]
    fields = ["tree_size", "timestamp", "key", "root_hex"]
    readonly_fields = fields

    @admin.display(description="Root hash")
    def root_hex(self, obj: Checkpoint) -> str:
        return bytes(obj.root_hash).hex()


@admin.register(SigningKey)
class SigningKeyAdmin(ReadOnlyAdmin):
    list_display = ["key_id", "valid_from"]
    search_fields = ["key_id"]
