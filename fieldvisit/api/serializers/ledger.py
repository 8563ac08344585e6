from __future__ import annotations

from rest_framework import serializers

MAX_INDEX = 2**53  # ledger sizes stay far below; larger inputs are refused, never overflow


class ProofQuerySerializer(serializers.Serializer):
    entry = serializers.IntegerField(min_value=0, max_value=MAX_INDEX)
    tree_size = serializers.IntegerField(min_value=1, max_value=MAX_INDEX, required=False)


class ConsistencyQuerySerializer(serializers.Serializer):
    first = serializers.IntegerField(min_value=1, max_value=MAX_INDEX)
    second = serializers.IntegerField(min_value=1, max_value=MAX_INDEX)

    def validate(self, attrs: dict) -> dict:
        if attrs["first"] > attrs["second"]:
            raise serializers.ValidationError({"first": ["first must not exceed second."]})
        return attrs


class CheckpointQuerySerializer(serializers.Serializer):
    tree_size = serializers.IntegerField(min_value=1, max_value=MAX_INDEX, required=False)


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
