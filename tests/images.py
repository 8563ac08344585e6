"""Pillow-made test photos with chosen EXIF: GPS position, altitude, time with offset."""

from __future__ import annotations

import datetime as dt
import io
from fractions import Fraction

from PIL import Image, TiffImagePlugin
from PIL.ExifTags import GPS, IFD, Base


def _dms(value: float) -> tuple[TiffImagePlugin.IFDRational, ...]:
    value = abs(value)
    degrees = int(value)
    minutes_full = (value - degrees) * 60
    minutes = int(minutes_full)
    seconds = Fraction((minutes_full - minutes) * 60).limit_denominator(1_000_000)
    return (
        TiffImagePlugin.IFDRational(degrees, 1),
        TiffImagePlugin.IFDRational(minutes, 1),
        TiffImagePlugin.IFDRational(seconds.numerator, seconds.denominator),
    )


def exif_for(
    lat: float | None = None,
    lon: float | None = None,
    altitude: float | None = None,
    taken_at: dt.datetime | None = None,
    make: str = "TestCam",
    model: str = "Field 1",
) -> Image.Exif:
    exif = Image.Exif()
    exif[Base.Make] = make
    exif[Base.Model] = model
    if taken_at is not None:
        sub = exif.get_ifd(IFD.Exif)
        sub[Base.DateTimeOriginal] = taken_at.strftime("%Y:%m:%d %H:%M:%S")
        if taken_at.utcoffset() is not None:
            minutes = int(taken_at.utcoffset().total_seconds() // 60)
            sign = "+" if minutes >= 0 else "-"
            sub[Base.OffsetTimeOriginal] = f"{sign}{abs(minutes) // 60:02d}:{abs(minutes) % 60:02d}"
    if lat is not None and lon is not None:
        gps = exif.get_ifd(IFD.GPSInfo)
        gps[GPS.GPSVersionID] = b"\x02\x03\x00\x00"
        gps[GPS.GPSLatitudeRef] = "N" if lat >= 0 else "S"
        gps[GPS.GPSLatitude] = _dms(lat)
        gps[GPS.GPSLongitudeRef] = "E" if lon >= 0 else "W"
        gps[GPS.GPSLongitude] = _dms(lon)
        if altitude is not None:
            gps[GPS.GPSAltitudeRef] = 1 if altitude < 0 else 0
            alt = Fraction(abs(altitude)).limit_denominator(1000)
            gps[GPS.GPSAltitude] = TiffImagePlugin.IFDRational(alt.numerator, alt.denominator)
    return exif


def jpeg(size: tuple[int, int] = (64, 48), colour: str = "steelblue", **exif: object) -> bytes:
    """A JPEG with the given EXIF (see ``exif_for``); different colours give different bytes."""
    out = io.BytesIO()
    Image.new("RGB", size, colour).save(out, "JPEG", quality=85, exif=exif_for(**exif))
    return out.getvalue()


def png(size: tuple[int, int] = (120, 40), colour: str = "white") -> bytes:
    out = io.BytesIO()
    Image.new("L", size, colour).save(out, "PNG")
    return out.getvalue()
