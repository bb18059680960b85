"""``ailoop replay FILE``: play a recorded editing session through the real server."""

from __future__ import annotations

import argparse
import asyncio
import shlex
import sys
import tempfile
from pathlib import Path
from typing import Any

from ailoop.commands import ailoop_command, readable_file


def register(subparsers: Any) -> None:
    """Add the ``replay`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "replay",
        help="replay a recorded editing session through the server and show what the editor saw",
    )
    parser.add_argument("session", type=Path, help="JSON-RPC messages an editor sent, one per line")
    parser.add_argument(
        "--data-dir",
        type=Path,
        help="store the events here (default: a new temporary directory, so your own "
        "statistics are not touched)",
    )
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Replay the session, then print the events it recorded."""
    from ailoop.replay import ReplayError, replay, server_command
    from ailoop.store.local import LocalStore
    from ailoop.text import clean

    if why := readable_file(args.session, "the session"):
        print(f"ailoop replay: {clean(why, 2000)}", file=sys.stderr)
        return 2
    data_dir = args.data_dir or Path(tempfile.mkdtemp(prefix="ailoop-replay-"))
    try:
        _, code = asyncio.run(replay(args.session, data_dir, server_command()))
    except ReplayError as exc:
        print(f"ailoop replay: {clean(exc, 2000)}", file=sys.stderr)
        return 1
    store = LocalStore.open(data_dir)
    try:
        events = list(store.events())
    finally:
        store.close()
    print(f"\nEvents recorded ({len(events)}), in {data_dir}:")
    for event in events:
        extra = f"  reason: {clean(event.reason, 300)}" if event.reason else ""
        similarity = "" if event.similarity is None else f"  similarity {event.similarity:.2f}"
        print(  # a recording is outside text: no terminal escapes
            f"  {clean(event.ts, 40)}  {event.kind.value:<9} {clean(event.snippet[:19], 19)}…  "
            f"{clean(event.tool, 40):<8} {clean(event.path, 1000)} ({event.lines} lines)"
            f"{similarity}{extra}"
        )
    again = f"AILOOP_DATA_DIR={shlex.quote(str(data_dir))} {ailoop_command()} events"
    print(f"\nSee them again with: {again}")
    return code
