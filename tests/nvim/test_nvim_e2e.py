"""End to end in real, headless Neovim 0.7.2 and 0.11.x against the real ``ailoop serve``.

Each test runs one scenario of ``scenario.lua`` (ailoop attached through
``require('ailoop').setup()`` from ``client-nvim/``), then judges what Neovim saw and
what the server recorded (``ailoop events --format jsonl``).
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest
from nvim_harness import Workspace, run_scenario

from ailoop.capture.identity import snippet_id
from tests.e2e.test_trust import engine_config

pytestmark = pytest.mark.editors


def of_kind(events: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    """The events of one kind, oldest first."""
    return [e for e in events if e["kind"] == kind]


def test_reject_through_code_action_menu(nvim: str, project: Workspace) -> None:
    """A pasted snippet gets marker, code lens and status; Reject from the menu records it."""
    seen = run_scenario(nvim, project, "reject_code_action")

    marker = seen["marker"]
    assert (marker["source"], marker["code"]) == ("ailoop", "ai-snippet")
    assert marker["snippet"] == snippet_id(seen["snippet_text"])
    assert marker["at_cursor"], "snippet_at_cursor() did not find the marker under the cursor"
    assert seen["statusline"] == "ailoop · 1 pending"
    assert seen["lenses"], "no code lens on the snippet's first line"
    assert seen["codelens_refreshes"] >= 1
    assert any(t.startswith("Accept AI snippet") for t in seen["offered"]), seen["offered"]
    assert any(t.startswith("Reject AI snippet") for t in seen["offered"]), seen["offered"]
    assert seen["statusline_after"] == "ailoop"

    events = project.events()
    generated = of_kind(events, "generated")
    rejected = of_kind(events, "rejected")
    assert [e["snippet"] for e in generated] == [marker["snippet"]]
    assert [e["snippet"] for e in rejected] == [marker["snippet"]]
    assert rejected[0]["path"] == "sample.py"
    assert not rejected[0].get("reason")


def test_accept_through_code_lens(nvim: str, project: Workspace) -> None:
    """run_codelens() on the snippet's first line offers Accept/Reject; Accept records it."""
    seen = run_scenario(nvim, project, "accept_code_lens")

    titles = [lens["title"] for lens in seen["lenses"]]
    assert titles == ["AI snippet · unknown · 7 lines", "Accept", "Reject"]
    assert seen["offered"] == ["Accept", "Reject"]
    assert seen["answer_error"] is None
    accepted = of_kind(project.events(), "accepted")
    assert [e["snippet"] for e in accepted] == [seen["marker"]["snippet"]]


def test_undoing_a_paste_reverts_the_snippet(nvim: str, project: Workspace) -> None:
    """`u` right after a paste removes the marker and records the snippet as reverted."""
    seen = run_scenario(nvim, project, "undo_paste")

    assert seen["undone"] is True
    events = project.events()
    assert [e["snippet"] for e in of_kind(events, "reverted")] == [seen["marker"]["snippet"]]
    assert not of_kind(events, "accepted") + of_kind(events, "rejected")


def test_reject_with_a_note_records_the_reason(nvim: str, project: Workspace) -> None:
    """reject_with_note() asks through vim.ui.input and sends the answer as the reason."""
    note = "builds a dict by hand; use dict(item.split('=') ...)"
    seen = run_scenario(nvim, project, "reject_with_note", AILOOP_TEST_NOTE=note)

    assert seen["prompt"] == "Reject AI snippet, because: "
    assert seen["answer_error"] is None
    rejected = of_kind(project.events(), "rejected")
    assert [(e["snippet"], e["reason"]) for e in rejected] == [(seen["marker"]["snippet"], note)]


def test_typing_by_hand_makes_no_snippet(nvim: str, project: Workspace) -> None:
    """Lines typed a character at a time never become snippets; a later paste does."""
    seen = run_scenario(nvim, project, "typing")

    assert seen["typed_line"].endswith("# typed by hand")
    first = seen["snippet_first_line"]
    assert [m["lnum"] for m in seen["markers"]] == [first], seen["markers"]
    typed_rows = set(seen["typed_lines"])
    for m in seen["markers"]:
        assert not typed_rows & set(range(m["lnum"], m["end_lnum"] + 1)), m
    generated = of_kind(project.events(), "generated")
    assert [e["snippet"] for e in generated] == [seen["marker"]["snippet"]]


def test_wrapped_copilot_accept_reports_the_tool(nvim: str, project: Workspace) -> None:
    """copilot_lua_accept() sends ailoop/generated {tool = copilot} before the insertion."""
    seen = run_scenario(nvim, project, "copilot_accept")

    assert seen["accepted"] is True
    generated = of_kind(project.events(), "generated")
    assert [(e["snippet"], e["tool"]) for e in generated] == [
        (seen["marker"]["snippet"], "copilot")
    ]
    assert generated[0]["source"] == "client"


def test_missing_server_command_gives_one_clear_message(nvim: str, project: Workspace) -> None:
    """setup() with a command that is not installed warns once, naming the fix."""
    seen = run_scenario(nvim, project, "missing_server")

    ours = [m["msg"] for m in seen["messages"] if m["msg"].startswith("ailoop:")]
    assert len(ours) == 1, seen["messages"]
    assert "no-such-ailoop-command" in ours[0]
    assert "'-m', 'ailoop', 'serve'" in ours[0]
    assert seen["attached"] is False
    assert seen["statusline"] == ""


def trust_workspace(project: Workspace) -> Path:
    """Give the project an .ailoop.toml whose command engine writes a file when it runs."""
    marker = project.home / "engine-ran"
    (project.root / ".ailoop.toml").write_text(engine_config(marker))
    return marker


def trusted_list(project: Workspace) -> str:
    """What ``ailoop trust --list`` prints (the trust store the server wrote to)."""
    return subprocess.run(
        [sys.executable, "-m", "ailoop", "trust", "--list"],
        env=project.env(),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout


def test_an_untrusted_engine_waits_for_ailoop_trust(nvim: str, project: Workspace) -> None:
    """The server's prompt comes through vim.ui.select; "Not now" runs nothing; :AiloopTrust does."""
    marker = trust_workspace(project)
    seen = run_scenario(
        nvim,
        project,
        "trust_command",
        AILOOP_TEST_MARKER=str(marker),
        AILOOP_TEST_ANSWER="Not now",
    )

    assert seen["marker"]["code"] == "ai-snippet"  # capture works untrusted
    [prompt] = seen["prompts"]
    assert prompt["titles"] == ["Trust", "Not now"], prompt
    assert "is not trusted" in prompt["prompt"], prompt
    assert "engines" in prompt["prompt"], prompt
    assert seen["engine_ran_before"] is False
    assert seen["trust_answer"] == {"trusted": [str(project.root)]}, seen["trust_answer"]
    said = [m["msg"] for m in seen["messages"] if m["msg"].startswith("ailoop: trusted ")]
    assert said == [f"ailoop: trusted {project.root}; its ailoop settings apply now"] * 2, seen
    assert seen["engine_ran_after"] is True
    assert str(project.root) in trusted_list(project)


def test_trust_from_the_servers_prompt(nvim: str, project: Workspace) -> None:
    """Answering Trust in the prompt (vim.ui.select, never a blocking inputlist) runs the engine."""
    marker = trust_workspace(project)
    assert str(project.root) not in trusted_list(project)
    seen = run_scenario(
        nvim, project, "trust_prompt", AILOOP_TEST_MARKER=str(marker), AILOOP_TEST_ANSWER="Trust"
    )

    [prompt] = seen["prompts"]
    assert prompt["kind"] == "ailoop_trust", prompt
    assert seen["engine_ran_after"] is True
    assert str(project.root) in trusted_list(project)
