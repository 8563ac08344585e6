"""Evidence in admin: photos with thumbnails, receipts, recordings and the files they cite.
Read-only, team-scoped: a supervisor sees the evidence of the teams they oversee (planning
for every team shows no team's evidence: ``access.evidence_scope``)."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, OuterRef, Q, QuerySet
from django.http import FileResponse, HttpRequest, HttpResponse, HttpResponseRedirect
from django.shortcuts import get_object_or_404
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.html import format_html

from fieldvisit.access import evidence_scope
from fieldvisit.access_log import record_read
from fieldvisit.actions.acceptances import accept_door_photo, acceptable
from fieldvisit.admin.base import (
    LoggedReadsAdmin,
    ReadOnlyAdmin,
    ReadOnlyInline,
    ScopedReadsAdmin,
    TeamScopedAdmin,
)
from fieldvisit.choices import ReceiptOutcome
from fieldvisit.evidence.storage import open_evidence
from fieldvisit.evidence.thumbnails import thumbnail
from fieldvisit.media import MediaError
from fieldvisit.models import (
    AudioSegment,
    EvidenceAccess,
    EvidenceFile,
    Photo,
    PhotoAcceptance,
    Receipt,
    Recording,
)
from fieldvisit.rules import RuleViolation
from fieldvisit.rules.evidence import UNPLACED
from fieldvisit.texts import _
from fieldvisit.words import distance_text, flags_text, person_name

VISIT_TEAM = "visit__stop__route__team"


class EvidenceAdmin(LoggedReadsAdmin, ReadOnlyAdmin, TeamScopedAdmin):
    team_field = VISIT_TEAM
    read_scope = staticmethod(evidence_scope)
    show_full_result_count = False

    @admin.display(description=_("Flags"))
    def flag_list(self, obj: Any) -> str:
        return flags_text(obj.flags)

    @admin.display(description=_("From the address"), ordering="distance_m")
    def distance(self, obj: Any) -> str:
        return distance_text(obj.distance_m)


@admin.register(Photo)
class PhotoAdmin(EvidenceAdmin):
    list_display = ["preview", "kind", "visit", "agent", "captured_at", "distance", "flag_list"]
    list_select_related = ["agent", "visit__stop__address", "visit__stop__case"]
    list_filter = ["kind", "partner_in_frame"]
    search_fields = ["id", "file__sha256", "visit__stop__case__number", "agent__username"]
    date_hierarchy = "captured_at"
    fields = [
        "large_preview",
        "id",
        "visit",
        "kind",
        "partner_in_frame",
        "agent",
        "device_id",
        "captured_at",
        "received_at",
        "lat",
        "lon",
        "original",
        "width",
        "height",
        "exif_lat",
        "exif_lon",
        "exif_altitude",
        "exif_taken_at",
        "exif_make",
        "exif_model",
        "distance_m",
        "flags",
        "accepted",
    ]
    readonly_fields = fields

    def get_urls(self) -> list[Any]:
        wrap = self.admin_site.admin_view
        return [
            path("<uuid:pk>/accept/", wrap(self.accept_view), name="fieldvisit_photo_accept"),
            path("<uuid:pk>/thumbnail/", wrap(self.thumbnail_view), name="fieldvisit_photo_thumb"),
            path("<uuid:pk>/original/", wrap(self.original_view), name="fieldvisit_photo_original"),
            *super().get_urls(),
        ]

    def _photo(self, request: HttpRequest, pk: Any) -> Photo:
        if not self.has_view_permission(request):
            raise PermissionDenied
        return get_object_or_404(self.get_queryset(request), pk=pk)

    def thumbnail_view(self, request: HttpRequest, pk: Any) -> HttpResponse:
        photo = self._photo(request, pk)
        try:
            data = thumbnail(photo.file_id)
        except MediaError:
            return HttpResponse(status=404)
        response = HttpResponse(data, content_type="image/jpeg")
        response["Cache-Control"] = "private, max-age=86400"
        return response

    def original_view(self, request: HttpRequest, pk: Any) -> FileResponse:
        photo = self._photo(request, pk)
        record_read(request.user, "photo_original", f"photo:{photo.pk}", via="admin")
        return FileResponse(
            open_evidence(photo.file_id),
            content_type=photo.file.media_type,
            as_attachment=True,
            filename=f"{photo.file_id}.{photo.file.media_type.split('/')[-1]}",
        )

    @admin.display(description=_("Photo"))
    def preview(self, obj: Photo) -> str:
        url = reverse("admin:fieldvisit_photo_thumb", args=[obj.pk])
        return format_html('<img src="{}" alt="" loading="lazy" style="max-height:80px">', url)

    @admin.display(description=_("Photo"))
    def large_preview(self, obj: Photo) -> str:
        url = reverse("admin:fieldvisit_photo_thumb", args=[obj.pk])
        return format_html('<img src="{}" alt="" style="max-width:640px">', url)

    def accept_view(self, request: HttpRequest, pk: Any) -> HttpResponse:
        """A supervisor accepts a door photo the rules could not place, saying why."""
        photo = self._photo(request, pk)
        if not request.user.has_perm("fieldvisit.add_photoacceptance"):
            raise PermissionDenied
        form = AcceptanceForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            try:
                accept_door_photo(photo.pk, form.cleaned_data["reason"], request.user)
            except RuleViolation as refusal:
                form.add_error(None, str(refusal.detail))
            else:
                self.message_user(request, _("The door photo is accepted."), messages.SUCCESS)
                return HttpResponseRedirect(reverse("admin:fieldvisit_photo_change", args=[pk]))
        context = {
            **self.admin_site.each_context(request),
            "opts": self.model._meta,
            "original": photo,
            "title": _("Accept the door photo"),
            "form": form,
            "flags": flags_text(sorted(UNPLACED & set(photo.flags))),
        }
        return TemplateResponse(request, "admin/fieldvisit/photo/accept.html", context)

    @admin.display(description=_("Accepted by a supervisor"))
    def accepted(self, obj: Photo) -> str:
        """Who accepted the photo and why; for one that may still be, a link to do so."""
        found = PhotoAcceptance.objects.filter(photo=obj).select_related("accepted_by").first()
        if found is not None:
            return format_html(
                "{} ({}): {}", person_name(found.accepted_by), found.accepted_at, found.reason
            )
        if acceptable(obj):
            url = reverse("admin:fieldvisit_photo_accept", args=[obj.pk])
            return format_html('<a href="{}">{}</a>', url, _("Accept the door photo…"))
        return "—"

    @admin.display(description=_("Original file"))
    def original(self, obj: Photo) -> str:
        url = reverse("admin:fieldvisit_photo_original", args=[obj.pk])
        return format_html('<a href="{}">{}</a> (SHA-256)', url, obj.file_id)


class AcceptanceForm(forms.Form):
    reason = forms.CharField(
        label=_("Why the photo shows the right door"), max_length=500, widget=forms.Textarea
    )


class SignerFilter(admin.SimpleListFilter):
    """Notices signed for the debtor: by a listed relation, or by anyone else."""

    title = _("signed for the debtor by")
    parameter_name = "signer"

    def lookups(self, request: HttpRequest, model_admin: Any) -> list[tuple[str, Any]]:
        return [
            ("relation", _("a listed relation")),
            ("third_party", _("an unlisted third party")),
        ]

    def queryset(self, request: HttpRequest, queryset: Any) -> Any:
        signed = queryset.filter(outcome=ReceiptOutcome.SIGNED_BY_RELATION)
        if self.value() == "relation":
            return signed.filter(relation__isnull=False)
        if self.value() == "third_party":
            return signed.filter(relation__isnull=True)
        return queryset


@admin.register(Receipt)
class ReceiptAdmin(EvidenceAdmin):
    list_display = ["notice_number", "outcome", "visit", "agent", "captured_at", "flag_list"]
    list_select_related = ["agent", "visit__stop__address", "visit__stop__case"]
    list_filter = ["outcome", SignerFilter]
    search_fields = ["notice_number", "signer_name", "visit__stop__case__number"]
    date_hierarchy = "captured_at"
    fields = [
        "id",
        "visit",
        "notice_number",
        "outcome",
        "signer_name",
        "signer_relation",
        "relation",
        "third_party_reason",
        "signature",
        "photo",
        "agent",
        "device_id",
        "captured_at",
        "received_at",
        "lat",
        "lon",
        "flags",
    ]
    readonly_fields = fields


class SegmentInline(ReadOnlyInline):
    model = AudioSegment
    fields = ["index", "file", "started_at", "duration_s", "format", "prev_sha256", "agent"]
    readonly_fields = fields
    show_change_link = False


@admin.register(Recording)
class RecordingAdmin(EvidenceAdmin):
    list_display = ["id", "visit", "started_by", "created_at"]
    list_select_related = ["started_by", "visit__stop__address", "visit__stop__case"]
    search_fields = ["id", "visit__stop__case__number"]
    fields = ["id", "visit", "started_by", "created_at"]
    readonly_fields = fields
    inlines = [SegmentInline]


def cited_in_scope(user: Any) -> Q:
    """Files that some record ``user`` may see cites: a photo, a receipt's signature or
    slip photo, an audio segment. The same bytes sent by two teams are one file, which each
    team's supervisor sees."""
    scope = evidence_scope(user, VISIT_TEAM)
    if not scope:
        return scope
    mine = OuterRef("pk")
    citing = [
        Photo.objects.filter(scope, file=mine),
        Receipt.objects.filter(scope, signature=mine),
        Receipt.objects.filter(scope, photo=mine),
        AudioSegment.objects.filter(evidence_scope(user, f"recording__{VISIT_TEAM}"), file=mine),
    ]
    condition = Q(pk__in=[])
    for rows in citing:
        condition |= Q(Exists(rows))
    return condition


@admin.register(EvidenceFile)
class EvidenceFileAdmin(ScopedReadsAdmin, LoggedReadsAdmin, ReadOnlyAdmin):
    list_display = ["sha256", "media_type", "size", "stored_at"]
    list_filter = ["media_type"]
    search_fields = ["sha256"]
    fields = ["sha256", "media_type", "size", "stored_at"]
    readonly_fields = fields
    show_full_result_count = False

    def get_queryset(self, request: HttpRequest) -> QuerySet[EvidenceFile]:
        return super().get_queryset(request).filter(cited_in_scope(request.user))


@admin.register(EvidenceAccess)
class EvidenceAccessAdmin(ReadOnlyAdmin):
    """Who read which evidence (DESIGN rule 12), for auditors."""

    list_display = ["at", "user", "action", "subject", "via"]
    list_select_related = ["user"]
    list_filter = ["action", "via"]
    search_fields = ["subject", "user__username"]
    date_hierarchy = "at"
    fields = ["at", "user", "action", "subject", "via"]
    readonly_fields = fields
    show_full_result_count = False
