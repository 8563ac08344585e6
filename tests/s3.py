"""Evidence storage on a real S3 HTTP API (moto server) with Object Lock: the bucket a test
looks into, the storage settings pointing at it, and moto's CopyObject quirk."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fieldvisit.evidence.storage import EvidenceS3Storage

LOCK_DAYS = 30


def copy_as_s3_takes_it(request: Any, **kwargs: Any) -> None:
    """moto 5.2.5 holds CopyObject to PutObject's rule that a request setting Object Lock
    retention must carry Content-MD5 or ``x-amz-sdk-checksum-algorithm``. A copy has no body
    to check; S3 documents the ``x-amz-object-lock-*`` headers for CopyObject and botocore
    sends no checksum header with it. Only the header moto looks for is added."""
    if "x-amz-object-lock-mode" in request.headers:
        request.headers["x-amz-sdk-checksum-algorithm"] = "CRC32"


@dataclass
class Bucket:
    name: str
    client: Any
    storage: EvidenceS3Storage

    def keys(self, prefix: str = "") -> list[str]:
        listed = self.client.list_objects_v2(Bucket=self.name, Prefix=prefix)
        return [item["Key"] for item in listed.get("Contents", [])]

    def versions(self, prefix: str = "") -> list[tuple[str, str]]:
        """Every version and delete marker: what a plain listing does not show."""
        listed = self.client.list_object_versions(Bucket=self.name, Prefix=prefix)
        found = listed.get("Versions", []) + listed.get("DeleteMarkers", [])
        return sorted((item["Key"], item["VersionId"]) for item in found)


def s3_settings(endpoint: str, bucket: str) -> dict[str, Any]:
    return {
        "BACKEND": "fieldvisit.evidence.storage.EvidenceS3Storage",
        "OPTIONS": {
            "bucket_name": bucket,
            "endpoint_url": endpoint,
            "region_name": "us-east-1",
            "access_key": "testing",
            "secret_key": "testing",
            "object_lock_days": LOCK_DAYS,
        },
    }
