"""ailoop in real Emacs with eglot (Debian's ``emacs-nox`` + ``elpa-eglot``), in batch mode.

The configuration is the Emacs Lisp block of docs/emacs.md, loaded as a user's init file,
so the docs cannot drift. Emacs opens a Python file in a git repository, eglot connects
to the real ``ailoop serve`` (this checkout, as the ``ailoop`` command on PATH), a snippet
is inserted in one change as an AI tool's insertion reaches the server from eglot, flymake
shows ailoop's marker and ruff's finding, Reject is picked in ``eglot-code-actions``, and
the store has the ``rejected`` event.

``scripts/setup-emacs.sh`` installs Emacs and eglot. When ``CI=true`` a missing Emacs (or
eglot) fails the test; elsewhere it is skipped with the reason.
"""

from __future__ import annotations

import json
import os
import re
import signal
import subprocess
import sys
from pathlib import Path
from typing import Any, NoReturn

import pytest

from ailoop.capture.identity import snippet_id

pytestmark = pytest.mark.editors

REPO = Path(__file__).resolve().parents[2]
DRIVER = Path(__file__).with_name("eglot_driver.el")
DOC = REPO / "docs" / "emacs.md"
BLOCK = re.compile(r"<!-- test: (?P<name>[\w-]+) -->\s*```emacs-lisp\n(?P<code>.*?)```", re.S)
EMACS_TIMEOUT_S = 120
SNIPPET = (
    "def parse_port(value):\n"
    "    try:\n"
    "        return int(value)\n"
    "    except:\n"
    "        return 8080\n"
)
COMPLETION = "PORT = parse_port('80')\n"  # one line: a snippet only because it is reported


def missing(reason: str) -> NoReturn:
    """Emacs or eglot is missing: fail in CI (``CI`` set), skip elsewhere."""
    if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
        pytest.fail(f"missing in CI: {reason}")
    pytest.skip(reason)


def find_emacs() -> str:
    """The Emacs with eglot the test runs (AILOOP_EMACS, default /usr/bin/emacs)."""
    binary = os.environ.get("AILOOP_EMACS") or "/usr/bin/emacs"
    hint = "run scripts/setup-emacs.sh (Debian packages emacs-nox, elpa-eglot) or set AILOOP_EMACS"
    try:
        probe = subprocess.run(
            [binary, "--batch", "--eval", "(progn (require 'eglot) (princ emacs-version))"],
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as exc:
        missing(f"Emacs not found at {binary} ({exc}); {hint}")
    if probe.returncode != 0:
        missing(f"Emacs at {binary} cannot load eglot: {probe.stderr.strip()[-300:]}; {hint}")
    return binary


def doc_blocks() -> dict[str, str]:
    """The marked Emacs Lisp blocks of docs/emacs.md (``config``, ``helper``): a user's init."""
    text = DOC.read_text()
    blocks = {m["name"]: m["code"] for m in BLOCK.finditer(text)}
    assert text.count("```emacs-lisp") == len(blocks), (
        "an emacs-lisp block in docs/emacs.md has no test marker"
    )
    assert set(blocks) == {"config", "helper"}, sorted(blocks)
    return blocks


def processes_with_env(name: str, value: str) -> list[int]:
    """PIDs of processes whose environment has ``name=value`` (Linux /proc)."""
    wanted = f"{name}={value}".encode()
    found = []
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit() or int(entry.name) == os.getpid():
            continue
        try:
            if wanted in (entry / "environ").read_bytes().split(b"\0"):
                found.append(int(entry.name))
        except OSError:
            continue
    return found


@pytest.fixture
def project(tmp_path: Path) -> dict[str, Path]:
    """A git repository with one Python file; an isolated home, data dir and ``ailoop`` command."""
    root = tmp_path / "project"
    root.mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True, timeout=30)
    (root / "pyproject.toml").write_text('[project]\nname = "demo"\nversion = "0"\n')
    source = root / "sample.py"
    source.write_text('"""A module the test edits."""\n\n\ndef answer():\n    return 42\n')
    home = tmp_path / "home"
    bin_dir = home / "bin"
    bin_dir.mkdir(parents=True)
    shim = bin_dir / "ailoop"  # stands for the installed console script: this checkout's server
    shim.write_text(f'#!/bin/sh\nexec "{sys.executable}" -m ailoop "$@"\n')
    shim.chmod(0o755)
    config = home / "init-ailoop.el"
    blocks = doc_blocks()
    config.write_text(blocks["config"] + "\n" + blocks["helper"])
    return {
        "root": root,
        "source": source,
        "home": home,
        "bin": bin_dir,
        "data": tmp_path / "data",
        "config": config,
    }


def environment(project: dict[str, Path]) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith(("XDG_", "EMACS"))}
    env.update(
        HOME=str(project["home"]),
        AILOOP_DATA_DIR=str(project["data"]),
        PATH=os.pathsep.join([str(project["bin"]), env.get("PATH", "")]),
        PYTHONPATH=os.pathsep.join(
            [str(REPO / "server"), *filter(None, [os.environ.get("PYTHONPATH")])]
        ),
    )
    return env


def events(project: dict[str, Path]) -> list[dict[str, Any]]:
    out = subprocess.run(
        [sys.executable, "-m", "ailoop", "events", "--format", "jsonl"],
        env=environment(project),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    return [json.loads(line) for line in out.splitlines() if line.strip()]


def run_emacs(project: dict[str, Path]) -> dict[str, Any]:
    """Run the driver in batch Emacs; return its JSON result (fail with Emacs's output)."""
    binary = find_emacs()
    result_file = project["home"] / "result.json"
    env = environment(project)
    env.update(
        AILOOP_TEST_CONFIG=str(project["config"]),
        AILOOP_TEST_FILE=str(project["source"]),
        AILOOP_TEST_SNIPPET=SNIPPET,
        AILOOP_TEST_COMPLETION=COMPLETION,
        AILOOP_TEST_RESULT=str(result_file),
    )
    proc = subprocess.Popen(
        [binary, "--batch", "-l", str(DRIVER)],
        cwd=project["root"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    try:
        out, err = proc.communicate(timeout=EMACS_TIMEOUT_S)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        out, err = proc.communicate()
        pytest.fail(f"Emacs did not finish in {EMACS_TIMEOUT_S}s\n{out}\n{err}")
    result: dict[str, Any] = (
        json.loads(result_file.read_text()) if result_file.exists() else {"ok": False}
    )
    if proc.returncode != 0 or result.get("ok") is not True:
        pytest.fail(
            f"Emacs failed (exit {proc.returncode}): {result.get('error')}\n"
            f"result: {result}\nstdout: {out}\nstderr: {err[-6000:]}"
        )
    return result


def test_reject_through_eglot_code_actions(project: dict[str, Path]) -> None:
    """Marker and ruff's finding in flymake; Reject from eglot-code-actions is stored.

    Then a one-line completion announced with the docs' ``my/ailoop-generated`` is tracked
    as Copilot's.
    """
    seen = run_emacs(project)

    assert seen["major_mode"] == "python-mode"
    assert seen["server_command"] == ["ailoop", "serve"]
    assert Path(seen["project_root"]) == project["root"]
    assert seen["flymake"] is True
    codes = {d["code"] for d in seen["diagnostics"]}
    assert {"ai-snippet", "ruff:E722"} <= codes, seen["diagnostics"]
    [marker] = [d for d in seen["diagnostics"] if d["code"] == "ai-snippet"]
    assert marker["line"] == seen["first_line"]
    offered = seen["offered"]
    assert offered[0].startswith("Reject AI snippet"), offered
    assert offered[-1].startswith("Accept AI snippet"), offered
    assert not [d for d in seen["diagnostics_after"] if d["code"] == "ai-snippet"]
    assert seen["completion_line"] == seen["first_line"] + SNIPPET.count("\n")

    recorded = events(project)
    snippet = snippet_id(SNIPPET)
    generated = [e for e in recorded if e["kind"] == "generated"]
    rejected = [e for e in recorded if e["kind"] == "rejected"]
    assert [(e["snippet"], e["source"], e["tool"], e["path"]) for e in generated] == [
        (snippet, "heuristic", "unknown", "sample.py"),
        (snippet_id(COMPLETION), "client", "copilot", "sample.py"),
    ]
    assert [(e["snippet"], e["path"]) for e in rejected] == [(snippet, "sample.py")]
    assert "ruff:E722" in rejected[0]["findings"], rejected[0]
    assert not rejected[0].get("reason")


@pytest.fixture(autouse=True)
def no_server_left(project: dict[str, Path]) -> Any:
    """Fail the test if a server outlives Emacs (eglot shuts it down when Emacs exits)."""
    yield
    left = processes_with_env("AILOOP_DATA_DIR", str(project["data"]))
    deadline_checks = 100
    while left and deadline_checks:
        deadline_checks -= 1
        subprocess.run(["sleep", "0.05"], check=False)
        left = processes_with_env("AILOOP_DATA_DIR", str(project["data"]))
    for pid in left:
        os.kill(pid, signal.SIGTERM)
    assert not left, f"server processes left running after Emacs exited: {left}"
