"""How well the learned patterns predict rejections: a time-split check on the store's history.

The outcomes (oldest first) are split by time: the newest ``holdout`` share is held out,
and the learner (:func:`ailoop.patterns.stats.stats_from_rows`, with the workspace's
settings and promoted reasons) is trained on the older part, with ``now`` at the split
time (so the recent window is the week before the split). A held-out outcome is
*flagged* when any key in its ``findings`` is supported in training. Only ``findings``
count there: the picked ``pattern`` and a free-text reason are given when rejecting,
after the fact, and would flag rejections with what the rejection itself said.

The figures, overall and per key:

- ``share_rejected``: the share of held-out rejections that were flagged;
- ``share_accepted``: the share of held-out acceptances (accepted or kept) flagged;
- ``lift``: their ratio. 1 means flags are as common on accepted code as on rejected code
  (they predict nothing); 3 means a flag is three times as common on what the team
  rejected. The interval is Katz's for a ratio of two proportions (log scale, SE
  ``sqrt(1/x1 - 1/n1 + 1/x2 - 1/n2)``, 0.5 added to each cell when one is 0) at the
  settings' ``confidence``.

Pure: outcomes in, an :class:`Evaluation` out.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from ailoop.patterns.model import is_valid_key
from ailoop.patterns.stats import (
    OutcomeRow,
    PatternSettings,
    iso_utc,
    recent_cutoff,
    stats_from_rows,
    z_value,
)

#: Fewer outcomes than this in the store: too few to evaluate.
MIN_OUTCOMES = 30


@dataclasses.dataclass(frozen=True)
class Outcome:
    """One outcome of an AI snippet, with its time."""

    at: dt.datetime
    findings: tuple[str, ...]
    rejected: bool
    pattern: str | None = None
    reason: str | None = None


@dataclasses.dataclass(frozen=True)
class FlagShares:
    """Held-out rejections and acceptances, and how many of each were flagged.

    ``key`` is ``""`` for every flag together, else one key (flagged: the key is in the
    outcome's findings); ``supported`` says whether the key is supported in training.
    """

    key: str
    supported: bool
    rejected: int
    rejected_flagged: int
    accepted: int
    accepted_flagged: int
    lift: float | None
    lift_low: float | None
    lift_high: float | None

    @property
    def share_rejected(self) -> float:
        """The share of held-out rejections flagged."""
        return self.rejected_flagged / self.rejected if self.rejected else 0.0

    @property
    def share_accepted(self) -> float:
        """The share of held-out acceptances flagged."""
        return self.accepted_flagged / self.accepted if self.accepted else 0.0

    def to_json(self) -> dict[str, Any]:
        """Return the figures as a JSON-ready dict."""
        out = dataclasses.asdict(self)
        out["share_rejected"] = self.share_rejected
        out["share_accepted"] = self.share_accepted
        return out


@dataclasses.dataclass(frozen=True)
class Evaluation:
    """The result of a time-split evaluation (``problem`` set when there was none)."""

    holdout: float
    confidence: float
    outcomes: int
    training: int = 0
    held_out: int = 0
    split: str = ""  # the first held-out time (ISO, UTC)
    supported: tuple[str, ...] = ()  # keys supported in training
    overall: FlagShares | None = None
    keys: tuple[FlagShares, ...] = ()
    problem: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Return the evaluation as a JSON-ready dict."""
        return {
            "holdout": self.holdout,
            "confidence": self.confidence,
            "outcomes": self.outcomes,
            "training": self.training,
            "held_out": self.held_out,
            "split": self.split,
            "supported": list(self.supported),
            "overall": self.overall.to_json() if self.overall else None,
            "keys": [k.to_json() for k in self.keys],
            "problem": self.problem,
        }


def rate_ratio(
    hits1: int, n1: int, hits2: int, n2: int, confidence: float
) -> tuple[float, float, float] | None:
    """Return ``(hits1/n1) / (hits2/n2)`` with its Katz interval, or None without hits.

    0.5 is added to each cell of the 2×2 table when one of them is 0.
    """
    if not n1 or not n2 or not (hits1 or hits2):
        return None
    x1, m1, x2, m2 = float(hits1), float(n1), float(hits2), float(n2)
    if 0 in (hits1, hits2, n1 - hits1, n2 - hits2):
        x1, m1, x2, m2 = x1 + 0.5, m1 + 1, x2 + 0.5, m2 + 1
    point = (x1 / m1) / (x2 / m2)
    spread = z_value(confidence) * math.sqrt(max(1 / x1 - 1 / m1 + 1 / x2 - 1 / m2, 0.0))
    return point, point * math.exp(-spread), point * math.exp(spread)


def comparable_split(
    outcomes: Sequence[Outcome], holdout: float
) -> tuple[list[Outcome], list[Outcome], dt.datetime, str | None]:
    """Split ``outcomes`` (at least one) by time; say why the parts cannot be compared.

    Returns the older part, the held-out part, the split time, and a problem (None when
    there is an older part to learn from and the held-out part has both verdicts).
    """
    training, held_out, split = split_by_time(outcomes, holdout)
    assert split is not None  # there are outcomes
    held_rejected = sum(o.rejected for o in held_out)
    problem = None
    if not training:
        problem = "every outcome has the same time: there is no older part to learn from"
    elif not held_rejected or held_rejected == len(held_out):
        problem = (
            f"the newest {len(held_out)} outcome(s) (since {iso_utc(split)}) are all "
            f"{'rejections' if held_rejected else 'acceptances'}: nothing to compare; "
            "try a larger --holdout"
        )
    return list(training), list(held_out), split, problem


def split_by_time(
    outcomes: Sequence[Outcome], holdout: float
) -> tuple[list[Outcome], list[Outcome], dt.datetime | None]:
    """Return (training, held out, split time): the newest ``holdout`` share is held out.

    Outcomes at the split time itself are all held out, so both parts are separated by
    time; the training part may be empty when many outcomes share one time.
    """
    ordered = sorted(outcomes, key=lambda o: o.at)
    if not ordered:
        return [], [], None
    held = min(max(round(holdout * len(ordered)), 1), len(ordered))
    split = ordered[len(ordered) - held].at
    return [o for o in ordered if o.at < split], [o for o in ordered if o.at >= split], split


def training_rows(outcomes: Iterable[Outcome], cutoff_day: str) -> list[OutcomeRow]:
    """Aggregate outcomes into stats rows; those on or after ``cutoff_day`` are recent."""
    counts: Counter[tuple[tuple[str, ...], str | None, str | None, bool, bool]] = Counter()
    for o in outcomes:
        day = o.at.astimezone(dt.timezone.utc).date().isoformat()
        reason = o.reason if o.rejected else None
        counts[o.findings, o.pattern, reason, o.rejected, day >= cutoff_day] += 1
    return [OutcomeRow(*key, count=n) for key, n in counts.items()]


def _shares(
    key: str,
    supported: bool,
    flags: Sequence[tuple[bool, bool]],
    confidence: float,
) -> FlagShares:
    """Sum ``(rejected, flagged)`` pairs into figures."""
    rejected = sum(1 for r, _ in flags if r)
    rejected_flagged = sum(1 for r, f in flags if r and f)
    accepted = len(flags) - rejected
    accepted_flagged = sum(1 for r, f in flags if f and not r)
    ratio = rate_ratio(rejected_flagged, rejected, accepted_flagged, accepted, confidence)
    low = high = point = None
    if ratio is not None:
        point, low, high = ratio
    return FlagShares(
        key, supported, rejected, rejected_flagged, accepted, accepted_flagged, point, low, high
    )


def evaluate(
    outcomes: Sequence[Outcome],
    settings: PatternSettings,
    holdout: float = 0.3,
    reason_patterns: Mapping[str, str] | None = None,
) -> Evaluation:
    """Train on the older outcomes, measure the flags on the newest ``holdout`` share."""
    if not 0 < holdout < 1:
        raise ValueError(f"holdout must be between 0 and 1, not {holdout!r}")
    result = Evaluation(holdout, settings.confidence, len(outcomes))
    if len(outcomes) < MIN_OUTCOMES:
        return dataclasses.replace(
            result,
            problem=(
                f"the store has {len(outcomes)} outcome(s) of AI snippets (accepted, kept or "
                f"rejected); evaluating needs at least {MIN_OUTCOMES}"
            ),
        )
    training, held_out, split, problem = comparable_split(outcomes, holdout)
    result = dataclasses.replace(
        result, training=len(training), held_out=len(held_out), split=iso_utc(split)
    )
    if problem:
        return dataclasses.replace(result, problem=problem)
    stats = stats_from_rows(
        training_rows(training, recent_cutoff(split, settings)), settings, reason_patterns
    )
    supported = {k for k, s in stats.items() if s.supported}
    held_keys = [
        (o.rejected, frozenset(k for k in o.findings if is_valid_key(k))) for o in held_out
    ]
    overall = _shares(
        "",
        True,
        [(rejected, not keys.isdisjoint(supported)) for rejected, keys in held_keys],
        settings.confidence,
    )
    seen: set[str] = set(supported)
    for _, keys in held_keys:
        seen |= keys
    per_key = [
        _shares(
            key,
            key in supported,
            [(rejected, key in keys) for rejected, keys in held_keys],
            settings.confidence,
        )
        for key in seen
    ]
    per_key.sort(key=lambda s: (not s.supported, -(s.rejected_flagged + s.accepted_flagged), s.key))
    return dataclasses.replace(
        result,
        supported=tuple(sorted(supported)),
        overall=overall,
        keys=tuple(per_key),
    )
