"""What a person chose for themselves: the language the product speaks to them in."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from fieldvisit.texts import _


class Preferences(models.Model):
    """One row per person who chose something; nobody needs one (the browser decides)."""

    user = models.OneToOneField(
        settings.AUTH_USER_MODEL,
        on_delete=models.CASCADE,
        primary_key=True,
        related_name="preferences",
        verbose_name=_("user"),
    )
    language = models.CharField(
        _("language"),
        max_length=10,
        choices=settings.LANGUAGES,
        blank=True,
        help_text=_(
            "The language of the admin, the API's messages and evidence bundles for this "
            "person; empty follows the browser."
        ),
    )

    class Meta:
        verbose_name = _("preferences")
        verbose_name_plural = _("preferences")

    def __str__(self) -> str:
        return str(self.user)
