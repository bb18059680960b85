"""``ailoop patterns``: the patterns with their numbers, and recurring rejection reasons.

``ailoop patterns promote REASON --id ID --regex RE`` (or ``--ast-grep PATTERN``) turns a
recurring group of free-text reasons into a team pattern in ``.ailoop/patterns.toml``;
earlier and later rejections whose reason falls in that group then count for it.

``ailoop patterns evaluate [--holdout 0.3]`` learns from the older outcomes of the local
store and measures how the flags it would have shown fare on the newest ones.

``ailoop patterns suggest [--holdout 0.3]`` mines candidates from the code of the local
store's AI snippets (called names, imported modules, ruff rules under --select ALL) and
shows those that, learned on the older outcomes, still hold on the newest ones;
``ailoop patterns promote --suggestion call:eval --id eval-call`` writes one as a pattern.
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
        "reason",
        nargs="?",
        help="the reason's text, or its number in the list of ailoop patterns",
    )
    promote.add_argument(
        "--suggestion",
        metavar="KEY",
        help="promote a candidate of ailoop patterns suggest (call:NAME or import:MODULE) "
        "instead of a reason; the matcher is derived from it unless --regex or --ast-grep",
    )
    promote.add_argument("--id", required=True, help="pattern id (shown as pattern:<id>)")
    matcher = promote.add_mutually_exclusive_group()
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
    suggest = actions.add_parser(
        "suggest",
        help="propose patterns mined from the code of the AI snippets (checked on a time split)",
        description=(
            "Mine candidate keys from the code the local store keeps for each AI snippet: "
            "called names (call:NAME), imported modules (import:MODULE) and the rules of "
            "ailoop's own ruff under --select ALL (ruff:CODE). Each is learned on the older "
            "outcomes and shown only when its lift holds on the newest --holdout share. "
            "Promote one with `ailoop patterns promote --suggestion KEY --id ID`."
        ),
    )
    suggest.add_argument(
        "--holdout",
        type=share,
        default=0.3,
        help="the newest share of outcomes to check on, between 0 and 1 (0.3)",
    )
    suggest.add_argument(
        "--limit", type=whole_number(0), default=20, help="show at most N candidates (20)"
    )
    suggest.add_argument("--format", choices=("text", "json"), default="text")
    _common(suggest)
    suggest.set_defaults(func=run_suggest)


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
    """Append a pattern for a recurring reason (or a suggestion) to ``.ailoop/patterns.toml``."""
    from ailoop.patterns.model import PATTERN_ID
    from ailoop.patterns.reasons import best_group, group_reasons
    from ailoop.store.local import StoreError

    if not PATTERN_ID.fullmatch(args.id):
        print(f"ailoop patterns promote: invalid id {clean(repr(args.id), 120)}", file=sys.stderr)
        return 2
    if args.suggestion is not None:
        if args.reason is not None:
            print(
                "ailoop patterns promote: give a REASON or --suggestion KEY, not both",
                file=sys.stderr,
            )
            return 2
        return promote_suggestion(args)
    if args.reason is None:
        print(
            "ailoop patterns promote: give the REASON to promote (its text or its number in "
            "the list of `ailoop patterns`), or --suggestion KEY",
            file=sys.stderr,
        )
        return 2
    if args.regex is None and args.ast_grep is None:
        print(
            "ailoop patterns promote: a reason needs a matcher: --regex RE or --ast-grep PATTERN",
            file=sys.stderr,
        )
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
    lines = _pattern_lines(args, args.title or label, args.language)
    lines.append(f"reasons = [{toml_string(key)}]")
    return _append_pattern(
        workspace,
        args.id,
        lines,
        f"promoted reason {clean(repr(label), 300)} ({count} rejection(s)) to pattern:{args.id}",
    )


def _pattern_lines(args: argparse.Namespace, title: str, languages: list[str]) -> list[str]:
    """Return the ``[[pattern]]`` table of ``args`` (without ``reasons``) as TOML lines."""
    lines = ["", "[[pattern]]", f"id = {toml_string(args.id)}", f"title = {toml_string(title)}"]
    lines.append(f"message = {toml_string(args.message or title)}")
    if args.fix:
        lines.append(f"fix = {toml_string(args.fix)}")
    if languages:
        lines.append("languages = [" + ", ".join(toml_string(x) for x in languages) + "]")
    if args.regex is not None:
        lines.append(f"regex = {toml_string(args.regex)}")
    else:
        lines.append(f"ast_grep = {toml_string(args.ast_grep)}")
    return lines


def _append_pattern(workspace: Any, pattern_id: str, lines: list[str], done: str) -> int:
    """Check the new pattern's table and append it to ``.ailoop/patterns.toml``."""
    from ailoop.patterns.patternset import PATTERNS_FILE, PatternSet
    from ailoop.workspace_files import WorkspaceFileError, read_text, write_text

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
    _, problems = PatternSet.from_toml(block, f"{path} (new pattern {pattern_id!r})")
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
    print(f"{done} in {path}")
    return 0


def promote_suggestion(args: argparse.Namespace) -> int:
    """Write a pattern for a candidate of ``ailoop patterns suggest`` (a ruff rule: advice).

    ``call:NAME`` becomes an ast-grep pattern ``NAME($$$ARGS)``, ``import:MODULE`` a regex
    for its import statements, both for Python; ``--regex`` or ``--ast-grep`` replace the
    derived matcher. A ``ruff:CODE`` rule has no matcher: nothing is written, and the
    command says how to add the rule to ailoop's extra rules for AI code.
    """
    from ailoop.patterns.model import is_valid_key
    from ailoop.patterns.suggest import matcher_for, ruff_rule_advice, ruff_rule_of
    from ailoop.patterns.workspace import Workspace

    key = args.suggestion.strip()
    shown = clean(repr(args.suggestion), 120)
    if not is_valid_key(key):
        print(f"ailoop patterns promote: {shown} is not a pattern key", file=sys.stderr)
        return 2
    code = ruff_rule_of(key)
    if code is not None:
        print(ruff_rule_advice(code))
        print(f"Nothing written to {Path('.ailoop') / 'patterns.toml'}.")
        return 0
    suggested = matcher_for(key)
    if suggested is None and args.regex is None and args.ast_grep is None:
        print(
            f"ailoop patterns promote: no matcher can be derived from {shown} (suggestions are "
            "call:NAME, import:MODULE or ruff:CODE); give --regex or --ast-grep",
            file=sys.stderr,
        )
        return 2
    workspace = Workspace.load(args.root.resolve())
    for problem in workspace.problems:
        print(f"ailoop patterns promote: {clean(problem, 2000)}", file=sys.stderr)
    if workspace.patterns.get(args.id) is not None:
        print(f"ailoop patterns promote: pattern {args.id!r} exists already", file=sys.stderr)
        return 2
    if args.regex is None and args.ast_grep is None and suggested is not None:
        args.regex = suggested.matcher if suggested.kind == "regex" else None
        args.ast_grep = suggested.matcher if suggested.kind == "ast_grep" else None
    title = args.title or (suggested.title if suggested else key)
    lines = _pattern_lines(args, title, args.language or ["python"])
    matcher = f"regex {args.regex}" if args.regex is not None else f"ast-grep {args.ast_grep}"
    status = _append_pattern(
        workspace,
        args.id,
        lines,
        f"promoted suggestion {key} to pattern:{args.id} ({clean(matcher, 300)})",
    )
    if status == 0:
        print(
            f"pattern:{args.id} is matched in AI snippets from now on; its statistics start "
            "with the outcomes recorded from then (the earlier events' findings do not have it)"
        )
    return status


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


def run_suggest(args: argparse.Namespace) -> int:
    """Mine candidate patterns from the AI snippets' code; show those that hold (time split)."""
    from ailoop.feedback.locate import find_executable
    from ailoop.patterns.aggregate import local_outcome_texts
    from ailoop.patterns.suggest import MAX_OUTCOMES, mine, suggest
    from ailoop.patterns.workspace import Workspace
    from ailoop.store.local import StoreError

    workspace = Workspace.load(args.root.resolve())
    for problem in workspace.problems:
        print(f"ailoop patterns suggest: {clean(problem, 2000)}", file=sys.stderr)
    now = dt.datetime.now(dt.timezone.utc)
    try:
        total, outcomes = local_outcome_texts(args.data_dir, MAX_OUTCOMES)
        stats = workspace.local_stats(now, args.data_dir)
    except StoreError as exc:
        print(f"ailoop patterns suggest: {clean(exc, 2000)}", file=sys.stderr)
        return 1
    # ailoop's own ruff (installed with it, else on PATH), never the workspace's.
    ruff = find_executable("ruff", None)
    mined = mine(outcomes, str(ruff) if ruff is not None else None)
    warning = {key for key, s in stats.items() if s.supported}
    result = suggest(total, mined, workspace.settings, args.holdout, args.limit, warning)
    if result.problem is None and mined.outcomes:
        if ruff is None:
            print(
                "ailoop patterns suggest: ruff (installed with ailoop, or on PATH) was not "
                "found: ruff rules are left out; called names and imports are still mined",
                file=sys.stderr,
            )
        elif mined.ruff_problem:
            print(
                f"ailoop patterns suggest: {clean(mined.ruff_problem, 500)}; ruff rules are "
                "left out, called names and imports are still mined",
                file=sys.stderr,
            )
    if args.format == "json":
        sys.stdout.write(json.dumps(result.to_json(), indent=2, ensure_ascii=False) + "\n")
    elif result.problem is None:
        sys.stdout.write(suggestions_text(result))
    if result.problem is not None:
        print(f"ailoop patterns suggest: {clean(result.problem, 2000)}", file=sys.stderr)
        return 1
    return 0


def suggestions_text(result: Any) -> str:
    """Render the suggestions for the terminal: the figures, what they mean, how to promote."""
    from ailoop.analytics.tables import render_table
    from ailoop.patterns.suggest import MIN_HELD_OUT, promote_hint, ruff_rule_of

    mined = result.mined
    skipped = [
        f"{n} {what}"
        for n, what in (
            (mined.without_code, "without code"),
            (mined.not_python, "not Python"),
            (mined.not_parsed, "not parsing"),
            (mined.too_large, "too large"),
        )
        if n
    ]
    newest = "" if mined.read == result.outcomes else f" newest {mined.read} of the"
    ruff = (
        f"rules of ruff --select ALL (ruff:, {clean(mined.ruff, 300)})"
        if mined.ruff and not mined.ruff_problem
        else "no ruff rules (see above)"
    )
    lines = [
        f"Mined the Python code of {len(mined.outcomes)} of the{newest} {result.outcomes} "
        f"outcome(s) ({', '.join(skipped) or 'none left out'}); {mined.snippets} distinct "
        "snippet(s).",
        f"Candidates: called names (call:), imported modules (import:), {ruff}.",
        f"Learned on the {result.training} older outcome(s), as of {result.split}; checked on "
        f"the newest {result.held_out} ({result.holdout:.0%} held out).",
        f"{result.keys_seen} candidate key(s) in the older part; "
        f"{len(result.candidates) + len(result.dropped) + len(result.already_warning)} "
        f"supported there; {len(result.candidates)} shown"
        + (f" ({len(result.already_warning)} already warn)" if result.already_warning else "")
        + ".",
        "",
    ]
    confidence = f"{result.confidence:.0%}"
    rows = []
    for c in result.candidates:
        t, h = c.training, c.held_out
        rows.append(
            [
                clean(c.key, 120),
                f"{t.rejected}/{t.rejected + t.accepted}",
                "cold start" if t.cold_start else ratio_text(t.lift, t.lift_low, t.lift_high),
                _share_cell(h.rejected_flagged, h.rejected),
                _share_cell(h.accepted_flagged, h.accepted),
                ratio_text(h.lift, h.lift_low, h.lift_high) if h.lift is not None else "-",
            ]
        )
    headers = [
        "candidate",
        "older: rejected/with",
        f"odds ratio ({confidence})",
        "newer: rejections with it",
        "acceptances with it",
        f"held-out lift ({confidence})",
    ]
    lines.append(render_table(headers, rows, title="Suggested patterns").rstrip("\n"))
    if not result.candidates:
        lines.append(
            "No candidate holds on the newest outcomes"
            + (
                f" ({len(result.dropped)} supported on the older part do not: "
                "see --format json, `dropped`)."
                if result.dropped
                else "."
            )
        )
    lines += [
        "",
        "How to read it: the odds ratio compares, on the older outcomes, the odds that a "
        "snippet with the candidate was rejected with the odds for the snippets without it "
        "(above 1: rejected more often). The held-out lift is, on the newest outcomes, the "
        "share of rejections that have the candidate over the share of acceptances that have "
        "it (1 = it predicts nothing). Intervals are at the settings' confidence. A candidate "
        "is shown when it is supported on the older part and its held-out interval stays at "
        f"or above 1, with at least {MIN_HELD_OUT} held-out outcomes having it.",
    ]
    keys = [c.key for c in result.candidates]
    example = next((k for k in keys if ruff_rule_of(k) is None), None)
    if example is not None:
        lines.append(f"Promote one as a team pattern: {ailoop_command()} {promote_hint(example)}")
    code = next((c for c in map(ruff_rule_of, keys) if c is not None), None)
    if code is not None:
        lines.append(
            "A ruff rule is not a pattern: add it to the rules ailoop runs on AI code only, "
            f'[tool.ailoop.feedback.ruff] extra_select = ["{code}"] in pyproject.toml.'
        )
    return "\n".join(lines) + "\n"
