"""Pattern statistics from outcome events: counts, a recency-weighted score, odds ratio, support.

The unit of evidence is one outcome of an AI snippet: ``rejected`` counts against the
patterns present in it, ``accepted`` and ``kept`` count for them (the snippet had the
pattern and was taken anyway); so does a ``reviewed`` event about the snippet, against
them when changes were requested or the pull request closed unmerged, for them when it
was approved or merged. ``reverted`` is left out: code disappears for many
reasons (an undo, a rewrite by the same tool) and says nothing clear about a pattern.

The patterns of an outcome are its ``findings`` (rule ids such as ``ruff:BLE001`` and
team patterns such as ``pattern:bare-except``), the ``pattern`` the developer picked when
rejecting, and the team pattern a promoted free-text reason stands for.

Recency: outcomes in the last ``recent_days`` UTC calendar days (today included) form
one period and older outcomes the other. A rate is
``recent_weight · rate(recent) + older_weight · rate(older)`` (weights normalized; a
period without outcomes hands its weight to the other), so by default the last 7 days
carry 70 % of the influence. ``score`` is a pattern's weighted rejection rate.

The support test compares the AI snippets *with* a key against the AI snippets
*without* it (all outcomes minus the key's), by the **odds ratio** of rejection:
``OR = odds(with) / odds(without)``, ``odds = rate / (1 - rate)``. Unlike a ratio of
rates, it is not capped by the base rate: when a team rejects 65 % of AI code, a rate
ratio can never exceed 1 / 0.65 ≈ 1.54, while the odds ratio of a pattern rejected 85 %
of the time is still ≈ 3. Each group's rate is its recency-weighted rate over the periods
both groups have (so a key seen only last week is compared with last week). Each group
becomes an effective 2×2 row: ``n_eff`` outcomes (Kish's effective count under the
weights, ``1 / Σ W²/n`` over the periods; the raw count when the weights follow the
counts), ``rate · n_eff`` of them rejected; 0.5 is added to each cell (Haldane), so rates
of 0 and 1 give finite odds. ``lift`` is that point odds ratio, and
``lift_low`` to ``lift_high`` its ``confidence`` interval from Woolf's standard error,
``sqrt(1/a + 1/b + 1/c + 1/d)`` over the four (corrected) cells, on the log scale. A
pattern is *supported* — worth a warning — when it has at least ``min_support``
rejections and ``lift_low >= min_lift``.

Cold start: with fewer than :data:`COLD_START_OUTCOMES` outcomes without the key there is
nothing to compare with, and a pattern is supported when it has ``min_support``
rejections and no acceptance at all (a new team that rejected ``ruff:E722`` three times
sees it flagged on the fourth).

Worked example (all outcomes in one period, so effective counts are raw counts): a key
rejected 12× and accepted 8×, among 1,000 outcomes of which 650 were rejected. Without the
key: 638 rejected, 342 accepted. With 0.5 added: OR = (12.5/8.5) / (638.5/342.5) = 0.79;
SE = sqrt(1/12.5 + 1/8.5 + 1/638.5 + 1/342.5) = 0.45; the 90 % interval is
0.79 · exp(±1.645 · 0.45) = 0.38 to 1.65: not supported, though 60 % of its snippets
were rejected. The same key rejected 19× and accepted 1× gives OR = 7.2 (1.8 to 29):
supported with the defaults (``min_lift`` 1.2 at ``confidence`` 0.9, chosen on generated
histories: ``bench/learning_bench.py --sweep``, docs/patterns.md).

Everything here is pure: events (or pre-aggregated rows from a database) in, numbers out,
so the same code serves the local store and the team's shared store.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import math
from collections import Counter
from collections.abc import Iterable, Mapping
from statistics import NormalDist
from typing import Any

from ailoop.patterns.model import display_title, is_valid_key, valid_key
from ailoop.patterns.reasons import promoted_key
from ailoop.store.events import REVIEW_ACCEPTING, REVIEW_REJECTING, Event, Kind

#: LSP ``DiagnosticSeverity`` values.
SEVERITY_WARNING = 2
SEVERITY_INFORMATION = 3
SEVERITY_HINT = 4

_ACCEPTING = frozenset({Kind.ACCEPTED, Kind.KEPT})
_OUTCOME_KINDS = _ACCEPTING | {Kind.REJECTED}
_REVIEW_OUTCOMES = REVIEW_ACCEPTING | REVIEW_REJECTING

#: Below this many outcomes without a key there is nothing to compare the key with: the
#: cold-start rule (``min_support`` rejections, never accepted) decides its support.
COLD_START_OUTCOMES = 10

#: Haldane's correction: added to each cell of the 2×2 table of a comparison.
HALDANE = 0.5


#: The default lower bound the odds-ratio interval must reach (chosen by simulation:
#: ``bench/learning_bench.py``, docs/patterns.md).
MIN_LIFT_DEFAULT = 1.2


@dataclasses.dataclass(frozen=True)
class PatternSettings:
    """How statistics weigh time and when a pattern earns a warning."""

    recent_days: int = 7
    recent_weight: float = 0.7
    older_weight: float = 0.3
    min_support: int = 3
    min_lift: float = MIN_LIFT_DEFAULT
    confidence: float = 0.9

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> tuple[PatternSettings, list[str]]:
        """Read settings from a table (snake_case or camelCase keys).

        Returns the settings and one message per unknown key or bad value; a bad value
        keeps its default.
        """
        problems: list[str] = []
        fields = {f.name: f for f in dataclasses.fields(cls)}
        chosen: dict[str, Any] = {}
        for raw_key, value in values.items():
            key = "".join("_" + c.lower() if c.isupper() else c for c in raw_key)
            if key not in fields:
                problems.append(f"patterns setting {raw_key!r} is unknown (ignored)")
                continue
            number_type = int if key in ("recent_days", "min_support") else float
            ok = isinstance(value, (int, float)) and not isinstance(value, bool)
            if ok and number_type is int:
                ok = float(value).is_integer()
            if key == "confidence":
                if not ok or not 0 < value < 1:
                    problems.append(
                        f"patterns setting {raw_key!r} must be a number between 0 and 1, "
                        f"such as 0.9 (got {value!r}); using {cls.confidence!r}"
                    )
                    continue
            elif not ok or value < 0 or (key == "recent_days" and value < 1):
                problems.append(
                    f"patterns setting {raw_key!r} must be a "
                    f"{'whole ' if number_type is int else ''}number"
                    f"{' of at least 1' if key == 'recent_days' else ' not below 0'}"
                    f" (got {value!r}); using {getattr(cls, key)!r}"
                )
                continue
            chosen[key] = number_type(value)
        settings = cls(**chosen)
        if settings.recent_weight + settings.older_weight <= 0:
            problems.append(
                "patterns settings recent_weight and older_weight are both 0; using 0.7 and 0.3"
            )
            settings = dataclasses.replace(settings, recent_weight=0.7, older_weight=0.3)
        return settings, problems


@dataclasses.dataclass(frozen=True)
class PatternStats:
    """The numbers of one pattern (keyed by its diagnostic code)."""

    pattern: str
    rejected: int
    accepted: int
    rejected_recent: int
    score: float  # recency-weighted rejection rate of snippets with the pattern, 0..1
    lift: float  # odds ratio of rejection: snippets with the pattern vs AI snippets without
    supported: bool
    accepted_recent: int = 0
    recent_days: int = 7
    lift_low: float = 0.0  # the odds ratio's confidence interval (settings.confidence)
    lift_high: float = 0.0
    outcomes_without: int = 0  # outcomes of AI snippets without the pattern

    @property
    def cold_start(self) -> bool:
        """Whether too few outcomes lack the pattern to compare (support by the cold-start rule)."""
        return self.outcomes_without < COLD_START_OUTCOMES

    def to_json(self) -> dict[str, Any]:
        """Return the statistics as a JSON-ready dict (with ``odds_ratio`` = ``lift``)."""
        out = dataclasses.asdict(self)
        out["odds_ratio"] = self.lift
        out["cold_start"] = self.cold_start
        return out


@dataclasses.dataclass(frozen=True)
class OutcomeRow:
    """``count`` outcomes that share their findings, picked pattern, reason, verdict and period.

    This is the aggregate a database can produce with one ``GROUP BY``; events map to it
    one to one.
    """

    findings: tuple[str, ...]
    pattern: str | None
    reason: str | None
    rejected: bool
    recent: bool
    count: int = 1


def recent_cutoff(now: dt.datetime, settings: PatternSettings) -> str:
    """Return the first UTC day (``YYYY-MM-DD``) whose outcomes count as recent.

    The recent window is the last ``recent_days`` UTC calendar days, today included:
    whole days, so that day-by-day summaries and raw events give the same numbers.
    """
    if now.tzinfo is None:
        now = now.replace(tzinfo=dt.timezone.utc)
    today = now.astimezone(dt.timezone.utc).date()
    return (today - dt.timedelta(days=settings.recent_days - 1)).isoformat()


def iso_utc(moment: dt.datetime) -> str:
    """Format ``moment`` like event timestamps: ISO 8601 UTC, milliseconds, ``Z``."""
    utc = moment.astimezone(dt.timezone.utc)
    return utc.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def parse_ts(ts: str) -> dt.datetime:
    """Parse an event timestamp; naive values are read as UTC."""
    moment = dt.datetime.fromisoformat(ts.replace("Z", "+00:00"))
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def event_day(ts: str) -> str:
    """Return the UTC day (``YYYY-MM-DD``) of an event timestamp (``""`` when unreadable)."""
    if len(ts) > 10 and ts[10] == "T" and ts.endswith("Z"):
        return ts[:10]
    try:
        return parse_ts(ts).astimezone(dt.timezone.utc).date().isoformat()
    except ValueError:
        return ""


def outcome_rows(events: Iterable[Event], cutoff_day: str) -> list[OutcomeRow]:
    """Aggregate the outcome events into rows; outcomes on or after ``cutoff_day`` are recent."""
    counts: Counter[tuple[tuple[str, ...], str | None, str | None, bool, bool]] = Counter()
    rejected_kind = Kind.REJECTED
    for event in events:
        kind = event.kind
        if kind is Kind.REVIEWED:  # a review's verdict on the snippet
            if not event.snippet or event.outcome not in _REVIEW_OUTCOMES:
                continue
            rejected = event.outcome in REVIEW_REJECTING
        elif kind in _OUTCOME_KINDS:
            rejected = kind is rejected_kind
        else:
            continue
        counts[
            (
                event.findings,
                event.pattern,
                event.reason if rejected else None,
                rejected,
                event_day(event.ts) >= cutoff_day,
            )
        ] += 1
    return [OutcomeRow(*key, count=n) for key, n in counts.items()]


def weighted_rate(
    rejected_recent: int,
    total_recent: int,
    rejected_older: int,
    total_older: int,
    settings: PatternSettings,
) -> float | None:
    """Return the recency-weighted rejection rate, or None when there are no outcomes."""
    parts: list[tuple[float, float]] = []
    if total_recent:
        parts.append((settings.recent_weight, rejected_recent / total_recent))
    if total_older:
        parts.append((settings.older_weight, rejected_older / total_older))
    weight = sum(w for w, _ in parts)
    if weight <= 0:
        return None
    return sum(w * rate for w, rate in parts) / weight


#: Outcome counts of one pattern:
#: [accepted recent, rejected recent, accepted older, rejected older].
Buckets = list[int]


def bucket(rejected: bool, recent: bool) -> int:
    """Return the index in :data:`Buckets` for an outcome."""
    return (0 if recent else 2) + (1 if rejected else 0)


def accumulate(
    rows: Iterable[OutcomeRow], reason_patterns: Mapping[str, str] | None = None
) -> tuple[dict[str, Buckets], Buckets]:
    """Sum outcome rows into per-pattern buckets and overall buckets.

    ``reason_patterns`` maps a normalized free-text reason to the pattern key it was
    promoted to, so earlier rejections with that reason count for the pattern.
    """
    per_key: dict[str, Buckets] = {}
    overall = [0, 0, 0, 0]
    reason_keys: dict[str, str | None] = {}
    for row in rows:
        slot = bucket(row.rejected, row.recent)
        overall[slot] += row.count
        keys = {k for k in row.findings if is_valid_key(k)}
        if row.pattern and (key := valid_key(row.pattern)):
            keys.add(key)
        if reason_patterns and row.reason:
            if row.reason not in reason_keys:
                reason_keys[row.reason] = promoted_key(row.reason, reason_patterns)
            promoted = reason_keys[row.reason]
            if promoted:
                keys.add(promoted)
        for key in keys:
            counts = per_key.get(key)
            if counts is None:
                counts = per_key[key] = [0, 0, 0, 0]
            counts[slot] += row.count
    return per_key, overall


def z_value(confidence: float) -> float:
    """Return the normal quantile of a two-sided ``confidence`` interval (1.645 for 0.9)."""
    return NormalDist().inv_cdf(0.5 + confidence / 2)


def _effective(
    rejected: tuple[int, int], total: tuple[int, int], weights: tuple[float, float]
) -> tuple[float, float] | None:
    """Return (weighted rejection rate, Kish effective count) over the weighted periods."""
    used = [(w, r, n) for w, r, n in zip(weights, rejected, total, strict=True) if n and w > 0]
    weight = sum(w for w, _, _ in used)
    if weight <= 0:
        return None
    rate = sum(w * r / n for w, r, n in used) / weight
    effective = 1 / sum((w / weight) ** 2 / n for w, _, n in used)
    return rate, effective


def odds_ratio(
    with_key: Buckets, without_key: Buckets, settings: PatternSettings
) -> tuple[float, float, float]:
    """Return the odds ratio of rejection with vs without a key, and its interval.

    Both groups are weighted over the periods both have (each its own when they share
    none), turned into effective counts, corrected by 0.5 per cell; the interval is
    Woolf's on the log scale at ``settings.confidence``.
    """
    weights = (settings.recent_weight, settings.older_weight)
    totals_with = (with_key[0] + with_key[1], with_key[2] + with_key[3])
    totals_without = (without_key[0] + without_key[1], without_key[2] + without_key[3])
    shared = (
        weights[0] if totals_with[0] and totals_without[0] else 0.0,
        weights[1] if totals_with[1] and totals_without[1] else 0.0,
    )
    period_weights = shared if any(shared) else weights
    cells: list[float] = []
    for counts, totals in ((with_key, totals_with), (without_key, totals_without)):
        found = _effective((counts[1], counts[3]), totals, period_weights)
        if found is None:  # no weighted outcome at all: the raw counts
            n = sum(totals)
            found = ((counts[1] + counts[3]) / n if n else 0.0, float(n))
        rate, n_eff = found
        cells += [rate * n_eff, (1 - rate) * n_eff]
    a, b, c, d = cells
    return odds_ratio_of_cells(a, b, c, d, settings.confidence)


def odds_ratio_of_cells(
    rejected_a: float, accepted_a: float, rejected_b: float, accepted_b: float, confidence: float
) -> tuple[float, float, float]:
    """Return the odds ratio of rejection of group a vs group b, and its interval.

    The four cells may be effective (fractional) counts; 0.5 is added to each (Haldane),
    and the interval is Woolf's on the log scale at ``confidence``. The one formula behind
    the pattern statistics (:func:`odds_ratio`) and the rule experiment
    (:mod:`ailoop.patterns.experiment`).
    """
    a, b, c, d = (x + HALDANE for x in (rejected_a, accepted_a, rejected_b, accepted_b))
    point = (a / b) / (c / d)
    spread = z_value(confidence) * math.sqrt(1 / a + 1 / b + 1 / c + 1 / d)
    return point, point * math.exp(-spread), point * math.exp(spread)


def stats_from_counts(
    per_key: Mapping[str, Buckets], overall: Buckets, settings: PatternSettings
) -> dict[str, PatternStats]:
    """Turn per-pattern and overall buckets into statistics (score, odds ratio, support).

    A key's comparison group is the overall buckets minus its own (clamped at 0 for
    numbers that do not add up). A key that is not well-formed
    (:func:`ailoop.patterns.model.is_valid_key`: from a summary or a team cache written
    before keys were checked, or a pulled row) is skipped.
    """
    result: dict[str, PatternStats] = {}
    for key, counts in per_key.items():
        if not is_valid_key(key):
            continue
        acc_r, rej_r, acc_o, rej_o = counts
        without = [max(total - own, 0) for total, own in zip(overall, counts, strict=True)]
        score = weighted_rate(rej_r, acc_r + rej_r, rej_o, acc_o + rej_o, settings) or 0.0
        lift, low, high = odds_ratio(list(counts), without, settings)
        rejected, accepted = rej_r + rej_o, acc_r + acc_o
        outcomes_without = sum(without)
        if outcomes_without < COLD_START_OUTCOMES:
            supported = rejected >= settings.min_support and accepted == 0
        else:
            supported = rejected >= settings.min_support and low >= settings.min_lift
        result[key] = PatternStats(
            pattern=key,
            rejected=rejected,
            accepted=accepted,
            rejected_recent=rej_r,
            score=score,
            lift=lift,
            supported=supported,
            accepted_recent=acc_r,
            recent_days=settings.recent_days,
            lift_low=low,
            lift_high=high,
            outcomes_without=outcomes_without,
        )
    return result


def stats_from_rows(
    rows: Iterable[OutcomeRow],
    settings: PatternSettings,
    reason_patterns: Mapping[str, str] | None = None,
) -> dict[str, PatternStats]:
    """Compute per-pattern statistics from aggregated outcome rows."""
    per_key, overall = accumulate(rows, reason_patterns)
    return stats_from_counts(per_key, overall, settings)


def compute_pattern_stats(
    events: Iterable[Event],
    settings: PatternSettings,
    now: dt.datetime,
    reason_patterns: Mapping[str, str] | None = None,
) -> dict[str, PatternStats]:
    """Compute the statistics of every pattern seen in ``events``, keyed by pattern key.

    ``now`` fixes the recent window (``settings.recent_days`` before it). For a large
    local store, :func:`ailoop.patterns.aggregate.local_pattern_stats` gives the same
    result from one SQL aggregate.
    """
    rows = outcome_rows(events, recent_cutoff(now, settings))
    return stats_from_rows(rows, settings, reason_patterns)


def diagnostic_message(stats: PatternStats, title: str) -> str:
    """Return the diagnostic text of a known rejection pattern with its numbers."""
    text = (
        f"known rejection pattern: {display_title(stats.pattern, title)} — rejected "
        f"{stats.rejected}× ({stats.rejected_recent} in the last {stats.recent_days} days)"
    )
    if stats.accepted:
        text += f", accepted {stats.accepted}×"
    return text


def severity_for(stats: PatternStats) -> int:
    """Return the LSP diagnostic severity for a pattern: Warning, Information or Hint."""
    if stats.score >= 0.75:
        return SEVERITY_WARNING
    if stats.score >= 0.4:
        return SEVERITY_INFORMATION
    return SEVERITY_HINT


def top_patterns(stats: Mapping[str, PatternStats], limit: int | None = None) -> list[PatternStats]:
    """Return the supported patterns, strongest first (score, then rejections, then key)."""
    ranked = sorted(
        (s for s in stats.values() if s.supported),
        key=lambda s: (-s.score, -s.rejected, s.pattern),
    )
    return ranked if limit is None else ranked[:limit]
