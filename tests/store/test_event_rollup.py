"""The store's own rollup of the events (schema version 7): ``event_daily``, ``modified_days``.

Against a real PostgreSQL: the trigger's counts after batches with repeats, the backfill of
a store that had events before the upgrade, what the store refuses so the rollup can hold
it, and who may read it.
"""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import uuid
from collections import Counter
from collections.abc import Sequence
from typing import Any

import pytest
from pg_cluster import TestCluster
from store_support import OTHER_REPO, REPO, team_events

from ailoop.analytics.team import team_kind_groups
from ailoop.store import shared
from ailoop.store.events import Event, Kind
from ailoop.store.pg_migrations import CURRENT_VERSION, MIGRATIONS

pytestmark = pytest.mark.postgres

#: The rollup computed from the events, as a GROUP BY would (the test's own statement).
GROUP_BY_EVENTS_SQL = """
SELECT (ts AT TIME ZONE 'UTC')::date::text, repo, tool, coalesce(model, ''), language,
       "user", kind, coalesce(outcome, ''), kind = 'reviewed' AND snippet = '', count(*),
       sum(lines)
FROM ailoop.events GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9
"""
ROLLUP_SQL = """
SELECT day::text, repo, tool, model, language, "user", kind, outcome, pr_level, n, lines
FROM ailoop.event_daily
"""

Rollup = dict[tuple[Any, ...], tuple[int, int]]


def expected_rollup(events: Sequence[Event]) -> Rollup:
    """``event_daily`` as the events say it should be."""
    counts: Counter[tuple[Any, ...]] = Counter()
    lines: Counter[tuple[Any, ...]] = Counter()
    for e in events:
        day = shared.parse_ts(e.ts).astimezone(dt.timezone.utc).date().isoformat()
        pr_level = e.kind is Kind.REVIEWED and e.snippet == ""
        key = (day, e.repo, e.tool, e.model or "", e.language, e.user, e.kind.value)
        key += (e.outcome or "", pr_level)
        counts[key] += 1
        lines[key] += e.lines
    return {key: (n, lines[key]) for key, n in counts.items()}


def expected_modified(events: Sequence[Event]) -> set[tuple[str, str, str]]:
    """``modified_days`` as the events say it should be."""
    return {
        (e.repo, e.snippet, shared.parse_ts(e.ts).astimezone(dt.timezone.utc).date().isoformat())
        for e in events
        if e.kind is Kind.MODIFIED
    }


def _as_rollup(rows: Sequence[Sequence[Any]]) -> Rollup:
    return {tuple(row[:9]): (int(row[9]), int(row[10])) for row in rows}


def rollup(url: str) -> Rollup:
    """``event_daily`` as the store holds it."""
    import psycopg

    with psycopg.connect(url) as conn:
        return _as_rollup(conn.execute(ROLLUP_SQL).fetchall())


def grouped_events(url: str) -> Rollup:
    """The same numbers by a GROUP BY over every event."""
    import psycopg

    with psycopg.connect(url) as conn:
        return _as_rollup(conn.execute(GROUP_BY_EVENTS_SQL).fetchall())


def modified_days(url: str) -> set[tuple[str, str, str]]:
    """``modified_days`` as the store holds it."""
    import psycopg

    with psycopg.connect(url) as conn:
        rows = conn.execute("SELECT repo, snippet, day::text FROM ailoop.modified_days")
        return {(r, s, d) for r, s, d in rows}


def push(url: str, batches: Sequence[Sequence[tuple[Any, ...]]]) -> list[int]:
    """Push each batch with the sync's statement; return how many rows each added."""

    async def run() -> list[int]:
        conn = await shared.connect_async(url, shared.Timeouts(statement=60))
        try:
            return [await shared.push_rows(conn, batch) for batch in batches]
        finally:
            await conn.close()

    return asyncio.run(run())


def rows_of(events: Sequence[Event]) -> list[tuple[Any, ...]]:
    return [shared.shared_row(e, shared.Privacy()) for e in events]


def make_version_6_store(url: str) -> None:
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
        for number, migration in enumerate(MIGRATIONS[:6], start=1):
            conn.execute(migration.encode())
            conn.execute("INSERT INTO ailoop.schema_version (version) VALUES (%s)", (number,))


def insert_as_version_6(
    url: str, rows: Sequence[tuple[Any, ...]], *, replica: bool = False
) -> None:
    """Insert rows as a version-6 ailoop did (``replica``: without the store's triggers,
    as rows a superuser restored or that predate the checks)."""
    import psycopg

    columns = ", ".join(f'"{c}"' for c in shared.PUSH_COLUMNS)
    placeholders = ", ".join(["%s"] * len(shared.PUSH_COLUMNS))
    with psycopg.connect(url) as conn, conn.cursor() as cur:
        if replica:
            cur.execute("SET session_replication_role = replica")
        cur.executemany(
            f"INSERT INTO ailoop.events ({columns}) VALUES ({placeholders})",
            rows,
        )


def test_the_schema_is_at_version_7() -> None:
    assert CURRENT_VERSION == len(MIGRATIONS) == 7


def test_rollup_equals_a_group_by_over_the_events_after_batches_with_repeats(
    store_url: str,
) -> None:
    events = team_events(seed=51)
    rows = rows_of(events)
    assert {e.kind for e in events} >= {Kind.MODIFIED, Kind.REVIEWED}
    assert any(e.model is None for e in events)
    assert any(e.model for e in events)
    added = push(
        store_url,
        [
            rows[:300],
            rows[200:500],  # 100 already there: skipped by ON CONFLICT DO NOTHING
            rows[500:] + rows[500:],  # each twice in one statement
            rows[:50],  # nothing new
        ],
    )
    assert added == [300, 200, len(rows) - 500, 0]
    expected = expected_rollup(events)
    assert rollup(store_url) == expected
    assert grouped_events(store_url) == expected
    assert modified_days(store_url) == expected_modified(events)
    assert sum(n for n, _ in expected.values()) == len(events)
    # a batch's rows that land on days and groups already there add to them
    more = team_events(seed=53)
    assert push(store_url, [rows_of(more) + rows[:10]]) == [len(more)]
    assert rollup(store_url) == expected_rollup(events + more) == grouped_events(store_url)
    assert modified_days(store_url) == expected_modified(events + more)


def test_a_modified_snippet_is_one_row_per_repo_and_day(store_url: str) -> None:
    midnight = dt.datetime.now(dt.timezone.utc).replace(hour=0, minute=0, second=0)
    base = Event(kind=Kind.MODIFIED, snippet="sha256:" + "a" * 64, tool="copilot", repo=REPO)

    def at(moment: dt.datetime, repo: str = REPO) -> Event:
        ts = moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")
        return dataclasses.replace(base, id=str(uuid.uuid4()), ts=ts, repo=repo)

    same_day = [at(midnight + dt.timedelta(minutes=m)) for m in (1, 2, 3)]
    other = [at(midnight - dt.timedelta(minutes=1)), at(midnight, OTHER_REPO)]
    push(store_url, [rows_of(same_day[:2]), rows_of(same_day[2:] + other)])
    assert len(modified_days(store_url)) == 3
    assert modified_days(store_url) == expected_modified(same_day + other)


def test_upgrade_from_version_6_backfills_the_rollup(
    pg_cluster: TestCluster, database: str
) -> None:
    url = pg_cluster.url(database)
    make_version_6_store(url)
    now = dt.datetime.now(dt.timezone.utc)
    events = team_events(seed=61, now=now)
    before, after = events[:600], events[600:]
    insert_as_version_6(url, rows_of(before))
    # rows a version-6 store may hold that the rollup cannot count: times that are not sane
    # (stored without the checks) and names that do not fit in one index entry
    template = dataclasses.replace(before[0], kind=Kind.MODIFIED)
    wide = "\U0001d518" * 1000  # 1000 characters (the limit), 4000 bytes
    odd = rows_of([dataclasses.replace(template, id=str(uuid.uuid4())) for _ in range(2)])
    times = ("infinity", dt.datetime(9999, 12, 31, tzinfo=dt.timezone.utc))
    insert_as_version_6(
        url, [(r[0], ts, *r[2:]) for r, ts in zip(odd, times, strict=True)], replica=True
    )
    wide_event = dataclasses.replace(template, id=str(uuid.uuid4()), repo=wide)
    insert_as_version_6(url, rows_of([wide_event]))

    assert shared.apply_migrations(url) == (6, CURRENT_VERSION)
    assert rollup(url) == expected_rollup(before)
    assert modified_days(url) == expected_modified(before)
    assert shared.apply_migrations(url) == (CURRENT_VERSION, CURRENT_VERSION)  # nothing again
    # after the upgrade the trigger counts what arrives, repeats of old rows not again
    push(url, [rows_of(after), rows_of(before[:100])])
    assert rollup(url) == expected_rollup(events)
    assert modified_days(url) == expected_modified(events)
    # a new event whose names would not fit is refused, so the rollup counts every event
    with pytest.raises(shared.RowsRefused, match="events_names_indexable"):
        push(url, [rows_of([dataclasses.replace(wide_event, id=str(uuid.uuid4()))])])
    assert rollup(url) == expected_rollup(events)


def test_readers_of_the_events_may_read_the_rollup_after_the_upgrade(
    pg_cluster: TestCluster, database: str
) -> None:
    import psycopg

    url = pg_cluster.url(database)
    make_version_6_store(url)
    insert_as_version_6(url, rows_of(team_events(seed=71)[:200]))
    old_client, outsider = (f"r_{uuid.uuid4().hex[:8]}" for _ in range(2))
    # the client role as `ailoop store role-sql` made it for version 6
    pg_cluster.admin(
        f"CREATE ROLE {old_client} LOGIN;"
        f"GRANT CONNECT, TEMPORARY ON DATABASE {database} TO {old_client};"
        f"GRANT USAGE ON SCHEMA ailoop TO {old_client};"
        f"GRANT SELECT ON ailoop.schema_version, ailoop.pattern_daily TO {old_client};"
        f"GRANT SELECT, INSERT ON ailoop.events TO {old_client};"
        f"CREATE ROLE {outsider} LOGIN;"
        f"GRANT USAGE ON SCHEMA ailoop TO {outsider};",
        database,
    )
    shared.apply_migrations(url)
    slices, modified = team_kind_groups(pg_cluster.url(database, user=old_client))
    assert sum(g.count for g in slices.tools) == 200
    assert modified > 0
    with psycopg.connect(url) as conn:
        for table in ("event_daily", "modified_days"):
            assert conn.execute(
                "SELECT has_table_privilege(%s, %s, 'SELECT'), has_table_privilege(%s, %s, "
                "'INSERT'), has_table_privilege(%s, %s, 'SELECT')",
                (old_client, f"ailoop.{table}") * 2 + (outsider, f"ailoop.{table}"),
            ).fetchone() == (True, False, False)
    # and a role made now reads it too
    role = f"client_{uuid.uuid4().hex[:8]}"
    pg_cluster.admin(shared.role_sql(role, database), database)
    slices, _ = team_kind_groups(pg_cluster.url(database, user=role))
    assert sum(g.count for g in slices.tools) == 200
    with psycopg.connect(pg_cluster.url(database, user=role), autocommit=True) as conn:
        for statement in (
            "INSERT INTO ailoop.event_daily VALUES "
            "(current_date, 'r', 't', '', 'python', 'u', 'accepted', '', false, 1000, 1)",
            "DELETE FROM ailoop.modified_days",
            "SELECT ailoop.count_events()",
        ):
            with pytest.raises(
                (psycopg.errors.InsufficientPrivilege, psycopg.errors.FeatureNotSupported)
            ):
                conn.execute(statement)
