from django.urls import path, register_converter
from drf_spectacular.views import SpectacularAPIView

from fieldvisit.api.views import (
    auth,
    checkins,
    evidence,
    incidents,
    ledger,
    legal,
    reports,
    routes,
    uploads,
)


class IndexConverter:
    """Ledger indexes: digits only, and never more than a 64-bit integer holds."""

    regex = r"[0-9]{1,18}"

    def to_python(self, value: str) -> int:
        return int(value)

    def to_url(self, value: int) -> str:
        return str(value)


register_converter(IndexConverter, "index")

app_name = "api"
urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(permission_classes=[]), name="schema"),
    path("auth/token/", auth.TokenView.as_view(), name="auth-token"),
    path("auth/logout/", auth.LogoutView.as_view(), name="auth-logout"),
    path("me/", auth.MeView.as_view(), name="me"),
    path("routes/", routes.RouteList.as_view(), name="route-list"),
    path("routes/<uuid:pk>/", routes.RouteDetail.as_view(), name="route-detail"),
    path(
        "routes/<uuid:pk>/change-requests/",
        routes.ChangeRequestCreate.as_view(),
        name="route-change-requests",
    ),
    path(
        "change-requests/<uuid:pk>/",
        routes.ChangeRequestDetail.as_view(),
        name="change-request-detail",
    ),
    path("checkins/", checkins.CheckInCreate.as_view(), name="checkin-create"),
    path("alerts/panic/", checkins.PanicCreate.as_view(), name="alert-panic"),
    path("heartbeat/", checkins.HeartbeatCreate.as_view(), name="heartbeat"),
    path("visits/<uuid:pk>/", checkins.VisitDetail.as_view(), name="visit-detail"),
    path("visits/<uuid:pk>/photos/", evidence.PhotoCreate.as_view(), name="visit-photos"),
    path("visits/<uuid:pk>/receipts/", evidence.ReceiptCreate.as_view(), name="visit-receipts"),
    path("visits/<uuid:pk>/report/", reports.ReportCreate.as_view(), name="visit-report"),
    path(
        "visits/<uuid:pk>/report/cosign/",
        reports.ReportCosign.as_view(),
        name="visit-report-cosign",
    ),
    path("visits/<uuid:pk>/bundle/", legal.VisitBundle.as_view(), name="visit-bundle"),
    path("cases/", legal.CaseList.as_view(), name="case-list"),
    path("cases/<uuid:pk>/evidence/", legal.CaseEvidence.as_view(), name="case-evidence"),
    path("cases/<uuid:pk>/bundle/", legal.CaseBundle.as_view(), name="case-bundle"),
    path("incidents/", incidents.IncidentList.as_view(), name="incident-list"),
    path(
        "incidents/<uuid:pk>/account/", incidents.AccountCreate.as_view(), name="incident-account"
    ),
    path("uploads/", uploads.UploadCreate.as_view(), name="upload-create"),
    path("uploads/<uuid:pk>/", uploads.UploadDetail.as_view(), name="upload-detail"),
    path("visits/<uuid:pk>/recording/", checkins.RecordingView.as_view(), name="visit-recording"),
    path("ledger/checkpoint/", ledger.CheckpointView.as_view(), name="ledger-checkpoint"),
    path("ledger/checkpoint.txt", ledger.CheckpointNoteView.as_view(), name="ledger-note"),
    path("ledger/proof/", ledger.InclusionProofView.as_view(), name="ledger-proof"),
    path("ledger/consistency/", ledger.ConsistencyProofView.as_view(), name="ledger-consistency"),
    path("ledger/public-key/", ledger.PublicKeyView.as_view(), name="ledger-public-key"),
    path("ledger/keys/", ledger.PublicKeyListView.as_view(), name="ledger-keys"),
    path("ledger/verify.py", ledger.VerifierView.as_view(), name="ledger-verifier"),
    path("ledger/entries/<index:index>/", ledger.EntryView.as_view(), name="ledger-entry"),
]
