"""The local event store: SQLite in WAL mode under the data directory.

Every event is written here first, durably (``synchronous=FULL``), before anything else
happens with it. Several server processes (several editor windows) share one file: WAL
lets readers and the single writer proceed together, and the busy timeout serialises
writers. Writes are idempotent on the event id, so an event retried after an unclear
failure is never stored twice.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Callable, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

from ailoop.store.events import OUTCOMES, Event

DB_NAME = "events.db"

T = TypeVar("T")

#: Schema migrations, applied in order; ``PRAGMA user_version`` records how many ran.
#: Append new steps; never edit a released one.
MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE events (
        seq        INTEGER PRIMARY KEY AUTOINCREMENT,
        id         TEXT NOT NULL UNIQUE,
        ts         TEXT NOT NULL,
        kind       TEXT NOT NULL,
        snippet    TEXT NOT NULL,
        tool       TEXT NOT NULL,
        source     TEXT NOT NULL,
        user       TEXT NOT NULL,
        repo       TEXT NOT NULL,
        path       TEXT NOT NULL,
        language   TEXT NOT NULL,
        lines      INTEGER NOT NULL,
        findings   TEXT NOT NULL,
        reason     TEXT,
        pattern    TEXT,
        text       TEXT,
        similarity REAL,
        synced     INTEGER NOT NULL DEFAULT 0
    );
    CREATE INDEX events_snippet ON events (snippet);
    CREATE INDEX events_repo_path ON events (repo, path);
    CREATE INDEX events_unsynced ON events (seq) WHERE synced = 0;
    """,
)

_COLUMNS = (
    "id, ts, kind, snippet, tool, source, user, repo, path, language, lines, findings, "
    "reason, pattern, text, similarity"
)


class StoreError(Exception):
    """The store cannot be used right now; the message says why and where."""


def default_data_dir() -> Path:
    """Return ``AILOOP_DATA_DIR`` or the platform's user data directory for ailoop."""
    if env := os.environ.get("AILOOP_DATA_DIR"):
        return Path(env).expanduser()
    import platformdirs

    return Path(platformdirs.user_data_dir("ailoop", appauthor=False))


def _row(event: Event) -> tuple[object, ...]:
    return (
        event.id,
        event.ts,
        event.kind.value,
        event.snippet,
        event.tool,
        event.source.value,
        event.user,
        event.repo,
        event.path,
        event.language,
        event.lines,
        json.dumps(list(event.findings)),
        event.reason,
        event.pattern,
        event.text,
        event.similarity,
    )


def _event(row: sqlite3.Row) -> Event:
    data = dict(row)
    data["findings"] = json.loads(data["findings"])
    return Event.from_json(data)


class LocalStore:
    """A connection to the local event store. Not thread-safe: use it from one thread."""

    def __init__(self, path: Path, *, busy_timeout: float = 5.0) -> None:
        self.path = path
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
            self._db = sqlite3.connect(path, timeout=busy_timeout, isolation_level=None)
            self._db.row_factory = sqlite3.Row
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute("PRAGMA synchronous=FULL")
            self._migrate()
        except (sqlite3.Error, OSError) as exc:
            raise StoreError(describe_failure(path, exc)) from exc

    @classmethod
    def open(cls, data_dir: Path | None = None) -> LocalStore:
        """Open (creating if needed) the store in ``data_dir`` or the default data dir."""
        return cls((data_dir or default_data_dir()) / DB_NAME)

    def close(self) -> None:
        """Close the connection."""
        self._db.close()

    def _migrate(self) -> None:
        (version,) = self._db.execute("PRAGMA user_version").fetchone()
        if version > len(MIGRATIONS):
            raise StoreError(
                f"{self.path} was written by a newer ailoop (schema {version}, this one knows "
                f"{len(MIGRATIONS)}); upgrade ailoop or point AILOOP_DATA_DIR elsewhere"
            )
        for number, script in enumerate(MIGRATIONS[version:], start=version + 1):
            self._db.execute("BEGIN IMMEDIATE")
            try:
                (current,) = self._db.execute("PRAGMA user_version").fetchone()
                if current < number:  # another process may have migrated meanwhile
                    for statement in script.split(";"):
                        if statement.strip():
                            self._db.execute(statement)
                    self._db.execute(f"PRAGMA user_version = {number}")
                self._db.execute("COMMIT")
            except BaseException:
                self._db.execute("ROLLBACK")
                raise

    def append(self, events: Sequence[Event]) -> None:
        """Write ``events`` durably in one transaction; already-stored ids are ignored."""
        if not events:
            return
        try:
            with self._transaction():
                self._db.executemany(
                    f"INSERT OR IGNORE INTO events ({_COLUMNS}) "  # noqa: S608 - constant
                    "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
                    [_row(e) for e in events],
                )
        except sqlite3.Error as exc:
            raise StoreError(describe_failure(self.path, exc)) from exc

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        self._db.execute("BEGIN IMMEDIATE")
        try:
            yield
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")
            raise
        self._db.execute("COMMIT")

    def events(self, *, after_seq: int = 0) -> Iterator[Event]:
        """Yield stored events, oldest first (by time, then by arrival)."""
        cursor = self._db.execute(
            f"SELECT {_COLUMNS} FROM events WHERE seq > ? ORDER BY ts, seq",  # noqa: S608
            (after_seq,),
        )
        for row in cursor:
            yield _event(row)

    def count(self) -> int:
        """Return how many events are stored."""
        (n,) = self._db.execute("SELECT count(*) FROM events").fetchone()
        return int(n)

    def unresolved(self, repo: str, path: str) -> list[Event]:
        """Return the ``generated`` events for ``repo``/``path`` whose snippet has no outcome yet.

        These are the snippets an editor should pick up again when it opens the file: left
        unreviewed in an earlier session, or recorded by an agent hook.
        """
        outcomes = ",".join(f"'{k.value}'" for k in OUTCOMES)
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM events AS g "  # noqa: S608 - constants only
            "WHERE g.kind = 'generated' AND g.repo = ? AND g.path = ? AND NOT EXISTS ("
            f"  SELECT 1 FROM events AS o WHERE o.snippet = g.snippet AND o.kind IN ({outcomes})"
            "   AND o.repo = g.repo AND o.path = g.path AND o.seq > g.seq)"
            " ORDER BY g.seq",
            (repo, path),
        ).fetchall()
        latest: dict[str, Event] = {}
        for row in rows:
            event = _event(row)
            latest[event.snippet] = event
        return list(latest.values())

    def unsynced(self, limit: int) -> list[tuple[int, Event]]:
        """Return up to ``limit`` events not yet confirmed by the shared store, with their seq."""
        rows = self._db.execute(
            f"SELECT seq, {_COLUMNS} FROM events WHERE synced = 0 ORDER BY seq LIMIT ?",  # noqa: S608
            (limit,),
        ).fetchall()
        out = []
        for row in rows:
            data = dict(row)
            seq = int(data.pop("seq"))
            data["findings"] = json.loads(data["findings"])
            out.append((seq, Event.from_json(data)))
        return out

    def mark_synced(self, seqs: Iterable[int]) -> None:
        """Record that the shared store has confirmed the events with these seqs."""
        with self._transaction():
            self._db.executemany("UPDATE events SET synced = 1 WHERE seq = ?", [(s,) for s in seqs])


def read_only(database: Path, run: Callable[[sqlite3.Connection], T], empty: T) -> T:
    """Run ``run`` on a read-only connection to the store file ``database``.

    A store that does not exist yet, or has no events table yet, reads as ``empty``; any
    other failure raises :class:`StoreError` with a message that says what to do.
    """
    if not database.exists():
        return empty
    try:
        connection = sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True, timeout=5.0)
    except sqlite3.Error as exc:
        raise StoreError(describe_failure(database, exc)) from exc
    try:
        return run(connection)
    except sqlite3.Error as exc:
        if "no such table" in str(exc):
            return empty
        raise StoreError(describe_failure(database, exc)) from exc
    finally:
        connection.close()


def describe_failure(path: Path, exc: BaseException) -> str:
    """Turn a SQLite or OS error into a message that says what is wrong and what to do."""
    text = str(exc)
    if "locked" in text or "busy" in text:
        hint = "another program holds a lock on it; events wait in memory and are retried"
    elif "readonly" in text or "read-only" in text or isinstance(exc, PermissionError):
        hint = "it is not writable; fix its permissions or set AILOOP_DATA_DIR"
    elif "not a database" in text or "malformed" in text:
        hint = "the file is corrupt; move it aside (ailoop keeps events in memory meanwhile)"
    else:
        hint = "events wait in memory and are retried"
    return f"event store {path}: {text} ({hint})"
