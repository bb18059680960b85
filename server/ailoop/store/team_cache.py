"""The local cache of the team's pattern statistics, pulled from the shared store.

It lives in the local SQLite file next to the events (its own tables, created with
``CREATE TABLE IF NOT EXISTS``), so the diagnostics read it with one cheap query and
never touch the network. The sync replaces its content in one transaction.

Tables: ``team_pattern_stats`` (per key: all-time and recent counts), ``team_pattern_days``
(per key and UTC day, for any recent window) and ``team_stats_meta`` (baseline over all
events, when it was pulled, the recent window used). Rule ``''`` in the daily table is the
baseline.
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

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS team_pattern_stats (
        rule            TEXT PRIMARY KEY,
        rejected        INTEGER NOT NULL,
        accepted        INTEGER NOT NULL,
        rejected_recent INTEGER NOT NULL,
        accepted_recent INTEGER NOT NULL,
        total           INTEGER NOT NULL,
        last_seen       TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS team_pattern_days (
        rule     TEXT NOT NULL,
        day      TEXT NOT NULL,
        rejected INTEGER NOT NULL,
        accepted INTEGER NOT NULL,
        total    INTEGER NOT NULL,
        PRIMARY KEY (rule, day)
    ) WITHOUT ROWID""",
    """CREATE TABLE IF NOT EXISTS team_stats_meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
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


@contextlib.contextmanager
def _open(db_path: Path, *, busy_timeout: float = 5.0) -> Generator[sqlite3.Connection]:
    db = sqlite3.connect(db_path, timeout=busy_timeout, isolation_level=None)
    try:
        for statement in _SCHEMA:
            db.execute(statement)
        yield db
    finally:
        db.close()


def replace_team_stats(db_path: Path, stats: TeamPatternStats, pulled_at: str) -> None:
    """Replace the cached statistics with ``stats`` in one transaction."""
    with _open(db_path) as db:
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("DELETE FROM team_pattern_stats")
            db.executemany(
                "INSERT INTO team_pattern_stats VALUES (?,?,?,?,?,?,?)",
                [
                    (
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
            db.execute("DELETE FROM team_pattern_days")
            db.executemany(
                "INSERT INTO team_pattern_days VALUES (?,?,?,?,?)",
                [(d.rule, d.day, d.rejected, d.accepted, d.total) for d in stats.days],
            )
            meta = {key: str(getattr(stats.baseline, key)) for key in _BASELINE_KEYS}
            meta["pulled_at"] = pulled_at
            meta["recent_days"] = str(stats.recent_days)
            db.executemany(
                "INSERT OR REPLACE INTO team_stats_meta (key, value) VALUES (?, ?)",
                sorted(meta.items()),
            )
            db.execute("COMMIT")
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                db.execute("ROLLBACK")
            raise


def read_team_pattern_stats(db_path: Path) -> dict[str, PatternCounts]:
    """Return the cached per-key statistics, keyed by pattern key (empty before a pull)."""
    with _open(db_path) as db:
        rows = db.execute(
            "SELECT rule, rejected, accepted, rejected_recent, accepted_recent, total, "
            "last_seen FROM team_pattern_stats"
        ).fetchall()
    return {row[0]: PatternCounts(*row) for row in rows}


def read_team_baseline(db_path: Path) -> tuple[PatternCounts, str | None]:
    """Return the cached counts over all team events and when they were pulled (or None)."""
    with _open(db_path) as db:
        meta = dict(db.execute("SELECT key, value FROM team_stats_meta").fetchall())
    if "pulled_at" not in meta:
        return PatternCounts("", 0, 0, 0, 0, 0, ""), None
    rejected, accepted, rejected_recent, accepted_recent, total = (
        int(meta.get(key, 0)) for key in _BASELINE_KEYS[:-1]
    )
    baseline = PatternCounts(
        "", rejected, accepted, rejected_recent, accepted_recent, total, meta.get("last_seen", "")
    )
    return baseline, meta["pulled_at"]


def read_team_pattern_days(db_path: Path) -> list[PatternDay]:
    """Return the cached per-key daily counts (rule ``''`` is every event), sorted."""
    with _open(db_path) as db:
        rows = db.execute(
            "SELECT rule, day, rejected, accepted, total FROM team_pattern_days ORDER BY rule, day"
        ).fetchall()
    return [PatternDay(*row) for row in rows]


def team_buckets(db_path: Path, recent_from: str) -> tuple[dict[str, Buckets], Buckets]:
    """Return per-key and overall outcome buckets, days from ``recent_from`` on as recent.

    ``recent_from`` is a UTC day (``YYYY-MM-DD``), e.g. from
    ``ailoop.patterns.stats.recent_cutoff``; the result feeds
    ``ailoop.patterns.stats.stats_from_counts``. Empty before the first pull.
    """
    return buckets_from_days(read_team_pattern_days(db_path), recent_from)
