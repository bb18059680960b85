"""``ailoop mcp`` through a real MCP client session over stdio (the SDK's own client)."""

from __future__ import annotations

import contextlib
import json
import subprocess
import sys
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from mcp import ClientSession  # the SDK: in the dev extra (ailoop[mcp])
from mcp.client.stdio import StdioServerParameters, stdio_client

from ailoop.hooks.engines import find_ruff
from tests.conftest import require
from tests.hooks.hook_testkit import env_for
from tests.hooks.test_hook_session_start import NO_EXPERIMENT, team_pattern

BARE_EXCEPT = """[[pattern]]
id = "bare-except"
title = "bare except"
fix = "name the exception, e.g. `except ValueError:`"
languages = ["python"]
regex = '^\\s*except\\s*:'

[[pattern]]
id = "no-print"
title = "print left in"
fix = "use logging"
languages = ["typescript"]
regex = 'console\\.log'
"""

SNIPPET = "def load(path):\n    try:\n        return open(path).read()\n    except:\n        return None\n"


@pytest.fixture
def workspace(tmp_path: Path, data_dir: Path) -> Path:
    root = tmp_path / "repo"
    root.mkdir()
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    (root / "ruff.toml").write_text('[lint]\nselect = ["E", "F"]\n', encoding="utf-8")
    (root / ".ailoop.toml").write_text(NO_EXPERIMENT, encoding="utf-8")
    team_pattern(root, data_dir, BARE_EXCEPT, "pattern:bare-except", "pattern:no-print")
    return root


@contextlib.asynccontextmanager
async def connect(workspace: Path, data_dir: Path) -> AsyncIterator[ClientSession]:
    """A client session with ``ailoop mcp`` started in ``workspace`` (one task throughout)."""
    params = StdioServerParameters(
        command=sys.executable,
        args=["-m", "ailoop", "mcp"],
        env=env_for(data_dir),
        cwd=str(workspace),
    )
    async with stdio_client(params) as (read, write), ClientSession(read, write) as client:
        await client.initialize()
        yield client


def text_of(result: Any) -> str:
    assert not result.is_error, result
    return "\n".join(block.text for block in result.content if block.type == "text")


async def test_lists_the_tools_and_the_context_resource(workspace: Path, data_dir: Path) -> None:
    async with connect(workspace, data_dir) as session:
        await lists_the_tools(session)


async def lists_the_tools(session: ClientSession) -> None:
    tools = {tool.name: tool for tool in (await session.list_tools()).tools}
    assert set(tools) == {"check_code", "team_patterns"}
    assert set(tools["check_code"].input_schema["required"]) == {"code", "path"}
    resources = [str(r.uri) for r in (await session.list_resources()).resources]
    assert resources == ["ailoop://context"]
    read = await session.read_resource("ailoop://context")
    [content] = read.contents
    assert "- Do not write code with `pattern:bare-except`" in content.text  # type: ignore[union-attr]


async def test_check_code_finds_ruff_and_the_team_pattern(workspace: Path, data_dir: Path) -> None:
    require(find_ruff(None) is not None, "ruff is not installed beside Python or on PATH")
    async with connect(workspace, data_dir) as session:
        answer = text_of(
            await session.call_tool("check_code", {"code": SNIPPET, "path": "shop/load.py"})
        )
    lines = answer.splitlines()
    assert lines[0] == "ailoop: findings in the code for shop/load.py (fix them before writing it):"
    assert any(
        line.startswith("- line 4: [pattern:bare-except] known rejection pattern: bare except")
        and "rejected 8×" in line
        for line in lines
    ), answer
    assert "- line 4: [ruff:E722] ruff E722 Do not use bare `except`" in lines


async def test_check_code_writes_nothing(workspace: Path, data_dir: Path) -> None:
    before = sorted(p.relative_to(workspace) for p in workspace.rglob("*"))
    async with connect(workspace, data_dir) as session:
        await session.call_tool("check_code", {"code": SNIPPET, "path": "shop/load.py"})
    assert not (workspace / "shop").exists()
    assert sorted(p.relative_to(workspace) for p in workspace.rglob("*")) == before
    done = subprocess.run(
        [sys.executable, "-m", "ailoop", "events", "--format", "jsonl"],
        env=env_for(data_dir),
        capture_output=True,
        text=True,
        check=True,
    )
    assert all(json.loads(line)["path"] != "shop/load.py" for line in done.stdout.splitlines())


async def test_team_patterns_by_language(workspace: Path, data_dir: Path) -> None:
    async with connect(workspace, data_dir) as session:
        python = text_of(await session.call_tool("team_patterns", {"language": "python"}))
        typescript = text_of(await session.call_tool("team_patterns", {"language": "typescript"}))
        go = text_of(await session.call_tool("team_patterns", {"language": "go"}))
    assert python.startswith("- Do not write code with `pattern:bare-except` `bare except`")
    assert "no-print" not in python
    assert "`pattern:no-print`" in typescript
    assert "bare-except" not in typescript
    assert go == "ailoop: no supported rejection patterns for go yet."
