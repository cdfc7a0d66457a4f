"""Type-check dashboard JSON models against Grafana's ``@grafana/schema`` under ``tsc --strict``.

``typecheck({"noc-overview": board, ...})`` writes one ``<name>.ts`` per board beside
``dashboard.ts`` (the strict ``StrictDashboard`` type built from ``@grafana/schema``)::

    import type { StrictDashboard } from './dashboard';
    export const board = { ...the JSON, sorted keys, two-space indent... } satisfies StrictDashboard;

and runs the TypeScript compiler once over all of them (``tsconfig.json``: ``strict``,
``exactOptionalPropertyTypes``, ``noEmit``). ``satisfies`` on an object literal checks every
property against the type: an unknown key is "Object literal may only specify known
properties", a wrong type or a ``null`` where only absence is allowed is "not assignable". The
JSON is written as ``trunkwatch dashboards build`` writes it, so a diagnostic's line is the line
of the committed file: ``site-detail.json:712: TS2353 ...``.

The npm packages (``package.json``, pinned by ``package-lock.json``) are installed with
``npm ci`` into a cache outside the repository, reused while the lock file is unchanged: under
``$TRUNKWATCH_SCHEMA_NPM``, by default ``/var/cache/trunkwatch/grafana-schema`` as root and
``~/.cache/trunkwatch/grafana-schema`` otherwise. ``python -m tests.schema`` installs it ahead
of a test run. A missing ``node`` or ``npm`` is a failure with an install hint, never a skip.
"""

from __future__ import annotations

import fcntl
import hashlib
import json
import os
import re
import shutil
import subprocess
import tempfile
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

__all__ = ["HERE", "TypeScriptError", "grafana_schema_version", "install", "typecheck"]

HERE = Path(__file__).resolve().parent
#: What the cache is built from, and what a check copies beside the boards.
MANIFEST = ("package.json", "package-lock.json")
SUPPORT = ("dashboard.ts", "tsconfig.json")
INSTALL_TIMEOUT_S = 600.0
CHECK_TIMEOUT_S = 300.0
#: Characters of a diagnostic kept: tsc spells out whole types in some.
_TEXT = 400
_DIAGNOSTIC = re.compile(r"^(?P<file>[^()\s]+)\((?P<line>\d+),(?P<col>\d+)\): error (?P<text>.*)$")
#: ``import`` on line 1, ``export const board = {`` on line 2: JSON line N is line N + 1.
_HEADER = "import type { StrictDashboard } from './dashboard';\nexport const board = "


class TypeScriptError(RuntimeError):
    """node or npm is missing, the install failed, or tsc failed other than on the boards."""


def _default_root() -> Path:
    if os.geteuid() == 0:
        return Path("/var/cache/trunkwatch/grafana-schema")
    cache = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(cache) / "trunkwatch" / "grafana-schema"


def _tool(name: str) -> str:
    path = shutil.which(name)
    if path is None:
        raise TypeScriptError(
            f"{name} not found: the dashboard type check runs the TypeScript compiler on "
            "Node.js (Debian: apt-get install -y nodejs npm)"
        )
    return path


def _run(command: Sequence[str], what: str, cwd: Path, timeout: float) -> str:
    try:
        proc = subprocess.run(
            command, cwd=cwd, capture_output=True, timeout=timeout, check=False, text=True
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        raise TypeScriptError(f"{what} failed: {exc}") from exc
    if proc.returncode != 0:
        raise TypeScriptError(
            f"{what} exited {proc.returncode}:\n{(proc.stdout + proc.stderr)[-2000:]}"
        )
    return proc.stdout


def install() -> Path:
    """The folder whose ``node_modules`` holds ``@grafana/schema`` and ``typescript``, installed
    first if missing or out of date (under a lock; a stamp of the lock file, written last,
    marks it complete, so a half-finished install is done again)."""
    root = Path(os.environ.get("TRUNKWATCH_SCHEMA_NPM") or _default_root())
    digest = hashlib.sha256(b"".join((HERE / name).read_bytes() for name in MANIFEST)).hexdigest()
    stamp = root / "trunkwatch-lock.sha256"
    tsc = root / "node_modules" / "typescript" / "bin" / "tsc"
    if stamp.is_file() and stamp.read_text() == digest and tsc.is_file():
        return root
    _tool("node")
    npm = _tool("npm")
    root.mkdir(parents=True, exist_ok=True)
    with (root.parent / f"{root.name}.lock").open("w") as lock:
        fcntl.flock(lock, fcntl.LOCK_EX)
        if stamp.is_file() and stamp.read_text() == digest and tsc.is_file():
            return root
        stamp.unlink(missing_ok=True)
        for name in MANIFEST:
            shutil.copyfile(HERE / name, root / name)
        _run(
            [npm, "ci", "--no-audit", "--no-fund", "--ignore-scripts", "--loglevel=error"],
            f"npm ci in {root}",
            root,
            INSTALL_TIMEOUT_S,
        )
        stamp.write_text(digest)
    return root


def board_source(board: Mapping[str, Any]) -> str:
    """The ``.ts`` of one board: the JSON as ``render`` writes it, checked by ``satisfies``."""
    text = json.dumps(board, sort_keys=True, indent=2, ensure_ascii=False)
    return f"{_HEADER}{text} satisfies StrictDashboard;\n"


def typecheck(boards: Mapping[str, Mapping[str, Any]]) -> dict[str, list[str]]:
    """tsc's diagnostics for each board by name (an empty list for a board that conforms),
    each ``NAME.json:LINE: TSnnnn: message``."""
    root = install()
    node = _tool("node")
    checks = root / "checks"
    checks.mkdir(exist_ok=True)
    with tempfile.TemporaryDirectory(dir=checks) as tmp:
        work = Path(tmp)
        for name in SUPPORT:
            shutil.copyfile(HERE / name, work / name)
        config = json.loads((work / "tsconfig.json").read_text())
        config["include"] = ["*.ts"]
        (work / "tsconfig.json").write_text(json.dumps(config))
        for name, board in boards.items():
            (work / f"{name}.ts").write_text(board_source(board), encoding="utf-8")
        command = [
            node,
            str(root / "node_modules" / "typescript" / "bin" / "tsc"),
            "--project",
            str(work),
            "--pretty",
            "false",
        ]
        try:
            proc = subprocess.run(
                command,
                cwd=work,
                capture_output=True,
                timeout=CHECK_TIMEOUT_S,
                check=False,
                text=True,
            )
        except (OSError, subprocess.TimeoutExpired) as exc:
            raise TypeScriptError(f"tsc failed: {exc}") from exc
    found: dict[str, list[str]] = {name: [] for name in boards}
    other: list[str] = []
    for line in proc.stdout.splitlines():
        match = _DIAGNOSTIC.match(line)
        name = Path(match["file"]).stem if match else ""
        if match and name in found and Path(match["file"]).suffix == ".ts":
            json_line = int(match["line"]) - 1
            found[name].append(f"{name}.json:{json_line}: {match['text'][:_TEXT]}")
        elif line.strip() and not line.startswith(" "):
            other.append(line)
    if other or (proc.returncode != 0 and not any(found.values())):
        output = "\n".join(other) or (proc.stdout + proc.stderr)[-2000:]
        raise TypeScriptError(f"tsc exited {proc.returncode} other than on the boards:\n{output}")
    return found


def grafana_schema_version() -> int:
    """``schemaVersion`` of ``defaultDashboard`` in the installed ``@grafana/schema``: the
    dashboard model version of the Grafana release those types come from."""
    root = install()
    script = (
        "import { defaultDashboard } from '@grafana/schema';"
        "process.stdout.write(String(defaultDashboard.schemaVersion));"
    )
    out = _run(
        [_tool("node"), "--input-type=module", "--eval", script],
        "node reading @grafana/schema's defaultDashboard",
        root,
        60.0,
    )
    return int(out)
