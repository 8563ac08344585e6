"""On-call chains and their people's contacts: a contact is verified once its owner
acknowledged a test message sent to it (a typo in a number is found now, not during a panic).
Each step is a ledger entry."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from django.core import signing
from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from fieldvisit.actions.common import require_perm
from fieldvisit.channels import Message, Recipient
from fieldvisit.channels import registry as channels
from fieldvisit.choices import ContactKind
from fieldvisit.languages import speaking_to
from fieldvisit.ledger import store as ledger
from fieldvisit.models import ContactPoint, OnCallEntry, Team
from fieldvisit.rules import RuleViolation
from fieldvisit.texts import _, format_lazy
from fieldvisit.words import person_name

VERIFY_SALT = "fieldvisit.contact-verify"
# A test message is answered within a week, or sent again.
VERIFY_MAX_AGE_S = 7 * 24 * 3600
# The channel a test goes through, by kind of contact.
TEST_CHANNEL = {ContactKind.EMAIL: "email", ContactKind.MOBILE: "sms"}


def _token(contact: ContactPoint) -> str:
    # The value is signed too: a link made for an old number does not verify a new one.
    return signing.dumps([contact.pk, contact.value], salt=VERIFY_SALT)


def verify_url(contact: ContactPoint) -> str:
    return settings.PUBLIC_BASE_URL.rstrip("/") + reverse("contact-verify", args=[_token(contact)])


def send_test(contact_id: int, by: Any) -> str:
    """Send a test message with a confirmation link to a contact; the channel's answer in
    words. ``channel_unavailable`` when no configured channel reaches this kind of contact
    (a mobile number without an SMS gateway), ``permission_denied`` for those who do not
    manage on-call chains."""
    require_perm(by, "fieldvisit.change_oncallentry", _("manage on-call chains"))
    contact = ContactPoint.objects.select_related("user").get(pk=contact_id)
    channel = channels.configured().get(TEST_CHANNEL[contact.kind])
    if channel is None:
        raise RuleViolation(
            "channel_unavailable",
            format_lazy(
                _("No {channel} channel is configured to reach {value}."),
                channel=TEST_CHANNEL[contact.kind],
                value=contact.value,
            ),
        )
    link = verify_url(contact)
    recipient = Recipient(
        name=person_name(contact.user),
        email=contact.value if contact.kind == ContactKind.EMAIL else "",
        mobile=contact.value if contact.kind == ContactKind.MOBILE else "",
    )
    # Read by the contact's owner: in their language, else the deployment's.
    with speaking_to(contact.user):
        message = Message(
            subject=str(_("Field-visit alerts: confirm this contact")),
            text=str(
                format_lazy(
                    _(
                        "You are on a field team's on-call chain. Open this link to confirm "
                        "that alerts reach you here: {link}"
                    ),
                    link=link,
                )
            ),
            severity=10,
            reference=f"contact:{contact.pk}:test",
            ack_url=link,
        )
        outcome = channel.send(message, recipient)
    with transaction.atomic(durable=True):
        if outcome.ok:
            ContactPoint.objects.filter(pk=contact.pk).update(test_sent_at=timezone.now())
        ledger.append(
            "contact.test_sent",
            ledger.actor_for(by),
            f"user:{contact.user_id}",
            {
                "contact": contact.pk,
                "kind": contact.kind,
                "ok": outcome.ok,
                "detail": outcome.detail,
            },
        )
    if not outcome.ok:
        raise RuleViolation(
            "channel_unavailable",
            format_lazy(_("The test message failed: {detail}"), detail=outcome.detail),
        )
    return outcome.detail


def contact_of_link(token: str) -> ContactPoint:
    """The contact a confirmation link was made for (``invalid_link`` otherwise)."""
    try:
        contact_id, value = signing.loads(token, salt=VERIFY_SALT, max_age=VERIFY_MAX_AGE_S)
    except signing.BadSignature as exc:
        raise RuleViolation("invalid_link", _("This link is not valid or has expired.")) from exc
    contact = ContactPoint.objects.select_related("user").filter(pk=contact_id).first()
    if contact is None or contact.value != value:
        raise RuleViolation("invalid_link", _("This link is not valid or has expired."))
    return contact


def verify_contact(token: str) -> ContactPoint:
    """Its owner opened the test message's link and confirmed: the contact is verified."""
    contact = contact_of_link(token)
    with transaction.atomic(durable=True):
        contact = ContactPoint.objects.select_for_update().get(pk=contact.pk)
        if contact.verified_at is None:
            contact.verified_at = timezone.now()
            contact.save(update_fields=["verified_at"])
            ledger.append(
                "contact.verified",
                ledger.actor_for(contact.user),
                f"user:{contact.user_id}",
                {"contact": contact.pk, "kind": contact.kind, "value": contact.value},
            )
    return contact


def save_contact(contact: ContactPoint, by: Any) -> ContactPoint:
    """Add or change a contact, ledgered. A changed address or number is not verified any
    more: its owner confirms a new test message first."""
    with transaction.atomic():
        if contact.pk is not None:
            before = ContactPoint.objects.filter(pk=contact.pk).values_list("value", flat=True)
            if before.first() != contact.value:
                contact.verified_at = None
                contact.test_sent_at = None
        contact.save()
        ledger.append(
            "contact.saved",
            ledger.actor_for(by),
            f"user:{contact.user_id}",
            {
                "contact": contact.pk,
                "kind": contact.kind,
                "value": contact.value,
                "verified": contact.verified_at is not None,
            },
        )
    return contact


def record_chain(team: Team, by: Any) -> None:
    """Ledger the team's on-call chain as it now stands (after admin changed it)."""
    chain = [
        {"position": e.position, "user": e.user.get_username(), "role": e.role}
        for e in OnCallEntry.objects.filter(team=team).select_related("user").order_by("position")
    ]
    with transaction.atomic():
        ledger.append(
            "team.oncall_changed", ledger.actor_for(by), f"team:{team.pk}", {"chain": chain}
        )
