"""``python -m ailoop.hooks claude-code|cursor [--data-dir DIR]``: the hook, started lean.

Agents run the hook on every edit, so this entry point skips the ``ailoop`` command line
(the parsers of every subcommand, and argparse itself); it does exactly what
``ailoop hook claude-code|cursor`` does. A usage error exits with 1, not 2: to Claude Code,
2 would block the agent on every edit over a mistyped command.
"""

from __future__ import annotations

import sys
from pathlib import Path

from ailoop.hooks.payload import TOOLS

USAGE = "usage: python -m ailoop.hooks {claude-code,cursor} [--data-dir DIR]"


def main(argv: list[str]) -> int:
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


raise SystemExit(main(sys.argv[1:]))
