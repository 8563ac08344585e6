"""Decode bombs, built here byte by byte: small files that cost a decoder seconds and gigabytes.

``progressive_jpeg_bomb``: a greyscale progressive JPEG (SOF2) of huge dimensions whose scans are
all empty AC scans, each coding every block as one end-of-band run. A progressive decoder keeps
every DCT coefficient of the image (2 bytes each, 450 MB at 15000 x 15000) and walks every
block once per scan, so 150 such scans cost tens of seconds for 31 KB.

``zero_png_bomb``: an RGBA PNG of zeros; deflate packs it about 1030:1 (1 GB of pixels in
about 1 MB).
"""

from __future__ import annotations

import struct
import zlib
from pathlib import Path


def _segment(marker: int, payload: bytes) -> bytes:
    return struct.pack(">BBH", 0xFF, marker, len(payload) + 2) + payload


class _Bits:
    """MSB-first bit writer with JPEG byte stuffing (0x00 after every 0xFF)."""

    def __init__(self) -> None:
        self.out = bytearray()
        self.acc = 0
        self.count = 0

    def write(self, value: int, length: int) -> None:
        for shift in range(length - 1, -1, -1):
            self.acc = (self.acc << 1) | ((value >> shift) & 1)
            self.count += 1
            if self.count == 8:
                self._byte(self.acc)
                self.acc = self.count = 0

    def _byte(self, byte: int) -> None:
        self.out.append(byte)
        if byte == 0xFF:
            self.out.append(0x00)

    def flush(self) -> bytes:
        if self.count:  # pad with one bits
            self._byte((self.acc << (8 - self.count)) | ((1 << (8 - self.count)) - 1))
            self.acc = self.count = 0
        return bytes(self.out)


def _empty_ac_scan(blocks: int) -> bytes:
    """Entropy-coded data for an AC first scan in which every block is in end-of-band runs.

    Huffman AC table 0 codes EOB14 (0xE0) as ``0`` and EOB-r for the remainder as ``10``.
    """
    bits = _Bits()
    while blocks >= 1 << 14:
        run = min(blocks, (1 << 15) - 1)
        bits.write(0b0, 1)
        bits.write(run - (1 << 14), 14)
        blocks -= run
    if blocks:
        r = blocks.bit_length() - 1
        bits.write(0b10, 2)
        bits.write(blocks - (1 << r), r)
    return bits.flush()


def progressive_jpeg_bomb(width: int = 15000, height: int = 15000, scans: int = 150) -> bytes:
    """A greyscale progressive JPEG of ``width`` x ``height`` made only of ``scans`` empty AC
    scans (Ss=1, Se=63). Both sides must be multiples of 8."""
    assert width % 8 == 0 and height % 8 == 0
    blocks = (width // 8) * (height // 8)
    remainder = blocks % ((1 << 15) - 1)
    remainder_symbol = 0xE0 if remainder >= 1 << 14 else (remainder.bit_length() - 1) << 4
    counts = bytes([1, 1] + [0] * 14)
    dqt = _segment(0xDB, b"\x00" + bytes([1] * 64))
    sof2 = _segment(0xC2, struct.pack(">BHHB", 8, height, width, 1) + b"\x01\x11\x00")
    dht = _segment(0xC4, b"\x10" + counts + bytes([0xE0, remainder_symbol or 0x00]))
    sos = _segment(0xDA, b"\x01\x01\x00" + bytes([1, 63, 0x00]))
    scan = _empty_ac_scan(blocks)
    return b"\xff\xd8" + dqt + sof2 + dht + (sos + scan) * scans + b"\xff\xd9"


def sequential_jpeg(width: int, height: int, components: int = 3) -> bytes:
    """A baseline JPEG (SOF0) of flat grey whose components come one per scan (not
    interleaved), which makes libjpeg buffer every coefficient of the image as for a
    progressive one. Each block codes DC difference 0 and end-of-block, two 0 bits."""
    assert width % 8 == 0 and height % 8 == 0 and (width // 8) * (height // 8) % 4 == 0
    blocks = (width // 8) * (height // 8)
    specs = b"".join(bytes([c, 0x11, 0]) for c in range(1, components + 1))
    sof0 = _segment(0xC0, struct.pack(">BHHB", 8, height, width, components) + specs)
    counts = bytes([1] + [0] * 15)
    dht = _segment(0xC4, b"\x00" + counts + b"\x00") + _segment(0xC4, b"\x10" + counts + b"\x00")
    dqt = _segment(0xDB, b"\x00" + bytes([1] * 64))
    scans = b"".join(
        _segment(0xDA, bytes([1, c, 0x00, 0, 63, 0])) + bytes(blocks // 4)
        for c in range(1, components + 1)
    )
    return b"\xff\xd8" + dqt + sof0 + dht + scans + b"\xff\xd9"


def _png_chunk(kind: bytes, data: bytes) -> bytes:
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))


def zero_png_bomb(path: Path, side: int = 15800, rows_per_block: int = 100) -> Path:
    """An RGBA PNG of ``side`` x ``side`` zero pixels, deflated at level 9 (about 0.95 MB at
    15800), written to ``path``.

    Deflating 1 GB takes seconds, so one block of ``rows_per_block`` rows is deflated after a
    full flush (no history before it) and repeated: every repeat is the same bytes.
    """
    assert side % rows_per_block == 0
    rows = bytes(1 + side * 4) * rows_per_block  # filter byte 0, then the pixels, per row
    packer = zlib.compressobj(9)
    packer.compress(rows)
    packer.flush(zlib.Z_FULL_FLUSH)
    block = packer.compress(rows) + packer.flush(zlib.Z_FULL_FLUSH)
    checksum = 1
    for _ in range(side // rows_per_block):
        checksum = zlib.adler32(rows, checksum)
    idat = (
        b"\x78\xda"
        + block * (side // rows_per_block)
        + b"\x03\x00"  # an empty final block
        + struct.pack(">I", checksum)
    )
    ihdr = struct.pack(">IIBBBBB", side, side, 8, 6, 0, 0, 0)
    path.write_bytes(
        b"\x89PNG\r\n\x1a\n"
        + _png_chunk(b"IHDR", ihdr)
        + _png_chunk(b"IDAT", idat)
        + _png_chunk(b"IEND", b"")
    )
    return path
