"""CRC checks of the Ogg (32-bit) and FLAC (8- and 16-bit) readers."""

from __future__ import annotations


def _crc_table(poly: int, width: int) -> tuple[int, ...]:
    """MSB-first CRC table, no reflection: the variant Ogg (32-bit) and FLAC (8/16) use."""
    top, mask = 1 << (width - 1), (1 << width) - 1
    table = []
    for byte in range(256):
        crc = byte << (width - 8)
        for _ in range(8):
            crc = (crc << 1) ^ poly if crc & top else crc << 1
        table.append(crc & mask)
    return tuple(table)


def _crc(data: bytes, table: tuple[int, ...], width: int) -> int:
    crc, shift, mask = 0, width - 8, (1 << width) - 1
    for byte in data:
        crc = ((crc << 8) & mask) ^ table[(crc >> shift) ^ byte]
    return crc


_OGG_CRC_TABLE = _crc_table(0x04C11DB7, 32)
_FLAC_CRC8_TABLE = _crc_table(0x07, 8)
_FLAC_CRC16_TABLE = _crc_table(0x8005, 16)
