"""``ailoop hook install``: the session-start hooks beside the edit hooks, for every agent."""

from __future__ import annotations

import shlex
import sys
from pathlib import Path
from typing import Any

from tests.hooks.test_hook_install import hook, read_json, write_json

COMMAND = shlex.quote(sys.executable) + " -m ailoop.hooks "


def ours(groups: list[dict[str, Any]], tool: str) -> list[dict[str, Any]]:
    return [h for g in groups for h in g["hooks"] if h["command"] == COMMAND + tool]


def test_claude_code_gets_session_start_beside_the_edit_hook(
    project: Path, data_dir: Path, tmp_path: Path
) -> None:
    settings = project / ".claude" / "settings.json"
    theirs = {"matcher": "startup", "hooks": [{"type": "command", "command": "./banner.sh"}]}
    write_json(settings, {"hooks": {"SessionStart": [theirs]}})
    assert (
        hook("install", "claude-code", cwd=project, data_dir=data_dir, home=tmp_path).returncode
        == 0
    )
    first = settings.read_text(encoding="utf-8")
    installed = read_json(settings)["hooks"]
    assert installed["SessionStart"][0] == theirs
    assert installed["SessionStart"][1] == {
        "hooks": [{"type": "command", "command": COMMAND + "claude-code"}]
    }
    assert len(ours(installed["PostToolUse"], "claude-code")) == 1
    again = hook("install", "claude-code", cwd=project, data_dir=data_dir, home=tmp_path)
    assert "already installed" in again.stdout
    assert settings.read_text(encoding="utf-8") == first
    assert (
        hook("uninstall", "claude-code", cwd=project, data_dir=data_dir, home=tmp_path).returncode
        == 0
    )
    assert read_json(settings) == {"hooks": {"SessionStart": [theirs]}}


def test_cursor_gemini_and_codex_session_start_installs(
    project: Path, data_dir: Path, tmp_path: Path
) -> None:
    gemini = project / ".gemini" / "settings.json"
    write_json(gemini, {"general": {"vimMode": True}, "hooks": {"AfterTool": []}})
    for tool in ("cursor", "gemini-cli", "codex"):
        for _ in range(2):  # idempotent
            done = hook("install", tool, cwd=project, data_dir=data_dir, home=tmp_path)
            assert done.returncode == 0, done.stderr
    cursor = read_json(project / ".cursor" / "hooks.json")["hooks"]
    assert cursor["sessionStart"] == [{"command": COMMAND + "cursor"}]
    gemini_settings = read_json(gemini)
    assert gemini_settings["general"] == {"vimMode": True}
    assert gemini_settings["hooks"]["SessionStart"] == [
        {
            "hooks": [
                {"name": "ailoop-context", "type": "command", "command": COMMAND + "gemini-cli"}
            ]
        }
    ]
    codex = read_json(project / ".codex" / "hooks.json")
    assert codex == {
        "hooks": {"SessionStart": [{"hooks": [{"type": "command", "command": COMMAND + "codex"}]}]}
    }
    assert hook("uninstall", "codex", cwd=project, data_dir=data_dir, home=tmp_path).returncode == 0
    assert read_json(project / ".codex" / "hooks.json") == {}
