"""``ailoop sync``: push a repository's events to its shared store once; pull team statistics.

The store is decided as the server decides it for the repository at ``--root`` (the current
directory by default; see :func:`ailoop.commands.store.resolve`), or given with ``--url``.
The repository (and any ``--repo``) is assigned to that store, and every event waiting for
the store is pushed: those of the repositories assigned to it, never others.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from ailoop.commands import seconds, whole_number
from ailoop.commands.store import add_url_argument, resolve


def register(subparsers: Any) -> None:
    """Add the ``sync`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "sync", help="push local events to the shared store now and pull team statistics"
    )
    add_url_argument(parser)
    parser.add_argument("--data-dir", type=Path, help="data directory (default: AILOOP_DATA_DIR)")
    parser.add_argument(
        "--repo",
        action="append",
        default=[],
        metavar="NAME",
        help="also send the events of this repository (its identity, as in the events' "
        "repo field) to the store; may be repeated",
    )
    parser.add_argument(
        "--share-code", action="store_true", help="also send snippet texts (team opt-in)"
    )
    parser.add_argument(
        "--batch-size", type=whole_number(1), default=None, help="events per statement (500)"
    )
    parser.add_argument("--no-pull", action="store_true", help="do not pull team statistics")
    parser.add_argument(
        "--retry-refused",
        action="store_true",
        help="send again the events the store refused before (set aside locally)",
    )
    parser.add_argument(
        "--timeout", type=seconds, default=None, help="seconds to wait for each statement"
    )
    parser.set_defaults(func=run)


def progress_line(done: int, total: int, width: int = 30) -> str:
    """Return a one-line progress bar: ``[#####-----]  500/1000 events``."""
    filled = width if total <= 0 else min(width, done * width // total)
    return f"[{'#' * filled}{'-' * (width - filled)}] {done:>{len(str(total))}}/{total} events"


class ProgressBar:
    """Draws ``progress_line`` on a terminal, at most ten times a second."""

    def __init__(self, out: TextIO) -> None:
        self.out = out
        self.enabled = out.isatty()
        self._last = 0.0

    def __call__(self, done: int, total: int) -> None:
        """Redraw the bar for ``done`` of ``total``."""
        now = time.monotonic()
        if not self.enabled or (now - self._last < 0.1 and done < total):
            return
        self._last = now
        self.out.write("\r" + progress_line(done, total))
        self.out.flush()

    def finish(self) -> None:
        """End the bar's line."""
        if self.enabled and self._last:
            self.out.write("\n")
            self.out.flush()


def repository_of(root: Path) -> str:
    """Return the identity of the git repository ``root`` is in (``""``: none)."""
    from ailoop.workspace import find_repo_root, repo_identity

    found = find_repo_root(root.resolve())
    return repo_identity(found) if found is not None else ""


def run(args: argparse.Namespace) -> int:
    """Sync once; print what happened."""
    import dataclasses

    from ailoop.store import shared, sync
    from ailoop.store.local import DB_NAME, StoreError, default_data_dir

    choice = resolve(args)
    if choice is None:
        return 2
    url = choice.url
    configured = choice.options
    options = dataclasses.replace(
        configured,
        batch_size=args.batch_size or configured.batch_size,
        share_code=args.share_code or configured.share_code,
        user_hash_key=os.environ.get(sync.USER_HASH_KEY_ENV) or configured.user_hash_key,
        statement_timeout=args.timeout or configured.statement_timeout,
    )
    repos = [repository_of(args.root or Path.cwd()), *args.repo]
    local_db = (args.data_dir or default_data_dir()) / DB_NAME
    bar = ProgressBar(sys.stderr)
    try:
        report = sync.sync_once(
            local_db,
            url,
            options,
            bar,
            pull=not args.no_pull,
            repos=[r for r in repos if r],
            retry_refused=args.retry_refused,
        )
    except (shared.SharedStoreError, StoreError) as exc:
        bar.finish()
        print(f"ailoop: {exc}", file=sys.stderr)
        return 1
    bar.finish()
    for message in report.messages:
        print(f"ailoop: {message}", file=sys.stderr)
    pulled = "" if args.no_pull else f"; team statistics for {report.rules} rules pulled"
    refused = f", {report.refused} refused and set aside" if report.refused else ""
    print(
        f"synced {report.sent} events to {shared.describe_target(url)} "
        f"({report.new} new, {report.skipped} already there{refused}){pulled}"
    )
    return 0
