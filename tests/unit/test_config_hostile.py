"""Hostile configuration files: every one is refused as file:line: field: reason, quickly,
with bounded memory, and without a byte of a secret in the message."""

from __future__ import annotations

import os
import re
import time
import tracemalloc
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest

from monitor.config import load_config, reload_problems
from monitor.core.durations import parse_duration
from monitor.core.sources import MAX_DEPTH, MAX_FILE_BYTES, MAX_VALUES, ConfigError
from tests.unit.fleet import switch_fleet

SECRET = "tOp-s3cret-Cm7y"

BASE = """\
credentials:
  lab:
    community: ${TW_HOSTILE_COMMUNITY}
sites:
  - id: hq
    name: HQ
assets:
  - id: core
    site: hq
    system: network
    kind: switch
    address: 127.0.0.1
    credentials: lab
    probes:
      - module: tcp
        port: 22
"""

SHAPE = re.compile(r"^(?P<file>[^:]+):(?P<line>\d+): (?P<field>\S+|\(\w+\)): (?P<reason>.+)$")


@pytest.fixture(autouse=True)
def community(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("TW_HOSTILE_COMMUNITY", SECRET)


def write(tmp_path: Path, text: str | bytes, name: str = "monitor.yaml") -> Path:
    path = tmp_path / name
    if isinstance(text, str):
        path.write_text(text, encoding="utf-8")
    else:
        path.write_bytes(text)
    return path


def problems(path: Path) -> list[str]:
    with pytest.raises(ConfigError) as info:
        load_config(path)
    found = [str(p) for p in info.value.problems]
    for line in found:
        match = SHAPE.match(line)
        assert match is not None, line
        assert match["file"] == str(path)
        assert SECRET not in line
    return found


@contextmanager
def bounded(cpu_seconds: float = 5.0, megabytes: int = 200) -> Iterator[None]:
    """A hostile input costs at most this much CPU time and traced memory (generous: the
    point is "not a hang, not gigabytes", not a benchmark)."""
    tracemalloc.start()
    started = time.process_time()
    try:
        yield
        cpu = time.process_time() - started
        peak = tracemalloc.get_traced_memory()[1]
    finally:
        tracemalloc.stop()
    assert cpu < cpu_seconds, cpu
    assert peak < megabytes * 1024 * 1024, peak


ALIAS_BOMB = "\n".join(
    [
        'a: &a ["lol","lol","lol","lol","lol","lol","lol","lol","lol"]',
        *(
            f"{name}: &{name} [{','.join(['*' + prev] * 9)}]"
            for prev, name in zip("abcdefgh", "bcdefghi", strict=True)
        ),
        "assets: []",
    ]
)


def test_alias_bomb_is_refused_at_its_line_before_it_expands(tmp_path: Path) -> None:
    path = write(tmp_path, ALIAS_BOMB)
    assert path.stat().st_size < 400  # expanded naively: 9**9 strings, gigabytes
    with bounded():
        found = problems(path)
    assert found == [
        f"{path}:7: g[2]: the document expands through aliases to more than {MAX_VALUES:,} values"
    ]


ALIASED = """\
sites: [{id: hq, name: HQ}]
assets:
  - id: a
    site: hq
    system: network
    kind: switch
    address: 127.0.0.1
    probes: &std [{module: tcp, port: 22}]
  - id: b
    site: hq
    system: network
    kind: switch
    address: 127.0.0.2
    probes: *std
"""


def test_aliases_within_bounds_are_copies_reported_at_the_alias(tmp_path: Path) -> None:
    config = load_config(write(tmp_path, ALIASED))
    assert [a.probes[0].params for a in config.assets] == [{"port": 22}, {"port": 22}]
    path = write(tmp_path, ALIASED.replace("port: 22", "port: 70000"))
    reason = "Input should be less than or equal to 65535"
    assert problems(path) == [
        f"{path}:8: assets[0].probes[0].port: {reason}",
        f"{path}:14: assets[1].probes[0].port: {reason}",
    ]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("x: &x [*x]\nassets: []\n", "1: x[0]: alias *x is used inside its own anchor"),
        ("assets: *nowhere\n", "1: assets: undefined alias *nowhere"),
        (
            "assets: []\n---\nassets: []\n",
            "2: (document): expected a single document, found another",
        ),
        (
            "assets:\n  - id: a\n    id: b\n",
            "3: assets[0].id: duplicate key",
        ),
    ],
)
def test_alias_and_document_structure_errors(tmp_path: Path, text: str, expected: str) -> None:
    path = write(tmp_path, text)
    assert problems(path) == [f"{path}:{expected}"]


@pytest.mark.parametrize(
    "text",
    [
        "assets: " + "[" * 1000 + "]" * 1000 + "\n",
        "assets:\n" + "".join("  " * i + "- \n" for i in range(1, 1001)),
        "".join("  " * i + "a:\n" for i in range(1000)) + "  " * 1000 + "b: 1\n",
    ],
    ids=["flow", "block-sequence", "block-mapping"],
)
def test_thousand_deep_nesting_is_a_problem_not_a_recursion_error(
    tmp_path: Path, text: str
) -> None:
    with bounded():
        found = problems(write(tmp_path, text))
    assert len(found) == 1
    assert (
        found[0].endswith(f"nested deeper than {MAX_DEPTH} levels") or "nesting depth" in found[0]
    )


def test_deep_nesting_through_aliases_is_bounded(tmp_path: Path) -> None:
    lines = ["a0: &a0 [1]"]
    lines += [f"a{i}: &a{i} [*a{i - 1}]" for i in range(1, 100)]
    path = write(tmp_path, "\n".join([*lines, "assets: []"]) + "\n")
    assert problems(path) == [
        # The document's mapping, a63's sequence, then a62's 63 levels: one too many.
        f"{path}:{MAX_DEPTH}: a{MAX_DEPTH - 1}[0]: alias *a{MAX_DEPTH - 2} nests deeper than "
        f"{MAX_DEPTH} levels"
    ]


@pytest.mark.parametrize(
    "literal",
    [
        "9" * 5000,
        "-" + "9" * 4000,
        "0x" + "f" * 5000,
        "0b" + "1" * 65,
        "18446744073709551616",
    ],
    ids=["5000-digits", "4000-digits", "hex", "65-bits", "2**64"],
)
def test_huge_integers_are_out_of_range(tmp_path: Path, literal: str) -> None:
    path = write(tmp_path, BASE + f"limits:\n  concurrency: {literal}\n")
    assert problems(path) == [
        f"{path}:18: limits.concurrency: integer out of range (more than 64 bits)"
    ]


def test_largest_64_bit_integer_still_reaches_validation(tmp_path: Path) -> None:
    path = write(tmp_path, BASE + "limits:\n  concurrency: 18446744073709551615\n")
    assert problems(path) == [
        f"{path}:18: limits.concurrency: Input should be less than or equal to 100000"
    ]


def test_nul_byte_is_refused_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, BASE.replace("name: HQ", "name: H\x00Q").encode())
    assert problems(path) == [f"{path}:6: (file): character U+0000 is not allowed in YAML"]


def test_text_that_is_not_utf8_is_refused_with_its_line(tmp_path: Path) -> None:
    path = write(tmp_path, BASE.encode().replace(b"name: HQ", "name: 总部".encode("gbk")))
    assert problems(path) == [f"{path}:6: (file): not UTF-8 text"]


@pytest.mark.parametrize(
    "reason",
    ["fifo", "device", "directory", "too large", "missing"],
)
@pytest.mark.timeout(20)
def test_config_file_must_be_a_regular_file_of_bounded_size(tmp_path: Path, reason: str) -> None:
    path = tmp_path / "monitor.yaml"
    expected = "not a regular file"
    if reason == "fifo":
        os.mkfifo(path)  # no writer: a blocking open would wait forever
    elif reason == "device":
        path = Path("/dev/zero")
    elif reason == "directory":
        path.mkdir()
    elif reason == "too large":
        with path.open("wb") as handle:
            handle.truncate(MAX_FILE_BYTES + 1)
        expected = "larger than 16 MiB"
    else:
        expected = "No such file or directory"
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert [str(p) for p in info.value.problems] == [f"{path}:1: (file): cannot read: {expected}"]


@pytest.mark.parametrize(
    ("kind", "reason"),
    [
        ("fifo", "cannot read secret file {path}: not a regular file"),
        ("device", "cannot read secret file {path}: not a regular file"),
        ("directory", "cannot read secret file {path}: not a regular file"),
        ("too large", "cannot read secret file {path}: larger than 64 KiB"),
        ("not utf-8", "secret file {path} is not UTF-8 text"),
    ],
)
@pytest.mark.timeout(20)
def test_secret_files_are_regular_small_utf8_files(tmp_path: Path, kind: str, reason: str) -> None:
    secret = tmp_path / "community.txt"
    if kind == "fifo":
        os.mkfifo(secret)
    elif kind == "device":
        secret = Path("/dev/zero")
    elif kind == "directory":
        secret.mkdir()
    elif kind == "too large":
        secret.write_text(SECRET * (64 * 1024 // len(SECRET) + 1))
    else:
        # A GBK secret: the decoder's own message would quote the first bad byte.
        secret.write_bytes(SECRET.encode() + "口令".encode("gbk"))
    path = write(tmp_path, BASE.replace("${TW_HOSTILE_COMMUNITY}", f"file:{secret}"))
    assert problems(path) == [f"{path}:3: credentials.lab.community: " + reason.format(path=secret)]


def test_a_64_kib_secret_file_is_read(tmp_path: Path) -> None:
    secret = tmp_path / "community.txt"
    secret.write_text("k" * (64 * 1024))
    config = load_config(
        write(tmp_path, BASE.replace("${TW_HOSTILE_COMMUNITY}", "file:community.txt"))
    )
    assert config.secrets["lab"]["community"] == "k" * 64 * 1024


def test_no_message_quotes_a_secret(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Secrets that resolve but are unusable are named by their field, never shown."""
    short = "Zq7#x"  # too short for an SNMPv3 key
    (tmp_path / "auth.key").write_text(short + "\n")
    monkeypatch.setenv("TW_HOSTILE_PRIV", short[::-1])
    text = BASE.replace(
        "credentials:\n  lab:\n",
        "credentials:\n  v3:\n    user: ${TW_HOSTILE_COMMUNITY}\n    auth_key: file:auth.key\n"
        "    priv_key: ${TW_HOSTILE_PRIV}\n  lab:\n",
    )
    text += "traps:\n  listen: 127.0.0.1:0\n  v3_users: [{credentials: v3}]\n"
    path = write(tmp_path, text)
    found = problems(path)
    assert found == [
        f"{path}:23: traps.v3_users[0].credentials: auth_key must have at least 8 characters"
    ]
    assert not any(short in line or short[::-1] in line for line in found)


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("", "missing, the file is empty: list the assets to monitor (write assets: [] for none)"),
        (
            "# only a comment\n",
            "missing, the file is empty: list the assets to monitor (write assets: [] for none)",
        ),
        ("sites: []\n", "missing: list the assets to monitor (write assets: [] for none)"),
    ],
    ids=["empty", "comment", "no-assets-key"],
)
def test_a_file_without_assets_is_an_error(tmp_path: Path, text: str, reason: str) -> None:
    path = write(tmp_path, text)
    assert problems(path) == [f"{path}:1: assets: {reason}"]


def test_missing_assets_is_reported_with_the_other_problems(tmp_path: Path) -> None:
    path = write(tmp_path, "defaults: {interval: never}\n")
    assert problems(path) == [
        f"{path}:1: assets: missing: list the assets to monitor (write assets: [] for none)",
        f"{path}:1: defaults.interval: expected a duration such as 30s, 5m or 1h",
    ]


def test_an_explicit_empty_asset_list_is_allowed(tmp_path: Path) -> None:
    assert load_config(write(tmp_path, "assets: []\n")).assets == []


@pytest.mark.parametrize(
    ("value", "reason"),
    [
        (".inf", "must be at most 366d"),
        (".nan", "expected a duration such as 30s, 5m or 1h"),
        ("1.0e+400", "must be at most 366d"),
        ("367d", "must be at most 366d"),
        ('"1' + " " * 5000 + 'x"', "expected a duration such as 30s, 5m or 1h"),
        ("9" * 19, "must be at most 366d"),
    ],
)
def test_durations_are_finite_and_bounded(tmp_path: Path, value: str, reason: str) -> None:
    path = write(tmp_path, BASE + f"defaults:\n  interval: {value}\n")
    assert problems(path) == [f"{path}:18: defaults.interval: {reason}"]


def test_duration_bounds_hold_for_direct_callers() -> None:
    assert parse_duration("366d") == 366 * 86400.0
    with pytest.raises(ValueError, match="at most"):
        parse_duration(10**400)


def test_unknown_tags_and_impossible_values_are_problems(tmp_path: Path) -> None:
    text = BASE + (
        "limits:\n  concurrency: !!python/object/apply:os.system [true]\n"
        "centre:\n  name: !!timestamp 2001-13-45\n"
    )
    path = write(tmp_path, text)
    assert problems(path) == [
        f"{path}:18: limits.concurrency: could not determine a constructor for the tag "
        "'tag:yaml.org,2002:python/object/apply:os.system'",
        f"{path}:20: centre.name: not a valid timestamp value",
    ]


def test_a_reload_dropping_more_than_half_of_the_assets_is_refused(tmp_path: Path) -> None:
    running = {a.id for a in load_config(write(tmp_path, switch_fleet(10), "running.yaml")).assets}
    half = load_config(write(tmp_path, switch_fleet(5)))
    assert reload_problems(running, half) == []
    path = write(tmp_path, switch_fleet(4))
    assert [str(p) for p in reload_problems(running, load_config(path))] == [
        f"{path}:2: assets: the reload would drop 6 of the 10 running assets; "
        "set allow_shrink: true in the file to allow that"
    ]
    assert (
        reload_problems(running, load_config(write(tmp_path, switch_fleet(0, allow_shrink=True))))
        == []
    )
    # Renaming every asset drops all of them, whatever the count.
    renamed = load_config(write(tmp_path, switch_fleet(10).replace("id: a", "id: b")))
    assert len(reload_problems(running, renamed)) == 1


def test_ten_thousand_assets_are_within_the_bounds(tmp_path: Path) -> None:
    assert len(load_config(write(tmp_path, switch_fleet(10_000))).assets) == 10_000
