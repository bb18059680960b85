"""Shared test fixtures: a git workspace, a data directory, and ailoop's CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


def require(condition: bool, reason: str) -> None:
    """Skip outside CI, fail in CI, when a component a test needs is missing."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"missing in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """An empty ailoop data directory."""
    path = tmp_path / "data"
    path.mkdir()
    return path


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A git repository with an origin remote, as a developer's checkout."""
    root = tmp_path / "shop"
    root.mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(
        ["git", "-C", str(root), "remote", "add", "origin", "https://example.com/team/shop.git"],
        check=True,
    )
    (root / "shop").mkdir()
    return root


def ailoop(*args: str, data_dir: Path, check: bool = True) -> subprocess.CompletedProcess[str]:
    """Run the real ``ailoop`` command line."""
    env = {**os.environ, "AILOOP_DATA_DIR": str(data_dir)}
    return subprocess.run(
        [sys.executable, "-m", "ailoop", *args],
        capture_output=True,
        text=True,
        env=env,
        check=check,
        timeout=120,
    )


def events(data_dir: Path) -> list[dict[str, Any]]:
    """Return the events ``ailoop events --format jsonl`` prints."""
    out = ailoop("events", "--format", "jsonl", data_dir=data_dir).stdout
    return [json.loads(line) for line in out.splitlines()]
