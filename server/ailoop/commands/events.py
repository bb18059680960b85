"""``ailoop events``: print the local events, oldest first, all or those that match filters."""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ailoop.commands import days
from ailoop.text import clean

if TYPE_CHECKING:
    from ailoop.store.events import Event

#: Kinds of events (``ailoop.store.events.Kind``), spelled out so that ``--help`` stays fast.
KINDS = ("generated", "modified", "accepted", "rejected", "reverted", "kept", "reviewed")
#: How much of a rejection reason the table shows (``--format jsonl`` has all of it).
REASON_WIDTH = 40


@dataclass(frozen=True)
class EventFilter:
    """Which events to print: every condition given must hold."""

    kinds: frozenset[str] = frozenset()
    tool: str | None = None
    #: Events at or after this timestamp (ISO 8601 UTC, as events write it).
    since: str | None = None
    #: A prefix of the snippet id, with or without ``sha256:``.
    snippet: str | None = None

    def __call__(self, event: Event) -> bool:
        """Return whether ``event`` passes the filter."""
        if self.kinds and event.kind.value not in self.kinds:
            return False
        if self.tool is not None and event.tool != self.tool:
            return False
        if self.since is not None and event.ts < self.since:
            return False
        return self.snippet is None or event.snippet.removeprefix("sha256:").startswith(
            self.snippet.removeprefix("sha256:")
        )

    def select(self, events: Iterable[Event]) -> Iterator[Event]:
        """Yield the events that pass."""
        return (event for event in events if self(event))


def register(subparsers: Any) -> None:
    """Add the ``events`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "events",
        help="print the local events, oldest first",
        description="Print the local events, oldest first: every event, or those that match "
        "all the filters given. The table cuts long reasons; --format jsonl prints each event "
        "in full, one JSON object a line.",
    )
    parser.add_argument(
        "--format", choices=("table", "jsonl"), default="table", help="output format"
    )
    parser.add_argument(
        "--kind",
        action="append",
        choices=KINDS,
        default=[],
        help="only events of this kind (repeatable)",
    )
    parser.add_argument("--tool", help="only events from this AI tool (copilot, claude-code, …)")
    parser.add_argument("--since", type=days, metavar="DAYS", help="only the last DAYS days")
    parser.add_argument(
        "--snippet", metavar="ID", help="only events of the snippet whose id starts with ID"
    )
    parser.add_argument("--data-dir", type=Path, help="data directory (default: AILOOP_DATA_DIR)")
    parser.set_defaults(func=run)


def event_filter(args: argparse.Namespace, now: dt.datetime) -> EventFilter:
    """Return the filter the arguments ask for."""
    from ailoop.patterns.stats import iso_utc

    return EventFilter(
        kinds=frozenset(args.kind),
        tool=args.tool,
        since=iso_utc(now - dt.timedelta(days=args.since)) if args.since else None,
        snippet=args.snippet.strip() if args.snippet else None,
    )


def table_row(event: Event) -> str:
    """Return one line of the table (terminal escapes removed, the reason cut)."""
    return (
        f"{clean(event.ts, 40):<24} {event.kind.value:<10} {clean(event.tool, 40):<12} "
        f"{clean(event.snippet[7:19], 12):<14} {event.lines:>5}  "
        f"{clean(event.path, 1000):<24} {clean(event.reason or '', REASON_WIDTH)}"
    ).rstrip() + "\n"


def run(args: argparse.Namespace) -> int:
    """Print the events."""
    from ailoop.store.local import LocalStore, StoreError

    try:
        store = LocalStore.open(args.data_dir)
    except StoreError as exc:
        print(f"ailoop events: {exc}", file=sys.stderr)
        return 1
    chosen = event_filter(args, dt.datetime.now(dt.timezone.utc))
    out = sys.stdout
    try:
        if args.format == "jsonl":
            for event in chosen.select(store.events()):
                out.write(json.dumps(event.to_json(), ensure_ascii=False) + "\n")
        else:
            out.write(
                f"{'time':<24} {'kind':<10} {'tool':<12} {'snippet':<14} {'lines':>5}  "
                f"{'path':<24} reason\n"
            )
            for event in chosen.select(store.events()):
                out.write(table_row(event))
    finally:
        store.close()
    return 0
