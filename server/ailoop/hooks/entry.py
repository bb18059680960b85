"""The hook calls, started lean: ``python -m ailoop.hooks`` and ``ailoop hook <tool>``.

Agents run the hook on every edit, so these entry points skip the ``ailoop`` command line
(the parsers of every subcommand, and argparse itself) and do exactly what
``ailoop hook claude-code|cursor`` does. A usage error exits with 1, not 2: to Claude Code,
2 would block the agent on every edit over a mistyped command.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from ailoop.hooks.payload import TOOLS

USAGE = "usage: python -m ailoop.hooks {claude-code,cursor} [--data-dir DIR]"


def is_hook_call(argv: Sequence[str]) -> bool:
    """Return whether ``argv`` (after ``ailoop hook``) is exactly one hook call."""
    return (
        bool(argv)
        and argv[0] in TOOLS
        and (len(argv) == 1 or (len(argv) == 3 and argv[1] == "--data-dir"))
    )


def main(argv: Sequence[str]) -> int:
    """Check the arguments and handle one hook call; 1 on a usage error."""
    data_dir = None
    if len(argv) == 3 and argv[1] == "--data-dir":
        data_dir = Path(argv[2])
    elif len(argv) != 1:
        sys.stderr.write(USAGE + "\n")
        return 1
    if argv[0] not in TOOLS:
        sys.stderr.write(f"{USAGE}\npython -m ailoop.hooks: unknown tool {argv[0]!r}\n")
        return 1
    from ailoop.hooks.run import main as run_main

    return run_main(argv[0], data_dir)
