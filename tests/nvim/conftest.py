"""Fixtures for the Neovim end-to-end tests: each Neovim version, a project."""

from __future__ import annotations

import os
import signal
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest
from nvim_harness import NEOVIMS, Workspace, find_nvim, leftover_servers


@pytest.fixture(params=sorted(NEOVIMS), ids=lambda label: f"nvim-{label}")
def nvim(request: pytest.FixtureRequest) -> str:
    """Each Neovim version in turn."""
    return find_nvim(request.param)


@pytest.fixture
def project(tmp_path: Path) -> Iterator[Workspace]:
    """A git repository with a Python project of one file; fails the test if a server process outlives it."""
    root = tmp_path / "project"
    root.mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True, timeout=30)
    (root / "pyproject.toml").write_text('[project]\nname = "demo"\nversion = "0"\n')
    source = root / "sample.py"
    source.write_text('"""A module the tests edit."""\n\n\ndef answer():\n    return 42\n')
    ws = Workspace(root=root, source=source, data_dir=tmp_path / "data", home=tmp_path / "home")
    yield ws
    left = leftover_servers(str(ws.data_dir))
    for pid in left:
        os.kill(pid, signal.SIGTERM)
    assert not left, f"server processes left running after Neovim exited: {left}"
