"""Pattern statistics from outcome events: counts, a recency-weighted score, lift, support.

The unit of evidence is one outcome of an AI snippet: ``rejected`` counts against the
patterns present in it, ``accepted`` and ``kept`` count for them (the snippet had the
pattern and was taken anyway). ``reverted`` is left out: code disappears for many
reasons (an undo, a rewrite by the same tool) and says nothing clear about a pattern.

The patterns of an outcome are its ``findings`` (rule ids such as ``ruff:BLE001`` and
team patterns such as ``pattern:bare-except``), the ``pattern`` the developer picked when
rejecting, and the team pattern a promoted free-text reason stands for.

Recency: outcomes in the last ``recent_days`` UTC calendar days (today included) form
one period and older outcomes the other. A rate is
``recent_weight · rate(recent) + older_weight · rate(older)`` (weights normalized; a
period without outcomes hands its weight to the other), so by default the last 7 days
carry 70 % of the influence. ``score`` is a pattern's weighted rejection rate
and ``lift`` that score over the weighted rejection rate of all AI snippets. A pattern is
*supported* — worth a warning — when it has at least ``min_support`` rejections and either
a lift of at least ``min_lift`` or no acceptance at all.

Everything here is pure: events (or pre-aggregated rows from a database) in, numbers out,
so the same code serves the local store and the team's shared store.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections import Counter
from collections.abc import Iterable, Mapping
from typing import Any

from ailoop.patterns.model import display_title, is_valid_key, valid_key
from ailoop.patterns.reasons import normalize_reason
from ailoop.store.events import Event, Kind

#: LSP ``DiagnosticSeverity`` values.
SEVERITY_WARNING = 2
SEVERITY_INFORMATION = 3
SEVERITY_HINT = 4

_ACCEPTING = frozenset({Kind.ACCEPTED, Kind.KEPT})
_OUTCOME_KINDS = _ACCEPTING | {Kind.REJECTED}


@dataclasses.dataclass(frozen=True)
class PatternSettings:
    """How statistics weigh time and when a pattern earns a warning."""

    recent_days: int = 7
    recent_weight: float = 0.7
    older_weight: float = 0.3
    min_support: int = 3
    min_lift: float = 1.5

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
            if not ok or value < 0 or (key == "recent_days" and value < 1):
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
    lift: float  # score over the weighted rejection rate of all AI snippets
    supported: bool
    accepted_recent: int = 0
    recent_days: int = 7

    def to_json(self) -> dict[str, Any]:
        """Return the statistics as a JSON-ready dict."""
        return dataclasses.asdict(self)


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
        if kind not in _OUTCOME_KINDS:
            continue
        rejected = kind is rejected_kind
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
                reason_keys[row.reason] = reason_patterns.get(normalize_reason(row.reason))
            promoted = reason_keys[row.reason]
            if promoted:
                keys.add(promoted)
        for key in keys:
            counts = per_key.get(key)
            if counts is None:
                counts = per_key[key] = [0, 0, 0, 0]
            counts[slot] += row.count
    return per_key, overall


def stats_from_counts(
    per_key: Mapping[str, Buckets], overall: Buckets, settings: PatternSettings
) -> dict[str, PatternStats]:
    """Turn per-pattern and overall buckets into statistics (score, lift, support).

    A key that is not well-formed (:func:`ailoop.patterns.model.is_valid_key`: from a
    summary or a team cache written before keys were checked, or a pulled row) is skipped.
    """
    baseline = weighted_rate(
        overall[1], overall[0] + overall[1], overall[3], overall[2] + overall[3], settings
    )
    result: dict[str, PatternStats] = {}
    for key, (acc_r, rej_r, acc_o, rej_o) in per_key.items():
        if not is_valid_key(key):
            continue
        score = weighted_rate(rej_r, acc_r + rej_r, rej_o, acc_o + rej_o, settings) or 0.0
        lift = score / baseline if baseline else 0.0
        rejected, accepted = rej_r + rej_o, acc_r + acc_o
        supported = rejected >= settings.min_support and (
            lift >= settings.min_lift or accepted == 0
        )
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
