"""The legal API: case search, a case's evidence timeline, evidence bundles. Legal users
only; every read is recorded in the evidence access log."""

from __future__ import annotations

from typing import Any

from django.db.models import Q, QuerySet
from django.http import StreamingHttpResponse
from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, OpenApiResponse, extend_schema
from rest_framework import generics, serializers
from rest_framework.request import Request
from rest_framework.response import Response

from fieldvisit.access_log import record_read
from fieldvisit.actions.bundles import export
from fieldvisit.api import examples
from fieldvisit.api.errors import Problem
from fieldvisit.api.permissions import HasRole
from fieldvisit.api.schema import problems
from fieldvisit.api.serializers.checkins import VisitSerializer, visit_answer
from fieldvisit.api.serializers.ledger import BundleQuerySerializer
from fieldvisit.api.timeline import TimelineItemSerializer, case_timeline
from fieldvisit.choices import Role
from fieldvisit.models import Alert, Case, Visit, VisitReview
from fieldvisit.texts import _


class CaseSerializer(serializers.ModelSerializer):
    creditor = serializers.CharField(source="creditor.name")
    team = serializers.CharField(source="team.name", allow_null=True)

    class Meta:
        model = Case
        fields = [
            "id",
            "number",
            "creditor",
            "team",
            "debtor_name",
            "debtor_id_number",
            "amount_due",
            "currency",
            "overdue_since",
            "status",
        ]


class CaseEvidenceSerializer(serializers.Serializer):
    case = CaseSerializer()
    visits = VisitSerializer(many=True)
    timeline = TimelineItemSerializer(many=True)


class LegalView(generics.GenericAPIView):
    permission_classes = [HasRole]
    required_roles = (Role.LEGAL,)


@extend_schema(
    parameters=[
        OpenApiParameter(
            "q",
            str,
            description="Case number, debtor name or ID number",
            examples=examples.just("Zhang San", "A debtor's name"),
        )
    ],
    examples=examples.CASES_LIST,
    # 404 not_found: a page beyond the last.
    responses={
        200: CaseSerializer(many=True),
        **problems("validation_error", "not_found", "permission_denied"),
    },
    description="Legal's search of cases by number, debtor name or identity number (`q`), "
    "paginated; each case names its creditor and team. The search is logged.",
)
class CaseList(LegalView, generics.ListAPIView):
    serializer_class = CaseSerializer

    def get_queryset(self) -> QuerySet[Case]:
        cases = Case.objects.select_related("creditor", "team").order_by("number")
        q = self.request.query_params.get("q", "").strip()
        if "\x00" in q or len(q) > 200:
            raise Problem(
                "validation_error",
                _("Some fields are invalid."),
                errors={"q": [_("Search with up to 200 characters of text.")]},
            )
        if q:
            cases = cases.filter(
                Q(number__icontains=q) | Q(debtor_name__icontains=q) | Q(debtor_id_number=q.upper())
            )
        return cases

    def list(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        answer = super().list(request, *args, **kwargs)
        # The answer carries full ID numbers: whose cases a search showed is logged, one read
        # for each case on the page. Not the search text: it may be an ID number or a name,
        # and the access log keeps everything for ever.
        for case in answer.data["results"]:
            record_read(request.user, "case_search", f"case:{case['id']}")
        return answer


class CaseEvidence(LegalView):
    serializer_class = CaseEvidenceSerializer

    @extend_schema(
        operation_id="cases_evidence",
        examples=examples.CASES_EVIDENCE,
        responses={200: CaseEvidenceSerializer, **problems("not_found", "permission_denied")},
        description="The case's visits in time order, each with its check-ins, photos, "
        "recording, receipts, report and compliance verdict, and `timeline`: every check-in, "
        "photo, recording segment, receipt, report, review and alert of those visits in the "
        "order they happened. The read is logged.",
    )
    def get(self, request: Request, pk: Any) -> Response:
        case = get_object_or_404(Case.objects.select_related("creditor", "team"), pk=pk)
        record_read(request.user, "case_evidence", f"case:{case.pk}")
        of_case = list(Visit.of_case(case))
        visits = [visit_answer(visit) for visit in of_case]
        reviews = VisitReview.objects.filter(visit__in=of_case).select_related("reviewer")
        alerts = Alert.objects.filter(visit__in=of_case)
        return Response(
            {
                "case": CaseSerializer(case).data,
                "visits": visits,
                "timeline": case_timeline(visits, reviews, alerts),
            }
        )


def zip_response(name: str, chunks: Any) -> StreamingHttpResponse:
    response = StreamingHttpResponse(chunks, content_type="application/zip")
    response["Content-Disposition"] = f'attachment; filename="{name}"'
    response["Cache-Control"] = "no-store"
    return response


BUNDLE_SCHEMA = {
    "parameters": [BundleQuerySerializer],
    "responses": {
        (200, "application/zip"): OpenApiResponse(OpenApiTypes.BINARY, description="The bundle"),
        **problems("validation_error", "ledger_range", "not_found", "permission_denied"),
    },
    "description": "An evidence bundle (ZIP, streamed): original files, manifest, SHA256SUMS, "
    "signed checkpoint, ledger entries with inclusion proofs, report.html and verify.py. The "
    "same evidence gives the same bytes. The download is a ledger entry.",
}


def bundle_query(request: Request) -> dict[str, Any]:
    """``consistent_with`` and ``language`` of a bundle download, from its query string."""
    query = BundleQuerySerializer(data=request.query_params)
    query.is_valid(raise_exception=True)
    return {
        "consistent_with": query.validated_data.get("consistent_with"),
        "language": query.validated_data.get("lang"),
    }


class CaseBundle(LegalView):
    @extend_schema(operation_id="cases_bundle", **BUNDLE_SCHEMA)
    def get(self, request: Request, pk: Any) -> StreamingHttpResponse:
        case = get_object_or_404(Case, pk=pk)
        device = getattr(request.auth, "device_id", None)
        return zip_response(*export(case, request.user, device, **bundle_query(request)))


class VisitBundle(LegalView):
    @extend_schema(operation_id="visits_bundle", **BUNDLE_SCHEMA)
    def get(self, request: Request, pk: Any) -> StreamingHttpResponse:
        visit = get_object_or_404(Visit, pk=pk)
        device = getattr(request.auth, "device_id", None)
        return zip_response(*export(visit, request.user, device, **bundle_query(request)))
