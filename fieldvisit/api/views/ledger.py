"""Read access to the ledger for those who audit it: checkpoints, proofs, entries, keys.

Legal and auditors read every entry; a supervisor only the entries about their teams
(``fieldvisit.ledger.scope``): another entry, or its inclusion proof (which carries its
bytes), is 404 to them. Checkpoints, consistency proofs, keys and the verifier are hashes,
keys and code alone: open to anyone, without an account, so that whoever checks a bundle
takes them from us and not from the bundle. Each read of an entry's bytes is in the evidence
access log.
"""

from __future__ import annotations

import base64
import hashlib
import json
from typing import Any

from django.conf import settings
from django.http import HttpResponse
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework.permissions import AllowAny
from rest_framework.renderers import JSONRenderer
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from fieldvisit.access_log import record_read
from fieldvisit.api import examples
from fieldvisit.api.errors import Problem
from fieldvisit.api.permissions import HasRole
from fieldvisit.api.renderers import PemRenderer, TextRenderer
from fieldvisit.api.schema import problems
from fieldvisit.api.serializers import ledger as s
from fieldvisit.bundles.contents import verify_script
from fieldvisit.choices import Role
from fieldvisit.ledger import checkpoints, keys, store, timestamps
from fieldvisit.ledger.scope import entries_visible_to, may_read_entry
from fieldvisit.models import Checkpoint, SigningKey
from fieldvisit.texts import _, format_lazy

AUDIT_ROLES = (Role.LEGAL, Role.AUDITOR, Role.SUPERVISOR)


def b64(value: bytes) -> str:
    return base64.b64encode(value).decode("ascii")


def checkpoint_body(checkpoint: Checkpoint) -> dict[str, Any]:
    signed = bytes(checkpoint.signed_bytes)
    fields = json.loads(signed)
    return {
        "tree_size": checkpoint.tree_size,
        "root_hash": bytes(checkpoint.root_hash).hex(),
        "timestamp": fields["timestamp"],
        "key_id": checkpoint.key_id,
        "signature": b64(bytes(checkpoint.signature)),
        "signed_b64": b64(signed),
        **timestamp_fields(checkpoint),
    }


def timestamp_fields(checkpoint: Checkpoint) -> dict[str, Any]:
    """The checkpoint's RFC 3161 token and its state; a gap stays visible as its status."""
    status, attempt = timestamps.status_of(checkpoint)
    granted = attempt if status == "stamped" else None
    return {
        "tsa_status": status,
        "tsa_token": b64(bytes(granted.response)) if granted else None,
        "tsa_time": granted.gen_time.isoformat() if granted else None,
        "tsa_authority": attempt.authority if attempt else None,
        "tsa_error": attempt.error if attempt and not granted else None,
    }


def query(serializer_class: type, request: Request) -> dict[str, Any]:
    serializer = serializer_class(data=request.query_params)
    serializer.is_valid(raise_exception=True)
    return serializer.validated_data


class LedgerView(APIView):
    permission_classes = [HasRole]
    required_roles = AUDIT_ROLES


class PublicLedgerView(APIView):
    """Hashes, keys and the verifier: what anyone checking a bundle needs from outside it,
    without an account (issue: trust anchored outside the bundle)."""

    permission_classes = [AllowAny]


class CheckpointView(PublicLedgerView):
    @extend_schema(
        operation_id="ledger_checkpoint",
        examples=examples.LEDGER_CHECKPOINT,
        parameters=[s.CheckpointQuerySerializer],
        responses={
            200: s.CheckpointSerializer,
            **problems("validation_error", "not_found"),
        },
        description="The latest signed checkpoint (signed afresh when the ledger has grown), "
        "or the one at `tree_size`.",
    )
    def get(self, request: Request) -> Response:
        params = query(s.CheckpointQuerySerializer, request)
        if "tree_size" in params:
            checkpoint = (
                Checkpoint.objects.select_related("key")
                .filter(tree_size=params["tree_size"])
                .order_by("-id")
                .first()
            )
        else:
            checkpoint = checkpoints.latest_checkpoint()
        if checkpoint is None:
            raise Problem("not_found", _("No checkpoint at that size."))
        return Response(checkpoint_body(checkpoint))


class CheckpointNoteView(PublicLedgerView):
    renderer_classes = [TextRenderer, JSONRenderer]

    @extend_schema(
        operation_id="ledger_checkpoint_note",
        examples=examples.LEDGER_CHECKPOINT_NOTE,
        description="The latest signed checkpoint as a C2SP tlog-checkpoint signed note (origin, "
        "tree size, root hash, Ed25519 signature line), for standard transparency-log tools.",
        responses={
            (200, "text/plain"): OpenApiResponse(
                OpenApiTypes.STR, description="C2SP tlog-checkpoint signed note"
            ),
            **problems("not_found"),
        },
    )
    def get(self, request: Request) -> HttpResponse:
        checkpoint = checkpoints.latest_checkpoint()
        if checkpoint is None:
            raise Problem("not_found", _("The ledger is empty."))
        return HttpResponse(
            checkpoints.note_text(checkpoint), content_type="text/plain; charset=utf-8"
        )


class InclusionProofView(LedgerView):
    @extend_schema(
        operation_id="ledger_proof",
        examples=examples.LEDGER_PROOF,
        parameters=[s.ProofQuerySerializer],
        responses={
            200: s.InclusionProofSerializer,
            **problems("validation_error", "ledger_range", "not_found", "permission_denied"),
        },
        description="RFC 9162 inclusion proof of entry `entry` in the tree of size "
        "`tree_size` (default: the latest checkpoint's), with the entry's bytes. A "
        "supervisor has the proofs of the entries about their teams only (404 otherwise).",
    )
    def get(self, request: Request) -> Response:
        params = query(s.ProofQuerySerializer, request)
        size = params.get("tree_size")
        if size is None:
            latest = checkpoints.latest_checkpoint()
            size = latest.tree_size if latest else 0
        proof = store.inclusion_proof(params["entry"], size)
        if not may_read_entry(request.user, proof.entry.index):
            raise Problem(
                "not_found", format_lazy(_("No ledger entry {index}."), index=proof.entry.index)
            )
        record_read(request.user, "ledger_proof", f"ledger:{proof.entry.index}")
        return Response(
            {
                "entry": proof.entry.index,
                "tree_size": proof.tree_size,
                "leaf_hash": bytes(proof.entry.leaf_hash).hex(),
                "entry_b64": b64(bytes(proof.entry.entry_bytes)),
                "path": [node.hex() for node in proof.path],
                "root_hash": proof.root_hash.hex(),
            }
        )


class ConsistencyProofView(PublicLedgerView):
    @extend_schema(
        operation_id="ledger_consistency",
        examples=examples.LEDGER_CONSISTENCY,
        description="An RFC 9162 consistency proof between two tree sizes of the ledger: proof "
        "that the later tree extends the earlier one, nothing rewritten.",
        parameters=[s.ConsistencyQuerySerializer],
        responses={
            200: s.ConsistencyProofSerializer,
            **problems("validation_error", "ledger_range"),
        },
    )
    def get(self, request: Request) -> Response:
        params = query(s.ConsistencyQuerySerializer, request)
        proof = store.consistency_proof(params["first"], params["second"])
        return Response(
            {
                "first": proof.first,
                "second": proof.second,
                "first_root": proof.first_root.hex(),
                "second_root": proof.second_root.hex(),
                "path": [node.hex() for node in proof.path],
            }
        )


class EntryView(LedgerView):
    @extend_schema(
        operation_id="ledger_entry",
        examples=examples.LEDGER_ENTRY,
        responses={200: s.EntrySerializer, **problems("not_found", "permission_denied")},
        description="One entry, with its exact bytes. A supervisor reads the entries about "
        "their teams only (404 otherwise).",
    )
    def get(self, request: Request, index: int) -> Response:
        entry = entries_visible_to(request.user).filter(index=index).first()
        if entry is None:
            raise Problem("not_found", format_lazy(_("No ledger entry {index}."), index=index))
        record_read(request.user, "ledger_entry", f"ledger:{entry.index}")
        raw = bytes(entry.entry_bytes)
        return Response(
            {
                "index": entry.index,
                "leaf_hash": bytes(entry.leaf_hash).hex(),
                "entry_b64": b64(raw),
                "entry": json.loads(raw),
            }
        )


class PublicKeyView(PublicLedgerView):
    renderer_classes = [PemRenderer, TextRenderer, JSONRenderer]

    @extend_schema(
        operation_id="ledger_public_key",
        examples=examples.LEDGER_PUBLIC_KEY,
        description="A ledger signing key as PEM (the current one, or `key_id`'s): what "
        "checkpoint and bundle signatures are verified with.",
        parameters=[s.KeyQuerySerializer],
        responses={
            (200, "application/x-pem-file"): OpenApiResponse(
                OpenApiTypes.STR, description="Ed25519 public key, PEM (SubjectPublicKeyInfo)"
            ),
            **problems("validation_error", "not_found"),
        },
    )
    def get(self, request: Request) -> HttpResponse:
        params = query(s.KeyQuerySerializer, request)
        if "key_id" in params:
            record = SigningKey.objects.filter(pk=params["key_id"]).first()
            if record is None:
                raise Problem("not_found", _("No such key."))
        else:
            record, _private = keys.current_signing_key()
        return HttpResponse(
            keys.public_pem(bytes(record.public_key)), content_type="application/x-pem-file"
        )


class PublicKeyListView(PublicLedgerView):
    @extend_schema(
        operation_id="ledger_keys",
        examples=examples.LEDGER_KEYS,
        responses={200: s.PublicKeySerializer(many=True), **problems()},
        description="Every key that ever signed checkpoints, with its validity period.",
    )
    def get(self, request: Request) -> Response:
        keys.current_signing_key()
        body = []
        for record, valid_until in keys.with_validity():
            raw = bytes(record.public_key)
            body.append(
                {
                    "key_id": record.key_id,
                    "valid_from": record.valid_from,
                    "valid_until": valid_until,
                    "public_key_pem": keys.public_pem(raw),
                    "note_verifier_key": keys.note_verifier_key(settings.LEDGER_ORIGIN, raw),
                    "fingerprint": keys.fingerprint(raw),
                }
            )
        return Response(s.PublicKeySerializer(body, many=True).data)


class VerifierView(PublicLedgerView):
    renderer_classes = [TextRenderer, JSONRenderer]

    @extend_schema(
        operation_id="ledger_verifier",
        description="The bundle verifier (`verify.py`, Python 3 standard library), the same "
        "file every bundle carries; its SHA-256 is in the `X-Content-SHA256` header and the "
        "README, so a court can check the copy in a bundle against the published one.",
        examples=examples.LEDGER_VERIFIER,
        responses={
            (200, "text/x-python"): OpenApiResponse(OpenApiTypes.STR, description="verify.py"),
            # not_found: a ?format= naming no format this answer comes in.
            **problems("not_found"),
        },
    )
    def get(self, request: Request) -> HttpResponse:
        script = verify_script()
        response = HttpResponse(script, content_type="text/x-python; charset=utf-8")
        response["X-Content-SHA256"] = hashlib.sha256(script).hexdigest()
        response["Content-Disposition"] = 'attachment; filename="verify.py"'
        return response
