"""Acceptance rates of AI snippets, grouped by tool, language, user and ISO week.

An outcome is ``accepted``, ``kept`` (an implicit accept), ``rejected`` or ``reverted``.
The acceptance rate of a group is (accepted + kept) / outcomes.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Callable, Iterable

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

    def add(self, kind: Kind) -> None:
        """Count one outcome of ``kind``."""
        if kind is Kind.ACCEPTED:
            self.accepted += 1
        elif kind is Kind.KEPT:
            self.kept += 1
        elif kind is Kind.REJECTED:
            self.rejected += 1
        elif kind is Kind.REVERTED:
            self.reverted += 1

    def to_json(self) -> dict[str, object]:
        """Return the counts and the rate as a JSON-ready dict."""
        return {**dataclasses.asdict(self), "outcomes": self.outcomes, "rate": self.rate}


def iso_week(ts: str) -> str:
    """Return the ISO week (``2026-W47``) of an event timestamp, or ``?`` when unreadable."""
    try:
        moment = dt.datetime.fromisoformat(ts.replace("Z", "+00:00"))
    except ValueError:
        return "?"
    year, week, _ = moment.isocalendar()
    return f"{year}-W{week:02d}"


#: The groupings of ``ailoop stats``: a name and how to read the group from an event.
GROUPINGS: dict[str, Callable[[Event], str]] = {
    "tool": lambda e: e.tool or "unknown",
    "language": lambda e: e.language or "unknown",
    "user": lambda e: e.user or "unknown",
    "week": lambda e: iso_week(e.ts),
}


@dataclasses.dataclass
class AcceptanceReport:
    """Acceptance counts overall and per grouping (``tool``, ``language``, ``user``, ``week``)."""

    overall: AcceptanceCounts
    groups: dict[str, list[AcceptanceCounts]]


def acceptance_report(
    events: Iterable[Event], since: dt.datetime | None = None
) -> AcceptanceReport:
    """Count outcomes in one pass; ``since`` drops older events.

    Groups are ordered by outcomes (most first), weeks chronologically.
    """
    overall = AcceptanceCounts("all")
    tables: dict[str, dict[str, AcceptanceCounts]] = {name: {} for name in GROUPINGS}
    since_text = (
        since.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        if since
        else None
    )
    for event in events:
        if event.kind not in _OUTCOME_KINDS:
            continue
        if since_text is not None and event.ts < since_text:
            continue
        overall.add(event.kind)
        for name, key_of in GROUPINGS.items():
            key = key_of(event)
            counts = tables[name].get(key)
            if counts is None:
                counts = tables[name][key] = AcceptanceCounts(key)
            counts.add(event.kind)
    groups = {}
    for name, table in tables.items():
        rows = list(table.values())
        if name == "week":
            rows.sort(key=lambda c: c.group)
        else:
            rows.sort(key=lambda c: (-c.outcomes, c.group))
        groups[name] = rows
    return AcceptanceReport(overall, groups)


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
