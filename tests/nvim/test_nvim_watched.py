"""In real Neovim: a patterns file written while the editor runs takes effect on the next snippet.

Neovim 0.11 watches files for its servers when the client advertises
``workspace.didChangeWatchedFiles.dynamicRegistration`` (on by default on macOS and
Windows, off on Linux): the server registers its watchers and reloads on Neovim's report.
Whether or not (Neovim 0.7, or 0.11 as it comes on Linux, whose watcher does not look into
``.ailoop/``), the server looks at the files' modification times before it matches the
next snippet.
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from nvim_harness import CLIENT_DIR, NVIM_TIMEOUT_S, Workspace, find_nvim, lsp_log_tail

from ailoop.capture.identity import snippet_id

SCRIPT = Path(__file__).with_name("watched.lua")


def snippet(n: int) -> str:
    """The text watched.lua inserts as snippet ``n``."""
    return (
        f"def handler_{n}(request):\n"
        f'    """Handle request {n}."""\n'
        f"    print(request, {n})\n"
        f"    return {n}\n"
    )


def run_watched(binary: str, ws: Workspace, *, watch: bool) -> dict[str, Any]:
    """Run watched.lua in headless Neovim; return what it saw."""
    result_file = ws.home / "watched.json"
    env = ws.env()
    env.update(
        AILOOP_TEST_CMD=json.dumps([sys.executable, "-m", "ailoop", "serve"]),
        AILOOP_TEST_FILE=str(ws.source),
        AILOOP_TEST_RESULT=str(result_file),
        AILOOP_TEST_PATTERNS=str(ws.root / ".ailoop" / "patterns.toml"),
        AILOOP_TEST_WATCH="1" if watch else "0",
    )
    argv = [binary, "--headless", "-u", "NONE", "-i", "NONE", "-n"]
    argv += ["--cmd", f"set rtp^={CLIENT_DIR}", "-c", "filetype on", "-c", f"luafile {SCRIPT}"]
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
        pytest.fail(f"Neovim did not finish in {NVIM_TIMEOUT_S}s\n{out}\n{err}")
    result: dict[str, Any] = (
        json.loads(result_file.read_text()) if result_file.exists() else {"ok": False}
    )
    if proc.returncode != 0 or not result.get("ok"):
        pytest.fail(
            f"watched.lua failed in {binary} (exit {proc.returncode}): {result.get('error')}\n"
            f"stdout: {out}\nstderr: {err}\nlsp.log tail:\n{lsp_log_tail(ws)}"
        )
    return result


def generated_findings(ws: Workspace) -> dict[str, set[str]]:
    return {e["snippet"]: set(e["findings"]) for e in ws.events() if e["kind"] == "generated"}


@pytest.mark.parametrize("watch", [True, False], ids=["watching", "not-watching"])
def test_a_patterns_file_written_while_neovim_runs(project: Workspace, watch: bool) -> None:
    binary = find_nvim("0.11")
    (project.root / ".ailoop").mkdir()
    seen = run_watched(binary, project, watch=watch)
    assert seen["before"] == []
    assert seen["after"] == ["pattern:print-call"]
    if watch:
        (registration,) = seen["registrations"]
        assert registration["method"] == "workspace/didChangeWatchedFiles"
        patterns = [w["globPattern"] for w in registration["registerOptions"]["watchers"]]
        assert patterns == [
            {"baseUri": project.root.as_uri(), "pattern": name}
            for name in (".ailoop/patterns.toml", ".ailoop.toml", "pyproject.toml")
        ]
        assert (project.root / ".ailoop.toml").as_uri() in seen["reported"]
    else:
        assert seen["registrations"] == []
        assert seen["reported"] == []
    found = generated_findings(project)
    assert "pattern:print-call" not in found[snippet_id(snippet(1))]
    assert "pattern:print-call" in found[snippet_id(snippet(2))]


def test_a_patterns_file_written_while_neovim_0_7_runs(project: Workspace) -> None:
    """Neovim 0.7 watches nothing: the modification time is looked at before matching."""
    binary = find_nvim("0.7")
    (project.root / ".ailoop").mkdir()
    seen = run_watched(binary, project, watch=False)
    assert (seen["before"], seen["after"]) == ([], ["pattern:print-call"])
