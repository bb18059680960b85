"""The per-stage numbers from the team's shared store (PostgreSQL), with aggregate queries.

Reads ``ailoop.events`` (schema version 4 and later: ``outcome`` on ``reviewed`` events)
with one ``GROUP BY``, as :func:`ailoop.analytics.local.local_kind_groups` does on SQLite;
rows that are not valid (a time that is not finite or lies ahead, control characters in a
name) are skipped and counted in one warning. Pattern trends come from the rollup
(``pattern_daily``, review verdicts counted from version 5).
"""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Iterable, Sequence
from typing import Any

from ailoop.analytics.acceptance import iso_week
from ailoop.analytics.stages import KindGroup, Slices
from ailoop.store import shared
from ailoop.store.events import REVIEW_OUTCOMES, Kind
from ailoop.store.pg_migrations import SCHEMA
from ailoop.text import clean

logger = logging.getLogger(__name__)

_SANE = "ts BETWEEN TIMESTAMPTZ '1970-01-01 00:00:00+00' AND now() + interval '1 day'"
_WHERE = """
  (%(since)s::timestamptz IS NULL OR ts >= %(since)s::timestamptz)
  AND (%(repo)s::text IS NULL OR repo = %(repo)s::text)
"""

#: The events counted in three slices (:class:`ailoop.analytics.stages.Slices`): per tool
#: and ISO week, per language, per user, with one ``GROUPING SETS`` query, so the rows
#: read are few however many events and people there are. ``sane`` is false for a time
#: that is not finite or lies ahead (those groups are skipped). ``week`` is the Monday of
#: the ISO week. Run with a ``work_mem`` that lets PostgreSQL hash the groups
#: (:data:`WORK_MEM`): three times faster than sorting them.
TEAM_KIND_GROUPS_SQL = f"""
SELECT GROUPING(tool), GROUPING(language), tool, language, "user", week, kind, outcome,
       pr_level, sane, count(*), coalesce(sum(lines), 0)
FROM (
    SELECT tool, language, "user", kind, coalesce(outcome, '') AS outcome,
           kind = 'reviewed' AND snippet = '' AS pr_level, lines,
           {_SANE} AS sane,
           CASE WHEN {_SANE} THEN date_trunc('week', ts AT TIME ZONE 'UTC')::date END AS week
    FROM {SCHEMA}.events
    WHERE {_WHERE}
) AS e
GROUP BY GROUPING SETS (
    (tool, week, kind, outcome, pr_level, sane),
    (language, kind, outcome, pr_level, sane),
    ("user", kind, outcome, pr_level, sane)
)
"""  # noqa: S608 - constants only

TEAM_MODIFIED_SQL = f"""
SELECT count(DISTINCT snippet) FROM {SCHEMA}.events
WHERE kind = 'modified' AND {_WHERE}
"""  # noqa: S608 - constants only

_KINDS = {k.value: k for k in Kind}

#: ``work_mem`` for the slices query (per sort or hash, this statement only).
WORK_MEM = "64MB"


def _name_ok(value: object, limit: int, *, required: bool = False) -> bool:
    return (
        isinstance(value, str)
        and (bool(value) or not required)
        and len(value) <= limit
        and clean(value, limit) == value
    )


def kind_group_problem(row: Sequence[Any]) -> str | None:
    """Return why a row of :data:`TEAM_KIND_GROUPS_SQL` is not valid, or None if it is."""
    by_tool, by_language, tool, language, user, _week, kind, outcome = row[:8]
    sane, count, lines = row[9:]
    if sane is not True:
        return "events dated in the future or at a time that is not finite"
    if not by_tool and not _name_ok(tool, 64, required=True):
        return f"the tool {clean(repr(tool), 80)} is empty, too long or has control characters"
    if (by_tool and not by_language and not _name_ok(language, 64)) or (
        by_tool and by_language and not _name_ok(user, 320)
    ):
        return "a language or user that is too long or has control characters"
    if kind not in _KINDS or (outcome and outcome not in REVIEW_OUTCOMES):
        return "a kind or review outcome that is not known"
    if not isinstance(count, int) or not isinstance(lines, int):
        return "counts that are not whole numbers"
    return None


def team_kind_groups(
    url: str,
    *,
    since: dt.datetime | None = None,
    repo: str | None = None,
    tls: shared.Tls | None = None,
) -> tuple[Slices, int]:
    """Return the team's events as :class:`Slices` of kind groups, and the modified snippets.

    Groups of events that are not valid are skipped and counted in one warning; the
    three slices are checked apart, so a bad name is left out of its slice only.
    """
    params = {"since": since, "repo": repo}
    cuts: tuple[list[KindGroup], list[KindGroup], list[KindGroup]] = ([], [], [])
    skipped, reason = 0, ""
    timeouts = shared.Timeouts(statement=120.0)
    weeks: dict[object, str] = {}
    with shared.connected(url, timeouts, tls=tls or shared.Tls()) as conn, conn.transaction():
        conn.execute(f"SET LOCAL work_mem = '{WORK_MEM}'")
        for row in conn.execute(TEAM_KIND_GROUPS_SQL, params):
            problem = kind_group_problem(row)
            if problem is not None:
                if row[0] == 0:  # count each event once: in the tool slice
                    skipped += int(row[10]) if isinstance(row[10], int) else 1
                reason = reason or problem
                continue
            by_tool, by_language, tool, language, user, monday, kind, outcome, pr_level = row[:9]
            week = weeks.get(monday, "")
            if by_tool == 0 and not week:
                week = weeks[monday] = iso_week(str(monday))
            count, lines = int(row[10]), int(row[11])
            rest = (_KINDS[kind], outcome, bool(pr_level), count, lines)
            if by_tool == 0:
                cuts[0].append(KindGroup(tool, "", "", week, *rest))
            elif by_language == 0:
                cuts[1].append(KindGroup("", language, "", "", *rest))
            else:
                cuts[2].append(KindGroup("", "", user, "", *rest))
        found = conn.execute(TEAM_MODIFIED_SQL, params).fetchone()
    if skipped or reason:
        logger.warning(
            "shared store %s: skipped %d team events that are not valid (the first: %s)",
            shared.describe_target(url),
            skipped,
            clean(reason, 200),
        )
    modified = int(found[0]) if found and isinstance(found[0], int) else 0
    return Slices(*cuts), modified


def team_pattern_weeks(
    days: Iterable[shared.PatternDay], keys: Iterable[str], since: dt.datetime | None = None
) -> dict[str, dict[str, tuple[int, int]]]:
    """Return, per key of ``keys`` and ISO week, (rejected, accepted) from the rollup's days."""
    wanted = set(keys)
    first = since.astimezone(dt.timezone.utc).date().isoformat() if since else ""
    out: dict[str, dict[str, tuple[int, int]]] = {}
    for day in days:
        if day.rule not in wanted or day.day < first:
            continue
        per_week = out.setdefault(day.rule, {})
        week = iso_week(day.day)
        rejected, accepted = per_week.get(week, (0, 0))
        per_week[week] = (rejected + day.rejected, accepted + day.accepted)
    return out
