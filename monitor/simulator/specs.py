"""The simulator section's entries as spec dataclasses, with every problem collected.

A value whose field is declared as a plain number, whole number, text or flag must be one: a
string where a number belongs is a ``file:line: field: expected a number`` problem, never a
comparison failing deep inside a device model.
"""

from __future__ import annotations

import types
import typing
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, fields
from typing import Any, TypeVar

__all__ = ["Problems", "build_spec", "hints_of"]

S = TypeVar("S")


@dataclass(slots=True)
class Problems:
    items: list[tuple[str, str]] = field(default_factory=list)

    def add(self, where: str, reason: str) -> None:
        self.items.append((where, reason))


_HINTS: dict[type, dict[str, Any]] = {}


def hints_of(cls: type) -> dict[str, Any]:
    """A spec dataclass's field types, resolved once."""
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


#: The scalar types a spec field may declare, and what a configuration value of each must be.
_SCALARS: dict[Any, tuple[type, ...]] = {
    float: (int, float),
    int: (int,),
    str: (str,),
    bool: (bool,),
}


def _scalar_types(hint: Any) -> tuple[type, ...] | None:
    """The types a value of a field annotated ``hint`` may have, when the annotation is a plain
    scalar or an optional one; None for anything richer (checked by the spec itself)."""
    if hint in _SCALARS:
        return _SCALARS[hint]
    args = typing.get_args(hint)
    if isinstance(hint, types.UnionType) and type(None) in args:
        rest = [a for a in args if a is not type(None)]
        if len(rest) == 1 and rest[0] in _SCALARS:
            return (*_SCALARS[rest[0]], type(None))
    return None


def _fits(hint: Any, value: Any) -> bool:
    allowed = _scalar_types(hint)
    if allowed is None:
        return True
    # YAML's true/false are bools, which Python also counts as ints: a number is never a bool.
    if isinstance(value, bool) and bool not in allowed:
        return False
    return isinstance(value, allowed)


def _expected(hint: Any) -> str:
    allowed = _scalar_types(hint) or ()
    if float in allowed:
        return "expected a number"
    if int in allowed:
        return "expected a whole number"
    if bool in allowed:
        return "expected true or false"
    return "expected text"


def build_spec(
    cls: type[S],
    raw: Any,
    where: str,
    problems: Problems,
    *,
    defaults: Mapping[str, Any] | None = None,
    extra: Sequence[str] = (),
    keyed: bool = True,
) -> tuple[S | None, dict[str, Any]]:
    """Map a config entry onto a spec dataclass (``id`` → ``asset_id``); collect problems.

    Keys named in ``extra`` (like the agent ``port``) are not spec fields; they are returned
    aside.
    """
    if not isinstance(raw, Mapping):
        problems.add(where, "must be a mapping")
        return None, {}
    names = {f.name for f in fields(cls)}  # type: ignore[arg-type]
    values: dict[str, Any] = {k: v for k, v in (defaults or {}).items() if k in names}
    aside: dict[str, Any] = {}
    for key, value in raw.items():
        name = "asset_id" if key == "id" and keyed else str(key)
        if name in extra:
            aside[name] = value
        elif name not in names:
            problems.add(f"{where}.{key}", "unknown field")
        else:
            values[name] = value
    wrong = [key for key in values if not _fits(hints_of(cls).get(key), values[key])]
    for key in wrong:
        problems.add(f"{where}.{'id' if key == 'asset_id' else key}", _expected(hints_of(cls)[key]))
    if wrong:
        return None, aside
    if keyed:
        if "asset_id" not in values:
            problems.add(f"{where}.id", "required")
            return None, aside
        values.setdefault("name", values["asset_id"])
    try:
        return cls(**values), aside
    except (TypeError, ValueError) as exc:
        problems.add(f"{where}", str(exc))
        return None, aside
