"""Neovim 0.11 with no setup(): ``vim.lsp.enable('ailoop')`` and client-nvim on the runtime path.

The user's init.lua is two lines (the runtime path, ``vim.lsp.enable``); Neovim starts as
a user's does (plugins load, filetype detection on), so ``lsp/ailoop.lua`` is the config
and ``plugin/ailoop.lua`` adds the commands and the LspAttach work. Against the real
``ailoop serve`` (the ``ailoop`` on PATH runs this checkout), in real headless Neovim.
"""

from __future__ import annotations

import shutil
import subprocess
import sys
import tempfile
from pathlib import Path
from typing import Any

import pytest
from nvim_harness import CLIENT_DIR, Workspace, find_nvim, leftover_servers, run_scenario

from ailoop.capture.identity import snippet_id
from tests.conftest import trust
from tests.e2e.test_typescript_lsp import HUMAN, node_engines, react_workspace

__all__ = ["node_engines"]  # a fixture, used by name

pytestmark = pytest.mark.editors

SCRIPT = Path(__file__).with_name("enable.lua")
SNIPPET = "def parse_port(value):\n    try:\n        return int(value)\n    except:\n        return 8080\n"
MARKERS = (".ailoop.toml", "pyproject.toml", "package.json", ".git")


@pytest.fixture
def nvim011() -> str:
    return find_nvim("0.11")


def user_init(ws: Workspace) -> Path:
    """The whole init.lua of the user: the runtime path and vim.lsp.enable, no setup()."""
    init = ws.home / "init.lua"
    init.parent.mkdir(parents=True, exist_ok=True)
    init.write_text(f"vim.opt.runtimepath:prepend({str(CLIENT_DIR)!r})\nvim.lsp.enable('ailoop')\n")
    return init


def run_enable(binary: str, ws: Workspace, scenario: str, **env: str) -> dict[str, Any]:
    result = run_scenario(binary, ws, scenario, script=SCRIPT, init=user_init(ws), **env)
    assert leftover_servers(str(ws.data_dir), grace_s=30) == []
    return result


def test_enable_alone_marks_a_snippet_with_ruffs_finding(nvim011: str, project: Workspace) -> None:
    """A Python file in a git repo: root from the markers, marker, ruff:E722, code lens."""
    seen = run_enable(nvim011, project, "project")

    assert seen["client"]["root_dir"] == str(project.root)
    assert seen["client"]["workspace_folders"] == [str(project.root)]
    codes = {code for d in seen["diagnostics"] for code in d["codes"]}
    assert {"ai-snippet", "ruff:E722"} <= codes, seen["diagnostics"]
    assert seen["lenses"][0].startswith("AI snippet"), seen["lenses"]
    assert seen["commands"] == {"stats": True, "trust": True}
    assert seen["handler"] is True
    # our autocommands are in our own augroup: LspAttach, and the buffer's code lens refresh
    events = {(au["event"], au["buffer"]) for au in seen["autocmds"]}
    assert ("LspAttach", None) in events, seen["autocmds"]
    assert ("BufEnter", seen["bufnr"]) in events, seen["autocmds"]
    assert len(seen["children"]) == 1, seen["children"]
    generated = [e for e in project.events() if e["kind"] == "generated"]
    assert [(e["snippet"], e["path"]) for e in generated] == [(snippet_id(SNIPPET), "sample.py")]


def lone_dir(tmp_path: Path, name: str) -> Path:
    """A directory under no root marker, with one Python file in it."""
    directory = tmp_path / name
    directory.mkdir()
    for parent in [directory, *directory.parents]:
        found = [m for m in MARKERS if (parent / m).exists()]
        if found:
            pytest.fail(f"{parent} has {found}: the temp dir is inside a project")
    (directory / "lone.py").write_text(
        '"""A file in no project."""\n\n\ndef answer():\n    return 42\n'
    )
    return directory


def test_lone_files_share_one_server_in_single_file_mode(nvim011: str, tmp_path: Path) -> None:
    """Two lone files in two directories: one client, no root, no folder, one server."""
    first, second = lone_dir(tmp_path, "one"), lone_dir(tmp_path, "two")
    ws = Workspace(
        root=first,
        source=first / "lone.py",
        data_dir=tmp_path / "data",
        home=tmp_path / "home",
    )
    seen = run_enable(nvim011, ws, "lone", AILOOP_TEST_OTHER=str(second / "lone.py"))

    assert seen["same_client"] is True
    [client] = seen["clients"]
    assert client["root_dir"] is None
    assert client["workspace_folders"] == []
    assert seen["attached"] == {"first": client["id"], "second": client["id"]}
    assert len(seen["children"]) == 1, seen["children"]  # one ailoop serve (ruff, ty under it)
    generated = [e for e in ws.events() if e["kind"] == "generated"]
    assert [e["snippet"] for e in generated] == [snippet_id(SNIPPET)] * 2


def test_setup_serves_lone_files_with_one_client(nvim: str, tmp_path: Path) -> None:
    """setup() on every version: lone files in two directories share one rootless client."""
    first, second = lone_dir(tmp_path, "one"), lone_dir(tmp_path, "two")
    ws = Workspace(
        root=first, source=first / "lone.py", data_dir=tmp_path / "data", home=tmp_path / "home"
    )
    seen = run_scenario(nvim, ws, "lone_setup", AILOOP_TEST_OTHER=str(second / "lone.py"))

    one, two = seen["clients"]
    assert one == two, seen["clients"]
    assert one["root_dir"] is None
    assert seen["running"] == 1
    assert leftover_servers(str(ws.data_dir), grace_s=30) == []


def stats_text(ws: Workspace, columns: int) -> list[str]:
    """What ``ailoop stats --charts`` prints for this store, in the float's width."""
    env = {**ws.env(), "COLUMNS": str(columns)}
    out = subprocess.run(
        [sys.executable, "-m", "ailoop", "stats", "--charts"],
        cwd=ws.root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    return out.rstrip("\n").split("\n")


def test_ailoop_stats_opens_a_float_that_q_closes(nvim011: str, project: Workspace) -> None:
    """:AiloopStats shows `ailoop stats` (one accepted snippet) in a float; q closes it."""
    seen = run_enable(nvim011, project, "stats")

    assert seen["accept_error"] is None
    float_ = seen["float"]
    assert float_["current"] is True
    assert float_["relative"] == "editor"
    assert float_["modifiable"] is False
    lines = float_["lines"]
    assert lines[0].startswith("AI snippets with an outcome: 1, acceptance rate 100"), lines
    assert lines == stats_text(project, max(40, seen["columns"] - 6))
    assert seen["closed"] is True
    assert seen["back_in_editor"] is True


def test_a_tsx_insertion_gets_biome_and_typescript_findings_and_reject_by_rule(
    nvim011: str, tmp_path: Path, node_engines: Path
) -> None:
    """TS/React in Neovim 0.11: Biome's and TypeScript's findings in the snippet, Reject by rule."""
    root = react_workspace(tmp_path / "shop", node_engines)
    trust(root)  # node_modules/.bin is the repository's: it runs in a trusted workspace only
    source = root / "src" / "Total.tsx"
    source.write_text(HUMAN, encoding="utf-8")
    # Biome's daemon listens on a socket under XDG_RUNTIME_DIR (in the home): a path
    # within the 107 bytes a Unix socket's may have
    home = Path(tempfile.mkdtemp(prefix="ailoop-nvim-"))
    try:
        ws = Workspace(root=root, source=source, data_dir=tmp_path / "data", home=home)
        seen = run_enable(nvim011, ws, "tsx")
        events = ws.events()
    finally:
        shutil.rmtree(home, ignore_errors=True)

    assert seen["filetype"] == "typescriptreact"
    first = seen["first"]  # the snippet's code starts one line later (a blank line first)
    by_code = {code: d["lnum"] for d in seen["diagnostics"] for code in d["codes"]}
    assert first + 1 <= by_code["biome:lint/suspicious/noExplicitAny"] <= first + 4
    assert first + 1 <= by_code["ts:2322"] <= first + 4
    assert all(d["lnum"] >= first for d in seen["diagnostics"]), seen["diagnostics"]  # not `legacy`
    assert seen["offered"][0].startswith("Reject"), seen["offered"]
    (rejected,) = [e for e in events if e["kind"] == "rejected"]
    assert rejected["pattern"] == "biome:lint/suspicious/noExplicitAny"
    assert rejected["path"] == "src/Total.tsx"
    assert "ts:2322" in rejected["findings"]
