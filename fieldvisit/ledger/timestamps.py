"""RFC 3161 time-stamps of checkpoints, from an authority outside the company.

Our own signature on a checkpoint says nothing a court need believe about *when* it was
made: we hold the key. A time-stamp authority (TSA) signs the SHA-256 of the checkpoint's
signed bytes with its own clock, so the checkpoint provably existed at that time.

The request never happens inside an append or any other transaction: the background jobs
stamp checkpoints that have no token yet, with a short timeout, and record every attempt
(``CheckpointTimestamp``), so an authority that is down or slow leaves a visible gap that the
next run fills. Tokens are checked before they are kept: granted, over our bytes, with our
nonce, signed by a certificate with the critical timeStamping usage that chains to the
configured authority CA (``LEDGER_TSA_CA_FILE``).
"""

from __future__ import annotations

import datetime as dt
import logging
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path

from cryptography import x509
from django.conf import settings
from django.db import IntegrityError, transaction
from django.db.models import Exists, OuterRef, QuerySet
from django.utils import timezone
from rfc3161_client import (
    HashAlgorithm,
    PKIStatus,
    TimestampRequestBuilder,
    TimeStampResponse,
    VerificationError,
    VerifierBuilder,
    decode_timestamp_response,
)

from fieldvisit.models import Checkpoint, CheckpointTimestamp

logger = logging.getLogger(__name__)

QUERY_TYPE = "application/timestamp-query"
REPLY_TYPE = "application/timestamp-reply"
MAX_REPLY_BYTES = 64 * 1024
BATCH = 20
# One run of the job stops asking after this long; the next run goes on.
BUDGET_S = 45.0


class TimestampError(Exception):
    """The authority gave no usable token (unreachable, slow, refused, or a bad token)."""


@dataclass(frozen=True)
class Authority:
    """A time-stamp authority: where to ask, and its CA certificate(s) (PEM file)."""

    url: str
    ca_file: str


def authorities() -> list[Authority]:
    """The configured authorities, in order: ``LEDGER_TSA_URL`` with ``LEDGER_TSA_CA_FILE``,
    then each ``URL CA_FILE`` pair of ``LEDGER_TSA_MORE`` (pairs separated by ``;``). Each
    stamps every checkpoint: one authority's word is one company's word; two are better."""
    found = [Authority(settings.LEDGER_TSA_URL, settings.LEDGER_TSA_CA_FILE or "")]
    for pair in (settings.LEDGER_TSA_MORE or "").split(";"):
        url, _, ca_file = pair.strip().partition(" ")
        found.append(Authority(url.strip(), ca_file.strip()))
    return [authority for authority in found if authority.url]


def enabled() -> bool:
    return bool(authorities())


def ca_certificates(path: str | None = None) -> list[x509.Certificate]:
    """An authority's CA certificates (PEM file; the first authority's by default), empty
    when none is configured."""
    path = path if path is not None else settings.LEDGER_TSA_CA_FILE
    if not path:
        return []
    return x509.load_pem_x509_certificates(Path(path).read_bytes())


def ca_pem(url: str) -> bytes:
    """The CA file's bytes of the authority at ``url``, for bundles; empty when that
    authority is no longer configured or has no CA file."""
    for authority in authorities():
        if authority.url == url and authority.ca_file:
            return Path(authority.ca_file).read_bytes()
    return b""


def verify(
    response_der: bytes,
    data: bytes,
    roots: list[x509.Certificate],
    nonce: int | None = None,
) -> TimeStampResponse:
    """The parsed response when it is a granted token over ``data`` by an authority that
    chains to ``roots`` (and carries ``nonce`` when given); TimestampError otherwise."""
    try:
        response = decode_timestamp_response(response_der)
    except ValueError as error:
        raise TimestampError(f"not an RFC 3161 response: {error}") from error
    if PKIStatus(response.status) not in (PKIStatus.GRANTED, PKIStatus.GRANTED_WITH_MODS):
        raise TimestampError(f"the authority refused: status {response.status}")
    if not roots:
        raise TimestampError("no authority CA certificate to check the token against")
    builder = VerifierBuilder(roots=list(roots), nonce=nonce)
    try:
        builder.build().verify_message(response, data)
    except (VerificationError, ValueError) as error:
        raise TimestampError(f"the token does not verify: {error}") from error
    return response


def request_token(
    data: bytes, url: str, timeout: float, roots: list[x509.Certificate]
) -> tuple[bytes, dt.datetime]:
    """Ask the authority for a token over ``data``: its DER response and its time."""
    if not url.startswith(("http://", "https://")):
        raise TimestampError("LEDGER_TSA_URL must be an http(s) URL")
    request = TimestampRequestBuilder().data(data).hash_algorithm(HashAlgorithm.SHA256).build()
    http = urllib.request.Request(  # noqa: S310 - http(s) only, checked above
        url,
        data=request.as_bytes(),
        headers={"Content-Type": QUERY_TYPE, "Accept": REPLY_TYPE},
        method="POST",
    )
    try:
        with urllib.request.urlopen(http, timeout=timeout) as reply:  # noqa: S310
            body = reply.read(MAX_REPLY_BYTES + 1)
    except urllib.error.HTTPError as error:
        raise TimestampError(f"the authority answered HTTP {error.code}") from error
    except (OSError, ValueError) as error:  # URLError, timeouts, refused connections
        raise TimestampError(f"the authority could not be reached: {error}") from error
    if len(body) > MAX_REPLY_BYTES:
        raise TimestampError("the authority's answer is too large")
    response = verify(body, data, roots, nonce=request.nonce)
    return body, response.tst_info.gen_time


def checkpoints_without_token(url: str | None = None) -> QuerySet[Checkpoint]:
    """Checkpoints with no token from the authority at ``url`` (from any, by default)."""
    granted = CheckpointTimestamp.objects.filter(checkpoint=OuterRef("pk"), gen_time__isnull=False)
    if url is not None:
        granted = granted.filter(authority=url)
    return Checkpoint.objects.filter(~Exists(granted))


def granted_for(checkpoint: Checkpoint) -> CheckpointTimestamp | None:
    """The checkpoint's token from the first configured authority that stamped it."""
    tokens = granted_all(checkpoint)
    return tokens[0] if tokens else None


def granted_all(checkpoint: Checkpoint) -> list[CheckpointTimestamp]:
    """The checkpoint's tokens, one per authority: the configured ones in their order, then
    any from an authority no longer configured."""
    order = {authority.url: n for n, authority in enumerate(authorities())}
    tokens = checkpoint.timestamps.filter(gen_time__isnull=False).order_by("id")
    return sorted(tokens, key=lambda t: order.get(t.authority, len(order)))


def stamp(checkpoint: Checkpoint, authority: Authority | None = None) -> CheckpointTimestamp:
    """Ask an authority (the first, by default) for this checkpoint's token and record the
    attempt, granted or not."""
    if transaction.get_connection().in_atomic_block:
        raise RuntimeError("time-stamp requests run outside transactions")
    authority = authority or authorities()[0]
    url = authority.url
    data = bytes(checkpoint.signed_bytes)
    attempt = CheckpointTimestamp(checkpoint=checkpoint, authority=url, requested_at=timezone.now())
    try:
        attempt.response, attempt.gen_time = request_token(
            data, url, settings.LEDGER_TSA_TIMEOUT_S, ca_certificates(authority.ca_file)
        )
    except TimestampError as error:
        attempt.error = str(error)[:500]
        logger.warning("time-stamp of checkpoint %s failed: %s", checkpoint.tree_size, error)
    except OSError as error:  # the CA file cannot be read
        attempt.error = f"the authority CA file cannot be read: {error}"[:500]
        logger.error("time-stamp of checkpoint %s failed: %s", checkpoint.tree_size, error)
    try:
        with transaction.atomic():
            attempt.save()
    except IntegrityError:
        # Another worker's token from the same authority landed first: keep theirs.
        granted = checkpoint.timestamps.filter(gen_time__isnull=False, authority=url).first()
        return granted or attempt
    return attempt


@dataclass(frozen=True)
class StampRun:
    stamped: int = 0
    failed: int = 0
    pending: int = 0


def stamp_pending(budget_s: float = BUDGET_S) -> StampRun:
    """Have each authority stamp the checkpoints it has not stamped yet, oldest first
    (bundles cite the first checkpoint covering their evidence), for up to ``budget_s``
    seconds in all; an authority is left at its first failure (one that is down is asked
    again on the next run, not once per checkpoint), and the next one is asked."""
    if not enabled():
        return StampRun()
    deadline = time.monotonic() + budget_s
    stamped = failed = 0
    for authority in authorities():
        done, missed = _stamp_with(authority, deadline)
        stamped, failed = stamped + done, failed + missed
    return StampRun(stamped, failed, checkpoints_without_token().count())


def _stamp_with(authority: Authority, deadline: float) -> tuple[int, int]:
    stamped = 0
    while time.monotonic() < deadline:
        # A token given more than the window after the checkpoint's own time would say it
        # may be back-dated: such checkpoints stay without one, and later ones cover them.
        fresh = timezone.now() - dt.timedelta(seconds=settings.LEDGER_TSA_WINDOW_S)
        batch = list(
            checkpoints_without_token(authority.url)
            .filter(timestamp__gte=fresh)
            .order_by("tree_size", "id")[:BATCH]
        )
        if not batch:
            break
        for checkpoint in batch:
            if not stamp(checkpoint, authority).granted:
                return stamped, 1
            stamped += 1
            if time.monotonic() >= deadline:
                break
    return stamped, 0


def status_of(checkpoint: Checkpoint) -> tuple[str, CheckpointTimestamp | None]:
    """``stamped`` (with the granted row), ``failed`` (with the last attempt), ``pending``
    (not asked yet) or ``off`` (no authority configured and none asked)."""
    granted = granted_for(checkpoint)
    if granted is not None:
        return "stamped", granted
    last = checkpoint.timestamps.first()
    if last is not None:
        return "failed", last
    return ("pending" if enabled() else "off"), None


@dataclass
class TokenAudit:
    stamped: int = 0
    missing: int = 0
    problems: list[str] = field(default_factory=list)


def audit_tokens() -> TokenAudit:
    """Re-check every kept token against its checkpoint's bytes and its authority's CA, and
    count the checkpoints still without one (the gap ``verify_ledger`` reports)."""
    report = TokenAudit(missing=checkpoints_without_token().count())
    granted = CheckpointTimestamp.objects.filter(gen_time__isnull=False).select_related(
        "checkpoint"
    )
    roots: dict[str, list[x509.Certificate]] = {}
    for authority in authorities():
        try:
            roots[authority.url] = ca_certificates(authority.ca_file)
        except (OSError, ValueError) as error:
            roots[authority.url] = []
            report.problems.append(f"the CA file of {authority.url} cannot be read: {error}")
    stamped = set()
    for row in granted.order_by("checkpoint__tree_size", "id").iterator():
        stamped.add(row.checkpoint_id)
        report.stamped = len(stamped)
        if not roots.get(row.authority):
            continue
        label = f"time-stamp of checkpoint at size {row.checkpoint.tree_size} ({row.authority})"
        try:
            verify(bytes(row.response), bytes(row.checkpoint.signed_bytes), roots[row.authority])
        except TimestampError as error:
            report.problems.append(f"{label}: {error}")
    return report
