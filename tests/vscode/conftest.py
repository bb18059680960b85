"""Fixtures for the VS Code end-to-end tests (see vscode_harness for the pieces).

Outside CI a missing editor kit skips these tests; with ``CI=true`` it fails them.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from vscode_harness import ARTIFACTS, CLIENT_DIR, CodeServer, EditorKit, find_kit


@pytest.fixture(scope="session")
def editor_kit() -> EditorKit:
    """The editor kit installed by scripts/setup-vscode.sh."""
    return find_kit()


@pytest.fixture(scope="session")
def vsix(editor_kit: EditorKit) -> Path:
    """The extension packaged by its npm script: type check, then scripts/package.py.

    package.py bundles ailoop and its libraries (bundled/libs) and runs vsce for this
    platform; its cache (outside the clone) makes a rebuild from unchanged inputs a copy.
    """
    started = time.monotonic()
    env = editor_kit.node_env()
    prefix = os.environ.get("AILOOP_EDITORS_PREFIX")
    if prefix and "AILOOP_BUNDLE_CACHE" not in env:
        env["AILOOP_BUNDLE_CACHE"] = str(Path(prefix) / "vscode-bundle")  # as setup-vscode.sh
    proc = subprocess.run(
        ["npm", "run", "package"],
        cwd=CLIENT_DIR,
        env=env,
        capture_output=True,
        text=True,
        timeout=900,
        check=False,
    )
    assert proc.returncode == 0, (
        f"npm run package failed:\n{proc.stdout[-3000:]}\n{proc.stderr[-3000:]}"
    )
    path = CLIENT_DIR / "ailoop.vsix"
    assert path.is_file(), "npm run package did not write ailoop.vsix"
    print(f"packaged {path} in {time.monotonic() - started:.1f}s\n{proc.stdout[-600:]}")
    return path


@pytest.fixture
def artifacts(request: pytest.FixtureRequest) -> Path:
    """A fresh artifact dir for this test under test-artifacts/vscode/."""
    path = ARTIFACTS / str(request.node.name)
    shutil.rmtree(path, ignore_errors=True)
    path.mkdir(parents=True)
    return path


@pytest.fixture
def code_server_factory(
    editor_kit: EditorKit, artifacts: Path
) -> Iterator[Callable[[Path, dict[str, str]], CodeServer]]:
    """Build code-servers for a test; stop them all and keep their logs as artifacts."""
    servers: list[CodeServer] = []

    def make(workspace: Path, env: dict[str, str]) -> CodeServer:
        # a short path: Chromium and code-server put UNIX sockets under TMPDIR (108-byte limit)
        state = Path(tempfile.mkdtemp(prefix="ailoop-cs-"))
        server = CodeServer(editor_kit, state, workspace, env)
        servers.append(server)
        return server

    yield make
    survivors: list[str] = []
    for server in servers:
        survivors += server.stop()
        name = f"code-server-{servers.index(server)}"
        if (server.state / "code-server.log").is_file():
            shutil.copy2(server.state / "code-server.log", artifacts / f"{name}.log")
        logs = server.user_data / "logs"
        if logs.is_dir():
            shutil.copytree(logs, artifacts / f"{name}-logs", dirs_exist_ok=True)
        shutil.rmtree(server.state, ignore_errors=True)
    assert not survivors, f"processes left after stopping code-server: {survivors}"
