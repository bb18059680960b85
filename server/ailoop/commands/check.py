"""``ailoop check``: run the team's patterns over files or a diff, for CI and pre-commit.

Exit codes: 0 when no pattern with support was found, 1 when one was, 2 when the
arguments are wrong or the check is incomplete and found nothing with support: an input
could not be read, the patterns file has problems (a pattern that does not load is a
check that does not run; ``--allow-broken`` checks with the patterns that do load), a
regex ran past its deadline (100 ms on one file; it is named on stderr and skipped for
the other files), or a file was too large for the ast-grep patterns (over 1,000,000
characters). A pattern has support when the team's statistics say so (see
``ailoop patterns``), when it is marked ``enforce = true`` in ``.ailoop/patterns.toml``,
or for every pattern with ``--strict``.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any

from ailoop.commands import plain_text, readable_file
from ailoop.text import clean


def register(subparsers: Any) -> None:
    """Add the ``check`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "check",
        help="find known rejection patterns in files or a diff (exit 1 when one has support)",
        description=plain_text(__doc__),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("paths", nargs="*", type=Path, metavar="PATH", help="files or directories")
    parser.add_argument(
        "--diff",
        metavar="FILE",
        help="check only the lines a unified diff adds ('-' reads it from stdin)",
    )
    parser.add_argument(
        "--format", choices=("text", "json", "sarif"), default="text", help="output format"
    )
    parser.add_argument("--output", "-o", type=Path, help="write the report here, not stdout")
    parser.add_argument(
        "--root", type=Path, default=Path(), help="workspace root (default: current directory)"
    )
    parser.add_argument("--data-dir", type=Path, help="data directory (default: AILOOP_DATA_DIR)")
    parser.add_argument(
        "--strict", action="store_true", help="fail on every pattern match, with or without support"
    )
    parser.add_argument(
        "--allow-broken",
        action="store_true",
        help="a patterns file with problems is a warning, not a failed check (exit 2)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Check the inputs and print the report; return the exit code."""
    from ailoop.patterns.check import (
        CheckInputError,
        check_diff,
        check_paths,
        render_json,
        render_sarif,
        render_text,
    )
    from ailoop.patterns.workspace import Workspace
    from ailoop.store.local import StoreError

    if not args.paths and args.diff is None:
        print("ailoop check: give files, directories or --diff", file=sys.stderr)
        return 2
    if args.diff not in (None, "-") and (why := readable_file(Path(args.diff), "the diff")):
        print(f"ailoop check: {clean(why, 2000)}", file=sys.stderr)
        return 2
    root: Path = args.root.resolve()
    if not root.is_dir():
        print(f"ailoop check: the workspace root {root} is not a directory", file=sys.stderr)
        return 2
    workspace = Workspace.load(root)
    for problem in workspace.problems:
        print(f"ailoop check: {clean(problem, 2000)}", file=sys.stderr)
    broken = bool(workspace.pattern_problems) and not args.allow_broken
    try:
        stats = workspace.local_stats(dt.datetime.now(dt.timezone.utc), args.data_dir)
    except StoreError as exc:
        print(f"ailoop check: {clean(exc, 2000)}; checking without statistics", file=sys.stderr)
        stats = {}
    try:
        if args.diff is not None:
            diff_text = (
                sys.stdin.read()
                if args.diff == "-"
                else Path(args.diff).read_text(encoding="utf-8", errors="replace")
            )
            report = check_diff(diff_text, workspace, stats, strict=args.strict)
        else:
            report = check_paths(args.paths, workspace, stats, strict=args.strict)
    except (CheckInputError, OSError) as exc:
        print(f"ailoop check: {clean(exc, 2000)}", file=sys.stderr)
        return 2
    for problem in report.problems:
        print(f"ailoop check: {clean(problem, 2000)}", file=sys.stderr)
    if args.format == "json":
        output = json.dumps(render_json(report), indent=2, ensure_ascii=False) + "\n"
    elif args.format == "sarif":
        output = json.dumps(render_sarif(report), indent=2, ensure_ascii=False) + "\n"
    else:  # file names and messages come from the repository: no terminal escapes
        output = "".join(
            clean(line, max(len(line), 1)) + "\n" for line in render_text(report).splitlines()
        )
    if args.output:
        try:
            args.output.write_text(output, encoding="utf-8")
        except OSError as exc:
            why = exc.strerror or str(exc)
            print(f"ailoop check: cannot write the report to {args.output}: {why}", file=sys.stderr)
            return 2
    else:
        sys.stdout.write(output)
    if any(f.supported for f in report.findings):
        return 1
    if broken:
        print(
            f"ailoop check: {workspace.root / '.ailoop' / 'patterns.toml'} has problems (above), "
            "so the check is incomplete; fix them, or pass --allow-broken to check with the "
            "patterns that load",
            file=sys.stderr,
        )
        return 2
    return 2 if report.problems else 0
