"""What the store keeps of an uploaded photo: the type judged by the bytes, not the name; the
EXIF (with its GPS position), comment and ICC profile gone; the picture upright and at most
2048 pixels on its longest side; a thumbnail; the SHA-256 of exactly the stored bytes; and
pictures too large to decode safely refused before they are decoded."""

from __future__ import annotations

import hashlib
import io
import struct
import zlib

import pytest
from PIL import Image

from monitor.inspections.errors import TooLarge, UnsupportedMedia
from monitor.inspections.photos.image import (
    MAX_PIXELS,
    MAX_SIDE,
    MAX_UPLOAD_BYTES,
    THUMB_SIDE,
    prepare_photo,
    sniff,
)
from tests.photos import GPS_IFD, camera_jpeg, exif_of, jpeg_segments, png

APP1, APP2, COMMENT = 0xE1, 0xE2, 0xFE


def test_a_camera_jpeg_is_stored_without_its_exif_gps_comment_or_icc_profile() -> None:
    upload = camera_jpeg()
    assert exif_of(upload)[GPS_IFD] == {1: "N", 2: (22.0, 48.0, 0.0), 3: "E", 4: (108.0, 22.0, 0.0)}
    assert {APP1, APP2, COMMENT} <= set(jpeg_segments(upload))

    photo = prepare_photo(upload)

    assert exif_of(photo.content) == {}
    assert exif_of(photo.thumbnail) == {}
    for stored in (photo.content, photo.thumbnail):
        assert not {APP1, APP2, COMMENT} & set(jpeg_segments(stored))
        with Image.open(io.BytesIO(stored)) as picture:
            assert "icc_profile" not in picture.info
            assert "comment" not in picture.info
    assert photo.media_type == "image/jpeg"
    assert photo.sha256 == hashlib.sha256(photo.content).hexdigest()
    assert photo.size == len(photo.content)


def test_the_picture_is_turned_upright_by_its_exif_orientation() -> None:
    # Orientation 6: the camera was held turned; the picture is to be turned 90° clockwise.
    photo = prepare_photo(camera_jpeg(640, 480, orientation=6))
    assert (photo.width, photo.height) == (480, 640)
    with Image.open(io.BytesIO(photo.content)) as picture:
        rgb = picture.convert("RGB")
        # The red left half of the sensor is now the top half.
        top, bottom = rgb.getpixel((240, 100)), rgb.getpixel((240, 540))
    assert isinstance(top, tuple)
    assert isinstance(bottom, tuple)
    assert top[0] > 150 > top[2]
    assert bottom[2] > 150 > bottom[0]


def test_a_large_photo_is_scaled_to_the_longest_side_and_gets_a_thumbnail() -> None:
    photo = prepare_photo(camera_jpeg(4000, 3000))
    assert (photo.width, photo.height) == (MAX_SIDE, MAX_SIDE * 3 // 4)
    with Image.open(io.BytesIO(photo.thumbnail)) as thumb:
        assert thumb.size == (THUMB_SIDE, THUMB_SIDE * 3 // 4)
        assert thumb.format == "JPEG"
    small = prepare_photo(camera_jpeg(320, 240))
    assert (small.width, small.height) == (320, 240)


def test_the_same_upload_makes_the_same_stored_photo() -> None:
    upload = camera_jpeg()
    assert prepare_photo(upload).sha256 == prepare_photo(upload).sha256
    assert prepare_photo(upload).sha256 != prepare_photo(camera_jpeg(641, 480)).sha256


def test_a_png_is_kept_as_a_jpeg_on_white() -> None:
    photo = prepare_photo(png(alpha=True))
    assert photo.media_type == "image/jpeg"
    with Image.open(io.BytesIO(photo.content)) as picture:
        pixel = picture.convert("RGB").getpixel((5, 5))
    assert isinstance(pixel, tuple)
    assert min(pixel) > 240  # the transparent pixels are on white, not black


@pytest.mark.parametrize(
    ("data", "named"),
    [
        (b"GIF89a" + b"\0" * 64, "image/gif"),
        (b"\0\0\0\x18ftypheic" + b"\0" * 64, "image/heic"),
        (b"RIFF\0\0\0\0WEBPVP8 " + b"\0" * 64, "image/webp"),
        (b"%PDF-1.7\n" + b"\0" * 64, "application/pdf"),
        (b"<svg xmlns='http://www.w3.org/2000/svg'/>", None),
        (b"MZ\x90\0" + b"\0" * 64, None),
        (b"", None),
    ],
    ids=["gif", "heic", "webp", "pdf", "svg", "exe", "empty"],
)
def test_anything_but_a_jpeg_or_png_is_refused_by_its_content(
    data: bytes, named: str | None
) -> None:
    assert sniff(data) == named
    with pytest.raises(UnsupportedMedia, match="only JPEG or PNG") as caught:
        prepare_photo(data)
    assert caught.value.status == 415
    if named:
        assert named in str(caught.value)


def test_a_corrupt_jpeg_is_refused_as_unreadable() -> None:
    truncated = camera_jpeg()[:300]
    with pytest.raises(UnsupportedMedia, match="cannot be read"):
        prepare_photo(truncated)
    with pytest.raises(UnsupportedMedia, match="cannot be read"):
        prepare_photo(b"\xff\xd8\xff\xe0" + b"garbage" * 20)


def _png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG that declares a huge picture: its header and one empty compressed block."""

    def chunk(kind: bytes, body: bytes) -> bytes:
        return (struct.pack(">I", len(body)) + kind + body
                + struct.pack(">I", zlib.crc32(kind + body)))  # fmt: skip

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return (b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header)
            + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b""))  # fmt: skip


# 8000²: past our bound, under Pillow's own; 10000²: past its warning; 60000²: past its refusal.
@pytest.mark.parametrize("side", [8_000, 10_000, 60_000])
def test_a_picture_declaring_too_many_pixels_is_refused_before_it_is_decoded(side: int) -> None:
    bomb = _png_header_only(side, side)
    assert len(bomb) < 100
    assert side * side > MAX_PIXELS
    with pytest.raises(TooLarge) as caught:
        prepare_photo(bomb)
    assert caught.value.status == 413
    assert "pixels" in str(caught.value)


def test_an_upload_over_the_byte_limit_is_refused_unread() -> None:
    with pytest.raises(TooLarge, match="over 16 MB"):
        prepare_photo(b"\xff\xd8\xff" + bytes(MAX_UPLOAD_BYTES))
