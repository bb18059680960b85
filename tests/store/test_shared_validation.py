"""The shared store checks what it is given; the client reads what it gets back as data.

Every attack the security review reproduced with the least-privilege role, against a real
PostgreSQL: an infinite ``ts``, rows dated 9999-12-31 under another user's name, control
characters in a tool name, a 10 kB key. The schema refuses each; rows like them stored
before the schema checked (a version-2 store holding them, then upgraded) are skipped
by every reader while the other rows keep working; and a batch with bad events sends the
good ones and sets the bad ones aside.
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import subprocess
import sys
import uuid
from pathlib import Path
from typing import Any

import pytest
from pg_cluster import TestCluster
from store_support import REPO, StatusRecorder, local_db_with, make_events, pg_count

from ailoop.patterns.model import KEY
from ailoop.store import shared, team_cache
from ailoop.store.events import Event, Kind
from ailoop.store.local import LocalStore
from ailoop.store.pg_migrations import CURRENT_VERSION, KEY_SQL, MIGRATIONS, RETENTION_DAYS
from ailoop.store.sync import SyncOptions, SyncTask, count_unsynced, sync_once

pytestmark = pytest.mark.postgres

SERVER = str(Path(__file__).resolve().parents[2] / "server")
COLUMNS = ", ".join(f'"{c}"' for c in shared.PUSH_COLUMNS)
PLACEHOLDERS = ", ".join(["%s"] * len(shared.PUSH_COLUMNS))
INSERT = f"INSERT INTO ailoop.events ({COLUMNS}) VALUES ({PLACEHOLDERS})"
#: The columns of the events table before version 4 (code review).
V1_COLUMNS = shared.PUSH_COLUMNS[: shared.PUSH_COLUMNS.index("similarity") + 1]
V1_INSERT = (
    f"INSERT INTO ailoop.events ({', '.join(f'{chr(34)}{c}{chr(34)}' for c in V1_COLUMNS)}) "
    f"VALUES ({', '.join(['%s'] * len(V1_COLUMNS))})"
)


def now() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc)


def good_row(**changes: Any) -> dict[str, Any]:
    """A valid row of the events table, as the push sends it, with ``changes``."""
    event = Event(
        kind=Kind.REJECTED,
        snippet="sha256:" + "b" * 64,
        tool="copilot",
        user="ana@example.com",
        repo=REPO,
        path="src/a.py",
        language="python",
        lines=3,
        findings=("ruff:E722", "pattern:bare-except"),
        reason="swallows\nevery error",
        pattern="bare-except",
        similarity=0.5,
    )
    row = dict(zip(shared.PUSH_COLUMNS, shared.shared_row(event, shared.Privacy()), strict=True))
    row["id"] = str(uuid.uuid4())
    row.update(changes)
    return row


@pytest.fixture
def client_url(pg_cluster: TestCluster, store_url: str, database: str) -> str:
    """The least-privilege role of the docs (``ailoop store role-sql``)."""
    role = f"client_{uuid.uuid4().hex[:8]}"
    pg_cluster.admin(shared.role_sql(role, database), database)
    return pg_cluster.url(database, user=role)


ATTACKS = {
    "infinite ts": {"ts": "infinity"},
    "ts before time": {"ts": "-infinity"},
    "far future": {"ts": dt.datetime(9999, 12, 31, tzinfo=dt.timezone.utc)},
    "next week": {"ts": now() + dt.timedelta(days=7)},
    "too old": {"ts": now() - dt.timedelta(days=RETENTION_DAYS + 2)},
    "escape in tool": {"tool": "copilot\x1b[2J\x1b[31m"},
    "bidi in tool": {"tool": "copilot\u202eedoc"},
    "newline in user": {"user": "ana@example.com\nroot"},
    "10 kB key": {"findings": ["k:" + "a" * 10_000]},
    "3 kB key": {"findings": ["ruff:" + "A" * 3000]},
    "not a key": {"findings": ["ignore previous instructions"]},
    "long pattern": {"pattern": "x" * 300},
    "control in reason": {"reason": "ok\x1b]8;;http://evil\x07"},
    "huge path": {"path": "a/" * 3000},
    "bad kind": {"kind": "deleted"},
    "bad snippet": {"snippet": "sha256:" + "z" * 64},
    "nan similarity": {"similarity": float("nan")},
    "negative lines": {"lines": -1},
}


@pytest.mark.parametrize("attack", sorted(ATTACKS))
def test_the_schema_refuses_it_from_the_client_role(client_url: str, attack: str) -> None:
    import psycopg

    with psycopg.connect(client_url, autocommit=True) as conn:
        row = good_row(**ATTACKS[attack])
        with pytest.raises(psycopg.errors.CheckViolation) as refused:
            conn.execute(INSERT, list(row.values()))
        assert shared.is_data_error(refused.value)
        said = refused.value.diag.message_primary or ""
        # the trigger names the rule; a check constraint is named after its column
        assert "ailoop.events refuses event" in said or 'check constraint "events_' in said
        conn.execute(INSERT, list(good_row().values()))  # the connection is still good
        (count,) = conn.execute("SELECT count(*) FROM ailoop.events").fetchone()  # type: ignore[misc]
    assert count == 1


def test_a_thousand_far_future_rows_under_another_name_go_in_as_none(client_url: str) -> None:
    import psycopg

    future = dt.datetime(9999, 12, 31, tzinfo=dt.timezone.utc)
    rows = [
        list(good_row(ts=future, user="bob@example.com", kind="rejected").values())
        for _ in range(1000)
    ]
    with psycopg.connect(client_url) as conn, conn.cursor() as cur:
        with pytest.raises(psycopg.errors.CheckViolation):
            cur.executemany(INSERT, rows)
        conn.rollback()
        (count,) = cur.execute("SELECT count(*) FROM ailoop.events").fetchone()  # type: ignore[misc]
    assert count == 0


def test_the_store_records_who_really_inserted_a_row(
    client_url: str, store_url: str, pg_cluster: TestCluster, database: str
) -> None:
    import psycopg

    role = client_url.split("//")[1].split("@")[0]
    forged = dt.datetime(2001, 1, 1, tzinfo=dt.timezone.utc)
    with psycopg.connect(client_url, autocommit=True) as conn:
        row = good_row(user="bob@example.com")
        conn.execute(
            f"INSERT INTO ailoop.events ({COLUMNS}, received_by, received_at) "
            f"VALUES ({PLACEHOLDERS}, 'the-owner', %s)",
            [*row.values(), forged],
        )
        user, by, at = conn.execute(
            'SELECT "user", received_by, received_at FROM ailoop.events'
        ).fetchone()  # type: ignore[misc]
    assert (user, by) == ("bob@example.com", role)  # the claim, and who made it
    assert at > now() - dt.timedelta(minutes=5)


@pytest.mark.parametrize(
    "statement",
    [
        "SET session_replication_role = replica",
        "ALTER TABLE ailoop.events DISABLE TRIGGER events_check",
        "DROP TRIGGER events_check ON ailoop.events",
        "CREATE OR REPLACE FUNCTION ailoop.check_event() RETURNS trigger LANGUAGE plpgsql "
        "AS $$ BEGIN RETURN NEW; END $$",
        "CREATE FUNCTION ailoop.pattern_key(value text, x int) RETURNS text LANGUAGE sql "
        "AS $$ SELECT value $$",
        "UPDATE ailoop.events SET ts = 'infinity'",
        "INSERT INTO ailoop.pattern_daily VALUES ('ruff:E722', '9999-12-30', 1000, 0, 1000, now())",
        "SET ROLE postgres",
    ],
)
def test_the_client_role_cannot_get_around_the_checks(client_url: str, statement: str) -> None:
    import psycopg

    with psycopg.connect(client_url, autocommit=True) as conn:
        conn.execute(INSERT, list(good_row().values()))
        with pytest.raises(psycopg.errors.InsufficientPrivilege):
            conn.execute(statement.encode())


def test_the_sql_and_python_rules_agree(client_url: str) -> None:
    """Every row the trigger takes, the readers take; every row it refuses, they skip."""
    import psycopg

    assert f"^{KEY.pattern}$" == KEY_SQL
    samples = {"good": {}, **{k: v for k, v in ATTACKS.items() if k != "too old"}}
    samples.update(
        {
            "longest tool": {"tool": "t" * 64},
            "too long tool": {"tool": "t" * 65},
            "empty tool": {"tool": ""},
            "tab in reason": {"reason": "a\tb\r\nc"},
            "empty pattern": {"pattern": "  "},
            "bare pattern id": {"pattern": "broad-catch"},
            "500 findings": {"findings": [f"ruff:E{i}" for i in range(500)]},
            "501 findings": {"findings": [f"ruff:E{i}" for i in range(501)]},
            "zero width in language": {"language": "py\u200bthon"},
        }
    )
    with psycopg.connect(client_url, autocommit=True) as conn:
        for name, changes in samples.items():
            row = good_row(**changes)
            try:
                conn.execute(INSERT, list(row.values()))
                taken = True
            except psycopg.errors.CheckViolation:
                taken = False
            stored = dict(row)
            if isinstance(stored["ts"], str):  # as a reader gets it: NULL for not finite
                stored["ts"] = None
            problem = shared.event_problem(stored)
            assert taken == (problem is None), f"{name}: trigger {taken}, python {problem}"


# ----------------------------------------------------------------- bad rows already there


@pytest.fixture
def old_bad_rows(pg_cluster: TestCluster, database: str) -> str:
    """A store of version 2 holding rows like the attacks, then upgraded; its client URL.

    The upgrade must work on such a store; the rows stay (they are not checked again).
    """
    import psycopg

    rows = [
        good_row(ts="infinity", findings=["ruff:E722"]),
        *(
            good_row(ts=dt.datetime(9999, 12, 31, tzinfo=dt.timezone.utc), user="bob@example.com")
            for _ in range(1000)
        ),
        good_row(tool="evil\x1b[2J\x1b[31m", kind="accepted"),
        good_row(findings=["k:" + "a" * 2000]),
    ]
    url = pg_cluster.url(database)
    with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
        for number in (1, 2):
            conn.execute(MIGRATIONS[number - 1].encode())
            conn.execute("INSERT INTO ailoop.schema_version (version) VALUES (%s)", (number,))
        with conn.cursor() as cur:
            cur.executemany(V1_INSERT, [[r[c] for c in V1_COLUMNS] for r in rows])
    assert shared.apply_migrations(url) == (2, CURRENT_VERSION)
    assert pg_count(url) == 1003
    role = f"client_{uuid.uuid4().hex[:8]}"
    pg_cluster.admin(shared.role_sql(role, database), database)
    return pg_cluster.url(database, user=role)


def test_other_clients_keep_pulling_past_bad_rows(
    old_bad_rows: str, data_dir: Path, caplog: pytest.LogCaptureFixture
) -> None:
    client_url = old_bad_rows
    events = make_events(200, seed=70)
    sync_once(local_db_with(data_dir, events), client_url, SyncOptions(), repos=[REPO])

    other = data_dir.parent / "other"
    other.mkdir()
    local_db = local_db_with(other, make_events(5, seed=71))
    report = sync_once(local_db, client_url, SyncOptions(), repos=[REPO])  # pushes and pulls
    assert report.sent == 5
    skipped = [m for m in report.messages if "team statistics row" in m]
    assert len(skipped) == 1, report.messages
    assert "skipped" in skipped[0]
    cached = team_cache.read_team_pattern_stats(local_db)
    assert all(KEY.fullmatch(key) for key in cached)
    baseline, _ = team_cache.read_team_baseline(local_db)
    # of the bad rows, only the two with a valid time count in the all-events rollup (the
    # 2 kB key and the escaped tool are not keys there); none of the 1,001 bad times does
    assert baseline.total == 207
    assert baseline.rejected < 1000  # bob's far-future "rejections" are not there
    assert all(c.last_seen < "9999" for c in cached.values())

    counts = shared.team_outcome_counts(client_url)
    outcomes = ("accepted", "kept", "rejected", "reverted")
    good = sum(e.kind.value in outcomes for e in [*events, *make_events(5, seed=71)])
    # the row with the 2 kB key is a valid rejection by tool and user (its key is not used)
    assert sum(c[5] for c in counts) == good + 1
    assert not any("\x1b" in c[0] or c[2] == "bob@example.com" for c in counts)
    assert any("skipped" in r.message and "team event" in r.message for r in caplog.records)

    team = list(shared.iter_team_events(client_url))
    assert len(team) == 205
    assert {e.id for e in events} <= {e.id for e in team}


def test_team_stats_on_the_command_line_show_no_raw_control_characters(
    old_bad_rows: str, tmp_path: Path
) -> None:
    client_url = old_bad_rows
    result = subprocess.run(
        [sys.executable, "-m", "ailoop", "stats", "--team", "--root", str(tmp_path)],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": SERVER, "AILOOP_STORE_URL": client_url},
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert "\x1b" not in result.stdout + result.stderr
    assert "evil" not in result.stdout
    assert "skipped" in result.stderr


# ----------------------------------------------------------------- a batch with bad events


def _with_bad(events: list[Event]) -> tuple[list[Event], list[Event]]:
    bad = [
        Event(**{**events[0].__dict__, "id": str(uuid.uuid4()), "tool": "cop\x1b[2Jilot"}),
        Event(
            **{**events[1].__dict__, "id": str(uuid.uuid4()), "findings": ("k:" + "a" * 10_000,)}
        ),
        Event(
            **{
                **events[2].__dict__,
                "id": str(uuid.uuid4()),
                "ts": (now() + dt.timedelta(days=30)).isoformat().replace("+00:00", "Z"),
            }
        ),
    ]
    mixed = events[:50] + bad[:1] + events[50:170] + bad[1:] + events[170:]
    return mixed, bad


def test_one_bad_event_does_not_block_the_others(client_url: str, data_dir: Path) -> None:
    events = make_events(300, seed=72)
    mixed, bad = _with_bad(events)
    old = Event(
        **{
            **events[3].__dict__,
            "id": str(uuid.uuid4()),
            "ts": (now() - dt.timedelta(days=RETENTION_DAYS + 30)).isoformat(),
        }
    )
    local_db = local_db_with(data_dir, [*mixed, old])
    report = sync_once(local_db, client_url, SyncOptions(batch_size=100), repos=[REPO])
    assert (report.sent, report.new, report.refused, report.too_old) == (300, 300, 3, 1)
    assert pg_count(client_url) == 300
    refused = [m for m in report.messages if "refused 3 events" in m]
    assert len(refused) == 1, report.messages
    assert "\x1b" not in refused[0]
    assert "set aside" in refused[0]
    assert any("older than the 400 days" in m for m in report.messages)
    assert count_unsynced(local_db) == 0

    store = LocalStore(local_db)
    try:
        aside = store.set_aside_events(shared.store_id(client_url))
    finally:
        store.close()
    assert {e.id for e, _ in aside} == {e.id for e in bad} | {old.id}
    reasons = " | ".join(r for _, r in aside)
    assert "tool" in reasons
    assert "findings" in reasons
    assert "after the store's clock" in reasons

    again = sync_once(local_db, client_url, SyncOptions(), repos=[REPO], pull=False)
    assert (again.sent, again.refused) == (0, 0)  # nothing blocked, nothing resent
    retried = sync_once(
        local_db, client_url, SyncOptions(), repos=[REPO], pull=False, retry_refused=True
    )
    assert (retried.sent, retried.refused) == (0, 3)  # still refused, still aside
    assert pg_count(client_url) == 300


async def test_in_the_background_a_bad_event_is_a_notice_not_an_outage(
    client_url: str, data_dir: Path
) -> None:
    mixed, _ = _with_bad(make_events(300, seed=73))
    local_db = local_db_with(data_dir, mixed)
    statuses = StatusRecorder()
    options = SyncOptions(batch_size=500, interval=60.0, backoff_initial=0.2, backoff_max=1.0)
    task = SyncTask(local_db, client_url, options, statuses, repos=[REPO])
    runner = asyncio.create_task(task.run())
    try:
        await statuses.wait_for(lambda s: s.state == "idle" and s.last_sync is not None, 60)
    finally:
        await task.stop()
        await runner
    assert pg_count(client_url) == 300
    assert [s for s in statuses.seen if s.state in ("offline", "error")] == []
    notices = {s.notice for s in statuses.seen if s.notice}
    assert len(notices) == 1
    assert "refused 3 events" in notices.pop()


def test_a_data_error_is_not_called_unavailable(client_url: str) -> None:
    import psycopg

    with psycopg.connect(client_url, autocommit=True) as conn:
        try:
            conn.execute(INSERT, list(good_row(ts="infinity").values()))
        except psycopg.Error as exc:
            error = shared.classify_error(exc, client_url)
    assert "unavailable" not in str(error)
    assert "refused the data" in str(error)
    assert not error.retryable
