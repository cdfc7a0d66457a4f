"""The command groups: the table in ``monitor.cli`` says which commands each module adds, and a
run imports only the group of its command (``check-config`` never loads the daemon)."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest

from monitor.cli import COMMAND_GROUPS, _command_group, group_module
from monitor.cli.args import CommandParser, add_config

REPO = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(("group", "commands"), COMMAND_GROUPS)
def test_each_group_adds_exactly_the_commands_listed_for_it(
    group: str, commands: tuple[str, ...]
) -> None:
    parser = CommandParser(prog="trunkwatch")
    sub = parser.add_subparsers(dest="command")
    group_module(group).register(sub, add_config)
    assert tuple(sub.choices) == commands


def test_no_command_is_listed_twice() -> None:
    listed = [command for _, commands in COMMAND_GROUPS for command in commands]
    assert len(listed) == len(set(listed))


@pytest.mark.parametrize(
    ("argv", "group"),
    [
        (["check-config", "-c", "x.yaml"], "check"),
        (["--log-level", "debug", "check-config"], "check"),
        (["--log-level=debug", "simulate", "--control", "127.0.0.1:1"], "demo"),
        (["-c", "run"], "run"),  # argparse then refuses -c, as the whole parser would
        (["--version"], None),
        (["--help"], None),
        ([], None),
        (["bogus", "run"], None),
    ],
)
def test_the_command_is_the_first_word_that_is_no_option(
    argv: list[str], group: str | None
) -> None:
    assert _command_group(argv) == group


def test_check_config_imports_neither_the_daemon_nor_other_groups(tmp_path: Path) -> None:
    path = tmp_path / "monitor.yaml"
    path.write_text("sites: [{id: hq, name: HQ}]\nassets: []\n", encoding="utf-8")
    script = (
        "import json, sys\n"
        "from monitor.cli import main\n"
        f"code = main(['check-config', '-c', {str(path)!r}])\n"
        "print(json.dumps([code, sorted(sys.modules)]))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    code, modules = json.loads(done.stdout.splitlines()[-1])
    assert code == 0
    groups = {name for name, _ in COMMAND_GROUPS}
    loaded = {m.removeprefix("monitor.cli.") for m in modules if m.startswith("monitor.cli.")}
    assert loaded & groups == {"check"}
    assert "monitor.app.daemon" not in modules
    assert "aiohttp" not in modules


def test_the_daemon_loads_page_and_snmpv3_libraries_only_when_used() -> None:
    # Each costs megabytes of resident memory in every daemon: Jinja and markdown-it draw
    # pages, cryptography and pysnmp serve SNMPv3, scapy sends raw packets, Pillow reads the
    # photos of an inspection.
    script = (
        "import json, sys\n"
        "import monitor.app.daemon, monitor.app.server, monitor.cli.run\n"
        "print(json.dumps(sorted(sys.modules)))\n"
    )
    done = subprocess.run(
        [sys.executable, "-c", script],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=True,
    )
    modules = {m.split(".")[0] for m in json.loads(done.stdout.splitlines()[-1])}
    assert "aiohttp" in modules  # the daemon itself did load
    assert modules.isdisjoint({"jinja2", "markdown_it", "cryptography", "pysnmp", "scapy", "PIL"})
