"""Photos for the photo tests, made here with Pillow: a camera-like JPEG carrying EXIF (its
orientation, the camera's name and a GPS position), a comment and an ICC profile, and the
readers that tell what a stored photo still carries."""

from __future__ import annotations

import io

from PIL import Image

__all__ = [
    "GPS_IFD",
    "camera_jpeg",
    "exif_of",
    "jpeg_segments",
    "png",
]

#: The EXIF tag of the GPS sub-directory (its latitude and longitude give away where a photo
#: was taken: a base station site's location is not for the public).
GPS_IFD = 0x8825
_ORIENTATION = 0x0112
_MAKE = 0x010F


def camera_jpeg(width: int = 640, height: int = 480, *, orientation: int = 1) -> bytes:
    """A JPEG as a phone camera writes one: the picture (red left half, blue right half, so a
    rotation shows), EXIF with the orientation, the make and a GPS position (22°48′N
    108°22′E, Nanning), a comment and an ICC profile."""
    picture = Image.new("RGB", (width, height), (200, 30, 30))
    picture.paste((20, 40, 200), (width // 2, 0, width, height))
    exif = Image.Exif()
    exif[_ORIENTATION] = orientation
    exif[_MAKE] = "TestCam"
    gps = exif.get_ifd(GPS_IFD)
    gps.update({1: "N", 2: (22.0, 48.0, 0.0), 3: "E", 4: (108.0, 22.0, 0.0)})
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=90, exif=exif, comment=b"site xingning",
                 icc_profile=b"\0" * 128)  # fmt: skip
    return out.getvalue()


def png(width: int = 64, height: int = 48, *, alpha: bool = False) -> bytes:
    picture = Image.new(
        "RGBA" if alpha else "RGB", (width, height), (0, 128, 0, 0 if alpha else 255)
    )
    out = io.BytesIO()
    picture.save(out, "PNG")
    return out.getvalue()


def exif_of(data: bytes) -> dict[int, object]:
    """The EXIF tags a decoder finds in ``data``, the GPS directory's included."""
    with Image.open(io.BytesIO(data)) as picture:
        exif = picture.getexif()
        found: dict[int, object] = dict(exif)
        gps = exif.get_ifd(GPS_IFD)
        if gps:
            found[GPS_IFD] = dict(gps)
        return found


def jpeg_segments(data: bytes) -> list[int]:
    """The markers of a JPEG's segments before its image data (0xE1 is APP1: EXIF or XMP,
    0xE2 APP2: ICC, 0xFE a comment)."""
    assert data[:2] == b"\xff\xd8", "not a JPEG"
    markers = []
    at = 2
    while at < len(data):
        assert data[at] == 0xFF, f"no segment at byte {at}"
        marker = data[at + 1]
        markers.append(marker)
        if marker == 0xDA:  # start of scan: the image data follows
            break
        at += 2 + int.from_bytes(data[at + 2 : at + 4], "big")
    return markers
