"""The ``ailoop`` command line."""

from __future__ import annotations

import importlib
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING, Any

from ailoop import __version__

if TYPE_CHECKING:
    import argparse

#: Subcommand modules under ``ailoop.commands``, in the order ``--help`` lists them.
COMMANDS = (
    "serve",
    "events",
    "replay",
    "check",
    "patterns",
    "stats",
    "report",
    "context",
    "store",
    "sync",
    "trust",
    "review",
    "hook",
    "mcp",
    "export",
    "import_",
)


def build_parser() -> argparse.ArgumentParser:
    """Return the parser for every subcommand."""
    import argparse

    class CommandParser(argparse.ArgumentParser):
        """A parser that remembers itself as the command parsed (subcommands included)."""

        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self.set_defaults(command_parser=self)

    parser = CommandParser(
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
    arguments = list(sys.argv[1:] if argv is None else argv)
    if arguments[:1] == ["hook"]:
        from ailoop.hooks.entry import is_hook_call
        from ailoop.hooks.entry import main as hook_main

        if is_hook_call(arguments[1:]):
            return hook_main(arguments[1:])  # on every agent edit: no parsers to build
    args, unknown = build_parser().parse_known_args(arguments)
    if unknown:  # with the usage of the command they were given to, not the top level's
        args.command_parser.error(f"unrecognized arguments: {' '.join(unknown)}")
    try:
        code: int = args.func(args)
    except KeyboardInterrupt:
        return 130
    except BrokenPipeError:  # e.g. `ailoop events | head`
        sys.stderr.close()
        return 0
    return code
