"""An agent's hook and the editor together: the snippet keeps the hook's tool."""

from __future__ import annotations

import asyncio
import json
import os
import sys
from pathlib import Path

import pytest
from lsprotocol import types

from tests.conftest import events
from tests.e2e.lsp import diagnostics_where, markers, open_doc, session, settle
from tests.hooks.hook_testkit import ORDERS, apply_tool, env_for, load_payload


async def run_hook(payload: dict[str, object], data_dir: Path, cwd: Path) -> None:
    """Run the real hook command the way Claude Code does: payload on stdin."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "ailoop.hooks",
        "claude-code",
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env=env_for(data_dir),
        cwd=cwd,
    )
    _, stderr = await process.communicate(json.dumps(payload).encode())
    assert process.returncode == 0, stderr


def reload(client: object, uri: str, version: int, text: str) -> None:
    """What an editor sends when it reloads a file changed on disk."""
    client.text_document_did_change(  # type: ignore[attr-defined]
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[types.TextDocumentContentChangeWholeDocument(text=text)],
        )
    )


@pytest.mark.parametrize("hook_first", [True, False], ids=["hook-then-reload", "reload-then-hook"])
async def test_reloaded_agent_edit_is_attributed_to_the_hooks_tool(
    hook_first: bool, data_dir: Path, workspace: Path
) -> None:
    path = workspace / "shop" / "orders.py"
    path.write_text(ORDERS, encoding="utf-8")
    payload = load_payload("claude-code-edit.json", workspace)
    async with session("visual_studio_code", data_dir, workspace) as client:
        uri = open_doc(client, path, ORDERS)
        apply_tool(payload, workspace)  # the agent writes the file
        if hook_first:
            await run_hook(payload, data_dir, workspace)
            reload(client, uri, 2, path.read_text(encoding="utf-8"))
        else:  # the editor reloads before the hook has recorded anything
            reload(client, uri, 2, path.read_text(encoding="utf-8"))
            await run_hook(payload, data_dir, workspace)
        found = markers(await diagnostics_where(client, uri, lambda d: bool(markers(d))))
        assert found[0].data["tool"] == "claude-code"
        assert "AI snippet from claude-code" in found[0].message
        await client.workspace_execute_command_async(
            types.ExecuteCommandParams(
                "ailoop.reject", [{"uri": uri, "snippet": found[0].data["snippet"]}]
            )
        )
        await settle(client)
    recorded = events(data_dir)
    assert [(e["kind"], e["tool"], e["source"]) for e in recorded] == [
        ("generated", "claude-code", "hook"),
        ("rejected", "claude-code", "hook"),
    ]
    assert recorded[0]["snippet"] == recorded[1]["snippet"]
    assert os.environ.get("AILOOP_DATA_DIR") != str(data_dir)
