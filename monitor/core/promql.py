"""Scoping a PromQL expression to one label: add a matcher to every series selector and the
label to every ``by (…)`` / ``on (…)`` list.

A region's VictoriaMetrics holds the series of many centres, told apart by the ``centre``
label their Prometheus adds on the way out (``external_labels``). An expression written for
one centre's Prometheus reads the right series there once every selector carries
``centre="nanning"`` (or ``centre=~"$centre"`` on a board), and keeps the centres apart once
every aggregation and vector match keeps ``centre`` as well (an empty ``on ()`` stays empty:
it matches anything on purpose) (``max by (site)`` would merge two
centres' sites of the same name; ``on (site)`` would match them many-to-many). In a centre's
own Prometheus the label is absent, and ``=~".*"`` matches absent, so one expression serves
both.

This is a scanner, not a parser: it knows strings, comments, ``{…}`` matchers, ``[…]`` ranges,
numbers and durations, Grafana's ``$variables``, the grouping keywords and what an identifier
followed by ``(`` is (a function or an aggregation), which is all it takes to find the
selectors. It never changes what is inside a string.
"""

from __future__ import annotations

import re
from typing import Final

__all__ = ["scope"]

_IDENT: Final = re.compile(r"[A-Za-z_:][A-Za-z0-9_:]*")
_NUMBER: Final = re.compile(
    r"(?:0[xX][0-9a-fA-F]+|[0-9]*\.?[0-9]+(?:[eE][+-]?[0-9]+)?)[A-Za-z0-9]*"
)
_VARIABLE: Final = re.compile(r"\$(?:\{[^}]*\}|[A-Za-z0-9_]+)")
_LABEL_MATCHER: Final = re.compile(r"\s*([A-Za-z_][A-Za-z0-9_]*)\s*(?:=~|!~|!=|=)")

#: Keywords followed by a list of label names.
_LISTS: Final = frozenset({"by", "without", "on", "ignoring", "group_left", "group_right"})
#: The lists that decide which labels survive: ``label`` is added to them.
_KEEPING: Final = frozenset({"by", "on"})
_OPERATORS: Final = frozenset({"and", "or", "unless", "bool", "offset", "atan2", "inf", "nan"})
_AGGREGATIONS: Final = frozenset(
    {
        "sum",
        "min",
        "max",
        "avg",
        "group",
        "stddev",
        "stdvar",
        "count",
        "count_values",
        "bottomk",
        "topk",
        "quantile",
        "limitk",
        "limit_ratio",
    }
)


def _skip_space(expr: str, i: int) -> int:
    while i < len(expr) and expr[i].isspace():
        i += 1
    return i


def _string_end(expr: str, i: int) -> int:
    """The index after the string literal that starts at ``i``."""
    quote = expr[i]
    i += 1
    while i < len(expr):
        if expr[i] == "\\" and quote != "`":
            i += 2
            continue
        if expr[i] == quote:
            return i + 1
        i += 1
    raise ValueError(f"unterminated string in {expr!r}")


def _closing(expr: str, i: int, opening: str, closing: str) -> int:
    """The index of the bracket that closes the one at ``i``, strings skipped."""
    depth = 0
    while i < len(expr):
        c = expr[i]
        if c in "\"'`":
            i = _string_end(expr, i)
            continue
        if c == opening:
            depth += 1
        elif c == closing:
            depth -= 1
            if depth == 0:
                return i
        i += 1
    raise ValueError(f"unbalanced {opening!r} in {expr!r}")


def _matched_labels(body: str) -> set[str]:
    """The label names a ``{…}`` body (without braces) already matches on."""
    names: set[str] = set()
    i = 0
    while i < len(body):
        m = _LABEL_MATCHER.match(body, i)
        if m is None:
            break
        names.add(m.group(1))
        i = m.end()
        i = _skip_space(body, i)
        if i < len(body) and body[i] in "\"'`":
            i = _string_end(body, i)
        i = _skip_space(body, i)
        if i < len(body) and body[i] == ",":
            i += 1
    return names


def _with_matcher(body: str, label: str, matcher: str) -> str:
    if label in _matched_labels(body):
        return body
    stripped = body.strip().rstrip(",").strip()
    return f"{stripped}, {matcher}" if stripped else matcher


def scope(expr: str, label: str, matcher: str) -> str:
    """``expr`` with ``matcher`` (e.g. ``centre=~"$centre"``, for ``label``) on every
    selector that does not match ``label`` yet, and ``label`` in every ``by``/``on`` list.

    Raises ValueError for an unbalanced bracket or an unterminated string."""
    out: list[str] = []
    i = 0
    n = len(expr)
    while i < n:
        c = expr[i]
        if c in "\"'`":
            j = _string_end(expr, i)
            out.append(expr[i:j])
            i = j
        elif c == "#":
            j = expr.find("\n", i)
            j = n if j < 0 else j
            out.append(expr[i:j])
            i = j
        elif c == "{":  # a selector without a name: {__name__="…"}
            j = _closing(expr, i, "{", "}")
            out.append("{" + _with_matcher(expr[i + 1 : j], label, matcher) + "}")
            i = j + 1
        elif c == "[":  # a range or subquery: durations and $variables only
            j = _closing(expr, i, "[", "]")
            out.append(expr[i : j + 1])
            i = j + 1
        elif c == "$":
            m = _VARIABLE.match(expr, i)
            j = m.end() if m else i + 1
            out.append(expr[i:j])
            i = j
        elif c.isdigit() or (c == "." and i + 1 < n and expr[i + 1].isdigit()):
            m = _NUMBER.match(expr, i)
            j = m.end() if m else i + 1
            out.append(expr[i:j])
            i = j
        elif (m := _IDENT.match(expr, i)) is not None:
            word = m.group(0)
            j = _skip_space(expr, m.end())
            follows = expr[j] if j < n else ""
            lower = word.lower()
            if lower in _LISTS and follows == "(":
                k = _closing(expr, j, "(", ")")
                names = [s.strip() for s in expr[j + 1 : k].split(",") if s.strip()]
                # An empty list matches everything on purpose (``x or on () vector(0)``).
                if lower in _KEEPING and names and label not in names:
                    names.append(label)
                out.append(f"{word} ({', '.join(names)})")
                i = k + 1
            elif (
                lower in _OPERATORS
                or lower in _LISTS
                or follows == "("
                or (lower in _AGGREGATIONS and _IDENT.match(expr, j) is not None)
            ):
                out.append(word)
                i = m.end()
            elif follows == "{":
                k = _closing(expr, j, "{", "}")
                out.append(word + "{" + _with_matcher(expr[j + 1 : k], label, matcher) + "}")
                i = k + 1
            else:
                out.append(word + "{" + matcher + "}")
                i = m.end()
        else:
            out.append(c)
            i += 1
    return "".join(out)
