"""Edit-time feedback through the real server: real ruff and ty, findings on AI snippets."""

from __future__ import annotations

import os
import signal
import sys
from pathlib import Path

from lsprotocol import types

from ailoop.capture.identity import snippet_id
from tests.conftest import events
from tests.e2e.lsp import change, diagnostics_where, markers, open_doc, session, settle

HUMAN = "import sys\n\n\ndef main():\n    return 0\n"  # sys unused: the developer's own code
SNIPPET = "import json\n\n\ndef load_config(path):\n    data = read_file(path)\n    return data\n"


def codes(items: object, prefix: str) -> list[types.Diagnostic]:
    """The diagnostics with a code of ``prefix``, merged ones (``data.codes``) included."""
    return [
        d
        for d in items  # type: ignore[attr-defined]
        if any(str(c).startswith(prefix) for c in (d.data or {}).get("codes") or [d.code])
    ]


def children(pid: int) -> dict[int, str]:
    """Return the child processes of ``pid`` with their command lines."""
    found = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            stat = (entry / "stat").read_text()
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
        except OSError:
            continue
        if int(stat.rsplit(")", 1)[1].split()[1]) == pid:
            found[int(entry.name)] = cmdline
    return found


async def test_ruff_and_ty_findings_inside_the_snippet_only(
    data_dir: Path, workspace: Path
) -> None:
    async with session("visual_studio_code", data_dir, workspace) as client:
        uri = open_doc(client, workspace / "shop" / "config.py", HUMAN)
        change(client, uri, 2, (5, 0), (5, 0), "\n\n" + SNIPPET)
        found = await diagnostics_where(
            client, uri, lambda d: bool(markers(d) and codes(d, "ruff:F401") and codes(d, "ty:"))
        )
        (marker,) = markers(found)
        whole = marker.data["range"]
        first, last = whole["start"]["line"], whole["end"]["line"]
        assert (first, last) == (7, 12)
        for diagnostic in codes(found, "ruff:") + codes(found, "ty:"):
            assert first <= diagnostic.range.start.line <= last, diagnostic
            assert diagnostic.data["snippet"] == snippet_id(SNIPPET)
            assert diagnostic.source == "ailoop"
            assert "in an AI snippet" in diagnostic.message
        (unused,) = codes(found, "ruff:F401")
        assert unused.range.start == types.Position(7, 7)  # json, not the developer's sys
        # ruff F821 and ty's unresolved-reference on one name: one diagnostic, both codes
        (unresolved,) = codes(found, "ty:unresolved-reference")
        assert "ruff:F821" in unresolved.data["codes"], unresolved

        actions = await client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri),
                range=types.Range(types.Position(8, 0), types.Position(8, 0)),
                context=types.CodeActionContext(diagnostics=[]),
            )
        )
        reject_f401 = next(a for a in actions if a.title == "Reject: unused import (ruff F401)")
        assert reject_f401.command is not None
        await client.workspace_execute_command_async(
            types.ExecuteCommandParams(reject_f401.command.command, reject_f401.command.arguments)
        )
        await settle(client)
    (rejected,) = [e for e in events(data_dir) if e["kind"] == "rejected"]
    assert rejected["pattern"] == "ruff:F401"
    assert "ruff:F401" in rejected["findings"]
    assert "ty:unresolved-reference" in rejected["findings"]


async def test_whole_file_scope_shows_the_developers_findings_too(
    data_dir: Path, workspace: Path
) -> None:
    async with session("neovim", data_dir, workspace, {"feedback": {"scope": "file"}}) as client:
        uri = open_doc(client, workspace / "shop" / "config.py", HUMAN)
        found = await diagnostics_where(client, uri, lambda d: bool(codes(d, "ruff:F401")))
        (unused,) = codes(found, "ruff:F401")
        assert unused.range.start == types.Position(0, 7)
        assert "snippet" not in unused.data
        assert not markers(found)


async def test_killed_engine_is_restarted_and_findings_resume(
    data_dir: Path, workspace: Path
) -> None:
    async with session("visual_studio_code", data_dir, workspace) as client:
        uri = open_doc(client, workspace / "shop" / "config.py", HUMAN)
        change(client, uri, 2, (5, 0), (5, 0), "\n\n" + SNIPPET)
        await diagnostics_where(client, uri, lambda d: bool(codes(d, "ruff:F401")))
        server = client._server
        assert server is not None
        ruff = [
            pid for pid, cmd in children(server.pid).items() if "ruff" in cmd and "server" in cmd
        ]
        assert len(ruff) == 1
        os.kill(ruff[0], signal.SIGKILL)
        # An edit inside the snippet: the new version's findings come from a new ruff.
        change(client, uri, 3, (8, 0), (8, 0), "import re\n")
        found = await diagnostics_where(client, uri, lambda d: len(codes(d, "ruff:F401")) == 2)
        assert {d.range.start.line for d in codes(found, "ruff:F401")} == {7, 8}
        restarted = [
            pid for pid, cmd in children(server.pid).items() if "ruff" in cmd and "server" in cmd
        ]
        assert restarted
        assert restarted != ruff
        assert any("ruff" in m.message for m in client.log_messages + client.messages)  # type: ignore[operator]


async def test_a_hanging_engine_blocks_neither_the_other_nor_the_marker(
    data_dir: Path, workspace: Path
) -> None:
    silent = Path(__file__).parents[1] / "fixtures" / "silent_language_server.py"
    options = {
        "feedback": {"ty": {"command": [sys.executable, str(silent)]}, "requestTimeoutMs": 60000}
    }
    async with session("visual_studio_code", data_dir, workspace, options) as client:
        uri = open_doc(client, workspace / "shop" / "config.py", HUMAN)
        change(client, uri, 2, (5, 0), (5, 0), "\n\n" + SNIPPET)
        found = await diagnostics_where(
            client, uri, lambda d: bool(markers(d) and codes(d, "ruff:F401"))
        )
        assert not codes(found, "ty:")
