"""The local cache of the team's pattern statistics, pulled from the shared store.

It lives in the local SQLite file next to the events (its own tables, created with
``CREATE TABLE IF NOT EXISTS``), so the diagnostics read it with one cheap query and
never touch the network. The sync replaces its content in one transaction.
"""

from __future__ import annotations

import contextlib
import sqlite3
from collections.abc import Generator, Sequence
from pathlib import Path

from ailoop.store.shared import PatternCounts

_SCHEMA = (
    """CREATE TABLE IF NOT EXISTS team_pattern_stats (
        rule        TEXT PRIMARY KEY,
        rejected    INTEGER NOT NULL,
        accepted    INTEGER NOT NULL,
        rejected_7d INTEGER NOT NULL,
        total       INTEGER NOT NULL,
        last_seen   TEXT NOT NULL
    )""",
    """CREATE TABLE IF NOT EXISTS team_stats_meta (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
    )""",
)

_BASELINE_KEYS = ("rejected", "accepted", "rejected_7d", "total", "last_seen")


@contextlib.contextmanager
def _open(db_path: Path, *, busy_timeout: float = 5.0) -> Generator[sqlite3.Connection]:
    db = sqlite3.connect(db_path, timeout=busy_timeout, isolation_level=None)
    try:
        for statement in _SCHEMA:
            db.execute(statement)
        yield db
    finally:
        db.close()


def replace_team_stats(
    db_path: Path, rules: Sequence[PatternCounts], baseline: PatternCounts, pulled_at: str
) -> None:
    """Replace the cached statistics with ``rules`` and ``baseline`` in one transaction."""
    with _open(db_path) as db:
        db.execute("BEGIN IMMEDIATE")
        try:
            db.execute("DELETE FROM team_pattern_stats")
            db.executemany(
                "INSERT INTO team_pattern_stats VALUES (?,?,?,?,?,?)",
                [
                    (c.rule, c.rejected, c.accepted, c.rejected_7d, c.total, c.last_seen)
                    for c in rules
                ],
            )
            meta = {key: str(getattr(baseline, key)) for key in _BASELINE_KEYS}
            meta["pulled_at"] = pulled_at
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
    """Return the cached per-rule statistics, keyed by rule id (empty before the first pull)."""
    with _open(db_path) as db:
        rows = db.execute(
            "SELECT rule, rejected, accepted, rejected_7d, total, last_seen FROM team_pattern_stats"
        ).fetchall()
    return {row[0]: PatternCounts(*row) for row in rows}


def read_team_baseline(db_path: Path) -> tuple[PatternCounts, str | None]:
    """Return the cached counts over all team events and when they were pulled (or None)."""
    with _open(db_path) as db:
        meta = dict(db.execute("SELECT key, value FROM team_stats_meta").fetchall())
    if "pulled_at" not in meta:
        return PatternCounts("", 0, 0, 0, 0, ""), None
    return (
        PatternCounts(
            "",
            int(meta.get("rejected", 0)),
            int(meta.get("accepted", 0)),
            int(meta.get("rejected_7d", 0)),
            int(meta.get("total", 0)),
            meta.get("last_seen", ""),
        ),
        meta["pulled_at"],
    )
