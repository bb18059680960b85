"""Acceptance analytics straight from the local SQLite store, with aggregate queries.

Reads the ``events`` table of ``ailoop.store.local.MIGRATIONS`` through a read-only
connection; the results are the same as the event-based functions of
:mod:`ailoop.analytics.acceptance` give, at a fraction of the cost for large stores.
Timestamps are compared as text, exact for the store's fixed-width UTC format.
"""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from ailoop.analytics.acceptance import AcceptanceCounts, OutcomeGroup, iso_week
from ailoop.analytics.stages import KindGroup, Slices, slice_groups
from ailoop.patterns.model import valid_key
from ailoop.store.events import Kind
from ailoop.store.local import DAY_SQL, DB_NAME, StoreError, default_data_dir, read_only

_OUTCOMES = "('accepted', 'kept', 'rejected', 'reverted')"


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
        f"SELECT tool, language, user, {DAY_SQL}, kind, count(*) FROM events "  # noqa: S608
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


def _since_text(since: dt.datetime | None) -> str | None:
    if since is None:
        return None
    return (
        since.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def _range(since: dt.datetime | None, repo: str | None) -> tuple[str, tuple[object, ...]]:
    clauses, params = ["1 = 1"], []
    start = _since_text(since)
    if start is not None:
        clauses.append("ts >= ?")
        params.append(start)
    if repo:
        clauses.append("repo = ?")
        params.append(repo)
    return " AND ".join(clauses), tuple(params)


def local_kind_groups(
    data_dir: Path | None, since: dt.datetime | None = None, repo: str | None = None
) -> tuple[Slices, int]:
    """Return every event of the local store as :class:`Slices` of kind groups.

    Also returns how many distinct snippets were ``modified`` in the same range. Without
    ``since``, the counts come from those the store keeps (:mod:`ailoop.analytics.summary`).
    """
    directory = data_dir or default_data_dir()
    if not (directory / DB_NAME).exists():
        return Slices([], [], []), 0
    if since is None:
        from ailoop.analytics.summary import summary_groups

        found = summary_groups(directory, repo)
        if found is not None:
            return found
    where, params = _range(since, repo)
    rows = _query(
        data_dir,
        f"SELECT tool, language, user, {DAY_SQL}, kind, coalesce(outcome, ''), snippet = '', "  # noqa: S608
        "coalesce(model, ''), count(*), coalesce(sum(lines), 0) FROM events "
        f"WHERE {where} GROUP BY 1, 2, 3, 4, 5, 6, 7, 8",
        params,
    )
    kinds = {k.value: k for k in Kind}
    merged: dict[tuple[str, str, str, str, Kind, str, bool, str], list[int]] = {}
    weeks: dict[str, str] = {}
    for tool, language, user, day, kind, outcome, pr_level, model, count, lines in rows:
        if kind not in kinds:
            continue
        day_text = str(day)
        week = weeks.get(day_text)
        if week is None:
            week = weeks[day_text] = iso_week(day_text)
        key = (
            str(tool) or "unknown",
            str(language) or "unknown",
            str(user) or "unknown",
            week,
            kinds[kind],
            str(outcome),
            bool(pr_level) and kind == "reviewed",
            str(model),
        )
        sums = merged.setdefault(key, [0, 0])
        sums[0] += int(count)
        sums[1] += int(lines)
    groups = [KindGroup(*key[:7], count=c, lines=n, model=key[7]) for key, (c, n) in merged.items()]
    modified = _query(
        data_dir,
        f"SELECT count(DISTINCT snippet) FROM events WHERE kind = 'modified' AND {where}",  # noqa: S608
        params,
    )
    return slice_groups(groups), int(modified[0][0]) if modified else 0


#: Outcomes the pattern statistics count (see ``ailoop.patterns.aggregate``): editor
#: accepted, kept, rejected, and review verdicts about a snippet.
_PATTERN_OUTCOME = (
    "(kind IN ('accepted', 'kept', 'rejected') OR (kind = 'reviewed' AND snippet <> ''"
    " AND outcome IN ('approved', 'merged', 'changes_requested', 'closed')))"
)
_PATTERN_REJECTION = (
    "(kind = 'rejected' OR (kind = 'reviewed' AND outcome IN ('changes_requested', 'closed')))"
)


def local_pattern_weeks(
    data_dir: Path | None,
    keys: Iterable[str],
    since: dt.datetime | None = None,
    repo: str | None = None,
) -> dict[str, dict[str, tuple[int, int]]]:
    """Return, per pattern key of ``keys`` and ISO week, (rejected, accepted) outcomes.

    The outcomes the pattern statistics count, with the key in their findings or picked.
    """
    wanted = set(keys)
    if not wanted:
        return {}
    if since is None and repo is None:
        from_summary = _summary_pattern_weeks(data_dir or default_data_dir(), wanted)
        if from_summary is not None:
            return from_summary
    where, params = _range(since, repo)
    rows = _query(
        data_dir,
        f"SELECT findings, pattern, {_PATTERN_REJECTION}, {DAY_SQL}, count(*) FROM events "  # noqa: S608
        f"WHERE {_PATTERN_OUTCOME} AND {where} GROUP BY 1, 2, 3, 4",
        params,
    )
    out: dict[str, dict[str, tuple[int, int]]] = {}
    decoded: dict[str, tuple[str, ...]] = {}
    weeks: dict[str, str] = {}
    for findings, pattern, rejected, day, count in rows:
        found = decoded.get(findings)
        if found is None:
            try:
                found = tuple(str(f) for f in json.loads(findings))
            except (TypeError, ValueError):
                found = ()
            decoded[findings] = found
        event_keys = {k for k in found if k in wanted}
        if pattern and (key := valid_key(pattern)) in wanted:
            event_keys.add(key)
        if not event_keys:
            continue
        day_text = str(day)
        week = weeks.get(day_text)
        if week is None:
            week = weeks[day_text] = iso_week(day_text)
        for key in event_keys:
            per_week = out.setdefault(key, {})
            rej, acc = per_week.get(week, (0, 0))
            per_week[week] = (rej + int(count), acc) if rejected else (rej, acc + int(count))
    return out


def _summary_pattern_weeks(
    data_dir: Path, wanted: set[str]
) -> dict[str, dict[str, tuple[int, int]]] | None:
    """Read the weekly counts from the pattern statistics' day-by-day summary.

    ``ailoop.patterns.aggregate.PatternSummary`` keeps it (``key_days``) and has just
    refreshed it when the statistics were computed. None when there is none to read.
    """
    from ailoop.patterns.aggregate import SUMMARY_NAME

    path = data_dir / SUMMARY_NAME
    if not path.exists():
        return None
    placeholders = ", ".join("?" for _ in wanted)
    sql = f"SELECT key, rejected, day, n FROM key_days WHERE key IN ({placeholders})"  # noqa: S608

    def read(connection: sqlite3.Connection) -> list[tuple[Any, ...]] | None:
        return list(connection.execute(sql, tuple(sorted(wanted))))

    try:
        rows = read_only(path, read, None)
    except StoreError:
        return None
    if rows is None:
        return None
    out: dict[str, dict[str, tuple[int, int]]] = {}
    weeks: dict[str, str] = {}
    for key, rejected, day, n in rows:
        week = weeks.get(day)
        if week is None:
            week = weeks[day] = iso_week(str(day))
        per_week = out.setdefault(str(key), {})
        rej, acc = per_week.get(week, (0, 0))
        per_week[week] = (rej + int(n), acc) if rejected else (rej, acc + int(n))
    return out
