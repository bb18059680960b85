"""Numbers per stage of a snippet's life: the editor, code review, and the main branch.

Each stage is counted apart, with its own denominator, so that acceptance in the editor
is never mixed with what review or the merge said:

- **editor**: ``accepted``, ``kept``, ``rejected`` and ``reverted`` events (the outcomes of
  ``ailoop stats``); the rate is (accepted + kept) / outcomes, by snippets and by lines
  (the ``lines`` of each outcome event);
- **review**: ``reviewed`` events about a snippet, by outcome: ``approved``,
  ``changes_requested``, ``commented`` and ``closed`` (the pull request was closed unmerged:
  rejected in review). The denominator is those events; the approval rate is approved /
  verdicts (approved + changes requested + closed; a comment is no verdict). Events kept
  at pull-request level (no snippet) are counted apart (``pr_level``);
- **merged**: ``reviewed`` events with outcome ``merged`` (one per snippet and pull
  request), over the ``generated`` events of the same period: the landing rate, how much
  of the generated code reached the main branch. ``reverted`` counts snippets a later
  revert removed.

Everything is computed from :class:`KindGroup` rows, the aggregate one ``GROUP BY`` gives
in SQLite and in PostgreSQL, so the local store and the team store go through this code.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Iterable
from typing import Any

from ailoop.analytics.acceptance import (
    AcceptanceCounts,
    AcceptanceReport,
    OutcomeGroup,
    acceptance_report,
)
from ailoop.store.events import Kind

_EDITOR = (Kind.ACCEPTED, Kind.KEPT, Kind.REJECTED, Kind.REVERTED)
#: Review outcomes of the review stage (``closed`` is shown as ``rejected``).
REVIEW_STAGE = ("approved", "changes_requested", "commented", "closed")


@dataclasses.dataclass(frozen=True)
class KindGroup:
    """``count`` events of one kind (and review outcome) sharing tool, language, user, week.

    ``lines`` is the sum of their ``lines``; ``pr_level`` marks ``reviewed`` events that
    matched no snippet; ``model`` is the model that wrote the snippets when their tool said
    (``""`` otherwise; only the per-tool slice carries it).
    """

    tool: str
    language: str
    user: str
    week: str
    kind: Kind
    outcome: str = ""
    pr_level: bool = False
    count: int = 1
    lines: int = 0
    model: str = ""


def outcome_groups_of(groups: Iterable[KindGroup]) -> list[OutcomeGroup]:
    """Return the editor outcome groups among ``groups`` (what ``acceptance_report`` sums)."""
    merged: dict[tuple[str, str, str, str, Kind], int] = {}
    for g in groups:
        if g.kind in _EDITOR:
            key = (g.tool, g.language, g.user, g.week, g.kind)
            merged[key] = merged.get(key, 0) + g.count
    return [OutcomeGroup(*key, count=n) for key, n in merged.items()]


def _ratio(part: int, whole: int) -> float | None:
    return part / whole if whole else None


@dataclasses.dataclass
class EditorStage:
    """Editor outcomes by snippets (events) and by lines."""

    accepted: int = 0
    kept: int = 0
    rejected: int = 0
    reverted: int = 0
    lines_accepted: int = 0
    lines_kept: int = 0
    lines_rejected: int = 0
    lines_reverted: int = 0

    def add(self, kind: Kind, count: int, lines: int) -> None:
        """Count ``count`` outcomes of ``kind`` holding ``lines`` lines."""
        name = kind.value
        setattr(self, name, getattr(self, name) + count)
        setattr(self, f"lines_{name}", getattr(self, f"lines_{name}") + lines)

    @property
    def outcomes(self) -> int:
        """Snippets with an outcome: the denominator by snippets."""
        return self.accepted + self.kept + self.rejected + self.reverted

    @property
    def lines_outcomes(self) -> int:
        """Lines of the snippets with an outcome: the denominator by lines."""
        return self.lines_accepted + self.lines_kept + self.lines_rejected + self.lines_reverted

    @property
    def rate(self) -> float | None:
        """(accepted + kept) / outcomes."""
        return _ratio(self.accepted + self.kept, self.outcomes)

    @property
    def lines_rate(self) -> float | None:
        """Lines accepted or kept / lines with an outcome."""
        return _ratio(self.lines_accepted + self.lines_kept, self.lines_outcomes)

    def to_json(self) -> dict[str, Any]:
        """Return the counts, denominators and rates."""
        return {
            "accepted": self.accepted,
            "kept": self.kept,
            "rejected": self.rejected,
            "reverted": self.reverted,
            "outcomes": self.outcomes,
            "rate": self.rate,
            "lines": {
                "accepted": self.lines_accepted,
                "kept": self.lines_kept,
                "rejected": self.lines_rejected,
                "reverted": self.lines_reverted,
                "outcomes": self.lines_outcomes,
                "rate": self.lines_rate,
            },
        }


@dataclasses.dataclass
class ReviewStage:
    """Review outcomes of snippets (``reviewed`` events matched to a snippet)."""

    approved: int = 0
    changes_requested: int = 0
    commented: int = 0
    closed: int = 0
    pr_level: int = 0

    @property
    def events(self) -> int:
        """Review events about a snippet: the denominator."""
        return self.approved + self.changes_requested + self.commented + self.closed

    @property
    def verdicts(self) -> int:
        """Approvals, change requests and closes: the denominator of the approval rate."""
        return self.approved + self.changes_requested + self.closed

    @property
    def rate(self) -> float | None:
        """Approved / verdicts."""
        return _ratio(self.approved, self.verdicts)

    def to_json(self) -> dict[str, Any]:
        """Return the counts, denominators and the approval rate."""
        return {
            "approved": self.approved,
            "changes_requested": self.changes_requested,
            "commented": self.commented,
            "rejected": self.closed,
            "events": self.events,
            "verdicts": self.verdicts,
            "rate": self.rate,
            "pr_level": self.pr_level,
        }


@dataclasses.dataclass
class MergedStage:
    """Snippets that reached the main branch, over the snippets generated."""

    merged: int = 0
    reverted: int = 0
    generated: int = 0

    @property
    def rate(self) -> float | None:
        """The landing rate: merged / generated."""
        return _ratio(self.merged, self.generated)

    def to_json(self) -> dict[str, Any]:
        """Return the counts, the denominator and the landing rate."""
        return {
            "merged": self.merged,
            "reverted": self.reverted,
            "generated": self.generated,
            "rate": self.rate,
        }


@dataclasses.dataclass
class Stages:
    """The three stages, the funnel's first steps, and every event counted."""

    editor: EditorStage
    review: ReviewStage
    merged: MergedStage
    generated: int = 0
    generated_lines: int = 0
    modified: int = 0  # snippets edited after generation (distinct), see ``modified_snippets``
    events: int = 0

    @property
    def has_review(self) -> bool:
        """Whether any review outcome was recorded."""
        return bool(self.review.events or self.review.pr_level or self.merged.merged)

    def to_json(self) -> dict[str, Any]:
        """Return the stages as ``ailoop stats --format json`` gives them (``stages``)."""
        return {
            "editor": self.editor.to_json(),
            "review": self.review.to_json(),
            "merged": self.merged.to_json(),
        }

    def funnel(self) -> list[tuple[str, int]]:
        """Return the funnel's steps: generated → modified → outcomes (→ reviewed, merged)."""
        steps = [
            ("generated", self.generated),
            ("modified", self.modified),
            ("accepted", self.editor.accepted),
            ("kept", self.editor.kept),
            ("rejected", self.editor.rejected),
            ("reverted", self.editor.reverted),
        ]
        if self.has_review:
            steps += [("reviewed", self.review.events), ("merged", self.merged.merged)]
        return steps


def stages(groups: Iterable[KindGroup], modified_snippets: int = 0) -> Stages:
    """Sum kind groups into the per-stage numbers."""
    editor, review, merged = EditorStage(), ReviewStage(), MergedStage()
    out = Stages(editor, review, merged, modified=modified_snippets)
    for g in groups:
        out.events += g.count
        if g.kind in _EDITOR:
            editor.add(g.kind, g.count, g.lines)
        elif g.kind is Kind.GENERATED:
            out.generated += g.count
            out.generated_lines += g.lines
            merged.generated += g.count
        elif g.kind is Kind.REVIEWED:
            if g.pr_level:
                review.pr_level += g.count
            elif g.outcome in REVIEW_STAGE:
                setattr(review, g.outcome, getattr(review, g.outcome) + g.count)
            elif g.outcome == "merged":
                merged.merged += g.count
            elif g.outcome == "reverted":
                merged.reverted += g.count
    return out


@dataclasses.dataclass(frozen=True)
class WeekRow:
    """Editor outcomes of one tool in one ISO week, by snippets and by lines."""

    week: str
    group: str
    outcomes: int
    accepted: int  # accepted + kept
    lines_outcomes: int
    lines_accepted: int

    @property
    def rate(self) -> float | None:
        """Acceptance by snippets."""
        return _ratio(self.accepted, self.outcomes)

    @property
    def lines_rate(self) -> float | None:
        """Acceptance by lines."""
        return _ratio(self.lines_accepted, self.lines_outcomes)

    def to_json(self) -> dict[str, Any]:
        """Return the row with both rates."""
        return {**dataclasses.asdict(self), "rate": self.rate, "lines_rate": self.lines_rate}


def weekly(groups: Iterable[KindGroup], by: str = "tool") -> list[WeekRow]:
    """Return editor acceptance per ISO week and ``by`` (a :class:`KindGroup` field).

    Ordered by week, then by the group's name.
    """
    sums: dict[tuple[str, str], list[int]] = {}
    for g in groups:
        if g.kind not in _EDITOR:
            continue
        row = sums.setdefault((g.week, str(getattr(g, by))), [0, 0, 0, 0])
        row[0] += g.count
        row[2] += g.lines
        if g.kind in (Kind.ACCEPTED, Kind.KEPT):
            row[1] += g.count
            row[3] += g.lines
    return [WeekRow(week, group, *counts) for (week, group), counts in sorted(sums.items())]


def lines_by(groups: Iterable[KindGroup], by: str) -> dict[str, tuple[int, int]]:
    """Return (lines accepted or kept, lines with an outcome) per ``by`` value."""
    out: dict[str, tuple[int, int]] = {}
    for g in groups:
        if g.kind not in _EDITOR:
            continue
        key = str(getattr(g, by))
        accepted, total = out.get(key, (0, 0))
        taken = g.lines if g.kind in (Kind.ACCEPTED, Kind.KEPT) else 0
        out[key] = (accepted + taken, total + g.lines)
    return out


@dataclasses.dataclass
class Slices:
    """The kind groups cut three ways, so a large store never needs their cross product.

    ``tools``: per tool and ISO week (``language`` and ``user`` empty); ``languages`` and
    ``users``: per language, per user (the other fields empty). Each slice holds every
    event once, so each gives the same totals.
    """

    tools: list[KindGroup]
    languages: list[KindGroup]
    users: list[KindGroup]


def slice_groups(groups: Iterable[KindGroup]) -> Slices:
    """Cut kind groups into :class:`Slices` (the per-tool slice keeps the model)."""
    cuts: tuple[dict[tuple[str, str, str, str, Kind, str, bool, str], list[int]], ...] = (
        {},
        {},
        {},
    )
    for g in groups:
        keys = (
            (g.tool, "", "", g.week, g.kind, g.outcome, g.pr_level, g.model),
            ("", g.language, "", "", g.kind, g.outcome, g.pr_level, ""),
            ("", "", g.user, "", g.kind, g.outcome, g.pr_level, ""),
        )
        for cut, key in zip(cuts, keys, strict=True):
            sums = cut.setdefault(key, [0, 0])
            sums[0] += g.count
            sums[1] += g.lines
    tools, languages, users = (
        [KindGroup(*key[:7], count=n, lines=lines, model=key[7]) for key, (n, lines) in cut.items()]
        for cut in cuts
    )
    return Slices(tools, languages, users)


def counts_by(groups: Iterable[KindGroup], by: str) -> list[AcceptanceCounts]:
    """Return editor acceptance per ``by`` (a :class:`KindGroup` field), most outcomes first.

    Groups whose ``by`` is empty are left out: per ``model``, the snippets whose tool did not
    say which model wrote them.
    """
    table: dict[str, AcceptanceCounts] = {}
    for g in groups:
        key = str(getattr(g, by))
        if g.kind in _EDITOR and key:
            counts = table.get(key)
            if counts is None:
                counts = table[key] = AcceptanceCounts(key)
            counts.add(g.kind, g.count)
    return sorted(table.values(), key=lambda c: (-c.outcomes, c.group))


def acceptance_of(slices: Slices) -> AcceptanceReport:
    """Return the acceptance report (by tool, language, user, week and model) from the slices.

    Per model: only the snippets whose tool said which model wrote them.
    """
    by_tool = acceptance_report(outcome_groups_of(slices.tools))
    by_language = acceptance_report(outcome_groups_of(slices.languages))
    by_user = acceptance_report(outcome_groups_of(slices.users))
    return AcceptanceReport(
        by_tool.overall,
        {
            "tool": by_tool.groups["tool"],
            "language": by_language.groups["language"],
            "user": by_user.groups["user"],
            "week": by_tool.groups["week"],
            "model": counts_by(slices.tools, "model"),
        },
    )
