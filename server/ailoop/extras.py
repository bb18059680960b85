"""What to say when an optional dependency is missing.

ailoop is not on the package index yet, so ``pip install 'ailoop[postgres]'`` would fail:
the hint installs the dependency itself into the environment ailoop runs in, which works
however ailoop was installed (a checkout, a built wheel, a tool environment).
"""

from __future__ import annotations

import shlex
import sys


def install_hint(need: str, requirement: str) -> str:
    """Return ``need`` and the command that installs ``requirement`` for this ailoop."""
    python = shlex.quote(sys.executable or "python3")
    return f"{need}: install it with {python} -m pip install {shlex.quote(requirement)}"
