"""On-call chains (on the team's page), the contacts of the people on them (with a test
message that verifies each), and the two pages people reach from a message's link: the
one-tap acknowledgement of an alert and the confirmation of a contact."""

from __future__ import annotations

from typing import Any

from django import forms
from django.contrib import admin, messages
from django.contrib.auth.models import User
from django.contrib.auth.views import redirect_to_login
from django.core.exceptions import PermissionDenied
from django.db.models import QuerySet
from django.http import HttpRequest, HttpResponse
from django.template.response import TemplateResponse
from django.urls import path, reverse
from django.utils.timezone import localtime
from django.views.decorators.csrf import csrf_protect

from fieldvisit.access import OVERSEER_ROLES, contact_owners
from fieldvisit.actions import alerts, oncall
from fieldvisit.choices import AlertStatus
from fieldvisit.cn_ids import NumberRefused, normal_mobile
from fieldvisit.models import AlertNotice, ContactPoint, OnCallEntry
from fieldvisit.rules import RuleViolation
from fieldvisit.texts import _, format_lazy


def oncall_people() -> QuerySet[User]:
    """Who may be put on a chain: active staff who handle alerts (supervisors, team leads,
    risk managers)."""
    return User.objects.filter(
        is_active=True, is_staff=True, groups__name__in=OVERSEER_ROLES
    ).distinct()


class OnCallInline(admin.TabularInline):
    """The team's on-call chain, in order, with whether each person can be reached."""

    model = OnCallEntry
    extra = 0
    fields = ["position", "user", "role", "reachable"]
    readonly_fields = ["reachable"]
    ordering = ["position"]

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "user":
            kwargs["queryset"] = oncall_people()
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    @admin.display(description=_("Verified contacts"))
    def reachable(self, obj: OnCallEntry) -> str:
        if obj.pk is None:
            return "-"
        verified = [c.value for c in obj.user.contact_points.all() if c.verified_at]
        return ", ".join(verified) or _("none: send a test message from Contact points")


class ContactForm(forms.ModelForm):
    class Meta:
        model = ContactPoint
        fields = ["user", "kind", "value"]

    def clean(self) -> dict[str, Any]:
        data = super().clean()
        value = (data.get("value") or "").strip()
        if data.get("kind") == "mobile":
            try:
                value = normal_mobile(value)
            except NumberRefused as exc:
                self.add_error("value", str(exc))
        elif data.get("kind") == "email":
            try:
                forms.EmailField().clean(value)
            except forms.ValidationError as exc:
                self.add_error("value", exc)
        data["value"] = value
        return data


@admin.register(ContactPoint)
class ContactPointAdmin(admin.ModelAdmin):
    """Where the people on call are reached. A new or changed contact is unverified until
    its owner opens the link of the test message sent to it."""

    form = ContactForm
    list_display = ["user", "kind", "value", "verified_at", "test_sent_at"]
    list_filter = ["kind", ("verified_at", admin.EmptyFieldListFilter)]
    list_select_related = ["user"]
    search_fields = ["value", "user__username", "user__first_name", "user__last_name"]
    actions = ["send_test"]

    def get_queryset(self, request: HttpRequest) -> QuerySet[ContactPoint]:
        return super().get_queryset(request).filter(user__in=contact_owners(request.user))

    def formfield_for_foreignkey(self, db_field: Any, request: HttpRequest, **kwargs: Any) -> Any:
        if db_field.name == "user":
            kwargs["queryset"] = contact_owners(request.user).filter(is_active=True)
        return super().formfield_for_foreignkey(db_field, request, **kwargs)

    def save_model(self, request: HttpRequest, obj: ContactPoint, form: Any, change: bool) -> None:
        oncall.save_contact(obj, request.user)

    @admin.action(description=_("Send a test message (verifies the contact once confirmed)"))
    def send_test(self, request: HttpRequest, queryset: QuerySet[ContactPoint]) -> None:
        for contact in queryset:
            try:
                detail = oncall.send_test(contact.pk, request.user)
            except RuleViolation as exc:
                self.message_user(
                    request, format_lazy("{}: {}", contact.value, exc.detail), messages.ERROR
                )
            else:
                self.message_user(
                    request,
                    format_lazy(
                        _("{contact}: test message sent ({detail})."),
                        contact=contact.value,
                        detail=detail,
                    ),
                    messages.SUCCESS,
                )


class NoticeInline(admin.TabularInline):
    """Who was told of an alert, through what, and what became of every attempt."""

    model = AlertNotice
    extra = 0
    can_delete = False
    fields = ["step", "recipient", "channel", "target", "state", "attempts_made"]
    readonly_fields = fields
    ordering = ["step", "created_at"]
    verbose_name_plural = _("Notifications (each attempt)")

    def has_add_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: Any = None) -> bool:
        return False

    def get_queryset(self, request: HttpRequest) -> QuerySet[AlertNotice]:
        return super().get_queryset(request).select_related("recipient").prefetch_related("tries")

    @admin.display(description=_("Attempts"))
    def attempts_made(self, obj: AlertNotice) -> str:
        tries = [
            format_lazy(
                "#{number} {at} {outcome}: {detail}",
                number=t.number,
                at=f"{localtime(t.at):%H:%M:%S %Z}",
                outcome=_("ok") if t.ok else _("failed"),
                detail=t.detail,
            )
            for t in obj.tries.all()
        ]
        return "; ".join(str(t) for t in tries) or _("not tried yet")


@csrf_protect
def acknowledge_page(request: HttpRequest, token: str) -> HttpResponse:
    """The link in an alert's message: what the alert is, and one button to acknowledge it
    (a GET changes nothing: mail scanners open links too). A link posted to a group asks
    whoever opens it to sign in first."""
    try:
        notice = alerts.notice_of_link(token)
    except RuleViolation:  # forged, expired or unknown: the same answer for each
        return TemplateResponse(request, "alerts/link_invalid.html", {}, status=404)
    if alerts.link_needs_sign_in(notice) and not request.user.is_authenticated:
        return redirect_to_login(request.get_full_path(), login_url=reverse("admin:login"))
    context: dict[str, Any] = {"token": token}
    if request.method == "POST":
        try:
            notice.alert = alerts.acknowledge_from_link(
                token, request.POST.get("note", ""), by=request.user
            )
        except RuleViolation as exc:
            context["error"] = exc.detail
        except PermissionDenied:
            context["error"] = _("You are not on this team's on-call chain.")
    context.update(notice=notice, alert=notice.alert, open=notice.alert.status == AlertStatus.OPEN)
    return TemplateResponse(request, "alerts/acknowledge.html", context)


@csrf_protect
def verify_page(request: HttpRequest, token: str) -> HttpResponse:
    """The link in a test message: one button confirms the contact reaches its owner."""
    try:
        contact = oncall.contact_of_link(token)
    except RuleViolation:
        return TemplateResponse(request, "alerts/link_invalid.html", {}, status=404)
    if request.method == "POST":
        contact = oncall.verify_contact(token)
    return TemplateResponse(request, "alerts/verify.html", {"contact": contact})


def urls() -> list[Any]:
    return [
        path("ack/<str:token>/", acknowledge_page, name="alert-ack"),
        path("verify/<str:token>/", verify_page, name="contact-verify"),
    ]
