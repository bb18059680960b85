"""``ailoop events``: print the local events, oldest first."""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ailoop.text import clean


def register(subparsers: Any) -> None:
    """Add the ``events`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "events", help="print the local events, oldest first"
    )
    parser.add_argument(
        "--format", choices=("table", "jsonl"), default="table", help="output format"
    )
    parser.add_argument("--data-dir", type=Path, help="data directory (default: AILOOP_DATA_DIR)")
    parser.set_defaults(func=run)


def run(args: argparse.Namespace) -> int:
    """Print the events."""
    from ailoop.store.local import LocalStore, StoreError

    try:
        store = LocalStore.open(args.data_dir)
    except StoreError as exc:
        print(f"ailoop: {exc}", file=sys.stderr)
        return 1
    out = sys.stdout
    try:
        if args.format == "jsonl":
            for event in store.events():
                out.write(json.dumps(event.to_json(), ensure_ascii=False) + "\n")
        else:
            out.write(
                f"{'time':<24} {'kind':<10} {'tool':<12} {'snippet':<14} {'lines':>5}  path\n"
            )
            for event in store.events():
                out.write(
                    f"{clean(event.ts, 40):<24} {event.kind.value:<10} "
                    f"{clean(event.tool, 40):<12} {clean(event.snippet[7:19], 12):<14} "
                    f"{event.lines:>5}  {clean(event.path, 1000)}\n"
                )
    finally:
        store.close()
    return 0
