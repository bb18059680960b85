"""``ailoop patterns evaluate``'s logic: the time split, the Katz interval, the truth it finds."""

from __future__ import annotations

import datetime as dt
import math

import pytest

from ailoop.patterns.evaluate import (
    MIN_OUTCOMES,
    Outcome,
    evaluate,
    rate_ratio,
    split_by_time,
)
from ailoop.patterns.simulate import Scenario, simulate, true_flag_lift
from ailoop.patterns.stats import PatternSettings

DEFAULTS = PatternSettings()
START = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def at(hours: float) -> dt.datetime:
    return START + dt.timedelta(hours=hours)


def test_rate_ratio_is_katz() -> None:
    point, low, high = rate_ratio(30, 100, 10, 100, 0.9) or (0, 0, 0)
    assert point == pytest.approx(3)
    se = math.sqrt(1 / 30 - 1 / 100 + 1 / 10 - 1 / 100)
    assert low == pytest.approx(3 * math.exp(-1.6448536 * se))
    assert high == pytest.approx(3 * math.exp(1.6448536 * se))
    # a zero cell: 0.5 added to each cell
    corrected = rate_ratio(5, 50, 0, 50, 0.9)
    assert corrected is not None
    assert corrected[0] == pytest.approx((5.5 / 51) / (0.5 / 51))
    assert rate_ratio(0, 50, 0, 50, 0.9) is None
    assert rate_ratio(3, 0, 1, 5, 0.9) is None


def test_split_by_time_holds_out_the_newest_share() -> None:
    outcomes = [Outcome(at(h), (), h % 2 == 0) for h in (5, 1, 3, 2, 4, 0, 9, 8, 7, 6)]
    training, held, split = split_by_time(outcomes, 0.3)
    assert [o.at for o in training] == [at(h) for h in range(7)]
    assert [o.at for o in held] == [at(7), at(8), at(9)]
    assert split == at(7)
    # outcomes at the split time all go to the held-out part
    tied = [Outcome(at(0), (), False), *[Outcome(at(1), (), True) for _ in range(3)]]
    training, held, _ = split_by_time(tied, 0.5)
    assert (len(training), len(held)) == (1, 3)


def test_a_store_too_small_says_so() -> None:
    few = [Outcome(at(h), ("ruff:E722",), True) for h in range(MIN_OUTCOMES - 1)]
    result = evaluate(few, DEFAULTS)
    assert result.problem is not None
    assert f"{MIN_OUTCOMES - 1} outcome(s)" in result.problem
    assert result.overall is None
    # enough outcomes, but the newest are all rejections: nothing to compare
    one_sided = [Outcome(at(h), (), h >= 28) for h in range(40)]  # the newest 12 rejected
    problem = evaluate(one_sided, DEFAULTS).problem
    assert problem is not None
    assert "all rejections" in problem
    with pytest.raises(ValueError, match="holdout"):
        evaluate(few, DEFAULTS, holdout=1.0)


def test_flags_come_from_findings_only() -> None:
    # the key the developer picks when rejecting is known only after the rejection
    history = [Outcome(at(h), (), True, pattern="pattern:bare-except") for h in range(10)] + [
        Outcome(at(10 + h), (), False) for h in range(30)
    ]
    later = [Outcome(at(100 + h), (), True, pattern="pattern:bare-except") for h in range(10)]
    later += [Outcome(at(200 + h), (), False) for h in range(7)]
    result = evaluate(history + later, DEFAULTS, holdout=0.3)
    assert result.problem is None
    assert "pattern:bare-except" in result.supported
    assert result.overall is not None
    assert result.overall.rejected_flagged == 0
    assert result.overall.lift is None


def test_figures_on_a_hand_made_history() -> None:
    # older: ruff:E722 rejected 8 of 10 times, the rest rejected 10 of 50
    older = [Outcome(at(h), ("ruff:E722",), h < 8) for h in range(10)]
    older += [Outcome(at(10 + h), ("ruff:E501",), h < 10) for h in range(50)]
    # newer: 6 of 10 rejections carry ruff:E722, 2 of 16 acceptances
    newer = [Outcome(at(100 + h), ("ruff:E722",), True) for h in range(6)]
    newer += [Outcome(at(110 + h), (), True) for h in range(4)]
    newer += [Outcome(at(120 + h), ("ruff:E722",), False) for h in range(2)]
    newer += [Outcome(at(130 + h), ("ruff:E501",), False) for h in range(14)]
    result = evaluate(older + newer, DEFAULTS, holdout=26 / 86)
    assert (result.training, result.held_out) == (60, 26)
    assert result.supported == ("ruff:E722",)
    overall = result.overall
    assert overall is not None
    assert (overall.rejected_flagged, overall.rejected) == (6, 10)
    assert (overall.accepted_flagged, overall.accepted) == (2, 16)
    assert overall.share_rejected == pytest.approx(0.6)
    assert overall.share_accepted == pytest.approx(0.125)
    assert overall.lift == pytest.approx(4.8)
    by_key = {k.key: k for k in result.keys}
    assert by_key["ruff:E722"].supported
    assert by_key["ruff:E722"].lift == pytest.approx(4.8)
    assert not by_key["ruff:E501"].supported
    assert by_key["ruff:E501"].rejected_flagged == 0
    assert result.to_json()["overall"]["share_rejected"] == pytest.approx(0.6)
    assert result.split == "2026-01-05T04:00:00.000Z"


@pytest.mark.parametrize("base_rate", [0.2, 0.65])
def test_the_held_out_lift_contains_the_truth(base_rate: float) -> None:
    covered = runs = 0
    for seed in range(5):
        sim = simulate(Scenario(base_rate=base_rate, outcomes=6000, seed=seed))
        result = evaluate(sim.outcomes, DEFAULTS, holdout=0.3)
        assert result.problem is None
        assert result.overall is not None
        assert result.overall.lift is not None
        assert result.overall.lift_low is not None
        assert result.overall.lift_high is not None
        training, held, _ = split_by_time(sim.outcomes, 0.3)
        truth = true_flag_lift(held, sim.probabilities[len(training) :], result.supported)
        assert truth > 1.3  # the learned flags are worth something
        covered += result.overall.lift_low <= truth <= result.overall.lift_high
        runs += 1
        noise = set(result.supported) & sim.noise
        assert len(noise) / len(sim.noise) < 0.1
    assert covered >= runs - 1  # a 90 % interval: at most one miss in five
