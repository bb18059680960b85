"""The real server over stdio, initialized with real editors' capabilities."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest
from lsprotocol import types

from ailoop.capture.identity import snippet_id
from tests.conftest import events
from tests.e2e.lsp import change, diagnostics_where, markers, open_doc, session, settle

EDITORS = ["visual_studio_code", "neovim"]

BASE = "from dataclasses import dataclass\n\n\n@dataclass\nclass Item:\n    price: float\n"
SNIPPET = (
    "\n\ndef total(items):\n"
    "    result = 0\n"
    "    for item in items:\n"
    "        result += item.price\n"
    "    return result\n"
)
CODE = SNIPPET.lstrip("\n")  # the snippet: whole lines of code, no blank edges


@pytest.mark.parametrize("editor", EDITORS)
async def test_insertion_gets_a_marker_and_a_code_lens(
    editor: str, data_dir: Path, workspace: Path
) -> None:
    async with session(editor, data_dir, workspace) as client:
        uri = open_doc(client, workspace / "shop" / "cart.py", BASE)
        change(client, uri, 2, (6, 0), (6, 0), SNIPPET)
        found = markers(await diagnostics_where(client, uri, lambda d: bool(markers(d))))
        assert len(found) == 1
        marker = found[0]
        # a hint on the snippet's first line; the whole snippet in data.range
        assert marker.range == types.Range(types.Position(8, 0), types.Position(8, 17))
        assert marker.data == {
            "snippet": snippet_id(CODE),
            "tool": "unknown",
            "state": "unreviewed",
            "range": {"start": {"line": 8, "character": 0}, "end": {"line": 12, "character": 17}},
        }
        assert "AI snippet from unknown, 5 lines" in marker.message
        assert snippet_id(CODE)[7:15] in marker.message
        assert marker.severity == types.DiagnosticSeverity.Hint

        lenses = await client.text_document_code_lens_async(
            types.CodeLensParams(types.TextDocumentIdentifier(uri))
        )
        titles = [lens.command.title for lens in lenses if lens.command]
        assert titles == ["AI snippet · unknown · 5 lines", "Accept", "Reject"]
        assert {lens.range.start.line for lens in lenses} == {8}
        await settle(client)
    generated = events(data_dir)
    assert [(e["kind"], e["snippet"], e["source"]) for e in generated] == [
        ("generated", snippet_id(CODE), "heuristic"),
        ("reverted", snippet_id(CODE), "heuristic"),  # at the end: never saved, not on disk
    ]
    event = generated[0]
    assert event["repo"] == "https://example.com/team/shop.git"
    assert event["path"] == "shop/cart.py"
    assert event["language"] == "python"
    assert event["lines"] == 5
    assert event["text"] == CODE
    assert event["user"]


@pytest.mark.parametrize("editor", EDITORS)
async def test_typing_by_hand_never_becomes_a_snippet(
    editor: str, data_dir: Path, workspace: Path
) -> None:
    async with session(editor, data_dir, workspace) as client:
        uri = open_doc(client, workspace / "shop" / "cart.py", BASE)
        version, line, col = 2, 6, 0
        for ch in SNIPPET:  # one character per change
            change(client, uri, version, (line, col), (line, col), ch)
            version += 1
            line, col = (line + 1, 0) if ch == "\n" else (line, col + 1)
        for word in ["total", " = ", "sum(item.price", " for item in items)"]:  # word completions
            change(client, uri, version, (line, col), (line, col), word)
            version += 1
            col += len(word)
        await settle(client)
        assert not markers(client.diagnostics.get(uri, []))
    assert events(data_dir) == []


async def test_neovim_set_lines_is_judged_by_the_text_it_adds(
    data_dir: Path, workspace: Path
) -> None:
    """nvim_buf_set_lines arrives as a replacement of the line break before the new lines."""
    async with session("neovim", data_dir, workspace) as client:
        uri = open_doc(client, workspace / "shop" / "cart.py", "import os\nx = 1")
        added = "def f():\n    return os.getcwd()\n\nprint(f())"
        change(client, uri, 2, (0, 9), (1, 0), "\n" + added + "\n")
        found = markers(await diagnostics_where(client, uri, lambda d: bool(markers(d))))
        assert found[0].data["snippet"] == snippet_id(added)
        assert found[0].range.start == types.Position(1, 0)


@pytest.mark.parametrize("editor", EDITORS)
async def test_accept_and_reject_remove_the_marker_and_record_the_event(
    editor: str, data_dir: Path, workspace: Path
) -> None:
    second = "\n\ndef parse(raw):\n    try:\n        return float(raw)\n    except:\n        return 0.0\n"
    async with session(editor, data_dir, workspace) as client:
        uri = open_doc(client, workspace / "shop" / "cart.py", BASE)
        change(client, uri, 2, (6, 0), (6, 0), SNIPPET)
        change(client, uri, 3, (13, 0), (13, 0), second)
        await diagnostics_where(client, uri, lambda d: len(markers(d)) == 2)

        actions = await client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri),
                range=types.Range(types.Position(10, 4), types.Position(10, 4)),
                context=types.CodeActionContext(diagnostics=[]),
            )
        )
        assert [a.title for a in actions] == [
            "Reject AI snippet (unknown, 5 lines)",
            "Reject and remove AI snippet (unknown, 5 lines)",
            "Accept AI snippet (unknown, 5 lines)",
        ]
        accept = actions[-1].command
        assert accept is not None
        assert accept.command == "ailoop.accept"
        result = await client.workspace_execute_command_async(
            types.ExecuteCommandParams(command=accept.command, arguments=accept.arguments)
        )
        assert result["kind"] == "accepted"
        left = await diagnostics_where(client, uri, lambda d: len(markers(d)) == 1)
        assert markers(left)[0].data["snippet"] == snippet_id(second)

        await client.workspace_execute_command_async(
            types.ExecuteCommandParams(
                command="ailoop.reject",
                arguments=[
                    {
                        "uri": uri,
                        "snippet": snippet_id(second),
                        "reason": "  swallows every exception ",
                        "pattern": "ruff:E722",
                    }
                ],
            )
        )
        await diagnostics_where(client, uri, lambda d: not markers(d))
    recorded = events(data_dir)
    assert [e["kind"] for e in recorded] == ["generated", "generated", "accepted", "rejected"]
    rejected = recorded[-1]
    assert rejected["snippet"] == snippet_id(second)
    assert rejected["reason"] == "swallows every exception"
    assert rejected["pattern"] == "ruff:E722"
    assert recorded[2]["snippet"] == snippet_id(CODE)
    assert len({e["id"] for e in recorded}) == 4


async def test_commands_with_bad_arguments_get_a_clear_error(
    data_dir: Path, workspace: Path
) -> None:
    async with session("visual_studio_code", data_dir, workspace) as client:
        uri = open_doc(client, workspace / "shop" / "cart.py", BASE)
        for arguments, expected in [
            ([], "expected one object argument"),
            (["sha256:x"], "expected one object argument"),
            ([{"uri": uri}], "needs 'uri' and 'snippet'"),
            ([{"uri": uri, "snippet": "sha256:0"}], "no live AI snippet"),
            ([{"uri": "file:///nowhere.py", "snippet": "sha256:0"}], "is not open"),
        ]:
            with pytest.raises(Exception, match=expected):
                await client.workspace_execute_command_async(
                    types.ExecuteCommandParams(command="ailoop.accept", arguments=arguments)
                )
        assert not await client.text_document_code_lens_async(
            types.CodeLensParams(types.TextDocumentIdentifier(uri))
        )
    assert events(data_dir) == []


async def test_announced_insertion_carries_the_tool_even_when_small(
    data_dir: Path, workspace: Path
) -> None:
    async with session("visual_studio_code", data_dir, workspace) as client:
        uri = open_doc(client, workspace / "shop" / "cart.py", BASE)
        client.protocol.notify("ailoop/generated", {"uri": uri, "tool": "copilot"})
        change(client, uri, 2, (6, 0), (6, 0), "TAX_RATE = 0.2\n")  # one line: below thresholds
        found = markers(await diagnostics_where(client, uri, lambda d: bool(markers(d))))
        assert found[0].data["snippet"] == snippet_id("TAX_RATE = 0.2")
        assert found[0].data["tool"] == "copilot"
        await settle(client)
    event, outcome = events(data_dir)
    assert (event["tool"], event["source"], event["lines"]) == ("copilot", "client", 1)
    assert outcome["kind"] == "reverted"  # at the end: never saved, not on disk


async def test_announcement_with_a_range_tags_text_already_there(
    data_dir: Path, workspace: Path
) -> None:
    async with session("neovim", data_dir, workspace) as client:
        uri = open_doc(client, workspace / "shop" / "cart.py", BASE)
        client.protocol.notify(
            "ailoop/generated",
            {
                "uri": uri,
                "tool": "codex",
                "range": {"start": {"line": 3, "character": 0}, "end": {"line": 6, "character": 0}},
            },
        )
        found = markers(await diagnostics_where(client, uri, lambda d: bool(markers(d))))
        assert found[0].data["tool"] == "codex"
        client.protocol.notify("ailoop/generated", {"tool": "codex"})  # malformed: logged, ignored
        await settle(client)
    assert [(e["kind"], e["tool"], e["source"]) for e in events(data_dir)] == [
        ("generated", "codex", "client"),
        ("kept", "codex", "client"),  # at the end: the document was never changed
    ]


async def test_undo_reverts_and_edits_inside_modify(data_dir: Path, workspace: Path) -> None:
    async with session("visual_studio_code", data_dir, workspace) as client:
        uri = open_doc(client, workspace / "shop" / "cart.py", BASE)
        change(client, uri, 2, (6, 0), (6, 0), SNIPPET)
        await diagnostics_where(client, uri, lambda d: bool(markers(d)))
        change(client, uri, 3, (9, 4), (9, 14), "total = 0")  # edit inside the snippet
        await settle(client)
        (marker,) = markers(client.diagnostics[uri])
        assert "edited since" in marker.message
        change(client, uri, 4, (6, 0), (13, 0), "")  # undo: the whole insertion goes
        await diagnostics_where(client, uri, lambda d: not markers(d))
        await settle(client)
    recorded = events(data_dir)
    assert [e["kind"] for e in recorded] == ["generated", "modified", "reverted"]
    assert 0.5 < recorded[1]["similarity"] < 1.0


async def test_saved_and_closed_unreviewed_snippet_is_kept(data_dir: Path, workspace: Path) -> None:
    path = workspace / "shop" / "cart.py"
    async with session("visual_studio_code", data_dir, workspace) as client:
        uri = open_doc(client, path, BASE)
        change(client, uri, 2, (6, 0), (6, 0), SNIPPET)
        await diagnostics_where(client, uri, lambda d: bool(markers(d)))
        path.write_text(BASE + SNIPPET, encoding="utf-8")
        client.text_document_did_save(
            types.DidSaveTextDocumentParams(types.TextDocumentIdentifier(uri))
        )
        client.text_document_did_close(
            types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri))
        )
        await diagnostics_where(client, uri, lambda d: not d)
        await settle(client)
    assert [e["kind"] for e in events(data_dir)] == ["generated", "kept"]


async def test_closed_without_saving_is_reverted(data_dir: Path, workspace: Path) -> None:
    path = workspace / "shop" / "cart.py"
    path.write_text(BASE, encoding="utf-8")
    async with session("neovim", data_dir, workspace) as client:
        uri = open_doc(client, path, BASE)
        change(client, uri, 2, (6, 0), (6, 0), SNIPPET)
        await diagnostics_where(client, uri, lambda d: bool(markers(d)))
        client.text_document_did_close(
            types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri))
        )
        await settle(client)
    assert [e["kind"] for e in events(data_dir)] == ["generated", "reverted"]


async def test_whole_document_reload_turns_inserted_hunks_into_snippets(
    data_dir: Path, workspace: Path
) -> None:
    async with session("visual_studio_code", data_dir, workspace) as client:
        uri = open_doc(client, workspace / "shop" / "cart.py", BASE)
        rewritten = BASE.replace("@dataclass", "import math\n\n\n@dataclass") + SNIPPET
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=2),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text=rewritten)],
            )
        )
        found = markers(await diagnostics_where(client, uri, lambda d: bool(markers(d))))
        assert [d.data["snippet"] for d in found] == [snippet_id(CODE)]  # "import math" is small
        # Back to the text that was opened (a revert): the snippet goes, none is created.
        client.text_document_did_change(
            types.DidChangeTextDocumentParams(
                text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=3),
                content_changes=[types.TextDocumentContentChangeWholeDocument(text=BASE)],
            )
        )
        await diagnostics_where(client, uri, lambda d: not markers(d))
        await settle(client)
    assert [e["kind"] for e in events(data_dir)] == ["generated", "reverted"]


async def test_two_servers_write_to_one_store_at_once(data_dir: Path, workspace: Path) -> None:
    rounds = 15

    async def window(editor: str, name: str) -> None:
        async with session(editor, data_dir, workspace) as client:
            uri = open_doc(client, workspace / "shop" / f"{name}.py", "")
            for i in range(rounds):
                text = f"def {name}_{i}(x):\n    y = x * {i}\n    return y + {i}\n"
                change(client, uri, 2 * i + 2, (0, 0), (0, 0), text)
                await diagnostics_where(client, uri, lambda d: bool(markers(d)))
                await client.workspace_execute_command_async(
                    types.ExecuteCommandParams(
                        command="ailoop.accept" if i % 2 else "ailoop.reject",
                        arguments=[{"uri": uri, "snippet": snippet_id(text)}],
                    )
                )
                await diagnostics_where(client, uri, lambda d: not markers(d))
                change(client, uri, 2 * i + 3, (0, 0), (3, 0), "")  # clear for the next round
            await settle(client)

    await asyncio.gather(window("visual_studio_code", "alpha"), window("neovim", "beta"))
    recorded = events(data_dir)
    assert len(recorded) == 4 * rounds  # generated + outcome (+ reverted? no: reviewed first)
    for name in ("alpha", "beta"):
        mine = [e for e in recorded if e["path"] == f"shop/{name}.py"]
        assert [e["kind"] for e in mine].count("generated") == rounds
        assert [e["kind"] for e in mine].count("accepted") == rounds // 2
        assert [e["kind"] for e in mine].count("rejected") == rounds - rounds // 2
    assert len({e["id"] for e in recorded}) == len(recorded)
