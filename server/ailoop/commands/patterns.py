"""``ailoop patterns``: the patterns with their numbers, and recurring rejection reasons.

``ailoop patterns promote REASON --id ID --regex RE`` (or ``--ast-grep PATTERN``) turns a
recurring free-text reason into a team pattern in ``.ailoop/patterns.toml``; earlier
rejections with that reason then count for the new pattern.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

from ailoop.commands import ailoop_command, plain_text, whole_number
from ailoop.text import clean


def _common(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--root", type=Path, default=Path(), help="workspace root (default: current directory)"
    )
    parser.add_argument("--data-dir", type=Path, help="data directory (default: AILOOP_DATA_DIR)")


def register(subparsers: Any) -> None:
    """Add the ``patterns`` subcommand and its ``promote`` action."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "patterns",
        help="list known rejection patterns and recurring rejection reasons",
        description=plain_text(__doc__),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    _common(parser)
    parser.add_argument("--format", choices=("table", "json"), default="table")
    parser.add_argument(
        "--min-count",
        type=whole_number(1),
        default=2,
        help="list reasons given at least this often (2)",
    )
    parser.set_defaults(func=run_list)
    actions = parser.add_subparsers(dest="action", metavar="ACTION")
    promote = actions.add_parser(
        "promote", help="turn a recurring rejection reason into a pattern with a matcher"
    )
    promote.add_argument(
        "reason", help="the reason's text, or its number in the list of ailoop patterns"
    )
    promote.add_argument("--id", required=True, help="pattern id (shown as pattern:<id>)")
    matcher = promote.add_mutually_exclusive_group(required=True)
    matcher.add_argument("--regex", help="a Python regular expression (multi-line mode)")
    matcher.add_argument("--ast-grep", dest="ast_grep", help="an ast-grep pattern")
    promote.add_argument(
        "--language",
        action="append",
        default=[],
        help="language the pattern applies to (repeatable; required with --ast-grep)",
    )
    promote.add_argument("--title", help="short title (default: the reason)")
    promote.add_argument("--message", help="what the diagnostic says (default: the title)")
    promote.add_argument("--fix", help="one-line fix hint for the learned context")
    promote.add_argument("--min-count", type=whole_number(1), default=2, help=argparse.SUPPRESS)
    _common(promote)
    promote.set_defaults(func=run_promote)


def _load(args: argparse.Namespace) -> tuple[Any, Any, Any]:
    from ailoop.patterns.aggregate import local_reasons
    from ailoop.patterns.reasons import group_reasons
    from ailoop.patterns.stats import recent_cutoff
    from ailoop.patterns.workspace import Workspace

    workspace = Workspace.load(args.root.resolve())
    for problem in workspace.problems:
        print(f"ailoop patterns: {clean(problem, 2000)}", file=sys.stderr)
    now = dt.datetime.now(dt.timezone.utc)
    stats = workspace.local_stats(now, args.data_dir)
    reasons = group_reasons(
        local_reasons(args.data_dir, recent_cutoff(now, workspace.settings)),
        min_count=max(args.min_count, 1),
    )
    return workspace, stats, reasons


def run_list(args: argparse.Namespace) -> int:
    """Print the patterns with their statistics, then the recurring reasons."""
    from ailoop.analytics.tables import render_table
    from ailoop.patterns.model import display_title
    from ailoop.store.local import StoreError

    try:
        workspace, stats, reasons = _load(args)
    except StoreError as exc:
        print(f"ailoop patterns: {clean(exc, 2000)}", file=sys.stderr)
        return 1
    promoted = workspace.reason_patterns()
    keys = set(stats) | {p.key for p in workspace.patterns.patterns}
    ordered = sorted(
        keys,
        key=lambda k: (
            not (k in stats and stats[k].supported),
            -(stats[k].score if k in stats else 0),
            -(stats[k].rejected if k in stats else 0),
            k,
        ),
    )
    if args.format == "json":
        out = {
            "patterns": [
                {
                    "key": key,
                    "title": _title(workspace, key),
                    "stats": stats[key].to_json() if key in stats else None,
                }
                for key in ordered
            ],
            "reasons": [
                {**group.to_json(), "promoted_to": promoted.get(group.key)} for group in reasons
            ],
        }
        sys.stdout.write(json.dumps(out, indent=2, ensure_ascii=False) + "\n")
        return 0
    rows = []
    for key in ordered:
        s = stats.get(key)
        rows.append(
            [
                key,
                display_title(key, _title(workspace, key)),
                s.rejected if s else 0,
                s.rejected_recent if s else 0,
                s.accepted if s else 0,
                round(s.score, 2) if s else None,
                round(s.lift, 2) if s else None,
                "yes" if s and s.supported else "no",
            ]
        )
    headers = ["pattern", "title", "rejected", "recent", "accepted", "score", "lift", "warns"]
    sys.stdout.write(render_table(headers, rows, title="Patterns"))
    sys.stdout.write("\n")
    reason_rows = [
        [n, g.label, g.count, g.recent, promoted.get(g.key) or "", ", ".join(g.patterns)]
        for n, g in enumerate(reasons, start=1)
    ]
    sys.stdout.write(
        render_table(
            ["#", "reason", "count", "recent", "promoted to", "seen with"],
            reason_rows,
            title="Recurring rejection reasons (promote one: "
            f"{ailoop_command()} patterns promote N --id ID --regex RE)",
        )
    )
    return 0


def _title(workspace: Any, key: str) -> str | None:
    pattern = workspace.patterns.get(key) if key.startswith("pattern:") else None
    return pattern.title if pattern else None


def toml_string(value: str) -> str:
    """Return ``value`` as a TOML basic string."""
    encoded = json.dumps(value, ensure_ascii=False)
    return encoded.replace("\x7f", "\\u007f")


def run_promote(args: argparse.Namespace) -> int:
    """Append a pattern for a recurring reason to ``.ailoop/patterns.toml``."""
    from ailoop.patterns.model import PATTERN_ID
    from ailoop.patterns.patternset import PATTERNS_FILE, PatternSet
    from ailoop.patterns.reasons import normalize_reason
    from ailoop.store.local import StoreError
    from ailoop.workspace_files import WorkspaceFileError, read_text, write_text

    if not PATTERN_ID.fullmatch(args.id):
        print(f"ailoop patterns promote: invalid id {clean(repr(args.id), 120)}", file=sys.stderr)
        return 2
    try:
        workspace, _stats, reasons = _load(args)
    except StoreError as exc:
        print(f"ailoop patterns promote: {clean(exc, 2000)}", file=sys.stderr)
        return 1
    if args.reason.isdigit():
        number = int(args.reason)
        if not 1 <= number <= len(reasons):
            print(
                f"ailoop patterns promote: there is no reason #{number} "
                f"({len(reasons)} recurring reason(s) listed by `ailoop patterns`)",
                file=sys.stderr,
            )
            return 2
        key, label, count = (
            reasons[number - 1].key,
            reasons[number - 1].label,
            reasons[number - 1].count,
        )
    else:
        key = normalize_reason(args.reason)
        group = next((g for g in reasons if g.key == key), None)
        label, count = (group.label, group.count) if group else (args.reason.strip(), 0)
    if not key:
        print("ailoop patterns promote: the reason is empty", file=sys.stderr)
        return 2
    if workspace.patterns.get(args.id) is not None:
        print(f"ailoop patterns promote: pattern {args.id!r} exists already", file=sys.stderr)
        return 2
    title = args.title or label
    lines = ["", "[[pattern]]", f"id = {toml_string(args.id)}", f"title = {toml_string(title)}"]
    lines.append(f"message = {toml_string(args.message or title)}")
    if args.fix:
        lines.append(f"fix = {toml_string(args.fix)}")
    if args.language:
        lines.append("languages = [" + ", ".join(toml_string(x) for x in args.language) + "]")
    if args.regex is not None:
        lines.append(f"regex = {toml_string(args.regex)}")
    else:
        lines.append(f"ast_grep = {toml_string(args.ast_grep)}")
    lines.append(f"reasons = [{toml_string(key)}]")
    block = "\n".join(lines) + "\n"
    path = workspace.root / PATTERNS_FILE
    try:  # a regular file inside the workspace, never through a symbolic link
        existing = read_text(workspace.root, PATTERNS_FILE) or ""
    except WorkspaceFileError as exc:
        print(f"ailoop patterns promote: {clean(exc, 2000)}; nothing written", file=sys.stderr)
        return 1
    if existing and not existing.endswith("\n"):
        existing += "\n"
    candidate = existing + block
    _, problems = PatternSet.from_toml(block, f"{path} (new pattern {args.id!r})")
    if problems:
        for problem in problems:
            print(f"ailoop patterns promote: {clean(problem, 2000)}", file=sys.stderr)
        print("ailoop patterns promote: nothing written", file=sys.stderr)
        return 2
    try:
        write_text(workspace.root, PATTERNS_FILE, candidate)
    except WorkspaceFileError as exc:
        print(f"ailoop patterns promote: {clean(exc, 2000)}", file=sys.stderr)
        return 1
    print(
        f"promoted reason {clean(repr(label), 300)} ({count} rejection(s)) "
        f"to pattern:{args.id} in {path}",
    )
    return 0
