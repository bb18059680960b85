"""A summary database next to the local store, refreshed with the events stored since.

The events are append-only and numbered (``seq``), so a summary database in the data
directory can hold what is costly to compute from them, and each refresh read only the
events that arrived since the last one; the pattern statistics keep theirs so
(``pattern-summary.db``, :mod:`ailoop.patterns.aggregate`). :class:`EventSummary` is the
bookkeeping: the ``meta`` table (layout version, last ``seq`` read and that event's id),
one transaction per refresh, building the tables again when their layout changed and
starting over when the events database was replaced (the id at the last ``seq`` read is
another one). The events database is only read.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

from ailoop.store.local import MIGRATIONS, LocalStore

T = TypeVar("T")

_META = "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)"


def open_events(database: Path) -> sqlite3.Connection:
    """Open the events read-only, once their schema is this version's.

    A store written by an older ailoop is migrated first (by the store itself, as the
    server would on start), so the queries find the columns they read. Raises
    :class:`sqlite3.Error` when it cannot be read.
    """
    conn = sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True, timeout=5.0)
    try:
        (version,) = conn.execute("PRAGMA user_version").fetchone()
    except BaseException:
        conn.close()
        raise
    if version < len(MIGRATIONS):
        conn.close()
        LocalStore(database).close()
        conn = sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True, timeout=5.0)
    return conn


def id_at(events: sqlite3.Connection, seq: int) -> str | None:
    """Return the id of the event numbered ``seq``, None when there is none."""
    row = events.execute("SELECT id FROM events WHERE seq = ?", (seq,)).fetchone()
    return None if row is None else str(row[0])


class EventSummary:
    """A summary database of one local store's events.

    A subclass names its layout (:attr:`version`), the statements that drop and create its
    tables (:attr:`schema`), the tables a replaced store empties (:attr:`tables`), and adds
    the events of a ``seq`` range in :meth:`add`.
    """

    version = ""
    schema: tuple[str, ...] = ()
    tables: tuple[str, ...] = ()

    def __init__(self, events_path: Path, path: Path) -> None:
        self.events_path = events_path
        self.path = path
        self._db = sqlite3.connect(path, timeout=10.0, isolation_level=None)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(_META)
            if self.meta("version") != self.version:
                self._transaction(self._build)
        except BaseException:
            self._db.close()
            raise

    def close(self) -> None:
        """Close the summary database."""
        self._db.close()

    def meta(self, name: str) -> str | None:
        """Return a value of the ``meta`` table."""
        row = self._db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    def _set_meta(self, name: str, value: str) -> None:
        self._db.execute(
            "INSERT INTO meta (name, value) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (name, value),
        )

    def refresh(self) -> int:
        """Add the events stored since the last refresh; return how many seqs were read.

        All of them when the layout changed or the store was replaced. Raises
        :class:`sqlite3.Error` (the events or the summary cannot be read or written).
        """
        events = open_events(self.events_path)
        try:
            return self._transaction(lambda: self._refresh(events))
        finally:
            events.close()

    def _transaction(self, work: Callable[[], T]) -> T:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            result = work()
            self._db.execute("COMMIT")
        except BaseException:
            self._db.execute("ROLLBACK")
            raise
        return result

    def _build(self) -> None:
        """Create the tables of this layout, unless another process just did."""
        if self.meta("version") != self.version:
            for statement in self.schema:
                self._db.execute(statement)
            self._set_meta("version", self.version)
            self._set_meta("last_seq", "0")

    def _refresh(self, events: sqlite3.Connection) -> int:
        self._build()  # another ailoop may have used another layout since
        last_seq = int(self.meta("last_seq") or 0)
        if last_seq and id_at(events, last_seq) != self.meta("last_id"):
            for table in self.tables:
                self._db.execute(f"DELETE FROM {table}")  # noqa: S608 - constant names
            last_seq = 0
        (up_to,) = events.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()
        if up_to <= last_seq:
            return 0
        self.add(events, last_seq, up_to)
        self._set_meta("last_seq", str(up_to))
        self._set_meta("last_id", id_at(events, up_to) or "")
        return int(up_to - last_seq)

    def add(self, events: sqlite3.Connection, after_seq: int, up_to_seq: int) -> None:
        """Add the events with ``after_seq < seq <= up_to_seq`` (inside the refresh)."""
        raise NotImplementedError
