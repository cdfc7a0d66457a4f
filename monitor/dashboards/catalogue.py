"""The alert catalogue the boards read: every alert of ``alerts/*.rules.yml`` as one info
series of Prometheus, ``trunkwatch:alert_catalogue:info``, so a board can show a firing
alert (``ALERTS``, which carries no annotations) with its title in Chinese and English, its
severity's rank and its runbook.

The titles are cut from each rule's ``summary`` annotation: the Chinese part before its
first full-width colon, the English part from its first two English words to the next colon
or the end, every ``{{ … }}`` template dropped (the board shows the labels themselves). The
catalogue is generated (``trunkwatch dashboards build`` writes
``alerts/catalogue.rules.yml``) and a test regenerates it from the rule files, so it cannot
drift from them.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Final

import yaml

__all__ = [
    "CATALOGUE_FILE",
    "RECORD",
    "SEVERITY_RANKS",
    "AlertText",
    "catalogue",
    "render",
    "rule_files",
    "write",
]

RECORD: Final = "trunkwatch:alert_catalogue:info"
CATALOGUE_FILE: Final = "catalogue.rules.yml"
#: The boards sort on the rank: the worst first.
SEVERITY_RANKS: Final = {"critical": "1", "warning": "2", "info": "3"}
#: Alerts that are no problem of anyone's: the dead man's switch fires all the time.
NOT_PROBLEMS: Final = frozenset({"Watchdog"})
#: Rule files whose alerts are inspection rounds, shown apart from the faults.
INSPECTION_FILES: Final = frozenset({"inspections.rules.yml"})

_TEMPLATE: Final = re.compile(r"\{\{.*?\}\}", re.DOTALL)
_ENGLISH: Final = re.compile(r"[A-Za-z][A-Za-z0-9]*[,'()]?(?:\s+[A-Za-z(][A-Za-z0-9)]*[,'()]?)+")
_SPACE: Final = re.compile(r"\s+")
_TRIM: Final = " \t\n/：:，,-"


@dataclass(frozen=True, slots=True)
class AlertText:
    """One alert name at one severity, as the boards show it."""

    alertname: str
    severity: str
    category: str  # fault | inspection
    title_zh: str
    title_en: str
    runbook: str

    def labels(self) -> dict[str, str]:
        return {
            "alertname": self.alertname,
            "severity": self.severity,
            "severity_rank": SEVERITY_RANKS[self.severity],
            "category": self.category,
            "title_zh": self.title_zh,
            "title_en": self.title_en,
            "runbook": self.runbook,
        }


def titles(summary: str) -> tuple[str, str]:
    """(Chinese, English) title of an alert from its summary template."""
    # Chinese: what comes before the colon or the first value filled in, whichever is first
    # ("巡检不合格项 {{ $value }} 项：" is "巡检不合格项").
    chinese = re.split(r"：|\{\{", summary, maxsplit=1)[0]
    text = _SPACE.sub(" ", _TEMPLATE.sub(" ", summary)).strip()
    # English starts at two English words in a row (a name such as "E1" or "SIP" in the
    # Chinese is none) and ends at its colon.
    english = _ENGLISH.search(text)
    english_text = text[english.start() :].split(":", 1)[0] if english else ""
    if english and not re.search(r"：|\{\{", summary):
        chinese = text[: english.start()]  # no colon, no value: "中文 English"
    return _SPACE.sub(" ", chinese).strip(_TRIM), _SPACE.sub(" ", english_text).strip(_TRIM)


def rule_files(alerts_dir: Path) -> list[Path]:
    """The rule files the catalogue is made from: every ``*.rules.yml`` but itself."""
    return sorted(p for p in alerts_dir.glob("*.rules.yml") if p.name != CATALOGUE_FILE)


def catalogue(files: Iterable[Path]) -> list[AlertText]:
    """Every alert of ``files`` at every severity it can fire with, by name and severity."""
    texts: dict[tuple[str, str], AlertText] = {}
    for path in files:
        doc: dict[str, Any] = yaml.safe_load(path.read_text(encoding="utf-8"))
        category = "inspection" if path.name in INSPECTION_FILES else "fault"
        for group in doc.get("groups", []):
            for rule in group.get("rules", []):
                name = rule.get("alert")
                if name is None or name in NOT_PROBLEMS:
                    continue
                severity = str(rule.get("labels", {}).get("severity", ""))
                # A templated severity is the series' own (SNMP traps): any of them.
                severities = list(SEVERITY_RANKS) if "{{" in severity else [severity]
                annotations = rule.get("annotations", {})
                title_zh, title_en = titles(str(annotations.get("summary", "")))
                runbook = str(annotations.get("runbook_url", "")).rsplit("/", 1)[-1]
                for level in severities:
                    if level not in SEVERITY_RANKS:
                        raise ValueError(f"{path.name}: {name}: unknown severity {level!r}")
                    texts.setdefault(
                        (name, level),
                        AlertText(name, level, category, title_zh, title_en, runbook),
                    )
    return [texts[key] for key in sorted(texts)]


def _rules(texts: Iterable[AlertText]) -> Iterator[dict[str, Any]]:
    for text in texts:
        yield {"record": RECORD, "labels": text.labels(), "expr": "vector(1)"}


def render(texts: Iterable[AlertText]) -> str:
    """The catalogue as a Prometheus rule file, deterministic."""
    doc = {"groups": [{"name": "trunkwatch-alert-catalogue", "rules": list(_rules(texts))}]}
    header = (
        "# The alert catalogue: one info series per alert name and severity, with the title\n"
        "# in Chinese and English, the severity's rank and the runbook, for the boards' alert\n"
        "# tables (ALERTS carries no annotations). Generated from alerts/*.rules.yml by\n"
        "# `trunkwatch dashboards build` (monitor/dashboards/catalogue.py): do not edit.\n"
    )
    return header + yaml.safe_dump(doc, sort_keys=False, allow_unicode=True, width=200)


def write(alerts_dir: Path) -> Path:
    """Regenerate ``alerts_dir/catalogue.rules.yml`` from the other rule files there."""
    path = alerts_dir / CATALOGUE_FILE
    path.write_text(render(catalogue(rule_files(alerts_dir))), encoding="utf-8")
    return path
