"""Over stdio: each insertion is its own snippet, and every snippet gets an outcome.

Insertions next to an unreviewed snippet come in the shapes real editors send (Neovim's
``:put`` and ``nvim_buf_set_lines``, recorded from Neovim 0.7 and 0.11; VS Code's paste);
each is a snippet with its own ``generated`` event. However the connection ends
(``shutdown``, ``exit`` alone, the end of the input), the documents still open are closed
as if the editor had closed them. A snippet left without an outcome (the server was
killed) is picked up again when its file is opened, edited or not.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
from collections.abc import AsyncIterator, Callable
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from ailoop.capture.identity import snippet_id
from ailoop.feedback.jsonrpc import JsonRpcConnection
from tests.conftest import events
from tests.e2e.lsp import (
    SERVER,
    WAIT,
    change,
    diagnostics_where,
    markers,
    open_doc,
    session,
    settle,
)

BASE = '"""A module."""\n\n\ndef answer():\n    return 42\n'
FIRST = "def first(x):\n    y = x + 1\n    z = y * 2\n    return z\n"
SECOND = "def second(x):\n    y = x - 1\n    z = y * 3\n    return z\n"
RISKY = "def load(path):\n    try:\n        return open(path).read()\n    except:\n        return None\n"

#: ``(start, end, text)`` of one change inserting ``lines`` before line ``at`` of ``text``.
Shape = Callable[[str, int, str], tuple[tuple[int, int], tuple[int, int], str]]


def line_length(text: str, line: int) -> int:
    return len(text.split("\n")[line])


def nvim_put(text: str, at: int, lines: str) -> tuple[tuple[int, int], tuple[int, int], str]:
    """What Neovim 0.7 and 0.11 send for ``:put`` and ``nvim_buf_set_lines`` (recorded)."""
    return (at - 1, line_length(text, at - 1)), (at, 0), "\n" + lines


def line_replaced(text: str, at: int, lines: str) -> tuple[tuple[int, int], tuple[int, int], str]:
    """The line above replaced by itself and the new lines."""
    return (at - 1, 0), (at, 0), text.split("\n")[at - 1] + "\n" + lines


def pasted(text: str, at: int, lines: str) -> tuple[tuple[int, int], tuple[int, int], str]:
    """VS Code's paste at the start of a line."""
    return (at, 0), (at, 0), lines


SHAPES: dict[str, Shape] = {"nvim-put": nvim_put, "line-replaced": line_replaced, "paste": pasted}


def insert(text: str, at: int, lines: str) -> str:
    parts = text.split("\n")
    return "\n".join([*parts[:at], *lines.rstrip("\n").split("\n"), *parts[at:]])


async def put(
    client: LanguageClient, uri: str, version: int, text: str, at: int, lines: str, shape: Shape
) -> str:
    start, end, new = shape(text, at, lines)
    change(client, uri, version, start, end, new)
    return insert(text, at, lines)


async def first_publish(client: LanguageClient, uri: str) -> None:
    """Wait for the first diagnostics published for ``uri`` (an engine checked it)."""

    async def wait() -> None:
        while uri not in client.diagnostics:
            await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)

    await asyncio.wait_for(wait(), WAIT)


def marker_ids(client: LanguageClient, uri: str) -> list[str]:
    return [d.data["snippet"] for d in markers(client.diagnostics.get(uri, []))]


@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
@pytest.mark.parametrize("where", ["below", "above"])
async def test_an_insertion_next_to_a_snippet_is_a_snippet_of_its_own(
    data_dir: Path, workspace: Path, shape: Shape, where: str
) -> None:
    async with session("neovim", data_dir, workspace) as client:
        path = workspace / "shop" / "adjacent.py"
        uri = open_doc(client, path, BASE)
        text = await put(client, uri, 2, BASE, 1, FIRST, nvim_put)  # ``:1put a``: lines 1-4
        await diagnostics_where(client, uri, lambda d: len(markers(d)) == 1)
        at = 5 if where == "below" else 1  # ``:5put b`` right under it, or right above it
        text = await put(client, uri, 3, text, at, SECOND, shape)
        await diagnostics_where(client, uri, lambda d: len(markers(d)) == 2)
        assert sorted(marker_ids(client, uri)) == sorted([snippet_id(FIRST), snippet_id(SECOND)])
        states = {d.data["state"] for d in markers(client.diagnostics[uri])}
        assert states == {"unreviewed"}
        await settle(client)
    kinds = [(e["kind"], e["snippet"]) for e in events(data_dir) if e["kind"] != "reverted"]
    assert kinds == [("generated", snippet_id(FIRST)), ("generated", snippet_id(SECOND))]


async def test_an_insertion_inside_a_snippet_still_modifies_it(
    data_dir: Path, workspace: Path
) -> None:
    async with session("neovim", data_dir, workspace) as client:
        uri = open_doc(client, workspace / "shop" / "inside.py", BASE)
        text = await put(client, uri, 2, BASE, 1, FIRST, nvim_put)
        await diagnostics_where(client, uri, lambda d: len(markers(d)) == 1)
        await put(client, uri, 3, text, 3, SECOND, nvim_put)  # between two of its lines
        await diagnostics_where(
            client, uri, lambda d: [m.data["state"] for m in markers(d)] == ["modified"]
        )
        await settle(client)
    assert [e["kind"] for e in events(data_dir)] == ["generated", "modified", "reverted"]


# -- outcomes when the connection ends --------------------------------------------------------


@contextlib.asynccontextmanager
async def raw_server(data_dir: Path, workspace: Path) -> AsyncIterator[tuple[Any, Any]]:
    """Start ``ailoop serve`` and initialize it; yield the process and a JSON-RPC connection."""
    process = await asyncio.create_subprocess_exec(
        *SERVER,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "AILOOP_DATA_DIR": str(data_dir)},
    )
    assert process.stdin is not None
    assert process.stdout is not None

    async def on_request(method: str, params: Any) -> Any:
        return None

    connection = JsonRpcConnection(process.stdout, process.stdin, lambda m, p: None, on_request)
    connection.start()
    try:
        await connection.request(
            "initialize",
            {"processId": None, "rootUri": workspace.as_uri(), "capabilities": {}},
            timeout=WAIT,
        )
        connection.notify("initialized", {})
        yield process, connection
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        connection.close()


def did_open(connection: Any, path: Path, text: str) -> str:
    uri = path.as_uri()
    item = {"uri": uri, "languageId": "python", "version": 1, "text": text}
    connection.notify("textDocument/didOpen", {"textDocument": item})
    return uri


def did_change(connection: Any, uri: str, version: int, start: Any, end: Any, text: str) -> None:
    edit = {
        "range": {
            "start": {"line": start[0], "character": start[1]},
            "end": {"line": end[0], "character": end[1]},
        },
        "text": text,
    }
    params = {"textDocument": {"uri": uri, "version": version}, "contentChanges": [edit]}
    connection.notify("textDocument/didChange", params)


async def two_documents(connection: Any, workspace: Path) -> None:
    """A saved document with a snippet, and one whose snippet was never saved."""
    saved = workspace / "shop" / "saved.py"
    saved.write_text(BASE, encoding="utf-8")
    uri = did_open(connection, saved, BASE)
    did_change(connection, uri, 2, *nvim_put(BASE, 1, FIRST))
    saved.write_text(insert(BASE, 1, FIRST), encoding="utf-8")
    connection.notify("textDocument/didSave", {"textDocument": {"uri": uri}})
    unsaved = workspace / "shop" / "unsaved.py"
    uri = did_open(connection, unsaved, BASE)
    did_change(connection, uri, 2, *nvim_put(BASE, 1, SECOND))
    await connection.request("ailoop/settle", {}, timeout=WAIT)


@pytest.mark.parametrize("ending", ["shutdown-and-exit", "shutdown-then-end", "exit", "end"])
async def test_open_documents_are_closed_when_the_connection_ends(
    data_dir: Path, workspace: Path, ending: str
) -> None:
    """Neovim quits without didClose: 0.11 sends shutdown and closes the pipe, 0.7 adds exit."""
    async with raw_server(data_dir, workspace) as (process, connection):
        await two_documents(connection, workspace)
        if ending.startswith("shutdown"):
            await connection.request("shutdown", None, timeout=WAIT)
        if "exit" in ending:
            connection.notify("exit")
        else:
            process.stdin.close()
        await asyncio.wait_for(process.wait(), WAIT)
    outcomes = {(e["path"], e["kind"]) for e in events(data_dir) if e["kind"] != "generated"}
    assert outcomes == {("shop/saved.py", "kept"), ("shop/unsaved.py", "reverted")}


async def test_a_document_closed_before_the_end_gets_one_outcome(
    data_dir: Path, workspace: Path
) -> None:
    async with session("neovim", data_dir, workspace) as client:
        path = workspace / "shop" / "closed.py"
        uri = open_doc(client, path, BASE)
        change(client, uri, 2, *nvim_put(BASE, 1, FIRST))
        await diagnostics_where(client, uri, lambda d: bool(markers(d)))
        path.write_text(insert(BASE, 1, FIRST), encoding="utf-8")
        client.text_document_did_save(
            types.DidSaveTextDocumentParams(types.TextDocumentIdentifier(uri))
        )
        client.text_document_did_close(
            types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri))
        )
        await settle(client)
    assert [e["kind"] for e in events(data_dir)] == ["generated", "kept"]


# -- picked up again ----------------------------------------------------------------------------


@pytest.mark.parametrize("edited", [False, True], ids=["as-generated", "edited"])
async def test_a_snippet_without_an_outcome_is_picked_up_again(
    data_dir: Path, workspace: Path, edited: bool
) -> None:
    """The server was killed: on the next opening the snippet is found by its last text."""
    path = workspace / "shop" / "again.py"
    text = insert(BASE, 1, FIRST)
    async with raw_server(data_dir, workspace) as (process, connection):
        uri = did_open(connection, path, BASE)
        did_change(connection, uri, 2, *nvim_put(BASE, 1, FIRST))
        if edited:
            await connection.request("ailoop/settle", {}, timeout=WAIT)
            did_change(connection, uri, 3, (2, 8), (2, 13), "x + 10")  # y = x + 10
            text = text.replace("y = x + 1\n", "y = x + 10\n")
        path.write_text(text, encoding="utf-8")
        connection.notify("textDocument/didSave", {"textDocument": {"uri": uri}})
        await connection.request("ailoop/settle", {}, timeout=WAIT)
        process.kill()  # SIGKILL: no teardown, no outcome
        await process.wait()
    assert [e["kind"] for e in events(data_dir)] == ["generated", "modified"][: 1 + edited]

    async with session("visual_studio_code", data_dir, workspace) as client:
        uri = open_doc(client, path, text)
        (marker,) = markers(await diagnostics_where(client, uri, lambda d: bool(markers(d))))
        assert marker.data["snippet"] == snippet_id(FIRST)
        assert marker.data["state"] == ("modified" if edited else "unreviewed")
        assert marker.data["range"]["start"]["line"] == 1
        client.text_document_did_close(
            types.DidCloseTextDocumentParams(types.TextDocumentIdentifier(uri))
        )
        await settle(client)
    *_, outcome = events(data_dir)
    assert (outcome["kind"], outcome["snippet"]) == ("kept", snippet_id(FIRST))
    assert outcome["text"] == (FIRST.replace("x + 1\n", "x + 10\n") if edited else FIRST)
    assert (outcome["similarity"] < 1.0) is edited
    assert [e["kind"] for e in events(data_dir)].count("generated") == 1


async def test_a_kept_snippet_is_not_picked_up_again(data_dir: Path, workspace: Path) -> None:
    path = workspace / "shop" / "kept.py"
    path.write_text(BASE, encoding="utf-8")
    async with session("neovim", data_dir, workspace) as client:
        uri = open_doc(client, path, BASE)
        change(client, uri, 2, *nvim_put(BASE, 1, FIRST))
        await diagnostics_where(client, uri, lambda d: bool(markers(d)))
        path.write_text(insert(BASE, 1, FIRST), encoding="utf-8")
        client.text_document_did_save(
            types.DidSaveTextDocumentParams(types.TextDocumentIdentifier(uri))
        )
        await settle(client)
    assert [e["kind"] for e in events(data_dir)] == ["generated", "kept"]
    async with session("neovim", data_dir, workspace) as client:
        uri = open_doc(client, path, insert(BASE, 1, FIRST))
        await settle(client)
        assert marker_ids(client, uri) == []
    assert [e["kind"] for e in events(data_dir)] == ["generated", "kept"]


# -- findings in generated events ---------------------------------------------------------------


@pytest.mark.parametrize("engines", ["ready", "starting"])
async def test_generated_events_carry_the_engines_first_findings(
    data_dir: Path, workspace: Path, engines: str
) -> None:
    """ruff's E722 on a bare ``except:`` is in the snippet's ``generated`` event."""
    async with session("neovim", data_dir, workspace) as client:
        uri = open_doc(client, workspace / "shop" / "risky.py", BASE)
        if engines == "ready":  # the first check of the opened document came back
            await first_publish(client, uri)
        change(client, uri, 2, *nvim_put(BASE, 1, RISKY))
        found = await diagnostics_where(client, uri, lambda d: bool(markers(d)))
        await settle(client)
    (generated,) = [e for e in events(data_dir) if e["kind"] == "generated"]
    assert generated["snippet"] == snippet_id(RISKY)
    assert "ruff:E722" in generated["findings"]
    assert any("ruff:E722" in (d.data or {}).get("codes", [d.code]) for d in found)
