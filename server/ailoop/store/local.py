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
from collections.abc import Callable, Collection, Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TypeVar

from ailoop.capture.identity import line_hashes
from ailoop.store.events import OUTCOMES, Event, Kind, utc_now

DB_NAME = "events.db"

#: An event's UTC day for the store's standard timestamps (``YYYY-MM-DDT...Z``), the whole
#: timestamp otherwise (read in Python with :func:`ailoop.patterns.stats.event_day`).
DAY_SQL = (
    "CASE WHEN length(ts) > 10 AND substr(ts, 11, 1) = 'T' AND substr(ts, -1) = 'Z'"
    " THEN substr(ts, 1, 10) ELSE ts END"
)

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
    # 3: code review. ``reviewed`` events carry ``outcome``, ``reviewer`` and ``pr``. Each
    # snippet's non-trivial normalized lines are indexed by hash (``snippet_lines``; how
    # many, and its newest ``generated`` event, in ``snippet_index``), filled when a
    # ``generated`` event with its text is written (and, for the events stored before, by
    # :func:`_index_stored`), so a review comment's lines find their snippet without the
    # code. ``review_deliveries`` holds every delivery ingested (the key that makes a
    # delivery ingested twice record nothing new) and what came of it; ``review_states``
    # the verdict of each review, and ``review_comments`` the snippets its line comments
    # matched, so a review that requested changes reaches the snippets it commented on.
    """
    ALTER TABLE events ADD COLUMN outcome TEXT;
    ALTER TABLE events ADD COLUMN reviewer TEXT;
    ALTER TABLE events ADD COLUMN pr TEXT;
    CREATE TABLE snippet_lines (
        hash    TEXT NOT NULL,
        snippet TEXT NOT NULL,
        repo    TEXT NOT NULL,
        PRIMARY KEY (hash, repo, snippet)
    ) WITHOUT ROWID;
    CREATE TABLE snippet_index (
        snippet TEXT NOT NULL,
        repo    TEXT NOT NULL,
        lines   INTEGER NOT NULL,
        seq     INTEGER NOT NULL,
        PRIMARY KEY (snippet, repo)
    ) WITHOUT ROWID;
    CREATE TABLE review_deliveries (
        delivery    TEXT PRIMARY KEY,
        platform    TEXT NOT NULL,
        event       TEXT NOT NULL,
        action      TEXT NOT NULL,
        repo        TEXT NOT NULL,
        pr          TEXT NOT NULL,
        received_at TEXT NOT NULL,
        recorded    INTEGER NOT NULL,
        matched     INTEGER NOT NULL,
        hunk        TEXT,
        note        TEXT NOT NULL
    );
    CREATE TABLE review_states (
        review TEXT PRIMARY KEY,
        state  TEXT NOT NULL
    );
    CREATE TABLE review_comments (
        review  TEXT NOT NULL,
        snippet TEXT NOT NULL,
        event   TEXT NOT NULL,
        PRIMARY KEY (review, snippet)
    ) WITHOUT ROWID;
    CREATE INDEX events_pr ON events (pr) WHERE pr IS NOT NULL;
    """,
    # 4: the rule experiment (ailoop.patterns.experiment). An agent session's events carry
    # ``context``: its session id and the rule keys its learned context showed and
    # withheld, as JSON (NULL for events not from such a session). ``model``: the model
    # that wrote the snippet, when its tool said (Agent Trace's ``model_id``).
    """
    ALTER TABLE events ADD COLUMN context TEXT;
    ALTER TABLE events ADD COLUMN model TEXT;
    """,
    # 5: the counts ``ailoop stats`` and ``ailoop report`` read, kept as events are stored
    # (:func:`_count`), so that neither reads every event: per slice (``dim``: t = per
    # repository, tool, model and UTC day; l = per language; u = per user; the other
    # fields empty) and kind, review outcome and pull-request level, the events and their
    # lines; and the snippets edited after generation. Filled from the events stored before.
    f"""
    CREATE TABLE stats_slices (
        dim      TEXT    NOT NULL,
        repo     TEXT    NOT NULL,
        tool     TEXT    NOT NULL,
        model    TEXT    NOT NULL,
        language TEXT    NOT NULL,
        user     TEXT    NOT NULL,
        day      TEXT    NOT NULL,
        kind     TEXT    NOT NULL,
        outcome  TEXT    NOT NULL,
        pr_level INTEGER NOT NULL,
        n        INTEGER NOT NULL,
        lines    INTEGER NOT NULL,
        PRIMARY KEY (dim, repo, tool, model, language, user, day, kind, outcome, pr_level)
    ) WITHOUT ROWID;
    CREATE TABLE stats_modified (
        repo    TEXT NOT NULL,
        snippet TEXT NOT NULL,
        PRIMARY KEY (repo, snippet)
    ) WITHOUT ROWID;
    INSERT INTO stats_slices
    SELECT 't', repo, tool, coalesce(model, ''), '', '', {DAY_SQL}, kind, coalesce(outcome, ''),
           kind = 'reviewed' AND snippet = '', count(*), coalesce(sum(lines), 0)
    FROM events GROUP BY 2, 3, 4, 7, 8, 9, 10;
    INSERT INTO stats_slices
    SELECT 'l', repo, '', '', language, '', '', kind, coalesce(outcome, ''),
           kind = 'reviewed' AND snippet = '', count(*), coalesce(sum(lines), 0)
    FROM events GROUP BY 2, 5, 8, 9, 10;
    INSERT INTO stats_slices
    SELECT 'u', repo, '', '', '', user, '', kind, coalesce(outcome, ''),
           kind = 'reviewed' AND snippet = '', count(*), coalesce(sum(lines), 0)
    FROM events GROUP BY 2, 6, 8, 9, 10;
    INSERT OR IGNORE INTO stats_modified
    SELECT DISTINCT repo, snippet FROM events WHERE kind = 'modified';
    """,  # noqa: S608 - constants only
)

_COLUMNS = (
    "id, ts, kind, snippet, tool, source, user, repo, path, language, lines, findings, "
    "reason, pattern, text, similarity, outcome, reviewer, pr, context, model"
)
#: The columns of migration 3 (what the events stored before the line index have).
_COLUMNS_V3 = _COLUMNS.removesuffix(", context, model")


_COLUMN_COUNT = len(_COLUMNS.split(","))
#: The migration that made the line index; the events stored before are indexed then.
_LINE_INDEX_VERSION = 3


def _index(db: sqlite3.Connection, event: Event, seq: int) -> None:
    """Index the lines of a ``generated`` event's text (see ``ailoop.capture.identity``)."""
    hashes = line_hashes(event.text or "")
    if not hashes:
        return
    db.executemany(
        "INSERT OR IGNORE INTO snippet_lines (hash, snippet, repo) VALUES (?, ?, ?)",
        [(h, event.snippet, event.repo) for h in hashes],
    )
    db.execute(
        "INSERT INTO snippet_index (snippet, repo, lines, seq) VALUES (?, ?, ?, ?) "
        "ON CONFLICT (snippet, repo) DO UPDATE SET seq = max(seq, excluded.seq)",
        (event.snippet, event.repo, len(hashes), seq),
    )


def _day_text(ts: str) -> str:
    """Return what :data:`DAY_SQL` gives for ``ts``."""
    return ts[:10] if len(ts) > 10 and ts[10] == "T" and ts.endswith("Z") else ts


def _count(db: sqlite3.Connection, events: Sequence[Event]) -> None:
    """Add newly stored events to the counts of migration 5 (``stats_slices``)."""
    if not events:
        return
    sums: dict[tuple[object, ...], list[int]] = {}
    modified = set()
    for e in events:
        rest = (e.kind.value, e.outcome or "", int(e.kind is Kind.REVIEWED and not e.snippet))
        for key in (
            ("t", e.repo, e.tool, e.model or "", "", "", _day_text(e.ts), *rest),
            ("l", e.repo, "", "", e.language, "", "", *rest),
            ("u", e.repo, "", "", "", e.user, "", *rest),
        ):
            counts = sums.get(key)
            if counts is None:
                sums[key] = [1, e.lines]
            else:
                counts[0] += 1
                counts[1] += e.lines
        if e.kind is Kind.MODIFIED:
            modified.add((e.repo, e.snippet))
    db.executemany(
        "INSERT INTO stats_slices VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?) "
        "ON CONFLICT DO UPDATE SET n = n + excluded.n, lines = lines + excluded.lines",
        [(*key, n, lines) for key, (n, lines) in sums.items()],
    )
    if modified:
        db.executemany("INSERT OR IGNORE INTO stats_modified VALUES (?, ?)", sorted(modified))


def _index_stored(db: sqlite3.Connection) -> None:
    """Index the ``generated`` events stored before the line index existed."""
    rows = db.execute(
        f"SELECT seq, {_COLUMNS_V3} FROM events "  # noqa: S608 - constant
        "WHERE kind = 'generated' AND text IS NOT NULL ORDER BY seq"
    ).fetchall()
    for row in rows:
        data = dict(zip([c.strip() for c in ("seq", *_COLUMNS_V3.split(","))], row, strict=True))
        seq = int(data.pop("seq"))
        data["findings"] = json.loads(data["findings"])
        try:
            event = Event.from_json(data)
        except ValueError:
            continue
        _index(db, event, seq)


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
        event.outcome,
        event.reviewer,
        event.pr,
        None if event.context is None else json.dumps(event.context.to_json()),
        event.model,
    )


def _decode(data: dict[str, object]) -> dict[str, object]:
    """Turn a row's JSON columns (``findings``, ``context``) back into values."""
    data["findings"] = json.loads(str(data["findings"]))
    context = data.get("context")
    if isinstance(context, str):
        try:
            data["context"] = json.loads(context)
        except ValueError as exc:
            raise ValueError(f"malformed event: its context is not JSON ({exc})") from exc
    return data


def _event(row: sqlite3.Row) -> Event:
    return Event.from_json(_decode(dict(row)))


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
                    if number == _LINE_INDEX_VERSION:
                        _index_stored(self._db)
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
                self._insert(events)
        except sqlite3.Error as exc:
            raise StoreError(describe_failure(self.path, exc)) from exc

    def _insert(self, events: Sequence[Event]) -> int:
        """Insert ``events`` (inside a transaction), index and count the new ones.

        Returns how many were new.
        """
        stored = []
        for event in events:
            cursor = self._db.execute(
                f"INSERT OR IGNORE INTO events ({_COLUMNS}) "  # noqa: S608 - constant
                f"VALUES ({','.join('?' * _COLUMN_COUNT)})",
                _row(event),
            )
            if cursor.rowcount > 0:
                stored.append(event)
                if event.kind is Kind.GENERATED and event.text:
                    _index(self._db, event, int(cursor.lastrowid or 0))
        _count(self._db, stored)
        return len(stored)

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

    # -- code review ----------------------------------------------------------------------

    def indexed_repos(self) -> list[str]:
        """Return the repositories (as the events name them) that have indexed snippets."""
        rows = self._db.execute("SELECT DISTINCT repo FROM snippet_index").fetchall()
        return [str(row[0]) for row in rows]

    def line_matches(
        self, repos: Collection[str], hashes: Collection[str]
    ) -> dict[str, tuple[int, int, int]]:
        """Return the snippets of ``repos`` that hold any of the line ``hashes``.

        Each as ``snippet: (lines in common, lines indexed, newest generated seq)``.
        """
        wanted = list(dict.fromkeys(hashes))
        repo_list = list(dict.fromkeys(repos))
        if not wanted or not repo_list:
            return {}
        common: dict[str, set[str]] = {}
        step = max(1, 900 - len(repo_list))
        for start in range(0, len(wanted), step):  # SQLite's limit on parameters
            chunk = wanted[start : start + step]
            rows = self._db.execute(
                "SELECT DISTINCT snippet, hash FROM snippet_lines "  # noqa: S608 - placeholders
                f"WHERE hash IN ({','.join('?' * len(chunk))}) "
                f"AND repo IN ({','.join('?' * len(repo_list))})",
                (*chunk, *repo_list),
            ).fetchall()
            for row in rows:
                common.setdefault(str(row[0]), set()).add(str(row[1]))
        out: dict[str, tuple[int, int, int]] = {}
        snippets = list(common)
        for start in range(0, len(snippets), 400):
            chunk = snippets[start : start + 400]
            rows = self._db.execute(
                "SELECT snippet, max(lines), max(seq) FROM snippet_index "  # noqa: S608
                f"WHERE snippet IN ({','.join('?' * len(chunk))}) "
                f"AND repo IN ({','.join('?' * len(repo_list))}) GROUP BY snippet",
                (*chunk, *repo_list),
            ).fetchall()
            for row in rows:
                out[str(row[0])] = (len(common[str(row[0])]), int(row[1]), int(row[2]))
        return out

    def generated_event(self, snippet: str) -> Event | None:
        """Return the newest ``generated`` event of ``snippet`` (None: none stored)."""
        row = self._db.execute(
            f"SELECT {_COLUMNS} FROM events WHERE kind = 'generated' AND snippet = ? "  # noqa: S608
            "ORDER BY seq DESC LIMIT 1",
            (snippet,),
        ).fetchone()
        return None if row is None else _event(row)

    def has_delivery(self, delivery: str) -> bool:
        """Return whether the review delivery ``delivery`` was ingested already."""
        row = self._db.execute(
            "SELECT 1 FROM review_deliveries WHERE delivery = ?", (delivery,)
        ).fetchone()
        return row is not None

    def review_state(self, review: str) -> str | None:
        """Return the verdict recorded for the review ``review`` (None: not seen)."""
        row = self._db.execute(
            "SELECT state FROM review_states WHERE review = ?", (review,)
        ).fetchone()
        return None if row is None else str(row[0])

    def review_comment_snippets(self, review: str) -> list[tuple[str, str]]:
        """Return (snippet, comment event id) for each snippet the review's comments matched."""
        rows = self._db.execute(
            "SELECT snippet, event FROM review_comments WHERE review = ? ORDER BY snippet",
            (review,),
        ).fetchall()
        return [(str(row[0]), str(row[1])) for row in rows]

    def record_review(
        self,
        delivery: Mapping[str, object],
        events: Sequence[Event],
        *,
        review_state: tuple[str, str] | None = None,
        review_comments: Sequence[tuple[str, str, str]] = (),
    ) -> int | None:
        """Record one review delivery and its events in one transaction.

        ``delivery``: the ``review_deliveries`` columns but ``recorded`` (filled here).
        ``review_state``: (review id, state) to remember; ``review_comments``: (review id,
        snippet, event id) of the snippets its line comments matched. Returns how many
        events were new, or None when the delivery was ingested before (nothing written).
        """
        try:
            with self._transaction():
                if self.has_delivery(str(delivery["delivery"])):
                    return None
                new = self._insert(events)
                row = {**delivery, "recorded": new}
                columns = (
                    "delivery", "platform", "event", "action", "repo", "pr", "received_at",
                    "recorded", "matched", "hunk", "note",
                )  # fmt: skip
                self._db.execute(
                    f"INSERT INTO review_deliveries ({', '.join(columns)}) "  # noqa: S608
                    f"VALUES ({','.join('?' * len(columns))})",
                    tuple(row.get(c) for c in columns),
                )
                if review_state is not None:
                    self._db.execute(
                        "INSERT OR REPLACE INTO review_states (review, state) VALUES (?, ?)",
                        review_state,
                    )
                self._db.executemany(
                    "INSERT OR IGNORE INTO review_comments (review, snippet, event) "
                    "VALUES (?, ?, ?)",
                    review_comments,
                )
                return new
        except sqlite3.Error as exc:
            raise StoreError(describe_failure(self.path, exc)) from exc

    def review_deliveries(self) -> list[dict[str, object]]:
        """Return every ingested review delivery, oldest first."""
        rows = self._db.execute(
            "SELECT delivery, platform, event, action, repo, pr, received_at, recorded, "
            "matched, note FROM review_deliveries ORDER BY received_at, rowid"
        ).fetchall()
        return [dict(row) for row in rows]

    def review_events(self) -> list[Event]:
        """Return the ``reviewed`` events, oldest first."""
        rows = self._db.execute(
            f"SELECT {_COLUMNS} FROM events WHERE kind = 'reviewed' ORDER BY ts, seq"  # noqa: S608
        ).fetchall()
        return [_event(row) for row in rows]

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
            _decode(data)
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
            _decode(data)
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


def open_migrated(database: Path) -> sqlite3.Connection:
    """Open the store file ``database`` read-only, once its schema is this version's.

    A store written by an older ailoop is migrated first (by the store itself, as the
    server would on start), so the queries find the columns and tables they read.
    Raises :class:`sqlite3.Error` or :class:`StoreError` when it cannot be opened.
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
