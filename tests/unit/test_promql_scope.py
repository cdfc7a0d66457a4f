"""monitor.core.promql.scope: the centre matcher on every selector, ``centre`` in every
``by``/``on`` list, nothing inside strings, ranges or variables touched. The shipped boards'
rewritten queries are parsed by promtool in tests/unit/test_dashboards.py's build and run
against Prometheus and VictoriaMetrics in the integration tests."""

from __future__ import annotations

import pytest

from monitor.core.promql import scope

M = 'centre=~"$centre"'


def s(expr: str) -> str:
    return scope(expr, "centre", M)


@pytest.mark.parametrize(
    ("expr", "expected"),
    [
        ("up", 'up{centre=~"$centre"}'),
        ('up{job="x"}', 'up{job="x", centre=~"$centre"}'),
        ("up{}", 'up{centre=~"$centre"}'),
        ('up{job="x",}', 'up{job="x", centre=~"$centre"}'),
        ('{__name__="up"}', '{__name__="up", centre=~"$centre"}'),
        ('up{centre="nanning"}', 'up{centre="nanning"}'),
        ("a:b:c", 'a:b:c{centre=~"$centre"}'),
        (
            "max by (site) (x)",
            'max by (site, centre) (x{centre=~"$centre"})',
        ),
        ("sum(x) by (site)", 'sum(x{centre=~"$centre"}) by (site, centre)'),
        ("max without (replica) (x)", 'max without (replica) (x{centre=~"$centre"})'),
        (
            "a * on (site) group_left (name) b",
            'a{centre=~"$centre"} * on (site, centre) group_left (name) b{centre=~"$centre"}',
        ),
        (
            "a and ignoring (x) b",
            'a{centre=~"$centre"} and ignoring (x) b{centre=~"$centre"}',
        ),
        ("rate(x[5m])", 'rate(x{centre=~"$centre"}[5m])'),
        ("rate(x[$__rate_interval])", 'rate(x{centre=~"$centre"}[$__rate_interval])'),
        ("max_over_time(x[1h:5m])", 'max_over_time(x{centre=~"$centre"}[1h:5m])'),
        ("x offset 1d", 'x{centre=~"$centre"} offset 1d'),
        ("x > bool 0.5", 'x{centre=~"$centre"} > bool 0.5'),
        ("x > 1e-3", 'x{centre=~"$centre"} > 1e-3'),
        ("time() - x < 86400", 'time() - x{centre=~"$centre"} < 86400'),
        ("vector(0)", "vector(0)"),
        (
            'label_replace(x, "root", "$1", "asset", "(.+)")',
            'label_replace(x{centre=~"$centre"}, "root", "$1", "asset", "(.+)")',
        ),
        ('x{a="by (site) y{}"}', 'x{a="by (site) y{}", centre=~"$centre"}'),
        ('x{a="\\"}"}', 'x{a="\\"}", centre=~"$centre"}'),
        ("topk(5, x)", 'topk(5, x{centre=~"$centre"})'),
        ("topk($n, x)", 'topk($n, x{centre=~"$centre"})'),
        ('count_values by (v) ("v", x)', 'count_values by (v, centre) ("v", x{centre=~"$centre"})'),
        ("x or on () vector(0)", 'x{centre=~"$centre"} or on () vector(0)'),
        ("# a comment x\ny", '# a comment x\ny{centre=~"$centre"}'),
        (
            "x and on (site, centre) y",
            'x{centre=~"$centre"} and on (site, centre) y{centre=~"$centre"}',
        ),
    ],
)
def test_scope(expr: str, expected: str) -> None:
    assert s(expr) == expected


def test_scope_is_idempotent_on_the_shipped_shape() -> None:
    expr = 'max by (site) (a{system=~"radio|power", site=~"$site"}) * on (site) group_left () b'
    once = s(expr)
    assert s(once) == once


@pytest.mark.parametrize("expr", ['x{a="b}', "max by (site (x)", "rate(x[5m)"])
def test_unbalanced_input_is_refused(expr: str) -> None:
    with pytest.raises(ValueError, match=r"unbalanced|unterminated"):
        s(expr)
