"""``ailoop patterns``: the patterns with their numbers, and recurring rejection reasons.

``ailoop patterns promote REASON --id ID --regex RE`` (or ``--ast-grep PATTERN``) turns a
recurring group of free-text reasons into a team pattern in ``.ailoop/patterns.toml``;
earlier and later rejections whose reason falls in that group then count for it.

``ailoop patterns evaluate [--holdout 0.3]`` learns from the older outcomes of the local
store and measures how the flags it would have shown fare on the newest ones.
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
    evaluate = actions.add_parser(
        "evaluate",
        help="learn from the older outcomes, check the flags on the newest (time split)",
        description=(
            "Train the pattern statistics on the older outcomes of the local store and "
            "report, for the newest --holdout share, how many rejections and how many "
            "acceptances would have been flagged. Uses the local store only (the team "
            "store keeps daily counts per key, not which keys each outcome had)."
        ),
    )
    evaluate.add_argument(
        "--holdout",
        type=share,
        default=0.3,
        help="the newest share of outcomes to hold out, between 0 and 1 (0.3)",
    )
    evaluate.add_argument("--format", choices=("text", "json"), default="text")
    _common(evaluate)
    evaluate.set_defaults(func=run_evaluate)


def share(text: str) -> float:
    """Parse a share strictly between 0 and 1 (an argument type)."""
    try:
        value = float(text)
    except ValueError:
        value = -1.0
    if not 0 < value < 1:
        raise argparse.ArgumentTypeError(
            f"expected a number between 0 and 1 (such as 0.3), not {text!r}"
        )
    return value


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
    from ailoop.patterns.reasons import promoted_key
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
                {**group.to_json(), "promoted_to": promoted_key(group.key, promoted)}
                for group in reasons
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
                odds_ratio_text(s) if s else None,
                "yes" if s and s.supported else "no",
            ]
        )
    headers = [
        "pattern",
        "title",
        "rejected",
        "recent",
        "accepted",
        "score",
        f"odds ratio ({workspace.settings.confidence:.0%})",
        "warns",
    ]
    sys.stdout.write(render_table(headers, rows, title="Patterns"))
    sys.stdout.write("\n")
    reason_rows = [
        [
            n,
            g.label,
            g.count,
            g.recent,
            " · ".join(f'"{clean(e, 60)}"' for e in g.examples),
            promoted_key(g.key, promoted) or "",
            ", ".join(g.patterns),
        ]
        for n, g in enumerate(reasons, start=1)
    ]
    sys.stdout.write(
        render_table(
            ["#", "reason", "count", "recent", "examples", "promoted to", "seen with"],
            reason_rows,
            title="Recurring rejection reasons (promote one: "
            f"{ailoop_command()} patterns promote N --id ID --regex RE)",
        )
    )
    return 0


def ratio_text(point: float, low: float, high: float) -> str:
    """Return ``2.4 (1.3 to 4.4)`` with an en dash: a ratio and its interval, 2 digits."""

    def number(value: float) -> str:
        if value < 1:
            return f"{value:.2f}"
        return f"{value:.1f}" if value < 10 else f"{value:.0f}"

    return f"{number(point)} ({number(low)}\N{EN DASH}{number(high)})"


def odds_ratio_text(stats: Any) -> str:
    """Return a pattern's odds ratio with its interval, or why there is none."""
    if stats.cold_start:
        return "cold start"
    return ratio_text(stats.lift, stats.lift_low, stats.lift_high)


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
    from ailoop.patterns.reasons import best_group, group_reasons
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
    if workspace.patterns.get(args.id) is not None:
        print(f"ailoop patterns promote: pattern {args.id!r} exists already", file=sys.stderr)
        return 2
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
    else:  # the listed group the text falls in, else the text's own label
        found = best_group(args.reason, [g.key for g in reasons])
        group = reasons[found] if found is not None else None
        if group is None:
            alone = group_reasons([(args.reason, False, ())])
            group = alone[0] if alone else None
            count = 0
        else:
            count = group.count
        key, label = (group.key, group.label) if group else ("", "")
    if not key:
        print(
            "ailoop patterns promote: the reason is empty once markup, mentions, commands "
            "and approval words are left out",
            file=sys.stderr,
        )
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


def run_evaluate(args: argparse.Namespace) -> int:
    """Evaluate the learner on the local store's history (a time split)."""
    from ailoop.patterns.aggregate import local_outcomes
    from ailoop.patterns.evaluate import evaluate
    from ailoop.patterns.workspace import Workspace
    from ailoop.store.local import StoreError

    workspace = Workspace.load(args.root.resolve())
    for problem in workspace.problems:
        print(f"ailoop patterns evaluate: {clean(problem, 2000)}", file=sys.stderr)
    try:
        outcomes = local_outcomes(args.data_dir)
    except StoreError as exc:
        print(f"ailoop patterns evaluate: {clean(exc, 2000)}", file=sys.stderr)
        return 1
    result = evaluate(outcomes, workspace.settings, args.holdout, workspace.reason_patterns())
    if args.format == "json":
        sys.stdout.write(json.dumps(result.to_json(), indent=2, ensure_ascii=False) + "\n")
    elif result.problem is None:
        sys.stdout.write(evaluation_text(result, workspace))
    if result.problem is not None:
        print(f"ailoop patterns evaluate: {clean(result.problem, 2000)}", file=sys.stderr)
        return 1
    return 0


def _share_cell(flagged: int, total: int) -> str:
    return f"{flagged}/{total} ({flagged / total:.0%})" if total else "-"


def evaluation_text(result: Any, workspace: Any) -> str:
    """Render an evaluation for the terminal."""
    from ailoop.analytics.tables import render_table
    from ailoop.patterns.model import display_title

    def lift_cell(shares: Any) -> str:
        if shares.lift is None:
            return "-"
        return ratio_text(shares.lift, shares.lift_low, shares.lift_high)

    overall = result.overall
    lines = [
        f"Trained on the {result.training} older outcome(s), as of {result.split}; "
        f"checked on the newest {result.held_out} ({result.holdout:.0%} held out).",
        f"Keys supported in training: {len(result.supported)}. A held-out outcome is "
        "flagged when one of its findings is.",
        "",
        f"Rejections flagged:  {_share_cell(overall.rejected_flagged, overall.rejected)}",
        f"Acceptances flagged: {_share_cell(overall.accepted_flagged, overall.accepted)}",
        f"Lift ({result.confidence:.0%} interval): {lift_cell(overall)}"
        + ("" if overall.lift is None else "  (1 = the flags predict nothing)"),
        "",
    ]
    shown = [k for k in result.keys if k.supported]
    rows = [
        [
            k.key,
            display_title(k.key, _title(workspace, k.key)),
            _share_cell(k.rejected_flagged, k.rejected),
            _share_cell(k.accepted_flagged, k.accepted),
            lift_cell(k),
        ]
        for k in shown
    ]
    lines.append(
        render_table(
            ["pattern", "title", "rejections with it", "acceptances with it", "lift"],
            rows,
            title="Keys supported in training, on the held-out outcomes",
        ).rstrip("\n")
    )
    others = len(result.keys) - len(shown)
    if others:
        lines.append(
            f"({others} other key(s) in the held-out findings, not supported: see --format json)"
        )
    return "\n".join(lines) + "\n"
