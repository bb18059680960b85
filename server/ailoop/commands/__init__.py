"""The ``ailoop`` subcommands, one module each.

Each module has ``register(subparsers)``, which adds its parser and sets ``func`` to a
function taking the parsed arguments and returning the exit code. Modules import their
heavy dependencies inside that function, so ``ailoop serve`` starts fast.

The helpers here are what every subcommand's parser shares: help texts in plain text,
and argument types that reject a bad value with one line naming what is expected.
"""

from __future__ import annotations

import argparse
import math
import os
import re
import shlex
import sys
from collections.abc import Callable
from pathlib import Path

#: ``:role:`text``` (Sphinx), ````text```` (reST) and ```text``` (Markdown) in docstrings.
_MARKUP = re.compile(r"(?::[a-z]+:)?``?([^`]+?)``?")


def plain_text(doc: str | None) -> str:
    """Return a docstring as a help text: without reST or Markdown code markup."""
    return _MARKUP.sub(r"\1", doc or "").strip() + "\n"


def whole_number(minimum: int) -> Callable[[str], int]:
    """Return an argument type for a whole number of at least ``minimum``."""
    what = "a positive whole number" if minimum == 1 else f"a whole number of at least {minimum}"

    def parse(text: str) -> int:
        try:
            value = int(text)
        except ValueError:
            value = minimum - 1
        if value < minimum:
            raise argparse.ArgumentTypeError(f"expected {what}, not {text!r}")
        return value

    return parse


def seconds(text: str) -> float:
    """Parse a number of seconds above 0 (an argument type)."""
    try:
        value = float(text)
    except ValueError:
        value = math.nan
    if not 0 < value < math.inf:
        raise argparse.ArgumentTypeError(f"expected a number of seconds above 0, not {text!r}")
    return value


#: ``--since DAYS``: at least one day.
days = whole_number(1)


def add_verbose(parser: argparse.ArgumentParser) -> None:
    """Add ``-v/--verbose``: informational messages on stderr (problems are always shown)."""
    parser.add_argument(
        "-v", "--verbose", action="store_true", help="also say what was decided and why"
    )


def readable_file(path: Path, what: str) -> str | None:
    """Return why ``path`` cannot be read as ``what``, in plain words (None: it can)."""
    if not path.exists():
        return f"{what} {path} does not exist"
    if path.is_dir():
        return f"{what} {path} is a directory, not a file"
    if not os.access(path, os.R_OK):
        return f"{what} {path} cannot be read (permission denied)"
    return None


def ailoop_command() -> str:
    """Return how to run this ``ailoop`` again from a shell, as it was started.

    The console script by its full path when that is what runs (it may be in a virtual
    environment that is not on PATH), else ``python -m ailoop`` with this interpreter.
    """
    script = Path(sys.argv[0]) if sys.argv and sys.argv[0] else None
    if script is not None and script.name == "ailoop" and script.exists():
        return shlex.quote(str(script.resolve()))
    return f"{shlex.quote(sys.executable)} -m ailoop"
