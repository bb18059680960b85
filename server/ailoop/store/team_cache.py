"""The local cache of the team's pattern statistics, pulled from the shared stores.

It lives in the local SQLite file next to the events (its own tables, created with
``CREATE TABLE IF NOT EXISTS``), so the diagnostics read it with one cheap query and
never touch the network. The sync replaces one store's content in one transaction.

Each row belongs to a store (its id, :func:`ailoop.store.shared.store_id`): two
repositories with two team stores each see their own team's numbers. The readers take
``store``; without it they read the store pulled most recently (the only one, for a
single team).

Tables: ``team_pattern_stats`` (per store and key: all-time and recent counts),
``team_pattern_days`` (per store, key and UTC day, for any recent window) and
``team_stats_meta`` (per store: baseline over all events, when it was pulled, the recent
window used). Rule ``''`` in the daily table is the baseline. A cache written by an older
ailoop (without the store column) is dropped and filled again by the next pull.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Generator
from pathlib import Path

from ailoop.store.shared import (
    Buckets,
    PatternCounts,
    PatternDay,
    TeamPatternStats,
    buckets_from_days,
)

_TABLES = ("team_pattern_stats", "team_pattern_days", "team_stats_meta")

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS team_pattern_stats (
        store           TEXT NOT NULL,
        rule            TEXT NOT NULL,
        rejected        INTEGER NOT NULL,
        accepted        INTEGER NOT NULL,
        rejected_recent INTEGER NOT NULL,
        accepted_recent INTEGER NOT NULL,
        total           INTEGER NOT NULL,
        last_seen       TEXT NOT NULL,
        PRIMARY KEY (store, rule)
    )""",
    """CREATE TABLE IF NOT EXISTS team_pattern_days (
        store    TEXT NOT NULL,
        rule     TEXT NOT NULL,
        day      TEXT NOT NULL,
        rejected INTEGER NOT NULL,
        accepted INTEGER NOT NULL,
        total    INTEGER NOT NULL,
        PRIMARY KEY (store, rule, day)
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS team_stats_meta (
        store TEXT NOT NULL,
        key   TEXT NOT NULL,
        value TEXT NOT NULL,
        PRIMARY KEY (store, key)
    )""",
)

_BASELINE_KEYS = (
    "rejected",
    "accepted",
    "rejected_recent",
    "accepted_recent",
    "total",
    "last_seen",
)


def _has_store_column(db: sqlite3.Connection) -> bool:
    columns = {row[1] for row in db.execute("PRAGMA table_info(team_pattern_stats)")}
    return not columns or "store" in columns


@contextlib.contextmanager
def _open(db_path: Path, *, busy_timeout: float = 5.0) -> Generator[sqlite3.Connection]:
    db = sqlite3.connect(db_path, timeout=busy_timeout, isolation_level=None)
    try:
        if not _has_store_column(db):  # a cache from before stores had ids: pulled again
            db.execute("BEGIN IMMEDIATE")
            try:
                if not _has_store_column(db):
                    for table in _TABLES:
                        db.execute(f"DROP TABLE IF EXISTS {table}")
                db.execute("COMMIT")
            except BaseException:
                with contextlib.suppress(sqlite3.Error):
                    db.execute("ROLLBACK")
                raise
        for statement in _SCHEMA:
            db.execute(statement)
        yield db
    finally:
        db.close()


def _which(db: sqlite3.Connection, store: str | None) -> str | None:
    """Return ``store``, or the store pulled most recently when it is None."""
    if store is not None:
        return store
    row = db.execute(
        "SELECT store FROM team_stats_meta WHERE key = 'pulled_at' ORDER BY value DESC LIMIT 1"
    ).fetchone()
    return None if row is None else str(row[0])


def replace_team_stats(
    db_path: Path, stats: TeamPatternStats, pulled_at: str, *, store: str = ""
) -> None:
    """Replace the cached statistics of ``store`` with ``stats`` in one transaction."""
    with _open(db_path) as db:
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("DELETE FROM team_pattern_stats WHERE store = ?", (store,))
            db.executemany(
                "INSERT INTO team_pattern_stats VALUES (?,?,?,?,?,?,?,?)",
                [
                    (
                        store,
                        c.rule,
                        c.rejected,
                        c.accepted,
                        c.rejected_recent,
                        c.accepted_recent,
                        c.total,
                        c.last_seen,
                    )
                    for c in stats.keys
                ],
            )
            db.execute("DELETE FROM team_pattern_days WHERE store = ?", (store,))
            db.executemany(
                "INSERT INTO team_pattern_days VALUES (?,?,?,?,?,?)",
                [(store, d.rule, d.day, d.rejected, d.accepted, d.total) for d in stats.days],
            )
            meta = {key: str(getattr(stats.baseline, key)) for key in _BASELINE_KEYS}
            meta["pulled_at"] = pulled_at
            meta["recent_days"] = str(stats.recent_days)
            db.executemany(
                "INSERT OR REPLACE INTO team_stats_meta (store, key, value) VALUES (?, ?, ?)",
                [(store, key, value) for key, value in sorted(meta.items())],
            )
            db.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            raise


def read_team_pattern_stats(db_path: Path, store: str | None = None) -> dict[str, PatternCounts]:
    """Return the cached per-key statistics, keyed by pattern key (empty before a pull)."""
    with _open(db_path) as db:
        rows = db.execute(
            "SELECT rule, rejected, accepted, rejected_recent, accepted_recent, total, "
            "last_seen FROM team_pattern_stats WHERE store = ?",
            (_which(db, store),),
        ).fetchall()
    return {row[0]: PatternCounts(*row) for row in rows}


def read_team_baseline(db_path: Path, store: str | None = None) -> tuple[PatternCounts, str | None]:
    """Return the cached counts over all team events and when they were pulled (or None)."""
    with _open(db_path) as db:
        meta = dict(
            db.execute(
                "SELECT key, value FROM team_stats_meta WHERE store = ?", (_which(db, store),)
            ).fetchall()
        )
    if "pulled_at" not in meta:
        return PatternCounts("", 0, 0, 0, 0, 0, ""), None
    rejected, accepted, rejected_recent, accepted_recent, total = (
        int(meta.get(key, 0)) for key in _BASELINE_KEYS[:-1]
    )
    baseline = PatternCounts(
        "", rejected, accepted, rejected_recent, accepted_recent, total, meta.get("last_seen", "")
    )
    return baseline, meta["pulled_at"]


def read_team_pattern_days(db_path: Path, store: str | None = None) -> list[PatternDay]:
    """Return the cached per-key daily counts (rule ``''`` is every event), sorted."""
    with _open(db_path) as db:
        rows = db.execute(
            "SELECT rule, day, rejected, accepted, total FROM team_pattern_days "
            "WHERE store = ? ORDER BY rule, day",
            (_which(db, store),),
        ).fetchall()
    return [PatternDay(*row) for row in rows]


def team_buckets(
    db_path: Path, recent_from: str, store: str | None = None
) -> tuple[dict[str, Buckets], Buckets]:
    """Return per-key and overall outcome buckets, days from ``recent_from`` on as recent.

    ``recent_from`` is a UTC day (``YYYY-MM-DD``), e.g. from
    ``ailoop.patterns.stats.recent_cutoff``; the result feeds
    ``ailoop.patterns.stats.stats_from_counts``. ``store``: whose numbers (default: the
    store pulled most recently). Empty before the first pull.
    """
    return buckets_from_days(read_team_pattern_days(db_path, store), recent_from)
