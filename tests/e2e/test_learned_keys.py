"""What the team's outcomes teach, shown in the editor: rule numbers, history and shape keys.

The real server over stdio with real ruff and ty: rejections recorded through the code
actions, then the same kind of snippet again.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from lsprotocol import types
from pytest_lsp import LanguageClient

from ailoop.capture.identity import snippet_id
from tests.conftest import events
from tests.e2e.lsp import (
    change,
    diagnostics_where,
    markers,
    open_doc,
    session,
    settle,
    with_code,
)


def bare_except(n: int) -> str:
    return f"def read_{n}(path):\n    try:\n        return open(path).read()\n    except:\n        return ''\n"


async def reject(client: LanguageClient, uri: str, text: str, **extra: Any) -> None:
    await client.workspace_execute_command_async(
        types.ExecuteCommandParams(
            "ailoop.reject", [{"uri": uri, "snippet": snippet_id(text), **extra}]
        )
    )
    await diagnostics_where(client, uri, lambda d: not markers(d))


async def test_a_rule_rejected_three_times_shows_its_numbers_on_the_fourth(
    data_dir: Path, workspace: Path
) -> None:
    async with session("visual_studio_code", data_dir, workspace) as client:
        uri = open_doc(client, workspace / "shop" / "io.py", "")
        version = 1
        for n in range(3):
            version += 1
            change(client, uri, version, (0, 0), (0, 0), bare_except(n))
            await diagnostics_where(client, uri, lambda d: bool(with_code(d, "ruff:E722")))
            await reject(client, uri, bare_except(n), pattern="ruff:E722")
            version += 1
            change(client, uri, version, (0, 0), (5, 0), "")
        version += 1
        change(client, uri, version, (0, 0), (0, 0), bare_except(3))
        found = await diagnostics_where(
            client,
            uri,
            lambda d: any("rejected 3× before" in x.message for x in with_code(d, "ruff:E722")),
        )
        (rule,) = with_code(found, "ruff:E722")
        assert "rejected 3× before (3 in the last 7 days), accepted 0×" in rule.message
        assert rule.data["pattern"] == "ruff:E722"
        assert rule.data["numbers"]["rejected"] == 3
        assert rule.data["snippet"] == snippet_id(bare_except(3))
        await settle(client)


async def test_a_rejected_snippet_offered_again_is_flagged_with_the_count(
    data_dir: Path, workspace: Path
) -> None:
    text = "def total(items):\n    result = 0\n    for item in items:\n        result += item\n    return result\n"
    async with session("visual_studio_code", data_dir, workspace) as client:
        # offered and rejected in four files (a deletion then the same text in one file
        # reads as an undo): the last three carry the key, enough to give it support
        for n in range(4):
            uri = open_doc(client, workspace / "shop" / f"sums_{n}.py", "")
            change(client, uri, 2, (0, 0), (0, 0), text)
            await diagnostics_where(client, uri, lambda d: bool(markers(d)))
            await reject(client, uri, text)
        uri = open_doc(client, workspace / "shop" / "sums.py", "")
        change(client, uri, 2, (0, 0), (0, 0), text)
        found = await diagnostics_where(  # with the marker: the snippet's actions are there
            client, uri, lambda d: bool(markers(d) and with_code(d, "history:rejected-before"))
        )
        (history,) = with_code(found, "history:rejected-before")
        assert "this same code was rejected 4× before in this repository" in history.message
        assert history.range.start.line == 0
        assert history.range.end.line == 0
        assert history.data["pattern"] == "history:rejected-before"
        actions = await client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri),
                range=types.Range(types.Position(1, 0), types.Position(1, 0)),
                context=types.CodeActionContext(diagnostics=[]),
            )
        )
        titles = [a.title for a in actions]
        assert any(t.startswith("Reject: the same code was rejected before") for t in titles)
        await settle(client)
    generated = [e for e in events(data_dir) if e["kind"] == "generated"]
    assert "history:rejected-before" not in generated[0]["findings"]
    assert "history:rejected-before" in generated[1]["findings"]  # rejected once before
    rejected = [e for e in events(data_dir) if e["kind"] == "rejected"]
    assert ["history:rejected-before" in e["findings"] for e in rejected] == [
        False,
        True,
        True,
        True,
    ]


async def test_an_insertion_that_breaks_a_file_that_parsed(data_dir: Path, workspace: Path) -> None:
    human = "def ok():\n    return 1\n"
    broken = "def half(values):\n    total = sum(values\n    return total / len(values)\n"
    fine = "def mean(values):\n    total = sum(values)\n    return total / len(values)\n"
    async with session("visual_studio_code", data_dir, workspace) as client:
        uri = open_doc(client, workspace / "shop" / "calc.py", human)
        await settle(client)  # the engines' report on the file as it was
        change(client, uri, 2, (2, 0), (2, 0), "\n\n" + broken)
        await diagnostics_where(client, uri, lambda d: bool(markers(d)))
        await settle(client)
        change(client, uri, 3, (2, 0), (7, 0), "")
        await diagnostics_where(client, uri, lambda d: not markers(d))
        await settle(client)
        change(client, uri, 4, (2, 0), (2, 0), "\n\n" + fine)
        await diagnostics_where(client, uri, lambda d: bool(markers(d)))
        await settle(client)
    generated = {e["snippet"]: e for e in events(data_dir) if e["kind"] == "generated"}
    assert "shape:breaks-syntax" in generated[snippet_id(broken)]["findings"]
    assert "shape:breaks-syntax" not in generated[snippet_id(fine)]["findings"]
