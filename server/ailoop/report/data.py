"""The report's chart data: plain JSON, made from :class:`ailoop.analytics.numbers.Numbers`.

``ailoop report --format json`` prints it; the HTML report draws its charts from it. The
numbers are those of ``ailoop stats --format json`` (the same ``Numbers``), regrouped per
chart, each with what it counts and its denominators.
"""

from __future__ import annotations

from typing import Any

from ailoop.analytics.numbers import Numbers
from ailoop.analytics.stages import lines_by, weekly

#: Below this many editor outcomes the report shows no charts, only the counts so far.
MIN_OUTCOMES = 10

#: Data the store does not have, so the chart is left out (shown as a note on the page).
NOT_RECORDED = {
    "context_changes": (
        "acceptance before and after each change of the learned context: the store does "
        "not record when `ailoop context --write` changed it (only the last change is kept, "
        "in the workspace's .ailoop/context-state.json), so this chart is left out"
    ),
    "models": (
        "acceptance per model: events record the tool, not the model, so the charts are per tool"
    ),
}


def _rate_rows(numbers: Numbers, by: str) -> list[dict[str, Any]]:
    cut = {"tool": numbers.slices.tools, "language": numbers.slices.languages}
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
        "weekly_by_tool": [r.to_json() for r in weekly(numbers.groups, "tool")],
        "by_tool": _rate_rows(numbers, "tool"),
        "by_language": _rate_rows(numbers, "language"),
        "by_user": users,
        "per_user": numbers.per_user,
        "top_patterns": patterns,
        "not_recorded": dict(NOT_RECORDED),
    }
