"""A photo as the store keeps it, made from the bytes a tablet uploaded: its type judged by
its content (magic bytes), never by the name or Content-Type the client sent; its size bounded
before it is decoded; turned upright by its EXIF orientation; re-encoded as a JPEG without any
metadata (EXIF with its GPS position, XMP, ICC profile, comments); with a thumbnail; named by
the SHA-256 of the stored bytes, so one picture uploaded twice is kept once.

Pillow is imported here and nowhere else, and only when a photo arrives: a daemon that never
takes one does not carry it. What it cannot read becomes ``UnsupportedMedia``.
"""

from __future__ import annotations

import hashlib
import io
import warnings
from dataclasses import dataclass
from typing import TYPE_CHECKING

from monitor.inspections.errors import TooLarge, UnsupportedMedia

__all__ = [
    "JPEG",
    "MAX_PHOTOS_PER_ITEM",
    "MAX_PIXELS",
    "MAX_SIDE",
    "MAX_UPLOAD_BYTES",
    "THUMB_SIDE",
    "StoredPhoto",
    "prepare_photo",
    "sniff",
]

JPEG = "image/jpeg"
PNG = "image/png"
#: One upload: a photo the page scaled is a few hundred kB; a camera's original (the page's
#: script off) a few MB.
MAX_UPLOAD_BYTES = 16 * 1024 * 1024
#: The most pixels a photo may declare before it is decoded (a 50-megapixel camera): a small
#: file can declare a huge picture, and decoding it would take that much memory.
MAX_PIXELS = 50_000_000
#: The stored photo's longest side, and its thumbnail's, in pixels.
MAX_SIDE = 2048
THUMB_SIDE = 240
#: Photos on one checklist item of one round.
MAX_PHOTOS_PER_ITEM = 4
_QUALITY = 85
_THUMB_QUALITY = 80

#: What the first bytes of a file say it is: the types kept, and some that are refused by name.
_SIGNATURES: tuple[tuple[bytes, int, str], ...] = (
    (b"\xff\xd8\xff", 0, JPEG),
    (b"\x89PNG\r\n\x1a\n", 0, PNG),
    (b"GIF8", 0, "image/gif"),
    (b"WEBP", 8, "image/webp"),
    (b"ftypheic", 4, "image/heic"),
    (b"ftypheix", 4, "image/heic"),
    (b"ftypmif1", 4, "image/heif"),
    (b"ftypavif", 4, "image/avif"),
    (b"%PDF", 0, "application/pdf"),
)
_ACCEPTED = {JPEG: "JPEG", PNG: "PNG"}

if TYPE_CHECKING:
    from PIL import Image


@dataclass(frozen=True, slots=True)
class StoredPhoto:
    """A photo ready for the store: its bytes, their SHA-256, its size and its thumbnail."""

    sha256: str
    media_type: str
    width: int
    height: int
    content: bytes
    thumbnail: bytes

    @property
    def size(self) -> int:
        return len(self.content)


def sniff(data: bytes) -> str | None:
    """The media type the content starts like, or None."""
    for magic, offset, media_type in _SIGNATURES:
        if data[offset : offset + len(magic)] == magic:
            return media_type
    return None


def prepare_photo(data: bytes) -> StoredPhoto:
    """Check an uploaded photo and make what the store keeps of it. Raises UnsupportedMedia
    (not a JPEG or PNG picture, or an unreadable one) or TooLarge (bytes or pixels)."""
    if len(data) > MAX_UPLOAD_BYTES:
        raise TooLarge(f"照片过大 / the photo is over {MAX_UPLOAD_BYTES // 2**20} MB")
    media_type = sniff(data)
    if media_type not in _ACCEPTED:
        found = f" ({media_type})" if media_type else ""
        raise UnsupportedMedia(
            f"只接受 JPEG 或 PNG 照片 / only JPEG or PNG photos are accepted{found}"
        )
    from PIL import Image, UnidentifiedImageError

    try:
        with warnings.catch_warnings():
            # Pillow warns of, then refuses, pictures past its own pixel bound; ours is lower.
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            with Image.open(io.BytesIO(data), formats=(_ACCEPTED[media_type],)) as source:
                width, height = source.size
                if width * height > MAX_PIXELS:
                    raise TooLarge(
                        f"照片像素过多 / the photo has {width}×{height} pixels, "
                        f"more than {MAX_PIXELS // 1_000_000} megapixels"
                    )
                # A JPEG decodes straight to a fraction of its size (1/2 … 1/8) when that is
                # still larger than what is kept: less memory, less time.
                source.draft("RGB", (MAX_SIDE, MAX_SIDE))
                picture = _upright(source)
    except (Image.DecompressionBombWarning, Image.DecompressionBombError) as exc:
        raise TooLarge(f"照片像素过多 / the photo has too many pixels: {exc}") from None
    except (UnidentifiedImageError, OSError, ValueError, SyntaxError) as exc:
        # Pillow reports a truncated or corrupt file as one of these.
        raise UnsupportedMedia(f"照片无法读取 / the photo cannot be read: {exc}") from None
    picture.thumbnail((MAX_SIDE, MAX_SIDE), Image.Resampling.LANCZOS)
    content = _jpeg(picture, _QUALITY)
    thumb = picture.copy()
    thumb.thumbnail((THUMB_SIDE, THUMB_SIDE), Image.Resampling.LANCZOS)
    return StoredPhoto(
        sha256=hashlib.sha256(content).hexdigest(),
        media_type=JPEG,
        width=picture.width,
        height=picture.height,
        content=content,
        thumbnail=_jpeg(thumb, _THUMB_QUALITY),
    )


def _upright(source: Image.Image) -> Image.Image:
    """The decoded picture as the camera held it, in RGB on white, with no metadata."""
    from PIL import Image, ImageOps

    source.load()
    turned = ImageOps.exif_transpose(source)
    if turned.mode in ("RGBA", "LA", "P", "PA"):
        rgba = turned.convert("RGBA")
        flat = Image.new("RGB", rgba.size, (255, 255, 255))
        flat.paste(rgba, mask=rgba.getchannel("A"))
        turned = flat
    elif turned.mode != "RGB":
        turned = turned.convert("RGB")
    # A new picture from the pixels alone: nothing of the file's EXIF, XMP, ICC profile or
    # comments travels with it into the encoder.
    clean = Image.new("RGB", turned.size)
    clean.paste(turned)
    return clean


def _jpeg(picture: Image.Image, quality: int) -> bytes:
    out = io.BytesIO()
    picture.save(out, "JPEG", quality=quality, optimize=True)
    return out.getvalue()
