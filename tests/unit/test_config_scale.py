"""Large configuration files: a problem deep in a file of 10,000 assets still names its exact
line, lines always refer to the text that was loaded, and the loader's short path for plain
scalars reads every value exactly as ``yaml.safe_load`` does."""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import pytest
import yaml
from hypothesis import given, settings
from hypothesis import strategies as st

from monitor.config import load_config
from monitor.core.sources import ConfigError, load_yaml
from probes.snmp.profiles import library

ASSETS = 10_000


def asset_lines(i: int, **override: str) -> list[str]:
    """One asset written in block style, like the shipped monitor.yaml's."""
    fields = {
        "id": f"bs-{i:05d}",
        "name": f"第{i}号基站 base station",
        "site": "hq",
        "system": "radio",
        "kind": "tetra_bs",
        "address": f"127.0.{i // 250 % 250}.{1 + i % 250}:16100",
        "credentials": "lab",
        **override,
    }
    lines = [f"  - id: {fields.pop('id')}", *(f"    {k}: {v}" for k, v in fields.items())]
    return [
        *lines,
        "    labels:",
        "      vendor: hytera",
        "    probes:",
        "      - module: snmp",
        f"        profile: {'no_such_profile' if i == ASSETS - 1 else 'trunked_bs'}",
        "        interval: 15s",
    ]


def large_file(tmp_path: Path) -> tuple[Path, dict[str, int]]:
    """10,000 assets; the 5,000th and the 10,000th hold problems. Returns the file and the
    line of each field with a problem, counted while writing."""
    lines = [
        "credentials:",
        "  lab: {community: public}",
        "sites:",
        "  - id: hq",
        "    name: 市应急联动中心",
        "assets:",
    ]
    where: dict[str, int] = {}
    for i in range(ASSETS):
        if i == 4_999:
            block = asset_lines(i, system="radar")
        elif i == ASSETS - 1:
            block = asset_lines(i, site="nowhere", address="127.0.0.1:99999")
        else:
            block = asset_lines(i)
        if i in (4_999, ASSETS - 1):
            for n, line in enumerate(block):
                name = line.strip().removeprefix("- ").partition(":")[0]
                where.setdefault(name if i == ASSETS - 1 else f"{name}@4999", len(lines) + 1 + n)
        lines += block
    path = tmp_path / "monitor.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path, where


def test_problems_in_the_ten_thousandth_asset_name_their_exact_lines(tmp_path: Path) -> None:
    path, where = large_file(tmp_path)
    assert where["site"] > 125_000  # deep in the file
    with pytest.raises(ConfigError) as info:
        load_config(path)
    last = f"assets[{ASSETS - 1}]"
    assert [str(p) for p in info.value.problems] == [
        f"{path}:{where['system@4999']}: assets[4999].system: Input should be 'radio', 'line', "
        "'network', 'platform' or 'power'",
        f"{path}:{where['site']}: {last}.site: no site 'nowhere'",
        f"{path}:{where['address']}: {last}.address: bad port in address '127.0.0.1:99999'",
        f"{path}:{where['profile']}: {last}.probes[0].profile: unknown profile "
        f"'no_such_profile' (available: {', '.join(library().available())})",
    ]


def test_a_duplicate_key_deep_in_a_large_file_names_its_line(tmp_path: Path) -> None:
    lines = ["sites: [{id: hq, name: HQ}]", "assets:"]
    for i in range(ASSETS):
        lines += asset_lines(i)
    second = len(lines) - lines[::-1].index("    kind: tetra_bs")
    lines.insert(second, "    kind: switch")  # the last asset's kind, again
    path = tmp_path / "monitor.yaml"
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert [str(p) for p in info.value.problems] == [
        f"{path}:{second + 1}: assets[{ASSETS - 1}].kind: duplicate key"
    ]


def test_lines_are_those_of_the_text_loaded_even_after_the_file_changes(tmp_path: Path) -> None:
    path = tmp_path / "monitor.yaml"
    path.write_text("sites:\n  - id: hq\n    name: HQ\nassets: []\n", encoding="utf-8")
    document, smap = load_yaml(path)
    assert document == {"sites": [{"id": "hq", "name": "HQ"}], "assets": []}
    path.write_text("# moved\n\n\n" + path.read_text(encoding="utf-8"), encoding="utf-8")
    assert smap.line_of(("sites", 0, "name")) == 3
    assert smap.line_of(("assets",)) == 4
    assert smap.line_of(("sites", 0, "no such key")) == 2  # the deepest part that exists
    assert str(smap.problem(("sites", 0, "id"), "taken")) == f"{path}:2: sites[0].id: taken"


def test_a_document_that_is_no_mapping_is_reported_where_it_starts(tmp_path: Path) -> None:
    path = tmp_path / "monitor.yaml"
    path.write_text("# nothing but\n\njust text\n", encoding="utf-8")
    with pytest.raises(ConfigError) as info:
        load_config(path)
    assert [str(p) for p in info.value.problems] == [f"{path}:3: (document): expected a mapping"]


# Plain scalars of every kind YAML 1.1 resolves, and strings that only look like some.
SCALARS = [
    "hq", "bs-00001", "127.0.0.1:16100", "第1号基站", "a b c", "http://x/y?z=1", "-",
    "yes", "No", "ON", "off", "y", "n", "true", "False", "~", "null", "Null", "",
    "0", "-0", "+12", "1_000", "0x1F", "0o17", "017", "0b101", "12:30", "1:30:00",
    "1e3", "1.5", "-2.5e-3", ".inf", "-.Inf", "1.", "6.8523015e+5",
    "2026-01-02", "2026-01-02 10:30:00", "2026-01-02T10:30:00Z", "2026-1-2",
    "15s", "1h30m", "10.20.0.11", "1.2.3", "0xZZ", "1__0", "+", ".",
]  # fmt: skip


def _same(a: Any, b: Any) -> bool:
    if isinstance(a, float) and isinstance(b, float) and math.isnan(a):
        return math.isnan(b)
    if isinstance(a, dict) and isinstance(b, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return type(a) is type(b) and a == b


def test_plain_scalars_read_as_safe_load_reads_them(tmp_path: Path) -> None:
    lines = ["values:", *(f"  - {text}" if text else "  -" for text in SCALARS)]
    lines += ["keys:", *(f"  {text}: {i}" for i, text in enumerate(SCALARS[:7]))]
    text = "\n".join(lines) + "\n"
    path = tmp_path / "scalars.yaml"
    path.write_text(text, encoding="utf-8")
    document, _ = load_yaml(path)
    expected = yaml.safe_load(text)
    assert _same(document, expected)
    # The cases the short path must hand on to the resolver, checked by value.
    values = dict(zip(SCALARS, document["values"], strict=True))
    assert values["yes"] is True and values["~"] is None and values["12:30"] == 750
    assert values["2026-01-02"] == dt.date(2026, 1, 2) and values["15s"] == "15s"


scalar_values = st.one_of(
    st.text(max_size=12),
    st.integers(min_value=-(2**63), max_value=2**63 - 1),
    st.floats(allow_nan=False),
    st.booleans(),
    st.none(),
    st.dates(),
)
documents = st.dictionaries(
    st.text(min_size=1, max_size=8),
    st.one_of(scalar_values, st.lists(scalar_values, max_size=4)),
    max_size=6,
)


@settings(max_examples=150, deadline=None)
@given(document=documents, flow=st.booleans())
def test_any_dumped_document_reads_as_safe_load_reads_it(
    tmp_path_factory: pytest.TempPathFactory, document: dict[str, Any], flow: bool
) -> None:
    text = yaml.safe_dump(document, allow_unicode=True, default_flow_style=flow)
    path = tmp_path_factory.mktemp("dumped") / "doc.yaml"
    path.write_text(text, encoding="utf-8")
    loaded, _ = load_yaml(path)
    assert _same(loaded, yaml.safe_load(text))
