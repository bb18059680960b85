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

from ailoop.commands import days, whole_number
from ailoop.text import clean


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
    parser.set_defaults(func=run)


def team_numbers(
    args: argparse.Namespace, workspace: Any, now: dt.datetime, since: dt.datetime | None
) -> tuple[Any, Any]:
    """Return the acceptance report and pattern statistics over the shared store."""
    import os

    from ailoop.analytics.acceptance import OutcomeGroup, acceptance_report, iso_week
    from ailoop.patterns.stats import recent_cutoff, stats_from_counts
    from ailoop.settings import load, user_config_path
    from ailoop.store import shared
    from ailoop.store.events import Kind
    from ailoop.store.sync import URL_ENV, resolve_store

    settings, _ = load(args.root.resolve())
    choice = resolve_store(settings.store, settings.stores, "store settings", os.environ)
    for problem in choice.problems:
        print(f"ailoop stats: {clean(problem, 2000)}", file=sys.stderr)
    url, tls = choice.url, choice.options.tls
    if not url:
        raise shared.SharedStoreError(
            f"no shared store configured: set {URL_ENV}, or [store] url (or [stores.<team>] "
            f"url with store.team in the repository) in {user_config_path()}",
            retryable=False,
        )
    groups = [
        OutcomeGroup(tool, language, user, iso_week(day), Kind(kind), count)
        for tool, language, user, day, kind, count in shared.team_outcome_counts(
            url, since=since, repo=args.repo, tls=tls
        )
    ]
    team = shared.team_pattern_stats(url, workspace.settings.recent_days, now=now, tls=tls)
    per_key, overall = shared.buckets_from_days(team.days, recent_cutoff(now, workspace.settings))
    return acceptance_report(groups), stats_from_counts(per_key, overall, workspace.settings)


def pattern_titles(workspace: Any, keys: list[str]) -> dict[str, str]:
    """Return the title of each pattern key: the team's, or the engine rule's real name.

    An engine rule's name comes from the engine ailoop installs (``ruff:E722`` is "bare
    except"), see :func:`ailoop.patterns.context.describe_rule`.
    """
    from ailoop.patterns.context import describe_rule

    titles = {}
    for key in keys:
        if key.startswith("pattern:"):
            pattern = workspace.patterns.get(key)
            title = pattern.title if pattern is not None else None
        else:
            rule = describe_rule(key)
            title = rule.title if rule is not None else None
        if title:
            titles[key] = title
    return titles


def run(args: argparse.Namespace) -> int:
    """Print the tables."""
    from ailoop.analytics.acceptance import acceptance_report
    from ailoop.analytics.local import local_outcome_groups
    from ailoop.analytics.tables import percent, render_table
    from ailoop.patterns.stats import top_patterns
    from ailoop.patterns.workspace import Workspace
    from ailoop.store.local import StoreError
    from ailoop.store.shared import SharedStoreError

    now = dt.datetime.now(dt.timezone.utc)
    since = now - dt.timedelta(days=args.since) if args.since else None
    workspace = Workspace.load(args.root.resolve())
    for problem in workspace.problems:
        print(f"ailoop stats: {clean(problem, 2000)}", file=sys.stderr)
    try:
        if args.team:
            report, pattern_stats = team_numbers(args, workspace, now, since)
        else:
            report = acceptance_report(local_outcome_groups(args.data_dir, since, args.repo))
            pattern_stats = workspace.local_stats(now, args.data_dir, args.repo)
        top = top_patterns(pattern_stats, args.top)
    except (StoreError, SharedStoreError) as exc:  # messages never carry a password
        print(f"ailoop stats: {clean(exc, 2000)}", file=sys.stderr)
        return 1
    titles = pattern_titles(workspace, [s.pattern for s in top])
    if args.format == "json":
        out = {
            "overall": report.overall.to_json(),
            "by": {name: [c.to_json() for c in rows] for name, rows in report.groups.items()},
            "top_patterns": [{**s.to_json(), "title": titles.get(s.pattern, "")} for s in top],
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
        pattern_rows.append(
            [
                s.pattern,
                titles.get(s.pattern, ""),
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
