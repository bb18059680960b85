"""Safe review actions, through the real server: nothing preferred, Reject first, removal undoable."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path
from typing import Any

from lsprotocol import types
from pytest_lsp import LanguageClient

from ailoop.capture.identity import snippet_id
from tests.conftest import events
from tests.e2e.lsp import change, diagnostics_where, markers, open_doc, session, settle

BASE = "import os\n\n\n"
SNIPPET = "def port(raw):\n    try:\n        return int(raw)\n    except:\n        return 8080\n"
REJECTED = " (rejected AI snippet)"


async def actions_at(client: LanguageClient, uri: str, line: int) -> list[types.CodeAction]:
    found = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri),
            range=types.Range(types.Position(line, 2), types.Position(line, 2)),
            context=types.CodeActionContext(diagnostics=[]),
        )
    )
    return [a for a in found or [] if isinstance(a, types.CodeAction)]


async def run(client: LanguageClient, action: types.CodeAction) -> Any:
    assert action.command is not None
    return await client.workspace_execute_command_async(
        types.ExecuteCommandParams(action.command.command, action.command.arguments)
    )


def e722(items: Sequence[types.Diagnostic]) -> list[types.Diagnostic]:
    return [d for d in items if d.code == "ruff:E722"]


async def test_no_action_is_preferred_and_reject_comes_before_accept(
    data_dir: Path, workspace: Path
) -> None:
    async with session("visual_studio_code", data_dir, workspace) as client:
        uri = open_doc(client, workspace / "shop" / "net.py", BASE)
        change(client, uri, 2, (3, 0), (3, 0), SNIPPET)
        await diagnostics_where(client, uri, lambda d: bool(markers(d) and e722(d)))
        actions = await actions_at(client, uri, 5)
        titles = [a.title for a in actions]
        assert titles == [
            "Reject AI snippet (unknown, 5 lines)",
            "Reject and remove AI snippet (unknown, 5 lines)",
            "Reject: bare except (ruff E722)",
            "Accept AI snippet (unknown, 5 lines)",
        ]
        assert not [a.title for a in actions if a.is_preferred], "an action is preferred"
        lenses = await client.text_document_code_lens_async(
            types.CodeLensParams(types.TextDocumentIdentifier(uri))
        )
        assert [lens.command.title for lens in lenses if lens.command][1:] == ["Accept", "Reject"]


async def test_a_plain_reject_keeps_the_code_and_its_findings_marked_rejected(
    data_dir: Path, workspace: Path
) -> None:
    async with session("visual_studio_code", data_dir, workspace) as client:
        uri = open_doc(client, workspace / "shop" / "net.py", BASE)
        change(client, uri, 2, (3, 0), (3, 0), SNIPPET)
        await diagnostics_where(client, uri, lambda d: bool(markers(d) and e722(d)))
        (reject,) = [a for a in await actions_at(client, uri, 5) if a.title.startswith("Reject AI")]
        assert (await run(client, reject))["kind"] == "rejected"

        found = await diagnostics_where(client, uri, lambda d: not markers(d) and bool(e722(d)))
        (kept,) = e722(found)
        assert kept.message == f"Do not use bare `except`{REJECTED}"
        assert kept.range.start == types.Position(6, 4)
        assert "snippet" not in kept.data  # no live snippet: nothing to accept or reject
        assert kept.data["rejected"] == snippet_id(SNIPPET)

        # a line typed above moves it; it stays while its line reads the same
        change(client, uri, 3, (0, 0), (0, 0), "# ports\n")
        found = await diagnostics_where(
            client, uri, lambda d: [x.range.start.line for x in e722(d)] == [7]
        )
        assert e722(found)[0].message.endswith(REJECTED)

        # the code changes: the finding goes (the line now names the exception)
        change(client, uri, 4, (7, 10), (7, 10), " ValueError")
        await diagnostics_where(client, uri, lambda d: not e722(d))
        await settle(client)
    kinds = [e["kind"] for e in events(data_dir)]
    assert kinds.count("rejected") == 1, kinds
    assert "accepted" not in kinds, kinds


async def test_reject_and_remove_deletes_the_text_and_records_rejected(
    data_dir: Path, workspace: Path
) -> None:
    async with session("visual_studio_code", data_dir, workspace) as client:
        uri = open_doc(client, workspace / "shop" / "net.py", BASE)
        version = [2]
        change(client, uri, version[0], (3, 0), (3, 0), SNIPPET)
        edits: list[types.ApplyWorkspaceEditParams] = []

        @client.feature(types.WORKSPACE_APPLY_EDIT)
        def apply_edit(params: types.ApplyWorkspaceEditParams) -> types.ApplyWorkspaceEditResult:
            """Apply the edit as an editor does: the document changes, didChange follows."""
            edits.append(params)
            (document_edit,) = params.edit.document_changes or []
            assert isinstance(document_edit, types.TextDocumentEdit)
            assert document_edit.text_document.version == version[0]
            (edit,) = document_edit.edits
            assert isinstance(edit, types.TextEdit)
            version[0] += 1
            start, end = edit.range.start, edit.range.end
            change(
                client,
                uri,
                version[0],
                (start.line, start.character),
                (end.line, end.character),
                edit.new_text,
            )
            return types.ApplyWorkspaceEditResult(applied=True)

        await diagnostics_where(client, uri, lambda d: bool(markers(d) and e722(d)))
        (remove,) = [a for a in await actions_at(client, uri, 4) if "remove" in a.title]
        assert remove.edit is None  # the server removes the text once the rejection is in
        answer = await run(client, remove)
        assert (answer["kind"], answer["removed"]) == ("rejected", True)
        (applied,) = edits
        assert applied.label == "Reject and remove AI snippet"
        (edit,) = applied.edit.document_changes[0].edits  # type: ignore[index,union-attr]
        assert edit.range == types.Range(types.Position(3, 0), types.Position(8, 0))
        assert edit.new_text == ""
        await diagnostics_where(client, uri, lambda d: not markers(d) and not e722(d))
        await settle(client)
    recorded = events(data_dir)
    assert [e["kind"] for e in recorded] == ["generated", "rejected"], recorded
    assert recorded[1]["snippet"] == snippet_id(SNIPPET)
    assert "ruff:E722" in recorded[1]["findings"]
