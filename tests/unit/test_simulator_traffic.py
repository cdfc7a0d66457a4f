"""The call engine against queueing theory: offered busy-hour traffic, Erlang B blocking,
Erlang C waiting and the M/M/n+D time-out, with statistically justified tolerances.

Every run is simulated time only (the engine is advanced, nothing sleeps). Tolerances are
four standard errors: for a count of Poisson arrivals the standard error follows from the
Poisson variance; for a fraction of correlated calls (one busy period blocks many calls in a
row) it is estimated by batch means over 20 equal batches, each hundreds of mean holding
times long, which makes the batch fractions nearly independent.
"""

from __future__ import annotations

import math
import random
from datetime import datetime, timedelta
from statistics import fmean, stdev
from zoneinfo import ZoneInfo

import pytest

from monitor.simulator.signals import DEFAULT_PROFILE, DailyProfile
from monitor.simulator.traffic import CallEngine, OfferedTraffic

SHANGHAI = ZoneInfo("Asia/Shanghai")
T0 = datetime(2016, 7, 1, tzinfo=SHANGHAI).timestamp()


def erlang_b(channels: int, erlangs: float) -> float:
    """DOMAIN.md recursion: B(0) = 1, B(n) = A·B(n−1) / (n + A·B(n−1))."""
    b = 1.0
    for n in range(1, channels + 1):
        b = erlangs * b / (n + erlangs * b)
    return b


def erlang_c(channels: int, erlangs: float) -> float:
    b = erlang_b(channels, erlangs)
    return channels * b / (channels - erlangs * (1.0 - b))


def abandonment_mmnd(channels: int, erlangs: float, hold_s: float, patience_s: float) -> float:
    """P(a call is given up) in M/M/n+D: FIFO queue, every caller waits at most ``patience_s``.

    Mandelbaum & Zeltyn's M/M/n+G summary with G deterministic:
    J = ∫₀^∞ exp(λ·H(x) − nμx) dx with H(x) = min(x, τ), E = 1 / B(n−1, A) and
    P(abandon) = (1 + (λ − nμ)·J) / (E + λ·J). At τ = 0 it reduces to Erlang B(n, A).
    """
    mu = 1.0 / hold_s
    lam = erlangs * mu
    d = lam - channels * mu
    grow = math.exp(d * patience_s)
    j = (patience_s if d == 0 else (grow - 1.0) / d) + grow / (channels * mu)
    e = 1.0 / erlang_b(channels - 1, erlangs)
    return (1.0 + d * j) / (e + lam * j)


def batch_fractions(
    engine: CallEngine, start: float, batch_s: float, batches: int, event: str
) -> list[float]:
    fractions = []
    t = start
    for _ in range(batches):
        before = engine.counters
        attempts0, events0 = before.attempts, getattr(before, event)
        t += batch_s
        engine.advance(t)
        attempts = engine.counters.attempts - attempts0
        fractions.append((getattr(engine.counters, event) - events0) / attempts)
    return fractions


def flat_engine(
    capacities: list[int], erlangs: float, hold_s: float, timeout: float | None, seed: int = 7
) -> CallEngine:
    offered = OfferedTraffic(erlangs, hold_s, DailyProfile.flat())
    return CallEngine(
        capacities, offered, rng=random.Random(seed), start=T0, queue_timeout_s=timeout
    )


def assert_within_four_se(fractions: list[float], expected: float) -> None:
    mean = fmean(fractions)
    se = stdev(fractions) / math.sqrt(len(fractions))
    print(f"measured {mean:.4f} ± {se:.4f} (1 SE), expected {expected:.4f}")
    # The run must be long enough for the check to mean something.
    assert se < 0.1 * expected
    assert abs(mean - expected) < 4 * se


def test_erlang_b_recursion_matches_known_table_values() -> None:
    # DOMAIN.md: 10.2 E needs 18 trunks for P.01; 17 would not do.
    assert erlang_b(18, 10.2) < 0.01 < erlang_b(17, 10.2)
    assert abandonment_mmnd(7, 5.0, 20.0, 0.0) == pytest.approx(erlang_b(7, 5.0))
    assert abandonment_mmnd(7, 5.0, 20.0, 1e6) == pytest.approx(0.0, abs=1e-12)


def test_same_seed_gives_the_same_calls_whatever_the_poll_times() -> None:
    def run(poll_every: float, seed: int) -> tuple[int, int, int, int, float]:
        offered = OfferedTraffic(6.0, 20.0, DailyProfile())
        engine = CallEngine(
            [3, 4, 4], offered, rng=random.Random(seed), start=T0, queue_timeout_s=10.0
        )
        t = T0
        while t < T0 + 86400:
            t = min(t + poll_every, T0 + 86400)
            engine.advance(t)
        c = engine.counters
        return c.attempts, c.successes, c.queued, c.blocked, round(c.carried_channel_seconds, 6)

    every_15_s = run(15.0, 1)
    assert every_15_s == run(3600.0, 1) == run(86400.0, 1)
    assert every_15_s != run(15.0, 2)
    assert every_15_s[0] > 1000


def test_busy_hour_offered_traffic_matches_configured_erlangs() -> None:
    """Offered traffic is measured twice over the two busy hours of 60 days (120 hours):
    from attempts × mean hold, and from carried channel-seconds with channels to spare.

    Attempts in T seconds are Poisson(λT), relative SE 1/√(λT); λ = 10 E / 20 s = 0.5/s and
    T = 432,000 s give 0.22 %. Carried channel-seconds are a compound Poisson sum with
    exponential holds, relative SE √(2/(λT)) = 0.30 %. Calls that straddle an hour's edges
    bias a one-hour window by (A_before − A_after)·h / 3600 ≈ 0.1 %. 1.5 % is over four SEs.
    """
    erlangs, hold = 10.0, 20.0
    profile = DailyProfile()
    assert profile.busy_hours == (10, 20)
    engine = CallEngine(
        [200], OfferedTraffic(erlangs, hold, profile), rng=random.Random(3), start=T0
    )
    attempts = 0
    carried = 0.0
    hours = 0
    midnight = datetime(2016, 7, 1, tzinfo=SHANGHAI)
    for day in range(60):
        for hour in profile.busy_hours:
            begin = (midnight + timedelta(days=day, hours=hour)).timestamp()
            engine.advance(begin)
            a0, c0 = engine.counters.attempts, engine.counters.carried_channel_seconds
            engine.advance(begin + 3600)
            attempts += engine.counters.attempts - a0
            carried += engine.counters.carried_channel_seconds - c0
            hours += 1
    offered = attempts * hold / (3600 * hours)
    carried_erlangs = carried / (3600 * hours)
    print(f"offered {offered:.3f} E, carried {carried_erlangs:.3f} E over {hours} busy hours")
    assert engine.counters.blocked == 0
    assert offered == pytest.approx(erlangs, rel=0.015)
    assert carried_erlangs == pytest.approx(erlangs, rel=0.015)


def test_night_traffic_follows_the_daily_profile() -> None:
    profile = DailyProfile()
    engine = CallEngine([200], OfferedTraffic(10.0, 20.0, profile), rng=random.Random(4), start=T0)
    midnight = datetime(2016, 7, 1, tzinfo=SHANGHAI)
    carried = 0.0
    for day in range(30):
        begin = (midnight + timedelta(days=day, hours=4)).timestamp()
        engine.advance(begin)
        c0 = engine.counters.carried_channel_seconds
        engine.advance(begin + 3600)
        carried += engine.counters.carried_channel_seconds - c0
    night = carried / (30 * 3600)
    expected = 10.0 * DEFAULT_PROFILE[4] / max(DEFAULT_PROFILE)
    # 30 hours at 1.5 E: relative SE √(2/(λT)) ≈ 2 %; 10 % is five SEs.
    assert night == pytest.approx(expected, rel=0.10)


def test_loss_system_blocks_at_the_erlang_b_rate() -> None:
    channels, erlangs, hold = 10, 7.0, 20.0
    engine = flat_engine([5, 5], erlangs, hold, timeout=0.0)
    fractions = batch_fractions(engine, T0, 20 * 3600.0, 20, "blocked")
    assert engine.counters.queued == 0
    assert_within_four_se(fractions, erlang_b(channels, erlangs))


def test_delay_system_queues_at_the_erlang_c_rate() -> None:
    channels, erlangs, hold = 7, 5.0, 20.0
    engine = flat_engine([3, 4], erlangs, hold, timeout=None)
    fractions = batch_fractions(engine, T0, 20 * 3600.0, 20, "queued")
    assert engine.counters.blocked == 0
    assert_within_four_se(fractions, erlang_c(channels, erlangs))


def test_queue_timeout_blocks_at_the_mmnd_rate_below_the_erlang_c_tail() -> None:
    """With a 10 s time-out the blocked fraction is M/M/n+D abandonment. Erlang C's
    P(wait > t) = C·exp(−(N−A)t/T) assumes nobody leaves the queue, so it is an upper bound:
    callers who give up shorten the wait of those behind them."""
    channels, erlangs, hold, timeout = 7, 5.0, 20.0, 10.0
    engine = flat_engine([3, 4], erlangs, hold, timeout=timeout)
    fractions = batch_fractions(engine, T0, 20 * 3600.0, 20, "blocked")
    expected = abandonment_mmnd(channels, erlangs, hold, timeout)
    assert_within_four_se(fractions, expected)
    tail = erlang_c(channels, erlangs) * math.exp(-(channels - erlangs) * timeout / hold)
    assert fmean(fractions) < tail


def test_losing_channels_drops_their_calls_and_serves_the_queue_when_back() -> None:
    engine = flat_engine([3, 4], 6.0, 20.0, timeout=None)
    engine.advance(T0 + 3600)
    busy_on_second = engine.group_busy(1)
    dropped = engine.counters.dropped
    engine.set_group_capacity(1, 0, T0 + 3600)
    assert engine.capacity == 3
    assert engine.counters.dropped == dropped + busy_on_second
    assert engine.group_busy(1) == 0
    engine.advance(T0 + 7200)
    assert engine.queue_length > 0  # 6 E offered to 3 channels: the queue grows
    waiting = engine.queue_length
    engine.set_group_capacity(1, 4, T0 + 7200)
    assert engine.queue_length == max(0, waiting - 4)
    assert engine.busy == 3 + min(4, waiting)


def test_surge_multiplies_the_arrival_rate() -> None:
    offered = OfferedTraffic(2.0, 20.0, DailyProfile.flat())
    engine = CallEngine([100], offered, rng=random.Random(5), start=T0)
    engine.advance(T0 + 10 * 3600)
    normal = engine.counters.attempts
    offered.surge = 3.0
    engine.reschedule(T0 + 10 * 3600)
    engine.advance(T0 + 20 * 3600)
    surged = engine.counters.attempts - normal
    # 3,600 vs 10,800 expected calls: Poisson SEs of 1.7 % and 1 %.
    assert surged / normal == pytest.approx(3.0, rel=0.08)


def test_weekly_growth_compounds() -> None:
    offered = OfferedTraffic(5.0, 20.0, DailyProfile.flat(), growth_per_week=0.02,
                             growth_epoch=T0)  # fmt: skip
    assert offered.erlangs(T0) == pytest.approx(5.0)
    assert offered.erlangs(T0 + 2 * 7 * 86400) == pytest.approx(5.0 * 1.02**2)
