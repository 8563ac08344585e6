"""tus 1.0.0 at ``/api/v1/uploads/``: the HTTP side. Thin: headers in, actions, headers out.

Authenticated like the rest of the API (``OPTIONS`` excepted, as the protocol wants), and
an upload is only ever visible to the user who created it. Errors are problem details with
the protocol's status codes (409 offset, 412 version, 413 size, 415 content type, 423 lock,
460 checksum, 404/410 unknown or ended).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterator
from typing import Any

from django.conf import settings
from django.http import HttpRequest, HttpResponse
from django.urls import reverse
from drf_spectacular.utils import (
    OpenApiExample,
    OpenApiParameter,
    extend_schema,
    extend_schema_view,
)
from rest_framework.permissions import AllowAny, IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from fieldvisit.actions import recordings
from fieldvisit.actions import uploads as actions
from fieldvisit.api import examples
from fieldvisit.api.schema import problems, response_header
from fieldvisit.api.serializers.uploads import SegmentMetadataSerializer
from fieldvisit.models import Upload
from fieldvisit.rules import RuleViolation
from fieldvisit.texts import _, format_lazy
from fieldvisit.tus import CHECKSUMS, EXTENSIONS, OFFSET_OCTET_STREAM, VERSION
from fieldvisit.tus.protocol import (
    format_metadata,
    http_date,
    parse_checksum,
    parse_int,
    parse_metadata,
)

READ_SIZE = 1024 * 1024
OVERRIDABLE = {"PATCH", "DELETE", "HEAD"}
REASONS = {460: "Checksum Mismatch", 423: "Locked"}
TUS_PROBLEMS = (
    "tus_version_unsupported",
    "malformed_request",
    "validation_error",
    "not_found",
    "not_team_member",
    "file_too_large",
    "chain_broken",
)
# Every tus request but OPTIONS names the protocol version (412 otherwise).
TUS_RESUMABLE = OpenApiParameter(
    "Tus-Resumable",
    str,
    OpenApiParameter.HEADER,
    required=True,
    enum=[VERSION],
    description="The tus protocol version.",
    examples=examples.just(VERSION),
)
# What every answer says, problems included, and what a 412 adds.
TUS_ANSWER_HEADERS = [
    response_header(
        "Tus-Resumable", "The protocol version, on every answer.", VERSION, True, required=True
    ),
    response_header("Tus-Version", "The versions this server speaks.", VERSION, [412]),
]


def upload_state_headers(*statuses: int) -> list[OpenApiParameter]:
    """``Upload-Offset`` and ``Upload-Expires``: where the upload is and until when."""
    return [
        response_header(
            "Upload-Offset",
            "The bytes received so far: where the next PATCH starts.",
            5242880,
            list(statuses),
            type=int,
            required=True,
        ),
        response_header(
            "Upload-Expires",
            "When the unfinished upload is deleted (RFC 9110 date).",
            examples.UPLOAD_EXPIRES,
            list(statuses),
            required=True,
        ),
    ]


OVERRIDE_NOTE = (
    "\n\nA client that cannot send PATCH, DELETE or HEAD may POST with "
    "`X-HTTP-Method-Override` naming the method."
)
FINAL_PATCH_PROBLEMS = ("hash_mismatch", "invalid_audio", "chain_broken", "storage_unavailable")


def body_blocks(request: HttpRequest) -> Iterator[bytes]:
    """The raw request body, a block at a time, never whole in memory."""
    while True:
        block = request.read(READ_SIZE)
        if not block:
            return
        yield block


def content_length(request: HttpRequest) -> int | None:
    return parse_int(request.META.get("CONTENT_LENGTH") or None, "Content-Length")


def require_offset_stream(request: HttpRequest) -> None:
    media_type = (request.META.get("CONTENT_TYPE") or "").split(";")[0].strip().lower()
    if media_type != OFFSET_OCTET_STREAM:
        raise RuleViolation(
            "unsupported_media_type",
            format_lazy(_("A tus PATCH body is {media_type}."), media_type=OFFSET_OCTET_STREAM),
        )


def require_read_back(metadata: dict[str, str], segment: recordings.SegmentMeta) -> None:
    """Completion reads the segment again from the stored ``Upload-Metadata``: refuse now
    values it would read differently from what was validated (``segment 1.0``, a hash
    with spaces), rather than fail the final PATCH after the whole upload."""
    try:
        read_back: recordings.SegmentMeta | None = recordings.SegmentMeta.parse(metadata)
    except ValueError:
        read_back = None
    if read_back == segment:
        return
    errors = {
        {"index": "segment"}.get(f.name, f.name): [_("Give the value in its plain form.")]
        for f in dataclasses.fields(segment)
        if read_back is None or getattr(read_back, f.name) != getattr(segment, f.name)
    }
    raise RuleViolation("validation_error", _("Upload-Metadata has values in an odd form."), errors)


def upload_headers(upload: Upload) -> dict[str, str]:
    return {
        "Upload-Offset": str(upload.offset),
        "Upload-Expires": http_date(upload.expires_at),
    }


class TusView(APIView):
    """Protocol headers on every answer; ``X-HTTP-Method-Override`` for limited clients."""

    parser_classes: list[Any] = []

    def get_permissions(self) -> list[Any]:
        if self.request.method == "OPTIONS":
            return [AllowAny()]
        return [IsAuthenticated()]

    def dispatch(self, request: HttpRequest, *args: Any, **kwargs: Any) -> Any:
        override = request.headers.get("X-HTTP-Method-Override", "").upper()
        if request.method == "POST" and override in OVERRIDABLE:
            request.method = override
        return super().dispatch(request, *args, **kwargs)

    def initial(self, request: Request, *args: Any, **kwargs: Any) -> None:
        super().initial(request, *args, **kwargs)
        if request.method != "OPTIONS" and request.headers.get("Tus-Resumable") != VERSION:
            raise RuleViolation(
                "tus_version_unsupported",
                format_lazy(_("This server speaks tus {version} only."), version=VERSION),
            )

    def finalize_response(self, request: Request, response: Any, *args: Any, **kwargs: Any) -> Any:
        response = super().finalize_response(request, response, *args, **kwargs)
        response["Tus-Resumable"] = VERSION
        response["Cache-Control"] = "no-store"
        if response.status_code == 412:
            response["Tus-Version"] = VERSION
        if response.status_code in REASONS:
            response.reason_phrase = REASONS[response.status_code]
        return response

    def options(self, request: Request, *args: Any, **kwargs: Any) -> Response:
        return Response(
            status=204,
            headers={
                "Tus-Version": VERSION,
                "Tus-Extension": ",".join(EXTENSIONS),
                "Tus-Max-Size": str(settings.TUS_MAX_SIZE),
                "Tus-Checksum-Algorithm": ",".join(CHECKSUMS),
            },
        )


def _patch_body(request: Request, upload: Upload, offset: int) -> Upload:
    return actions.receive(
        upload,
        offset,
        body_blocks(request._request),
        content_length(request._request),
        parse_checksum(request.headers.get("Upload-Checksum")),
    )


@extend_schema_view(
    options=extend_schema(
        operation_id="uploads_options",
        request=None,
        parameters=[
            *TUS_ANSWER_HEADERS[:1],
            response_header(
                "Tus-Version", "The versions this server speaks.", VERSION, [204], required=True
            ),
            response_header(
                "Tus-Extension",
                "The extensions this server supports.",
                ",".join(EXTENSIONS),
                [204],
                required=True,
            ),
            response_header(
                "Tus-Max-Size",
                "The largest upload, in bytes (`TUS_MAX_SIZE`).",
                2_147_483_648,
                [204],
                type=int,
                required=True,
            ),
            response_header(
                "Tus-Checksum-Algorithm",
                "The algorithms `Upload-Checksum` may name.",
                ",".join(CHECKSUMS),
                [204],
                required=True,
            ),
        ],
        responses={204: None},
        auth=[],
        description="tus discovery: the server's protocol version, extensions, size limit and "
        "checksum algorithms, in headers. Needs no token and no `Tus-Resumable`.",
    )
)
class UploadCreate(TusView):
    documented_methods = ("OPTIONS",)

    @extend_schema(
        operation_id="uploads_create",
        request={OFFSET_OCTET_STREAM: bytes},
        parameters=[
            TUS_RESUMABLE,
            OpenApiParameter(
                "Upload-Length",
                int,
                OpenApiParameter.HEADER,
                required=True,
                description="The segment's size in bytes (deferred length is not supported).",
                examples=examples.just(9624118),
            ),
            OpenApiParameter(
                "Upload-Metadata",
                str,
                OpenApiParameter.HEADER,
                required=True,
                description="visit, recording, segment, started_at, sha256, prev_sha256, "
                "filename, content_type (base64 values, tus style)",
                examples=[OpenApiExample("The first segment", value=examples.UPLOAD_METADATA)],
            ),
            *TUS_ANSWER_HEADERS,
            response_header(
                "Location", "The upload's URL.", examples.UPLOAD_URL, [201], required=True
            ),
            *upload_state_headers(201),
        ],
        responses={201: None, **problems(*TUS_PROBLEMS, *FINAL_PATCH_PROBLEMS)},
        examples=[
            OpenApiExample(
                "creation-with-upload: the first bytes in the same request",
                value="(up to Upload-Length bytes of the segment)",
                media_type=OFFSET_OCTET_STREAM,
                request_only=True,
            )
        ],
        description="tus creation (and creation-with-upload): start uploading one audio "
        "segment of a visit's recording. The answer's `Location` is the upload's URL, "
        "`Upload-Offset` what was received (0 without a body), `Upload-Expires` when an "
        "unfinished upload is deleted.\n\n"
        "The body is optional (creation-with-upload): the segment's first bytes, or all of "
        "them, as `application/offset+octet-stream`; the request that brings the last byte "
        "gets the segment's verdict, as the last PATCH does.\n\n"
        "Accepted audio, judged by its content (not `filename` or `content_type`): AAC/M4A, "
        "3GP, ADTS AAC, MP3, AMR, AMR-WB, Ogg Opus and Vorbis, WAV, FLAC, and what browsers' "
        "MediaRecorder writes: WebM/Opus (`audio/webm;codecs=opus`) and MP4 with AAC or Opus "
        "(`audio/mp4`, fragmented or not). The duration is read from the audio itself (WebM "
        "blocks, MP4 sample tables), never from a header. Each segment must be a complete, "
        "playable file with its own header: a browser stops its MediaRecorder and starts a "
        "new one for every segment (the chunks of one `start(timeslice)` recording are not "
        "files on their own), and `started_at` is that recorder's `start` event.",
    )
    def post(self, request: Request) -> Response:
        length = parse_int(request.headers.get("Upload-Length"), "Upload-Length")
        if length is None:
            raise RuleViolation(
                "malformed_request",
                _("Upload-Length is required (deferred length is not supported)."),
            )
        metadata = parse_metadata(request.headers.get("Upload-Metadata"))
        serializer = SegmentMetadataSerializer(data=metadata)
        serializer.is_valid(raise_exception=True)
        meta = serializer.validated_data
        segment = recordings.SegmentMeta(
            recording=meta["recording"],
            index=meta["segment"],
            started_at=meta["started_at"],
            sha256=meta["sha256"].lower(),
            prev_sha256=meta["prev_sha256"].lower(),
        )
        require_read_back(metadata, segment)
        visit = recordings.require_uploader(meta["visit"], request.user)
        upload = actions.create_upload(
            visit=visit,
            owner=request.user,
            device_id=request.auth.device_id,
            length=length,
            metadata=metadata,
            segment=segment,
        )
        location = request.build_absolute_uri(reverse("api:upload-detail", args=[upload.pk]))
        if (content_length(request._request) or 0) > 0:
            require_offset_stream(request._request)
            upload = _patch_body(request, upload, 0)
        return Response(status=201, headers={"Location": location, **upload_headers(upload)})


class UploadDetail(TusView):
    documented_methods = ("HEAD",)

    def upload(self, pk: Any) -> Upload:
        return actions.find(pk, self.request.user)

    @extend_schema(
        operation_id="uploads_head",
        parameters=[
            TUS_RESUMABLE,
            *TUS_ANSWER_HEADERS,
            *upload_state_headers(200),
            response_header(
                "Upload-Length", "The upload's size in bytes.", 9624118, [200], type=int
            ),
            response_header(
                "Upload-Metadata",
                "The metadata given at creation.",
                examples.UPLOAD_METADATA,
                [200],
            ),
            response_header("Cache-Control", "Never cached.", "no-store", [200], required=True),
        ],
        responses={
            200: None,
            **problems("tus_version_unsupported", "not_found", "upload_expired", "upload_gone"),
        },
        description="tus: where an upload stands, in headers and without a body: its offset "
        "(where to resume), length, metadata and expiry. An upload is only ever visible to "
        "the user who created it (404 to others); a finished or terminated one is 410 "
        "`upload_gone`, an expired one 410 `upload_expired`." + OVERRIDE_NOTE,
    )
    def head(self, request: Request, pk: Any) -> HttpResponse:
        upload = self.upload(pk)
        return Response(
            status=200,
            headers={
                **upload_headers(upload),
                "Upload-Length": str(upload.length),
                "Upload-Metadata": format_metadata(upload.metadata),
            },
        )

    @extend_schema(
        operation_id="uploads_patch",
        request={OFFSET_OCTET_STREAM: bytes},
        parameters=[
            TUS_RESUMABLE,
            OpenApiParameter(
                "Upload-Offset",
                int,
                OpenApiParameter.HEADER,
                required=True,
                description="Where this chunk starts: the upload's offset (409 otherwise).",
                examples=examples.just(5242880),
            ),
            OpenApiParameter(
                "Upload-Checksum",
                str,
                OpenApiParameter.HEADER,
                description="`sha1` or `sha256` and the chunk's base64 digest",
                examples=examples.just("sha256 47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU="),
            ),
            *TUS_ANSWER_HEADERS,
            *upload_state_headers(204),
        ],
        examples=[
            OpenApiExample(
                "The next chunk",
                value="(the segment's bytes from Upload-Offset on)",
                media_type=OFFSET_OCTET_STREAM,
                request_only=True,
            )
        ],
        responses={
            204: None,
            **problems(
                "tus_version_unsupported",
                "malformed_request",
                "upload_offset_mismatch",
                "unsupported_media_type",
                "upload_locked",
                "checksum_mismatch",
                "checksum_unsupported",
                "file_too_large",
                "upload_complete",
                "not_found",
                "not_team_member",
                "upload_expired",
                "upload_gone",
                *FINAL_PATCH_PROBLEMS,
            ),
        },
        description="tus: append bytes at `Upload-Offset`. The request that brings the last "
        "byte gets the segment's verdict: 204, or `hash_mismatch`, `invalid_audio` or "
        "`chain_broken` (nothing kept). Every PATCH, and the completion, checks the uploader "
        "as creation does: an agent moved off the visit's team or deactivated meanwhile gets "
        "creation's answer (404 `not_found`, 403 `not_team_member`), a token revoked during "
        "the last PATCH `token_revoked`; the bytes stay with the upload until it expires."
        + OVERRIDE_NOTE,
    )
    def patch(self, request: Request, pk: Any) -> Response:
        require_offset_stream(request._request)
        offset = parse_int(request.headers.get("Upload-Offset"), "Upload-Offset")
        if offset is None:
            raise RuleViolation("malformed_request", _("Upload-Offset is required."))
        upload = _patch_body(request, self.upload(pk), offset)
        return Response(status=204, headers=upload_headers(upload))

    @extend_schema(
        operation_id="uploads_terminate",
        parameters=[TUS_RESUMABLE, *TUS_ANSWER_HEADERS],
        responses={
            204: None,
            **problems(
                "tus_version_unsupported",
                "upload_complete",
                "upload_locked",
                "not_found",
                "upload_expired",
                "upload_gone",
            ),
        },
        description="tus termination: abandon an unfinished upload; its bytes are deleted. "
        "Completed ones are evidence (403 `upload_complete`)." + OVERRIDE_NOTE,
    )
    def delete(self, request: Request, pk: Any) -> Response:
        actions.terminate(self.upload(pk))
        return Response(status=204)
