"""Exposition text kept compressed, and gzip bodies put together from it without compressing
it again.

At 10,000 devices the daemon keeps some 450 MB of exposition text between scrapes, nearly all
of it the names and labels before each value. A part of that text of ``PACK_AT`` characters or
more is kept packed: deflated on its own (RFC 1951, raw, ISA-L's fastest level) and ended by
a full flush, which makes it end byte-aligned in a block that is not the last and makes what
follows refer to nothing before it (one stream per thread serves every text); then the
CRC-32 and the length of
its UTF-8 text, as a gzip member's trailer has them (RFC 1952 §2.3). A shorter part stays
text: on its own it would hardly shrink (a part of some 100 characters does not).

Because a packed part stands alone, a gzip body is the gzip header, each packed part's data
as it is kept, the text parts between them deflated on the spot the same way, an empty final
block, and the CRC-32 of the whole (combined from the parts') with its length: one member, as
pigz writes them, which any gzip reader takes. A scrape in gzip so deflates only the short
parts; a scrape in text inflates the packed ones. Deflated a part at a time, the body is about
twice what deflating the whole text in one go makes, with nothing forgotten between parts
(38 against 19 MB at 10,000 devices).
"""

from __future__ import annotations

import struct
import threading
from collections.abc import Iterable, Iterator
from itertools import groupby

from isal import isal_zlib

__all__ = [
    "PACK_AT",
    "PIECE",
    "GzipMember",
    "Part",
    "gzipped",
    "pack",
    "pack_lines",
    "text_bytes",
    "text_size",
    "unpack",
]

#: A text part of this many characters or more is kept packed.
PACK_AT = 512
#: A long text (a family of the process's own, one series per asset) is packed in pieces of
#: about this many characters (``pack_lines``), so that no part of a body is much larger
#: than a chunk of it: a scrape in text inflates a part whole, and its writer copies it once
#: more.
PIECE = 1 << 18

#: Deflate level: ISA-L's fastest (level 0 compresses less for no speed).
_LEVEL = 1
#: Raw deflate: no zlib or gzip wrapper around a part.
_RAW = -15

_TRAILER = struct.Struct("<II")

#: A part of exposition: text, or that text packed (``pack``): any ``bytes`` part is packed.
Part = str | bytes

#: The gzip header (RFC 1952 §2.3): deflate, no flags, no time, no extra flags, unknown OS.
_GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"
#: A final deflate block holding nothing (fixed Huffman codes, end of block at once).
_FINAL_BLOCK = b"\x03\x00"


class _Compressor(threading.local):
    """A raw deflate stream per thread that never ends: each text goes in and is flushed out
    with a full flush, which also forgets what came before (RFC 1951 blocks that refer to
    nothing before them). Making a compressor for each text cost more than compressing it,
    the texts being short and a scrape in gzip deflating some 300,000 of them."""

    def __init__(self) -> None:
        self.stream = isal_zlib.compressobj(_LEVEL, isal_zlib.DEFLATED, _RAW)


_COMPRESSOR = _Compressor()


def _deflated(data: bytes) -> bytes:
    """``data`` as deflate blocks that end byte-aligned and refer to nothing before them."""
    stream = _COMPRESSOR.stream
    try:
        return stream.compress(data) + stream.flush(isal_zlib.Z_FULL_FLUSH)
    except BaseException:
        # Part of ``data`` may be in the stream still: it must not begin the next text.
        _COMPRESSOR.stream = isal_zlib.compressobj(_LEVEL, isal_zlib.DEFLATED, _RAW)
        raise


def pack(text: str) -> Part:
    """``text`` packed when it is ``PACK_AT`` characters or more, else ``text`` itself."""
    if len(text) < PACK_AT:
        return text
    data = text.encode()
    return _deflated(data) + _TRAILER.pack(isal_zlib.crc32(data), len(data))


def pack_lines(text: str) -> list[Part]:
    """``text`` packed (``pack``) in pieces of ``PIECE`` characters or a line more, each
    ending where a line ends."""
    pieces: list[Part] = []
    start, size = 0, len(text)
    while start < size:
        end = text.find("\n", start + PIECE - 1) + 1 or size
        pieces.append(pack(text[start:end]))
        start = end
    return pieces


def _inflated(part: bytes) -> bytes:
    return isal_zlib.decompressobj(_RAW).decompress(memoryview(part)[: -_TRAILER.size])


def unpack(part: Part) -> str:
    """The text of ``part``."""
    if isinstance(part, str):
        return part
    return _inflated(part).decode()


def text_size(part: Part) -> int:
    """How long the text of ``part`` is: its characters, or the bytes of UTF-8 it packs."""
    if isinstance(part, str):
        return len(part)
    size: int = _TRAILER.unpack_from(part, len(part) - _TRAILER.size)[1]
    return size


def _runs(parts: Iterable[Part]) -> Iterator[Part]:
    """``parts`` in order, each run of text parts joined into one. (Grouped by their type, in
    C: a part is a ``str`` or a ``bytes``, never a subclass of either.)"""
    for kind, run in groupby(parts, type):
        if kind is str:
            yield "".join(run)  # type: ignore[arg-type]
        else:
            yield from run


def text_bytes(parts: Iterable[Part]) -> bytes:
    """The text of ``parts`` in UTF-8, one after another: a packed part's as it inflates."""
    return b"".join(
        run.encode() if isinstance(run, str) else _inflated(run) for run in _runs(parts)
    )


def gzipped(data: bytes) -> bytes:
    """``data`` as one gzip member, made as a body of exposition parts is."""
    crc = isal_zlib.crc32(data)
    trailer = _TRAILER.pack(crc, len(data) & 0xFFFFFFFF)
    return _GZIP_HEADER + _deflated(data) + _FINAL_BLOCK + trailer


class GzipMember:
    """One gzip member made of exposition parts, written out as it goes: ``add`` returns what
    comes next in the body, ``end`` the rest. A packed part goes in as it is kept; text parts
    are deflated, a run of them at a time (``add`` takes a chunk's worth of parts in order).
    One member serves one body, one ``add`` after another."""

    __slots__ = ("_crc", "_size", "_started")

    def __init__(self) -> None:
        self._crc = 0
        self._size = 0
        self._started = False

    def add(self, parts: Iterable[Part]) -> bytes:
        """The body's bytes for ``parts``, after those of every part added before."""
        out: list[bytes] = []
        if not self._started:
            out.append(_GZIP_HEADER)
            self._started = True
        crc, size, trailer = self._crc, self._size, _TRAILER.size
        # Bound once: a scrape at 10,000 devices goes round this loop some 100,000 times.
        append, combine, read_trailer = out.append, isal_zlib.crc32_combine, _TRAILER.unpack_from
        for run in _runs(parts):
            if isinstance(run, str):
                data = run.encode()
                if not data:
                    continue
                append(_deflated(data))
                run_crc, run_size = isal_zlib.crc32(data), len(data)
            else:
                # A copy of a part's deflate data costs less than a view of it at the size of
                # most (some hundreds of bytes); the join below copies either.
                cut = len(run) - trailer
                append(run[:cut])
                run_crc, run_size = read_trailer(run, cut)
            crc = combine(crc, run_crc, run_size)
            size += run_size
        self._crc, self._size = crc, size
        return b"".join(out)

    def end(self) -> bytes:
        """The rest of the body: the final block and the trailer."""
        head = b"" if self._started else _GZIP_HEADER
        self._started = True
        return head + _FINAL_BLOCK + _TRAILER.pack(self._crc, self._size & 0xFFFFFFFF)
