"""``ailoop context``: the learned "Known rejection patterns" section.

Prints it, or with ``--write`` puts it between markers into CLAUDE.md, AGENTS.md,
.github/copilot-instructions.md and .cursor/rules/ailoop.mdc (text outside the markers
is never touched; writing twice changes nothing). When the acceptance rate fell after
the section last changed, fewer patterns are shown and then reintroduced one by one;
the history (each change, for `ailoop report`) lives in .ailoop/context-state.json. Only this repository's events count,
every key, title and fix is quoted as a code span, and files reached through a symbolic
link or outside the workspace are not written.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import sys
from pathlib import Path
from typing import Any

from ailoop.commands import add_verbose, plain_text, whole_number


def register(subparsers: Any) -> None:
    """Add the ``context`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "context",
        help="print or write the learned 'Known rejection patterns' section",
        description=plain_text(__doc__),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "action",
        nargs="?",
        choices=["evaluate"],
        help="evaluate: measure each rule's effect in the sessions it was shown vs withheld "
        "(the rule experiment), withdraw the rules that hurt",
    )
    parser.add_argument(
        "--format", choices=["table", "json"], default="table", help="evaluate's output (table)"
    )
    parser.add_argument("--write", action="store_true", help="write it into the AI tools' files")
    parser.add_argument(
        "--limit", type=whole_number(0), default=5, help="most patterns to show (5)"
    )
    parser.add_argument(
        "--repo",
        help="learn from the events of this repository (default: the one at --root; its "
        "origin URL as events record it)",
    )
    parser.add_argument(
        "--min-outcomes",
        type=whole_number(1),
        default=20,
        help="outcomes needed after a change before judging it (20)",
    )
    parser.add_argument(
        "--root", type=Path, default=Path(), help="workspace root (default: current directory)"
    )
    parser.add_argument("--data-dir", type=Path, help="data directory (default: AILOOP_DATA_DIR)")
    add_verbose(parser)
    parser.set_defaults(func=run)


def this_repository(root: Path) -> str:
    """Return the identity events of ``root`` carry in ``repo`` ("" outside a git repository)."""
    from ailoop.workspace import find_repo_root, repo_identity

    repo_root = find_repo_root(root)
    return repo_identity(repo_root) if repo_root is not None else ""


def _without_withdrawn(root: Path, ranked: list[Any]) -> list[Any]:
    """Leave out the rules the rule experiment withdrew (``ailoop context evaluate``)."""
    from ailoop.patterns.experiment import load_withdrawn
    from ailoop.text import clean

    withdrawn, problems = load_withdrawn(root)
    for problem in problems:
        print(f"ailoop context: {clean(problem, 2000)}", file=sys.stderr)
    return [s for s in ranked if s.pattern not in withdrawn]


def run(args: argparse.Namespace) -> int:
    """Render the section; print it or write it and the step-back state."""
    if args.action == "evaluate":
        from ailoop.commands.context_evaluate import run_evaluate

        return run_evaluate(args)
    from ailoop.analytics.local import local_acceptance_rate
    from ailoop.patterns.context import (
        CONTEXT_FILES,
        ContextFileError,
        ContextState,
        context_entries,
        decide_shown,
        load_state,
        render_section,
        save_state,
        write_context_file,
    )
    from ailoop.patterns.stats import iso_utc, top_patterns
    from ailoop.patterns.workspace import Workspace
    from ailoop.store.local import StoreError
    from ailoop.text import clean

    now = dt.datetime.now(dt.timezone.utc)
    root: Path = args.root.resolve()
    workspace = Workspace.load(root)
    for problem in workspace.problems:
        print(f"ailoop context: {clean(problem, 2000)}", file=sys.stderr)
    state, state_problems = load_state(root)
    for problem in state_problems:
        print(f"ailoop context: {clean(problem, 2000)}", file=sys.stderr)
    window_start = iso_utc(now - dt.timedelta(days=workspace.settings.recent_days))
    repo = args.repo if args.repo is not None else this_repository(root)
    try:
        ranked = top_patterns(workspace.local_stats(now, args.data_dir, repo))
        ranked = _without_withdrawn(root, ranked)
        rate_since, outcomes_since = local_acceptance_rate(
            args.data_dir, start=state.changed_at, repo=repo
        )
        rate_before, _ = local_acceptance_rate(args.data_dir, start=window_start, repo=repo)
    except StoreError as exc:
        print(f"ailoop context: {clean(exc, 2000)}", file=sys.stderr)
        return 1
    decision = decide_shown(
        state,
        target=min(max(args.limit, 0), len(ranked)),
        rate_since_change=rate_since,
        outcomes_since_change=outcomes_since if state.changed_at else 0,
        min_outcomes=args.min_outcomes,
    )
    entries = context_entries(ranked, workspace.patterns, decision.shown)
    section = render_section(entries)
    if args.verbose:
        print(f"ailoop context: {decision.reason}", file=sys.stderr)
    if not args.write:
        sys.stdout.write(section)
        return 0
    failed = False
    for name in CONTEXT_FILES:
        try:
            changed = write_context_file(root, name, section)
        except ContextFileError as exc:
            print(f"ailoop context: {clean(exc, 2000)}", file=sys.stderr)
            failed = True
            continue
        print(f"{name}: {'updated' if changed else 'unchanged'}")
    digest = hashlib.sha256(section.encode("utf-8")).hexdigest()
    if digest != state.digest or decision.recovering != state.recovering:
        new_state = ContextState(
            shown=decision.shown,
            digest=digest,
            changed_at=iso_utc(now) if digest != state.digest else state.changed_at,
            rate_before=rate_before if digest != state.digest else state.rate_before,
            recovering=decision.recovering,
            history=(
                state.changed(iso_utc(now), [e.key for e in entries])
                if digest != state.digest
                else state.history
            ),
        )
        try:
            save_state(root, new_state)
        except ContextFileError as exc:
            print(f"ailoop context: {clean(exc, 2000)}", file=sys.stderr)
            failed = True
    return 1 if failed else 0
