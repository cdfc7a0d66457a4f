"""``trunkwatch mibs compile DIR…``: compile every MIB module in the folders with pysmi.

Each module is compiled the way a profile's symbolic names are at load time
(``probes.snmp.mibs.MibResolver``), into the same cache, so a later daemon start reads the compiled
JSON instead of parsing MIB text. One line per module says ``ok`` (with how many named OIDs it
defines) or ``error`` with the file and the reason; the exit status is 1 when any module (or a
file that looks like a MIB but declares no module) failed, 2 on bad usage.
"""

from __future__ import annotations

import argparse
import re
import sys
from collections.abc import Iterator
from pathlib import Path

from monitor.cli.args import EXIT_FAILED, EXIT_OK, EXIT_USAGE, AddConfig, Subparsers

# probes.snmp.mibs's own test of a module's file and its list of compiler-supplied modules, so this
# command lists exactly what a profile's symbolic names would find.
from probes.snmp.mibs import _BASE_MODULES as BASE_MODULES
from probes.snmp.mibs import MibError, MibResolver, default_cache_dir
from probes.snmp.mibs import _module_name as module_name

__all__ = ["CompileResult", "compile_folders", "register"]

#: pysmi's parser says where it gave up as a character offset into the text.
_OFFSET = re.compile(r"near offset (\d+)")
#: pysmi's code generator names a missing import this way.
_MISSING_IMPORT = re.compile(r'no module "([^"]+)" in symbolTable')

#: Files that are never MIB modules, whatever a folder holds next to them.
_NOT_MIBS = frozenset({".md", ".py", ".pyc", ".json", ".yaml", ".yml", ".html", ".pdf"})


class CompileResult:
    """The outcome for one file: its module (None if it declares none), ok, and a detail."""

    __slots__ = ("detail", "line", "module", "ok", "path")

    def __init__(
        self, path: Path, module: str | None, ok: bool, detail: str, line: int | None = None
    ) -> None:
        self.path = path
        self.module = module
        self.ok = ok
        self.detail = detail
        self.line = line

    def __str__(self) -> str:
        status = "ok   " if self.ok else "error"
        name = self.module or "(no module)"
        where = f"{self.path}:{self.line}" if self.line else str(self.path)
        return f"{status} {name} ({where}): {self.detail}"


def _line_of(path: Path, detail: str) -> int | None:
    """The line of a parse error that pysmi gave as a character offset."""
    match = _OFFSET.search(detail)
    if match is None:
        return None
    try:
        text = path.read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None
    return text[: int(match.group(1))].count("\n") + 1


def _candidates(folder: Path) -> Iterator[Path]:
    for path in sorted(folder.iterdir()):
        if path.name.startswith(".") or path.name.upper().startswith("README"):
            continue
        if path.is_file() and path.suffix.lower() not in _NOT_MIBS:
            yield path


def compile_folders(folders: list[Path], cache: Path | None = None) -> list[CompileResult]:
    """Compile every module defined by a file in ``folders`` (imports are looked up in the
    folders, then in the MIBs the project ships)."""
    resolver = MibResolver(folders, cache)
    results: list[CompileResult] = []
    seen: dict[str, Path] = {}
    for folder in folders:
        for path in _candidates(folder):
            module = module_name(path)
            if module is None:
                results.append(
                    CompileResult(path, None, False, "no 'NAME DEFINITIONS ::= BEGIN' line found")
                )
                continue
            if module in seen:
                results.append(
                    CompileResult(path, module, True, f"skipped: also defined by {seen[module]}")
                )
                continue
            seen[module] = path
            if module in BASE_MODULES:
                results.append(CompileResult(path, module, True, "base module, built in"))
                continue
            try:
                objects = resolver.module(module)
            except MibError as exc:
                detail = _MISSING_IMPORT.sub(
                    lambda m: (
                        f"it imports {m.group(1)}, which none of the MIB folders has "
                        f"({', '.join(str(d) for d in resolver.dirs)})"
                    ),
                    str(exc),
                )
                results.append(CompileResult(path, module, False, detail, _line_of(path, detail)))
                continue
            count = len(objects)
            results.append(
                CompileResult(path, module, True, f"{count} named OID{'' if count == 1 else 's'}")
            )
    return results


def cmd_mibs_compile(args: argparse.Namespace) -> int:
    folders = [Path(d).expanduser() for d in args.dirs]
    missing = [str(d) for d in folders if not d.is_dir()]
    if missing:
        print(f"trunkwatch mibs compile: not a folder: {', '.join(missing)}", file=sys.stderr)
        return EXIT_USAGE
    cache = Path(args.cache).expanduser() if args.cache else None
    results = compile_folders(folders, cache)
    for result in results:
        print(result, file=sys.stdout if result.ok else sys.stderr)
    failed = sum(not r.ok for r in results)
    where = cache or default_cache_dir()
    summary = f"{len(results)} file(s), {failed} error(s); compiled modules cached in {where}"
    print(summary, file=sys.stderr if failed else sys.stdout)
    return EXIT_FAILED if failed else EXIT_OK


def register(subparsers: Subparsers, add_config: AddConfig) -> None:
    """Add ``trunkwatch mibs compile``."""
    mibs = subparsers.add_parser("mibs", help="MIB files: compile them for symbolic names")
    actions = mibs.add_subparsers(dest="mibs_command", metavar="ACTION", required=True)
    p = actions.add_parser(
        "compile",
        help="compile every MIB module in the folders and report each",
        description="Compile every MIB module found in the folders with pysmi, as profiles "
        "with symbolic names (MODULE::object) do at load time, and cache the result. Prints "
        "one line per module; exits 1 if any module is missing an import or does not compile.",
    )
    add_config(p)
    p.add_argument("dirs", nargs="+", metavar="DIR", help="folders of MIB text files")
    p.add_argument(
        "--cache",
        metavar="DIR",
        help="where compiled modules are kept (default: $TRUNKWATCH_MIB_CACHE, else a per-user "
        "folder under the temp folder: the one the daemon reads)",
    )
    p.set_defaults(func=cmd_mibs_compile)
