"""In real Neovim 0.7 and 0.11: each insertion is its own snippet, and each gets an outcome.

Neovim sends lines added with ``:put`` or ``nvim_buf_set_lines`` as a replacement of the
line break before them; right under a snippet they are a new snippet all the same. Neovim
sends no ``didClose`` when it quits: the server closes the open documents itself when the
connection ends, so a snippet saved and left unreviewed is ``kept``. A snippet that got
no outcome (the server was killed) is picked up again when the file is opened, even edited.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from nvim_harness import Workspace, leftover_servers, run_scenario

from ailoop.capture.identity import snippet_id

SCRIPT = Path(__file__).with_name("capture.lua")

FIRST = "def first(x):\n    y = x + 1\n    z = y * 2\n    return z\n"
SECOND = "def second(x):\n    y = x - 1\n    z = y * 3\n    return z\n"
THIRD = "def third(x):\n    y = x * 5\n    z = y - 4\n    return z\n"


def run_capture(binary: str, ws: Workspace, scenario: str) -> dict[str, Any]:
    """Run one scenario of capture.lua; return what it saw, once its server has exited."""
    result = run_scenario(binary, ws, scenario, script=SCRIPT)
    # The server finishes its teardown after Neovim is gone: wait for it to exit.
    assert leftover_servers(str(ws.data_dir), grace_s=30) == []
    return result


def kinds(ws: Workspace) -> list[tuple[str, str]]:
    return [(e["kind"], e["snippet"]) for e in ws.events()]


def test_two_adjacent_pastes_are_two_snippets(nvim: str, project: Workspace) -> None:
    """``:1put a``, ``:5put b`` under it, and an ``nvim_buf_set_lines`` append under that."""
    seen = run_capture(nvim, project, "adjacent")
    ids = [snippet_id(FIRST), snippet_id(SECOND), snippet_id(THIRD)]
    assert [(m["snippet"], m["lnum"], m["state"]) for m in seen["markers"]] == [
        (ids[0], 1, "unreviewed"),
        (ids[1], 5, "unreviewed"),
        (ids[2], 9, "unreviewed"),
    ]
    generated = [(kind, snippet) for kind, snippet in kinds(project) if kind == "generated"]
    assert generated == [("generated", snippet) for snippet in ids]
    assert "modified" not in {kind for kind, _ in kinds(project)}


def test_write_then_quit_keeps_the_unreviewed_snippet(nvim: str, project: Workspace) -> None:
    """``:w`` then ``:q``: Neovim sends no didClose, and the snippet is ``kept``."""
    run_capture(nvim, project, "write_quit")
    assert kinds(project) == [("generated", snippet_id(FIRST)), ("kept", snippet_id(FIRST))]
    (kept,) = [e for e in project.events() if e["kind"] == "kept"]
    assert kept["path"] == "sample.py"
    assert kept["similarity"] == 1.0


def test_reopening_picks_up_an_edited_snippet_without_an_outcome(
    nvim: str, project: Workspace
) -> None:
    """The server was killed after an edit inside the snippet; the next session finds it."""
    first = run_capture(nvim, project, "edit_and_kill")
    assert [m["state"] for m in first["markers"]] == ["modified"]
    assert kinds(project) == [("generated", snippet_id(FIRST)), ("modified", snippet_id(FIRST))]
    edited = FIRST.replace("x + 1\n", "x + 10\n")
    assert edited in project.source.read_text()

    again = run_capture(nvim, project, "reopen")
    (marker,) = again["markers"]
    assert (marker["snippet"], marker["state"], marker["lnum"]) == (
        snippet_id(FIRST),
        "modified",
        1,
    )
    events = project.events()
    assert [e["kind"] for e in events] == ["generated", "modified", "kept"]
    kept = events[-1]
    assert (kept["snippet"], kept["text"]) == (snippet_id(FIRST), edited)
    assert kept["similarity"] < 1.0
