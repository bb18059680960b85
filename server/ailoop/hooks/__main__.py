"""``python -m ailoop.hooks claude-code|cursor``: the hook command without the full CLI.

Agents run the hook on every edit, so this entry point skips building the parser of every
``ailoop`` subcommand; it does what ``ailoop hook claude-code|cursor`` does.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from ailoop.commands.hook import TOOLS, run


def main(argv: list[str] | None = None) -> int:
    """Parse ``TOOL [--data-dir DIR]`` and handle one hook call."""
    parser = argparse.ArgumentParser(prog="python -m ailoop.hooks", description=__doc__)
    parser.add_argument("tool", choices=TOOLS)
    parser.add_argument("--data-dir", type=Path, help="data directory (default: AILOOP_DATA_DIR)")
    args = parser.parse_args(argv)
    return run(argparse.Namespace(tool=args.tool, data_dir=args.data_dir))


raise SystemExit(main(sys.argv[1:]))
