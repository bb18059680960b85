"""Faults the sync must survive, against a real PostgreSQL: stop, freeze, races, SIGKILL."""

from __future__ import annotations

import asyncio
import os
import signal
import subprocess
import sys
from collections import Counter
from pathlib import Path

import pytest
from pg_cluster import PASSWORD_ROLE, TestCluster
from store_support import (
    REPO,
    LoopLatency,
    StatusRecorder,
    local_db_with,
    make_events,
    pg_count,
    pg_ids,
    wait_until,
)

from ailoop.store.events import Event
from ailoop.store.local import LocalStore
from ailoop.store.sync import SyncOptions, SyncTask, count_unsynced, sync_once

pytestmark = pytest.mark.postgres

SERVER = str(Path(__file__).resolve().parents[2] / "server")

FAST_RETRY = SyncOptions(
    batch_size=50,
    connect_timeout=2.0,
    statement_timeout=1.0,
    interval=60.0,
    stats_interval=3600.0,
    backoff_initial=0.2,
    backoff_max=1.0,
)


def assert_exactly_once(url: str, events: list[Event]) -> None:
    """Every event is in the shared store, and none twice."""
    ids = pg_ids(url)
    assert len(ids) == len(events)
    assert Counter(ids) == Counter(e.id for e in events)


async def test_store_stopped_mid_sync_then_started(
    pg_cluster: TestCluster, store_url: str, data_dir: Path
) -> None:
    events = make_events(10_000, seed=20)
    local_db = local_db_with(data_dir, events)
    statuses = StatusRecorder()
    task = SyncTask(local_db, store_url, FAST_RETRY, statuses, repos=[REPO])
    runner = asyncio.create_task(task.run())
    try:
        await statuses.wait_for(lambda s: s.progress is not None and s.progress[0] >= 1000, 60)
        await asyncio.to_thread(pg_cluster.stop, "fast")
        try:
            offline = await statuses.wait_for(lambda s: s.state == "offline", 30)
            assert offline.pending > 0, "the store stopped after the sync had finished"
            assert offline.last_error is not None
        finally:
            await asyncio.to_thread(pg_cluster.start)
        await statuses.wait_for(lambda s: s.state == "idle" and s.pending == 0, 60)
    finally:
        await task.stop()
        await runner
    assert_exactly_once(store_url, events)
    assert count_unsynced(local_db) == 0


async def test_store_frozen_mid_sync_times_out_and_the_loop_keeps_answering(
    pg_cluster: TestCluster, store_url: str, data_dir: Path
) -> None:
    events = make_events(10_000, seed=21)
    local_db = local_db_with(data_dir, events)
    statuses = StatusRecorder()
    task = SyncTask(local_db, store_url, FAST_RETRY, statuses, repos=[REPO])
    latency = LoopLatency()
    runner = asyncio.create_task(task.run())
    try:
        await statuses.wait_for(lambda s: s.progress is not None and s.progress[0] >= 1000, 60)
        frozen = await asyncio.to_thread(pg_cluster.freeze)
        latency.start()  # from the freeze on: the sync waits on a store that never answers
        try:
            offline = await statuses.wait_for(lambda s: s.state == "offline", 60)
            assert offline.last_error is not None
            assert "did not answer" in offline.last_error
            assert offline.pending > 0
        finally:
            pg_cluster.thaw(frozen)
        await latency.stop()
        await statuses.wait_for(lambda s: s.state == "idle" and s.pending == 0, 90)
    finally:
        await latency.stop()
        await task.stop()
        await runner
    # the loop kept running its timer while the sync waited on the frozen store; a call
    # blocking on it would stall the loop for seconds. The delays' distribution, beside
    # the machine's own timer jitter, is measured by bench/store_bench.py.
    assert len(latency.delays) > 100
    assert latency.worst < 0.25, f"the event loop stalled for {latency.worst * 1000:.0f} ms"
    assert_exactly_once(store_url, events)


async def test_two_machines_sync_overlapping_events_at_once(store_url: str, tmp_path: Path) -> None:
    events = make_events(10_000, seed=22)
    first_dir, second_dir = tmp_path / "first", tmp_path / "second"
    first_dir.mkdir()
    second_dir.mkdir()
    first = local_db_with(first_dir, events[:6000])
    second = local_db_with(second_dir, events[4000:])
    options = SyncOptions(batch_size=200)
    reports = await asyncio.gather(
        asyncio.to_thread(sync_once, first, store_url, options, repos=[REPO]),
        asyncio.to_thread(sync_once, second, store_url, options, repos=[REPO]),
    )
    assert [r.sent for r in reports] == [6000, 6000]
    assert sum(r.new for r in reports) == 10_000
    assert sum(r.skipped for r in reports) == 2000
    assert_exactly_once(store_url, events)
    assert count_unsynced(first) == count_unsynced(second) == 0


def test_sync_killed_mid_sync_loses_and_doubles_nothing(store_url: str, data_dir: Path) -> None:
    events = make_events(10_000, seed=23)
    local_db = local_db_with(data_dir, events)
    argv = [sys.executable, "-m", "ailoop", "sync", "--url", store_url, "--repo", REPO]
    argv += ["--batch-size", "50"]
    env = {**os.environ, "PYTHONPATH": SERVER, "AILOOP_DATA_DIR": str(data_dir)}
    proc = subprocess.Popen(argv, env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        wait_until(lambda: pg_count(store_url) >= 1000, timeout=60)
        proc.send_signal(signal.SIGKILL)
    finally:
        proc.wait(timeout=30)
        proc.stdout.close()  # type: ignore[union-attr]
        proc.stderr.close()  # type: ignore[union-attr]
    assert proc.returncode == -signal.SIGKILL
    in_store = pg_count(store_url)
    assert in_store < 10_000, "the sync finished before it was killed"
    assert count_unsynced(local_db) >= 10_000 - in_store  # confirmed ⊆ stored

    again = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=120, check=False)
    assert again.returncode == 0, again.stderr
    assert_exactly_once(store_url, events)
    assert count_unsynced(local_db) == 0


async def test_wrong_password_is_reported_once_and_capture_continues(
    pg_cluster: TestCluster, store_url: str, database: str, data_dir: Path
) -> None:
    local_db = local_db_with(data_dir, make_events(5, seed=24))
    url = pg_cluster.url(database, user=PASSWORD_ROLE, password="Not-The-Password")
    statuses = StatusRecorder()
    task = SyncTask(local_db, url, FAST_RETRY, statuses, repos=[REPO])
    runner = asyncio.create_task(task.run())
    try:
        error = await statuses.wait_for(lambda s: s.state == "error", 30)
        assert error.last_error is not None
        assert "authentication failed" in error.last_error
        assert "Not-The-Password" not in error.last_error
        store = LocalStore(local_db)
        try:
            store.append(make_events(1, seed=25))
        finally:
            store.close()
        task.nudge()
        await statuses.wait_for(lambda s: s.pending == 6, 30)
    finally:
        await task.stop()
        await runner
    errors = [s.last_error for s in statuses.seen if s.state == "error"]
    assert len(set(errors)) == 1, "the same failure was reported with different messages"


async def test_disabled_without_a_url(data_dir: Path) -> None:
    local_db = local_db_with(data_dir, make_events(1, seed=26))
    statuses = StatusRecorder()
    task = SyncTask(local_db, "", SyncOptions(), statuses, repos=[REPO])
    runner = asyncio.create_task(task.run())
    try:
        await statuses.wait_for(lambda s: s.state == "disabled", 10)
    finally:
        await task.stop()
        await runner


async def test_nudge_pushes_new_events_and_pulls_stats(store_url: str, data_dir: Path) -> None:
    local_db = local_db_with(data_dir, make_events(10, seed=27))
    statuses = StatusRecorder()
    task = SyncTask(local_db, store_url, FAST_RETRY, statuses, repos=[REPO])
    runner = asyncio.create_task(task.run())
    try:
        first = await statuses.wait_for(lambda s: s.state == "idle" and s.last_sync, 30)
        assert first.pending == 0
        store = LocalStore(local_db)
        try:
            store.append(make_events(7, seed=28))
        finally:
            store.close()
        task.nudge()
        await statuses.wait_for(lambda s: s.state == "idle" and s.last_sync != first.last_sync, 30)
    finally:
        await task.stop()
        await runner
    assert pg_count(store_url) == 17


async def test_local_store_locked_while_confirming_then_released(
    store_url: str, data_dir: Path
) -> None:
    import sqlite3

    events = make_events(300, seed=29)
    local_db = local_db_with(data_dir, events)
    blocker = sqlite3.connect(local_db, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")  # another writer holds the local store
    statuses = StatusRecorder()
    task = SyncTask(local_db, store_url, FAST_RETRY, statuses, repos=[REPO])
    runner = asyncio.create_task(task.run())
    try:
        error = await statuses.wait_for(lambda s: s.state == "error", 30)
        assert error.last_error is not None
        assert "locked" in error.last_error
        blocker.execute("ROLLBACK")
        await statuses.wait_for(lambda s: s.state == "idle" and s.pending == 0, 60)
    finally:
        blocker.close()
        await task.stop()
        await runner
    assert_exactly_once(store_url, events)
