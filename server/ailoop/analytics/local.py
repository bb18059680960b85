"""Acceptance analytics straight from the local SQLite store, with aggregate queries.

Reads the ``events`` table of ``ailoop.store.local.MIGRATIONS`` through a read-only
connection; the results are the same as the event-based functions of
:mod:`ailoop.analytics.acceptance` give, at a fraction of the cost for large stores.
Timestamps are compared as text, exact for the store's fixed-width UTC format.
"""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from ailoop.analytics.acceptance import AcceptanceCounts, OutcomeGroup, iso_week
from ailoop.store.events import Kind
from ailoop.store.local import DB_NAME, default_data_dir, read_only

_OUTCOMES = "('accepted', 'kept', 'rejected', 'reverted')"
_DAY = (
    "CASE WHEN length(ts) > 10 AND substr(ts, 11, 1) = 'T' AND substr(ts, -1) = 'Z'"
    " THEN substr(ts, 1, 10) ELSE ts END"
)


def _query(data_dir: Path | None, sql: str, params: tuple[object, ...]) -> list[tuple[Any, ...]]:
    database = (data_dir or default_data_dir()) / DB_NAME
    return read_only(database, lambda connection: list(connection.execute(sql, params)), [])


def _filters(
    start: str | None, end: str | None, repo: str | None
) -> tuple[str, tuple[object, ...]]:
    clauses, params = [f"kind IN {_OUTCOMES}"], []
    if start is not None:
        clauses.append("ts >= ?")
        params.append(start)
    if end is not None:
        clauses.append("ts < ?")
        params.append(end)
    if repo:
        clauses.append("repo = ?")
        params.append(repo)
    return " AND ".join(clauses), tuple(params)


def local_outcome_groups(
    data_dir: Path | None, since: dt.datetime | None = None, repo: str | None = None
) -> list[OutcomeGroup]:
    """Return the outcome groups of the local store (see :class:`OutcomeGroup`)."""
    start = (
        since.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
        if since
        else None
    )
    where, params = _filters(start, None, repo)
    rows = _query(
        data_dir,
        f"SELECT tool, language, user, {_DAY}, kind, count(*) FROM events "  # noqa: S608
        f"WHERE {where} GROUP BY 1, 2, 3, 4, 5",
        params,
    )
    merged: dict[tuple[str, str, str, str, Kind], int] = {}
    weeks: dict[str, str] = {}
    for tool, language, user, day, kind, count in rows:
        day_text = str(day)
        week = weeks.get(day_text)
        if week is None:
            week = weeks[day_text] = iso_week(day_text)
        key = (
            str(tool) or "unknown",
            str(language) or "unknown",
            str(user) or "unknown",
            week,
            Kind(kind),
        )
        merged[key] = merged.get(key, 0) + int(count)
    return [OutcomeGroup(*key, count=n) for key, n in merged.items()]


def local_acceptance_rate(
    data_dir: Path | None,
    start: str | None = None,
    end: str | None = None,
    repo: str | None = None,
) -> tuple[float | None, int]:
    """Return the acceptance rate and outcome count of events with ``start <= ts < end``."""
    where, params = _filters(start, end, repo)
    counts = AcceptanceCounts("window")
    for kind, count in _query(
        data_dir,
        f"SELECT kind, count(*) FROM events WHERE {where} GROUP BY 1",  # noqa: S608
        params,
    ):
        counts.add(Kind(kind), int(count))
    return counts.rate, counts.outcomes
