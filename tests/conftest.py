"""Shared test fixtures: a git workspace, a data directory, and ailoop's CLI."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")

# No process of the test run reads or writes the real user's ailoop config (config.toml,
# trusted workspaces); each test gets its own below, this covers the longer-lived fixtures.
os.environ["AILOOP_CONFIG_DIR"] = tempfile.mkdtemp(prefix="ailoop-config-")


#: Directories whose tests all run a real editor (marked ``editors``).
EDITOR_DIRS = ("emacs", "nvim", "vscode")


@pytest.hookimpl(tryfirst=True)  # before ``-m`` selects by them
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Mark each test by the components it needs, so ``-m`` can leave them out.

    ``postgres``: uses the ``pg_cluster`` fixture; ``node``: the ``node_engines`` fixture (a
    test that runs a Node engine without it is marked itself); ``editors``: under
    tests/emacs, tests/nvim or tests/vscode.
    ``scripts/test --fast`` runs ``-m "not editors and not postgres and not node"``.
    """
    tests = Path(__file__).parent
    for item in items:
        names = getattr(item, "fixturenames", ())
        relative = item.path.relative_to(tests) if item.path.is_relative_to(tests) else None
        if "pg_cluster" in names:
            item.add_marker(pytest.mark.postgres)
        if "node_engines" in names:
            item.add_marker(pytest.mark.node)
        if relative is not None and relative.parts[0] in EDITOR_DIRS:
            item.add_marker(pytest.mark.editors)


def require(condition: bool, reason: str) -> None:
    """Skip outside CI, fail in CI, when a component a test needs is missing."""
    if condition:
        return
    if IN_CI:
        pytest.fail(f"missing in CI: {reason}")
    pytest.skip(reason)


@pytest.fixture(autouse=True)
def config_dir(tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch) -> Path:
    """ailoop's user config directory (its config.toml, the trusted workspaces), per test.

    Every process a test starts inherits it: no test reads or changes the real user's.
    """
    path = tmp_path_factory.mktemp("config")
    monkeypatch.setenv("AILOOP_CONFIG_DIR", str(path))
    return path


@pytest.fixture
def temp_dir(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """The system's temporary directory, for one test: a fresh, shared (1777) one."""
    path = tmp_path / "tmp"
    path.mkdir()
    path.chmod(0o1777)
    monkeypatch.setattr(tempfile, "tempdir", str(path))
    return path


def trust(root: Path) -> None:
    """Trust ``root`` as ``ailoop trust`` would (see :mod:`ailoop.trust`)."""
    from ailoop.settings import read_workspace_files, snake_keys
    from ailoop.trust import TrustStore, split

    files, _ = read_workspace_files(root)
    TrustStore().trust(root, split(snake_keys(files), root).fingerprint)


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


def ailoop(
    *args: str, data_dir: Path, check: bool = True, unset: tuple[str, ...] = ()
) -> subprocess.CompletedProcess[str]:
    """Run the real ``ailoop`` command line, without the environment variables ``unset``."""
    env = {**os.environ, "AILOOP_DATA_DIR": str(data_dir)}
    for name in unset:
        env.pop(name, None)
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
