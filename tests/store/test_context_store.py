"""The rule experiment's ``context`` (and the snippet's ``model``) on events: the model,
the local migration (version 4), the shared migration (version 6), and sync."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

import pytest
from store_support import REPO, local_db_with, make_events

from ailoop.store import shared
from ailoop.store.events import Context, Event, Kind, Source
from ailoop.store.local import MIGRATIONS, LocalStore, statements
from ailoop.store.pg_migrations import CURRENT_VERSION
from ailoop.store.pg_migrations import MIGRATIONS as PG_MIGRATIONS
from ailoop.store.sync import SyncOptions, sync_once

SESSION = Context("sess-1", ("ruff:E722", "pattern:bare-except"), ("ruff:BLE001",))


def _with_context(events: list[Event]) -> list[Event]:
    """Give every other event a session context and a model."""
    import dataclasses

    return [
        dataclasses.replace(e, context=SESSION, model="anthropic/claude-sonnet-4") if i % 2 else e
        for i, e in enumerate(events)
    ]


def test_context_and_model_round_trip_through_json() -> None:
    event = Event(
        kind=Kind.GENERATED, snippet="sha256:" + "a" * 64, context=SESSION, model="openai/gpt-4o"
    )
    data = event.to_json()
    assert data["context"] == {
        "session": "sess-1",
        "shown": ["ruff:E722", "pattern:bare-except"],
        "withheld": ["ruff:BLE001"],
    }
    assert Event.from_json(json.loads(json.dumps(data))) == event
    assert Event.from_json({**data, "context": None}).context is None


@pytest.mark.parametrize(
    ("context", "message"),
    [
        ("sess", "not an object"),
        ({"session": "", "shown": []}, "context.session"),
        ({"session": "a\nb", "shown": []}, "context.session"),
        ({"session": "s" * 201, "shown": []}, "context.session"),
        ({"session": "s", "shown": ["not a key"]}, "context.shown"),
        ({"session": "s", "withheld": "ruff:E722"}, "context.withheld"),
        ({"session": "s", "shown": [f"ruff:E{i}" for i in range(101)]}, "context.shown"),
        ({"session": "s", "shown": ["ruff:E722"], "withheld": ["ruff:E722"]}, "both"),
    ],
)
def test_a_malformed_context_is_refused(context: object, message: str) -> None:
    data = Event(kind=Kind.GENERATED, snippet="sha256:" + "a" * 64).to_json()
    with pytest.raises(ValueError, match=message):
        Event.from_json({**data, "context": context})


def test_an_old_local_store_gains_the_column_and_keeps_its_events(data_dir: Path) -> None:
    path = data_dir / "events.db"
    data_dir.mkdir(parents=True, exist_ok=True)
    db = sqlite3.connect(path, isolation_level=None)
    for script in MIGRATIONS[:3]:
        for statement in statements(script):
            db.execute(statement)
    db.execute("PRAGMA user_version = 3")
    old = make_events(20, seed=3)
    for e in old:
        db.execute(
            "INSERT INTO events (id, ts, kind, snippet, tool, source, user, repo, path, "
            "language, lines, findings, reason, pattern, text, similarity, outcome, reviewer, pr) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
            (
                *(e.id, e.ts, e.kind.value, e.snippet, e.tool, e.source.value, e.user, e.repo),
                *(e.path, e.language, e.lines, json.dumps(list(e.findings)), e.reason),
                *(e.pattern, e.text, e.similarity, e.outcome, e.reviewer, e.pr),
            ),
        )
    db.close()
    store = LocalStore.open(data_dir)
    try:
        assert {e.id: e for e in store.events()} == {e.id: e for e in old}
        new = _with_context(make_events(10, seed=4))
        store.append(new)
        read = {e.id: e for e in store.events()}
    finally:
        store.close()
    assert all(read[e.id] == e for e in new)
    assert sum(read[e.id].context == SESSION for e in new) == 5
    db = sqlite3.connect(path)
    try:
        assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS) == 5
    finally:
        db.close()


def test_the_events_command_prints_context(data_dir: Path) -> None:
    import os
    import subprocess
    import sys

    events = _with_context(make_events(4, seed=5))
    local_db_with(data_dir, events)
    server = Path(__file__).resolve().parents[2] / "server"
    env = {**os.environ, "AILOOP_DATA_DIR": str(data_dir), "PYTHONPATH": str(server)}
    done = subprocess.run(
        [sys.executable, "-m", "ailoop", "events", "--format", "jsonl"],
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    printed = {d["id"]: d for d in map(json.loads, done.stdout.splitlines())}
    for e in events:
        assert printed[e.id]["context"] == (e.context.to_json() if e.context else None)
        assert printed[e.id]["model"] == e.model


@pytest.mark.postgres
def test_sync_carries_context_and_model(data_dir: Path, store_url: str) -> None:
    events = _with_context(make_events(60, seed=8))
    local_db = local_db_with(data_dir, events)
    report = sync_once(local_db, store_url, SyncOptions(), repos=[REPO])
    assert report.sent == 60
    team = {e.id: e for e in shared.iter_team_events(store_url)}
    for e in events:
        assert team[e.id].context == e.context
        assert team[e.id].model == e.model
    import psycopg

    with psycopg.connect(store_url) as conn:
        (n,) = conn.execute(
            "SELECT count(*) FROM ailoop.events WHERE context_shown @> ARRAY['ruff:E722']"
        ).fetchone()
    assert n == 30


@pytest.mark.postgres
def test_the_shared_store_refuses_a_bad_context(store_url: str) -> None:
    import psycopg

    good = Event(kind=Kind.GENERATED, snippet="sha256:" + "b" * 64, repo=REPO, source=Source.TRACE)
    columns = ", ".join(f'"{c}"' for c in shared.PUSH_COLUMNS)
    placeholders = ", ".join(["%s"] * len(shared.PUSH_COLUMNS))
    sql = f"INSERT INTO ailoop.events ({columns}) VALUES ({placeholders})"
    index = shared.PUSH_COLUMNS.index
    with psycopg.connect(store_url, autocommit=True) as conn:
        conn.execute(sql, shared.shared_row(good, shared.Privacy()))  # source 'trace' is taken
        bad_rows = []
        for column, value in (
            ("context_shown", ["not a key"]),
            ("context_session", "a\x07b"),
            ("context_withheld", None),  # a session without its lists
            ("model", "m" * 251),
        ):
            row = list(
                shared.shared_row(
                    Event(kind=Kind.GENERATED, snippet=good.snippet, repo=REPO, context=SESSION),
                    shared.Privacy(),
                )
            )
            row[index(column)] = value
            bad_rows.append(row)
        for row in bad_rows:
            with pytest.raises(psycopg.errors.CheckViolation):
                conn.execute(sql, row)
        (n,) = conn.execute("SELECT count(*) FROM ailoop.events").fetchone()
    assert n == 1


@pytest.mark.postgres
def test_a_version_5_store_migrates_and_keeps_its_events(
    pg_cluster: object, database: str, data_dir: Path
) -> None:
    import psycopg

    url = pg_cluster.url(database)  # type: ignore[attr-defined]
    with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
        for number, migration in enumerate(PG_MIGRATIONS[:5], start=1):
            conn.execute(migration.encode())
            conn.execute("INSERT INTO ailoop.schema_version (version) VALUES (%s)", (number,))
    before = make_events(40, seed=9)
    v5 = shared.PUSH_COLUMNS.index("line_hashes") + 1
    columns = ", ".join(f'"{c}"' for c in shared.PUSH_COLUMNS[:v5])
    with psycopg.connect(url) as conn, conn.cursor() as cur:  # as a version-5 ailoop did
        cur.executemany(
            f"INSERT INTO ailoop.events ({columns}) VALUES ({', '.join(['%s'] * v5)})",
            [shared.shared_row(e, shared.Privacy())[:v5] for e in before],
        )
    assert shared.apply_migrations(url) == (5, CURRENT_VERSION)
    after = _with_context(make_events(20, seed=10))
    sync_once(local_db_with(data_dir, after), url, SyncOptions(), repos=[REPO])
    team = {e.id: e for e in shared.iter_team_events(url)}
    assert {e.id for e in before + after} == set(team)
    assert all(team[e.id].context is None for e in before)
    assert all(team[e.id].context == e.context for e in after)
