"""Pattern statistics straight from the local SQLite store, with one ``GROUP BY``.

Reading a million events as objects takes seconds; grouping them in SQLite by
(findings, picked pattern, reason, verdict, period) leaves a few hundred rows, which
:func:`ailoop.patterns.stats.stats_from_rows` turns into the same statistics that
:func:`~ailoop.patterns.stats.compute_pattern_stats` computes from events. The query reads
the ``events`` table as created by ``ailoop.store.local.MIGRATIONS`` and opens the
database read-only, so it never blocks the editor's writes.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Mapping
from pathlib import Path

from ailoop.patterns.model import normalize_key
from ailoop.patterns.stats import (
    OutcomeRow,
    PatternSettings,
    PatternStats,
    iso_utc,
    recent_cutoff,
    stats_from_rows,
)
from ailoop.store.local import DB_NAME, StoreError, default_data_dir, describe_failure

_QUERY = """
SELECT findings, pattern,
       CASE WHEN kind = 'rejected' THEN reason END AS reason,
       kind = 'rejected' AS rejected,
       ts >= ? AS recent,
       count(*) AS n
FROM events
WHERE kind IN ('accepted', 'kept', 'rejected')
GROUP BY 1, 2, 3, 4, 5
"""


def local_outcome_rows(database: Path, cutoff: dt.datetime) -> list[OutcomeRow]:
    """Return the aggregated outcome rows of the SQLite store at ``database``.

    Raises :class:`ailoop.store.local.StoreError` when the store cannot be read. A
    missing store has no rows.
    """
    if not database.exists():
        return []
    try:
        connection = sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True, timeout=5.0)
    except sqlite3.Error as exc:
        raise StoreError(describe_failure(database, exc)) from exc
    try:
        cursor = connection.execute(_QUERY, (iso_utc(cutoff),))
        decoded: dict[str, tuple[str, ...]] = {}
        rows: list[OutcomeRow] = []
        for findings, pattern, reason, rejected, recent, count in cursor:
            if findings not in decoded:
                try:
                    decoded[findings] = tuple(str(f) for f in json.loads(findings))
                except (ValueError, TypeError):
                    decoded[findings] = ()
            rows.append(
                OutcomeRow(decoded[findings], pattern, reason, bool(rejected), bool(recent), count)
            )
        return rows
    except sqlite3.Error as exc:
        if "no such table" in str(exc):
            return []
        raise StoreError(describe_failure(database, exc)) from exc
    finally:
        connection.close()


def local_pattern_stats(
    settings: PatternSettings,
    now: dt.datetime,
    data_dir: Path | None = None,
    reason_patterns: Mapping[str, str] | None = None,
) -> dict[str, PatternStats]:
    """Compute pattern statistics over the local store in ``data_dir`` (default data dir).

    Timestamps are compared as text, which is exact for the store's fixed-width UTC
    format (``YYYY-MM-DDTHH:MM:SS.mmmZ``).
    """
    database = (data_dir or default_data_dir()) / DB_NAME
    rows = local_outcome_rows(database, recent_cutoff(now, settings))
    return stats_from_rows(rows, settings, reason_patterns)


_REASONS_QUERY = """
SELECT reason, ts >= ? AS recent, findings, pattern
FROM events
WHERE kind = 'rejected' AND reason IS NOT NULL AND trim(reason) != ''
"""


def local_reasons(
    data_dir: Path | None, cutoff: dt.datetime
) -> list[tuple[str, bool, tuple[str, ...]]]:
    """Return ``(reason, recent, pattern keys)`` for every rejection with a free-text reason."""
    database = (data_dir or default_data_dir()) / DB_NAME
    if not database.exists():
        return []
    try:
        connection = sqlite3.connect(f"{database.as_uri()}?mode=ro", uri=True, timeout=5.0)
    except sqlite3.Error as exc:
        raise StoreError(describe_failure(database, exc)) from exc
    try:
        out = []
        for reason, recent, findings, pattern in connection.execute(
            _REASONS_QUERY, (iso_utc(cutoff),)
        ):
            try:
                keys = [str(f) for f in json.loads(findings)]
            except (ValueError, TypeError):
                keys = []
            if pattern:
                keys.append(normalize_key(pattern))
            out.append((str(reason), bool(recent), tuple(keys)))
        return out
    except sqlite3.Error as exc:
        if "no such table" in str(exc):
            return []
        raise StoreError(describe_failure(database, exc)) from exc
    finally:
        connection.close()
