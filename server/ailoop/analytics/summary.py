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
from ailoop.store.local import DB_NAME, StoreError, open_migrated

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
        events = open_migrated(data_dir / DB_NAME)
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
    cuts: dict[str, dict[tuple[str, str, str, str, Kind, str, bool, str], list[int]]]
    cuts = {"t": {}, "l": {}, "u": {}}
    weeks: dict[str, str] = {}
    for dim, tool, model, language, user, day, kind, outcome, pr_level, n, lines in rows:
        if kind not in kinds or dim not in cuts:
            continue
        if dim == "t":  # one slice's own field is named ("unknown" when empty), the rest not
            key = (str(tool) or "unknown", "", "", _week(str(day), weeks))
        elif dim == "l":
            key = ("", str(language) or "unknown", "", "")
        else:
            key = ("", "", str(user) or "unknown", "")
        counts = cuts[dim].setdefault(
            (*key, kinds[kind], str(outcome), bool(pr_level), str(model)), [0, 0]
        )
        counts[0] += int(n)
        counts[1] += int(lines)
    tools, languages, users = (
        [
            KindGroup(*key[:7], count=n, lines=lines, model=key[7])
            for key, (n, lines) in cuts[dim].items()
        ]
        for dim in ("t", "l", "u")
    )
    return Slices(tools, languages, users), int(modified)
