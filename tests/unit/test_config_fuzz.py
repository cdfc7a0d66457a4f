"""Fuzzing configuration loading from bytes: whatever the file holds, ``load_config`` returns a
configuration or raises ConfigError with ``file:line: field: reason`` problems that quote no
secret, within a bounded time and memory per file. Budgets are small so CI stays fast."""

from __future__ import annotations

import os
import re
import time
import tracemalloc
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from monitor.config import load_config
from monitor.core.sources import ConfigError

SECRET = "fUzz-s3cret-9Qx"
FILE_SECRET = "fIle-s3cret-4Kw"
CPU_SECONDS = 3.0
PEAK_BYTES = 150 * 1024 * 1024

BASE = """\
defaults: {interval: 30s, timeout: 5s}
credentials:
  lab:
    community: ${TW_FUZZ_SECRET}
  filed:
    community: file:secret.txt
    auth_key: file:secret.txt
sites:
  - &hq {id: hq, name: 市应急联动中心, labels: {zone: centre}}
  - {id: north, name: North, parent: hq, coordinates: [29.6, 106.5]}
assets:
  - id: core
    site: hq
    system: network
    kind: switch
    address: "[::1]:1161"
    credentials: lab
    labels: &labels {rack: a1}
    probes:
      - {module: tcp, port: 22, interval: 1m}
      - module: icmp
  - {id: bs-1, site: north, system: radio, kind: tetra_bs, address: 127.0.0.1, labels: *labels,
     parent: core, probes: [{module: tcp, port: 2101}]}
"""

FRAGMENTS = [
    "\x00",
    "\t",
    "\ufeff",
    "\u2028",
    "\r",
    "&a ",
    "*a",
    "*hq",
    "[*a, *a, *a, *a, *a, *a, *a, *a, *a]",
    "<<: *hq\n",
    "[",
    "]",
    "{",
    "}",
    ": ",
    "- ",
    "? ",
    "\n  ",
    "\n",
    "'",
    '"',
    "|",
    ">-",
    "---\n",
    "...\n",
    "%YAML 1.1\n",
    "!!binary ",
    "!!timestamp ",
    "!!set ",
    "!!python/object/apply:os.system ",
    "!custom ",
    "9" * 5000,
    "0x" + "f" * 40,
    "1:2:3:4:5:6:7:8:9:10:11:12:13",
    ".inf",
    ".nan",
    "~",
    "1e400",
    "2001-13-45",
    "file:/dev/zero",
    "file:secret.txt",
    "file:fifo",
    "file:missing.txt",
    "${TW_FUZZ_SECRET}",
    "${TW_FUZZ_UNSET}",
    "${",
    "allow_shrink: true\n",
    "assets: []\n",
    "[" * 200,
    "traps: {listen: 127.0.0.1:0, credentials: [filed]}\n",
    "inspections: {}\n",
    "simulator: {}\n",
]

# After "file:": line, then the field (plain words, [index], or a ['quoted key'] that may hold
# spaces and colons), then the reason.
_QUOTED = r"""\[(?:'(?:[^'\\]|\\.)*'|"(?:[^"\\]|\\.)*")\]"""
SHAPE = re.compile(rf"(?P<line>[1-9]\d*): (?P<field>(?:{_QUOTED}|[^\s\[]|\[\d+\])+): \S.*")


@pytest.fixture(scope="module")
def folder(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Path]:
    folder = tmp_path_factory.mktemp("fuzz")
    (folder / "secret.txt").write_text(FILE_SECRET + "\n")
    os.mkfifo(folder / "fifo")
    saved = os.environ.get("TW_FUZZ_SECRET")
    os.environ["TW_FUZZ_SECRET"] = SECRET
    os.environ.pop("TW_FUZZ_UNSET", None)
    yield folder
    if saved is None:
        del os.environ["TW_FUZZ_SECRET"]
    else:
        os.environ["TW_FUZZ_SECRET"] = saved


def check_load(folder: Path, data: bytes) -> None:
    """The property: a Config or ConfigError, well-formed problems, no secret, bounded."""
    path = folder / "monitor.yaml"
    path.write_bytes(data)
    tracemalloc.start()
    started = time.process_time()
    try:
        load_config(path)
    except ConfigError as exc:
        problems = exc.problems
    else:
        problems = []
    finally:
        cpu = time.process_time() - started
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
    assert cpu < CPU_SECONDS, cpu
    assert peak < PEAK_BYTES, peak
    for problem in problems:
        text = str(problem)
        assert text.startswith(f"{path}:"), text
        assert len(text.splitlines()) == 1, text
        assert SHAPE.fullmatch(text.removeprefix(f"{path}:")), text
        assert SECRET not in text
        assert FILE_SECRET not in text


# A few seconds in CI; TW_FUZZ_EXAMPLES=5000 for a longer hunt.
FUZZ = settings(
    max_examples=int(os.environ.get("TW_FUZZ_EXAMPLES", "150")),
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)


def test_the_base_file_loads(folder: Path) -> None:
    path = folder / "monitor.yaml"
    path.write_text(BASE, encoding="utf-8")
    config = load_config(path)
    assert config.secrets["lab"]["community"] == SECRET
    assert config.assets[1].labels == {"rack": "a1"}


@FUZZ
@given(st.binary(max_size=4096))
def test_any_bytes(folder: Path, data: bytes) -> None:
    check_load(folder, data)


@st.composite
def mutated(draw: st.DrawFn) -> bytes:
    """The base file with a few hostile fragments inserted, spans deleted or repeated."""
    text = BASE
    for _ in range(draw(st.integers(1, 6))):
        at = draw(st.integers(0, len(text)))
        action = draw(st.sampled_from(["insert", "delete", "repeat"]))
        if action == "insert":
            text = text[:at] + draw(st.sampled_from(FRAGMENTS)) + text[at:]
        else:
            end = draw(st.integers(at, min(len(text), at + 80)))
            span = text[at:end] if action == "repeat" else ""
            text = text[:at] + span * draw(st.integers(0, 3)) + text[end:]
    data = text.encode("utf-8")
    if draw(st.booleans()):
        at = draw(st.integers(0, len(data)))
        data = data[:at] + draw(st.binary(min_size=1, max_size=4)) + data[at:]
    return data


@FUZZ
@given(mutated())
def test_mutated_configuration(folder: Path, data: bytes) -> None:
    check_load(folder, data)


SCALARS = (
    st.none()
    | st.booleans()
    | st.integers(-(2**70), 2**70)
    | st.floats(allow_nan=True, allow_infinity=True)
    | st.text(max_size=20)
    | st.sampled_from(
        ["file:/dev/zero", "file:fifo", "file:secret.txt", "${TW_FUZZ_SECRET}", "30s"]
    )
)
VALUES = st.recursive(
    SCALARS,
    lambda inner: (
        st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4)
    ),
    max_leaves=20,
)


@st.composite
def restructured(draw: st.DrawFn) -> bytes:
    """The base document with values replaced anywhere, including whole sections: the
    validation and cross-checks see every shape, not only the parser."""
    document: Any = yaml.safe_load(BASE)
    for _ in range(draw(st.integers(1, 4))):
        node = document
        while isinstance(node, dict | list) and node and draw(st.booleans()):
            keys = list(node) if isinstance(node, dict) else list(range(len(node)))
            child = node[draw(st.sampled_from(keys))]
            if not isinstance(child, dict | list) or not child:
                break
            node = child
        if isinstance(node, dict):
            key = draw(st.sampled_from([*node, "traps", "simulator", "inspections", "extra"]))
            node[key] = draw(VALUES)
        elif isinstance(node, list) and node:
            node[draw(st.integers(0, len(node) - 1))] = draw(VALUES)
    return yaml.safe_dump(document, allow_unicode=True).encode("utf-8")


@FUZZ
@given(restructured())
def test_restructured_configuration(folder: Path, data: bytes) -> None:
    check_load(folder, data)
