"""Load and validate ``monitor.yaml`` into a typed ``Config``.

Validation reports every problem at once, each as ``file:line: field: reason``: the shape and
types by pydantic (the file's own sections, then each registered section present, then
unknown keys), then the cross-references (``monitor.config.checks``) and each registered
section's own checks. Secrets are resolved from ``${ENV}`` / ``${ENV:-default}`` /
``file:PATH`` references and kept out of every message.

A file must say which assets it monitors: an empty file, or one without ``assets:``, is
refused (``assets: []`` says "none" on purpose). ``reload_problems`` refuses a reload that
would drop more than half of the running assets unless the new file sets
``allow_shrink: true``.
"""

from __future__ import annotations

from collections.abc import Set as AbstractSet
from pathlib import Path
from typing import Any

from pydantic import ValidationError

from monitor.config.checks import Origin, cross_checks
from monitor.config.schema import Config, ConfigModel
from monitor.config.secrets import resolve_secret
from monitor.config.sections import ConfigSection, SectionUnavailable, load_section, section_keys
from monitor.core.collection import collector_paused
from monitor.core.sources import ConfigError, Problem, SourceMap, load_yaml, pydantic_problems

__all__ = ["load_config", "reload_problems"]

_NO_ASSETS = "list the assets to monitor (write assets: [] for none)"


def _shape_problems(exc: ValidationError, smap: SourceMap) -> tuple[list[Problem], list[Problem]]:
    """pydantic's problems with the file's own sections, and those with unknown top-level
    keys apart (reported after the registered sections', as they always were)."""
    shape: list[Problem] = []
    unknown: list[Problem] = []
    errors = exc.errors(include_url=False, include_input=False)
    for err, problem in zip(errors, pydantic_problems(exc, smap), strict=True):
        top_level_extra = err["type"] == "extra_forbidden" and len(err["loc"]) == 1
        (unknown if top_level_extra else shape).append(problem)
    return shape, unknown


def _check_remainder(
    document: dict[str, Any], exc: ValidationError, smap: SourceMap, base: Path
) -> list[Problem]:
    """Cross-check the parts of a document that passed validation when others did not."""
    broken: dict[str, set[int]] = {"sites": set(), "assets": set()}
    pruned = dict(document)
    for err in exc.errors(include_url=False, include_input=False):
        loc = err["loc"]
        if len(loc) >= 2 and loc[0] in broken and isinstance(loc[1], int):
            broken[str(loc[0])].add(loc[1])
        elif loc:
            pruned.pop(str(loc[0]), None)  # a broken section: fall back to its defaults
    kept: dict[str, list[int]] = {}
    broken_ids: dict[str, frozenset[str]] = {}
    for section, bad in broken.items():
        items = document.get(section)
        if not isinstance(items, list):
            kept[section] = []
            continue
        kept[section] = [i for i in range(len(items)) if i not in bad]
        pruned[section] = [items[i] for i in kept[section]]
        broken_ids[section] = frozenset(
            str(items[i]["id"]) for i in bad if isinstance(items[i], dict) and "id" in items[i]
        )
    try:
        model = ConfigModel.model_validate(pruned)
    except ValidationError:
        return []  # nothing more can be said reliably
    origin = Origin(
        kept["sites"],
        kept["assets"],
        broken_ids.get("sites", frozenset()),
        broken_ids.get("assets", frozenset()),
    )
    return list(cross_checks(model, smap, base, origin))


def reload_problems(running: AbstractSet[str], new: Config) -> list[Problem]:
    """Why ``new`` must not replace the configuration whose assets are ``running`` (their
    ids) although it is valid on its own.

    A reload that drops more than half of the running assets is far more often a truncated
    or wrong file than a decision; the file says so with ``allow_shrink: true``.
    """
    before = running
    dropped = before - {asset.id for asset in new.assets}
    if new.model.allow_shrink or len(dropped) * 2 <= len(before):
        return []
    reason = (
        f"the reload would drop {len(dropped)} of the {len(before)} running assets; "
        "set allow_shrink: true in the file to allow that"
    )
    return [new.source.problem(("assets",), reason)]


def load_config(path: str | Path) -> Config:
    """Read, validate and resolve a configuration file. Raises ConfigError listing every
    problem."""
    with collector_paused():
        return _load(Path(path))


def _load(path: Path) -> Config:
    document, smap = load_yaml(path)
    if document is None:
        reason = f"missing, the file is empty: {_NO_ASSETS}"
        raise ConfigError([Problem(str(path), 1, "assets", reason)])
    if not isinstance(document, dict):
        raise ConfigError(
            [Problem(str(path), smap.line_of(()), "(document)", "expected a mapping")]
        )
    # Checked first and reported with the rest: a file that lost its assets (truncated, or
    # the wrong file) would otherwise start a monitor that watches nothing and says so nowhere.
    missing = (
        [] if "assets" in document else [Problem(str(path), 1, "assets", f"missing: {_NO_ASSETS}")]
    )
    base = path.resolve().parent
    keys = section_keys()
    own = {key: value for key, value in document.items() if key not in keys}
    # A registered key left empty (``traps:`` alone) means the section is off.
    present = [key for key in keys if document.get(key) is not None]
    sections: dict[str, ConfigSection[Any]] = {}
    values: dict[str, object] = {}
    section_problems: list[Problem] = []
    for key in present:
        try:
            sections[key] = load_section(key)
            values[key] = sections[key].validate(document[key])
        except SectionUnavailable as exc:
            section_problems.append(smap.problem((key,), str(exc)))
        except ValidationError as exc:
            section_problems += pydantic_problems(exc, smap, (key,))
    try:
        model = ConfigModel.model_validate(own)
    except ValidationError as exc:
        # Report the shape errors, then check what remains valid, so one run lists them all.
        shape, unknown = _shape_problems(exc, smap)
        problems = missing + shape + section_problems + unknown
        problems += _check_remainder(own, exc, smap, base)
        raise ConfigError(problems) from None
    problems = missing + section_problems
    problems += cross_checks(model, smap, base, Origin.whole(model))
    if not section_problems:
        for key, value in values.items():
            problems += sections[key].check(value, model, smap, base)
    if problems:
        raise ConfigError(problems)
    secrets = {
        name: {key: resolve_secret(value, base) for key, value in fields.items()}
        for name, fields in model.credentials.items()
    }
    return Config(path=path, model=model, secrets=secrets, source=smap, sections=values)
