"""``ailoop stats``: acceptance rates and the top rejection patterns, as terminal tables.

Acceptance rate of AI snippets by tool, language, user and ISO week; ``--format json``
gives the same numbers for scripts.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    """Add the ``stats`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "stats", help="acceptance rates by tool, language, user and week; top patterns"
    )
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.add_argument("--since", type=int, metavar="DAYS", help="only the last DAYS days")
    parser.add_argument("--repo", help="only events of this repository")
    parser.add_argument("--top", type=int, default=10, help="how many patterns to list (10)")
    parser.add_argument(
        "--root", type=Path, default=Path(), help="workspace root (default: current directory)"
    )
    parser.add_argument("--data-dir", type=Path, help="data directory (default: AILOOP_DATA_DIR)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the tables."""
    from ailoop.analytics.acceptance import acceptance_report
    from ailoop.analytics.local import local_outcome_groups
    from ailoop.analytics.tables import percent, render_table
    from ailoop.patterns.stats import top_patterns
    from ailoop.patterns.workspace import Workspace
    from ailoop.store.local import StoreError

    now = dt.datetime.now(dt.timezone.utc)
    since = now - dt.timedelta(days=args.since) if args.since else None
    workspace = Workspace.load(args.root.resolve())
    for problem in workspace.problems:
        print(f"ailoop stats: {problem}", file=sys.stderr)
    try:
        report = acceptance_report(local_outcome_groups(args.data_dir, since, args.repo))
        top = top_patterns(workspace.local_stats(now, args.data_dir), args.top)
    except StoreError as exc:
        print(f"ailoop stats: {exc}", file=sys.stderr)
        return 1
    if args.format == "json":
        out = {
            "overall": report.overall.to_json(),
            "by": {name: [c.to_json() for c in rows] for name, rows in report.groups.items()},
            "top_patterns": [s.to_json() for s in top],
        }
        sys.stdout.write(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
        return 0
    headers = ["outcomes", "accepted", "kept", "rejected", "reverted", "acceptance"]
    overall = report.overall
    sys.stdout.write(
        f"AI snippets with an outcome: {overall.outcomes}, "
        f"acceptance rate {percent(overall.rate)}\n\n"
    )
    for name, rows in report.groups.items():
        table = [
            [c.group, c.outcomes, c.accepted, c.kept, c.rejected, c.reverted, percent(c.rate)]
            for c in rows
        ]
        sys.stdout.write(render_table([name, *headers], table, title=f"By {name}") + "\n")
    pattern_rows = []
    for s in top:
        pattern = workspace.patterns.get(s.pattern) if s.pattern.startswith("pattern:") else None
        pattern_rows.append(
            [
                s.pattern,
                pattern.title if pattern else "",
                s.rejected,
                s.rejected_recent,
                s.accepted,
                round(s.score, 2),
                round(s.lift, 2),
            ]
        )
    sys.stdout.write(
        render_table(
            ["pattern", "title", "rejected", "recent", "accepted", "score", "lift"],
            pattern_rows,
            title="Top rejection patterns",
        )
    )
    return 0
