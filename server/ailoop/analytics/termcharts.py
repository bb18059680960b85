"""Small trend charts for the terminal: sparklines and bar rows in plain Unicode.

No dependency: eight block characters (``▁▂▃▄▅▆▇█``) draw a rate from 0 to 100 %, a blank
is a week without outcomes. Every row fits ``width`` columns; in a narrow terminal the
trend is shortened (the latest weeks kept), then dropped, leaving the numbers.
"""

from __future__ import annotations

from collections.abc import Sequence

from ailoop.analytics.numbers import Numbers
from ailoop.analytics.stages import weekly
from ailoop.text import clean

BLOCKS = "▁▂▃▄▅▆▇█"
#: Below this many columns for the trend, it is left out.
MIN_TREND = 4


def sparkline(rates: Sequence[float | None]) -> str:
    """Return one block character per rate (0..1); None (no data) is a space."""
    out = []
    for rate in rates:
        if rate is None:
            out.append(" ")
        else:
            out.append(BLOCKS[min(int(max(rate, 0.0) * len(BLOCKS)), len(BLOCKS) - 1)])
    return "".join(out)


def bar(fraction: float, width: int) -> str:
    """Return a horizontal bar of ``fraction`` (0..1) of ``width`` columns, in eighths."""
    eighths = round(max(0.0, min(fraction, 1.0)) * width * 8)
    full, part = divmod(eighths, 8)
    return "█" * full + ("▏▎▍▌▋▊▉"[part - 1] if part else "")


def _fit(text: str, width: int) -> str:
    return text if len(text) <= width else text[: max(width - 1, 0)] + "…"


def _row(label: str, label_width: int, trend: str, numbers: str, width: int) -> str:
    """Lay out one row: the label, the trend when there is room, then the numbers."""
    label = _fit(label, label_width).ljust(label_width)
    line = f"{label}  {trend}  {numbers}" if trend else f"{label}  {numbers}"
    return _fit(line.rstrip(), width)


def acceptance_rows(numbers: Numbers, width: int) -> list[str]:
    """Rows of acceptance per tool per ISO week, by snippets, latest week last."""
    rows = weekly(numbers.groups, "tool")
    weeks = sorted({r.week for r in rows})
    tools = [c.group for c in numbers.report.groups.get("tool", [])]
    if not weeks or not tools:
        return []
    by_key = {(r.week, r.group): r for r in rows}
    label_width = min(max(len(clean(t, 40)) for t in tools), 16, max(width // 3, 4))
    totals = {c.group: c for c in numbers.report.groups["tool"]}
    suffix_width = len("100% of 99999")
    room = width - label_width - suffix_width - 4
    shown = weeks[-room:] if room >= MIN_TREND else []
    title = f"Acceptance per week by tool ({len(shown)} weeks, ▁ 0 % … █ 100 %)"
    out = [_fit(title if shown else "Acceptance by tool", width)]
    for tool in tools:
        trend = sparkline(
            [r.rate if (r := by_key.get((w, tool))) is not None else None for w in shown]
        )
        total = totals[tool]
        rate = "-" if total.rate is None else f"{total.rate:.0%}"
        out.append(_row(clean(tool, 40), label_width, trend, f"{rate} of {total.outcomes}", width))
    return out


def pattern_rows(numbers: Numbers, width: int) -> list[str]:
    """Rows of the top rejection patterns: rejections as a bar, the weekly trend of their rate."""
    if not numbers.top:
        return []
    weeks = sorted({w for per in numbers.pattern_weeks.values() for w in per})
    label_width = min(max(len(clean(s.pattern, 40)) for s in numbers.top), 24, max(width // 3, 4))
    most = max(s.rejected for s in numbers.top) or 1
    suffix_width = len("9999× rejected")
    room = width - label_width - suffix_width - 6
    bar_width = min(max(room // 2, 0), 20)
    trend_width = room - bar_width
    shown = weeks[-trend_width:] if trend_width >= MIN_TREND else []
    if bar_width < MIN_TREND:
        bar_width = 0
    title = "Top rejection patterns" + (
        f" (bar: rejections; trend: rejection rate over {len(shown)} weeks)" if shown else ""
    )
    out = [_fit(title, width)]
    for s in numbers.top:
        per_week = numbers.pattern_weeks.get(s.pattern, {})
        rates: list[float | None] = []
        for week in shown:
            rejected, accepted = per_week.get(week, (0, 0))
            rates.append(rejected / (rejected + accepted) if rejected + accepted else None)
        parts = []
        if bar_width:
            parts.append(bar(s.rejected / most, bar_width).ljust(bar_width))
        if shown:
            parts.append(sparkline(rates))
        out.append(
            _row(
                clean(s.pattern, 40), label_width, " ".join(parts), f"{s.rejected}× rejected", width
            )
        )
    return out


def render(numbers: Numbers, width: int) -> str:
    """Return the chart rows (acceptance per tool, top patterns) for a terminal ``width`` wide."""
    width = max(width, 20)
    blocks = [acceptance_rows(numbers, width), pattern_rows(numbers, width)]
    return "".join("\n".join(rows) + "\n\n" for rows in blocks if rows)
