"""The stable problem codes of the API (RFC 9457), with their HTTP status and title.

Phones and legal clients switch on ``code``; this table is the single list of them, and the
OpenAPI schema documents each endpoint's codes from it.
"""

from __future__ import annotations

from typing import Any

from rest_framework.exceptions import APIException

PROBLEM_TYPE_PREFIX = "urn:problem:fieldvisit:"

CODES: dict[str, tuple[int, str]] = {
    "malformed_request": (400, "The request body could not be parsed"),
    "validation_error": (422, "The request has invalid fields"),
    "not_authenticated": (401, "Authentication is required"),
    "invalid_token": (401, "The token is not valid"),
    "token_revoked": (401, "The token was revoked"),
    "user_inactive": (401, "The account is disabled"),
    "invalid_credentials": (401, "Wrong username or password"),
    "permission_denied": (403, "You are not allowed to do this"),
    "not_found": (404, "Not found"),
    "method_not_allowed": (405, "Method not allowed"),
    "not_acceptable": (406, "No acceptable representation"),
    "id_conflict": (409, "This id is already used for other content"),
    "request_too_large": (413, "The request body is too large"),
    "unsupported_media_type": (415, "Unsupported media type"),
    "throttled": (429, "Too many requests"),
    "too_many_login_attempts": (429, "Too many failed sign-ins"),
    "internal_error": (500, "Internal error"),
    "database_unavailable": (503, "The database is briefly unavailable; nothing was stored"),
    "sign_in_unavailable": (503, "Sign-in is briefly unavailable; retry shortly"),
    # Rules (see fieldvisit.rules); 422 unless noted.
    "route_not_approved": (422, "The route is not approved"),
    "invalid_change_request": (422, "The change request is not valid"),
    "invalid_order": (422, "The new stop order is not valid"),
    "change_request_decided": (422, "The change request was already decided"),
    "maker_checker": (422, "Maker-checker: nobody decides on their own request"),
    "invalid_route_transition": (422, "The route cannot move to that status"),
    "comment_required": (422, "A comment is required"),
    "ledger_range": (422, "The ledger has no such entry or tree size"),
    "case_not_assigned": (422, "A stop's case is not assigned to the route's team"),
    "change_request_stale": (422, "The route changed since the request was made"),
    "not_team_member": (403, "Not an agent of the route's team"),
    "not_on_route": (422, "The stop is not on this route"),
    "outside_visit_hours": (422, "Outside the allowed visit hours"),
    "too_far_from_address": (422, "Too far from the stop's address"),
    "frequency_cap": (422, "The debtor's visit frequency cap is reached"),
    "note_required": (422, "A note is required"),
    "alert_resolved": (422, "The alert is already resolved"),
    "alert_acknowledged": (422, "The alert is already acknowledged"),
    # Evidence files (photos, receipts, audio).
    "file_too_large": (413, "The file is too large"),
    "hash_mismatch": (422, "The file's SHA-256 differs from the declared one"),
    "invalid_image": (422, "The image is corrupt, truncated or too large to decode"),
    "invalid_audio": (422, "The audio is not a readable recording"),
    "chain_broken": (422, "The segment does not follow the recording's previous segment"),
    "notice_mismatch": (422, "The notice number is not this stop's"),
    "storage_unavailable": (503, "Evidence storage is unavailable; nothing was kept"),
    # Visit reports, co-signatures and reviews.
    "visit_not_started": (422, "The visit has not begun: nobody has arrived"),
    "not_at_visit": (422, "You did not arrive at this visit"),
    "report_exists": (409, "The visit already has a report; a correction names it"),
    "not_current_report": (409, "That is not the visit's current report"),
    "report_missing": (422, "The visit has no report"),
    "cosign_by_author": (422, "The author of a report cannot co-sign it"),
    "already_cosigned": (409, "The report is already co-signed by another agent"),
    "visit_not_closed": (422, "The visit is not closed: both agents have not left yet"),
    "visit_not_reported": (422, "The visit has no co-signed report to review"),
    # tus 1.0 resumable uploads: the protocol's status codes, as problems.
    "tus_version_unsupported": (412, "Unsupported tus version"),
    "upload_offset_mismatch": (409, "Upload-Offset does not match the upload's offset"),
    "upload_locked": (423, "Another request is writing to this upload"),
    "upload_expired": (410, "The upload expired"),
    "upload_gone": (410, "The upload ended"),
    "upload_complete": (403, "The upload is complete and cannot change"),
    "checksum_mismatch": (460, "The chunk's checksum does not match"),
    "checksum_unsupported": (400, "Unsupported checksum algorithm"),
}


def problem_type(code: str) -> str:
    return PROBLEM_TYPE_PREFIX + code


def title_for(code: str, status: int) -> str:
    known = CODES.get(code)
    if known:
        return known[1]
    from http import HTTPStatus

    try:
        return HTTPStatus(status).phrase
    except ValueError:
        return "Error"


def problem_body(
    status: int, code: str, detail: str, errors: dict[str, list[str]] | None = None, **extra: Any
) -> dict[str, Any]:
    body: dict[str, Any] = {
        "type": problem_type(code),
        "title": title_for(code, status),
        "status": status,
        "detail": detail,
        "code": code,
    }
    if errors:
        body["errors"] = errors
    body.update(extra)
    return body


class Problem(APIException):
    """Raise from a view to answer with a problem of a given code."""

    def __init__(
        self,
        code: str,
        detail: str,
        status: int | None = None,
        errors: dict[str, list[str]] | None = None,
        **extra: Any,
    ) -> None:
        self.status_code = status or CODES.get(code, (400, ""))[0]
        self.problem_code = code
        self.errors = errors
        self.extra = extra
        super().__init__(detail, code)
