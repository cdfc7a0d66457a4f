"""``trunkwatch maintenance start|end|list`` on a SQLite store in a temporary folder: the owner
is the token's person, a window stands even when Alertmanager cannot be reached, and every
bad input is one line on standard error and exit 2."""

from __future__ import annotations

import json
import socket
from pathlib import Path

import pytest

from monitor.cli import main
from tests.unit.inspections_fleet import TOKENS, write_config


def run(capsys: pytest.CaptureFixture[str], *argv: str) -> tuple[int, str, str]:
    try:
        code = main(list(argv))
    except SystemExit as exc:  # argparse's exit
        code = int(exc.code or 0)
    captured = capsys.readouterr()
    return code, captured.out, captured.err


@pytest.fixture
def config(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> str:
    monkeypatch.setenv("TRUNKWATCH_TOKEN", TOKENS["lina"])
    return str(write_config(tmp_path))


def test_a_window_is_started_listed_and_ended_as_the_tokens_person(
    config: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    code, out, err = run(
        capsys, "maintenance", "start", "-c", config, "--asset", "bs-xingning", "--for", "90m",
        "--reason", "天馈线扫频 antenna sweep",
    )  # fmt: skip
    assert (code, err) == (0, "")
    window_id = out.split()[0]
    assert "asset:bs-xingning" in out
    assert "owner lina" in out

    code, out, _ = run(capsys, "maintenance", "list", "-c", config, "--json")
    [window] = json.loads(out)
    assert (window["id"], window["owner"], window["state"], window["silence"]) == (
        window_id, "lina", "active", None,
    )  # fmt: skip
    assert window["ends_at"] - window["starts_at"] == 5400
    assert window["silence_pending"] is None  # no Alertmanager configured: nothing to make

    monkeypatch.setenv("TRUNKWATCH_TOKEN", TOKENS["zhaomin"])
    code, out, err = run(capsys, "maintenance", "end", "-c", config, window_id)
    assert (code, err) == (0, "")
    assert f"{window_id}  ended" in out
    code, out, _ = run(capsys, "maintenance", "list", "-c", config)
    assert (code, out) == (0, "no maintenance in force\n")
    code, out, _ = run(capsys, "maintenance", "list", "-c", config, "--all", "--json")
    [ended] = json.loads(out)
    assert (ended["state"], ended["ended_by"]) == ("ended", "zhaomin")

    code, _, err = run(capsys, "maintenance", "end", "-c", config, window_id)
    assert (code, err) == (
        1,
        f"trunkwatch maintenance: maintenance window {window_id} was already ended\n",
    )


def test_an_unreachable_alertmanager_leaves_the_window_standing_and_says_so(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    path = write_config(tmp_path)
    path.write_text(
        f"alerting: {{alertmanager_url: 'http://127.0.0.1:{port}'}}\n" + path.read_text(), "utf-8"
    )
    monkeypatch.setenv("TRUNKWATCH_TOKEN", TOKENS["zhangwei"])
    code, out, err = run(
        capsys, "maintenance", "start", "-c", str(path), "--site", "xixiangtang", "--for", "2h",
        "--reason", "发电机试运行",
    )  # fmt: skip
    assert code == 0
    assert "site:xixiangtang" in out
    assert err == (
        f"    silence pending: cannot reach Alertmanager (127.0.0.1:{port}: connection refused);"
        " the daemon retries\n"
    )
    code, out, _ = run(capsys, "maintenance", "list", "-c", str(path), "--json")
    assert [w["target"] for w in json.loads(out)] == ["xixiangtang"]


@pytest.mark.parametrize(
    ("argv", "says"),
    [
        (["--asset", "bs-xingning", "--for", "2x", "--reason", "r"],
         "argument --for: expected a duration such as 30s, 5m or 1h, got '2x'"),
        (["--asset", "bs-xingning", "--site", "xixiangtang", "--for", "2h", "--reason", "r"],
         "argument --site: not allowed with argument --asset"),
        (["--for", "2h", "--reason", "r"], "one of the arguments --asset --site is required"),
        (["--asset", "bs-nowhere", "--for", "2h", "--reason", "r"],
         "no asset 'bs-nowhere' in the configuration"),
        (["--site", "xixiangtang", "--for", "10s", "--reason", "r"], "for: between 1m and 7d"),
        (["--site", "xixiangtang", "--for", "2h", "--reason", "  "], "reason: 须说明原因 / say why"),
    ],
)  # fmt: skip
def test_bad_input_is_one_line_and_exit_2(
    config: str, capsys: pytest.CaptureFixture[str], argv: list[str], says: str
) -> None:
    code, out, err = run(capsys, "maintenance", "start", "-c", config, *argv)
    assert code == 2
    assert says in err
    assert len(err.strip().splitlines()) == 1, err
    assert out == ""


def test_who_cannot_start_a_window(
    config: str, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    start = [
        "maintenance",
        "start",
        "-c",
        config,
        "--site",
        "xixiangtang",
        "--for",
        "1h",
        "--reason",
        "r",
    ]
    monkeypatch.setenv("TRUNKWATCH_TOKEN", "not-a-token-of-anyone-at-all")
    assert run(capsys, *start)[:3:2] == (
        2, "trunkwatch maintenance: the token matches no one on the roster\n"
    )  # fmt: skip
    monkeypatch.delenv("TRUNKWATCH_TOKEN")
    code, _, err = run(capsys, *start)
    assert (code, err) == (
        2, "trunkwatch maintenance: set TRUNKWATCH_TOKEN or give --token-file with your personal token\n"
    )  # fmt: skip
    bare = tmp_path / "bare.yaml"
    bare.write_text("sites: [{id: hq, name: HQ}]\nassets: []\n", encoding="utf-8")
    code, _, err = run(capsys, "maintenance", "list", "-c", str(bare))
    assert code == 2
    assert "has no inspections: section; planned maintenance needs its roster and store" in err
