"""Acceptance rates of AI snippets, grouped by tool, language, user and ISO week.

An outcome is ``accepted``, ``kept`` (an implicit accept), ``rejected`` or ``reverted``.
The acceptance rate of a group is (accepted + kept) / outcomes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable

from ailoop.store.events import Event, Kind

_OUTCOME_KINDS = (Kind.ACCEPTED, Kind.KEPT, Kind.REJECTED, Kind.REVERTED)


@dataclasses.dataclass
class AcceptanceCounts:
    """Outcome counts of one group."""

    group: str
    accepted: int = 0
    kept: int = 0
    rejected: int = 0
    reverted: int = 0

    @property
    def outcomes(self) -> int:
        """How many snippets of the group have an outcome."""
        return self.accepted + self.kept + self.rejected + self.reverted

    @property
    def rate(self) -> float | None:
        """The acceptance rate, or None without outcomes."""
        total = self.outcomes
        return (self.accepted + self.kept) / total if total else None

    def add(self, kind: Kind, count: int = 1) -> None:
        """Count ``count`` outcomes of ``kind``."""
        if kind is Kind.ACCEPTED:
            self.accepted += count
        elif kind is Kind.KEPT:
            self.kept += count
        elif kind is Kind.REJECTED:
            self.rejected += count
        elif kind is Kind.REVERTED:
            self.reverted += count

    def to_json(self) -> dict[str, object]:
        """Return the counts and the rate as a JSON-ready dict."""
        return {**dataclasses.asdict(self), "outcomes": self.outcomes, "rate": self.rate}


def iso_week(ts: str) -> str:
    """Return the ISO week (``2026-W47``) of an event timestamp or day, ``?`` when unreadable."""
    try:
        moment = dt.datetime.fromisoformat(ts.replace("Z", "+00:00"))
    except ValueError:
        return "?"
    if moment.tzinfo is not None:
        moment = moment.astimezone(dt.timezone.utc)
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


@dataclasses.dataclass(frozen=True)
class OutcomeGroup:
    """``count`` outcomes of one kind sharing tool, language, user and ISO week.

    The aggregate a database gives with one ``GROUP BY``; the report is built from these,
    so local and team data go through the same code.
    """

    tool: str
    language: str
    user: str
    week: str
    kind: Kind
    count: int = 1


#: The groupings of ``ailoop stats``, by the name of the :class:`OutcomeGroup` field.
GROUPINGS = ("tool", "language", "user", "week")


def outcome_groups(
    events: Iterable[Event], since: dt.datetime | None = None, repo: str | None = None
) -> list[OutcomeGroup]:
    """Aggregate outcome events; ``since`` drops older events, ``repo`` other repositories."""
    since_text = (
        since.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        if since
        else None
    )
    counts: dict[tuple[str, str, str, str, Kind], int] = {}
    for event in events:
        if event.kind not in _OUTCOME_KINDS:
            continue
        if (since_text is not None and event.ts < since_text) or (repo and event.repo != repo):
            continue
        key = (
            event.tool or "unknown",
            event.language or "unknown",
            event.user or "unknown",
            iso_week(event.ts),
            event.kind,
        )
        counts[key] = counts.get(key, 0) + 1
    return [OutcomeGroup(*key, count=n) for key, n in counts.items()]


@dataclasses.dataclass
class AcceptanceReport:
    """Acceptance counts overall and per grouping (``tool``, ``language``, ``user``, ``week``).

    Built from the slices (:func:`ailoop.analytics.stages.acceptance_of`) it has ``model`` too.
    """

    overall: AcceptanceCounts
    groups: dict[str, list[AcceptanceCounts]]


def acceptance_report(groups: Iterable[OutcomeGroup]) -> AcceptanceReport:
    """Sum outcome groups per tool, language, user and week.

    Groups are ordered by outcomes (most first), weeks chronologically.
    """
    overall = AcceptanceCounts("all")
    tables: dict[str, dict[str, AcceptanceCounts]] = {name: {} for name in GROUPINGS}
    for group in groups:
        overall.add(group.kind, group.count)
        for name in GROUPINGS:
            key = getattr(group, name)
            counts = tables[name].get(key)
            if counts is None:
                counts = tables[name][key] = AcceptanceCounts(key)
            counts.add(group.kind, group.count)
    ordered = {}
    for name, table in tables.items():
        rows = list(table.values())
        if name == "week":
            rows.sort(key=lambda c: c.group)
        else:
            rows.sort(key=lambda c: (-c.outcomes, c.group))
        ordered[name] = rows
    return AcceptanceReport(overall, ordered)


def acceptance_rate(
    events: Iterable[Event], start: str | None = None, end: str | None = None
) -> tuple[float | None, int]:
    """Return the acceptance rate and the outcome count of events with ``start <= ts < end``.

    Bounds are ISO 8601 UTC texts in the events' format; None leaves a side open.
    """
    counts = AcceptanceCounts("window")
    for event in events:
        if event.kind not in _OUTCOME_KINDS:
            continue
        if (start is not None and event.ts < start) or (end is not None and event.ts >= end):
            continue
        counts.add(event.kind)
    return counts.rate, counts.outcomes
