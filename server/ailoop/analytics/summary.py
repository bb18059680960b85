"""The local store's event counts, as the store keeps them (``stats_slices``).

One ``GROUP BY`` over a million events takes seconds in SQLite, for ``ailoop stats`` and
every report. The store counts each event as it stores it (local migration 5,
``ailoop.store.local``): per repository, tool, model and UTC day; per language; per user;
each by kind, review outcome and pull-request level, with the events' lines; and the
snippets edited after generation. A million events come to a few thousand rows, read
here and turned into :class:`ailoop.analytics.stages.Slices` (days into ISO weeks).
"""

from __future__ import annotations

import sqlite3
from pathlib import Path

from ailoop.analytics.acceptance import iso_week
from ailoop.analytics.stages import KindGroup, Slices
from ailoop.patterns.stats import event_day
from ailoop.store.events import Kind
from ailoop.store.local import DB_NAME, StoreError
from ailoop.store.summary_db import open_events

_SLICES = """
SELECT dim, tool, model, language, user, day, kind, outcome, pr_level, sum(n), sum(lines)
FROM stats_slices WHERE {where} GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9
"""


def _week(day: str, weeks: dict[str, str]) -> str:
    week = weeks.get(day)
    if week is None:
        week = weeks[day] = iso_week(day if len(day) == 10 else event_day(day))
    return week


def summary_groups(data_dir: Path, repo: str | None) -> tuple[Slices, int] | None:
    """Return the kind groups and the modified snippets (of ``repo``, when given).

    None when the counts cannot be read (a store an older ailoop wrote, in a folder this
    one cannot migrate it in): the caller then counts the events themselves.
    """
    where, params = ("repo = ?", (repo,)) if repo else ("1 = 1", ())
    try:
        events = open_events(data_dir / DB_NAME)
    except (sqlite3.Error, StoreError):
        return None
    try:
        rows = events.execute(_SLICES.format(where=where), params).fetchall()
        (modified,) = events.execute(
            f"SELECT count(*) FROM stats_modified WHERE {where}",  # noqa: S608 - constant
            params,
        ).fetchone()
    except sqlite3.Error:
        return None
    finally:
        events.close()
    kinds = {k.value: k for k in Kind}
    sums: dict[str, dict[tuple[str, ...], list[int]]] = {"t": {}, "l": {}, "u": {}}
    weeks: dict[str, str] = {}
    for dim, tool, model, language, user, day, kind, outcome, pr_level, n, lines in rows:
        if kind not in kinds or dim not in sums:
            continue
        tool, language, user = (
            (str(v) or "unknown") if dim == d else ""
            for v, d in ((tool, "t"), (language, "l"), (user, "u"))
        )
        key = (
            tool,
            language,
            user,
            _week(str(day), weeks) if dim == "t" else "",
            str(kind),
            str(outcome),
            "1" if pr_level else "",
            str(model),
        )
        counts = sums[dim].setdefault(key, [0, 0])
        counts[0] += int(n)
        counts[1] += int(lines)
    cuts = {
        dim: [
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
            for (tool, language, user, week, kind, outcome, pr_level, model), (n, lines) in (
                found.items()
            )
        ]
        for dim, found in sums.items()
    }
    return Slices(cuts["t"], cuts["l"], cuts["u"]), int(modified)
