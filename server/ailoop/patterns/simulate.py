"""Generated outcome histories with a known truth, for the tests and ``bench/learning_bench.py``.

A history is ``outcomes`` AI snippets spread evenly over ``days`` days before ``end``. Each
snippet carries each key independently: ``planted`` keys that multiply the odds of a
rejection by ``odds_ratio`` each (``sim:planted-N``), and ``noise`` keys that change
nothing (``sim:noise-NN``, odds ratio 1). A key's prevalence is drawn from
``prevalence`` and drifts over time (it grows or shrinks by up to ``prevalence_drift``
of itself from the first day to the last), and the base rejection rate (a snippet
without a planted key) moves linearly from ``base_rate - drift / 2`` to
``base_rate + drift / 2``: a noise key that grows while the team grows stricter is
rejected more often than the average snippet without being a cause.

Every outcome keeps its true rejection probability, so the truth of any flag rule is known
(:func:`true_flag_lift`). Deterministic: the same scenario gives the same history.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
import random
from collections.abc import Collection, Sequence

from ailoop.patterns.evaluate import Outcome

END = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.timezone.utc)


@dataclasses.dataclass(frozen=True)
class Scenario:
    """The parameters of a generated history."""

    base_rate: float = 0.2
    outcomes: int = 3000
    days: int = 60
    planted: int = 4
    noise: int = 40
    odds_ratio: float = 3.0
    prevalence: tuple[float, float] = (0.03, 0.08)
    prevalence_drift: float = 0.8
    drift: float = 0.1
    seed: int = 0
    end: dt.datetime = END


@dataclasses.dataclass(frozen=True)
class Simulated:
    """A generated history: the outcomes (oldest first), their true rejection probabilities."""

    scenario: Scenario
    outcomes: list[Outcome]
    probabilities: list[float]
    planted: frozenset[str]
    noise: frozenset[str]


def planted_key(n: int) -> str:
    """Return the key of the ``n``-th planted key."""
    return f"sim:planted-{n}"


def noise_key(n: int) -> str:
    """Return the key of the ``n``-th noise key."""
    return f"sim:noise-{n:02d}"


def _logit(p: float) -> float:
    return math.log(p / (1 - p))


def simulate(scenario: Scenario) -> Simulated:
    """Generate the history of ``scenario``."""
    rng = random.Random(scenario.seed)  # noqa: S311 - simulated data
    planted = [planted_key(n) for n in range(scenario.planted)]
    noise = [noise_key(n) for n in range(scenario.noise)]
    keys = planted + noise
    low, high = scenario.prevalence
    # per key: prevalence at the middle of the history and its slope over the history
    shapes = [
        (rng.uniform(low, high), rng.uniform(-1, 1) * scenario.prevalence_drift) for _ in keys
    ]
    effect = math.log(scenario.odds_ratio)
    span = dt.timedelta(days=scenario.days)
    start = scenario.end - span
    outcomes: list[Outcome] = []
    probabilities: list[float] = []
    for i in range(scenario.outcomes):
        at = (i + 0.5) / scenario.outcomes  # 0..1 through the history
        findings = tuple(
            key
            for key, (mid, slope) in zip(keys, shapes, strict=True)
            if rng.random() < mid * (1 + slope * (at - 0.5))
        )
        base = scenario.base_rate + scenario.drift * (at - 0.5)
        strength = sum(1 for key in findings if key.startswith("sim:planted-"))
        log_odds = _logit(base) + effect * strength
        p = 1 / (1 + math.exp(-log_odds))
        outcomes.append(Outcome(start + span * at, findings, rng.random() < p))
        probabilities.append(p)
    return Simulated(scenario, outcomes, probabilities, frozenset(planted), frozenset(noise))


def true_flag_lift(
    outcomes: Sequence[Outcome], probabilities: Sequence[float], flagged_keys: Collection[str]
) -> float:
    """Return the true lift of flagging the outcomes that carry any of ``flagged_keys``.

    The share of rejections flagged over the share of acceptances flagged, in expectation
    over the outcomes' true rejection probabilities (what ``ailoop patterns evaluate``
    estimates for that flag rule). ``nan`` when nothing is flagged.
    """
    rejected = accepted = rejected_flagged = accepted_flagged = 0.0
    for outcome, p in zip(outcomes, probabilities, strict=True):
        rejected += p
        accepted += 1 - p
        if any(key in flagged_keys for key in outcome.findings):
            rejected_flagged += p
            accepted_flagged += 1 - p
    if not (rejected_flagged and accepted_flagged and rejected and accepted):
        return math.nan
    return (rejected_flagged / rejected) / (accepted_flagged / accepted)
