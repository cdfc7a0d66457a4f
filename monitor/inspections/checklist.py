"""Checklist items: automated conditions over live probe samples, readings typed in by a
technician (range check, and a discrepancy check against the live value where a probe
measures the same quantity), and yes/no confirmations.

An automated condition is a small expression, parsed here by hand and never evaluated as
code::

    [all|any] METRIC[{label="v", label!="v", label=~"re", label!~"re"}] (<|<=|>|>=|==|!=) NUMBER

``METRIC`` is a metric name or ``$alias`` (from the ``metrics:`` map of the configuration).
``all`` (the default) needs every matching series to satisfy the comparison, ``any`` at
least one. No matching series means the condition cannot be verified: the item is
``no_data``, which counts as a failure.
"""

from __future__ import annotations

import math
import operator
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from monitor.inspections.records import ItemKind, ItemResult, Outcome

__all__ = [
    "Accept",
    "Condition",
    "LabelMatcher",
    "LiveValue",
    "Selector",
    "Series",
    "evaluate",
    "judge_confirmation",
    "judge_reading",
    "live_mean",
    "parse_condition",
    "parse_selector",
]

#: One live series: its labels (the asset's own site/asset/system/kind included) and value.
Series = tuple[Mapping[str, str], float]

Comparison = Literal["<", "<=", ">", ">=", "==", "!="]
_COMPARE: dict[str, Callable[[float, float], bool]] = {
    "<": operator.lt,
    "<=": operator.le,
    ">": operator.gt,
    ">=": operator.ge,
    "==": operator.eq,
    "!=": operator.ne,
}

_TOKEN = re.compile(
    r"""
    \s*(?:
      (?P<number>[-+]?(?:\d+(?:\.\d*)?|\.\d+)(?:[eE][-+]?\d+)?)
    | (?P<name>\$?[A-Za-z_:][A-Za-z0-9_:]*)
    | (?P<string>"(?:[^"\\]|\\.)*"|'(?:[^'\\]|\\.)*')
    | (?P<op><=|>=|==|!=|=~|!~|<|>|=)
    | (?P<punct>[{},])
    )""",
    re.VERBOSE,
)


@dataclass(frozen=True, slots=True)
class LabelMatcher:
    label: str
    op: Literal["=", "!=", "=~", "!~"]
    value: str

    def matches(self, labels: Mapping[str, str]) -> bool:
        actual = labels.get(self.label, "")
        if self.op == "=":
            return actual == self.value
        if self.op == "!=":
            return actual != self.value
        found = re.fullmatch(self.value, actual) is not None
        return found if self.op == "=~" else not found


@dataclass(frozen=True, slots=True)
class Selector:
    metric: str
    matchers: tuple[LabelMatcher, ...] = ()

    def select(self, series: Iterable[tuple[str, Mapping[str, str], float]]) -> list[Series]:
        return [
            (labels, value)
            for name, labels, value in series
            if name == self.metric and all(m.matches(labels) for m in self.matchers)
        ]

    def __str__(self) -> str:
        if not self.matchers:
            return self.metric
        inner = ",".join(f'{m.label}{m.op}"{m.value}"' for m in self.matchers)
        return f"{self.metric}{{{inner}}}"


@dataclass(frozen=True, slots=True)
class Condition:
    quantifier: Literal["all", "any"]
    selector: Selector
    op: Comparison
    threshold: float

    def __str__(self) -> str:
        return f"{self.quantifier} {self.selector} {self.op} {self.threshold:g}"


class _Tokens:
    def __init__(self, text: str) -> None:
        self.items: list[tuple[str, str]] = []
        pos = 0
        text = text.rstrip()
        while pos < len(text):
            m = _TOKEN.match(text, pos)
            if m is None or m.end() == pos:
                raise ValueError(f"unexpected {text[pos:].strip()[:12]!r} at column {pos + 1}")
            kind = m.lastgroup
            assert kind is not None
            self.items.append((kind, m.group(kind)))
            pos = m.end()
        self.pos = 0

    def peek(self) -> tuple[str, str] | None:
        return self.items[self.pos] if self.pos < len(self.items) else None

    def take(self, kind: str, what: str) -> str:
        token = self.peek()
        if token is None or token[0] != kind:
            found = "the end" if token is None else repr(token[1])
            raise ValueError(f"expected {what}, found {found}")
        self.pos += 1
        return token[1]

    def done(self) -> bool:
        return self.pos >= len(self.items)


def _unquote(text: str) -> str:
    body = text[1:-1]
    return re.sub(r"\\(.)", lambda m: {"n": "\n", "t": "\t"}.get(m.group(1), m.group(1)), body)


def _metric_name(name: str, aliases: Mapping[str, str]) -> str:
    if name.startswith("$"):
        alias = name[1:]
        if alias not in aliases:
            raise ValueError(f"no metric alias {alias!r} in inspections.metrics")
        return aliases[alias]
    return name


def _selector(tokens: _Tokens, aliases: Mapping[str, str]) -> Selector:
    metric = _metric_name(tokens.take("name", "a metric name"), aliases)
    matchers: list[LabelMatcher] = []
    if tokens.peek() == ("punct", "{"):
        tokens.pos += 1
        while tokens.peek() != ("punct", "}"):
            label = tokens.take("name", "a label name")
            if label.startswith("$") or ":" in label:
                raise ValueError(f"bad label name {label!r}")
            op = tokens.take("op", "=, !=, =~ or !~")
            if op not in ("=", "!=", "=~", "!~"):
                raise ValueError(f"bad label matcher {op!r}")
            value = _unquote(tokens.take("string", "a quoted label value"))
            if op in ("=~", "!~"):
                try:
                    re.compile(value)
                except re.error as exc:
                    raise ValueError(f"bad regular expression {value!r}: {exc}") from exc
            matchers.append(LabelMatcher(label, op, value))  # type: ignore[arg-type]
            if tokens.peek() == ("punct", ","):
                tokens.pos += 1
            elif tokens.peek() != ("punct", "}"):
                tokens.take("punct", "',' or '}'")
        tokens.pos += 1
    return Selector(metric, tuple(matchers))


def parse_selector(text: str, aliases: Mapping[str, str] | None = None) -> Selector:
    """``metric{label="v",…}`` → Selector. Raises ValueError naming what is wrong."""
    tokens = _Tokens(text)
    selector = _selector(tokens, aliases or {})
    if not tokens.done():
        raise ValueError(f"unexpected {tokens.items[tokens.pos][1]!r} after the selector")
    return selector


def parse_condition(text: str, aliases: Mapping[str, str] | None = None) -> Condition:
    """Parse an automated item's condition. Raises ValueError naming what is wrong."""
    tokens = _Tokens(text)
    quantifier: Literal["all", "any"] = "all"
    first = tokens.peek()
    if first is not None and first[0] == "name" and first[1] in ("all", "any"):
        # "all" or "any" followed by another name is the quantifier, not a metric called so.
        nxt = tokens.items[tokens.pos + 1] if tokens.pos + 1 < len(tokens.items) else None
        if nxt is not None and nxt[0] == "name":
            quantifier = "all" if first[1] == "all" else "any"
            tokens.pos += 1
    selector = _selector(tokens, aliases or {})
    op = tokens.take("op", "a comparison (<, <=, >, >=, ==, !=)")
    if op not in _COMPARE:
        raise ValueError(f"bad comparison {op!r}")
    threshold = float(tokens.take("number", "a number"))
    if not tokens.done():
        raise ValueError(f"unexpected {tokens.items[tokens.pos][1]!r} after the number")
    return Condition(quantifier, selector, op, threshold)  # type: ignore[arg-type]


def _describe(labels: Mapping[str, str]) -> str:
    shown = {k: v for k, v in labels.items() if k not in ("site", "system", "kind")}
    return "{" + ",".join(f"{k}={v}" for k, v in sorted(shown.items())) + "}"


def evaluate(
    condition: Condition,
    series: Iterable[tuple[str, Mapping[str, str], float]],
    *,
    item_id: str,
    at: float,
    note: str = "",
) -> ItemResult:
    """Evaluate an automated item over the live series of the round's target."""
    matched = condition.selector.select(series)
    compare = _COMPARE[condition.op]
    if not matched:
        return ItemResult(
            item_id,
            ItemKind.AUTOMATED,
            Outcome.NO_DATA,
            note=note,
            detail="无实时数据 / no live data",
            evaluated_at=at,
        )
    # NaN compares false with everything: a series that reads NaN never satisfies.
    good = [(labels, v) for labels, v in matched if compare(v, condition.threshold)]
    bad = [(labels, v) for labels, v in matched if not compare(v, condition.threshold)]
    ok = not bad if condition.quantifier == "all" else bool(good)
    if condition.op in ("<", "<="):
        worst = max(matched, key=lambda s: -math.inf if math.isnan(s[1]) else s[1])
    elif condition.op in (">", ">="):
        worst = min(matched, key=lambda s: math.inf if math.isnan(s[1]) else s[1])
    else:
        worst = bad[0] if bad else matched[0]
    detail = (
        f"{len(good)}/{len(matched)} {condition.op} {condition.threshold:g}; "
        f"最差 worst {worst[1]:g} {_describe(worst[0])}"
    )
    return ItemResult(
        item_id,
        ItemKind.AUTOMATED,
        Outcome.PASS if ok else Outcome.FAIL,
        live_value=worst[1],
        note=note,
        detail=detail,
        evaluated_at=at,
    )


@dataclass(frozen=True, slots=True)
class Accept:
    """The acceptable range of a reading: any of lt, le, gt, ge."""

    lt: float | None = None
    le: float | None = None
    gt: float | None = None
    ge: float | None = None

    def contains(self, value: float) -> bool:
        if math.isnan(value):
            return False
        return (
            (self.lt is None or value < self.lt)
            and (self.le is None or value <= self.le)
            and (self.gt is None or value > self.gt)
            and (self.ge is None or value >= self.ge)
        )

    def __str__(self) -> str:
        parts = []
        if self.gt is not None:
            parts.append(f"> {self.gt:g}")
        if self.ge is not None:
            parts.append(f"≥ {self.ge:g}")
        if self.lt is not None:
            parts.append(f"< {self.lt:g}")
        if self.le is not None:
            parts.append(f"≤ {self.le:g}")
        return ", ".join(parts)


@dataclass(frozen=True, slots=True)
class LiveValue:
    """A reading's live value (the mean of its series) and when it was measured."""

    value: float
    at: float

    @property
    def text(self) -> str:
        """The value as the reading's input shows it, to confirm or correct."""
        return f"{self.value:g}"


def live_mean(
    selector: Selector, series: Iterable[tuple[str, Mapping[str, str], float]]
) -> float | None:
    """The mean of the matching live series (a site may have several sensors of one kind)."""
    values = [v for _, v in selector.select(series) if not math.isnan(v)]
    return sum(values) / len(values) if values else None


def _parse_number(value: object) -> float:
    if isinstance(value, bool):
        raise ValueError("expected a number")
    if isinstance(value, int | float):
        number = float(value)
    elif isinstance(value, str):
        try:
            number = float(value.strip())
        except ValueError:
            raise ValueError(f"expected a number, got {value.strip()[:20]!r}") from None
    else:
        raise ValueError("expected a number")
    if not math.isfinite(number):
        raise ValueError("expected a finite number")
    return number


def judge_reading(
    value: object,
    *,
    item_id: str,
    accept: Accept,
    at: float,
    note: str = "",
    live: float | None = None,
    tolerance: float | None = None,
    tolerance_ratio: float | None = None,
) -> ItemResult:
    """A reading typed in by the technician: pass when within ``accept``; flagged as a
    discrepancy when a live value exists and differs by more than the tolerance."""
    number = _parse_number(value)
    discrepancy = False
    detail = ""
    if live is not None:
        allowed = tolerance if tolerance is not None else (tolerance_ratio or 0.0) * abs(live)
        discrepancy = abs(number - live) > allowed
        detail = f"实测 live {live:g}"
        if discrepancy:
            detail += f"; 与实测值不符 differs by {abs(number - live):g} > {allowed:g}"
    return ItemResult(
        item_id,
        ItemKind.READING,
        Outcome.PASS if accept.contains(number) else Outcome.FAIL,
        value=f"{number:g}",
        number=number,
        live_value=live,
        discrepancy=discrepancy,
        note=note,
        detail=detail,
        evaluated_at=at,
    )


_YES = {"yes", "y", "true", "1", "pass", "ok", "是", "合格", "正常"}
_NO = {"no", "n", "false", "0", "fail", "否", "不合格", "异常"}


def judge_confirmation(value: object, *, item_id: str, at: float, note: str = "") -> ItemResult:
    """A yes/no confirmation: yes passes, no fails."""
    if isinstance(value, bool):
        yes = value
    elif isinstance(value, str) and value.strip().lower() in _YES:
        yes = True
    elif isinstance(value, str) and value.strip().lower() in _NO:
        yes = False
    else:
        raise ValueError("expected yes or no (是/否)")
    return ItemResult(
        item_id,
        ItemKind.CONFIRMATION,
        Outcome.PASS if yes else Outcome.FAIL,
        value="yes" if yes else "no",
        note=note,
        evaluated_at=at,
    )
