"""``ailoop import --format agent-trace FILE|DIR``: Agent Trace records into the loop.

Each AI range of each record (``.agent-trace/traces.jsonl`` and the like; a folder is
searched for ``*.jsonl`` and ``*.json``) becomes a ``generated`` event with its tool and
model, its text read from the workspace file at those lines, so the editor and the
statistics follow it like any snippet. Importing the same records again adds nothing. A
bad record is reported with its file and line and skipped; the others are imported.
See docs/agent-trace.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ailoop.commands import plain_text


def register(subparsers: Any) -> None:
    """Add the ``import`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "import",
        help="import Agent Trace records as generated snippets",
        description=plain_text(__doc__),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument("--format", choices=["agent-trace"], required=True, help="agent-trace")
    parser.add_argument("source", type=Path, metavar="FILE|DIR", help="records to import")
    parser.add_argument(
        "--root", type=Path, default=Path(), help="workspace root (default: current directory)"
    )
    parser.add_argument("--data-dir", type=Path, help="data directory (default: AILOOP_DATA_DIR)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Import the records; report each bad one."""
    from ailoop.store.local import LocalStore, StoreError
    from ailoop.text import clean
    from ailoop.trace.agent_trace import RecordError, Workspace, events_from_record, read_records
    from ailoop.workspace import find_repo_root, repo_identity, user_identity

    root: Path = args.root.resolve()
    repo_root = find_repo_root(root)
    workspace = Workspace(
        root=repo_root or root,
        repo=repo_identity(repo_root) if repo_root is not None else "",
        user=user_identity(),
    )
    if not args.source.exists():
        print(f"ailoop import: {args.source}: no such file or folder", file=sys.stderr)
        return 1
    records = bad = skipped = 0
    events = []
    for where, record in read_records(args.source):
        records += 1
        try:
            if isinstance(record, RecordError):
                raise record
            found = events_from_record(record, workspace)
        except RecordError as exc:
            bad += 1
            print(
                f"ailoop import: {clean(where, 300)}: {clean(exc, 500)}; skipped", file=sys.stderr
            )
            continue
        events.extend(found.events)
        for reason in found.skipped:
            skipped += 1
            print(f"ailoop import: {clean(where, 300)}: {clean(reason, 500)}; range skipped",
                  file=sys.stderr)  # fmt: skip
    try:
        store = LocalStore.open(args.data_dir)
        try:
            before = store.count()
            for start in range(0, len(events), 500):
                store.append(events[start : start + 500])
            added = store.count() - before
        finally:
            store.close()
    except StoreError as exc:
        print(f"ailoop import: {clean(exc, 2000)}", file=sys.stderr)
        return 1
    print(
        f"ailoop import: {records} record(s), {added} new snippet event(s)"
        f" ({len(events) - added} already there), {bad} bad record(s), {skipped} range(s) skipped"
    )
    return 1 if bad else 0
