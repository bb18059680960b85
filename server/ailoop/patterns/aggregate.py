"""Pattern statistics from the local SQLite store, kept fast with a day-by-day summary.

Reading a million events as objects takes seconds, and even one ``GROUP BY`` over the
whole ``events`` table is too slow to repeat. The events are append-only and numbered
(``seq``), so a small summary database next to them (``pattern-summary.db`` in the data
directory) holds outcome counts per pattern, verdict and UTC day, and each refresh adds
only the events that arrived since the last one. Statistics are then computed from a
few thousand summary rows, giving exactly what
:func:`ailoop.patterns.stats.compute_pattern_stats` gives from the events themselves.

The events database is only read (opened read-only), never changed; the schema read is
the ``events`` table of ``ailoop.store.local.MIGRATIONS``. When the summary cannot be
written (a read-only data directory), statistics fall back to one aggregate query.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Callable, Iterator, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from ailoop.patterns.model import is_valid_key, valid_key
from ailoop.patterns.reasons import promoted_key
from ailoop.patterns.stats import (
    Buckets,
    OutcomeRow,
    PatternSettings,
    PatternStats,
    bucket,
    event_day,
    parse_ts,
    recent_cutoff,
    stats_from_counts,
    stats_from_rows,
)
from ailoop.store.local import (
    DAY_SQL,
    DB_NAME,
    default_data_dir,
    open_migrated,
    read_only,
)

if TYPE_CHECKING:
    from ailoop.patterns.evaluate import Outcome
    from ailoop.patterns.suggest import TextOutcome

T = TypeVar("T")

SUMMARY_NAME = "pattern-summary.db"
SUMMARY_VERSION = "1"

_SUMMARY_TABLES = ("key_days", "total_days", "reason_days")
_SUMMARY_SCHEMA = (
    *(f"DROP TABLE IF EXISTS {table}" for table in _SUMMARY_TABLES),
    "CREATE TABLE key_days (key TEXT NOT NULL, rejected INTEGER NOT NULL,"
    " day TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (key, rejected, day)) WITHOUT ROWID",
    "CREATE TABLE total_days (rejected INTEGER NOT NULL, day TEXT NOT NULL,"
    " n INTEGER NOT NULL, PRIMARY KEY (rejected, day)) WITHOUT ROWID",
    "CREATE TABLE reason_days (reason TEXT NOT NULL, keys TEXT NOT NULL,"
    " day TEXT NOT NULL, n INTEGER NOT NULL, PRIMARY KEY (reason, keys, day)) WITHOUT ROWID",
)


#: An outcome of an AI snippet: in the editor (accepted, kept, rejected), or in review
#: (approved or merged for it, changes requested or closed unmerged against it). A
#: review event kept at pull-request level (no snippet) carries no findings: left out.
_IS_OUTCOME = (
    "(kind IN ('accepted', 'kept', 'rejected') OR (kind = 'reviewed' AND snippet <> ''"
    " AND outcome IN ('approved', 'merged', 'changes_requested', 'closed')))"
)
_IS_REJECTION = (
    "(kind = 'rejected' OR (kind = 'reviewed' AND outcome IN ('changes_requested', 'closed')))"
)

_NEW_OUTCOMES = f"""
SELECT findings, pattern,
       CASE WHEN {_IS_REJECTION} THEN reason END AS reason,
       {_IS_REJECTION} AS rejected,
       {DAY_SQL} AS day,
       count(*) AS n
FROM events
WHERE seq > ? AND seq <= ? AND {_IS_OUTCOME}
GROUP BY 1, 2, 3, 4, 5
"""  # noqa: S608 - constants only

#: The same outcomes, of one repository only (for the learned context of that repository).
_REPO_OUTCOMES = _NEW_OUTCOMES.replace("WHERE seq > ?", "WHERE repo = ? AND seq > ?")

_TIMED_OUTCOMES = f"""
SELECT ts, findings, pattern, CASE WHEN {_IS_REJECTION} THEN reason END, {_IS_REJECTION}
FROM events
WHERE {_IS_OUTCOME}
"""  # noqa: S608 - constants only

#: The texts reasons are grouped from: rejections' reasons and review comments' texts.
_REASONS_QUERY = f"""
SELECT reason, {DAY_SQL} AS day, findings, pattern
FROM events
WHERE (kind = 'rejected' OR (kind = 'reviewed'
       AND outcome IN ('changes_requested', 'commented', 'closed')))
  AND reason IS NOT NULL AND trim(reason) != ''
"""  # noqa: S608 - constants only


def _decode_findings(text: str, cache: dict[str, tuple[str, ...]]) -> tuple[str, ...]:
    found = cache.get(text)
    if found is None:
        try:
            found = tuple(str(f) for f in json.loads(text))
        except (ValueError, TypeError):
            found = ()
        cache[text] = found
    return found


def _grouped_outcomes(
    events: sqlite3.Connection, after_seq: int, up_to_seq: int, repo: str | None = None
) -> Iterator[tuple[tuple[str, ...], str | None, str | None, bool, str, int]]:
    """Yield (findings, pattern, reason, rejected, day, count) for events in the seq range.

    With ``repo``, only the events of that repository.
    """
    cache: dict[str, tuple[str, ...]] = {}
    query, params = (
        (_NEW_OUTCOMES, (after_seq, up_to_seq))
        if repo is None
        else (_REPO_OUTCOMES, (repo, after_seq, up_to_seq))
    )
    for findings, pattern, reason, rejected, day, count in events.execute(query, params):
        day_text = day if len(day) == 10 else event_day(day)
        yield _decode_findings(findings, cache), pattern, reason, bool(rejected), day_text, count


def _event_keys(findings: tuple[str, ...], pattern: str | None) -> set[str]:
    keys = {k for k in findings if is_valid_key(k)}
    if pattern and (key := valid_key(pattern)):
        keys.add(key)
    return keys


_META = "CREATE TABLE IF NOT EXISTS meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)"


def _id_at(events: sqlite3.Connection, seq: int) -> str | None:
    row = events.execute("SELECT id FROM events WHERE seq = ?", (seq,)).fetchone()
    return None if row is None else str(row[0])


class PatternSummary:
    """The day-by-day outcome summary of one local store.

    Its ``meta`` table holds the layout version, the last ``seq`` read and that event's
    id; each refresh is one transaction. The tables are built again when their layout
    changed, and emptied when the events database was replaced (the id at the last
    ``seq`` read is another one).
    """

    def __init__(self, data_dir: Path) -> None:
        self.events_path = data_dir / DB_NAME
        self.path = data_dir / SUMMARY_NAME
        self._db = sqlite3.connect(self.path, timeout=10.0, isolation_level=None)
        try:
            self._db.execute("PRAGMA journal_mode=WAL")
            self._db.execute(_META)
            if self._meta("version") != SUMMARY_VERSION:
                self._transaction(self._build)
        except BaseException:
            self._db.close()
            raise

    def close(self) -> None:
        """Close the summary database."""
        self._db.close()

    def _meta(self, name: str) -> str | None:
        row = self._db.execute("SELECT value FROM meta WHERE name = ?", (name,)).fetchone()
        return None if row is None else str(row[0])

    def _set_meta(self, name: str, value: str) -> None:
        self._db.execute(
            "INSERT INTO meta (name, value) VALUES (?, ?) "
            "ON CONFLICT (name) DO UPDATE SET value = excluded.value",
            (name, value),
        )

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
        if self._meta("version") != SUMMARY_VERSION:
            for statement in _SUMMARY_SCHEMA:
                self._db.execute(statement)
            self._set_meta("version", SUMMARY_VERSION)
            self._set_meta("last_seq", "0")

    def refresh(self) -> int:
        """Add the events stored since the last refresh; return how many seqs were read.

        All of them when the layout changed or the store was replaced. An events database
        without events adds nothing; other failures raise :class:`sqlite3.Error` (the
        callers then compute without the summary, and say what is wrong with the events if
        they cannot be read).
        """
        try:
            events = open_migrated(self.events_path)
            try:
                return self._transaction(lambda: self._refresh(events))
            finally:
                events.close()
        except sqlite3.OperationalError as exc:
            if "no such table" in str(exc):
                return 0
            raise

    def _refresh(self, events: sqlite3.Connection) -> int:
        self._build()  # another ailoop may have used another layout since
        last_seq = int(self._meta("last_seq") or 0)
        if last_seq and _id_at(events, last_seq) != self._meta("last_id"):
            for table in _SUMMARY_TABLES:
                self._db.execute(f"DELETE FROM {table}")  # noqa: S608 - constant names
            last_seq = 0
        (up_to,) = events.execute("SELECT coalesce(max(seq), 0) FROM events").fetchone()
        if up_to <= last_seq:
            return 0
        self._add(events, last_seq, up_to)
        self._set_meta("last_seq", str(up_to))
        self._set_meta("last_id", _id_at(events, up_to) or "")
        return int(up_to - last_seq)

    def _add(self, events: sqlite3.Connection, after_seq: int, up_to_seq: int) -> None:
        """Add the outcome counts of the events in the ``seq`` range, per key and day."""
        key_days: dict[tuple[str, int, str], int] = {}
        total_days: dict[tuple[int, str], int] = {}
        reason_days: dict[tuple[str, str, str], int] = {}
        for findings, pattern, reason, rejected, day, count in _grouped_outcomes(
            events, after_seq, up_to_seq
        ):
            verdict = int(rejected)
            total_days[verdict, day] = total_days.get((verdict, day), 0) + count
            keys = _event_keys(findings, pattern)
            for key in keys:
                key_days[key, verdict, day] = key_days.get((key, verdict, day), 0) + count
            if reason and reason.strip():
                slot = (reason, json.dumps(sorted(keys)), day)
                reason_days[slot] = reason_days.get(slot, 0) + count
        upsert = "ON CONFLICT DO UPDATE SET n = n + excluded.n"
        self._db.executemany(
            f"INSERT INTO key_days VALUES (?, ?, ?, ?) {upsert}",  # noqa: S608
            [(*k, n) for k, n in key_days.items()],
        )
        self._db.executemany(
            f"INSERT INTO total_days VALUES (?, ?, ?) {upsert}",  # noqa: S608
            [(*k, n) for k, n in total_days.items()],
        )
        self._db.executemany(
            f"INSERT INTO reason_days VALUES (?, ?, ?, ?) {upsert}",  # noqa: S608
            [(*k, n) for k, n in reason_days.items()],
        )

    def stats(
        self,
        settings: PatternSettings,
        now: dt.datetime,
        reason_patterns: Mapping[str, str] | None = None,
    ) -> dict[str, PatternStats]:
        """Compute the statistics from the summary as it stands (call :meth:`refresh` first)."""
        cutoff = recent_cutoff(now, settings)
        per_key: dict[str, Buckets] = {}
        overall = [0, 0, 0, 0]
        for rejected, recent, n in self._db.execute(
            "SELECT rejected, day >= ?, sum(n) FROM total_days GROUP BY 1, 2", (cutoff,)
        ):
            overall[bucket(bool(rejected), bool(recent))] += n
        for key, rejected, recent, n in self._db.execute(
            "SELECT key, rejected, day >= ?, sum(n) FROM key_days GROUP BY 1, 2, 3", (cutoff,)
        ):
            counts = per_key.setdefault(key, [0, 0, 0, 0])
            counts[bucket(bool(rejected), bool(recent))] += n
        if reason_patterns:
            promoted_of: dict[str, str | None] = {}
            for reason, keys, recent, n in self._db.execute(
                "SELECT reason, keys, day >= ?, sum(n) FROM reason_days GROUP BY 1, 2, 3",
                (cutoff,),
            ):
                if reason not in promoted_of:
                    promoted_of[reason] = promoted_key(reason, reason_patterns)
                promoted = promoted_of[reason]
                if promoted and promoted not in json.loads(keys):
                    counts = per_key.setdefault(promoted, [0, 0, 0, 0])
                    counts[bucket(True, bool(recent))] += n
        return stats_from_counts(per_key, overall, settings)


def local_outcome_rows(
    database: Path, cutoff_day: str, repo: str | None = None
) -> list[OutcomeRow]:
    """Return the outcome rows of the store at ``database`` (one aggregate query).

    All repositories', or with ``repo`` that repository's only. The fallback when no
    summary can be kept. A missing store has no rows.
    """

    def rows(events: sqlite3.Connection) -> list[OutcomeRow]:
        return [
            OutcomeRow(findings, pattern, reason, rejected, day >= cutoff_day, count)
            for findings, pattern, reason, rejected, day, count in _grouped_outcomes(
                events, 0, 2**63 - 1, repo
            )
        ]

    return read_only(database, rows, [])


def local_pattern_stats(
    settings: PatternSettings,
    now: dt.datetime,
    data_dir: Path | None = None,
    reason_patterns: Mapping[str, str] | None = None,
    repo: str | None = None,
) -> dict[str, PatternStats]:
    """Compute pattern statistics over the local store in ``data_dir`` (default data dir).

    Refreshes the summary with the events added since the last call, then computes from
    it; with ``repo``, computes from that repository's events directly. Raises
    :class:`ailoop.store.local.StoreError` when the store cannot be read.
    """
    data_dir = data_dir or default_data_dir()
    if not (data_dir / DB_NAME).exists():
        return {}
    if repo is not None:
        rows = local_outcome_rows(data_dir / DB_NAME, recent_cutoff(now, settings), repo)
        return stats_from_rows(rows, settings, reason_patterns)
    try:
        summary = PatternSummary(data_dir)
    except sqlite3.Error:
        rows = local_outcome_rows(data_dir / DB_NAME, recent_cutoff(now, settings))
        return stats_from_rows(rows, settings, reason_patterns)
    try:
        try:
            summary.refresh()
        except sqlite3.Error:  # the summary itself cannot be written: compute without it
            rows = local_outcome_rows(data_dir / DB_NAME, recent_cutoff(now, settings))
            return stats_from_rows(rows, settings, reason_patterns)
        return summary.stats(settings, now, reason_patterns)
    finally:
        summary.close()


def local_reasons(
    data_dir: Path | None, cutoff_day: str
) -> list[tuple[str, bool, tuple[str, ...]]]:
    """Return ``(reason, recent, pattern keys)`` for every rejection with a free-text reason."""
    database = (data_dir or default_data_dir()) / DB_NAME

    def reasons(events: sqlite3.Connection) -> list[tuple[str, bool, tuple[str, ...]]]:
        cache: dict[str, tuple[str, ...]] = {}
        out = []
        for reason, day, findings, pattern in events.execute(_REASONS_QUERY):
            day_text = day if len(day) == 10 else event_day(day)
            keys = _event_keys(_decode_findings(findings, cache), pattern)
            out.append((str(reason), day_text >= cutoff_day, tuple(sorted(keys))))
        return out

    return read_only(database, reasons, [])


def local_outcomes(data_dir: Path | None = None) -> list[Outcome]:
    """Return every outcome of the local store with its time (for ``ailoop patterns evaluate``).

    The same outcomes as the statistics (accepted, kept, rejected), one each; an outcome
    whose time cannot be read is left out. A missing store has none.
    """
    from ailoop.patterns.evaluate import Outcome

    database = (data_dir or default_data_dir()) / DB_NAME

    def outcomes(events: sqlite3.Connection) -> list[Outcome]:
        cache: dict[str, tuple[str, ...]] = {}
        out = []
        for ts, findings, pattern, reason, rejected in events.execute(_TIMED_OUTCOMES):
            try:
                at = parse_ts(str(ts))
            except ValueError:
                continue
            out.append(
                Outcome(at, _decode_findings(findings, cache), bool(rejected), pattern, reason)
            )
        return out

    return read_only(database, outcomes, [])


#: Every outcome with the code of its snippet: its own text, else the text of the newest
#: ``generated`` or ``modified`` event of the same snippet (and repository) before it.
_OUTCOME_TEXTS = """
SELECT o.ts, o.kind = 'rejected', o.language, o.path, o.findings,
       CASE WHEN o.text IS NOT NULL AND o.text != '' THEN o.text ELSE (
           SELECT g.text FROM events AS g
           WHERE g.snippet = o.snippet AND g.repo = o.repo AND g.seq < o.seq
             AND g.kind IN ('generated', 'modified') AND g.text IS NOT NULL AND g.text != ''
           ORDER BY g.seq DESC LIMIT 1
       ) END
FROM events AS o
WHERE o.kind IN ('accepted', 'kept', 'rejected')
ORDER BY o.seq DESC
LIMIT ?
"""

_OUTCOME_COUNT = "SELECT count(*) FROM events WHERE kind IN ('accepted', 'kept', 'rejected')"


def local_outcome_texts(
    data_dir: Path | None = None, limit: int = 50_000
) -> tuple[int, list[TextOutcome]]:
    """Return how many outcomes the local store has, and the newest ``limit`` with their code.

    For ``ailoop patterns suggest``: the same outcomes as the statistics (accepted, kept,
    rejected), each with the text of its snippet as the outcome recorded it, else as its
    snippet's newest ``generated`` or ``modified`` event before it had it (None: no code
    stored, as for events imported without their text). An outcome whose time cannot be
    read is left out. A missing store has none.
    """
    from ailoop.patterns.suggest import TextOutcome

    database = (data_dir or default_data_dir()) / DB_NAME

    def outcomes(events: sqlite3.Connection) -> tuple[int, list[TextOutcome]]:
        (total,) = events.execute(_OUTCOME_COUNT).fetchone()
        cache: dict[str, tuple[str, ...]] = {}
        out = []
        for ts, rejected, language, path, findings, text in events.execute(
            _OUTCOME_TEXTS, (max(limit, 0),)
        ):
            try:
                at = parse_ts(str(ts))
            except ValueError:
                continue
            out.append(
                TextOutcome(
                    at,
                    bool(rejected),
                    text if isinstance(text, str) else None,
                    str(language or ""),
                    str(path or ""),
                    _decode_findings(findings, cache),
                )
            )
        return int(total), out

    none: tuple[int, list[TextOutcome]] = (0, [])
    return read_only(database, outcomes, none)
