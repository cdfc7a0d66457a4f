"""Strict decoding of a Grafana dashboard JSON model with grafana-foundation-sdk.

The SDK's ``Dashboard.from_json`` is Grafana's schema turned into Python classes, but it is
lenient: it ignores keys it does not know and copies values without looking at their type.
``problems(board)`` makes it strict by walking the JSON beside what the SDK decoded from it:

- a key the SDK's ``to_json`` does not give back is not in the schema (grafanalib's ``rows``,
  ``span``, a target's ``metric``), or is ``null`` where the schema allows only absence (the SDK
  omits an unset optional field rather than writing ``null``);
- every value must have the type the SDK's annotations give its field (``typing.get_type_hints``
  of the generated class): numbers, strings, booleans, enum and literal values, lists, maps,
  nested objects decoded by their own classes; panel ``options`` and ``fieldConfig.defaults.custom``
  by the panel plugin's classes, targets by the datasource's query class (the SDK's runtime
  registry, filled by ``register_default_plugins``);
- a decoder that raises (``DataSourceRef.from_json(None)``) is a problem at that path.

Each problem is one line, ``$.panels[3].targets[0].step: not in the schema``.
"""

from __future__ import annotations

import enum
import inspect
import re
import types
import typing
from collections.abc import Mapping
from typing import Any

from grafana_foundation_sdk.cog import plugins, runtime, variants
from grafana_foundation_sdk.models import dashboard

__all__ = ["problems"]

_WORD_BREAK = re.compile(r"(?<=[a-z0-9])(?=[A-Z])|(?<=[A-Z])(?=[A-Z][a-z])")


def problems(board: Mapping[str, Any]) -> list[str]:
    """Every way ``board`` departs from the SDK's ``Dashboard``; empty when it conforms."""
    plugins.register_default_plugins()
    return _object(dashboard.Dashboard, board, "$")


def _kind(value: object) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "boolean"
    if isinstance(value, int | float):
        return "number"
    if isinstance(value, str):
        return "string"
    if isinstance(value, list):
        return "array"
    return "object" if isinstance(value, dict) else type(value).__name__


def _object(cls: type[Any], raw: object, path: str) -> list[str]:
    """Decode ``raw`` with the SDK class ``cls`` and check it."""
    if not isinstance(raw, dict):
        return [f"{path}: expected an object ({cls.__name__}), got {_kind(raw)}"]
    try:
        decoded = cls.from_json(raw)
    except Exception as exc:  # the SDK's decoders fail with whatever the bad value raised
        return _undecodable(cls, raw, path, exc)
    return _decoded(decoded, raw, path)


def _undecodable(cls: type[Any], raw: dict[str, Any], path: str, exc: Exception) -> list[str]:
    """Name the members the SDK cannot decode (alone, or without which it decodes the rest),
    each checked on its own; the rest is then checked as usual."""
    found: list[str] = []
    culprits = [key for key in raw if not _decodes(cls, raw, key)]
    for key in culprits:
        value = raw[key]
        where = f"{path}.{key}"
        name = _attribute(cls, key)
        if value is None:
            found.append(f"{where}: null where the schema allows only absence")
            continue
        inner = _value(value, value, _hints(cls)[name], where) if name else []
        found += inner or [
            f"{where}: the SDK cannot decode it with the rest: {type(exc).__name__}: {exc}"
        ]
    rest = {k: v for k, v in raw.items() if k not in culprits}
    try:
        cls.from_json(rest)
    except Exception as again:  # members that fail only together: no better place to name
        return [*found, f"{path}: {cls.__name__}.from_json failed: {type(again).__name__}: {again}"]
    return found + _object(cls, rest, path)


def _decodes(cls: type[Any], raw: dict[str, Any], key: str) -> bool:
    """Whether ``key`` is not what stops the SDK: it decodes on its own, and the rest does
    not decode without it either."""
    try:
        cls.from_json({key: raw[key]})
    except Exception:
        return False
    try:
        cls.from_json({k: v for k, v in raw.items() if k != key})
    except Exception:
        return True
    return False


_HINTS: dict[type[Any], dict[str, Any]] = {}


def _hints(cls: type[Any]) -> dict[str, Any]:
    """The annotations of an SDK class, forward references resolved (once per class)."""
    if cls not in _HINTS:
        _HINTS[cls] = typing.get_type_hints(cls)
    return _HINTS[cls]


def _attribute(cls: type[Any], key: str) -> str | None:
    """The SDK's attribute for a JSON key: snake case, ``_val`` after a reserved word."""
    hints = _hints(cls)
    snake = _WORD_BREAK.sub("_", key).lower()
    for name in (snake, f"{snake}_val"):
        if name in hints:
            return name
    return None


def _decoded(obj: Any, raw: Mapping[str, Any], path: str) -> list[str]:
    """Check an SDK object against the JSON it was decoded from."""
    found: list[str] = []
    written = obj.to_json()
    for key, value in raw.items():
        where = f"{path}.{key}"
        if key not in written:
            found.append(
                f"{where}: null where the schema allows only absence"
                if value is None
                else f"{where}: not in the schema"
            )
            continue
        name = _attribute(type(obj), key)
        if name is None:
            found.append(f"{where}: no field of {type(obj).__name__} takes this key")
            continue
        found += _value(getattr(obj, name), value, _hints(type(obj))[name], where)
    return found


def _value(decoded: Any, raw: Any, hint: Any, path: str) -> list[str]:
    origin = typing.get_origin(hint)
    if hint is Any or hint is object:
        # Free-form in the schema, unless a plugin decoded it (panel options, custom config).
        return _decoded(decoded, raw, path) if hasattr(decoded, "to_json") else []
    if origin is typing.Union or origin is types.UnionType:
        return _union(decoded, raw, typing.get_args(hint), path)
    if origin is typing.Literal:
        allowed = typing.get_args(hint)
        if any(type(raw) is type(a) and raw == a for a in allowed):
            return []
        return [f"{path}: {raw!r} is not one of {list(allowed)}"]
    if origin is list:
        if not isinstance(raw, list):
            return [f"{path}: expected an array, got {_kind(raw)}"]
        [item] = typing.get_args(hint)
        items: list[Any] = (
            decoded if isinstance(decoded, list) and len(decoded) == len(raw) else raw
        )
        return [p for i, v in enumerate(raw) for p in _value(items[i], v, item, f"{path}[{i}]")]
    if origin is dict:
        if not isinstance(raw, dict):
            return [f"{path}: expected an object, got {_kind(raw)}"]
        _, item = typing.get_args(hint)
        members: dict[str, Any] = decoded if isinstance(decoded, dict) else raw
        return [p for k, v in raw.items() for p in _value(members.get(k), v, item, f"{path}.{k}")]
    if inspect.isclass(hint):
        return _class(decoded, raw, hint, path)
    return [f"{path}: the checker does not understand the schema type {hint!r}"]


def _union(decoded: Any, raw: Any, members: tuple[Any, ...], path: str) -> list[str]:
    if raw is None:
        return [] if type(None) in members else [f"{path}: null is not allowed here"]
    choices = [m for m in members if m is not type(None)]
    # An object the SDK already decoded as one member is checked as that member.
    for member in choices:
        if inspect.isclass(member) and hasattr(member, "from_json") and isinstance(decoded, member):
            return _value(decoded, raw, member, path)
    attempts = [_value(decoded, raw, member, path) for member in choices]
    if any(not attempt for attempt in attempts):
        return []
    # It is none of them: report it as the one it comes closest to.
    return min(attempts, key=len)


def _class(decoded: Any, raw: Any, hint: type[Any], path: str) -> list[str]:
    if issubclass(hint, enum.Enum):
        allowed = [m.value for m in hint]
        if any(type(raw) is type(a) and raw == a for a in allowed):
            return []
        return [f"{path}: {raw!r} is not one of {allowed}"]
    if hint is bool:
        return [] if isinstance(raw, bool) else [f"{path}: expected a boolean, got {_kind(raw)}"]
    if hint is int:
        if isinstance(raw, int) and not isinstance(raw, bool):
            return []
        return [f"{path}: expected an integer, got {_kind(raw)}"]
    if hint is float:
        if isinstance(raw, int | float) and not isinstance(raw, bool):
            return []
        return [f"{path}: expected a number, got {_kind(raw)}"]
    if hint is str:
        return [] if isinstance(raw, str) else [f"{path}: expected a string, got {_kind(raw)}"]
    if issubclass(hint, variants.Dataquery):
        if isinstance(decoded, runtime.UnknownDataquery) or not isinstance(decoded, hint):
            return [f"{path}: a query of no datasource type the SDK knows"]
        return _decoded(decoded, raw, path)
    if hasattr(hint, "from_json"):
        if isinstance(decoded, hint):
            return _decoded(decoded, raw, path)
        return _object(hint, raw, path)  # the SDK copied it undecoded: decode it here
    return [f"{path}: the checker does not understand the schema type {hint.__name__}"]
