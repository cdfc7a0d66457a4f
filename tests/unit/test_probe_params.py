"""A probe's parameters: validated once per distinct set, every problem reported each time."""

from __future__ import annotations

import gc
from datetime import date
from types import MappingProxyType
from typing import Any

import pytest
from pydantic import BaseModel, ConfigDict

from probes import base
from probes.base import ProbeParamsError, validate_params
from probes.snmp import SnmpParams, create


class Loose(BaseModel):
    """A model that is not frozen: its instances may change, so none is shared."""

    port: int = 1


def test_the_same_parameters_give_the_same_frozen_object() -> None:
    first = validate_params(SnmpParams, {"profile": ["if_mib"], "label_refresh": "10m"})
    again = validate_params(SnmpParams, {"label_refresh": "10m", "profile": ["if_mib"]})
    other = validate_params(SnmpParams, {"profile": ["if_mib"], "label_refresh": "5m"})
    assert again is first
    assert other is not first
    assert (first.label_refresh, other.label_refresh) == (600.0, 300.0)
    # Two probes built from the same parameters share them and keep state apart.
    probes = [create({"profile": "ups_mib"}, timeout=5.0) for _ in range(2)]
    assert probes[0].params is probes[1].params
    assert probes[0].poller is not probes[1].poller


def test_a_model_that_is_not_frozen_is_validated_afresh() -> None:
    assert validate_params(Loose, {"port": 2}) is not validate_params(Loose, {"port": 2})


@pytest.mark.parametrize(
    "params",
    [
        {"profile": ["if_mib"], "retries": 11},
        {"profile": ["if_mib"], "retries": 11, "when": date(2026, 12, 7)},  # not JSON
    ],
)
def test_bad_parameters_are_refused_every_time(params: dict[str, Any]) -> None:
    for _ in range(2):
        with pytest.raises(ProbeParamsError) as info:
            validate_params(SnmpParams, params)
        assert "retries" in str(info.value)


def test_parameters_that_are_not_json_are_still_validated() -> None:
    class Frozen(BaseModel):
        model_config = ConfigDict(frozen=True)
        when: date

    first = validate_params(Frozen, {"when": date(2026, 12, 7)})
    assert first.when == date(2026, 12, 7)
    assert validate_params(Frozen, {"when": date(2026, 12, 8)}).when == date(2026, 12, 8)


def test_parameters_that_differ_only_in_type_are_told_apart() -> None:
    # A header named by the number 1 is refused whatever came first (JSON would write it "1").
    from probes.http import HttpParams

    good = {"url": "http://127.0.0.1/", "headers": {"1": "x"}}
    assert validate_params(HttpParams, good).headers == {"1": "x"}
    with pytest.raises(ProbeParamsError):
        validate_params(HttpParams, {"url": "http://127.0.0.1/", "headers": {1: "x"}})


def test_parameters_are_shared_only_while_a_probe_holds_them() -> None:
    first = validate_params(SnmpParams, {"profile": ["ups_mib"], "retries": 3})
    del first
    gc.collect()
    again = validate_params(SnmpParams, {"profile": ["ups_mib"], "retries": 3})
    assert again.retries == 3
    key = (SnmpParams, "[('profile', ['ups_mib']), ('retries', 3)]")
    assert base._VALIDATED.get(key) is again
    del again
    gc.collect()
    assert key not in base._VALIDATED


def test_parameters_given_as_any_mapping_are_shared_too() -> None:
    given = MappingProxyType({"profile": ["ups_mib"], "retries": 4})
    first = validate_params(SnmpParams, given)
    assert validate_params(SnmpParams, dict(given)) is first


def test_a_subclass_of_a_plain_type_is_not_keyed_by_its_repr() -> None:
    # Taken by isinstance, a text whose repr lies would be keyed as the text it pretends to be.
    class Pretends(str):
        def __repr__(self) -> str:
            return "'public'"

    class Frozen(BaseModel):
        model_config = ConfigDict(frozen=True)
        community: str

    plain = validate_params(Frozen, {"community": "public"})
    other = validate_params(Frozen, {"community": Pretends("private")})
    assert other is not plain
    assert other.community == "private"
