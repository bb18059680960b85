"""The ``ailoop`` command line."""

from __future__ import annotations

import argparse
import importlib
import sys
from collections.abc import Sequence

from ailoop import __version__

#: Subcommand modules under ``ailoop.commands``, in the order ``--help`` lists them.
COMMANDS = (
    "serve",
    "events",
    "replay",
    "check",
    "patterns",
    "stats",
    "context",
    "store",
    "sync",
    "hook",
)


def build_parser() -> argparse.ArgumentParser:
    """Return the parser for every subcommand."""
    parser = argparse.ArgumentParser(
        prog="ailoop",
        description="Close the feedback loop around AI-written code.",
    )
    parser.add_argument("--version", action="version", version=f"ailoop {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND", required=True)
    for name in COMMANDS:
        importlib.import_module(f"ailoop.commands.{name}").register(subparsers)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run the command line; return the exit code."""
    args = build_parser().parse_args(argv)
    try:
        code: int = args.func(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # e.g. `ailoop events | head`
        sys.stderr.close()
        return 0
    return code
