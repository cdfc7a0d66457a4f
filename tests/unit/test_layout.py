"""The layout of DESIGN.md §3 holds: no import cycle, modules of one job, no late imports.

import-linter's contracts in pyproject.toml say which way imports point between the rooms;
these tests hold what a contract cannot: that the module graph of monitor and probes has no
cycle at all, that no module grows past what one job needs, and that no import is pushed down
a file (``noqa: E402``) to get round an order problem.
"""

from __future__ import annotations

import re
from pathlib import Path

import grimp

REPO = Path(__file__).resolve().parents[2]
SHIPPED = ("monitor", "probes")
MAX_LINES = 800


def _cycles(graph: grimp.ImportGraph) -> list[list[str]]:
    """The strongly connected components of more than one module (Tarjan, iteratively)."""
    index: dict[str, int] = {}
    low: dict[str, int] = {}
    on_stack: set[str] = set()
    stack: list[str] = []
    found: list[list[str]] = []
    counter = 0
    for root in sorted(graph.modules):
        if root in index:
            continue
        work = [(root, iter(sorted(graph.find_modules_directly_imported_by(root))))]
        index[root] = low[root] = counter
        counter += 1
        stack.append(root)
        on_stack.add(root)
        while work:
            node, children = work[-1]
            child = next(children, None)
            if child is not None:
                if child not in index:
                    index[child] = low[child] = counter
                    counter += 1
                    stack.append(child)
                    on_stack.add(child)
                    imported = sorted(graph.find_modules_directly_imported_by(child))
                    work.append((child, iter(imported)))
                elif child in on_stack:
                    low[node] = min(low[node], index[child])
                continue
            work.pop()
            if work:
                parent = work[-1][0]
                low[parent] = min(low[parent], low[node])
            if low[node] == index[node]:
                component = []
                while True:
                    member = stack.pop()
                    on_stack.discard(member)
                    component.append(member)
                    if member == node:
                        break
                if len(component) > 1:
                    found.append(sorted(component))
    return found


def test_the_cycle_finder_sees_a_cycle() -> None:
    class Graph:
        modules = frozenset({"a", "b", "c"})

        @staticmethod
        def find_modules_directly_imported_by(module: str) -> set[str]:
            return {"a": {"b"}, "b": {"a", "c"}, "c": set()}[module]

    assert _cycles(Graph()) == [["a", "b"]]  # type: ignore[arg-type]


def test_the_modules_of_monitor_and_probes_import_each_other_without_a_cycle() -> None:
    graph = grimp.build_graph(*SHIPPED, exclude_type_checking_imports=True)
    assert len(graph.modules) > 50
    assert _cycles(graph) == []  # type-only imports (TYPE_CHECKING) run nothing


def test_no_module_outside_the_tests_is_longer_than_one_job_needs() -> None:
    sizes = {
        str(path.relative_to(REPO)): len(path.read_text(encoding="utf-8").splitlines())
        for folder in (*SHIPPED, "bench")
        for path in (REPO / folder).rglob("*.py")
    }
    assert len(sizes) > 50
    assert {name: lines for name, lines in sizes.items() if lines > MAX_LINES} == {}


def test_no_import_is_pushed_down_a_module() -> None:
    late = re.compile(r"#\s*noqa:[^\n]*\bE402\b")
    offenders = [
        str(path.relative_to(REPO))
        for folder in (*SHIPPED, "tests", "bench")
        for path in (REPO / folder).rglob("*.py")
        if late.search(path.read_text(encoding="utf-8"))
    ]
    assert offenders == []
