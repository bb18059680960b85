"""The sync as the editor sees it: the real server, a real PostgreSQL, ``ailoop/status``."""

from __future__ import annotations

import asyncio
import time
from pathlib import Path
from typing import Any

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from ailoop.capture.identity import snippet_id
from tests.e2e.lsp import change, diagnostics_where, markers, open_doc, session
from tests.store.pg_cluster import TestCluster
from tests.store.store_support import pg_count

pytestmark = pytest.mark.postgres

#: The repository identity of the ``workspace`` fixture (its origin remote).
WORKSPACE_REPO = "https://example.com/team/shop.git"

SNIPPET = "def total(items):\n    return sum(i.price for i in items)\n\n\nTAX = 0.2\n"


def as_dict(params: Any) -> dict[str, Any]:
    return params._asdict() if hasattr(params, "_asdict") else dict(params)


async def status_where(
    client: LanguageClient, predicate: Any, timeout: float = 30, *, since: int = 0
) -> dict[str, Any]:
    """Wait for an ``ailoop/status`` (the ``since``-th or a later one) satisfying ``predicate``."""
    seen: list[dict[str, Any]] = client.ailoop_status  # type: ignore[attr-defined]

    async def wait() -> dict[str, Any]:
        checked = since
        while True:
            for status in seen[checked:]:
                if predicate(status):
                    return status
            checked = len(seen)
            await client.wait_for_notification("ailoop/status")

    return await asyncio.wait_for(wait(), timeout)


def record_status(client: LanguageClient) -> None:
    """Keep every ``ailoop/status`` the server sends, as an editor's status line would."""
    client.ailoop_status = []  # type: ignore[attr-defined]

    @client.feature("ailoop/status")
    def on_status(params: Any) -> None:
        client.ailoop_status.append(as_dict(params))  # type: ignore[attr-defined]


async def review(client: LanguageClient, uri: str, version: int, text: str) -> None:
    change(client, uri, version, (0, 0), (0, 0), text)
    await diagnostics_where(client, uri, lambda d: bool(markers(d)))
    await client.workspace_execute_command_async(
        types.ExecuteCommandParams("ailoop.accept", [{"uri": uri, "snippet": snippet_id(text)}])
    )


async def test_events_reach_the_shared_store_and_the_editor_sees_the_state(
    data_dir: Path, workspace: Path, store_url: str
) -> None:
    options = {"store": {"url": store_url, "interval": 1}}
    async with session("visual_studio_code", data_dir, workspace, options) as client:
        record_status(client)
        uri = open_doc(client, workspace / "shop" / "cart.py", "")
        await review(client, uri, 2, SNIPPET)
        status = await status_where(client, lambda s: s["state"] == "idle" and s["pending"] == 0)
        assert "lastSync" in status
        assert pg_count(store_url) == 2  # generated + accepted, each once
    assert store_url.split("@")[0] not in str(client.log_messages)


async def test_a_frozen_store_never_slows_the_editor(
    data_dir: Path, workspace: Path, store_url: str, pg_cluster: TestCluster
) -> None:
    options = {
        "store": {"url": store_url, "interval": 1, "statementTimeout": 2, "connectTimeout": 2}
    }
    async with session("neovim", data_dir, workspace, options) as client:
        record_status(client)
        uri = open_doc(client, workspace / "shop" / "cart.py", "")
        await status_where(client, lambda s: s["state"] in ("idle", "syncing"))
        before = len(client.ailoop_status)  # type: ignore[attr-defined]
        frozen = pg_cluster.freeze()
        try:
            await review(client, uri, 2, SNIPPET)
            worst = 0.0
            for _ in range(20):  # the editor's requests while the sync is stuck
                started = time.perf_counter()
                await client.text_document_code_lens_async(
                    types.CodeLensParams(types.TextDocumentIdentifier(uri))
                )
                worst = max(worst, time.perf_counter() - started)
            assert worst < 0.5, f"a code lens request took {worst:.3f} s while the store was frozen"
            await status_where(
                client,
                lambda s: s["state"] in ("offline", "error") and s["pending"] == 2,
                since=before,
            )
        finally:
            pg_cluster.thaw(frozen)
        thawed = len(client.ailoop_status)  # type: ignore[attr-defined]
        await status_where(
            client, lambda s: s["state"] == "idle" and s["pending"] == 0, timeout=60, since=thawed
        )
    assert pg_count(store_url) == 2


async def test_no_store_configured_says_disabled(data_dir: Path, workspace: Path) -> None:
    async with session("visual_studio_code", data_dir, workspace) as client:
        record_status(client)
        status = await status_where(client, lambda s: True)
        assert status["state"] == "disabled"


def test_team_stats_match_the_local_ones_after_a_sync(
    data_dir: Path, store_url: str, tmp_path: Path
) -> None:
    import json
    import os

    from tests.conftest import ailoop
    from tests.store.store_support import REPO, local_db_with, make_events

    events = make_events(300, seed=41)
    local_db_with(data_dir, events)
    env = {"AILOOP_STORE_URL": store_url}
    os.environ.update(env)
    try:
        ailoop("sync", "--repo", REPO, data_dir=data_dir)
        team = json.loads(
            ailoop(
                "stats", "--team", "--format", "json", "--root", str(tmp_path), data_dir=data_dir
            ).stdout
        )
    finally:
        for key in env:
            os.environ.pop(key)
    local = json.loads(
        ailoop("stats", "--format", "json", "--root", str(tmp_path), data_dir=data_dir).stdout
    )
    assert team["overall"] == local["overall"]
    outcomes = {"accepted", "rejected", "kept", "reverted"}
    assert team["overall"]["outcomes"] == sum(e.kind.value in outcomes for e in events)
    assert team["by"]["tool"] == local["by"]["tool"]
    missing = ailoop("stats", "--team", "--root", str(tmp_path), data_dir=data_dir, check=False)
    assert missing.returncode == 1
    assert "no shared store configured" in missing.stderr


async def test_server_killed_mid_sync_loses_nothing_and_sends_nothing_twice(
    data_dir: Path, workspace: Path, store_url: str
) -> None:
    import os
    import signal

    from tests.store.store_support import local_db_with, make_events, pg_ids

    recorded = make_events(10_000, seed=7, repo=WORKSPACE_REPO)
    local_db_with(data_dir, recorded)
    options = {"store": {"url": store_url, "interval": 1, "batchSize": 200}}
    async with session("visual_studio_code", data_dir, workspace, options) as client:
        record_status(client)
        await status_where(client, lambda s: s["state"] == "syncing" or 0 < s["pending"] < 10_000)
        assert pg_count(store_url) < 10_000  # killed in the middle
        server = client._server
        assert server is not None
        os.kill(server.pid, signal.SIGKILL)
        await server.wait()
        client.error = RuntimeError("killed on purpose")  # no shutdown to a dead server
    async with session("neovim", data_dir, workspace, options) as client:
        record_status(client)
        await status_where(client, lambda s: s["state"] == "idle" and s["pending"] == 0, timeout=90)
    ids = pg_ids(store_url)
    assert len(ids) == len(set(ids)) == 10_000
    assert set(ids) == {e.id for e in recorded}
