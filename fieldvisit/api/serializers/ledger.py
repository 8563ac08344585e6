from __future__ import annotations

from django.conf import settings
from rest_framework import serializers

from fieldvisit import languages
from fieldvisit.texts import _, format_lazy

MAX_INDEX = 2**53  # ledger sizes stay far below; larger inputs are refused, never overflow


class ProofQuerySerializer(serializers.Serializer):
    entry = serializers.IntegerField(min_value=0, max_value=MAX_INDEX)
    tree_size = serializers.IntegerField(min_value=1, max_value=MAX_INDEX, required=False)


class ConsistencyQuerySerializer(serializers.Serializer):
    first = serializers.IntegerField(min_value=1, max_value=MAX_INDEX)
    second = serializers.IntegerField(min_value=1, max_value=MAX_INDEX)

    def validate(self, attrs: dict) -> dict:
        if attrs["first"] > attrs["second"]:
            raise serializers.ValidationError({"first": [_("first must not exceed second.")]})
        return attrs


class CheckpointQuerySerializer(serializers.Serializer):
    tree_size = serializers.IntegerField(min_value=1, max_value=MAX_INDEX, required=False)


class BundleQuerySerializer(serializers.Serializer):
    consistent_with = serializers.IntegerField(
        min_value=1,
        max_value=MAX_INDEX,
        required=False,
        help_text="The tree size of an older checkpoint (another bundle's checkpoint.json): "
        "the bundle then carries an RFC 9162 consistency proof from it in "
        "ledger/consistency.jsonl, for `verify.py --against OTHER_BUNDLE`. Proofs from the "
        "checkpoints of earlier downloads of the same bundle are always included.",
    )
    lang = serializers.CharField(
        required=False,
        max_length=16,
        help_text="The language of report.html and README.txt: `zh-hans` (简体中文) or `en`. "
        "Default: the downloader's profile language, else their Accept-Language, else the "
        "deployment's LANGUAGE_CODE. The same evidence and language give the same bytes.",
    )

    def validate_lang(self, value: str) -> str:
        language = languages.supported(value)
        if not language:
            raise serializers.ValidationError(
                format_lazy(
                    _("Unknown language {value}: use one of {choices}."),
                    value=repr(value),
                    choices=", ".join(code for code, _name in settings.LANGUAGES),
                )
            )
        return language


class KeyQuerySerializer(serializers.Serializer):
    key_id = serializers.RegexField(r"^[0-9a-f]{16}$", required=False)


class CheckpointSerializer(serializers.Serializer):
    tree_size = serializers.IntegerField()
    root_hash = serializers.CharField(help_text="Lowercase hex SHA-256.")
    timestamp = serializers.CharField(help_text="Exactly as signed (ISO 8601, UTC).")
    key_id = serializers.CharField()
    signature = serializers.CharField(help_text="Base64 of the raw 64-byte Ed25519 signature.")
    signed_b64 = serializers.CharField(
        help_text="Base64 of the signed bytes: canonical JSON of key_id, root_hash, tree_size, "
        "timestamp."
    )
    tsa_status = serializers.ChoiceField(
        choices=["stamped", "failed", "pending", "off"],
        help_text="RFC 3161 time-stamp of the signed bytes: `stamped`; `failed` (the authority "
        "was down, slow or gave a bad token: retried by the background job); `pending` (not "
        "asked yet); `off` (no time-stamp authority configured).",
    )
    tsa_token = serializers.CharField(
        allow_null=True,
        help_text="Base64 of the authority's DER TimeStampResp over the signed bytes "
        "(`openssl ts -verify -data checkpoint.json -in token.tsr -CAfile tsa-ca.pem`).",
    )
    tsa_time = serializers.DateTimeField(
        allow_null=True, help_text="The time the authority put in its token."
    )
    tsa_authority = serializers.CharField(
        allow_null=True, help_text="The authority's URL (of the token, or of the last attempt)."
    )
    tsa_error = serializers.CharField(
        allow_null=True, help_text="Why the last attempt failed, while no token is there."
    )


class InclusionProofSerializer(serializers.Serializer):
    entry = serializers.IntegerField()
    tree_size = serializers.IntegerField()
    leaf_hash = serializers.CharField()
    entry_b64 = serializers.CharField()
    path = serializers.ListField(child=serializers.CharField())
    root_hash = serializers.CharField()


class ConsistencyProofSerializer(serializers.Serializer):
    first = serializers.IntegerField()
    second = serializers.IntegerField()
    first_root = serializers.CharField()
    second_root = serializers.CharField()
    path = serializers.ListField(child=serializers.CharField())


class EntrySerializer(serializers.Serializer):
    index = serializers.IntegerField()
    leaf_hash = serializers.CharField()
    entry_b64 = serializers.CharField()
    entry = serializers.JSONField()


class PublicKeySerializer(serializers.Serializer):
    key_id = serializers.CharField()
    valid_from = serializers.DateTimeField()
    valid_until = serializers.DateTimeField(allow_null=True)
    public_key_pem = serializers.CharField()
    note_verifier_key = serializers.CharField()
    fingerprint = serializers.CharField(
        help_text="SHA-256 of the raw public key (64 hex digits): pin it with `verify.py --key`."
    )
