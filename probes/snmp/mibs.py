"""Resolve ``MODULE::object`` names to numeric OIDs by compiling MIB text files with pysmi.

Resolution happens once, when profiles are loaded, never while polling. Each module is
compiled to pysmi's JSON form, which is kept in a cache folder keyed by the source file's
path, size and modification time, so a later start reads the JSON without parsing any MIB.
MIB files are found in the configured folders first, then in the texts the project ships:
``monitor/simulator/mibs`` (TRUNKWATCH-SIM-MIB) and ``probes/snmp/mibs``. The latter holds short
stand-ins, written for this project, for the base modules every MIB imports (SNMPv2-SMI,
SNMPv2-TC …): the IETF texts themselves are not shipped, Debian does not ship them either,
and a user who needs more of them points ``mib_dirs`` at a folder that has them.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import re
import shutil
import stat
import tempfile
import warnings
from collections.abc import Iterable
from pathlib import Path
from typing import Any, Final

from probes.snmp.codec import OID

__all__ = ["SHIPPED_MIB_DIRS", "MibError", "MibResolver", "default_cache_dir", "split_name"]

SHIPPED_MIB_DIRS: Final[tuple[Path, ...]] = (
    Path(__file__).resolve().parents[2] / "monitor" / "simulator" / "mibs",
    Path(__file__).resolve().parent / "mibs",
)

#: Modules whose macros and base types the compiler supplies itself: never compiled to JSON.
_BASE_MODULES: Final = frozenset(
    {
        "RFC1065-SMI",
        "RFC1155-SMI",
        "RFC1158-MIB",
        "RFC-1212",
        "RFC1213-MIB",
        "RFC-1215",
        "SNMPv2-SMI",
        "SNMPv2-TC",
        "SNMPv2-TM",
        "SNMPv2-CONF",
    }
)
_SUFFIXES: Final = ("", ".txt", ".mib", ".my", ".MIB", ".TXT")
_DEFINITIONS = re.compile(rb"^\s*([A-Za-z][A-Za-z0-9-]*)\s+DEFINITIONS\s*::=\s*BEGIN", re.M)
_NAME = re.compile(r"^([A-Za-z][A-Za-z0-9-]*)::([A-Za-z][A-Za-z0-9-]*)((?:\.\d+)*)$")
# The first few kilobytes of a MIB file hold its module name (after the comment header).
_HEAD_BYTES: Final = 16384


class MibError(ValueError):
    """A name could not be resolved: missing or broken MIB module, or no such object."""


def split_name(text: str) -> tuple[str, str, OID] | None:
    """``'IF-MIB::ifDescr.1'`` → ``('IF-MIB', 'ifDescr', (1,))``; None if not of that form."""
    match = _NAME.match(text.strip())
    if match is None:
        return None
    suffix = tuple(int(part) for part in match.group(3).split(".")[1:])
    return match.group(1), match.group(2), suffix


def default_cache_dir() -> Path:
    """``$TRUNKWATCH_MIB_CACHE``, else a per-user folder under the system's temp folder."""
    configured = os.environ.get("TRUNKWATCH_MIB_CACHE")
    if configured:
        return Path(configured)
    return Path(tempfile.gettempdir()) / f"trunkwatch-mibs-{os.getuid()}"


def _private_dir(path: Path) -> Path:
    """``path`` created if need be, and trusted only if it is ours and nobody else can write
    to it (a shared temp folder is open to others planting a doctored JSON)."""
    try:
        path.mkdir(mode=0o700, parents=True, exist_ok=True)
        info = path.stat()
    except OSError:
        return Path(tempfile.mkdtemp(prefix="trunkwatch-mibs-"))
    if info.st_uid != os.getuid() or info.st_mode & (stat.S_IWGRP | stat.S_IWOTH):
        return Path(tempfile.mkdtemp(prefix="trunkwatch-mibs-"))
    return path


class MibResolver:
    """Resolves symbolic names through the MIB modules found in ``dirs`` (searched in order,
    then the shipped folders). One resolver caches every module it has read."""

    def __init__(self, dirs: Iterable[str | Path] = (), cache_dir: Path | None = None) -> None:
        own = [Path(d).expanduser() for d in dirs]
        self.dirs: tuple[Path, ...] = (*own, *(d for d in SHIPPED_MIB_DIRS if d not in own))
        self._cache_dir = cache_dir
        self._modules: dict[str, dict[str, OID]] = {}
        self._sources: dict[str, Path] | None = None

    @property
    def cache_dir(self) -> Path:
        if self._cache_dir is None:
            self._cache_dir = _private_dir(default_cache_dir())
        else:
            self._cache_dir.mkdir(parents=True, exist_ok=True)
        return self._cache_dir

    def _where(self) -> str:
        return "[" + ", ".join(str(d) for d in self.dirs) + "]"

    def resolve(self, text: str) -> OID:
        """The numeric OID of ``MODULE::object`` (optionally followed by ``.0`` or an index)."""
        parts = split_name(text)
        if parts is None:
            raise MibError(f"{text!r} is not a MODULE::object name")
        module, name, suffix = parts
        objects = self.module(module)
        oid = objects.get(name)
        if oid is None:
            raise MibError(f"MIB module {module} defines no object {name}")
        return oid + suffix

    def module(self, module: str) -> dict[str, OID]:
        """Every named OID of ``module`` (compiled, or read from the cache)."""
        found = self._modules.get(module)
        if found is not None:
            return found
        source = self.source(module)
        if source is None:
            raise MibError(f"MIB module {module} not found in {self._where()}")
        cached = self._cache_file(module, source)
        if not cached.is_file():
            self._compile(module)
        if not cached.is_file():
            if module in _BASE_MODULES:
                raise MibError(f"{module} is a base module: write its OIDs numerically")
            raise MibError(f"MIB module {module} ({source}) compiled to nothing")
        objects = _read_json(cached, module)
        self._modules[module] = objects
        return objects

    # -- finding sources ---------------------------------------------------------------------

    def source(self, module: str) -> Path | None:
        """The file defining ``module``: a file named after it, else any file whose text
        says ``module DEFINITIONS ::= BEGIN``."""
        for folder in self.dirs:
            for suffix in _SUFFIXES:
                candidate = folder / f"{module}{suffix}"
                if candidate.is_file() and _module_name(candidate) == module:
                    return candidate
        return self._index().get(module)

    def _index(self) -> dict[str, Path]:
        if self._sources is None:
            index: dict[str, Path] = {}
            for folder in self.dirs:
                with contextlib.suppress(OSError):
                    for path in sorted(folder.iterdir()):
                        if path.is_file():
                            name = _module_name(path)
                            if name is not None:
                                index.setdefault(name, path)
            self._sources = index
        return self._sources

    def _cache_file(self, module: str, source: Path) -> Path:
        info = source.stat()
        key = f"{source.resolve()}|{info.st_size}|{info.st_mtime_ns}"
        digest = hashlib.blake2b(key.encode(), digest_size=8).hexdigest()
        return self.cache_dir / f"{module}-{digest}.json"

    # -- compiling ---------------------------------------------------------------------------

    def _read_source(self, module: str, _context: object = None) -> str:
        path = self.source(module)
        if path is None:
            return ""
        return path.read_text(encoding="utf-8", errors="replace")

    def _compile(self, module: str) -> None:
        """Compile ``module`` and the modules it imports; keep their JSON in the cache."""
        compiler_parts = _pysmi()
        out = Path(tempfile.mkdtemp(prefix="compile-", dir=self.cache_dir))
        try:
            compiler = compiler_parts["MibCompiler"](
                compiler_parts["SmiStarParser"](),
                compiler_parts["JsonCodeGen"](),
                compiler_parts["FileWriter"](str(out)).set_options(suffix=".json"),
            )
            compiler.add_sources(compiler_parts["CallbackReader"](self._read_source))
            compiler.add_searchers(compiler_parts["StubSearcher"](*_BASE_MODULES))
            with warnings.catch_warnings():
                warnings.simplefilter("ignore")
                try:
                    status = compiler.compile(module, rebuild=True, genTexts=False)
                except Exception as exc:  # pysmi raises its own tree and plain errors alike
                    raise MibError(f"MIB module {module} could not be compiled: {exc}") from exc
            outcome = str(status.get(module, "missing"))
            if outcome not in ("compiled", "untouched"):
                raise MibError(self._why(module, status))
            for produced in out.glob("*.json"):
                name = produced.stem
                source = self.source(name)
                if source is not None:
                    os.replace(produced, self._cache_file(name, source))
        finally:
            shutil.rmtree(out, ignore_errors=True)

    def _why(self, module: str, status: dict[str, Any]) -> str:
        error = getattr(status.get(module), "error", None)
        if error is not None:
            text = str(getattr(error, "msg", error)).split(" at MIB ")[0]
            return f"MIB module {module} could not be compiled: {text}"
        missing = sorted(
            name for name, outcome in status.items() if str(outcome) == "missing" and name != module
        )
        if missing:
            return f"MIB module {module} imports {', '.join(missing)}, not found in {self._where()}"
        return f"MIB module {module} could not be compiled ({status.get(module)})"


def _module_name(path: Path) -> str | None:
    try:
        with path.open("rb") as handle:
            head = handle.read(_HEAD_BYTES)
    except OSError:
        return None
    # Skip ASN.1 comments so a header that mentions DEFINITIONS does not mislead.
    text = b"\n".join(line.split(b"--", 1)[0] for line in head.splitlines())
    match = _DEFINITIONS.search(text)
    return match.group(1).decode("ascii") if match else None


def _read_json(path: Path, module: str) -> dict[str, OID]:
    try:
        document = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError) as exc:
        raise MibError(f"cached MIB module {module} ({path}) is unreadable: {exc}") from exc
    objects: dict[str, OID] = {}
    if not isinstance(document, dict):
        return objects
    for name, entry in document.items():
        if isinstance(entry, dict) and isinstance(entry.get("oid"), str):
            with contextlib.suppress(ValueError):
                objects[name] = tuple(int(part) for part in entry["oid"].split("."))
    return objects


def _pysmi() -> dict[str, Any]:
    """pysmi's parts, imported only when a module must really be compiled (it is slow to
    import, and a cached start never needs it)."""
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            from pysmi.codegen import JsonCodeGen
            from pysmi.compiler import MibCompiler
            from pysmi.parser import SmiStarParser
            from pysmi.reader import CallbackReader
            from pysmi.searcher import StubSearcher
            from pysmi.writer import FileWriter
    except ImportError as exc:  # pragma: no cover - pysmi is a declared dependency
        raise MibError("compiling MIB modules needs pysmi (pip install pysmi)") from exc
    return {
        "CallbackReader": CallbackReader,
        "FileWriter": FileWriter,
        "JsonCodeGen": JsonCodeGen,
        "MibCompiler": MibCompiler,
        "SmiStarParser": SmiStarParser,
        "StubSearcher": StubSearcher,
    }
