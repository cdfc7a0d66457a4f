"""Packed exposition parts read back as their text, and a gzip member put together from packed
and text parts is what gzip readers take: Python's gzip and zlib (one member, nothing after
it) and GNU gzip (``gzip -t`` checks the CRC-32 and the length)."""

from __future__ import annotations

import gzip
import shutil
import subprocess
import zlib

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.exposition.packed import (
    PACK_AT,
    PIECE,
    GzipMember,
    Part,
    pack,
    pack_lines,
    text_bytes,
    text_size,
    unpack,
)

#: Lines as the exposition has them, Chinese labels among them (UTF-8 longer than the text).
line = st.builds(
    lambda name, site, value: f'trunkwatch_{name}{{site="{site}"}} {value}\n',
    st.sampled_from(["x", "if_oper_status", "bs_rssi_dbm"]),
    st.text(min_size=0, max_size=12),
    st.integers(-(2**63), 2**63),
)
text = st.lists(line, max_size=60).map("".join)


@settings(max_examples=200, deadline=None)
@given(text)
def test_a_part_reads_back_as_its_text(written: str) -> None:
    part = pack(written)
    assert unpack(part) == written
    assert text_size(part) == (len(written) if part is written else len(written.encode()))
    if len(written) < PACK_AT:
        assert part is written
    else:
        assert isinstance(part, bytes)


def test_a_long_part_is_kept_smaller_than_its_text() -> None:
    written = "".join(f'trunkwatch_x{{site="南宁",asset="bs-{i}"}} {i}\n' for i in range(100))
    part = pack(written)
    assert isinstance(part, bytes)
    assert len(part) * 4 < len(written.encode())
    assert pack(written[: PACK_AT - 1]) == written[: PACK_AT - 1]


def test_a_part_packed_after_others_refers_to_none_of_them() -> None:
    # The texts go through one deflate stream; had it remembered the one before, the second
    # would be mostly references to it, and inflate on its own would fail or read wrong.
    written = "".join(f'trunkwatch_x{{site="南宁",asset="bs-{i}"}} {i}\n' for i in range(100))
    first, second = pack(written), pack(written)
    assert isinstance(first, bytes)
    assert isinstance(second, bytes)
    assert unpack(second) == written
    assert len(second) >= len(first) - 8


@settings(max_examples=100, deadline=None)
@given(st.lists(st.tuples(text, st.booleans()), max_size=8))
def test_the_text_bytes_of_parts_are_their_texts_in_utf8(written: list[tuple[str, bool]]) -> None:
    parts = [pack(t) if packed else t for t, packed in written]
    assert text_bytes(parts) == "".join(t for t, _ in written).encode()


def body(chunks: list[list[Part]]) -> bytes:
    member = GzipMember()
    return b"".join(member.add(chunk) for chunk in chunks) + member.end()


@settings(max_examples=200, deadline=None)
@given(st.lists(st.lists(st.tuples(text, st.booleans()), max_size=6), max_size=5))
def test_a_member_of_packed_and_text_parts_is_their_text_gzipped(
    chunks: list[list[tuple[str, bool]]],
) -> None:
    # Each chunk as the scrape hands it over: some parts packed, some text, some empty.
    parts = [[pack(t) if packed else t for t, packed in chunk] for chunk in chunks]
    expected = "".join(t for chunk in chunks for t, _ in chunk).encode()
    made = body(parts)
    assert gzip.decompress(made) == expected
    reader = zlib.decompressobj(31)
    assert reader.decompress(made) == expected
    assert reader.eof
    assert reader.unused_data == b""


def test_gnu_gzip_takes_the_member_and_checks_its_crc() -> None:
    gnu = shutil.which("gzip")
    assert gnu is not None, "GNU gzip is installed by .ci/run"
    lines = [f'trunkwatch_x{{site="南宁{i}",asset="bs-{i}"}} {i}\n' for i in range(20_000)]
    parts: list[Part] = [pack("".join(lines[i : i + 50])) for i in range(0, 10_000, 50)]
    parts += lines[10_000:]
    made = body([parts[:150], parts[150:], []])
    expected = "".join(lines).encode()
    done = subprocess.run([gnu, "-dc"], input=made, capture_output=True, check=True)
    assert done.stdout == expected
    # A part whose kept CRC-32 is wrong makes the whole member's wrong: gzip says so.
    first = parts[0]
    assert isinstance(first, bytes)
    broken = first[:-8] + bytes([first[-8] ^ 1]) + first[-7:]
    bad = body([[broken, *parts[1:]]])
    checked = subprocess.run([gnu, "-t"], input=bad, capture_output=True)
    assert checked.returncode == 1
    assert b"crc error" in checked.stderr.lower()
    with pytest.raises(gzip.BadGzipFile):
        gzip.decompress(bad)


def test_an_empty_member_is_an_empty_body() -> None:
    assert gzip.decompress(body([])) == b""
    assert gzip.decompress(body([[""], []])) == b""


def test_a_long_text_is_packed_in_pieces_that_end_where_lines_end() -> None:
    lines = [
        f'trunkwatch_inspection_state{{asset="bs-{i}",state="done"}} 1\n' for i in range(20_000)
    ]
    written = "".join(lines)
    pieces = pack_lines(written)
    assert len(written) // PIECE <= len(pieces) <= len(written) // PIECE + 1
    texts = [unpack(piece) for piece in pieces]
    assert "".join(texts) == written
    longest = max(map(len, lines))
    assert all(t.endswith("\n") and PIECE <= len(t) < PIECE + longest for t in texts[:-1])
    assert pack_lines(written[:1000]) == [pack(written[:1000])]
    assert pack_lines("no line end " * 30_000) == [pack("no line end " * 30_000)]
