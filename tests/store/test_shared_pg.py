"""The shared store against a real PostgreSQL: schema, push, pull, privacy, roles, errors."""

from __future__ import annotations

import datetime as dt
import os
import random
import subprocess
import sys
import uuid
from collections import Counter
from pathlib import Path

import pytest
from pg_cluster import PASSWORD, PASSWORD_ROLE, TestCluster
from store_support import REPO, local_db_with, make_events, pg_count, pg_ids

from ailoop.analytics.acceptance import iso_week, outcome_groups
from ailoop.patterns.model import normalize_key
from ailoop.patterns.stats import (
    PatternSettings,
    accumulate,
    compute_pattern_stats,
    outcome_rows,
    recent_cutoff,
    stats_from_counts,
)
from ailoop.store import shared, team_cache
from ailoop.store.events import REVIEW_OUTCOMES, Event, Kind, Source
from ailoop.store.local import DB_NAME, LocalStore
from ailoop.store.pg_migrations import CURRENT_VERSION, MIGRATIONS
from ailoop.store.sync import SyncOptions, count_unsynced, sync_once

pytestmark = pytest.mark.postgres

SERVER = str(Path(__file__).resolve().parents[2] / "server")


def ailoop(*argv: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    """Run the ailoop command line in a child process."""
    full_env = {**os.environ, "PYTHONPATH": SERVER, **(env or {})}
    return subprocess.run(
        [sys.executable, "-m", "ailoop", *argv],
        capture_output=True,
        text=True,
        env=full_env,
        timeout=120,
        check=False,
    )


def test_init_creates_the_schema_once(pg_cluster: TestCluster, database: str) -> None:
    url = pg_cluster.url(database)
    first = ailoop("store", "init", "--url", url)
    second = ailoop("store", "init", "--url", url)
    assert first.returncode == 0, first.stderr
    assert f"from version 0 to {CURRENT_VERSION}" in first.stdout
    assert second.returncode == 0, second.stderr
    assert "up to date" in second.stdout
    status = ailoop("store", "status", "--url", url)
    assert status.returncode == 0, status.stderr
    assert "schema ok, 0 events" in status.stdout


def test_push_round_trips_every_field_but_the_text(store_url: str, data_dir: Path) -> None:
    events = make_events(1200, seed=1)
    local_db = local_db_with(data_dir, events)
    report = sync_once(local_db, store_url, SyncOptions(batch_size=250), repos=[REPO])
    assert (report.sent, report.new, report.skipped) == (1200, 1200, 0)
    assert count_unsynced(local_db) == 0
    shared_events = {e.id: e for e in shared.iter_team_events(store_url)}
    assert len(shared_events) == 1200
    for event in events:
        assert shared_events[event.id] == Event(**{**event.__dict__, "text": None})


def test_team_events_can_be_narrowed(store_url: str, data_dir: Path) -> None:
    events = make_events(300, seed=2)
    sync_once(local_db_with(data_dir, events), store_url, SyncOptions(), repos=[REPO])
    since = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=3)
    recent = list(shared.iter_team_events(store_url, since=since, repo="github.com/team/app"))
    expected = sorted(
        (e for e in events if shared.parse_ts(e.ts) >= since), key=lambda e: (e.ts, e.id)
    )
    assert [e.id for e in recent] == [e.id for e in expected]
    assert list(shared.iter_team_events(store_url, repo="elsewhere")) == []


def test_share_code_and_user_hash(store_url: str, data_dir: Path, tmp_path: Path) -> None:
    events = make_events(50, seed=3)
    sync_once(
        local_db_with(data_dir, events[:25]), store_url, SyncOptions(share_code=True), repos=[REPO]
    )
    other = tmp_path / "other"
    other.mkdir()
    sync_once(
        local_db_with(other, events[25:]), store_url, SyncOptions(user_hash_key="k1"), repos=[REPO]
    )
    by_id = {e.id: e for e in shared.iter_team_events(store_url)}
    for event in events[:25]:
        assert by_id[event.id].text == event.text
        assert by_id[event.id].user == event.user
    for event in events[25:]:
        assert by_id[event.id].text is None
        assert by_id[event.id].user == shared.hash_user(event.user, "k1")


def _expected_stats(events: list[Event], now: dt.datetime) -> dict[str, tuple[int, ...]]:
    """Per key: rejected, accepted, rejected recent, accepted recent, total (7 UTC days)."""
    recent_from = (now.date() - dt.timedelta(days=6)).isoformat()
    counts: dict[str, Counter[str]] = {}
    for event in events:
        keys = set(event.findings) | ({normalize_key(event.pattern)} if event.pattern else set())
        recent = shared.parse_ts(event.ts).date().isoformat() >= recent_from
        for key in keys:
            c = counts.setdefault(key, Counter())
            c["total"] += 1
            if event.kind is Kind.REJECTED:
                c["rejected"] += 1
                c["rejected_recent"] += recent
            if event.kind in (Kind.ACCEPTED, Kind.KEPT):
                c["accepted"] += 1
                c["accepted_recent"] += recent
    return {
        key: (c["rejected"], c["accepted"], c["rejected_recent"], c["accepted_recent"], c["total"])
        for key, c in counts.items()
    }


def _numbers(counts: dict[str, shared.PatternCounts]) -> dict[str, tuple[int, ...]]:
    return {
        key: (c.rejected, c.accepted, c.rejected_recent, c.accepted_recent, c.total)
        for key, c in counts.items()
    }


def test_team_pattern_statistics_land_in_the_local_cache(
    store_url: str, data_dir: Path, tmp_path: Path
) -> None:
    now = dt.datetime.now(dt.timezone.utc)
    mine, theirs = make_events(700, seed=4, now=now), make_events(900, seed=5, now=now)
    their_dir = tmp_path / "theirs"
    their_dir.mkdir()
    # they also hold 200 of my events: the statistics must count those once
    sync_once(
        local_db_with(their_dir, theirs + mine[:200]),
        store_url,
        SyncOptions(),
        pull=False,
        repos=[REPO],
    )
    local_db = local_db_with(data_dir, mine)
    report = sync_once(local_db, store_url, SyncOptions(), repos=[REPO])
    assert report.skipped == 200

    cached = team_cache.read_team_pattern_stats(local_db)
    expected = _expected_stats(mine + theirs, now)
    assert "pattern:bare-except" in expected  # picked patterns are read as team patterns
    assert report.rules == len(expected)
    assert _numbers(cached) == expected
    newest = max(shared.parse_ts(e.ts) for e in mine + theirs if "ruff:F401" in e.findings)
    assert shared.parse_ts(cached["ruff:F401"].last_seen) == newest
    baseline, pulled_at = team_cache.read_team_baseline(local_db)
    assert pulled_at is not None
    assert baseline.total == 1600
    assert baseline.rejected == sum(e.kind is Kind.REJECTED for e in mine + theirs)
    direct = shared.team_pattern_stats(store_url)
    assert direct.keys == sorted(cached.values(), key=lambda c: c.rule)
    assert direct.baseline == baseline


def test_cached_days_give_the_buckets_the_pattern_statistics_use(
    store_url: str, data_dir: Path
) -> None:
    now = dt.datetime.now(dt.timezone.utc)
    events = make_events(1500, seed=14, now=now)
    local_db = local_db_with(data_dir, events)
    sync_once(local_db, store_url, SyncOptions(), repos=[REPO])
    for recent_days in (1, 7, 30):
        settings = PatternSettings(recent_days=recent_days)
        cutoff = recent_cutoff(now, settings)
        expected = accumulate(outcome_rows(events, cutoff))
        assert team_cache.team_buckets(local_db, cutoff) == expected
        # so the team's numbers (odds ratios, intervals, support) are the local ones
        team = stats_from_counts(*team_cache.team_buckets(local_db, cutoff), settings)
        assert team == stats_from_counts(*expected, settings)
        assert any(s.lift_low != s.lift_high for s in team.values())
    days = team_cache.read_team_pattern_days(local_db)
    assert sum(d.total for d in days if d.rule == "") == 1500


def test_least_privilege_role_can_sync_but_not_change_events(
    pg_cluster: TestCluster, store_url: str, database: str, data_dir: Path
) -> None:
    import psycopg

    role = f"client_{uuid.uuid4().hex[:8]}"
    pg_cluster.admin(shared.role_sql(role, database), database)
    client_url = pg_cluster.url(database, user=role)
    events = make_events(400, seed=6)
    report = sync_once(
        local_db_with(data_dir, events), client_url, SyncOptions(batch_size=100), repos=[REPO]
    )
    assert report.new == 400
    assert report.rules > 0
    with psycopg.connect(client_url, autocommit=True) as conn:
        for statement in (
            "UPDATE ailoop.events SET kind = 'accepted'",
            "DELETE FROM ailoop.events",
            "TRUNCATE ailoop.events",
        ):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
    assert pg_count(store_url) == 400


def test_wrong_password_is_one_clear_message_without_the_password(
    pg_cluster: TestCluster, store_url: str, database: str, data_dir: Path
) -> None:
    local_db_with(data_dir, make_events(10, seed=7))
    inline = pg_cluster.url(database, user=PASSWORD_ROLE, password="Wr0ng-Secret")
    from_env = pg_cluster.url(database, user=PASSWORD_ROLE)
    for url, env in ((inline, {}), (from_env, {"PGPASSWORD": "Wr0ng-Secret"})):
        result = ailoop("sync", "--url", url, "--repo", REPO, "--data-dir", str(data_dir), env=env)
        assert result.returncode == 1
        assert "authentication failed" in result.stderr
        assert "Wr0ng-Secret" not in result.stderr + result.stdout
        assert len(result.stderr.strip().splitlines()) == 1
    assert count_unsynced(data_dir / DB_NAME) == 10


def test_right_password_from_the_environment_works(
    pg_cluster: TestCluster, store_url: str, database: str, data_dir: Path
) -> None:
    pg_cluster.admin(f"GRANT USAGE ON SCHEMA ailoop TO {PASSWORD_ROLE}", database)
    pg_cluster.admin(
        f"GRANT SELECT, INSERT ON ALL TABLES IN SCHEMA ailoop TO {PASSWORD_ROLE}", database
    )
    local_db_with(data_dir, make_events(10, seed=8))
    url = pg_cluster.url(database, user=PASSWORD_ROLE)
    result = ailoop(
        "sync",
        "--url",
        url,
        "--repo",
        REPO,
        "--data-dir",
        str(data_dir),
        env={"PGPASSWORD": PASSWORD},
    )
    assert result.returncode == 0, result.stderr
    assert "synced 10 events" in result.stdout


def test_unknown_host_is_one_clear_message(data_dir: Path) -> None:
    local_db_with(data_dir, make_events(3, seed=9))
    url = "postgresql://someone:Secret-Value-1@no-such-host.invalid:5432/team"
    result = ailoop("sync", "--url", url, "--repo", REPO, "--data-dir", str(data_dir))
    assert result.returncode == 1
    assert "unknown host" in result.stderr
    assert "Secret-Value-1" not in result.stderr
    assert count_unsynced(data_dir / DB_NAME) == 3


def test_newer_schema_is_refused_with_one_clear_message(
    pg_cluster: TestCluster, store_url: str, database: str, data_dir: Path
) -> None:
    pg_cluster.admin(
        f"INSERT INTO ailoop.schema_version (version) VALUES ({CURRENT_VERSION + 1})", database
    )
    local_db_with(data_dir, make_events(5, seed=10))
    result = ailoop("sync", "--url", store_url, "--repo", REPO, "--data-dir", str(data_dir))
    assert result.returncode == 1
    assert "newer schema" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
    assert count_unsynced(data_dir / DB_NAME) == 5
    init = ailoop("store", "init", "--url", store_url)
    assert init.returncode == 1
    assert "newer schema" in init.stderr


def test_store_without_schema_says_to_run_init(
    pg_cluster: TestCluster, database: str, data_dir: Path
) -> None:
    local_db_with(data_dir, make_events(2, seed=11))
    result = ailoop(
        "sync", "--url", pg_cluster.url(database), "--repo", REPO, "--data-dir", str(data_dir)
    )
    assert result.returncode == 1
    assert "ailoop store init" in result.stderr


def test_tls_settings_reach_libpq(pg_cluster: TestCluster, store_url: str, data_dir: Path) -> None:
    local_db_with(data_dir, make_events(2, seed=12))
    url = f"{store_url}?sslmode=require"
    result = ailoop("sync", "--url", url, "--repo", REPO, "--data-dir", str(data_dir))
    assert result.returncode == 1
    assert "SSL" in result.stderr  # the test server has no TLS: libpq refused as asked


def test_missing_psycopg_gives_the_install_hint(data_dir: Path) -> None:
    argv = ["sync", "--url", "postgresql://x@127.0.0.1/db", "--data-dir", str(data_dir)]
    script = (
        "import sys; sys.modules['psycopg'] = None\n"
        f"from ailoop.cli import main; sys.exit(main({argv!r}))"
    )
    result = subprocess.run(
        [sys.executable, "-c", script],
        capture_output=True,
        text=True,
        env={**os.environ, "PYTHONPATH": SERVER},
        timeout=60,
        check=False,
    )
    assert result.returncode == 1
    assert f"{sys.executable} -m pip install 'psycopg[binary]>=3.2'" in result.stderr


def test_local_capture_is_not_touched_by_sync(store_url: str, data_dir: Path) -> None:
    events = make_events(20, seed=13)
    local_db = local_db_with(data_dir, events)
    sync_once(local_db, store_url, SyncOptions(), repos=[REPO])
    store = LocalStore(local_db)
    try:
        assert [e.id for e in store.events()] == [e.id for e in sorted(events, key=lambda e: e.ts)]
    finally:
        store.close()
    assert sorted(pg_ids(store_url)) == sorted(e.id for e in events)


def test_upgrade_counts_the_events_already_stored(
    pg_cluster: TestCluster, database: str, data_dir: Path
) -> None:
    import psycopg

    url = pg_cluster.url(database)
    with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
        conn.execute(MIGRATIONS[0].encode())
        conn.execute("INSERT INTO ailoop.schema_version (version) VALUES (1)")
    now = dt.datetime.now(dt.timezone.utc)
    events = make_events(500, seed=30, now=now)
    v1 = len(shared.PUSH_COLUMNS[: shared.PUSH_COLUMNS.index("similarity") + 1])
    columns = ", ".join(f'"{c}"' for c in shared.PUSH_COLUMNS[:v1])
    placeholders = ", ".join(["%s"] * v1)
    with psycopg.connect(url) as conn, conn.cursor() as cur:  # as the older ailoop wrote them
        cur.executemany(
            f"INSERT INTO ailoop.events ({columns}) VALUES ({placeholders})",
            [shared.shared_row(e, shared.Privacy())[:v1] for e in events],
        )

    assert shared.apply_migrations(url) == (1, CURRENT_VERSION)
    local_db = local_db_with(data_dir, [])
    sync_once(local_db, url, SyncOptions(), repos=[REPO])
    cached = team_cache.read_team_pattern_stats(local_db)
    assert _numbers(cached) == _expected_stats(events, now)


def test_sync_draws_a_progress_bar_on_a_terminal(store_url: str, data_dir: Path) -> None:
    import pty

    local_db_with(data_dir, make_events(3000, seed=31))
    leader, follower = pty.openpty()
    try:
        result = subprocess.run(
            [
                sys.executable,
                "-m",
                "ailoop",
                "sync",
                "--url",
                store_url,
                *("--repo", REPO, "--batch-size", "100"),
            ],
            stdout=subprocess.PIPE,
            stderr=follower,
            text=True,
            env={**os.environ, "PYTHONPATH": SERVER, "AILOOP_DATA_DIR": str(data_dir)},
            timeout=120,
            check=False,
        )
        os.close(follower)
        follower = -1
        drawn = b""
        while True:
            try:
                chunk = os.read(leader, 65536)
            except OSError:  # the terminal is closed once everything was read
                break
            if not chunk:
                break
            drawn += chunk
    finally:
        if follower != -1:
            os.close(follower)
        os.close(leader)
    assert result.returncode == 0
    assert "synced 3000 events" in result.stdout
    screen = drawn.decode()
    assert "\r[" in screen
    assert "] 3000/3000 events" in screen


def test_team_outcome_counts_match_the_acceptance_analytics(store_url: str, data_dir: Path) -> None:
    events = make_events(1200, seed=15)
    sync_once(local_db_with(data_dir, events), store_url, SyncOptions(), repos=[REPO])
    since = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=10)
    for window, repo in ((None, None), (since, None), (None, "github.com/team/app"), (None, "x")):
        merged: Counter[tuple[str, str, str, str, Kind]] = Counter()
        for tool, language, user, day, kind, count in shared.team_outcome_counts(
            store_url, since=window, repo=repo
        ):
            merged[tool, language, user, iso_week(day), Kind(kind)] += count
        groups = outcome_groups(events, window, repo)
        assert merged == Counter(
            {(g.tool, g.language, g.user, g.week, g.kind): g.count for g in groups}
        )


def _reviews(events: list[Event], seed: int) -> list[Event]:
    """Return ``reviewed`` events about some of ``events``' snippets, every outcome, and
    PR-level ones (no snippet) carrying findings too: those must count in no outcome."""
    rng = random.Random(seed)
    reviews = []
    for i, event in enumerate(rng.sample(events, 300)):
        outcome = REVIEW_OUTCOMES[i % len(REVIEW_OUTCOMES)]
        pr_level = i % 5 == 4
        reviews.append(
            Event(
                kind=Kind.REVIEWED,
                snippet="" if pr_level else event.snippet,
                source=Source.REVIEW,
                tool=event.tool,
                user=event.user,
                repo=event.repo,
                path=event.path,
                language=event.language,
                findings=event.findings,
                pattern=rng.choice(("bare-except", None)),
                outcome=outcome,
                reviewer="dana",
                pr=f"https://example.com/team/app/pull/{i % 17}",
                ts=event.ts,
            )
        )
    assert {r.outcome for r in reviews if r.snippet} == set(REVIEW_OUTCOMES)
    assert {r.outcome for r in reviews if not r.snippet} == set(REVIEW_OUTCOMES)
    return reviews


def _assert_team_equals_local(
    local_db: Path, url: str, events: list[Event], now: dt.datetime
) -> None:
    for recent_days in (1, 7, 30):
        settings = PatternSettings(recent_days=recent_days)
        cutoff = recent_cutoff(now, settings)
        expected = accumulate(outcome_rows(events, cutoff))
        # what the editor reads: the pulled daily rows, into buckets, into statistics
        assert team_cache.team_buckets(local_db, cutoff) == expected
        local = stats_from_counts(*expected, settings)
        assert stats_from_counts(*team_cache.team_buckets(local_db, cutoff), settings) == local
        # what `ailoop stats --team` reads straight from the store
        direct = shared.team_pattern_stats(url, recent_days, now=now)
        assert direct.skipped == 0
        assert shared.buckets_from_days(direct.days, cutoff) == expected
        # and the events themselves, through the local statistics' own code
        team_events = list(shared.iter_team_events(url))
        assert compute_pattern_stats(team_events, settings, now) == compute_pattern_stats(
            events, settings, now
        )
    days = team_cache.read_team_pattern_days(local_db)
    assert sum(d.total for d in days if d.rule == "") == len(events)


def test_review_verdicts_count_in_team_statistics_as_in_local_ones(
    store_url: str, data_dir: Path
) -> None:
    now = dt.datetime.now(dt.timezone.utc)
    events = make_events(900, seed=41, now=now)
    events += _reviews(events, seed=41)
    local_db = local_db_with(data_dir, events)
    report = sync_once(local_db, store_url, SyncOptions(), repos=[REPO])
    assert report.sent == len(events)
    # the verdicts move the numbers: without them the buckets would differ
    cutoff = recent_cutoff(now, PatternSettings())
    editor_only = [e for e in events if e.kind is not Kind.REVIEWED]
    assert accumulate(outcome_rows(editor_only, cutoff)) != accumulate(outcome_rows(events, cutoff))
    _assert_team_equals_local(local_db, store_url, events, now)
    # the acceptance report stays the editor's, locally and for the team
    merged: Counter[tuple[str, str, str, str, Kind]] = Counter()
    for tool, language, user, day, kind, count in shared.team_outcome_counts(store_url):
        merged[tool, language, user, iso_week(day), Kind(kind)] += count
    assert merged == Counter(
        {(g.tool, g.language, g.user, g.week, g.kind): g.count for g in outcome_groups(events)}
    )


def test_upgrade_to_5_adds_the_verdicts_already_stored(
    pg_cluster: TestCluster, database: str, data_dir: Path, tmp_path: Path
) -> None:
    import psycopg

    url = pg_cluster.url(database)
    with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
        for number, migration in enumerate(MIGRATIONS[:4], start=1):
            conn.execute(migration.encode())
            conn.execute("INSERT INTO ailoop.schema_version (version) VALUES (%s)", (number,))
    now = dt.datetime.now(dt.timezone.utc)
    events = make_events(600, seed=42, now=now)
    events += _reviews(events, seed=42)
    before, after = events[:500], events[500:]
    v4 = shared.PUSH_COLUMNS.index("line_hashes") + 1  # the columns of version 4
    columns = ", ".join(f'"{c}"' for c in shared.PUSH_COLUMNS[:v4])
    placeholders = ", ".join(["%s"] * v4)
    with psycopg.connect(url) as conn, conn.cursor() as cur:  # as a version-4 ailoop did
        cur.executemany(
            f"INSERT INTO ailoop.events ({columns}) VALUES ({placeholders})",
            [shared.shared_row(e, shared.Privacy())[:v4] for e in before],
        )
        cur.execute("SELECT sum(total) FROM ailoop.pattern_daily WHERE rule = ''")
        assert cur.fetchone() == (len(before),)

    assert shared.apply_migrations(url) == (4, CURRENT_VERSION)
    assert shared.apply_migrations(url) == (CURRENT_VERSION, CURRENT_VERSION)  # nothing again
    local_db = local_db_with(data_dir, after)
    sync_once(local_db, url, SyncOptions(), repos=[REPO])
    _assert_team_equals_local(local_db, url, events, now)
