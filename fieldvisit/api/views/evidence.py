"""Photos and notice receipts for a visit (multipart uploads, hashed as they stream in)."""

from __future__ import annotations

from itertools import chain
from typing import Any

from django.http import Http404
from django.utils.datastructures import MultiValueDict
from drf_spectacular.utils import extend_schema
from rest_framework.generics import GenericAPIView
from rest_framework.parsers import MultiPartParser
from rest_framework.request import Request
from rest_framework.response import Response

from fieldvisit import access
from fieldvisit.actions import evidence as actions
from fieldvisit.api import examples
from fieldvisit.api.idempotency import answer, create_once, fingerprint
from fieldvisit.api.schema import problems
from fieldvisit.api.serializers.evidence import (
    PhotoCreateSerializer,
    PhotoSerializer,
    ReceiptCreateSerializer,
    ReceiptSerializer,
)
from fieldvisit.evidence.receiving import HashingUploadHandler
from fieldvisit.models import Photo, Receipt, Visit
from fieldvisit.queries.evidence import visit_for_evidence

UPLOAD_PROBLEMS = (
    "validation_error",
    "malformed_request",
    "not_found",
    "id_conflict",
    "not_team_member",
    "hash_mismatch",
    "unsupported_media_type",
    "file_too_large",
    "invalid_image",
    "storage_unavailable",
)


class EvidenceUploadView(GenericAPIView):
    """Multipart only; the named file fields stream to disk through a hashing handler."""

    parser_classes = [MultiPartParser]
    file_fields: set[str] = set()

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        request._request.upload_handlers = [
            HashingUploadHandler(request._request, self.file_fields)
        ]

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        # Close the received files now (Django closes only the files it parsed itself): a
        # stored one was renamed away, which closing tolerates, and the garbage collector
        # would not.
        files = getattr(request, "_files", None)
        if isinstance(files, MultiValueDict):
            for received in chain.from_iterable(values for _, values in files.lists()):
                received.close()
        return super().finalize_response(request, response, *args, **kwargs)

    def visit(self, pk: Any) -> Visit:
        """The visit, if the agent may see it (``access.visits_visible_to``, judged on the
        visit's route read with it), with what the evidence's rules read of it."""
        visit = visit_for_evidence(pk)
        if visit is None or not access.route_visible_to(self.request.user, visit.stop.route):
            raise Http404
        return visit

    def validated(self) -> dict[str, Any]:
        serializer = self.get_serializer(data=self.request.data)
        serializer.is_valid(raise_exception=True)
        return serializer.validated_data


def _event(data: dict[str, Any], files: tuple[str, ...]) -> dict[str, Any]:
    """What a retry must repeat: every field, with files by their declared hash. A receipt's
    signer fields left out are left out here too: a retry across the upgrade that added them
    is still the same receipt."""
    unset = {"relation": None, "third_party_reason": ""}
    return {k: v for k, v in data.items() if k not in files and not (k in unset and v == unset[k])}


class PhotoCreate(EvidenceUploadView):
    serializer_class = PhotoCreateSerializer
    file_fields = {"file"}

    @extend_schema(
        operation_id="visits_photos_create",
        examples=examples.VISITS_PHOTOS_CREATE,
        request={"multipart/form-data": PhotoCreateSerializer},
        responses={201: PhotoSerializer, 200: PhotoSerializer, **problems(*UPLOAD_PROBLEMS)},
        description="Add a photo to the visit. The file is hashed as it arrives and must match "
        "`sha256`; its type comes from its content (JPEG, HEIC/HEIF, PNG). Flags: `no_gps`, "
        "`far_from_address`, `taken_outside_visit`, `exif_time_mismatch`, `lone_agent`, "
        "`late_submission` (received more than 5 minutes after both the visit's close and its "
        "own capture: held back on the phone; `late_by_s` says how long after the close it "
        "arrived). A photo received after the visit's review re-opens the review (the visit "
        "is `reported` again and the supervisors are alerted).",
    )
    def post(self, request: Request, pk: Any) -> Response:
        visit = self.visit(pk)
        data = self.validated()
        digest = fingerprint(request.user.pk, {"visit": visit.pk, **_event(data, ("file",))})
        photo, created = create_once(
            Photo,
            data["id"],
            digest,
            lambda: actions.add_photo(
                actions.PhotoData(
                    id=data["id"],
                    visit=visit,
                    kind=data["kind"],
                    captured_at=data["captured_at"],
                    lat=data.get("lat"),
                    lon=data.get("lon"),
                    partner_in_frame=data["partner_in_frame"],
                    file=data["file"],
                    sha256=data["sha256"],
                ),
                request.user,
                request.auth.device_id,
                digest,
            ),
        )
        if not created:  # a retry: the photo on record, read with what the answer shows
            photo = Photo.objects.select_related("file", "agent").get(pk=photo.pk)
        return answer(PhotoSerializer(photo).data, created)


class ReceiptCreate(EvidenceUploadView):
    serializer_class = ReceiptCreateSerializer
    file_fields = {"signature", "photo"}

    @extend_schema(
        operation_id="visits_receipts_create",
        examples=examples.VISITS_RECEIPTS_CREATE,
        request={"multipart/form-data": ReceiptCreateSerializer},
        responses={
            201: ReceiptSerializer,
            200: ReceiptSerializer,
            **problems(
                *UPLOAD_PROBLEMS,
                "notice_mismatch",
                "relation_not_listed",
                "third_party_reason_required",
            ),
        },
        description="Record the outcome of delivering the stop's demand notice. Signed "
        "outcomes need the signature (PNG) and the signer's name, `signed_by_relation` the "
        "relation, chosen from the case's relations (`relation`), or an unlisted third party "
        "with `third_party_reason` (flagged `unlisted_third_party`, the supervisor alerted), "
        "`left_in_mailbox` a photo. Recorded while the visit is not open, the "
        "receipt is kept and flagged `lone_agent`; received late after the visit closed, "
        "flagged `late_submission` with `late_by_s`, as photos are. Received after the "
        "visit's review, it re-opens the review.",
    )
    def post(self, request: Request, pk: Any) -> Response:
        visit = self.visit(pk)
        data = self.validated()
        files = ("signature", "photo")
        digest = fingerprint(request.user.pk, {"visit": visit.pk, **_event(data, files)})
        receipt, created = create_once(
            Receipt,
            data["id"],
            digest,
            lambda: actions.record_receipt(
                actions.ReceiptData(
                    id=data["id"],
                    visit=visit,
                    notice_number=data["notice_number"],
                    outcome=data["outcome"],
                    signer_name=data["signer_name"],
                    signer_relation=data["signer_relation"],
                    captured_at=data["captured_at"],
                    lat=data.get("lat"),
                    lon=data.get("lon"),
                    signature=data.get("signature"),
                    signature_sha256=data["signature_sha256"],
                    photo=data.get("photo"),
                    photo_sha256=data["photo_sha256"],
                    relation=data["relation"],
                    third_party_reason=data["third_party_reason"],
                ),
                request.user,
                request.auth.device_id,
                digest,
            ),
        )
        if not created:  # a retry: the receipt on record, read with what the answer shows
            receipt = Receipt.objects.select_related("signature", "photo", "agent").get(
                pk=receipt.pk
            )
        return answer(ReceiptSerializer(receipt).data, created)
