"""The visit report (上门催收情况报告) and the partner's co-signature."""

from __future__ import annotations

from typing import Any

from django.shortcuts import get_object_or_404
from drf_spectacular.utils import extend_schema
from rest_framework.generics import GenericAPIView
from rest_framework.request import Request
from rest_framework.response import Response

from fieldvisit import access
from fieldvisit.actions import reports as actions
from fieldvisit.api import examples
from fieldvisit.api.idempotency import answer, create_once, fingerprint
from fieldvisit.api.schema import problems
from fieldvisit.api.serializers.reports import (
    CosignResultSerializer,
    CosignSerializer,
    ReportCreateSerializer,
    ReportSerializer,
)
from fieldvisit.models import Visit, VisitReport
from fieldvisit.models.reports import ATTESTATIONS


class VisitReportView(GenericAPIView):
    def visit(self, pk: Any) -> Visit:
        return get_object_or_404(
            access.visits_visible_to(self.request.user).select_related("stop__route"), pk=pk
        )


class ReportCreate(VisitReportView):
    serializer_class = ReportCreateSerializer

    @extend_schema(
        operation_id="visits_report_create",
        examples=examples.VISITS_REPORT_CREATE,
        request=ReportCreateSerializer,
        responses={
            201: ReportSerializer,
            200: ReportSerializer,
            **problems(
                "validation_error",
                "malformed_request",
                "not_found",
                "id_conflict",
                "not_team_member",
                "visit_not_started",
                "not_at_visit",
                "report_exists",
                "not_current_report",
                "reduction_not_authorised",
                "payment_not_voluntary",
            ),
        },
        description="File the visit report, by an agent of the team who arrived at the visit, "
        "once the visit has begun. The six original attestations are required booleans; the "
        "items added from the seeds are optional for older phones and stored as not attested "
        "(null) when left out. A `false` is recorded as given, fails the visit's "
        "`report_cosigned` check and opens a conduct incident (the case goes on hold, the risk "
        "manager and legal are alerted, each agent is asked for a written account); a null "
        "fails the check as not attested. The report is "
        "`awaiting_cosign` until the other agent co-signs it. Reports are never edited: a "
        "second report is a correction and names the visit's current report in `corrects` "
        "(`report_exists` without it, `not_current_report` when it names another); the "
        "correction needs its own co-signature. Sending the same `id` again with the same "
        "content returns the report as it is now (200).",
    )
    def post(self, request: Request, pk: Any) -> Response:
        visit = self.visit(pk)
        serializer = ReportCreateSerializer(
            data=request.data, context={"visit_day": visit.stop.route.date}
        )
        serializer.is_valid(raise_exception=True)
        data = serializer.validated_data
        digest = fingerprint(request.user.pk, {"visit": visit.pk, **data})
        promise = data["promise_to_pay"]
        report, created = create_once(
            VisitReport,
            data["id"],
            digest,
            lambda: actions.file_report(
                actions.ReportData(
                    id=data["id"],
                    visit=visit,
                    outcome=data["outcome"],
                    promise_amount=promise["amount"] if promise else None,
                    promise_date=promise["date"] if promise else None,
                    promise_terms=(promise["terms"] or "") if promise else "",
                    promise_method=(promise["method"] or "") if promise else "",
                    promise_payer=promise["payer"].strip() if promise else "",
                    promise_payer_voluntary=promise["payer_voluntary"] if promise else None,
                    promise_authorisation=promise["authorisation"].strip() if promise else "",
                    notes=data["notes"],
                    attestations={name: data["attestations"].get(name) for name in ATTESTATIONS},
                    corrects=data["corrects"],
                ),
                request.user,
                request.auth.device_id,
                digest,
            ),
        )
        report = VisitReport.objects.select_related(
            "author", "cosignature__agent", "corrected_by"
        ).get(pk=report.pk)
        return answer(ReportSerializer(report).data, created)


class ReportCosign(VisitReportView):
    serializer_class = CosignSerializer

    @extend_schema(
        operation_id="visits_report_cosign",
        examples=examples.VISITS_REPORT_COSIGN,
        request=CosignSerializer,
        responses={
            200: CosignResultSerializer,
            **problems(
                "validation_error",
                "malformed_request",
                "not_found",
                "not_team_member",
                "report_missing",
                "not_current_report",
                "cosign_by_author",
                "already_cosigned",
                "not_at_visit",
                "visit_not_closed",
            ),
        },
        description="The other agent co-signs the visit's current report: an agent of the team "
        "who arrived at the visit and is not the report's author (`cosign_by_author`), once "
        "the visit is closed (both agents left: the report attests the closing statement). "
        "The co-signature records the SHA-256 of the report's canonical content and moves "
        "the visit to `reported`. Co-signing again answers 200 with the same signature.",
    )
    def post(self, request: Request, pk: Any) -> Response:
        visit = self.visit(pk)
        serializer = CosignSerializer(data=request.data)
        serializer.is_valid(raise_exception=True)
        done = actions.cosign_report(
            visit, request.user, request.auth.device_id, serializer.validated_data["report"]
        )
        result = {"status": "cosigned", "report": done.report, "cosignature": done.cosignature}
        return Response(CosignResultSerializer(result).data)
