"""In real Neovim: a patterns file written while the editor runs takes effect on the next snippet.

Neovim 0.11 watches files for its servers when the client advertises
``workspace.didChangeWatchedFiles.dynamicRegistration`` (on by default on macOS and
Windows, off on Linux): the server registers its watchers and reloads on Neovim's report.
Whether or not (Neovim 0.7, or 0.11 as it comes on Linux, whose watcher does not look into
``.ailoop/``), the server looks at the files' modification times before it matches the
next snippet.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from nvim_harness import Workspace, find_nvim, run_scenario

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
    return run_scenario(
        binary,
        ws,
        "watch" if watch else "no-watch",
        script=SCRIPT,
        AILOOP_TEST_PATTERNS=str(ws.root / ".ailoop" / "patterns.toml"),
        AILOOP_TEST_WATCH="1" if watch else "0",
    )


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
