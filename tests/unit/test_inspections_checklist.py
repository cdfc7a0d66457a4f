"""Checklist items: the condition language (parsed, never evaluated as code), automated
evaluation over live series, readings with range and discrepancy, confirmations."""

from __future__ import annotations

import math

import pytest

from monitor.inspections.checklist import (
    Accept,
    LabelMatcher,
    evaluate,
    judge_confirmation,
    judge_reading,
    live_mean,
    parse_condition,
    parse_selector,
)
from monitor.inspections.records import Outcome

VSWR = [
    ("trunkwatch_bs_vswr_ratio", {"asset": "bs-xingning", "carrier": "1"}, 1.21),
    ("trunkwatch_bs_vswr_ratio", {"asset": "bs-xingning", "carrier": "2"}, 1.62),
    ("trunkwatch_bs_vswr_ratio", {"asset": "bs-xingning", "carrier": "3"}, 1.35),
    ("trunkwatch_bs_tx_power_watts", {"asset": "bs-xingning", "carrier": "1"}, 25.0),
]


def test_parse_condition_with_alias_matchers_and_quantifier() -> None:
    condition = parse_condition(
        'any $vswr{carrier=~"[12]", asset!="bs-xixiangtang"} <= 1.5',
        {"vswr": "trunkwatch_bs_vswr_ratio"},
    )
    assert condition.quantifier == "any"
    assert condition.selector.metric == "trunkwatch_bs_vswr_ratio"
    assert condition.selector.matchers == (
        LabelMatcher("carrier", "=~", "[12]"),
        LabelMatcher("asset", "!=", "bs-xixiangtang"),
    )
    assert (condition.op, condition.threshold) == ("<=", 1.5)


def test_a_metric_named_all_is_not_taken_for_the_quantifier() -> None:
    condition = parse_condition("all > 3")
    assert (condition.quantifier, condition.selector.metric) == ("all", "all")


@pytest.mark.parametrize(
    ("text", "reason"),
    [
        ("__import__('os').system('id')", "unexpected"),
        ("all trunkwatch_x", "expected a comparison"),
        ("all trunkwatch_x < ", "expected a number"),
        ("all trunkwatch_x < 1 and 2", "after the number"),
        ('trunkwatch_x{a="1" < 1', "',' or '}'"),
        ("trunkwatch_x{a=1} < 1", "quoted label value"),
        ('trunkwatch_x{a=~"("} < 1', "bad regular expression"),
        ("$nope < 1", "no metric alias 'nope'"),
        ("trunkwatch_x = 1", "bad comparison"),
    ],
)
def test_bad_conditions_are_refused_with_a_reason(text: str, reason: str) -> None:
    with pytest.raises(ValueError, match=reason):
        parse_condition(text, {})


def test_all_fails_on_the_worst_carrier_and_names_it() -> None:
    result = evaluate(
        parse_condition("all trunkwatch_bs_vswr_ratio <= 1.5"), VSWR, item_id="vswr", at=5.0
    )
    assert result.outcome is Outcome.FAIL
    assert result.live_value == 1.62
    assert "2/3" in result.detail
    assert "carrier=2" in result.detail
    assert result.evaluated_at == 5.0


def test_any_passes_when_one_series_satisfies() -> None:
    result = evaluate(
        parse_condition("any trunkwatch_bs_vswr_ratio < 1.3"), VSWR, item_id="vswr", at=0
    )
    assert result.outcome is Outcome.PASS


def test_label_matchers_narrow_the_series() -> None:
    condition = parse_condition('all trunkwatch_bs_vswr_ratio{carrier!="2"} <= 1.5')
    assert evaluate(condition, VSWR, item_id="v", at=0).outcome is Outcome.PASS


def test_no_matching_series_is_no_data_which_counts_as_failed() -> None:
    result = evaluate(parse_condition("all trunkwatch_missing == 1"), VSWR, item_id="x", at=0)
    assert result.outcome is Outcome.NO_DATA
    assert result.failed


def test_nan_never_satisfies_a_comparison() -> None:
    series = [("m", {"asset": "a"}, math.nan), ("m", {"asset": "b"}, 1.0)]
    assert evaluate(parse_condition("all m <= 2"), series, item_id="m", at=0).outcome is (
        Outcome.FAIL
    )
    assert evaluate(parse_condition("any m <= 2"), series, item_id="m", at=0).outcome is (
        Outcome.PASS
    )


def test_reading_in_and_out_of_range() -> None:
    accept = Accept(lt=4.0)
    assert judge_reading("3.99", item_id="e", accept=accept, at=0).outcome is Outcome.PASS
    assert judge_reading(4, item_id="e", accept=accept, at=0).outcome is Outcome.FAIL
    ranged = Accept(ge=52.0, le=56.5)
    assert judge_reading(56.5, item_id="v", accept=ranged, at=0).outcome is Outcome.PASS
    assert judge_reading(51.9, item_id="v", accept=ranged, at=0).outcome is Outcome.FAIL


@pytest.mark.parametrize("value", ["abc", "", "nan", "inf", True, None, [1]])
def test_a_reading_must_be_a_finite_number(value: object) -> None:
    with pytest.raises(ValueError, match="number"):
        judge_reading(value, item_id="e", accept=Accept(lt=4), at=0)


def test_reading_that_disagrees_with_the_live_value_is_a_discrepancy() -> None:
    live = live_mean(parse_selector("trunkwatch_ups_battery_voltage_volts"),
                     [("trunkwatch_ups_battery_voltage_volts", {}, 54.0)])  # fmt: skip
    assert live == 54.0
    close = judge_reading(54.4, item_id="v", accept=Accept(ge=52), at=0, live=live, tolerance=0.5)
    far = judge_reading(53.2, item_id="v", accept=Accept(ge=52), at=0, live=live, tolerance=0.5)
    assert (close.discrepancy, far.discrepancy) == (False, True)
    # A discrepancy flags the reading; the range alone decides pass or fail.
    assert far.outcome is Outcome.PASS
    assert far.live_value == 54.0
    ratio = judge_reading(56.0, item_id="v", accept=Accept(ge=52), at=0, live=live,
                          tolerance_ratio=0.05)  # fmt: skip
    assert ratio.discrepancy is False  # 2.0 off, 5 % of 54 is 2.7


def test_confirmations_accept_chinese_and_english() -> None:
    for yes in ("yes", "是", "合格", True, "OK"):
        assert judge_confirmation(yes, item_id="c", at=0).outcome is Outcome.PASS
    for no in ("no", "否", "不合格", False):
        assert judge_confirmation(no, item_id="c", at=0).outcome is Outcome.FAIL
    with pytest.raises(ValueError, match="yes or no"):
        judge_confirmation("maybe", item_id="c", at=0)
