"""The support test: odds ratio against the snippets without the key, cold start, settings.

Hand-computed numbers for the formulas, and generated histories with a known truth
(``ailoop.patterns.simulate``) for what the test must find and must not.
"""

from __future__ import annotations

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ailoop.patterns.evaluate import training_rows
from ailoop.patterns.simulate import Scenario, simulate
from ailoop.patterns.stats import (
    COLD_START_OUTCOMES,
    PatternSettings,
    odds_ratio,
    recent_cutoff,
    stats_from_counts,
    stats_from_rows,
    z_value,
)

DEFAULTS = PatternSettings()


def older(rejected: int, accepted: int) -> list[int]:
    """Buckets with every outcome in the older period."""
    return [0, 0, accepted, rejected]


def test_the_worked_example_of_the_docs() -> None:
    # 12 rejected, 8 accepted among 1,000 outcomes of which 650 were rejected
    stats = stats_from_counts({"ruff:E722": older(12, 8)}, older(650, 350), DEFAULTS)["ruff:E722"]
    assert stats.lift == pytest.approx((12.5 / 8.5) / (638.5 / 342.5))
    se = math.sqrt(1 / 12.5 + 1 / 8.5 + 1 / 638.5 + 1 / 342.5)
    assert stats.lift_low == pytest.approx(stats.lift * math.exp(-1.6448536 * se))
    assert stats.lift_high == pytest.approx(stats.lift * math.exp(1.6448536 * se))
    assert (round(stats.lift, 2), round(stats.lift_low, 2), round(stats.lift_high, 2)) == (
        0.79,
        0.38,
        1.65,
    )
    assert not stats.supported
    assert stats.outcomes_without == 980
    strong = stats_from_counts({"ruff:E722": older(19, 1)}, older(650, 350), DEFAULTS)
    numbers = strong["ruff:E722"]
    assert (round(numbers.lift, 1), round(numbers.lift_low, 1), round(numbers.lift_high)) == (
        7.2,
        1.8,
        29,
    )
    assert numbers.supported


def test_a_high_base_rate_no_longer_caps_the_test() -> None:
    # The team rejects 65 % of AI code. A rule rejected 85 % of the time had a rate ratio
    # of at most 1 / 0.65 = 1.54, so min_lift = 1.5 could never pass; its odds ratio is 3.
    overall = older(6500, 3500)
    stats = stats_from_counts({"ruff:E722": older(340, 60)}, overall, DEFAULTS)["ruff:E722"]
    without = (6500 - 340 + 0.5) / (3500 - 60 + 0.5)
    assert stats.lift == pytest.approx((340.5 / 60.5) / without)
    assert 2.4 < stats.lift_low < stats.lift < stats.lift_high < 4.1
    assert stats.supported
    # the same odds ratio at a 20 % base rate
    low_base = stats_from_counts({"ruff:E722": older(166, 234)}, older(2000, 8000), DEFAULTS)
    assert low_base["ruff:E722"].lift == pytest.approx(3, rel=0.05)
    assert low_base["ruff:E722"].supported


def test_a_key_like_the_rest_is_not_supported_however_often_rejected() -> None:
    stats = stats_from_counts({"ruff:E501": older(650, 350)}, older(6500, 3500), DEFAULTS)
    assert stats["ruff:E501"].lift == pytest.approx(1, rel=0.01)
    assert stats["ruff:E501"].lift_low < 1 < stats["ruff:E501"].lift_high
    assert not stats["ruff:E501"].supported


def test_cold_start_keeps_the_old_rule() -> None:
    # a new team: only the rule's own rejections, nothing to compare with
    for rejected, supported in ((2, False), (3, True)):
        stats = stats_from_counts({"ruff:E722": [0, rejected, 0, 0]}, [0, rejected, 0, 0], DEFAULTS)
        assert stats["ruff:E722"].cold_start
        assert stats["ruff:E722"].supported is supported
    accepted_once = stats_from_counts({"ruff:E722": [1, 5, 0, 0]}, [1, 5, 0, 0], DEFAULTS)
    assert not accepted_once["ruff:E722"].supported
    # the last outcome without the key that still counts as a cold start, and the first that does not
    few = stats_from_counts(
        {"ruff:E722": [0, 3, 0, 0]},
        [COLD_START_OUTCOMES - 1, 3, 0, 0],
        DEFAULTS,
    )["ruff:E722"]
    assert few.cold_start
    assert few.supported
    enough = stats_from_counts(
        {"ruff:E722": [0, 3, 0, 0]},
        [COLD_START_OUTCOMES, 3, 0, 0],
        DEFAULTS,
    )["ruff:E722"]
    assert not enough.cold_start
    # 3 rejections vs 10 acceptances: OR = 7 / (0.5 / 10.5) = 147, SE = sqrt(1/3.5 + 2 + ...)
    assert enough.lift == pytest.approx((3.5 / 0.5) / (0.5 / 10.5))
    assert enough.supported is (enough.lift_low >= DEFAULTS.min_lift)


def test_the_comparison_uses_the_periods_both_groups_have() -> None:
    # the key was only seen last week; last week the team rejected half of everything,
    # and long ago almost nothing: compared with last week only, it is like the rest
    counts = {"ty:unresolved-reference": [10, 10, 0, 0]}
    overall = [60, 60, 950, 50]
    stats = stats_from_counts(counts, overall, DEFAULTS)["ty:unresolved-reference"]
    assert stats.lift == pytest.approx((10.5 / 10.5) / (50.5 / 50.5))
    assert not stats.supported


def test_effective_counts_follow_the_recency_weights() -> None:
    # equal shares of outcomes per period and the default 70/30 weights: fewer effective
    # outcomes than raw ones, so a wider interval than the raw counts would give
    with_key, without_key = [20, 20, 20, 20], [100, 100, 100, 100]
    point, low, high = odds_ratio(with_key, without_key, DEFAULTS)
    assert point == pytest.approx(1)
    raw_se = math.sqrt(2 / 40.5 + 2 / 200.5)
    assert math.log(high / low) / 2 > z_value(0.9) * raw_se
    even = PatternSettings(recent_weight=1, older_weight=1)
    _, low_even, high_even = odds_ratio(with_key, without_key, even)
    assert math.log(high_even / low_even) / 2 == pytest.approx(z_value(0.9) * raw_se)


@settings(max_examples=200, deadline=None)
@given(
    counts=st.lists(st.integers(0, 50), min_size=4, max_size=4),
    extra=st.lists(st.integers(0, 500), min_size=4, max_size=4),
    confidence=st.floats(0.5, 0.99),
)
def test_the_interval_holds_the_point_and_support_follows_the_rule(
    counts: list[int], extra: list[int], confidence: float
) -> None:
    config = PatternSettings(confidence=confidence)
    overall = [c + e for c, e in zip(counts, extra, strict=True)]
    stats = stats_from_counts({"ruff:E722": counts}, overall, config).get("ruff:E722")
    assert stats is not None
    assert 0 < stats.lift_low <= stats.lift <= stats.lift_high < math.inf
    assert stats.outcomes_without == sum(extra)
    if stats.rejected < config.min_support:
        assert not stats.supported
    elif stats.cold_start:
        assert stats.supported is (stats.accepted == 0)
    else:
        assert stats.supported is (stats.lift_low >= config.min_lift)


def test_confidence_setting_is_read_and_checked() -> None:
    chosen, problems = PatternSettings.from_mapping({"confidence": 0.95, "minLift": 2})
    assert (chosen.confidence, chosen.min_lift, problems) == (0.95, 2.0, [])
    for bad in (0, 1, 1.5, -0.1, "high", True):
        kept, problems = PatternSettings.from_mapping({"confidence": bad})
        assert kept.confidence == DEFAULTS.confidence
        assert len(problems) == 1
        assert "'confidence' must be a number between 0 and 1" in problems[0]


# --- generated histories with a known truth -------------------------------------------


def learned(scenario: Scenario) -> tuple[set[str], set[str], set[str], set[str]]:
    """Return (planted, noise, planted supported, noise supported) for a generated history."""
    sim = simulate(scenario)
    rows = training_rows(sim.outcomes, recent_cutoff(scenario.end, DEFAULTS))
    supported = {k for k, s in stats_from_rows(rows, DEFAULTS).items() if s.supported}
    return set(sim.planted), set(sim.noise), supported & sim.planted, supported & sim.noise


@pytest.mark.parametrize("base_rate", [0.2, 0.65])
def test_planted_keys_are_found_and_noise_keys_are_not(base_rate: float) -> None:
    planted = noise = found = false = 0
    for seed in range(3):
        keys, noise_keys, hits, misses = learned(
            Scenario(base_rate=base_rate, outcomes=10_000, seed=seed)
        )
        planted, noise = planted + len(keys), noise + len(noise_keys)
        found, false = found + len(hits), false + len(misses)
    assert found / planted >= 0.75
    assert false / noise < 0.05


def test_the_generator_is_deterministic() -> None:
    first, again = (
        simulate(Scenario(seed=7, outcomes=200)),
        simulate(Scenario(seed=7, outcomes=200)),
    )
    assert first.outcomes == again.outcomes
    assert first.probabilities == again.probabilities
    assert simulate(Scenario(seed=8, outcomes=200)).outcomes != first.outcomes
