"""The ledger in admin: read-only, for auditors, legal and supervisors (the entries about
their teams only, ``fieldvisit.ledger.scope``); every page of entries and every entry opened
is in the evidence access log."""

from __future__ import annotations

import base64
import json
from typing import Any

from django.contrib import admin
from django.db.models import Exists, OuterRef, QuerySet, Subquery
from django.http import HttpRequest, HttpResponse
from django.utils.html import format_html

from fieldvisit.access_log import record_read
from fieldvisit.admin.base import ReadOnlyAdmin, ScopedReadsAdmin
from fieldvisit.ledger.scope import entry_scope
from fieldvisit.models import Checkpoint, CheckpointTimestamp, LedgerEntry, SigningKey
from fieldvisit.texts import _, format_lazy


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ScopedReadsAdmin, ReadOnlyAdmin):
    list_display = ["index", "kind", "subject", "at"]
    list_filter = ["kind"]
    search_fields = ["subject", "kind"]
    fields = ["index", "kind", "subject", "at", "leaf_hash_hex", "content"]
    readonly_fields = fields
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[LedgerEntry]:
        return super().get_queryset(request).filter(entry_scope(request.user))

    def changelist_view(self, request: HttpRequest, extra_context: Any = None) -> HttpResponse:
        """The page, and in the access log the range of entries it shows (the rows are
        read once: the template reuses them)."""
        response = super().changelist_view(request, extra_context)
        changelist = getattr(response, "context_data", {}).get("cl")
        if response.status_code == 200 and changelist is not None:
            shown = [entry.index for entry in changelist.result_list]
            span = f"{min(shown)}-{max(shown)}" if shown else "none"
            record_read(request.user, "ledger_list", f"ledger:{span}", via="admin")
        return response

    def change_view(
        self, request: HttpRequest, object_id: str, form_url: str = "", extra_context: Any = None
    ) -> HttpResponse:
        response = super().change_view(request, object_id, form_url, extra_context)
        entry = getattr(response, "context_data", {}).get("original")
        if response.status_code == 200 and entry is not None:
            record_read(request.user, "ledger_entry", f"ledger:{entry.index}", via="admin")
        return response

    @admin.display(description=_("Leaf hash"))
    def leaf_hash_hex(self, obj: LedgerEntry) -> str:
        return bytes(obj.leaf_hash).hex()

    @admin.display(description=_("Entry (canonical JSON)"))
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

    @admin.display(description=_("Root hash"))
    def root_hex(self, obj: Checkpoint) -> str:
        return bytes(obj.root_hash).hex()

    @admin.display(description=_("RFC 3161 time-stamp"))
    def time_stamp(self, obj: Checkpoint) -> str:
        """The authority's time, or the gap: failed attempts (retried) or not yet asked."""
        if obj.tsa_time is not None:
            return format_lazy(_("stamped {time}"), time=f"{obj.tsa_time:%Y-%m-%d %H:%M:%S %Z}")
        return _("MISSING: attempts failed, retried") if obj.tsa_tries else _("none yet")


@admin.register(CheckpointTimestamp)
class CheckpointTimestampAdmin(ReadOnlyAdmin):
    """Every request to the time-stamp authority, granted or failed."""

    list_display = ["checkpoint", "requested_at", "gen_time", "authority", "error"]
    list_select_related = ["checkpoint"]
    list_filter = [("gen_time", admin.EmptyFieldListFilter)]
    fields = ["checkpoint", "authority", "requested_at", "gen_time", "error", "response_b64"]
    readonly_fields = fields

    @admin.display(description=_("TimeStampResp (DER, base64)"))
    def response_b64(self, obj: CheckpointTimestamp) -> str:
        return format_html("<pre>{}</pre>", base64.encodebytes(bytes(obj.response)).decode())


@admin.register(SigningKey)
class SigningKeyAdmin(ReadOnlyAdmin):
    list_display = ["key_id", "valid_from"]
    search_fields = ["key_id"]
