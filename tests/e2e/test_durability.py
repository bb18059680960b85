"""The real server when the store fails: no event is lost, no outcome is answered too early."""

from __future__ import annotations

import asyncio
import json
import sqlite3
import time
from pathlib import Path
from typing import Any

from lsprotocol import types
from pytest_lsp import LanguageClient

from ailoop.capture.identity import snippet_id
from ailoop.store.local import DB_NAME, LocalStore
from ailoop.store.writer import JOURNAL_PREFIX, OUTCOME_WAIT
from tests.conftest import events
from tests.e2e.lsp import change, diagnostics_where, markers, open_doc, session, settle

BASE = "import os\n"
SNIPPET = "\n\ndef where(name):\n    base = os.getcwd()\n    return os.path.join(base, name)\n"
CODE = SNIPPET.lstrip("\n")
OTHER = "\n\ndef size(name):\n    info = os.stat(name)\n    return info.st_size + 0\n"


def journals(data_dir: Path) -> list[Path]:
    return sorted((data_dir / "spill").glob(f"{JOURNAL_PREFIX}*.jsonl"))


async def snippet_in(client: LanguageClient, uri: str) -> str:
    found = markers(await diagnostics_where(client, uri, lambda d: bool(markers(d))))
    return str(found[0].data["snippet"])


async def review(client: LanguageClient, command: str, uri: str, snippet: str) -> Any:
    return await asyncio.wait_for(
        client.workspace_execute_command_async(
            types.ExecuteCommandParams(command, [{"uri": uri, "snippet": snippet}])
        ),
        15,
    )


async def wait_for_events(data_dir: Path, count: int, timeout: float = 20) -> list[dict[str, Any]]:
    deadline = time.monotonic() + timeout
    while True:
        found = events(data_dir)
        if len(found) >= count or time.monotonic() > deadline:
            return found
        await asyncio.sleep(0.3)


async def test_a_failed_hook_record_lookup_still_records_the_snippet(
    data_dir: Path, workspace: Path
) -> None:
    """The store cannot be opened when the new snippet is looked up among hook records."""
    (data_dir / DB_NAME).mkdir()  # sqlite cannot open a directory
    async with session("visual_studio_code", data_dir, workspace) as client:
        uri = open_doc(client, workspace / "shop" / "paths.py", BASE)
        change(client, uri, 2, (1, 0), (1, 0), SNIPPET)
        assert await snippet_in(client, uri) == snippet_id(CODE)  # the marker is there
        change(client, uri, 3, (6, 0), (6, 0), OTHER)
        await diagnostics_where(client, uri, lambda d: len(markers(d)) == 2)
        (data_dir / DB_NAME).rmdir()  # the store is back; the queued events are retried
        recorded = await wait_for_events(data_dir, 2)
        lookups = [m for m in client.log_messages if "agent hooks' records" in m.message]
        await settle(client)
    assert [(e["kind"], e["snippet"], e["source"]) for e in recorded] == [
        ("generated", snippet_id(CODE), "heuristic"),
        ("generated", snippet_id(OTHER.lstrip("\n")), "heuristic"),
    ]
    assert len(lookups) == 1, [m.message for m in lookups]  # logged once, not per snippet
    assert lookups[0].type == types.MessageType.Warning


async def test_an_outcome_in_the_store_is_answered_durable(data_dir: Path, workspace: Path) -> None:
    async with session("visual_studio_code", data_dir, workspace) as client:
        uri = open_doc(client, workspace / "shop" / "paths.py", BASE)
        change(client, uri, 2, (1, 0), (1, 0), SNIPPET)
        snippet = await snippet_in(client, uri)
        await settle(client)
        answer = await review(client, "ailoop.accept", uri, snippet)
        assert answer["durable"] is True
        assert not (data_dir / "spill").exists()  # nothing journaled on the normal path
    assert [e["id"] for e in events(data_dir)][-1] == answer["event"]


async def test_a_rejection_answered_not_durable_survives_a_kill(
    data_dir: Path, workspace: Path
) -> None:
    """The store is locked by another program; the server is killed after its answer."""
    path = workspace / "shop" / "paths.py"
    async with session("visual_studio_code", data_dir, workspace) as client:
        uri = open_doc(client, path, BASE)
        change(client, uri, 2, (1, 0), (1, 0), SNIPPET)
        snippet = await snippet_in(client, uri)
        await settle(client)  # the generated event is in the store
        holder = sqlite3.connect(data_dir / DB_NAME, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            started = time.monotonic()
            answer = await review(client, "ailoop.reject", uri, snippet)
            elapsed = time.monotonic() - started
            assert answer["durable"] is False
            assert answer["kind"] == "rejected"
            [journal] = journals(data_dir)
            assert [json.loads(x)["id"] for x in journal.read_text().splitlines()] == [
                answer["event"]
            ]
            server = client._server
            assert server is not None
            server.kill()  # SIGKILL: no shutdown, no spill at exit
            await server.wait()
            client.error = RuntimeError("killed by the test")  # no shutdown request
        finally:
            holder.execute("ROLLBACK")
            holder.close()
    assert elapsed < OUTCOME_WAIT + 2.0
    assert [e["kind"] for e in events(data_dir)] == ["generated"]  # not in SQLite yet
    async with session("visual_studio_code", data_dir, workspace) as client:
        open_doc(client, path, BASE + SNIPPET)  # opening the store imports the journal
        await settle(client)
    recorded = events(data_dir)
    assert [e["kind"] for e in recorded] == ["generated", "rejected"]
    assert recorded[1]["id"] == answer["event"]
    assert journals(data_dir) == []


async def test_a_journaled_outcome_is_stored_once_when_the_store_comes_back(
    data_dir: Path, workspace: Path
) -> None:
    async with session("neovim", data_dir, workspace) as client:
        uri = open_doc(client, workspace / "shop" / "paths.py", BASE)
        change(client, uri, 2, (1, 0), (1, 0), SNIPPET)
        snippet = await snippet_in(client, uri)
        await settle(client)
        holder = sqlite3.connect(data_dir / DB_NAME, isolation_level=None)
        holder.execute("BEGIN EXCLUSIVE")
        try:
            answer = await review(client, "ailoop.accept", uri, snippet)
            assert answer["durable"] is False
            assert len(journals(data_dir)) == 1
        finally:
            holder.execute("ROLLBACK")
            holder.close()
        await settle(client)
        deadline = time.monotonic() + 20
        while journals(data_dir) and time.monotonic() < deadline:
            await asyncio.sleep(0.1)
        assert journals(data_dir) == []  # removed once the outcome is in SQLite
        assert any("saved to the journal" in m.message for m in client.log_messages)
    store = LocalStore.open(data_dir)
    try:
        assert [e.kind.value for e in store.events()] == ["generated", "accepted"]
    finally:
        store.close()
