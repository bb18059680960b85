"""``ailoop sync``: push the local events to the shared store once and pull team statistics."""

from __future__ import annotations

import argparse
import os
import sys
import time
from pathlib import Path
from typing import Any, TextIO

from ailoop.commands.store import add_url_argument, resolve_url


def register(subparsers: Any) -> None:
    """Add the ``sync`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "sync", help="push local events to the shared store now and pull team statistics"
    )
    add_url_argument(parser)
    parser.add_argument("--data-dir", type=Path, help="data directory (default: AILOOP_DATA_DIR)")
    parser.add_argument(
        "--share-code", action="store_true", help="also send snippet texts (team opt-in)"
    )
    parser.add_argument("--batch-size", type=int, default=500, help="events per statement")
    parser.add_argument("--no-pull", action="store_true", help="do not pull team statistics")
    parser.add_argument(
        "--timeout", type=float, default=15.0, help="seconds to wait for each statement"
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


def run(args: argparse.Namespace) -> int:
    """Sync once; print what happened."""
    from ailoop.store import shared, sync
    from ailoop.store.local import DB_NAME, StoreError, default_data_dir

    url = resolve_url(args)
    if url is None:
        return 2
    if args.batch_size < 1:
        print("ailoop: --batch-size must be at least 1", file=sys.stderr)
        return 2
    options = sync.SyncOptions(
        batch_size=args.batch_size,
        share_code=args.share_code,
        user_hash_key=os.environ.get(sync.USER_HASH_KEY_ENV) or None,
        statement_timeout=args.timeout,
    )
    local_db = (args.data_dir or default_data_dir()) / DB_NAME
    bar = ProgressBar(sys.stderr)
    try:
        report = sync.sync_once(local_db, url, options, bar, pull=not args.no_pull)
    except (shared.SharedStoreError, StoreError) as exc:
        bar.finish()
        print(f"ailoop: {exc}", file=sys.stderr)
        return 1
    bar.finish()
    pulled = "" if args.no_pull else f"; team statistics for {report.rules} rules pulled"
    print(
        f"synced {report.sent} events to {shared.describe_target(url)} "
        f"({report.new} new, {report.skipped} already there){pulled}"
    )
    return 0
