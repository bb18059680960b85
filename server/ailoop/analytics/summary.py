"""Event counts of the local store kept up to date in a small summary database.

One ``GROUP BY`` over a million events takes seconds in SQLite, for ``ailoop stats`` and
every report. The events are append-only and numbered (``seq``), so, as the pattern
statistics do (:mod:`ailoop.patterns.aggregate`), a summary next to them
(``stats-summary.db`` in the data directory) holds the counts per repository, tool,
language, user, ISO week, kind and review outcome, and each refresh adds only the events
stored since the last one; counted per ISO week (the finest grain the statistics show),
so a million events summarise to a few thousand rows. It starts over when the events database was replaced. The
events database is only read. When the summary cannot be written (a read-only data
directory), the counts come from one aggregate query instead.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ailoop.analytics.acceptance import iso_week
from ailoop.analytics.stages import KindGroup, Slices
from ailoop.patterns.stats import event_day
from ailoop.store.events import Kind
from ailoop.store.local import DB_NAME, MIGRATIONS, LocalStore, StoreError, describe_failure

SUMMARY_NAME = "stats-summary.db"
SUMMARY_VERSION = "1"

_SCHEMA = (
    "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
    # one row per slice (``dim``: t = per tool and week, l = per language, u = per user;
    # the fields of the other slices are empty), see :class:`ailoop.analytics.stages.Slices`
    "CREATE TABLE IF NOT EXISTS slices (dim TEXT NOT NULL, repo TEXT NOT NULL,"
    " tool TEXT NOT NULL, language TEXT NOT NULL, user TEXT NOT NULL, week TEXT NOT NULL,"
    " kind TEXT NOT NULL, outcome TEXT NOT NULL, pr_level INTEGER NOT NULL,"
    " n INTEGER NOT NULL, lines INTEGER NOT NULL,"
    " PRIMARY KEY (dim, repo, tool, language, user, week, kind, outcome, pr_level)) WITHOUT ROWID",
    "CREATE TABLE IF NOT EXISTS modified (repo TEXT NOT NULL, snippet TEXT NOT NULL,"
    " PRIMARY KEY (repo, snippet)) WITHOUT ROWID",
)

_DAY = (
    "CASE WHEN length(ts) > 10 AND substr(ts, 11, 1) = 'T' AND substr(ts, -1) = 'Z'"
    " THEN substr(ts, 1, 10) ELSE ts END"
)

_NEW = f"""
SELECT repo, tool, language, user, {_DAY}, kind, coalesce(outcome, ''),
       kind = 'reviewed' AND snippet = '', count(*), coalesce(sum(lines), 0)
FROM events WHERE seq > ? AND seq <= ?
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8
"""  # noqa: S608 - constants only

_NEW_MODIFIED = """
SELECT DISTINCT repo, snippet FROM events WHERE kind = 'modified' AND seq > ? AND seq <= ?
"""


def _open_events(database: Path) -> sqlite3.Connection:
    conn = sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True, timeout=5.0)
    (version,) = conn.execute("PRAGMA user_version").fetchone()
    if version < len(MIGRATIONS):  # an older store: migrated as the server would
        conn.close()
        LocalStore(database).close()
        conn = sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True, timeout=5.0)
    return conn


def _day(value: object) -> str:
    text = str(value)
    return text if len(text) == 10 else event_day(text)


class StatsSummary:
    """The summary of one local store's events."""

    def __init__(self, data_dir: Path) -> None:
        self.events_path = data_dir / DB_NAME
        self._db = sqlite3.connect(data_dir / SUMMARY_NAME, timeout=10.0, isolation_level=None)
        self._db.execute("PRAGMA journal_mode=WAL")
        for statement in _SCHEMA:
            self._db.execute(statement)

    def close(self) -> None:
        """Close the summary database."""
        self._db.close()

    def _meta(self, name: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    def _set_meta(self, name: str, value: str) -> None:
        self._db.execute(
            "INSERT INTO meta VALUES (?, ?) ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (name, value),
        )

    def refresh(self) -> None:
        """Add the events stored since the last refresh (all, for a replaced store)."""
        events = _open_events(self.events_path)
        try:
            self._db.execute("BEGIN IMMEDIATE")
            try:
                self._refresh(events)
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
        finally:
            events.close()

    def _refresh(self, events: sqlite3.Connection) -> None:
        last_seq = int(self._meta("last_seq") or 0)
        if self._meta("version") != SUMMARY_VERSION or (
            last_seq and _id_at(events, last_seq) != self._meta("last_id")
        ):
            self._db.execute("DELETE FROM slices")
            self._db.execute("DELETE FROM modified")
            last_seq = 0
            self._set_meta("version", SUMMARY_VERSION)
        (up_to,) = events.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()
        if up_to <= last_seq:
            return
        rows: dict[tuple[object, ...], list[int]] = {}
        weeks: dict[object, str] = {}
        for (
            repo,
            tool,
            language,
            user,
            day,
            kind,
            outcome,
            pr_level,
            count,
            lines,
        ) in events.execute(_NEW, (last_seq, up_to)):
            week = weeks.get(day)
            if week is None:
                week = weeks[day] = iso_week(_day(day))
            tool, language, user = (str(v) or "unknown" for v in (tool, language, user))
            rest = (kind, outcome, int(pr_level))
            for key in (
                ("t", repo, tool, "", "", week, *rest),
                ("l", repo, "", language, "", "", *rest),
                ("u", repo, "", "", user, "", *rest),
            ):
                sums = rows.setdefault(key, [0, 0])
                sums[0] += int(count)
                sums[1] += int(lines)
        self._db.executemany(
            "INSERT INTO slices VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT DO UPDATE SET n = n + excluded.n, lines = lines + excluded.lines",
            [(*key, n, lines) for key, (n, lines) in rows.items()],
        )
        self._db.executemany(
            "INSERT OR IGNORE INTO modified VALUES (?, ?)",
            events.execute(_NEW_MODIFIED, (last_seq, up_to)),
        )
        self._set_meta("last_seq", str(up_to))
        self._set_meta("last_id", _id_at(events, up_to) or "")

    def groups(self, repo: str | None) -> tuple[Slices, int]:
        """Return the slices and the modified snippets (of ``repo``, when given)."""
        where, params = "1 = 1", []
        if repo:
            where += " AND repo = ?"
            params.append(repo)
        cuts: dict[str, list[KindGroup]] = {"t": [], "l": [], "u": []}
        kinds = {k.value: k for k in Kind}
        for dim, tool, language, user, week, kind, outcome, pr_level, n, lines in self._db.execute(
            "SELECT dim, tool, language, user, week, kind, outcome, pr_level, sum(n), sum(lines) "  # noqa: S608
            f"FROM slices WHERE {where} GROUP BY 1, 2, 3, 4, 5, 6, 7, 8",
            params,
        ):
            if kind in kinds and dim in cuts:
                cuts[dim].append(
                    KindGroup(
                        tool, language, user, week, kinds[kind], outcome, bool(pr_level), n, lines
                    )
                )
        (modified,) = self._db.execute(
            f"SELECT count(*) FROM modified WHERE {where}",  # noqa: S608
            params,
        ).fetchone()
        return Slices(cuts["t"], cuts["l"], cuts["u"]), int(modified)


def _id_at(events: sqlite3.Connection, seq: int) -> str | None:
    row = events.execute("SELECT id FROM events WHERE seq = ?", (seq,)).fetchone()
    return None if row is None else str(row[0])


def summary_groups(data_dir: Path, repo: str | None) -> tuple[Slices, int] | None:
    """Return the kind groups through the summary, or None when it cannot be kept.

    Raises :class:`StoreError` when the events cannot be read.
    """
    try:
        summary = StatsSummary(data_dir)
    except sqlite3.Error:
        return None
    try:
        try:
            summary.refresh()
        except sqlite3.Error as exc:
            if "no such table" in str(exc):
                return Slices([], [], []), 0
            if "readonly" in str(exc) or "read-only" in str(exc):
                return None
            raise StoreError(describe_failure(data_dir / DB_NAME, exc)) from exc
        return summary.groups(repo)
    finally:
        summary.close()
