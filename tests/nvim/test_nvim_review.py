"""In real Neovim (0.7 and 0.11): reviewing a snippet whose marker is a hint on one line.

The marker covers the snippet's first line only; the client finds the snippet from any of
its lines through the marker's ``data.range``. "Reject and remove" deletes the code with
the server's ``workspace/applyEdit``, and ``u`` brings it back without a new snippet.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
from nvim_harness import Workspace, run_scenario

from ailoop.capture.identity import snippet_id

pytestmark = pytest.mark.editors

SCRIPT = Path(__file__).with_name("review.lua")
SNIPPET = "def parse_port(value):\n    try:\n        return int(value)\n    except:\n        return 8080\n"
LATER = "def later(a):\n    b = a * 2\n    return b\n"  # inserted after the undo
HINT = 4  # vim.diagnostic.severity.HINT


def run_review(binary: str, ws: Workspace, scenario: str) -> dict[str, Any]:
    """Run one scenario of review.lua in headless Neovim; return what it saw."""
    return run_scenario(binary, ws, scenario, script=SCRIPT)


def kinds(ws: Workspace) -> list[str]:
    return [e["kind"] for e in ws.events()]


def test_accept_at_the_cursor_from_a_line_below_the_marker(nvim: str, project: Workspace) -> None:
    seen = run_review(nvim, project, "decide_inside")
    marker, first = seen["marker"], seen["first"]
    assert (marker["lnum"], marker["end_lnum"], marker["severity"]) == (first, first, HINT)
    assert (marker["snippet_first"], marker["snippet_last"]) == (first, first + 4)
    assert seen["at_cursor"], "snippet_at_cursor() found nothing on the snippet's last line"
    assert kinds(project) == ["generated", "accepted"]


def test_reject_and_remove_then_undo(nvim: str, project: Workspace) -> None:
    seen = run_review(nvim, project, "reject_and_remove")
    offered = seen["offered"]
    assert offered[0].startswith("Reject AI snippet"), offered
    assert offered[-1].startswith("Accept AI snippet"), offered
    assert seen["removed"]
    assert seen["restored"], seen["restored_text"]
    assert seen["markers_after_undo"] == [0]  # the later snippet; the restored code is none
    removed = snippet_id(SNIPPET)
    assert seen["marker"]["snippet"] == removed
    events = project.events()
    by_kind = {k: [e["snippet"] for e in events if e["kind"] == k] for k in kinds(project)}
    assert by_kind["generated"] == [removed, snippet_id(LATER)], events  # none for the undo
    assert by_kind["rejected"] == [removed], events
    assert removed not in by_kind.get("reverted", []), events  # removed by the rejection
