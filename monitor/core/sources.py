"""Configuration sources: YAML that remembers where every value came from, so that every problem
is ``file:line: field: reason``, and pydantic's errors turned into such problems.

Files are read only when they are regular files of bounded size (``read_bounded``), so a FIFO,
``/dev/zero`` or a runaway file is a one-line problem instead of a hang. The YAML event
stream (libyaml's parser) is turned into plain Python values in one pass without recursion.
Where each path (a tuple of mapping keys and sequence indexes) starts is found only when a
problem asks for it: the source map keeps the file's bytes and reads them again then, so a
clean load of 10,000 assets spends neither the time nor the memory of a line per value. The
values built are bounded in nesting depth and in number, counting what an alias expands to
before copying it, so an alias bomb or a 1,000-deep list is refused at its line within the
bounds.
"""

from __future__ import annotations

import contextlib
import os
import re
import stat
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError

from monitor.core.errors import TrunkwatchError

__all__ = [
    "MAX_DEPTH",
    "MAX_FILE_BYTES",
    "MAX_VALUES",
    "SECRET_FILE_BYTES",
    "ConfigError",
    "Problem",
    "SourceMap",
    "Strict",
    "UnreadableFile",
    "load_yaml",
    "pydantic_problems",
    "read_bounded",
    "read_secret_file",
]

PathKey = tuple[str | int, ...]

MAX_FILE_BYTES = 16 * 1024 * 1024
"""A configuration of 10,000 assets is 2–4 MB; more than 40,000 is a mistake or an attack."""
MAX_DEPTH = 64
"""Nesting depth of any value, aliases expanded (the deepest real section uses about 8)."""
MAX_VALUES = 2_000_000
"""Scalars, mappings and sequences built, aliases expanded. An asset written like the shipped
ones builds about 40, so a file at the size bound builds ~1.7 M: real files meet the size bound
first, and this one stops aliases that expand far beyond what is written."""
MAX_INT_BITS = 64
"""No setting needs a larger integer; a longer one would only cost conversion time."""

# Sign, base prefix and '_' separators included, a 64-bit integer never needs more.
_MAX_INT_CHARS = 2 + MAX_INT_BITS + MAX_INT_BITS // 4
_INT_TAG = "tag:yaml.org,2002:int"
_STR_TAG = "tag:yaml.org,2002:str"
#: Tags whose safe constructor returns the value itself (no generator, no recursion).
_SCALAR_TAGS = frozenset(
    f"tag:yaml.org,2002:{name}" for name in ("null", "bool", "int", "float", "str", "timestamp")
)
#: Distinct plain scalars whose resolved tag is remembered (numbers, durations, booleans …).
_TAG_CACHE = 4096
# Plain mappings and sequences; sets, ordered maps and language-specific objects have no use here.
_COLLECTION_TAGS = frozenset({None, "!", "tag:yaml.org,2002:map", "tag:yaml.org,2002:seq"})
_NON_PRINTABLE: re.Pattern[str] = yaml.reader.Reader.NON_PRINTABLE
# libyaml parses about 30 times faster than the pure-Python parser; both yield the same events.
_PARSER: type[Any] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with a configuration file."""

    file: str
    line: int
    field: str
    reason: str

    def __str__(self) -> str:
        return f"{self.file}:{self.line}: {self.field}: {self.reason}"


class ConfigError(TrunkwatchError):
    """A configuration could not be used; ``problems`` lists every reason at once."""

    def __init__(self, problems: Sequence[Problem]) -> None:
        self.problems = list(problems)
        super().__init__("\n".join(str(p) for p in self.problems))


class UnreadableFile(Exception):
    """A file that ``read_bounded`` refused; the reason never quotes the file's content."""

    def __init__(self, reason: str) -> None:
        self.reason = reason
        super().__init__(reason)


def _format_size(size: int) -> str:
    for unit, scale in (("MiB", 1024 * 1024), ("KiB", 1024)):
        if size >= scale and size % scale == 0:
            return f"{size // scale} {unit}"
    return f"{size} bytes"


def read_bounded(path: Path, limit: int) -> bytes:
    """The bytes of ``path`` if it is a regular file of at most ``limit`` bytes.

    The file is opened without blocking and checked before anything is read, so a FIFO
    without a writer, a device such as ``/dev/zero`` or a directory is refused at once.
    Raises UnreadableFile.
    """
    flags = os.O_RDONLY | os.O_NONBLOCK | os.O_NOCTTY | os.O_CLOEXEC
    try:
        fd = os.open(path, flags)
    except OSError as exc:
        raise UnreadableFile(exc.strerror or "cannot open") from None
    try:
        status = os.fstat(fd)
        if not stat.S_ISREG(status.st_mode):
            raise UnreadableFile("not a regular file")
        if status.st_size > limit:
            raise UnreadableFile(f"larger than {_format_size(limit)}")
        chunks: list[bytes] = []
        size = 0
        # Read to the limit whatever fstat said: the file may grow while it is read.
        while size <= limit:
            chunk = os.read(fd, limit + 1 - size)
            if not chunk:
                break
            chunks.append(chunk)
            size += len(chunk)
    except OSError as exc:
        raise UnreadableFile(exc.strerror or "read failed") from None
    finally:
        os.close(fd)
    if size > limit:
        raise UnreadableFile(f"larger than {_format_size(limit)}")
    return b"".join(chunks)


#: A secret (community, key, token) kept in a file is short: more than this is a mistake.
SECRET_FILE_BYTES = 64 * 1024


def read_secret_file(path: Path) -> str:
    """The text of a secret file: a regular file of at most 64 KiB of UTF-8, stripped.

    Bounded and non-blocking, so a FIFO or /dev/zero named as a secret cannot hang a load.
    Raises ValueError with a message that says nothing of the content.
    """
    try:
        data = read_bounded(path, SECRET_FILE_BYTES)
    except UnreadableFile as exc:
        raise ValueError(f"cannot read secret file {path}: {exc.reason}") from None
    try:
        return data.decode("utf-8").strip()
    except UnicodeDecodeError:
        # The codec's message quotes the offending byte: say nothing of the content.
        raise ValueError(f"secret file {path} is not UTF-8 text") from None


_PLAIN_KEY = re.compile(r"[\w.<>-]+")
_KEY_CHARS = 40


def format_path(path: Sequence[str | int]) -> str:
    """('assets', 3, 'probes', 0, 'interval') → 'assets[3].probes[0].interval'.

    A key that is not a plain word is quoted and cut short (``assets[0]['a: b']``): keys come
    from the file, and the message must stay one line in the ``file:line: field: reason`` shape.
    """
    out = ""
    for part in path:
        if isinstance(part, int):
            out += f"[{part}]"
        elif _PLAIN_KEY.fullmatch(part):
            out += f".{part}" if out else part
        else:
            short = part if len(part) <= _KEY_CHARS else part[:_KEY_CHARS] + "…"
            out += f"[{short!r}]"
    return out or "(document)"


ChildLines = dict[Any, int] | list[int]
"""The lines of a collection's children: of each key of a mapping, of each item of a sequence."""


class SourceMap:
    """Where each path of a loaded document starts, for error messages.

    Lines are looked up only when a problem is reported, and most loads report none: the map
    keeps the file's bytes, and the first lookup parses them once more, recording the lines of
    every collection's children (the load itself records none: a path and a line per value
    took twice the memory of the document itself). A mapping's value is found at its key's
    line. Values copied from an alias have no lines of their own: they are reported at the line
    where the alias is used.
    """

    __slots__ = ("_children", "_data", "_root_line", "file")

    def __init__(self, file: str, data: bytes | None = None) -> None:
        self.file = file
        self._data = data
        #: Path of each collection → the lines of its children.
        self._children: dict[PathKey, ChildLines] | None = None if data is not None else {}
        self._root_line = 1

    def __repr__(self) -> str:
        return f"SourceMap({self.file!r})"

    def _index(self) -> dict[PathKey, ChildLines]:
        if self._children is not None:
            return self._children
        children: dict[PathKey, ChildLines] = {}
        data, self._data = self._data or b"", None
        builder = _Builder(self.file, record=children)
        # Only text that loaded gets here; should it fail all the same, what was recorded up
        # to there still holds.
        with contextlib.suppress(ConfigError, yaml.YAMLError, UnicodeDecodeError):
            builder.build(data.decode("utf-8"))
        self._children, self._root_line = children, builder.root_line
        return children

    def line_of(self, path: Sequence[str | int]) -> int:
        """The line of the deepest part of ``path`` that exists in the document."""
        children = self._index()
        key = tuple(path)
        while key:
            lines = children.get(key[:-1])
            part = key[-1]
            if isinstance(lines, dict):
                if part in lines:
                    return lines[part]
            elif lines is not None and isinstance(part, int) and 0 <= part < len(lines):
                return lines[part]
            key = key[:-1]
        return self._root_line

    def problem(self, path: Sequence[str | int], reason: str) -> Problem:
        return Problem(self.file, self.line_of(path), format_path(path), reason)


_AWAITING_KEY: Any = object()


@dataclass(slots=True)
class _Collection:
    """A mapping or sequence being filled, with what the bounds need to know about it."""

    value: dict[Any, Any] | list[Any]
    is_map: bool
    path: PathKey
    line: int
    anchor: str | None
    size: int = 1
    height: int = 1
    key: Any = _AWAITING_KEY
    #: The lines of its children, when the builder records them.
    lines: ChildLines | None = None


@dataclass(frozen=True, slots=True)
class _Anchored:
    value: Any
    size: int
    height: int


class _Builder:
    """Turns a stream of YAML events into one Python value.

    With ``record``, it records there the lines of the children of each collection, by the
    collection's path (and the document's line in ``root_line``); without, it builds no path
    but a collection's, so the common load costs one step per event. A problem found here
    names its path, computed when it is found.
    """

    def __init__(self, file: str, record: dict[PathKey, ChildLines] | None = None) -> None:
        self.file = file
        self.record = record
        self.root_line = 1
        self.problems: list[Problem] = []
        self.stack: list[_Collection] = []
        self.anchors: dict[str, _Anchored] = {}
        self.open_anchors: set[str] = set()
        self.values = 0
        self.root: Any = None
        self.documents = 0
        # One loader resolves and constructs every scalar the way safe_load would.
        self.loader = yaml.SafeLoader("")
        resolvers = self.loader.yaml_implicit_resolvers
        # A plain scalar whose first character no implicit resolver is registered for is a
        # string (PyYAML's own rule), which spares the resolver's regular expressions for most
        # values; with a resolver for any first character (None) every scalar is resolved.
        self._resolved_first = None if None in resolvers else frozenset(resolvers)
        self._plain_tags: dict[str, str] = {}
        self._constructors = self.loader.yaml_constructors

    def _problem(self, line: int, path: PathKey, reason: str) -> Problem:
        return Problem(self.file, line, format_path(path), reason)

    def _fail(self, line: int, path: PathKey, reason: str) -> ConfigError:
        return ConfigError([self._problem(line, path, reason)])

    def _next_path(self) -> PathKey:
        """Where the next value goes; it ends in '<key>' while a mapping waits for a key."""
        if not self.stack:
            return ()
        top = self.stack[-1]
        if not top.is_map:
            return (*top.path, len(top.value))
        if top.key is _AWAITING_KEY:
            return (*top.path, "<key>")
        return (*top.path, top.key)

    def _count(self, size: int, line: int, via: str) -> None:
        self.values += size
        if self.values > MAX_VALUES:
            reason = f"the document {via}more than {MAX_VALUES:,} values"
            raise self._fail(line, self._next_path(), reason)

    def _record(self, line: int) -> None:
        """The line of the value about to be attached, when it is a sequence's item or the
        document (a mapping's value is found at its key's line, recorded in ``_attach``)."""
        if not self.stack:
            self.root_line = line
        elif isinstance(lines := self.stack[-1].lines, list):
            lines.append(line)

    def build(self, text: str) -> Any:
        """The document ``text`` holds (None for none). Raises ConfigError past a bound and
        yaml.YAMLError on malformed YAML; other problems are left in ``problems``.

        Most events are plain scalars inside a collection: they take the short path here, the
        same steps as ``feed`` and ``_attach`` with nothing to check or copy.
        """
        parser = _PARSER(text)
        stack = self.stack
        resolved_first = self._resolved_first
        awaiting = _AWAITING_KEY
        scalar_event = yaml.ScalarEvent
        strings: dict[str, str] = {}
        record = self.record
        try:
            while (event := parser.get_event()) is not None:
                if (
                    type(event) is not scalar_event
                    or event.tag is not None
                    or event.anchor is not None
                    or not stack
                    or self.values >= MAX_VALUES
                ):
                    self.feed(event)
                    continue
                text = event.value
                if event.implicit[0] and (resolved_first is None or text[:1] in resolved_first):
                    self.feed(event)  # a number, boolean, null … or a string that may be one
                    continue
                # Keys and most values repeat from entry to entry: keep one copy of each.
                text = strings.setdefault(text, text)
                self.values += 1
                top = stack[-1]
                key = top.key
                if not top.is_map:
                    if record is not None:
                        top.lines.append(_line(event))  # type: ignore[union-attr]
                    top.size += 1
                    top.value.append(text)  # type: ignore[union-attr]
                elif key is not awaiting:
                    top.size += 1
                    top.key = awaiting
                    if key not in top.value:
                        top.value[key] = text
                elif text in top.value:
                    self._attach(text, _line(event), 1, 0)  # reports the duplicate
                else:
                    if record is not None:
                        top.lines.setdefault(text, _line(event))  # type: ignore[union-attr]
                    top.size += 1
                    top.key = text
        finally:
            parser.dispose()
        return self.root

    def feed(self, event: yaml.Event) -> None:
        line = _line(event)
        kind = type(event)
        if kind is yaml.ScalarEvent:
            assert isinstance(event, yaml.ScalarEvent)
            self.values += 1
            if self.values > MAX_VALUES:
                self._count(0, line, "holds ")
            if self.record is not None:
                self._record(line)
            value = self._scalar(event, line)
            if event.anchor is not None:
                self.anchors[event.anchor] = _Anchored(value, 1, 0)
            self._attach(value, line, 1, 0)
        elif kind is yaml.MappingStartEvent or kind is yaml.SequenceStartEvent:
            assert isinstance(event, yaml.CollectionStartEvent)
            self._count(1, line, "holds ")
            path = self._next_path()
            if len(self.stack) >= MAX_DEPTH:
                raise self._fail(line, path, f"nested deeper than {MAX_DEPTH} levels")
            if self.record is not None:
                self._record(line)
            if event.tag not in _COLLECTION_TAGS:
                reason = f"could not determine a constructor for the tag {event.tag!r}"
                self.problems.append(self._problem(line, path, reason))
            if event.anchor is not None:
                self.open_anchors.add(event.anchor)
            is_map = kind is yaml.MappingStartEvent
            empty: dict[Any, Any] | list[Any] = {} if is_map else []
            collection = _Collection(empty, is_map, path, line, event.anchor)
            if self.record is not None:
                collection.lines = self.record.setdefault(path, {} if is_map else [])
            self.stack.append(collection)
        elif kind is yaml.MappingEndEvent or kind is yaml.SequenceEndEvent:
            done = self.stack.pop()
            if done.anchor is not None:
                self.open_anchors.discard(done.anchor)
                self.anchors[done.anchor] = _Anchored(done.value, done.size, done.height)
            self._attach(done.value, done.line, done.size, done.height)
        elif kind is yaml.AliasEvent:
            assert isinstance(event, yaml.AliasEvent)
            self._alias(event, line)
        elif kind is yaml.DocumentStartEvent:
            self.documents += 1
            if self.documents > 1:
                raise self._fail(line, (), "expected a single document, found another")

    def _alias(self, event: yaml.AliasEvent, line: int) -> None:
        name = event.anchor
        anchored = self.anchors.get(name) if name is not None else None
        if anchored is None:
            if name in self.open_anchors:
                raise self._fail(
                    line, self._next_path(), f"alias *{name} is used inside its own anchor"
                )
            raise self._fail(line, self._next_path(), f"undefined alias *{name}")
        if len(self.stack) + anchored.height > MAX_DEPTH:
            reason = f"alias *{name} nests deeper than {MAX_DEPTH} levels"
            raise self._fail(line, self._next_path(), reason)
        # Counted before copying: an alias bomb stops here, never past the bound.
        self._count(anchored.size, line, "expands through aliases to ")
        if self.record is not None:
            self._record(line)
        self._attach(_copy(anchored.value), line, anchored.size, anchored.height)

    def _attach(self, value: Any, line: int, size: int, height: int) -> None:
        if not self.stack:
            self.root = value
            return
        top = self.stack[-1]
        top.size += size
        if height >= top.height:
            top.height = height + 1
        if not top.is_map:
            top.value.append(value)  # type: ignore[union-attr]
            return
        mapping: dict[Any, Any] = top.value  # type: ignore[assignment]
        key = top.key
        if key is _AWAITING_KEY:
            key = value if isinstance(value, str | int) else str(value)
            if key in mapping:
                self.problems.append(self._problem(line, (*top.path, key), "duplicate key"))
            elif isinstance(top.lines, dict):
                top.lines.setdefault(key, line)
            top.key = key
            return
        top.key = _AWAITING_KEY
        if key in mapping:
            return  # the first of a duplicate key stays
        mapping[key] = value

    def _scalar(self, event: yaml.ScalarEvent, line: int) -> Any:
        tag = event.tag
        text = event.value
        if tag is None or tag == "!":
            if not event.implicit[0]:
                tag = _STR_TAG
            elif self._resolved_first is not None and text[:1] not in self._resolved_first:
                return text
            elif (tag := self._plain_tags.get(text)) is None:
                tag = self.loader.resolve(yaml.ScalarNode, text, event.implicit)  # type: ignore[no-untyped-call]
                if len(self._plain_tags) < _TAG_CACHE:
                    self._plain_tags[text] = tag
        if tag == _STR_TAG:
            return text
        if tag == _INT_TAG and len(text) > _MAX_INT_CHARS:
            self.problems.append(self._range_problem(line))
            return None
        node = yaml.ScalarNode(tag, text, style=event.style)
        construct = self._constructors.get(tag)
        try:
            if construct is not None and tag in _SCALAR_TAGS:
                # The safe constructors of plain scalar tags return their value at once.
                value = construct(self.loader, node)
            else:
                value = self.loader.construct_object(node, deep=True)
        except yaml.constructor.ConstructorError as exc:
            reason = str(exc.problem or "cannot read this value")
            self.problems.append(self._problem(line, self._next_path(), reason))
            return None
        except Exception:
            # PyYAML's constructors fail on a value that does not fit an explicit tag with
            # whatever the parsing code hits (ValueError, AttributeError on a failed match …).
            kind = tag.rpartition(":")[2] or tag
            reason = f"not a valid {kind} value"
            self.problems.append(self._problem(line, self._next_path(), reason))
            return None
        finally:
            self.loader.constructed_objects.clear()
        if isinstance(value, int) and abs(value).bit_length() > MAX_INT_BITS:
            self.problems.append(self._range_problem(line))
            return None
        return value

    def _range_problem(self, line: int) -> Problem:
        reason = f"integer out of range (more than {MAX_INT_BITS} bits)"
        return self._problem(line, self._next_path(), reason)


def _line(event: yaml.Event) -> int:
    mark = event.start_mark
    return mark.line + 1 if mark is not None else 1


def _copy(value: Any) -> Any:
    """A copy of built collections (scalars are immutable and shared); the depth is bounded."""
    if isinstance(value, dict):
        return {key: _copy(item) for key, item in value.items()}
    if isinstance(value, list):
        return [_copy(item) for item in value]
    return value


def _syntax_problem(name: str, text: str, exc: yaml.YAMLError) -> Problem:
    if isinstance(exc, yaml.MarkedYAMLError):
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark else 1
        return Problem(name, line, "(syntax)", str(exc.problem or exc.context or "invalid YAML"))
    if isinstance(exc, yaml.reader.ReaderError):
        line = text.count("\n", 0, max(exc.position, 0)) + 1
        return Problem(name, line, "(syntax)", str(exc.reason))
    return Problem(name, 1, "(syntax)", "invalid YAML")


def load_yaml(path: Path, *, limit: int = MAX_FILE_BYTES) -> tuple[Any, SourceMap]:
    """Read ``path`` and return (document, source map); the document is None when the file
    holds none. Raises ConfigError, naming the line, on an unreadable file, malformed YAML or
    a document beyond the bounds above."""
    name = str(path)
    try:
        data = read_bounded(path, limit)
    except UnreadableFile as exc:
        raise ConfigError([Problem(name, 1, "(file)", f"cannot read: {exc.reason}")]) from None
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data.count(b"\n", 0, exc.start) + 1
        raise ConfigError([Problem(name, line, "(file)", "not UTF-8 text")]) from None
    if bad := _NON_PRINTABLE.search(text):
        line = text.count("\n", 0, bad.start()) + 1
        reason = f"character U+{ord(bad.group()):04X} is not allowed in YAML"
        raise ConfigError([Problem(name, line, "(file)", reason)])
    builder = _Builder(name)
    try:
        document = builder.build(text)
    except yaml.YAMLError as exc:
        raise ConfigError([_syntax_problem(name, text, exc)]) from None
    if builder.problems:
        raise ConfigError(builder.problems)
    return document, SourceMap(name, data)


class Strict(BaseModel):
    """A configuration section: unknown keys are errors, and the parsed value is immutable."""

    model_config = ConfigDict(extra="forbid", frozen=True)


def pydantic_problems(
    exc: ValidationError,
    smap: SourceMap,
    prefix: PathKey = (),
    *,
    keep: Callable[[list[str | int], str | int], bool] | None = None,
    reason_for: Callable[[dict[str, Any], list[str | int]], str | None] | None = None,
) -> Iterator[Problem]:
    """pydantic's errors as ``file:line: field: reason`` problems, every one of them.

    pydantic names validator and union branches in an error's location (``function-before[…]``,
    ``tuple[…]``); they are not keys of the document and are left out, as is any part for which
    ``keep(location so far, part)`` says no (a discriminator, say). ``reason_for(error,
    location)`` may word a reason better than pydantic does; an unknown key is "unknown key" and
    a validator's message loses pydantic's "Value error, " prefix.
    """
    for err in exc.errors(include_url=False, include_input=False):
        loc: list[str | int] = []
        for part in err["loc"]:
            if isinstance(part, str) and "[" in part:
                continue
            if keep is not None and not keep(loc, part):
                continue
            loc.append(part)
        reason = reason_for(dict(err), loc) if reason_for is not None else None
        if reason is None:
            reason = err["msg"]
            if err["type"] == "extra_forbidden":
                reason = "unknown key"
            elif reason.startswith("Value error, "):
                reason = reason.removeprefix("Value error, ")
        yield smap.problem((*prefix, *loc), reason)
