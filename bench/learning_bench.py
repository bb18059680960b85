"""How well the pattern statistics learn: generated histories with a known truth.

Each history (``ailoop.patterns.simulate``) has 4 planted keys that triple the odds of a
rejection and 40 noise keys that change nothing, key prevalences that drift, and a base
rejection rate that drifts by 10 points over 60 days; at base rates of 20 % and 65 %.
For each, the learner is trained on all of it (which keys are supported: planted found,
noise flagged) and ``ailoop patterns evaluate``'s time split is run (the newest 30 % held
out): the share of held-out rejections flagged, of acceptances flagged, the lift with its
interval, and whether the interval holds the true lift of the flags it learned.

Targets: under 5 % of noise keys supported; the planted keys found; the interval holding
the truth about 90 % of the time (the default confidence).

Usage: PYTHONPATH=server python bench/learning_bench.py [--runs N] [--outcomes N] [--sweep]
``--sweep`` also prints the share of noise and planted keys supported for other
``min_lift`` and ``confidence`` values (how the defaults were chosen).
"""

from __future__ import annotations

import argparse
import dataclasses
import statistics
import time

from ailoop.patterns.evaluate import evaluate, split_by_time, training_rows
from ailoop.patterns.simulate import Scenario, Simulated, simulate, true_flag_lift
from ailoop.patterns.stats import (
    PatternSettings,
    accumulate,
    odds_ratio,
    recent_cutoff,
    stats_from_rows,
)

BASE_RATES = (0.2, 0.65)


@dataclasses.dataclass
class Figures:
    planted_found: float
    noise_supported: float
    share_rejected: float
    share_accepted: float
    lift: float
    lift_low: float
    lift_high: float
    truth: float
    learn_ms: float


def run_one(sim: Simulated, settings: PatternSettings) -> Figures:
    scenario = sim.scenario
    started = time.perf_counter()
    rows = training_rows(sim.outcomes, recent_cutoff(scenario.end, settings))
    stats = stats_from_rows(rows, settings)
    learn_ms = (time.perf_counter() - started) * 1000
    supported = {k for k, s in stats.items() if s.supported}
    result = evaluate(sim.outcomes, settings, holdout=0.3)
    overall = result.overall
    assert overall is not None, result.problem
    assert overall.lift is not None
    assert overall.lift_low is not None
    assert overall.lift_high is not None
    training, held, _ = split_by_time(sim.outcomes, 0.3)
    truth = true_flag_lift(held, sim.probabilities[len(training) :], result.supported)
    return Figures(
        planted_found=len(supported & sim.planted) / len(sim.planted),
        noise_supported=len(supported & sim.noise) / len(sim.noise),
        share_rejected=overall.share_rejected,
        share_accepted=overall.share_accepted,
        lift=overall.lift,
        lift_low=overall.lift_low,
        lift_high=overall.lift_high,
        truth=truth,
        learn_ms=learn_ms,
    )


def sweep(sims: list[Simulated]) -> None:
    lifts = (1.0, 1.1, 1.2, 1.3, 1.5, 2.0)
    confidences = (0.8, 0.9, 0.95)
    print(f"  sweep: share of noise / planted keys supported ({len(sims)} histories)")
    print("  " + "conf \\ min_lift".ljust(16) + "".join(f"{m:>14}" for m in lifts))
    for confidence in confidences:
        settings = PatternSettings(confidence=confidence)
        noise = [0] * len(lifts)
        planted = [0] * len(lifts)
        for sim in sims:
            rows = training_rows(sim.outcomes, recent_cutoff(sim.scenario.end, settings))
            per_key, overall = accumulate(rows)
            for key, counts in per_key.items():
                without = [max(t - c, 0) for t, c in zip(overall, counts, strict=True)]
                _, low, _ = odds_ratio(counts, without, settings)
                if counts[1] + counts[3] < settings.min_support:
                    continue
                for i, min_lift in enumerate(lifts):
                    if low >= min_lift:
                        if key in sim.noise:
                            noise[i] += 1
                        elif key in sim.planted:
                            planted[i] += 1
        n_noise = sum(len(s.noise) for s in sims)
        n_planted = sum(len(s.planted) for s in sims)
        cells = "".join(
            f"{f'{a / n_noise:.1%} / {b / n_planted:.0%}':>14}"
            for a, b in zip(noise, planted, strict=True)
        )
        print("  " + f"{confidence}".ljust(16) + cells)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--runs", type=int, default=10, help="histories per base rate (10)")
    parser.add_argument("--outcomes", type=int, default=10_000, help="outcomes each (10,000)")
    parser.add_argument("--sweep", action="store_true", help="also sweep min_lift, confidence")
    args = parser.parse_args()
    settings = PatternSettings()
    print(
        f"learning bench: {args.runs} histories per base rate, {args.outcomes} outcomes over "
        "60 days, 4 planted keys (odds ratio 3), 40 noise keys; "
        f"min_lift {settings.min_lift}, confidence {settings.confidence}"
    )
    for base_rate in BASE_RATES:
        sims = [
            simulate(Scenario(base_rate=base_rate, outcomes=args.outcomes, seed=seed))
            for seed in range(args.runs)
        ]
        figures = [run_one(sim, settings) for sim in sims]
        covered = sum(f.lift_low <= f.truth <= f.lift_high for f in figures)

        def mean(name: str, values: list[Figures] = figures) -> float:
            return statistics.fmean(getattr(f, name) for f in values)

        print(f"\nbase rejection rate {base_rate:.0%}")
        print(f"  planted keys found:        {mean('planted_found'):.0%}")
        print(f"  noise keys supported:      {mean('noise_supported'):.1%}  (target < 5 %)")
        print(f"  held-out rejections flagged: {mean('share_rejected'):.1%}")
        print(f"  held-out acceptances flagged: {mean('share_accepted'):.1%}")
        print(
            f"  held-out lift (mean):      {mean('lift'):.2f} "
            f"(interval {mean('lift_low'):.2f}-{mean('lift_high'):.2f}), "
            f"truth {mean('truth'):.2f}"
        )
        print(f"  interval holds the truth:  {covered}/{len(figures)}")
        print(
            f"  learning, p50:             {statistics.median(f.learn_ms for f in figures):.1f} ms"
        )
        if args.sweep:
            sweep(sims)


if __name__ == "__main__":
    main()
