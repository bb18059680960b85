"""Shared helpers of the report tests: running the CLI, filling a store."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = REPO_ROOT / "test-artifacts" / "report"


def cli_env(data_dir: Path) -> dict[str, str]:
    """The environment for ``ailoop`` on the store in ``data_dir`` (no shared store)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AILOOP_")}
    env["AILOOP_DATA_DIR"] = str(data_dir)
    env["AILOOP_CONFIG_DIR"] = str(data_dir / "config")
    env["PYTHONPATH"] = os.pathsep.join([str(REPO_ROOT / "server"), env.get("PYTHONPATH", "")])
    return env


def ailoop(data_dir: Path, *args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    """Run ``python -m ailoop ARGS`` on the store in ``data_dir``; fail on a non-zero exit."""
    result = subprocess.run(
        [sys.executable, "-m", "ailoop", *args],
        cwd=cwd,
        env=cli_env(data_dir),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    return result


def stats_json(data_dir: Path, cwd: Path) -> dict[str, Any]:
    """``ailoop stats --format json`` of the store."""
    out: dict[str, Any] = json.loads(ailoop(data_dir, "stats", "--format", "json", cwd=cwd).stdout)
    return out
