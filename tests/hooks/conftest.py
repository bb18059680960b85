"""Fixtures for the hook tests: a project repository, a data dir, and the real commands."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.hooks.hook_testkit import ORDERS, RunHook, env_for, start_worker, worker_socket


@pytest.fixture
def project(tmp_path: Path) -> Path:
    """A git repository with an origin remote (with credentials), a user and ``shop/orders.py``."""
    root = tmp_path / "shop-repo"
    (root / "shop").mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    git = ["git", "-C", str(root)]
    subprocess.run(
        [*git, "remote", "add", "origin", "https://bot:s3cret@example.com/team/shop.git"],
        check=True,
    )
    subprocess.run([*git, "config", "user.email", "dev@example.com"], check=True)
    (root / "shop" / "orders.py").write_text(ORDERS, encoding="utf-8")
    # ruff reads this project's configuration, not the machine's.
    (root / "ruff.toml").write_text('[lint]\nselect = ["E", "F"]\n', encoding="utf-8")
    return root


@pytest.fixture(params=["process", "worker"])
def run_hook(
    request: pytest.FixtureRequest, data_dir: Path, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[RunHook]:
    """Run ``python -m ailoop hook TOOL`` (or another entry) with ``payload`` on stdin.

    Every test runs twice: with each call in its own process, and with a warm worker
    started beforehand, which then answers the calls (see ailoop.hooks.worker).
    """
    worker_dir = None
    worker = None
    if request.param == "worker":
        worker_dir = tmp_path_factory.mktemp("run")  # short: socket paths have a limit
        worker = start_worker(env_for(data_dir, worker_dir=worker_dir))
        deadline = time.monotonic() + 20
        while worker_socket(worker_dir) is None:
            assert worker.poll() is None, "the hook worker exited at start"
            assert time.monotonic() < deadline, "the hook worker did not start listening"
            time.sleep(0.02)

    def run(
        tool: str,
        payload: dict[str, Any] | bytes,
        cwd: Path,
        *,
        module: tuple[str, ...] = ("ailoop", "hook"),
        data: Path | None = None,
    ) -> subprocess.CompletedProcess[bytes]:
        raw = payload if isinstance(payload, bytes) else json.dumps(payload).encode()
        return subprocess.run(
            [sys.executable, "-m", *module, tool],
            input=raw,
            cwd=cwd,
            env=env_for(data or data_dir, worker_dir=worker_dir),
            capture_output=True,
            timeout=60,
            check=False,
        )

    yield run
    if worker is not None:
        worker.terminate()
        worker.wait(10)
