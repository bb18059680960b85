"""Fixtures for the feedback tests."""

from __future__ import annotations

from pathlib import Path

import pytest

from .support import Recorder


@pytest.fixture
def recorder() -> Recorder:
    return Recorder()


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A project with its own ruff configuration (pyflakes and pycodestyle only)."""
    (tmp_path / "pyproject.toml").write_text(
        '[project]\nname = "sample"\nversion = "0"\n\n'
        '[tool.ruff.lint]\nselect = ["F", "E"]\nignore = ["F841"]\n',
        encoding="utf-8",
    )
    return tmp_path
