"""Event counts of the local store kept up to date in a small summary database.

One ``GROUP BY`` over a million events takes seconds in SQLite, for ``ailoop stats`` and
every report. The events are append-only and numbered (``seq``), so, as the pattern
statistics do (:mod:`ailoop.patterns.aggregate`), a summary next to them
(``stats-summary.db`` in the data directory) holds the counts per repository, tool,
model, language, user, ISO week, kind and review outcome, and each refresh adds only the
events stored since the last one; counted per ISO week (the finest grain the statistics
show), so a million events summarise to a few thousand rows. It starts over when the
events database was replaced, and is built again when its layout changed. The events
database is only read. When the summary cannot be written (a read-only data directory),
the counts come from one aggregate query instead.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ailoop.analytics.acceptance import iso_week
from ailoop.analytics.stages import KindGroup, Slices
from ailoop.patterns.stats import event_day
from ailoop.store.events import Kind
from ailoop.store.local import DB_NAME, StoreError, describe_failure
from ailoop.store.summary_db import DAY_SQL, EventSummary

SUMMARY_NAME = "stats-summary.db"
#: The summary's layout; a summary of another version is dropped and built again.
SUMMARY_VERSION = "2"

_SCHEMA = (
    "DROP TABLE IF EXISTS slices",
    "DROP TABLE IF EXISTS modified",
    # one row per slice (``dim``: t = per tool, model and week, l = per language, u = per
    # user; the fields of the other slices are empty), see
    # :class:`ailoop.analytics.stages.Slices`
    "CREATE TABLE slices (dim TEXT NOT NULL, repo TEXT NOT NULL,"
    " tool TEXT NOT NULL, model TEXT NOT NULL, language TEXT NOT NULL, user TEXT NOT NULL,"
    " week TEXT NOT NULL, kind TEXT NOT NULL, outcome TEXT NOT NULL, pr_level INTEGER NOT NULL,"
    " n INTEGER NOT NULL, lines INTEGER NOT NULL,"
    " PRIMARY KEY (dim, repo, tool, model, language, user, week, kind, outcome, pr_level))"
    " WITHOUT ROWID",
    "CREATE TABLE modified (repo TEXT NOT NULL, snippet TEXT NOT NULL,"
    " PRIMARY KEY (repo, snippet)) WITHOUT ROWID",
)

_NEW = f"""
SELECT repo, tool, coalesce(model, ''), language, user, {DAY_SQL}, kind, coalesce(outcome, ''),
       kind = 'reviewed' AND snippet = '', count(*), coalesce(sum(lines), 0)
FROM events WHERE seq > ? AND seq <= ?
GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9
"""  # noqa: S608 - constants only

_NEW_MODIFIED = """
SELECT DISTINCT repo, snippet FROM events WHERE kind = 'modified' AND seq > ? AND seq <= ?
"""


def _day(value: object) -> str:
    text = str(value)
    return text if len(text) == 10 else event_day(text)


class StatsSummary(EventSummary):
    """The summary of one local store's events."""

    version = SUMMARY_VERSION
    schema = _SCHEMA
    tables = ("slices", "modified")

    def __init__(self, data_dir: Path) -> None:
        super().__init__(data_dir / DB_NAME, data_dir / SUMMARY_NAME)

    def add(self, events: sqlite3.Connection, after_seq: int, up_to_seq: int) -> None:
        """Add the counts of the events in the ``seq`` range, and their modified snippets."""
        rows: dict[tuple[object, ...], list[int]] = {}
        weeks: dict[object, str] = {}
        for (
            repo,
            tool,
            model,
            language,
            user,
            day,
            kind,
            outcome,
            pr_level,
            count,
            lines,
        ) in events.execute(_NEW, (after_seq, up_to_seq)):
            week = weeks.get(day)
            if week is None:
                week = weeks[day] = iso_week(_day(day))
            tool, language, user = (str(v) or "unknown" for v in (tool, language, user))
            rest = (kind, outcome, int(pr_level))
            for key in (
                ("t", repo, tool, model, "", "", week, *rest),
                ("l", repo, "", "", language, "", "", *rest),
                ("u", repo, "", "", "", user, "", *rest),
            ):
                sums = rows.setdefault(key, [0, 0])
                sums[0] += int(count)
                sums[1] += int(lines)
        self._db.executemany(
            "INSERT INTO slices VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
            "ON CONFLICT DO UPDATE SET n = n + excluded.n, lines = lines + excluded.lines",
            [(*key, n, lines) for key, (n, lines) in rows.items()],
        )
        self._db.executemany(
            "INSERT OR IGNORE INTO modified VALUES (?, ?)",
            events.execute(_NEW_MODIFIED, (after_seq, up_to_seq)),
        )

    def groups(self, repo: str | None) -> tuple[Slices, int]:
        """Return the slices and the modified snippets (of ``repo``, when given)."""
        where, params = "1 = 1", []
        if repo:
            where += " AND repo = ?"
            params.append(repo)
        cuts: dict[str, list[KindGroup]] = {"t": [], "l": [], "u": []}
        kinds = {k.value: k for k in Kind}
        for row in self._db.execute(
            "SELECT dim, tool, model, language, user, week, kind, outcome, pr_level, "  # noqa: S608
            f"sum(n), sum(lines) FROM slices WHERE {where} GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9",
            params,
        ):
            dim, tool, model, language, user, week, kind, outcome, pr_level, n, lines = row
            if kind in kinds and dim in cuts:
                cuts[dim].append(
                    KindGroup(
                        tool,
                        language,
                        user,
                        week,
                        kinds[kind],
                        outcome,
                        bool(pr_level),
                        n,
                        lines,
                        model,
                    )
                )
        (modified,) = self._db.execute(
            f"SELECT count(*) FROM modified WHERE {where}",  # noqa: S608
            params,
        ).fetchone()
        return Slices(cuts["t"], cuts["l"], cuts["u"]), int(modified)


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
