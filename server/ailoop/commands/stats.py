"""``ailoop stats``: acceptance rates and the top rejection patterns, as terminal tables.

Acceptance rate of AI snippets by tool, language, user, ISO week and model (where the
tool said which model wrote a snippet), the numbers per stage (editor, review, merged),
and on a terminal small trend rows (``--charts``); ``--format json`` gives the same
numbers for scripts.
"""

from __future__ import annotations

import argparse
import json
import shutil
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ailoop.commands import days, whole_number
from ailoop.text import clean

if TYPE_CHECKING:
    from ailoop.analytics.numbers import Numbers


def register(subparsers: Any) -> None:
    """Add the ``stats`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "stats", help="acceptance rates by tool, language, user and week; top patterns"
    )
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.add_argument("--since", type=days, metavar="DAYS", help="only the last DAYS days")
    parser.add_argument("--repo", help="only events of this repository")
    parser.add_argument(
        "--top", type=whole_number(1), default=10, help="how many patterns to list (10)"
    )
    parser.add_argument(
        "--root", type=Path, default=Path(), help="workspace root (default: current directory)"
    )
    parser.add_argument("--data-dir", type=Path, help="data directory (default: AILOOP_DATA_DIR)")
    parser.add_argument(
        "--team",
        action="store_true",
        help="the team's numbers from the shared store (AILOOP_STORE_URL or [tool.ailoop.store] url)",
    )
    parser.add_argument(
        "--charts",
        action=argparse.BooleanOptionalAction,
        default=None,
        help="trend rows per tool and pattern (default: on a terminal only; never with JSON)",
    )
    parser.set_defaults(func=run)


def collect_numbers(args: argparse.Namespace, command: str) -> Numbers | None:
    """Return the statistics ``args`` ask for (``stats`` and ``report`` take the same options).

    The workspace's problems are printed; a store that cannot be read is said and gives
    ``None``.
    """
    from ailoop.analytics.numbers import collect
    from ailoop.store.local import StoreError
    from ailoop.store.shared import SharedStoreError

    try:
        numbers, problems = collect(
            args.root,
            data_dir=args.data_dir,
            team=args.team,
            since_days=args.since,
            repo=args.repo,
            top=args.top,
        )
    except (StoreError, SharedStoreError) as exc:  # messages never carry a password
        print(f"ailoop {command}: {clean(exc, 2000)}", file=sys.stderr)
        return None
    for problem in problems:
        print(f"ailoop {command}: {clean(problem, 2000)}", file=sys.stderr)
    return numbers


def run(args: argparse.Namespace) -> int:
    """Print the tables (and the trend charts on a terminal)."""
    numbers = collect_numbers(args, "stats")
    if numbers is None:
        return 1
    if args.format == "json":
        sys.stdout.write(json.dumps(numbers.stats_json(), indent=2, ensure_ascii=False) + "\n")
        return 0
    charts = args.charts if args.charts is not None else sys.stdout.isatty()
    sys.stdout.write(render_tables(numbers, charts))
    return 0


def render_tables(numbers: Any, charts: bool = False, width: int | None = None) -> str:
    """Return the terminal output of ``ailoop stats`` (with the trend charts when ``charts``)."""
    from ailoop.analytics.tables import percent, render_table

    report, top, titles = numbers.report, numbers.top, numbers.titles
    headers = ["outcomes", "accepted", "kept", "rejected", "reverted", "acceptance"]
    overall = report.overall
    out = [
        f"AI snippets with an outcome: {overall.outcomes}, "
        f"acceptance rate {percent(overall.rate)}\n\n"
    ]
    if charts:
        from ailoop.analytics.termcharts import render

        out.append(render(numbers, width or shutil.get_terminal_size().columns))
    for name, rows in report.groups.items():
        if name == "model" and not rows:  # no tool said which model wrote its snippets
            continue
        table = [
            [c.group, c.outcomes, c.accepted, c.kept, c.rejected, c.reverted, percent(c.rate)]
            for c in rows
        ]
        out.append(render_table([name, *headers], table, title=f"By {name}") + "\n")
    pattern_rows = [
        [
            s.pattern,
            titles.get(s.pattern, ""),
            s.rejected,
            s.rejected_recent,
            s.accepted,
            round(s.score, 2),
            round(s.lift, 2),
        ]
        for s in top
    ]
    out.append(
        render_table(
            ["pattern", "title", "rejected", "recent", "accepted", "score", "lift"],
            pattern_rows,
            title="Top rejection patterns",
        )
    )
    out.append("\n" + stage_table(numbers.stages))
    return "".join(out)


def stage_table(stages: Any) -> str:
    """Return the per-stage numbers, each over its own denominator."""
    from ailoop.analytics.tables import percent, render_table

    editor, review, merged = stages.editor, stages.review, stages.merged
    rows = [
        [
            "editor",
            f"accepted {editor.accepted}, kept {editor.kept}, rejected {editor.rejected}, "
            f"reverted {editor.reverted}",
            f"{editor.outcomes} outcomes",
            percent(editor.rate),
            f"{editor.lines_outcomes} lines: {percent(editor.lines_rate)}",
        ],
        [
            "review",
            f"approved {review.approved}, changes requested {review.changes_requested}, "
            f"commented {review.commented}, rejected {review.closed}",
            f"{review.verdicts} verdicts",
            percent(review.rate),
            f"{review.pr_level} at PR level",
        ],
        [
            "merged",
            f"merged {merged.merged}, reverted after {merged.reverted}",
            f"{merged.generated} generated",
            percent(merged.rate),
            "",
        ],
    ]
    return render_table(
        ["stage", "counts", "denominator", "rate", "by lines / other"],
        rows,
        title="By stage (editor: accepted or kept; review: approved; merged: landing rate)",
    )
