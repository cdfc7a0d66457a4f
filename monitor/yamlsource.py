"""Load YAML while remembering where every value came from, so errors can name file:line.

The document is composed into PyYAML nodes once; plain Python values are built from them and
each path (a tuple of mapping keys and sequence indexes) is mapped to the line it starts on.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

__all__ = ["ConfigError", "Problem", "SourceMap", "load_yaml"]

PathKey = tuple[str | int, ...]


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a configuration file."""

    file: str
    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}: {self.reason}"


class ConfigError(Exception):
    """A configuration could not be used; ``problems`` lists every reason at once."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


def format_path(path: Sequence[str | int]) -> str:
    """('assets', 3, 'probes', 0, 'interval') → 'assets[3].probes[0].interval'."""
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        else:
            out += f".{part}" if out else str(part)
    return out or "(document)"


@dataclass(slots=True)
class SourceMap:
    """Where each path of a loaded document starts, for error messages."""

    file: str
    lines: dict[PathKey, int] = field(default_factory=dict)
    key_lines: dict[PathKey, int] = field(default_factory=dict)

    def line_of(self, path: Sequence[str | int]) -> int:
        """The line of the deepest part of ``path`` that exists in the document."""
        key = tuple(path)
        while key:
            if key in self.key_lines:
                return self.key_lines[key]
            if key in self.lines:
                return self.lines[key]
            key = key[:-1]
        return self.lines.get((), 1)

    def problem(self, path: Sequence[str | int], reason: str) -> Problem:
        return Problem(self.file, self.line_of(path), format_path(path), reason)


class _Builder:
    """Turns composed nodes into Python values, recording each path's line."""

    def __init__(self, smap: SourceMap) -> None:
        self.smap = smap
        # One loader resolves every scalar (ints, floats, bools, nulls) the way safe_load would.
        self.loader = yaml.SafeLoader("")

    def build(self, node: yaml.Node, path: PathKey) -> Any:
        smap = self.smap
        smap.lines[path] = node.start_mark.line + 1
        if isinstance(node, yaml.MappingNode):
            out: dict[Any, Any] = {}
            for key_node, value_node in node.value:
                key = self.build(key_node, (*path, "<key>"))
                if not isinstance(key, str | int):
                    key = str(key)
                child = (*path, key)
                line = key_node.start_mark.line + 1
                if key in out:
                    duplicate = Problem(smap.file, line, format_path(child), "duplicate key")
                    raise ConfigError([duplicate])
                smap.key_lines[child] = line
                out[key] = self.build(value_node, child)
            return out
        if isinstance(node, yaml.SequenceNode):
            return [self.build(item, (*path, i)) for i, item in enumerate(node.value)]
        return self.loader.construct_object(node, deep=True)


def load_yaml(path: Path) -> tuple[Any, SourceMap]:
    """Read ``path`` and return (document, source map). Raises ConfigError on unreadable or
    malformed YAML, naming the line."""
    name = str(path)
    smap = SourceMap(name)
    try:
        text = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise ConfigError([Problem(name, 1, "(file)", f"cannot read: {exc.strerror}")]) from exc
    except UnicodeDecodeError as exc:
        raise ConfigError([Problem(name, 1, "(file)", "not UTF-8 text")]) from exc
    try:
        node = yaml.compose(text, Loader=yaml.SafeLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 0
        raise ConfigError([Problem(name, line, "(syntax)", str(exc.problem or exc))]) from exc
    if node is None:
        return {}, smap
    try:
        return _Builder(smap).build(node, ()), smap
    except yaml.constructor.ConstructorError as exc:
        mark = exc.problem_mark
        line = mark.line + 1 if mark else 0
        raise ConfigError([Problem(name, line, "(value)", str(exc.problem))]) from exc
