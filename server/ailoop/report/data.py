"""The report's chart data: plain JSON, made from :class:`ailoop.analytics.numbers.Numbers`.

``ailoop report --format json`` prints it; the HTML report draws its charts from it. The
numbers are those of ``ailoop stats --format json`` (the same ``Numbers``), regrouped per
chart, each with what it counts and its denominators.
"""

from __future__ import annotations

import datetime as dt
from typing import Any

from ailoop.analytics.acceptance import iso_week
from ailoop.analytics.numbers import Numbers
from ailoop.analytics.stages import WeekRow, lines_by, weekly
from ailoop.patterns.context import ContextChange

#: Below this many editor outcomes the report shows no charts, only the counts so far.
MIN_OUTCOMES = 10

#: Weeks counted on each side of a change of the learned context (fewer when another
#: change comes first).
CONTEXT_WEEKS = 4

#: Charts left out when their data does not exist yet (shown as a note on the page).
NOT_RECORDED = {
    "context_changes": (
        "acceptance before and after each change of the learned context: no change "
        "recorded in this workspace yet (`ailoop context --write` records each one in "
        ".ailoop/context-state.json)"
    ),
    "models": (
        "acceptance per model: no tool said which model wrote its snippets (hooks and "
        "Agent Trace imports record it when the agent does), so the charts are per tool"
    ),
}


def _week_start(week: str) -> dt.date | None:
    try:
        return dt.date.fromisocalendar(int(week[:4]), int(week[6:]), 1)
    except ValueError:
        return None


def _window(totals: dict[str, list[int]], weeks: list[str]) -> dict[str, Any]:
    outcomes = accepted = lines_outcomes = lines_accepted = 0
    for week in weeks:
        o, a, lo, la = totals.get(week, (0, 0, 0, 0))
        outcomes, accepted = outcomes + o, accepted + a
        lines_outcomes, lines_accepted = lines_outcomes + lo, lines_accepted + la
    return {
        "weeks": weeks,
        "outcomes": outcomes,
        "accepted": accepted,
        "rate": accepted / outcomes if outcomes else None,
        "lines_outcomes": lines_outcomes,
        "lines_accepted": lines_accepted,
        "lines_rate": lines_accepted / lines_outcomes if lines_outcomes else None,
    }


def context_windows(
    rows: list[WeekRow],
    changes: list[ContextChange],
    now: dt.datetime,
    span: int = CONTEXT_WEEKS,
) -> list[dict[str, Any]]:
    """Return editor acceptance in the weeks before and after each change of the context.

    A change's own ISO week mixes both sides and counts in neither: "before" is up to
    ``span`` whole weeks before it (after the previous change's week), "after" up to
    ``span`` weeks after it (before the next change's week, and up to the current week),
    each summed over every tool, by snippets and by lines.
    """
    current = iso_week(now.isoformat())
    totals: dict[str, list[int]] = {}
    for r in rows:
        t = totals.setdefault(r.week, [0, 0, 0, 0])
        t[0] += r.outcomes
        t[1] += r.accepted
        t[2] += r.lines_outcomes
        t[3] += r.lines_accepted
    weeks = [iso_week(c.at) for c in changes]
    out = []
    for i, change in enumerate(changes):
        start = _week_start(weeks[i])
        if start is None:
            continue
        previous = weeks[i - 1] if i else ""
        following = weeks[i + 1] if i + 1 < len(changes) else "9999"
        before = [iso_week((start - dt.timedelta(weeks=k)).isoformat()) for k in range(span, 0, -1)]
        after = [iso_week((start + dt.timedelta(weeks=k)).isoformat()) for k in range(1, span + 1)]
        out.append(
            {
                "at": change.at,
                "week": weeks[i],
                "rules": list(change.rules),
                "before": _window(totals, [w for w in before if w > previous]),
                "after": _window(totals, [w for w in after if w < following and w <= current]),
            }
        )
    return out


def _rate_rows(numbers: Numbers, by: str) -> list[dict[str, Any]]:
    cut = {
        "tool": numbers.slices.tools,
        "model": numbers.slices.tools,
        "language": numbers.slices.languages,
    }
    lines = lines_by(cut.get(by, numbers.slices.users), by)
    out = []
    for c in numbers.report.groups.get(by, []):
        accepted_lines, total_lines = lines.get(c.group, (0, 0))
        out.append(
            {
                **c.to_json(),
                "lines_accepted": accepted_lines,
                "lines_outcomes": total_lines,
                "lines_rate": accepted_lines / total_lines if total_lines else None,
            }
        )
    return out


def chart_data(numbers: Numbers) -> dict[str, Any]:
    """Return every chart's data, the headline numbers and the notes."""
    overall = numbers.report.overall
    stages = numbers.stages
    weeks = sorted({w for per in numbers.pattern_weeks.values() for w in per})
    patterns = []
    for s in numbers.top:
        per_week = numbers.pattern_weeks.get(s.pattern, {})
        patterns.append(
            {
                "pattern": s.pattern,
                "title": numbers.titles.get(s.pattern, ""),
                "rejected": s.rejected,
                "accepted": s.accepted,
                "rejected_recent": s.rejected_recent,
                "score": s.score,
                "odds_ratio": s.lift,
                "interval": [s.lift_low, s.lift_high],
                "weeks": [
                    {
                        "week": week,
                        "rejected": rejected,
                        "accepted": accepted,
                        "outcomes": rejected + accepted,
                        "rate": rejected / (rejected + accepted),
                    }
                    for week in weeks
                    for rejected, accepted in [per_week.get(week, (0, 0))]
                    if rejected + accepted
                ],
            }
        )
    users = _rate_rows(numbers, "user") if numbers.per_user else []
    by_tool_week = weekly(numbers.groups, "tool")
    by_model_week = [r for r in weekly(numbers.groups, "model") if r.group]
    changes = context_windows(by_tool_week, numbers.context_changes, numbers.now)
    not_recorded = {
        name: note
        for name, note in NOT_RECORDED.items()
        if not (changes if name == "context_changes" else by_model_week)
    }
    return {
        "source": numbers.source,
        "generated_at": numbers.now.isoformat(timespec="seconds"),
        "since_days": numbers.since_days,
        "repo": numbers.repo,
        "events": stages.events,
        "outcomes": overall.outcomes,
        "charts_from": MIN_OUTCOMES,
        "overall": overall.to_json(),
        "stages": stages.to_json(),
        "funnel": [{"step": step, "count": count} for step, count in stages.funnel()],
        "weekly_by_tool": [r.to_json() for r in by_tool_week],
        "weekly_by_model": [r.to_json() for r in by_model_week],
        "by_tool": _rate_rows(numbers, "tool"),
        "by_model": _rate_rows(numbers, "model"),
        "by_language": _rate_rows(numbers, "language"),
        "by_user": users,
        "per_user": numbers.per_user,
        "top_patterns": patterns,
        "context_changes": changes,
        "not_recorded": not_recorded,
    }
