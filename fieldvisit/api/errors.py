"""Every error under /api/ as RFC 9457 problem details with a stable ``code``.

The ``title`` and ``detail`` are in the request's language (``Accept-Language``: zh-Hans or
English); the ``code`` is what a client switches on and never changes with it.

``CODES`` is the one table of the codes phones and legal clients switch on: each code owns its
HTTP status and its documented title (the OpenAPI schema lists them from here). Rules and
actions raise a code (``RuleViolation``), never a status. DRF exceptions, rule violations and
Django's own 400/403/404/500 handlers all end here, so a client never has to parse an HTML
error page, and a 500 never leaks a traceback.
"""

from __future__ import annotations

import logging
import sys
from http import HTTPStatus
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions
from rest_framework.exceptions import APIException
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from fieldvisit.ledger.store import LedgerRangeError
from fieldvisit.rules import RuleViolation
from fieldvisit.texts import Promise, _

logger = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

PROBLEM_TYPE_PREFIX = "urn:problem:fieldvisit:"

CODES: dict[str, tuple[int, Promise]] = {
    "malformed_request": (400, _("The request body could not be parsed")),
    "validation_error": (422, _("The request has invalid fields")),
    "not_authenticated": (401, _("Authentication is required")),
    "invalid_token": (401, _("The token is not valid")),
    "token_revoked": (401, _("The token was revoked")),
    "user_inactive": (401, _("The account is disabled")),
    "invalid_credentials": (401, _("Wrong username or password")),
    "permission_denied": (403, _("You are not allowed to do this")),
    "not_found": (404, _("Not found")),
    "method_not_allowed": (405, _("Method not allowed")),
    "not_acceptable": (406, _("No acceptable representation")),
    "id_conflict": (409, _("This id is already used for other content")),
    "request_too_large": (413, _("The request body is too large")),
    "unsupported_media_type": (415, _("Unsupported media type")),
    "throttled": (429, _("Too many requests")),
    "too_many_login_attempts": (429, _("Too many failed sign-ins")),
    "internal_error": (500, _("Internal error")),
    "database_unavailable": (503, _("The database is briefly unavailable; nothing was stored")),
    "sign_in_unavailable": (503, _("Sign-in is briefly unavailable; retry shortly")),
    # Rules (see fieldvisit.rules); 422 unless noted.
    "route_not_approved": (422, _("The route is not approved")),
    "invalid_change_request": (422, _("The change request is not valid")),
    "invalid_order": (422, _("The new stop order is not valid")),
    "change_request_decided": (422, _("The change request was already decided")),
    "maker_checker": (422, _("Maker-checker: nobody decides on their own request")),
    "invalid_route_transition": (422, _("The route cannot move to that status")),
    "comment_required": (422, _("A comment is required")),
    "ledger_range": (422, _("The ledger has no such entry or tree size")),
    "case_not_assigned": (422, _("A stop's case is not assigned to the route's team")),
    "route_exists": (422, _("The team already has a route that day")),
    "route_empty": (422, _("A route needs at least one stop")),
    "route_frozen": (422, _("Only a draft route's stops can be edited; request a change")),
    "route_not_planned_ahead": (422, _("The route was not submitted before its day")),
    "route_date_passed": (422, _("The route's day has passed")),
    "team_understaffed": (422, _("The team has too few qualified agents")),
    "agent_suspended": (422, _("An agent of the team is suspended")),
    "incident_closed": (409, _("The incident is already closed")),
    "oncall_chain_incomplete": (422, _("The team's on-call chain cannot be reached")),
    # A heartbeat's finding (a warning to the on-call chain, never a refusal).
    "low_battery": (422, _("The phone's battery is low")),
    "address_not_geocoded": (422, _("An address of the route has no coordinates")),
    "change_request_stale": (422, _("The route changed since the request was made")),
    "not_team_member": (403, _("Not an agent of the route's team")),
    "not_on_route": (422, _("The stop is not on this route")),
    "outside_visit_hours": (422, _("Outside the allowed visit hours")),
    "too_far_from_address": (422, _("Too far from the stop's address")),
    "frequency_cap": (422, _("The debtor's visit frequency cap is reached")),
    "out_of_sequence": (422, _("An earlier stop of the approved route is not visited yet")),
    "relation_not_listed": (422, _("The signer is not one of the case's relations")),
    "third_party_reason_required": (
        422,
        _("Say why someone who is not one of the case's relations signed"),
    ),
    "payment_not_voluntary": (422, _("A relation pays only of their own free will")),
    "case_not_open": (422, _("The case is not open for visits")),
    "do_not_contact": (422, _("The debtor may not be contacted")),
    "reduction_not_authorised": (422, _("The reduction is not authorised by the creditor")),
    "note_required": (422, _("A note is required")),
    "alert_resolved": (422, _("The alert is already resolved")),
    "alert_acknowledged": (422, _("The alert is already acknowledged")),
    "invalid_link": (404, _("The link is not valid or has expired")),
    "channel_unavailable": (422, _("No channel can reach this contact")),
    # Evidence files (photos, receipts, audio).
    "file_too_large": (413, _("The file is too large")),
    "hash_mismatch": (422, _("The file's SHA-256 differs from the declared one")),
    "invalid_image": (422, _("The image is corrupt, truncated or too large to decode")),
    "invalid_audio": (422, _("The audio is not a readable recording")),
    "chain_broken": (422, _("The segment does not follow the recording's previous segment")),
    "notice_mismatch": (422, _("The notice number is not this stop's")),
    "storage_unavailable": (503, _("Evidence storage is unavailable; nothing was kept")),
    # Visit reports, co-signatures and reviews.
    "visit_not_started": (422, _("The visit has not begun: nobody has arrived")),
    "not_at_visit": (422, _("You did not arrive at this visit")),
    "report_exists": (409, _("The visit already has a report; a correction names it")),
    "not_current_report": (409, _("That is not the visit's current report")),
    "report_missing": (422, _("The visit has no report")),
    "cosign_by_author": (422, _("The author of a report cannot co-sign it")),
    "already_cosigned": (409, _("The report is already co-signed by another agent")),
    "visit_not_closed": (422, _("The visit is not closed: both agents have not left yet")),
    "visit_not_reported": (422, _("The visit has no co-signed report to review")),
    # tus 1.0 resumable uploads: the protocol's status codes, as problems.
    "tus_version_unsupported": (412, _("Unsupported tus version")),
    "upload_offset_mismatch": (409, _("Upload-Offset does not match the upload's offset")),
    "upload_locked": (423, _("Another request is writing to this upload")),
    "upload_expired": (410, _("The upload expired")),
    "upload_gone": (410, _("The upload ended")),
    "upload_complete": (403, _("The upload is complete and cannot change")),
    "checksum_mismatch": (460, _("The chunk's checksum does not match")),
    "checksum_unsupported": (400, _("Unsupported checksum algorithm")),
}


def problem_type(code: str) -> str:
    return PROBLEM_TYPE_PREFIX + code


def status_for(code: str) -> int:
    """The HTTP status a code is answered with. Every code raised is in ``CODES`` (a test
    walks the source for them); one that is not is logged and answered as a 422."""
    known = CODES.get(code)
    if known is None:
        logger.error("problem code %r is not in the table of codes", code)
        return 422
    return known[0]


def title_for(code: str, status: int) -> str:
    known = CODES.get(code)
    if known:
        return str(known[1])
    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem_body(
    status: int,
    code: str,
    detail: str | Promise,
    errors: dict[str, list[str]] | None = None,
    **extra: Any,
) -> dict[str, Any]:
    """The problem's words (``title``, ``detail``, the field errors) in the language of the
    request (``LocaleMiddleware``: Accept-Language, or the user's profile); ``code`` and
    ``type`` never change with it."""
    body: dict[str, Any] = {
        "type": problem_type(code),
        "title": title_for(code, status),
        "status": status,
        "detail": str(detail),
        "code": code,
    }
    if errors:
        body["errors"] = {field: [str(m) for m in messages] for field, messages in errors.items()}
    body.update(extra)
    return body


class Problem(APIException):
    """Raise from a view to answer with a problem of a given code (and its status)."""

    def __init__(
        self,
        code: str,
        detail: str,
        errors: dict[str, list[str]] | None = None,
        **extra: Any,
    ) -> None:
        self.status_code = status_for(code)
        self.problem_code = code
        self.errors = errors
        self.extra = extra
        super().__init__(detail, code)


# The database went away (restarted, fail-over, connection cut, locked): the request changed
# nothing that stays (its transaction rolled back), so the client may simply retry.
DATABASE_DOWN = (OperationalError, InterfaceError)
DATABASE_DOWN_DETAIL = _("The database is briefly unavailable; nothing was stored. Retry shortly.")
RETRY_AFTER_S = "5"

DRF_CODES: list[tuple[type[Exception], str]] = [
    (exceptions.ParseError, "malformed_request"),
    (exceptions.NotAuthenticated, "not_authenticated"),
    (exceptions.PermissionDenied, "permission_denied"),
    (exceptions.NotFound, "not_found"),
    (exceptions.MethodNotAllowed, "method_not_allowed"),
    (exceptions.NotAcceptable, "not_acceptable"),
    (exceptions.UnsupportedMediaType, "unsupported_media_type"),
    (exceptions.Throttled, "throttled"),
]


def flatten_errors(detail: Any, prefix: str = "") -> dict[str, list[str]]:
    """DRF's nested error structure as ``{"field.sub.0": ["message"]}``."""
    out: dict[str, list[str]] = {}
    if isinstance(detail, dict):
        for key, value in detail.items():
            name = "non_field_errors" if key == "non_field_errors" and not prefix else str(key)
            out.update(flatten_errors(value, f"{prefix}.{name}" if prefix else name))
    elif (
        isinstance(detail, list) and detail and all(not isinstance(d, dict | list) for d in detail)
    ):
        out[prefix or "non_field_errors"] = [str(d) for d in detail]
    elif isinstance(detail, list):
        for position, value in enumerate(detail):
            out.update(flatten_errors(value, f"{prefix}.{position}" if prefix else str(position)))
    elif detail not in (None, ""):
        out[prefix or "non_field_errors"] = [str(detail)]
    return out


class ProblemRenderer(JSONRenderer):
    """ASCII-only JSON: a message that quotes the input (``"\\ud800" is not a valid choice``)
    may hold a lone surrogate, which has no UTF-8 encoding but does have a JSON escape."""

    ensure_ascii = True


class ProblemResponse(Response):
    """A problem is JSON whatever the view negotiated: the schema view renders YAML and the
    docs view HTML, and their errors must still parse as ``application/problem+json``."""

    @property
    def rendered_content(self) -> Any:
        self.accepted_renderer = ProblemRenderer()
        self.accepted_media_type = PROBLEM_JSON
        return super().rendered_content


def problem_response(
    status: int, code: str, detail: str, errors: dict[str, list[str]] | None = None, **extra: Any
) -> Response:
    return ProblemResponse(
        problem_body(status, code, detail, errors, **extra),
        status=status,
        content_type=PROBLEM_JSON,
    )


def _drf_problem(exc: exceptions.APIException) -> Response:
    if isinstance(exc, Problem):
        response = problem_response(
            exc.status_code, exc.problem_code, str(exc.detail), exc.errors, **exc.extra
        )
    elif isinstance(exc, exceptions.ValidationError):
        response = problem_response(
            422, "validation_error", _("Some fields are invalid."), flatten_errors(exc.detail)
        )
    elif isinstance(exc, exceptions.AuthenticationFailed):
        codes = exc.get_codes()
        code = codes if isinstance(codes, str) else "invalid_token"
        if code == "authentication_failed":
            code = "invalid_token"
        response = problem_response(401, code, str(exc.detail))
    else:
        code = next((c for kind, c in DRF_CODES if isinstance(exc, kind)), None)
        if code is None:
            codes = exc.get_codes()
            code = codes if isinstance(codes, str) else "error"
        response = problem_response(exc.status_code, code, str(exc.detail))
    wait = getattr(exc, "wait", None)
    if wait is not None:
        response["Retry-After"] = str(int(wait) + 1)
    if isinstance(exc, exceptions.NotAuthenticated | exceptions.AuthenticationFailed):
        response["WWW-Authenticate"] = 'Token realm="api"'
    return response


def problem_exception_handler(exc: Exception, context: dict[str, Any]) -> Response | None:
    if isinstance(exc, exceptions.APIException):
        return _drf_problem(exc)
    if isinstance(exc, RuleViolation):
        status = status_for(exc.code)
        response = problem_response(status, exc.code, exc.detail, exc.errors)
        if status == 503:  # briefly unavailable (evidence storage): nothing kept, retry
            response["Retry-After"] = RETRY_AFTER_S
        if status == 401:  # a 401 names the scheme to sign in with, as DRF's own do
            response["WWW-Authenticate"] = 'Token realm="api"'
        return response
    if isinstance(exc, LedgerRangeError):
        return problem_response(422, "ledger_range", str(exc))
    if isinstance(exc, Http404):
        return problem_response(404, "not_found", _("Not found."))
    if isinstance(exc, DjangoPermissionDenied):
        return problem_response(403, "permission_denied", _("You are not allowed to do this."))
    if isinstance(exc, RequestDataTooBig):
        return problem_response(413, "request_too_large", _("The request body is too large."))
    if isinstance(exc, SuspiciousOperation):
        # Too many fields or files, a malformed multipart body: the client's fault.
        return problem_response(400, "malformed_request", _("The request body is not acceptable."))
    if isinstance(exc, DjangoValidationError):
        errors = (
            {k: [str(m) for m in v] for k, v in exc.message_dict.items()}
            if hasattr(exc, "error_dict")
            else {"non_field_errors": [str(m) for m in exc.messages]}
        )
        return problem_response(422, "validation_error", _("Some fields are invalid."), errors)
    if isinstance(exc, DATABASE_DOWN):
        logger.exception("database unavailable")
        response = problem_response(503, "database_unavailable", DATABASE_DOWN_DETAIL)
        response["Retry-After"] = RETRY_AFTER_S
        return response
    if isinstance(exc, DatabaseError):
        logger.exception("database error")
    else:
        logger.exception("unhandled error in API view")
    return problem_response(500, "internal_error", _("Something went wrong on our side."))


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def _json_problem(status: int, code: str, detail: str) -> HttpResponse:
    return JsonResponse(
        problem_body(status, code, detail), status=status, content_type=PROBLEM_JSON
    )


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        if isinstance(exception, RequestDataTooBig):
            return _json_problem(413, "request_too_large", _("The request body is too large."))
        return _json_problem(400, "malformed_request", _("The request could not be understood."))
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return _json_problem(403, "permission_denied", _("You are not allowed to do this."))
    from fieldvisit.admin_denied import denied_page

    return denied_page(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return _json_problem(404, "not_found", _("Not found."))
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    # Django calls this inside its ``except`` block: a database failure outside a DRF view
    # (a middleware, a non-DRF view) is still a 503 the client can retry, not a 500.
    if isinstance(sys.exc_info()[1], DATABASE_DOWN):
        if _is_api(request):
            response = _json_problem(503, "database_unavailable", DATABASE_DOWN_DETAIL)
        else:
            response = HttpResponse(
                _("Service briefly unavailable; retry shortly."),
                status=503,
                content_type="text/plain",
            )
        response["Retry-After"] = RETRY_AFTER_S
        return response
    if _is_api(request):
        return _json_problem(500, "internal_error", _("Something went wrong on our side."))
    return defaults.server_error(request)
