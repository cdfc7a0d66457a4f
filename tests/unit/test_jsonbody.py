"""Request bodies: what the defensive JSON decoder accepts, and the reason it gives for each
kind of hostile input (bounded in size, never a crash)."""

from __future__ import annotations

import json

import pytest

from monitor.web.jsonbody import MAX_DEPTH, MalformedJson, parse_json


@pytest.mark.parametrize(
    ("raw", "value"),
    [
        (b'{"plan": "monthly-power", "items": {"v": {"value": 54.2, "note": ""}}}',
         {"plan": "monthly-power", "items": {"v": {"value": 54.2, "note": ""}}}),
        ('{"note": "电池鼓胀 😀"}'.encode(), {"note": "电池鼓胀 😀"}),
        (b'{"note": "\\ud83d\\ude00"}', {"note": "😀"}),  # an escaped pair is one character
        (b'{"path": "\\\\ud800"}', {"path": "\\ud800"}),  # an escaped backslash, then text
        (b'{"s": "[[[[{{{{"}', {"s": "[[[[{{{{"}),
        (b"[" * MAX_DEPTH + b"]" * MAX_DEPTH, json.loads("[" * MAX_DEPTH + "]" * MAX_DEPTH)),
        (b"-" + b"9" * 100, -int("9" * 100)),
    ],
    ids=["round", "utf8", "pair", "escaped-backslash", "brackets-in-string", "max-depth",
         "100-digits"],
)  # fmt: skip
def test_ordinary_bodies_decode(raw: bytes, value: object) -> None:
    assert parse_json(raw) == value


@pytest.mark.parametrize(
    ("raw", "reason"),
    [
        (b'{"a": "\\ud800"}', "the body has a string with a lone UTF-16 surrogate escape"),
        (b'{"\\udc00": 1}', "the body has a string with a lone UTF-16 surrogate escape"),
        (b'["\\ude00\\ud83d"]', "the body has a string with a lone UTF-16 surrogate escape"),
        (b'{"a": "\xed\xa0\x80"}', "the body is not UTF-8 (byte 7)"),
        (b"[" * 200_000 + b"]" * 200_000, f"deeper than {MAX_DEPTH} levels"),
        (b'{"a":' * 200_000, f"deeper than {MAX_DEPTH} levels"),
        (b"[" * (MAX_DEPTH + 1) + b"]" * (MAX_DEPTH + 1), f"deeper than {MAX_DEPTH} levels"),
        (b"[NaN]", "the body is not JSON: NaN is not a JSON number"),
        (b'{"v": -Infinity}', "the body is not JSON: -Infinity is not a JSON number"),
        (b"[1e400]", "the body is not JSON: a number is too large for a double"),
        (b"9" * 5000, "the body is not JSON: an integer has more than 100 digits"),
        (b"{not json", "the body is not JSON: Expecting property name enclosed in double quotes"),
        (b"", "the body is not JSON: Expecting value at character 0"),
    ],
    ids=["lone-high", "lone-key", "reversed-pair", "raw-surrogate-bytes", "200k-deep",
         "200k-deep-objects", "one-too-deep", "nan", "infinity", "overflow", "5000-digits",
         "garbage", "empty"],
)  # fmt: skip
def test_hostile_bodies_are_refused_with_a_reason(raw: bytes, reason: str) -> None:
    with pytest.raises(MalformedJson) as caught:
        parse_json(raw)
    assert reason in str(caught.value)
