"""Fixtures for the pattern tests: a workspace with patterns, a data dir, and the CLI."""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path

import pytest
from pattern_testkit import PATTERNS_TOML

SERVER_DIR = Path(__file__).resolve().parents[2] / "server"

RunAiloop = Callable[..., "subprocess.CompletedProcess[str]"]


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    root = tmp_path / "ws"
    (root / ".ailoop").mkdir(parents=True)
    (root / ".ailoop" / "patterns.toml").write_text(PATTERNS_TOML, encoding="utf-8")
    return root


@pytest.fixture
def run_ailoop(data_dir: Path) -> RunAiloop:
    """Run ``python -m ailoop ARGS`` in a subprocess with AILOOP_DATA_DIR set to ``data_dir``."""

    def run(*args: str, cwd: Path, stdin: str | None = None) -> subprocess.CompletedProcess[str]:
        env = dict(os.environ)
        env["AILOOP_DATA_DIR"] = str(data_dir)
        env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SERVER_DIR), env.get("PYTHONPATH")]))
        env.pop("RUST_BACKTRACE", None)
        return subprocess.run(
            [sys.executable, "-m", "ailoop", *args],
            cwd=cwd,
            env=env,
            input=stdin,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )

    return run
