"""``ailoop export --format agent-trace``: the local snippets as Agent Trace records.

One JSON record a line (the Agent Trace 0.1.0 trace record): one per agent session, and
one per repository, tool and UTC day for snippets from no session. Ranges are where each
snippet's text is in the workspace's files now (1-based lines; ``content_hash`` is the
snippet id), ``vcs`` is the workspace's git HEAD, and ailoop's outcomes (accepted,
rejected, kept, reverted, review verdicts, findings) are under ``metadata["dev.ailoop"]``.
See docs/agent-trace.md.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ailoop.commands import plain_text


def register(subparsers: Any) -> None:
    """Add the ``export`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "export",
        help="write the local snippets as Agent Trace records (one a line)",
        description=plain_text(__doc__),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--format", choices=["agent-trace"], required=True, help="agent-trace")
    parser.add_argument("-o", "--output", type=Path, help="write to this file (default: stdout)")
    parser.add_argument(
        "--repo",
        help="export this repository's snippets (default: the one at --root; '' for all)",
    )
    parser.add_argument(
        "--root", type=Path, default=Path(), help="workspace root (default: current directory)"
    )
    parser.add_argument("--data-dir", type=Path, help="data directory (default: AILOOP_DATA_DIR)")
    parser.set_defaults(func=run)


def git_head(root: Path) -> str | None:
    """Return the commit ``HEAD`` names in the git repository at ``root``, or None."""
    import re
    import subprocess

    try:
        done = subprocess.run(
            ["git", "rev-parse", "--verify", "-q", "HEAD"],
            cwd=root,
            capture_output=True,
            text=True,
            timeout=10,
            check=False,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    revision = done.stdout.strip()
    return revision if done.returncode == 0 and re.fullmatch(r"[0-9a-f]{40,64}", revision) else None


def run(args: argparse.Namespace) -> int:
    """Write the records."""
    from ailoop.commands.context import this_repository
    from ailoop.store.local import LocalStore, StoreError
    from ailoop.text import clean
    from ailoop.trace.agent_trace import export_records
    from ailoop.workspace import find_repo_root

    root: Path = args.root.resolve()
    here = this_repository(root)
    repo = args.repo if args.repo is not None else here
    repo_root = find_repo_root(root)
    try:
        store = LocalStore.open(args.data_dir)
        try:
            events = [e for e in store.events() if not repo or e.repo == repo]
        finally:
            store.close()
    except StoreError as exc:
        print(f"ailoop export: {clean(exc, 2000)}", file=sys.stderr)
        return 1
    # ranges only for this workspace's snippets: other repositories' files are not here
    mine = [e for e in events if e.repo == here]
    others = [e for e in events if e.repo != here]
    revision = git_head(repo_root) if repo_root is not None else None
    records = [
        *export_records(mine, repo_root or root, revision=revision, tool_version="unknown"),
        *export_records(others, None, tool_version="unknown"),
    ]
    lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in records)
    if args.output is None:
        sys.stdout.write(lines)
        return 0
    try:
        args.output.write_text(lines, encoding="utf-8")
    except OSError as exc:
        print(f"ailoop export: {args.output}: {exc.strerror or exc}", file=sys.stderr)
        return 1
    print(f"ailoop export: {len(records)} record(s) written to {args.output}", file=sys.stderr)
    return 0
