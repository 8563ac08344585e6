"""The ledger in admin: read-only, for auditors and supervisors."""

from __future__ import annotations

import base64
import json

from django.contrib import admin
from django.db.models import Exists, OuterRef, QuerySet, Subquery
from django.http import HttpRequest
from django.utils.html import format_html

from fieldvisit.admin.base import ReadOnlyAdmin
from fieldvisit.models import Checkpoint, CheckpointTimestamp, LedgerEntry, SigningKey


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
    list_display = ["tree_size", "timestamp", "key", "time_stamp"]
    list_select_related = ["key"]
    search_fields = ["tree_size"]
    fields = ["tree_size", "timestamp", "key", "root_hex", "time_stamp"]
    readonly_fields = fields

    def get_queryset(self, request: HttpRequest) -> QuerySet[Checkpoint]:
        mine = OuterRef("pk")
        return (
            super()
            .get_queryset(request)
            .annotate(
                tsa_time=Subquery(
                    CheckpointTimestamp.objects.filter(
                        checkpoint=mine, gen_time__isnull=False
                    ).values("gen_time")[:1]
                ),
                tsa_tries=Exists(CheckpointTimestamp.objects.filter(checkpoint=mine)),
            )
        )

    @admin.display(description="Root hash")
    def root_hex(self, obj: Checkpoint) -> str:
        return bytes(obj.root_hash).hex()

    @admin.display(description="RFC 3161 time-stamp")
    def time_stamp(self, obj: Checkpoint) -> str:
        """The authority's time, or the gap: failed attempts (retried) or not yet asked."""
        if obj.tsa_time is not None:
            return f"stamped {obj.tsa_time:%Y-%m-%d %H:%M:%S %Z}"
        return "MISSING: attempts failed, retried" if obj.tsa_tries else "none yet"


@admin.register(CheckpointTimestamp)
class CheckpointTimestampAdmin(ReadOnlyAdmin):
    """Every request to the time-stamp authority, granted or failed."""

    list_display = ["checkpoint", "requested_at", "gen_time", "authority", "error"]
    list_select_related = ["checkpoint"]
    list_filter = [("gen_time", admin.EmptyFieldListFilter)]
    fields = ["checkpoint", "authority", "requested_at", "gen_time", "error", "response_b64"]
    readonly_fields = fields

    @admin.display(description="TimeStampResp (DER, base64)")
    def response_b64(self, obj: CheckpointTimestamp) -> str:
        return format_html("<pre>{}</pre>", base64.encodebytes(bytes(obj.response)).decode())


@admin.register(SigningKey)
class SigningKeyAdmin(ReadOnlyAdmin):
    list_display = ["key_id", "valid_from"]
    search_fields = ["key_id"]
