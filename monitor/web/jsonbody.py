"""Decode a JSON request body defensively: strict UTF-8, bounded nesting, no lone surrogates,
no NaN, Infinity or numbers out of range, so hostile input is a clear refusal (HTTP 400), never a
server error.

Python's ``json`` accepts things that fail later, far from the request: an escaped lone
surrogate (``"\\ud800"``) decodes to a string that cannot be written as UTF-8 to a database or
a response; nesting thousands of levels deep exhausts the recursion limit (the C decoder
stops with RecursionError within about a thousand levels, having read only that many
characters); ``NaN`` compares false with every threshold. The checks after parsing run only
when a cheap scan of the raw bytes says they could find something.
"""

from __future__ import annotations

import json
import math
import re
from typing import Any

__all__ = ["MAX_DEPTH", "MAX_DIGITS", "MalformedJson", "parse_json"]

#: Arrays and objects inside one another. A request of this project nests three or four deep.
MAX_DEPTH = 32
#: Digits of one integer (int() itself refuses more than 4,300).
MAX_DIGITS = 100

# \uD800–\uDFFF written as an escape: the only way a surrogate gets into a decoded string.
_SURROGATE_ESCAPE = re.compile(rb"\\u[dD][89a-fA-F]")
_SURROGATE = re.compile("[\ud800-\udfff]")


class MalformedJson(ValueError):
    """The body is not acceptable JSON; the message says why and quotes none of it."""


def parse_json(raw: bytes, *, max_depth: int = MAX_DEPTH) -> Any:
    """The value of ``raw``, a UTF-8 JSON text (RFC 8259). Raises MalformedJson."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise MalformedJson(f"the body is not UTF-8 (byte {exc.start})") from None
    try:
        value = json.loads(
            text, parse_constant=_refuse_constant, parse_int=_bounded_int, parse_float=_finite_float
        )
    except RecursionError:
        raise MalformedJson(_too_deep(max_depth)) from None
    except json.JSONDecodeError as exc:
        raise MalformedJson(f"the body is not JSON: {exc.msg} at character {exc.pos}") from None
    except ValueError as exc:
        raise MalformedJson(f"the body is not JSON: {exc}") from None
    if raw.count(b"[") + raw.count(b"{") > max_depth and _deeper_than(value, max_depth):
        raise MalformedJson(_too_deep(max_depth))
    if _SURROGATE_ESCAPE.search(raw) and _has_surrogate(value):
        raise MalformedJson("the body has a string with a lone UTF-16 surrogate escape")
    return value


def _too_deep(max_depth: int) -> str:
    return f"the body nests arrays and objects deeper than {max_depth} levels"


def _refuse_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a JSON number")


def _bounded_int(digits: str) -> int:
    if len(digits.lstrip("-")) > MAX_DIGITS:
        raise ValueError(f"an integer has more than {MAX_DIGITS} digits")
    return int(digits)


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError("a number is too large for a double")
    return value


def _deeper_than(value: Any, max_depth: int) -> bool:
    """Whether containers nest past ``max_depth``; level by level, without recursion."""
    level = [value]
    for _ in range(max_depth):
        deeper: list[Any] = []
        for item in level:
            children = item.values() if isinstance(item, dict) else item
            deeper += [c for c in children if isinstance(c, dict | list)]
        if not deeper:
            return False
        level = deeper
    return True


def _has_surrogate(value: Any) -> bool:
    # A strictly decoded text holds no surrogate code points and json joins an escaped pair
    # into one character, so a surrogate left in a string is a lone escaped one.
    pending = [value]
    while pending:
        item = pending.pop()
        if isinstance(item, str):
            if _SURROGATE.search(item):
                return True
        elif isinstance(item, dict):
            pending += item.keys()
            pending += item.values()
        elif isinstance(item, list):
            pending += item
    return False
