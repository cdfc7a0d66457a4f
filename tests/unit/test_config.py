"""Configuration loading: every problem reported at once as file:line: field: reason."""

from __future__ import annotations

import textwrap
from pathlib import Path

import pytest

from monitor.config import load_config, resolve_secret
from monitor.core.durations import parse_duration
from monitor.core.sources import ConfigError

GOOD = """\
defaults:
  interval: 30s
  timeout: 5s
credentials:
  lab:
    community: ${TW_TEST_COMMUNITY:-public}
sites:
  - id: hq
    name: 市应急联动中心
    backhaul: core
  - id: jiangbei
    name: 江北基站
    parent: hq
    coordinates: [29.6, 106.5]
assets:
  - id: core
    site: hq
    system: network
    kind: switch
    address: 127.0.0.1:1161
    credentials: lab
    probes:
      - module: tcp
        port: 22
  - id: bs-jiangbei
    site: jiangbei
    system: radio
    kind: tetra_bs
    address: "[::1]:1162"
    probes:
      - module: tcp
        interval: 1m
"""


def write(tmp_path: Path, text: str) -> Path:
    path = tmp_path / "monitor.yaml"
    path.write_text(textwrap.dedent(text), encoding="utf-8")
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    return [str(p) for p in info.value.problems]


def test_good_config_loads_with_defaults_applied(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, GOOD))
    assert [s.id for s in config.sites] == ["hq", "jiangbei"]
    assert config.model.defaults.interval == 30.0
    assert config.assets[1].probes[0].interval == 60.0
    assert config.assets[0].probes[0].params == {"port": 22}
    assert config.secrets["lab"]["community"] == "public"


def test_every_error_is_reported_at_once_with_its_line(tmp_path: Path) -> None:
    bad = GOOD.replace("kind: switch", "kind: switch\n    colour: blue")  # line 20
    bad = bad.replace("site: jiangbei", "site: nowhere")  # line 27
    bad = bad.replace("interval: 1m", "interval: 2s")  # below the 5s timeout, line 33
    bad = bad.replace("id: jiangbei", "id: hq")  # duplicate site id, line 11
    found = problems(write(tmp_path, bad))
    path = tmp_path / "monitor.yaml"
    assert found == [
        f"{path}:20: assets[0].colour: unknown key",
        f"{path}:11: sites[1].id: duplicate site id 'hq'",
        f"{path}:27: assets[1].site: no site 'nowhere'",
        f"{path}:33: assets[1].probes[0].interval: interval 2s is below the timeout 5s",
    ]


def test_wrong_types_and_unknown_probe_module(tmp_path: Path) -> None:
    bad = GOOD.replace("system: radio", "system: radar").replace("port: 22", "port: twenty")
    found = problems(write(tmp_path, bad))
    path = tmp_path / "monitor.yaml"
    assert (
        f"{path}:24: assets[0].probes[0].port: Input should be a valid integer, unable to parse string as an integer"
        in found
    )
    assert any(f.startswith(f"{path}:27: assets[1].system: Input should be 'radio'") for f in found)
    bad = GOOD.replace("module: tcp\n        interval", "module: teleport\n        interval")
    found = problems(write(tmp_path, bad))
    assert found[0].startswith(f"{path}:31: assets[1].probes[0].module: unknown probe module")


def test_probe_parameters_are_checked_by_their_module(tmp_path: Path) -> None:
    bad = GOOD.replace("port: 22", "port: 70000")
    found = problems(write(tmp_path, bad))
    path = tmp_path / "monitor.yaml"
    assert found == [
        f"{path}:24: assets[0].probes[0].port: Input should be less than or equal to 65535"
    ]


def test_references_to_missing_things(tmp_path: Path) -> None:
    bad = GOOD.replace("backhaul: core", "backhaul: ghost").replace(
        "credentials: lab", "credentials: nope"
    )
    bad = bad.replace("parent: hq", "parent: moon")
    found = problems(write(tmp_path, bad))
    path = tmp_path / "monitor.yaml"
    assert f"{path}:10: sites[0].backhaul: no asset 'ghost'" in found
    assert f"{path}:13: sites[1].parent: no site 'moon'" in found
    assert f"{path}:21: assets[0].credentials: no credentials 'nope'" in found


def test_secret_errors_never_show_the_secret(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("TW_MISSING", raising=False)
    secret_file = tmp_path / "community.txt"
    secret_file.write_text("s3cr3t-community\n")
    bad = GOOD.replace("${TW_TEST_COMMUNITY:-public}", "${TW_MISSING}")
    bad = bad.replace(
        "credentials:\n  lab:",
        "credentials:\n  filed:\n    community: file:community.txt\n    v3key: file:absent.key\n  lab:",
    )
    found = problems(write(tmp_path, bad))
    path = tmp_path / "monitor.yaml"
    assert (
        f"{path}:7: credentials.filed.v3key: cannot read secret file {tmp_path / 'absent.key'}: No such file or directory"
        in found
    )
    assert (
        f"{path}:9: credentials.lab.community: environment variable TW_MISSING is not set" in found
    )
    assert not any("s3cr3t" in f for f in found)
    assert resolve_secret("file:community.txt", tmp_path) == "s3cr3t-community"


def test_yaml_syntax_error_names_the_line(tmp_path: Path) -> None:
    found = problems(write(tmp_path, "sites:\n  - id: a\n    name: [unclosed\n"))
    assert found[0].startswith(f"{tmp_path / 'monitor.yaml'}:4: (syntax):")


def test_duplicate_keys_are_an_error(tmp_path: Path) -> None:
    found = problems(write(tmp_path, "defaults:\n  interval: 1m\n  interval: 2m\n"))
    assert found == [f"{tmp_path / 'monitor.yaml'}:3: defaults.interval: duplicate key"]


@pytest.mark.parametrize(
    ("text", "seconds"),
    [("30s", 30.0), ("5m", 300.0), ("1h", 3600.0), ("250ms", 0.25), (15, 15.0), ("1.5s", 1.5)],
)
def test_durations(text: str | int, seconds: float) -> None:
    assert parse_duration(text) == seconds


@pytest.mark.parametrize("text", ["0s", "-1s", "soon", True, "5 parsecs"])
def test_bad_durations(text: object) -> None:
    with pytest.raises(ValueError):  # noqa: PT011
        parse_duration(text)


def test_shipped_config_is_valid() -> None:
    config = load_config(Path(__file__).resolve().parents[2] / "monitor.yaml")
    assert len(config.assets) >= 10
