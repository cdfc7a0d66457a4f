"""Optional top-level sections are registered, not imported: an entry point adds one, its
model and checks report at the file's lines, and a file without a section never loads the
package that owns it."""

from __future__ import annotations

import subprocess
import sys
import textwrap
from collections.abc import Iterator
from pathlib import Path

import pytest

from monitor.config import ConfigModel, ConfigSection, load_config
from monitor.config import sections as registry
from monitor.core.sources import ConfigError, Problem, SourceMap, Strict

BASE = """\
sites: [{id: hq, name: HQ}]
assets:
  - {id: pager-gw, site: hq, system: platform, kind: paging, address: 127.0.0.1}
"""


class PagingConfig(Strict):
    gateway: str
    retries: int = 3


def check_paging(
    section: PagingConfig, model: ConfigModel, smap: SourceMap, base: Path
) -> Iterator[Problem]:
    if section.gateway not in {asset.id for asset in model.assets}:
        yield smap.problem(("paging", "gateway"), f"no asset {section.gateway!r}")


PAGING = ConfigSection("paging", PagingConfig, check_paging)


@pytest.fixture
def paging_registered(monkeypatch: pytest.MonkeyPatch) -> None:
    """``paging`` as another distribution would register it in trunkwatch.config_sections."""
    table = {"paging": f"{__name__}:PAGING"}
    monkeypatch.setattr(registry, "_entry_point_table", lambda: table)


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "monitor.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return [str(p) for p in info.value.problems]


@pytest.mark.usefixtures("paging_registered")
def test_a_registered_section_is_validated_and_read_back_typed(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, BASE + "paging: {gateway: pager-gw}\n"))
    paging = PAGING.of(config)
    assert paging == PagingConfig(gateway="pager-gw", retries=3)


@pytest.mark.usefixtures("paging_registered")
def test_a_registered_sections_shape_and_checks_report_at_their_lines(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + "paging:\n  gateway: pager-gw\n  retries: many\n  tone: 2\n")
    assert problems(path) == [
        f"{path}:6: paging.retries: Input should be a valid integer, unable to parse string "
        "as an integer",
        f"{path}:7: paging.tone: unknown key",
    ]
    path = write(tmp_path, BASE + "paging:\n  gateway: nowhere\n")
    assert problems(path) == [f"{path}:5: paging.gateway: no asset 'nowhere'"]


def test_an_unregistered_key_is_an_unknown_key(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + "paging: {gateway: pager-gw}\n")
    assert problems(path) == [f"{path}:4: paging: unknown key"]


def test_a_section_whose_package_is_broken_is_one_problem_at_its_key(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    table = {"paging": "trunkwatch_paging_not_installed:SECTION"}
    monkeypatch.setattr(registry, "_entry_point_table", lambda: table)
    path = write(tmp_path, BASE + "paging: {gateway: pager-gw}\n")
    assert problems(path) == [
        f"{path}:4: paging: section 'paging' cannot be loaded from "
        "trunkwatch_paging_not_installed:SECTION: "
        "No module named 'trunkwatch_paging_not_installed'"
    ]


def test_a_registration_cannot_take_over_the_files_own_sections(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    table = {"assets": f"{__name__}:PAGING", "paging": f"{__name__}:PAGING"}
    monkeypatch.setattr(registry, "_entry_point_table", lambda: table)
    assert registry.section_keys() == ["simulator", "inspections", "traps", "cluster", "paging"]


def test_a_file_without_optional_sections_loads_none_of_their_packages(tmp_path: Path) -> None:
    # A fresh interpreter: this process has imported every package already.
    path = write(tmp_path, BASE)
    script = (
        "import sys\n"
        "from monitor.config import load_config\n"
        f"load_config({str(path)!r})\n"
        "owners = ('monitor.traps', 'monitor.inspections', 'monitor.simulator', 'monitor.cluster')\n"
        "print(sorted(m for m in sys.modules if m.startswith(owners)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script], capture_output=True, text=True, timeout=60, check=True
    )
    assert done.stdout.strip() == "[]"
