"""The session over stdio: every workspace folder with its own settings, and the teardown.

Each test runs the real server; the workspace folders are real git repositories whose
``.ailoop.toml`` files differ.
"""

from __future__ import annotations

import subprocess
from pathlib import Path

from lsprotocol import types

from tests.conftest import events
from tests.e2e.lsp import change, diagnostics_where, markers, open_doc, session, settle

THREE_LINES = "def f(x):\n    y = x + 1\n    return y\n"
BARE_EXCEPT = "def load(path):\n    try:\n        return open(path).read()\n    except:\n        return None\n"
PATTERNS = r"""
[[pattern]]
id = "bare-except"
title = "bare except"
languages = ["python"]
regex = '^\s*except\s*:'
"""


def repo(path: Path, config: str = "", patterns: str = "") -> Path:
    path.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(path)], check=True)
    if config:
        (path / ".ailoop.toml").write_text(config, encoding="utf-8")
    if patterns:
        (path / ".ailoop").mkdir()
        (path / ".ailoop" / "patterns.toml").write_text(patterns, encoding="utf-8")
    return path


def folder(path: Path) -> types.WorkspaceFolder:
    return types.WorkspaceFolder(uri=path.as_uri(), name=path.name)


async def test_each_folder_has_its_own_thresholds_patterns_and_engines(
    data_dir: Path, tmp_path: Path
) -> None:
    eager = repo(
        tmp_path / "eager",
        "[detect]\nmin_lines = 2\nmin_chars = 1000\n[feedback]\nruff = false\nty = false\n",
        PATTERNS,
    )
    strict = repo(tmp_path / "strict", "[detect]\nmin_lines = 4\nmin_chars = 1000\n")
    async with session(
        "visual_studio_code", data_dir, eager, folders=[folder(eager), folder(strict)]
    ) as client:
        in_eager = open_doc(client, eager / "a.py", "x = 1\n")
        in_strict = open_doc(client, strict / "b.py", "x = 1\n")
        change(client, in_eager, 2, (1, 0), (1, 0), THREE_LINES)
        change(client, in_strict, 2, (1, 0), (1, 0), THREE_LINES)  # 3 lines: below 4
        await diagnostics_where(client, in_eager, lambda d: bool(markers(d)))
        change(client, in_strict, 3, (4, 0), (4, 0), "import os\n" + BARE_EXCEPT)
        change(client, in_eager, 3, (4, 0), (4, 0), "import os\n" + BARE_EXCEPT)
        # ruff runs in the strict folder only: its unused import is found there.
        await diagnostics_where(
            client,
            in_strict,
            lambda d: len(markers(d)) == 1 and any(x.code == "ruff:F401" for x in d),
        )
        await settle(client)
        assert not [d for d in client.diagnostics[in_eager] if str(d.code).startswith("ruff:")]
    recorded = [e for e in events(data_dir) if e["kind"] == "generated"]
    by_path = sorted((e["path"], e["lines"], e["findings"]) for e in recorded)
    assert [(path, lines) for path, lines, _ in by_path] == [("a.py", 3), ("a.py", 6), ("b.py", 6)]
    eager_findings = {f for path, _, found in by_path if path == "a.py" for f in found}
    assert "pattern:bare-except" in eager_findings  # the eager folder's own patterns file
    strict_findings = {f for path, _, found in by_path if path == "b.py" for f in found}
    assert "pattern:bare-except" not in strict_findings


async def test_folders_added_and_removed_while_running(data_dir: Path, tmp_path: Path) -> None:
    outer = repo(tmp_path / "mono", "[detect]\nmin_lines = 10\nmin_chars = 1000\n")
    inner = outer / "service"
    inner.mkdir()
    (inner / ".ailoop.toml").write_text("[detect]\nmin_lines = 2\n", encoding="utf-8")
    async with session("visual_studio_code", data_dir, outer, folders=[folder(outer)]) as client:
        uri = open_doc(client, inner / "app.py", "x = 1\n")
        change(client, uri, 2, (1, 0), (1, 0), THREE_LINES)  # the outer folder: 3 < 10
        await settle(client)
        assert markers(client.diagnostics.get(uri, [])) == []

        client.workspace_did_change_workspace_folders(
            types.DidChangeWorkspaceFoldersParams(
                types.WorkspaceFoldersChangeEvent(added=[folder(inner)], removed=[])
            )
        )
        await settle(client)
        change(client, uri, 3, (4, 0), (4, 0), "def g(x):\n    return x * 2\n")
        await diagnostics_where(client, uri, lambda d: len(markers(d)) == 1)

        client.workspace_did_change_workspace_folders(
            types.DidChangeWorkspaceFoldersParams(
                types.WorkspaceFoldersChangeEvent(added=[], removed=[folder(inner)])
            )
        )
        await settle(client)
        change(client, uri, 4, (6, 0), (6, 0), "def h(x):\n    return x * 3\n")
        await settle(client)
        assert len(markers(client.diagnostics[uri])) == 1  # the outer folder's again
    assert [e["lines"] for e in events(data_dir) if e["kind"] == "generated"] == [2]


async def test_a_file_outside_every_folder_gets_its_project_roots_settings(
    data_dir: Path, tmp_path: Path
) -> None:
    opened = repo(tmp_path / "opened", "[detect]\nmin_lines = 10\n")
    elsewhere = repo(tmp_path / "elsewhere", "[detect]\nmin_lines = 2\n")
    async with session("neovim", data_dir, opened, folders=[folder(opened)]) as client:
        uri = open_doc(client, elsewhere / "pkg" / "mod.py", "x = 1\n")
        change(client, uri, 2, (1, 0), (1, 0), "def g(x):\n    return x * 2\n")
        await diagnostics_where(client, uri, lambda d: len(markers(d)) == 1)


async def test_an_announced_text_marks_the_insertion_not_an_earlier_copy(
    data_dir: Path, workspace: Path
) -> None:
    head = THREE_LINES + "\n\nVALUE = 1\n"
    async with session("visual_studio_code", data_dir, workspace) as client:
        uri = open_doc(client, workspace / "shop" / "copy.py", head)
        client.protocol.notify(
            "ailoop/generated", {"uri": uri, "tool": "copilot", "text": THREE_LINES}
        )
        change(client, uri, 2, (6, 0), (6, 0), THREE_LINES)
        (marker,) = markers(await diagnostics_where(client, uri, lambda d: bool(markers(d))))
        assert marker.range.start.line == 6
        assert marker.data["tool"] == "copilot"


async def test_an_announced_text_after_its_insertion_tags_it(
    data_dir: Path, workspace: Path
) -> None:
    line = "TOTAL = compute_total(items)\n"
    async with session("visual_studio_code", data_dir, workspace) as client:
        uri = open_doc(client, workspace / "shop" / "late.py", line + "\n")
        change(client, uri, 2, (2, 0), (2, 0), line)  # one line: below the thresholds
        client.protocol.notify("ailoop/generated", {"uri": uri, "tool": "cursor", "text": line})
        (marker,) = markers(await diagnostics_where(client, uri, lambda d: bool(markers(d))))
        assert (marker.range.start.line, marker.data["tool"]) == (2, "cursor")
