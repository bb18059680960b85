"""Workspace trust over stdio: an untrusted repository's files run nothing.

The workspace is a real git repository whose ``.ailoop.toml`` names a command engine and
which holds a ``.venv/bin/ruff``; each of them, when run, leaves a file behind.
"""

from __future__ import annotations

import asyncio
import json
import stat
import sys
from pathlib import Path

import pytest
from lsprotocol import types
from pygls.exceptions import JsonRpcException

from tests.conftest import ailoop
from tests.e2e.lsp import change, diagnostics_where, markers, open_doc, session, settle
from tests.e2e.test_session import THREE_LINES, repo

WAIT = 20.0


def engine_config(marker: Path) -> str:
    """An .ailoop.toml whose command engine leaves ``marker`` behind when it runs."""
    script = f"import pathlib; pathlib.Path({str(marker)!r}).write_text('ran')"
    return (
        "[feedback]\nty = false\n\n"
        "[[engines]]\n"
        'name = "probe"\n'
        f'command = [{json.dumps(sys.executable)}, "-c", {json.dumps(script)}]\n'
        'languages = ["python"]\n'
        'output = "regex"\n'
        "pattern = '^(?P<line>\\d+): (?P<message>.*)'\n"
    )


def untrusted_repo(tmp_path: Path) -> tuple[Path, Path, Path]:
    engine_ran, ruff_ran = tmp_path / "engine-ran", tmp_path / "venv-ruff-ran"
    root = repo(tmp_path / "shop", engine_config(engine_ran))
    ruff = root / ".venv" / "bin" / "ruff"
    ruff.parent.mkdir(parents=True)
    ruff.write_text(f"#!/bin/sh\necho ran > {ruff_ran}\nexit 2\n", encoding="utf-8")
    ruff.chmod(ruff.stat().st_mode | stat.S_IXUSR)
    return root, engine_ran, ruff_ran


async def appears(path: Path) -> bool:
    for _ in range(int(WAIT / 0.1)):
        if path.exists():
            return True
        await asyncio.sleep(0.1)
    return False


async def test_an_untrusted_workspace_runs_nothing_of_its_own_until_trusted(
    data_dir: Path, tmp_path: Path
) -> None:
    root, engine_ran, ruff_ran = untrusted_repo(tmp_path)
    async with session("neovim", data_dir, root) as client:
        uri = open_doc(client, root / "a.py", "x = 1\n")
        change(client, uri, 2, (1, 0), (1, 0), THREE_LINES)
        await diagnostics_where(client, uri, lambda d: bool(markers(d)))  # capture works
        await settle(client)
        assert not engine_ran.exists()
        assert not ruff_ran.exists()
        [asked] = client.message_requests  # type: ignore[attr-defined]
        assert "is not trusted" in asked.message
        assert "engines" in asked.message
        assert ".venv/bin/ruff" in asked.message
        assert [a.title for a in asked.actions] == ["Trust", "Not now"]

        answer = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(
                command="ailoop.trust", arguments=[{"folder": root.as_uri()}]
            )
        )
        assert answer == {"trusted": [root.as_uri()]}
        assert await appears(engine_ran), "the trusted engine did not run"
        assert await appears(ruff_ran), "the trusted workspace's ruff did not run"


async def test_a_changed_command_needs_trust_again(data_dir: Path, tmp_path: Path) -> None:
    root, engine_ran, _ = untrusted_repo(tmp_path)
    trusted = ailoop("trust", str(root), data_dir=data_dir)
    assert "engines = " in trusted.stdout
    assert ".venv/bin/ruff" in trusted.stdout
    other = tmp_path / "other-ran"
    (root / ".ailoop.toml").write_text(engine_config(other), encoding="utf-8")
    async with session("neovim", data_dir, root) as client:
        open_doc(client, root / "a.py", "x = 1\n")
        await settle(client)
        await asyncio.sleep(1.0)
        assert not other.exists()
        assert not engine_ran.exists()
        [asked] = client.message_requests  # type: ignore[attr-defined]
        assert "changed since you trusted it" in asked.message


async def test_the_editors_trust_decides_when_it_sends_one(data_dir: Path, tmp_path: Path) -> None:
    root, engine_ran, _ = untrusted_repo(tmp_path)
    async with session(
        "visual_studio_code", data_dir, root, init_options={"workspaceTrust": False}
    ) as client:
        open_doc(client, root / "a.py", "x = 1\n")
        await settle(client)
        assert client.message_requests == []  # type: ignore[attr-defined]
        assert any("the editor does not trust this workspace" in m.message for m in client.messages)
        with pytest.raises(JsonRpcException, match="the editor's workspace trust decides"):
            await client.workspace_execute_command_async(
                types.ExecuteCommandParams(command="ailoop.trust", arguments=[])
            )
        await asyncio.sleep(1.0)
        assert not engine_ran.exists()
    async with session(
        "visual_studio_code", data_dir, root, init_options={"workspaceTrust": True}
    ) as client:
        open_doc(client, root / "a.py", "x = 1\n")
        assert await appears(engine_ran)
