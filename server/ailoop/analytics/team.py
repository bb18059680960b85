"""The per-stage numbers from the team's shared store (PostgreSQL), from its rollups.

Reads ``ailoop.event_daily`` and ``ailoop.modified_days`` (schema version 7 and later: the
per-day counts the store keeps with a trigger, see ``ailoop.store.pg_migrations``), so the
cost grows with the days and names the team has, not with its events. The rows read are
data from a store other people write to: groups with a day that is not sane, counts that
are not whole numbers, a name that is empty where it may not be, too long or with control
characters, or a kind or review outcome that is not known are skipped and counted in one
warning. Pattern trends come from the other rollup (``pattern_daily``, review verdicts
counted from version 5).

``since`` counts whole UTC days on the team side: the events of the UTC day ``since``
falls on and after (the local store cuts at the instant itself).
"""

from __future__ import annotations

import datetime as dt
import decimal
import logging
from collections.abc import Iterable, Sequence
from typing import Any

from ailoop.analytics.acceptance import iso_week
from ailoop.analytics.stages import KindGroup, Slices
from ailoop.store import shared
from ailoop.store.events import REVIEW_OUTCOMES, Kind
from ailoop.store.pg_migrations import LIMITS, SCHEMA
from ailoop.text import clean

logger = logging.getLogger(__name__)

#: A rollup row counts when its day is sane (from 1970 to the store's tomorrow, as the
#: trigger counts events dated at most a day ahead) and its counts are not negative.
_SANE = (
    "day BETWEEN DATE '1970-01-01' AND (now() AT TIME ZONE 'UTC')::date + 1"
    " AND n >= 0 AND lines >= 0"
)
_WHERE = """
  (%(since)s::date IS NULL OR day >= %(since)s::date)
  AND (%(repo)s::text IS NULL OR repo = %(repo)s::text)
"""

#: The rollup's rows summed in three slices (:class:`ailoop.analytics.stages.Slices`): per
#: tool, model and ISO week, per language, per user, with one ``GROUPING SETS`` query.
#: ``sane`` is false for rows whose day or counts are not (those groups are skipped);
#: ``week`` is the Monday of the ISO week. Run with a ``work_mem`` that lets PostgreSQL
#: hash the groups (:data:`WORK_MEM`).
TEAM_KIND_GROUPS_SQL = f"""
SELECT GROUPING(tool), GROUPING(language), tool, model, language, "user", week, kind,
       outcome, pr_level, sane, sum(n), sum(lines)
FROM (
    SELECT tool, model, language, "user", kind, outcome, pr_level, n, lines,
           {_SANE} AS sane,
           CASE WHEN {_SANE} THEN day - (extract(isodow FROM day)::integer - 1) END AS week
    FROM {SCHEMA}.event_daily
    WHERE {_WHERE}
) AS d
GROUP BY GROUPING SETS (
    (tool, model, week, kind, outcome, pr_level, sane),
    (language, kind, outcome, pr_level, sane),
    ("user", kind, outcome, pr_level, sane)
)
"""  # noqa: S608 - constants only

#: The distinct snippets modified in the range (the funnel's second step).
TEAM_MODIFIED_SQL = f"""
SELECT count(DISTINCT snippet) FROM {SCHEMA}.modified_days
WHERE day BETWEEN DATE '1970-01-01' AND (now() AT TIME ZONE 'UTC')::date + 1 AND {_WHERE}
"""  # noqa: S608 - constants only

_KINDS = {k.value: k for k in Kind}
#: The largest count taken from the store (a bigint).
_COUNT_LIMIT = 2**63 - 1

#: ``work_mem`` for the slices query (per sort or hash, this statement only).
WORK_MEM = "64MB"


def _name_ok(value: object, limit: int, *, required: bool = False) -> bool:
    return (
        isinstance(value, str)
        and (bool(value) or not required)
        and len(value) <= limit
        and clean(value, limit) == value
    )


def _whole(value: object) -> int | None:
    """Return a count read from the store as an int, or None if it is not one.

    PostgreSQL gives sums as numeric (``Decimal``); a count is a whole number from 0 to the
    bigint limit.
    """
    if isinstance(value, bool):
        return None
    if isinstance(value, decimal.Decimal):
        if not value.is_finite() or value != value.to_integral_value():
            return None
        value = int(value)
    if not isinstance(value, int) or not 0 <= value <= _COUNT_LIMIT:
        return None
    return value


def kind_group_problem(row: Sequence[Any]) -> str | None:
    """Return why a row of :data:`TEAM_KIND_GROUPS_SQL` is not valid, or None if it is."""
    by_tool, by_language, tool, model, language, user, _week, kind, outcome = row[:9]
    sane, count, lines = row[10:13]
    if sane is not True:
        return "counts of a day that is not finite or lies ahead, or negative counts"
    if not by_tool and not (
        _name_ok(tool, LIMITS["tool"], required=True) and _name_ok(model, LIMITS["model"])
    ):
        return (
            f"the tool {clean(repr(tool), 80)} or model {clean(repr(model), 80)} is empty, "
            "too long or has control characters"
        )
    if (by_tool and not by_language and not _name_ok(language, LIMITS["language"])) or (
        by_tool and by_language and not _name_ok(user, LIMITS["user"])
    ):
        return "a language or user that is too long or has control characters"
    if kind not in _KINDS or (outcome and outcome not in REVIEW_OUTCOMES):
        return "a kind or review outcome that is not known"
    if _whole(count) is None or _whole(lines) is None:
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

    From the rollup (schema version 7): the tool slice is per tool, model (``""`` when the
    tool did not say) and ISO week. ``since`` counts whole UTC days: the events of the UTC
    day it falls on and after. Groups that are not valid are skipped and counted in one
    warning; the three slices are checked apart, so a bad name is left out of its slice
    only.
    """
    first_day = since.astimezone(dt.timezone.utc).date() if since is not None else None
    params = {"since": first_day, "repo": repo}
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
                    skipped += _whole(row[11]) or 1
                reason = reason or problem
                continue
            by_tool, by_language, tool, model, language, user, monday, kind, outcome = row[:9]
            week = weeks.get(monday, "")
            if by_tool == 0 and not week:
                week = weeks[monday] = iso_week(str(monday))
            count, lines = _whole(row[11]) or 0, _whole(row[12]) or 0
            rest = (_KINDS[kind], outcome, bool(row[9]), count, lines)
            if by_tool == 0:
                cuts[0].append(KindGroup(tool, "", "", week, *rest, model=model))
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
    modified = _whole(found[0]) if found else None
    return Slices(*cuts), modified or 0


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
