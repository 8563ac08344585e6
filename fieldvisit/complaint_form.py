"""The public complaint form the company links from its letters (``/complaints/``): anyone
(the debtor, a relation, a neighbour) tells the company what its agents did, without an
account. It records the complaint (``actions.incidents.record_complaint``) and gives a
reference to quote; whether the case reference matched a case is never said, so the form
cannot be used to learn who owes what. Posts are rate-limited per address."""

from __future__ import annotations

from typing import Any

from django import forms
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.urls import path
from django.views.decorators.csrf import csrf_protect
from rest_framework.throttling import SimpleRateThrottle

from fieldvisit.actions import incidents
from fieldvisit.api.throttling import CurrentRates
from fieldvisit.choices import ComplainantKind, ComplaintCategory, ComplaintChannel
from fieldvisit.texts import _


class ComplaintThrottle(CurrentRates, SimpleRateThrottle):
    """Complaints sent per client address (``THROTTLE_COMPLAINT``)."""

    scope = "complaint"

    def get_cache_key(self, request: Any, view: Any) -> str | None:
        return self.cache_format % {"scope": self.scope, "ident": self.get_ident(request)}


class PublicComplaintForm(forms.Form):
    complainant_kind = forms.ChoiceField(label=_("You are"), choices=ComplainantKind.choices)
    complainant_name = forms.CharField(label=_("Your name"), max_length=200)
    complainant_contact = forms.CharField(
        label=_("Telephone or e-mail, for our answer"), max_length=200, required=False
    )
    case_number = forms.CharField(
        label=_("Reference on our letter (if you have it)"), max_length=64, required=False
    )
    category = forms.ChoiceField(label=_("What happened"), choices=ComplaintCategory.choices)
    occurred_on = forms.DateField(
        label=_("On what day"), required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    description = forms.CharField(
        label=_("Tell us what happened"), max_length=10_000, widget=forms.Textarea
    )


@csrf_protect
def complaint_page(request: HttpRequest) -> HttpResponse:
    if request.method == "POST":
        throttle = ComplaintThrottle()
        if not throttle.allow_request(request, None):
            return render(
                request,
                "complaints/form.html",
                {"form": PublicComplaintForm(request.POST), "error": _("Too many complaints "
                 "from this address; please try again later or call us.")},
                status=429,
            )  # fmt: skip
        form = PublicComplaintForm(request.POST)
        if form.is_valid():
            data = form.cleaned_data
            complaint = incidents.record_complaint(
                incidents.ComplaintData(
                    channel=ComplaintChannel.WEB_FORM,
                    complainant_kind=data["complainant_kind"],
                    complainant_name=data["complainant_name"],
                    complainant_contact=data["complainant_contact"],
                    case_number=data["case_number"],
                    category=data["category"],
                    description=data["description"],
                    occurred_on=data["occurred_on"],
                )
            )
            return render(
                request,
                "complaints/received.html",
                {"reference": complaint.reference, "respond_by": complaint.respond_by},
                status=201,
            )
        return render(request, "complaints/form.html", {"form": form}, status=422)
    if request.method != "GET":
        return HttpResponse(status=405, headers={"Allow": "GET, POST"})
    return render(request, "complaints/form.html", {"form": PublicComplaintForm()})


def urls() -> list[Any]:
    return [path("", complaint_page, name="complaint-form")]
