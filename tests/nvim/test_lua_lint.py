"""The Lua in client-nvim/ and the Neovim test driver pass luacheck (config: .luacheckrc)."""

from __future__ import annotations

import shutil
import subprocess

import pytest
from nvim_harness import REPO, missing

pytestmark = pytest.mark.editors


def test_luacheck_is_clean() -> None:
    """No warnings: unused variables, undefined globals, shadowing, long lines."""
    luacheck = shutil.which("luacheck")
    if luacheck is None:
        missing("luacheck not found; run scripts/setup-neovim.sh (Debian package lua-check)")
    run = subprocess.run(
        [luacheck, "--no-color", "client-nvim", "tests/nvim"],
        cwd=REPO,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert run.returncode == 0, run.stdout + run.stderr
