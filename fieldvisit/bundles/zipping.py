"""Streaming a bundle as a ZIP with stream-zip: evidence files STORED (uncompressed, byte for
byte) with the CRC-32 taken when they were received, ZIP64 where sizes need it, fixed
timestamps; read from storage a block at a time, so memory stays flat whatever the size."""

from __future__ import annotations

from collections.abc import Iterator

from stream_zip import NO_COMPRESSION_32, NO_COMPRESSION_64, stream_zip

from fieldvisit.bundles.contents import Bundle
from fieldvisit.bundles.members import Member
from fieldvisit.evidence.storage import open_evidence

READ_SIZE = 1024 * 1024
ZIP32_LIMIT = 0xFFFFFFFF
# Owner read/write, everyone read: what unzip gives extracted files.
MODE = 0o100644


def _chunks(member: Member) -> Iterator[bytes]:
    if member.data is not None:
        yield member.data
        return
    with open_evidence(member.evidence) as source:
        while block := source.read(READ_SIZE):
            yield block


def zip_chunks(bundle: Bundle) -> Iterator[bytes]:
    def files():  # type: ignore[no-untyped-def]
        for member in bundle.members:
            method = NO_COMPRESSION_64 if member.size >= ZIP32_LIMIT else NO_COMPRESSION_32
            yield (
                f"{bundle.plan.subject.name}/{member.path}",
                bundle.timestamp,
                MODE,
                method(member.size, member.crc32),
                _chunks(member),
            )

    return stream_zip(files(), chunk_size=READ_SIZE, extended_timestamps=False)
