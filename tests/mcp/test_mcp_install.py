"""``ailoop mcp install``: register the server in Claude Code's and Cursor's MCP config."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.hooks.hook_testkit import env_for

OTHER = {"command": "npx", "args": ["-y", "@modelcontextprotocol/server-github"], "env": {"X": "1"}}


def install(agent: str, root: Path, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ailoop", "mcp", "install", agent, "--root", str(root)],
        env=env_for(home / "data", home=home),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def read(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def test_claude_code_and_cursor_merge_idempotently(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    (root / ".cursor").mkdir(parents=True)
    claude = root / ".mcp.json"
    claude.write_text(json.dumps({"mcpServers": {"github": OTHER}}), encoding="utf-8")
    cursor = root / ".cursor" / "mcp.json"
    cursor.write_text(json.dumps({"mcpServers": {"github": OTHER}, "x": 1}), encoding="utf-8")
    for agent, path in (("claude-code", claude), ("cursor", cursor)):
        done = install(agent, root, tmp_path)
        assert done.returncode == 0, done.stderr
        assert f"registered: ailoop MCP server in {path}" in done.stdout
        text = path.read_text(encoding="utf-8")
        again = install(agent, root, tmp_path)
        assert f"already registered: ailoop MCP server in {path}" in again.stdout
        assert path.read_text(encoding="utf-8") == text
    assert read(claude) == {
        "mcpServers": {
            "github": OTHER,
            "ailoop": {"type": "stdio", "command": sys.executable, "args": ["-m", "ailoop", "mcp"]},
        }
    }
    assert read(cursor) == {
        "mcpServers": {
            "github": OTHER,
            "ailoop": {"command": sys.executable, "args": ["-m", "ailoop", "mcp"]},
        },
        "x": 1,
    }


def test_a_config_that_is_not_json_is_left_alone(tmp_path: Path) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    (root / ".mcp.json").write_text("{ not json", encoding="utf-8")
    done = install("claude-code", root, tmp_path)
    assert done.returncode == 1
    assert "not valid JSON (line 1" in done.stderr
    assert (root / ".mcp.json").read_text(encoding="utf-8") == "{ not json"
