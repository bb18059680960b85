"""The local event store: SQLite in WAL mode under the data directory.

Every event is written here first, durably (``synchronous=FULL``), before anything else
happens with it. Several server processes (several editor windows) share one file: WAL
lets readers and the single writer proceed together, and the busy timeout serialises
writers. Writes are idempotent on the event id, so an event retried after an unclear
failure is never stored twice.

The same file says where each repository's events go (``repo_stores``: repository
identity, the events' ``repo`` field, to the id of its shared store; recorded when the
server or ``ailoop sync`` resolves a folder's store) and, per store, which events wait for
it (``outbox``), which it confirmed (``pushed``) and which it refused (``set_aside``). A
trigger queues each new event for the store its repository belongs to, whoever writes it
(the server, an agent hook, an import); events with no repository (files outside a git
repository) are never queued.
"""

from __future__ import annotations

import contextlib
import json
import os
import sqlite3
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from pathlib import Path
from typing import TypeVar

from ailoop.store.events import OUTCOMES, Event, utc_now

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
    # 2: a synced mark per shared store, and which store each repository's events go to.
    # The old single ``synced`` mark is no longer read: it cannot say which store confirmed
    # an event (before this version, every repository's events went to whichever store the
    # first folder named). Each event is queued again for the store its repository is
    # assigned to; the store keeps the copy it has (``ON CONFLICT (id) DO NOTHING``).
    """
    CREATE TABLE repo_stores (
        repo        TEXT PRIMARY KEY,
        store       TEXT NOT NULL,
        share_code  INTEGER NOT NULL DEFAULT 0,
        assigned_at TEXT NOT NULL
    );
    CREATE TABLE outbox (
        store TEXT NOT NULL,
        seq   INTEGER NOT NULL,
        PRIMARY KEY (store, seq)
    ) WITHOUT ROWID;
    CREATE TABLE pushed (
        store TEXT NOT NULL,
        seq   INTEGER NOT NULL,
        PRIMARY KEY (store, seq)
    ) WITHOUT ROWID;
    CREATE TABLE set_aside (
        store  TEXT NOT NULL,
        seq    INTEGER NOT NULL,
        reason TEXT NOT NULL,
        at     TEXT NOT NULL,
        PRIMARY KEY (store, seq)
    ) WITHOUT ROWID;
    CREATE TRIGGER events_to_outbox AFTER INSERT ON events WHEN NEW.repo <> '' BEGIN
        INSERT OR IGNORE INTO outbox (store, seq)
        SELECT store, NEW.seq FROM repo_stores WHERE repo = NEW.repo;
    END;
    DROP INDEX events_unsynced;
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
                    for statement in statements(script):
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

    def edited_texts(self, repo: str, path: str, snippets: Collection[str]) -> dict[str, str]:
        """Return the text each of ``snippets`` had at its last ``modified`` event in the file.

        An edited snippet left unreviewed is found again by this text when its file is
        opened (an unedited one by its ``generated`` text).
        """
        wanted = list(snippets)
        texts: dict[str, str] = {}
        for start in range(0, len(wanted), 500):  # SQLite's limit on parameters
            chunk = wanted[start : start + 500]
            rows = self._db.execute(
                "SELECT snippet, text FROM events WHERE kind = 'modified' AND repo = ? "  # noqa: S608
                f"AND path = ? AND text IS NOT NULL AND snippet IN ({','.join('?' * len(chunk))}) "
                "ORDER BY seq",
                (repo, path, *chunk),
            ).fetchall()
            texts.update((row["snippet"], row["text"]) for row in rows)
        return texts

    def rejections(self, repo: str, snippets: Collection[str]) -> dict[str, int]:
        """Return how often each of ``snippets`` was rejected in ``repo`` (absent: never).

        A snippet id is the hash of its normalized content, so the same code offered again
        counts, wherever in the repository it was.
        """
        wanted = list(dict.fromkeys(snippets))
        counts: dict[str, int] = {}
        for start in range(0, len(wanted), 500):  # SQLite's limit on parameters
            chunk = wanted[start : start + 500]
            rows = self._db.execute(
                "SELECT snippet, count(*) AS n FROM events WHERE kind = 'rejected' "  # noqa: S608
                f"AND repo = ? AND snippet IN ({','.join('?' * len(chunk))}) GROUP BY snippet",
                (repo, *chunk),
            ).fetchall()
            counts.update((row["snippet"], int(row["n"])) for row in rows)
        return counts

    # -- where events go, and which store has them ----------------------------------------

    def assign_repo(self, repo: str, store: str, *, share_code: bool = False) -> int:
        """Send the events of ``repo`` to ``store`` (a store id) from now on; return how many wait.

        Its events that ``store`` has not confirmed (or refused) are queued for it, and the
        queue of the store it belonged to before loses them. ``share_code``: its snippet
        texts go too. An empty ``repo`` (no repository) is never assigned.
        """
        if not repo:
            raise ValueError("events without a repository are never sent to a shared store")
        try:
            with self._transaction():
                row = self._db.execute(
                    "SELECT store, share_code FROM repo_stores WHERE repo = ?", (repo,)
                ).fetchone()
                if row is not None and row["store"] == store:
                    if bool(row["share_code"]) != share_code:
                        self._db.execute(
                            "UPDATE repo_stores SET share_code = ? WHERE repo = ?",
                            (int(share_code), repo),
                        )
                    return 0
                if row is not None:
                    self._unqueue(repo, row["store"])
                self._db.execute(
                    "INSERT OR REPLACE INTO repo_stores (repo, store, share_code, assigned_at) "
                    "VALUES (?, ?, ?, ?)",
                    (repo, store, int(share_code), utc_now()),
                )
                cursor = self._db.execute(
                    "INSERT OR IGNORE INTO outbox (store, seq) SELECT ?, e.seq FROM events AS e "
                    "WHERE e.repo = ? "
                    "AND NOT EXISTS (SELECT 1 FROM pushed AS p WHERE p.store = ? AND p.seq = e.seq) "
                    "AND NOT EXISTS (SELECT 1 FROM set_aside AS a WHERE a.store = ? AND a.seq = e.seq)",
                    (store, repo, store, store),
                )
                return max(cursor.rowcount, 0)
        except sqlite3.Error as exc:
            raise StoreError(describe_failure(self.path, exc)) from exc

    def unassign_repo(self, repo: str) -> None:
        """Send the events of ``repo`` to no shared store (its configuration names none now)."""
        try:
            with self._transaction():
                row = self._db.execute(
                    "SELECT store FROM repo_stores WHERE repo = ?", (repo,)
                ).fetchone()
                if row is not None:
                    self._unqueue(repo, row["store"])
                    self._db.execute("DELETE FROM repo_stores WHERE repo = ?", (repo,))
        except sqlite3.Error as exc:
            raise StoreError(describe_failure(self.path, exc)) from exc

    def _unqueue(self, repo: str, store: str) -> None:
        self._db.execute(
            "DELETE FROM outbox WHERE store = ? AND seq IN (SELECT seq FROM events WHERE repo = ?)",
            (store, repo),
        )

    def repo_stores(self) -> dict[str, str]:
        """Return each assigned repository's store id."""
        rows = self._db.execute("SELECT repo, store FROM repo_stores").fetchall()
        return {str(row["repo"]): str(row["store"]) for row in rows}

    def pending(self, store: str | None = None) -> int:
        """Return how many events wait for ``store`` (None: for any store)."""
        if store is None:
            (n,) = self._db.execute("SELECT count(*) FROM outbox").fetchone()
        else:
            (n,) = self._db.execute(
                "SELECT count(*) FROM outbox WHERE store = ?", (store,)
            ).fetchone()
        return int(n)

    def unsynced(self, store: str, limit: int) -> list[tuple[int, Event, bool]]:
        """Return up to ``limit`` events waiting for ``store``: (seq, event, share its text)."""
        rows = self._db.execute(
            f"SELECT e.seq AS seq, r.share_code AS share_code, {_prefixed('e')} "  # noqa: S608
            "FROM outbox AS o JOIN events AS e ON e.seq = o.seq "
            "JOIN repo_stores AS r ON r.repo = e.repo AND r.store = o.store "
            "WHERE o.store = ? ORDER BY o.seq LIMIT ?",
            (store, limit),
        ).fetchall()
        out = []
        for row in rows:
            data = dict(row)
            seq = int(data.pop("seq"))
            share_code = bool(data.pop("share_code"))
            data["findings"] = json.loads(data["findings"])
            out.append((seq, Event.from_json(data), share_code))
        return out

    def mark_synced(self, store: str, seqs: Iterable[int]) -> None:
        """Record that ``store`` has confirmed (committed) the events with these seqs."""
        pairs = [(store, s) for s in seqs]
        with self._transaction():
            self._db.executemany("DELETE FROM outbox WHERE store = ? AND seq = ?", pairs)
            self._db.executemany("INSERT OR IGNORE INTO pushed (store, seq) VALUES (?, ?)", pairs)

    def set_aside(self, store: str, refused: Iterable[tuple[int, str]]) -> None:
        """Take events out of ``store``'s queue, with why: it refused them, or never would."""
        now = utc_now()
        rows = [(store, seq, reason, now) for seq, reason in refused]
        with self._transaction():
            self._db.executemany(
                "DELETE FROM outbox WHERE store = ? AND seq = ?", [r[:2] for r in rows]
            )
            self._db.executemany(
                "INSERT OR REPLACE INTO set_aside (store, seq, reason, at) VALUES (?, ?, ?, ?)",
                rows,
            )

    def set_aside_events(self, store: str) -> list[tuple[Event, str]]:
        """Return the events ``store`` refused, with the reasons, oldest first."""
        rows = self._db.execute(
            f"SELECT a.reason AS set_aside_reason, {_prefixed('e')} "  # noqa: S608
            "FROM set_aside AS a JOIN events AS e ON e.seq = a.seq WHERE a.store = ? "
            "ORDER BY a.seq",
            (store,),
        ).fetchall()
        out = []
        for row in rows:
            data = dict(row)
            reason = str(data.pop("set_aside_reason"))
            data["findings"] = json.loads(data["findings"])
            out.append((Event.from_json(data), reason))
        return out

    def retry_set_aside(self, store: str) -> int:
        """Queue the events ``store`` refused once more; return how many."""
        with self._transaction():
            cursor = self._db.execute(
                "INSERT OR IGNORE INTO outbox (store, seq) SELECT a.store, a.seq "
                "FROM set_aside AS a JOIN events AS e ON e.seq = a.seq "
                "JOIN repo_stores AS r ON r.repo = e.repo AND r.store = a.store "
                "WHERE a.store = ?",
                (store,),
            )
            self._db.execute("DELETE FROM set_aside WHERE store = ?", (store,))
        return max(cursor.rowcount, 0)


def statements(script: str) -> list[str]:
    """Split an SQL script into whole statements (a trigger's body stays in one piece)."""
    out: list[str] = []
    current = ""
    for piece in script.split(";"):
        current += piece + ";"
        if sqlite3.complete_statement(current):
            if current.strip(" \t\n;"):
                out.append(current.strip())
            current = ""
    if current.strip(" \t\n;"):
        out.append(current.strip())
    return out


def _prefixed(alias: str) -> str:
    return ", ".join(f"{alias}.{column.strip()}" for column in _COLUMNS.split(","))


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
