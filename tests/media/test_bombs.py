"""Decode bombs: small files that declare seconds and gigabytes of decoding are refused from
their headers, measured in a fresh process (time and peak memory); what is legitimate passes."""

from __future__ import annotations

import io
import json
import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from fieldvisit.media import MediaError, images
from fieldvisit.media.images import inspect_image
from tests.bombs import progressive_jpeg_bomb, sequential_jpeg, zero_png_bomb

ROOT = Path(__file__).resolve().parents[2]

MEASURE = """
import json, resource, sys, time
from fieldvisit.media import MediaError
from fieldvisit.media.images import inspect_image
before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
start = time.perf_counter()
try:
    inspect_image(sys.argv[1])
    code = None
except MediaError as error:
    code = error.code
seconds = time.perf_counter() - start
peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
print(json.dumps({"code": code, "seconds": seconds, "mb": (peak - before) / 1024}))
"""


def measured(path: Path) -> dict[str, object]:
    """Inspect ``path`` in a fresh process: its answer, seconds, and peak memory growth (MB)."""
    done = subprocess.run(
        [sys.executable, "-c", MEASURE, str(path)],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    return json.loads(done.stdout)


@pytest.fixture(scope="module")
def bombs(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Path]:
    folder = tmp_path_factory.mktemp("bombs")
    jpeg = folder / "progressive.jpg"
    jpeg.write_bytes(progressive_jpeg_bomb(15000, 15000, scans=150))
    return {"jpeg": jpeg, "png": zero_png_bomb(folder / "zero.png", 15800)}


@pytest.mark.parametrize("kind", ["jpeg", "png"])
def test_bombs_are_refused_in_milliseconds_without_memory(
    bombs: dict[str, Path], kind: str
) -> None:
    """Before: the JPEG (46 KB) took 10 s and 433 MB, the PNG (0.97 MB) 8 s and 950 MB."""
    size = bombs[kind].stat().st_size
    assert size < 50_000 if kind == "jpeg" else size < 1_000_000

    result = measured(bombs[kind])

    assert result["code"] == "invalid_image"
    assert result["seconds"] < 1
    assert result["mb"] < 50


def test_bomb_details_say_why(bombs: dict[str, Path]) -> None:
    with pytest.raises(MediaError) as caught:
        inspect_image(bombs["jpeg"])
    assert "scans" in caught.value.detail and "decompression bomb" in caught.value.detail
    with pytest.raises(MediaError) as caught:
        inspect_image(bombs["png"])
    assert "15800x15800" in caught.value.detail


@pytest.mark.parametrize(("scans", "refused"), [(10, False), (11, True)])
def test_the_scan_limit_is_pixels_times_scans(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path, scans: int, refused: bool
) -> None:
    monkeypatch.setattr(images, "MAX_SCAN_PIXELS", 1024 * 1024 * 10)
    path = tmp_path / "scans.jpg"
    path.write_bytes(progressive_jpeg_bomb(1024, 1024, scans=scans))

    if refused:
        with pytest.raises(MediaError) as caught:
            inspect_image(path)
        assert "more than 10 scans" in caught.value.detail
    else:
        assert inspect_image(path).width == 1024


def test_a_small_image_may_have_many_scans(tmp_path: Path) -> None:
    path = tmp_path / "small.jpg"
    path.write_bytes(progressive_jpeg_bomb(512, 512, scans=300))

    info = inspect_image(path, thumbnail_px=640)

    assert (info.width, info.height) == (512, 512)
    assert info.thumbnail is not None


def test_a_progressive_photo_made_by_pillow_is_accepted_with_its_thumbnail(
    tmp_path: Path,
) -> None:
    path = tmp_path / "progressive.jpg"
    noise = Image.effect_noise((3000, 2000), 60).convert("RGB")
    noise.save(path, "JPEG", quality=90, progressive=True)

    info = inspect_image(path, thumbnail_px=640)

    assert (info.media_type, info.width, info.height) == ("image/jpeg", 3000, 2000)
    with Image.open(io.BytesIO(info.thumbnail or b"")) as thumbnail:
        assert thumbnail.size == (640, 427)


def test_the_scan_count_ignores_an_exif_thumbnail(tmp_path: Path) -> None:
    """Only SOS markers after the frame's first scan count: a JPEG inside APP1 (an EXIF
    thumbnail) or FF DA bytes in any segment before it are not scans."""
    filler = b"\xff\xda" * 5000
    app1 = b"\xff\xe1" + (len(filler) + 2).to_bytes(2, "big") + filler
    data = progressive_jpeg_bomb(4096, 4096, scans=2)
    path = tmp_path / "app1.jpg"
    path.write_bytes(data[:2] + app1 + data[2:])

    assert images._jpeg_frame(path) is not None
    assert inspect_image(path).width == 4096


def test_a_jpeg_of_one_scan_per_component_counts_its_coefficient_buffer(
    monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """libjpeg buffers all coefficients (2 bytes per pixel per component) of a JPEG whose
    first scan lacks a component (measured: 579 MB at 10000 x 10000 x 3, 642 MB estimated);
    a camera's interleaved baseline JPEG of the same size needs no such buffer."""
    separate = tmp_path / "separate.jpg"
    separate.write_bytes(sequential_jpeg(1024, 1024))
    interleaved = tmp_path / "interleaved.jpg"
    Image.new("RGB", (1024, 1024), "grey").save(interleaved, "JPEG")
    assert images._jpeg_buffer_bytes(separate, 1024, 1024) == 3 * 1024 * 1024 * 2
    assert images._jpeg_buffer_bytes(interleaved, 1024, 1024) == 0
    monkeypatch.setattr(images, "DECODE_MEMORY", images.DecodeMemory(20 * 10**6))

    assert inspect_image(interleaved).width == 1024
    with pytest.raises(MediaError) as caught:
        inspect_image(separate)
    assert "MB" in caught.value.detail


def test_a_png_at_the_pixel_limit_decodes_within_bounds(tmp_path: Path) -> None:
    """The worst PNG let through: 8192 x 8192 RGBA zeros (256 MB of pixels)."""
    path = zero_png_bomb(tmp_path / "limit.png", 8192, rows_per_block=128)

    result = measured(path)

    assert result["code"] is None
    assert result["seconds"] < 10
    assert result["mb"] < 400
