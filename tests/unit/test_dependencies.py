"""Every third-party module the code imports belongs to a distribution pyproject.toml declares.

A module that is importable only because another package pulled it in (aiohttp brings yarl,
pysnmp brings pyasn1) breaks the day that package stops depending on it. The fresh
virtualenv of .ci/run catches what is missing at all; this catches what is there by accident.
"""

from __future__ import annotations

import ast
import re
import sys
import tomllib
from importlib.metadata import packages_distributions
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
OURS = {"monitor", "probes", "tests", "bench"}


def _declared(*extras: str) -> set[str]:
    project = tomllib.loads((REPO / "pyproject.toml").read_text())["project"]
    requirements = list(project["dependencies"])
    for extra in extras:
        requirements += project["optional-dependencies"][extra]
    return {_normal(re.split(r"[\s<>=!~;\[]", r, maxsplit=1)[0]) for r in requirements}


def _normal(name: str) -> str:
    return re.sub(r"[-_.]+", "-", name).lower()


def _imported(*folders: str) -> dict[str, Path]:
    found: dict[str, Path] = {}
    for folder in folders:
        for path in (REPO / folder).rglob("*.py"):
            for node in ast.walk(ast.parse(path.read_text(), str(path))):
                if isinstance(node, ast.Import):
                    names = [alias.name for alias in node.names]
                elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
                    names = [node.module]
                else:
                    continue
                for name in names:
                    top = name.partition(".")[0]
                    if top not in sys.stdlib_module_names and top not in OURS:
                        found.setdefault(top, path)
    return found


@pytest.mark.parametrize(
    ("folders", "extras"),
    [(("monitor", "probes"), ()), (("tests", "bench"), ("test",))],
    ids=["runtime", "tests"],
)
def test_every_imported_module_comes_from_a_declared_distribution(
    folders: tuple[str, ...], extras: tuple[str, ...]
) -> None:
    declared = _declared(*extras)
    owners = packages_distributions()
    imported = _imported(*folders)
    assert {"yaml", "pytest" if extras else "pydantic"} <= imported.keys()  # it sees imports
    undeclared = {}
    for module, where in imported.items():
        distributions = {_normal(d) for d in owners.get(module, [])}
        if not distributions & declared:
            undeclared[module] = (sorted(distributions), str(where.relative_to(REPO)))
    assert undeclared == {}
