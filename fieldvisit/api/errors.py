"""Every error under /api/ as RFC 9457 problem details with a stable ``code``.

DRF exceptions, rule violations and Django's own 400/403/404/500 handlers all end here, so a
client never has to parse an HTML error page, and a 500 never leaks a traceback.
"""

from __future__ import annotations

import logging
import sys
from typing import Any

from django.core.exceptions import PermissionDenied as DjangoPermissionDenied
from django.core.exceptions import RequestDataTooBig, SuspiciousOperation
from django.core.exceptions import ValidationError as DjangoValidationError
from django.db import DatabaseError, InterfaceError, OperationalError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.views import defaults
from rest_framework import exceptions
from rest_framework.renderers import JSONRenderer
from rest_framework.response import Response

from fieldvisit.api.problems import Problem, problem_body
from fieldvisit.ledger.store import LedgerRangeError
from fieldvisit.rules import RuleViolation

logger = logging.getLogger(__name__)

PROBLEM_JSON = "application/problem+json"

# The database went away (restarted, fail-over, connection cut, locked): the request changed
# nothing that stays (its transaction rolled back), so the client may simply retry.
DATABASE_DOWN = (OperationalError, InterfaceError)
DATABASE_DOWN_DETAIL = "The database is briefly unavailable; nothing was stored. Retry shortly."
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
            422, "validation_error", "Some fields are invalid.", flatten_errors(exc.detail)
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
        response = problem_response(exc.status, exc.code, exc.detail, exc.errors)
        if exc.status == 503:  # briefly unavailable (evidence storage): nothing kept, retry
            response["Retry-After"] = RETRY_AFTER_S
        if exc.status == 401:  # a 401 names the scheme to sign in with, as DRF's own do
            response["WWW-Authenticate"] = 'Token realm="api"'
        return response
    if isinstance(exc, LedgerRangeError):
        return problem_response(422, "ledger_range", str(exc))
    if isinstance(exc, Http404):
        return problem_response(404, "not_found", "Not found.")
    if isinstance(exc, DjangoPermissionDenied):
        return problem_response(403, "permission_denied", "You are not allowed to do this.")
    if isinstance(exc, RequestDataTooBig):
        return problem_response(413, "request_too_large", "The request body is too large.")
    if isinstance(exc, SuspiciousOperation):
        # Too many fields or files, a malformed multipart body: the client's fault.
        return problem_response(400, "malformed_request", "The request body is not acceptable.")
    if isinstance(exc, DjangoValidationError):
        errors = (
            {k: [str(m) for m in v] for k, v in exc.message_dict.items()}
            if hasattr(exc, "error_dict")
            else {"non_field_errors": [str(m) for m in exc.messages]}
        )
        return problem_response(422, "validation_error", "Some fields are invalid.", errors)
    if isinstance(exc, DATABASE_DOWN):
        logger.exception("database unavailable")
        response = problem_response(503, "database_unavailable", DATABASE_DOWN_DETAIL)
        response["Retry-After"] = RETRY_AFTER_S
        return response
    if isinstance(exc, DatabaseError):
        logger.exception("database error")
    else:
        logger.exception("unhandled error in API view")
    return problem_response(500, "internal_error", "Something went wrong on our side.")


def _is_api(request: HttpRequest) -> bool:
    return request.path.startswith("/api/")


def _json_problem(status: int, code: str, detail: str) -> HttpResponse:
    return JsonResponse(
        problem_body(status, code, detail), status=status, content_type=PROBLEM_JSON
    )


def bad_request(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        if isinstance(exception, RequestDataTooBig):
            return _json_problem(413, "request_too_large", "The request body is too large.")
        return _json_problem(400, "malformed_request", "The request could not be understood.")
    return defaults.bad_request(request, exception)


def permission_denied(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return _json_problem(403, "permission_denied", "You are not allowed to do this.")
    return defaults.permission_denied(request, exception)


def page_not_found(request: HttpRequest, exception: Exception) -> HttpResponse:
    if _is_api(request):
        return _json_problem(404, "not_found", "Not found.")
    return defaults.page_not_found(request, exception)


def server_error(request: HttpRequest) -> HttpResponse:
    # Django calls this inside its ``except`` block: a database failure outside a DRF view
    # (a middleware, a non-DRF view) is still a 503 the client can retry, not a 500.
    if isinstance(sys.exc_info()[1], DATABASE_DOWN):
        if _is_api(request):
            response = _json_problem(503, "database_unavailable", DATABASE_DOWN_DETAIL)
        else:
            response = HttpResponse(
                "Service briefly unavailable; retry shortly.", status=503, content_type="text/plain"
            )
        response["Retry-After"] = RETRY_AFTER_S
        return response
    if _is_api(request):
        return _json_problem(500, "internal_error", "Something went wrong on our side.")
    return defaults.server_error(request)
