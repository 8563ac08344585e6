"""A changelist filter on a value the database cannot hold is refused as Django refuses any
wrong lookup (the list again, without filters, ``?e=1``), never a 500.

Every local field may be filtered on from the query string; ``captured_at__gte=0001-01-01``
is midnight in Shanghai, the year before year 1 in UTC, ``__year=99999`` no year at all, and
PostgreSQL's text holds no NUL character (``status__exact=%00``).
"""

from __future__ import annotations

from typing import Any

import pytest
from django.contrib import admin
from django.contrib.admin.views.main import ChangeList
from django.contrib.auth.models import User
from django.db import models
from django.db.models import Model
from django.test import Client
from django.urls import reverse

from fieldvisit.admin_site import FieldVisitAdminSite, Lenient
from fieldvisit.models import Creditor

pytestmark = pytest.mark.django_db

LOOKUPS = ["{}__gte=0001-01-01", "{}__lt=0001-01-01", "{}__year=99999", "{}__year=1"]


def dated_fields(model: type[Model]) -> list[str]:
    return [f.name for f in model._meta.concrete_fields if isinstance(f, models.DateField)]


def changelist_url(model: type[Model]) -> str:
    return reverse(f"admin:{model._meta.app_label}_{model._meta.model_name}_changelist")


@pytest.fixture
def superuser_client(client: Client) -> Client:
    client.force_login(User.objects.create_superuser("root", password="x"))
    return client


def answered_or_wrong_lookup(
    client: Client, url: str, query: str, also: tuple[int, ...] = ()
) -> None:
    """The list answers, or sends back to itself without filters (Django's wrong lookup)."""
    response = client.get(f"{url}?{query}")
    assert response.status_code in (200, 302, *also), query
    if response.status_code == 302:
        assert response["Location"] == f"{url}?e=1", query


@pytest.mark.parametrize(
    "model",
    [m for m in admin.site._registry if dated_fields(m)],
    ids=lambda m: m.__name__,
)
def test_a_filter_on_an_impossible_time_is_a_wrong_lookup(
    superuser_client: Client, model: type[Model]
) -> None:
    url = changelist_url(model)
    for name in dated_fields(model):
        for lookup in LOOKUPS:
            query = lookup.format(name)

            answered_or_wrong_lookup(superuser_client, url, query)


@pytest.mark.parametrize(
    "model",
    [m for m, a in admin.site._registry.items() if a.date_hierarchy],
    ids=lambda m: m.__name__,
)
def test_the_date_hierarchy_of_the_last_day_of_year_9999_is_a_wrong_lookup(
    superuser_client: Client, model: type[Model]
) -> None:
    field = admin.site._registry[model].date_hierarchy
    url = changelist_url(model)
    days: list[dict[str, Any]] = [
        {f"{field}__year": 9999},
        {f"{field}__year": 9999, f"{field}__month": 12},
        {f"{field}__year": 9999, f"{field}__month": 12, f"{field}__day": 31},
    ]
    for day in days:
        response = superuser_client.get(url, day)

        assert response.status_code in (200, 302), day


def text_fields(model: type[Model]) -> list[str]:
    return [
        f.name
        for f in model._meta.concrete_fields
        if isinstance(f, models.CharField | models.TextField) and not f.choices
    ][:1] + [f.name for f in model._meta.concrete_fields if getattr(f, "choices", None)][:1]


@pytest.mark.parametrize(
    "model",
    [m for m in admin.site._registry if text_fields(m)],
    ids=lambda m: m.__name__,
)
def test_a_filter_on_a_nul_character_is_a_wrong_lookup(
    superuser_client: Client, model: type[Model]
) -> None:
    url = changelist_url(model)
    for name in text_fields(model):
        query = f"{name}__exact=%00"

        # 400: a lookup the admin does not allow at all (a user's password).
        answered_or_wrong_lookup(superuser_client, url, query, also=(400,))


def test_an_admin_keeps_the_changelist_it_asks_for_made_lenient() -> None:
    class Totals(ChangeList):
        pass

    class WithTotals(admin.ModelAdmin):
        def get_changelist(self, request: Any, **kwargs: Any) -> type[ChangeList]:
            return Totals

    site = FieldVisitAdminSite(name="probe_changelist")
    site.register(Creditor, WithTotals)
    changelist = site._registry[Creditor].get_changelist(None)
    assert issubclass(changelist, Totals) and issubclass(changelist, Lenient)
    assert changelist is site._registry[Creditor].get_changelist(None)  # made once


def test_an_admin_class_taken_from_the_registry_registers_again() -> None:
    site = FieldVisitAdminSite(name="probe_reregister")
    site.register(Creditor)
    registered = type(site._registry[Creditor])
    site.unregister(Creditor)
    site.register(Creditor, registered)
    assert type(site._registry[Creditor]) is registered
