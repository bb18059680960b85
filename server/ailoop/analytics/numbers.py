"""Everything ``ailoop stats`` and ``ailoop report`` show, computed once, in one place.

Both commands call :func:`collect`, so the report's numbers are the statistics' numbers:
acceptance by tool, language, user and week (:mod:`ailoop.analytics.acceptance`), the
per-stage numbers (:mod:`ailoop.analytics.stages`), the top rejection patterns with their
intervals (:mod:`ailoop.patterns.stats`) and their weekly trend. From the local SQLite store,
or with ``team`` from the shared store.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import os
from pathlib import Path
from typing import Any

from ailoop.analytics.acceptance import AcceptanceReport
from ailoop.analytics.stages import (
    KindGroup,
    Slices,
    Stages,
    acceptance_of,
    stages,
)
from ailoop.patterns.context import ContextChange
from ailoop.patterns.stats import PatternStats, parse_ts, top_patterns
from ailoop.patterns.workspace import Workspace


@dataclasses.dataclass
class Numbers:
    """The statistics of one store (``source``: ``local`` or ``team``)."""

    source: str
    now: dt.datetime
    since_days: int | None
    repo: str | None
    report: AcceptanceReport
    stages: Stages
    slices: Slices
    top: list[PatternStats]
    titles: dict[str, str]
    #: Per top pattern and ISO week: (rejected, accepted) outcomes with it.
    pattern_weeks: dict[str, dict[str, tuple[int, int]]]
    #: Whether numbers per person may be shown: the local store (the user's own), or a team
    #: store whose users are pseudonyms (``hash_users`` with the team's key).
    per_user: bool
    #: The changes of the learned context ``ailoop context --write`` made in this workspace.
    context_changes: list[ContextChange] = dataclasses.field(default_factory=list)

    @property
    def groups(self) -> list[KindGroup]:
        """The kind groups per tool and ISO week (every event once)."""
        return self.slices.tools

    def stats_json(self) -> dict[str, Any]:
        """Return ``ailoop stats --format json``."""
        return {
            "overall": self.report.overall.to_json(),
            "by": {name: [c.to_json() for c in rows] for name, rows in self.report.groups.items()},
            "top_patterns": [
                {**s.to_json(), "title": self.titles.get(s.pattern, "")} for s in self.top
            ],
            "stages": self.stages.to_json(),
        }


def pattern_titles(workspace: Workspace, keys: list[str]) -> dict[str, str]:
    """Return the title of each pattern key: the team's, or the engine rule's real name.

    An engine rule's name comes from the engine ailoop installs (``ruff:E722`` is "bare
    except"), see :func:`ailoop.patterns.context.describe_rule`.
    """
    from ailoop.patterns.context import describe_rule

    titles = {}
    for key in keys:
        if key.startswith("pattern:"):
            pattern = workspace.patterns.get(key)
            title = pattern.title if pattern is not None else None
        else:
            rule = describe_rule(key)
            title = rule.title if rule is not None else None
        if title:
            titles[key] = title
    return titles


def _team(
    root: Path,
    workspace: Workspace,
    now: dt.datetime,
    since: dt.datetime | None,
    repo: str | None,
    problems: list[str],
) -> tuple[Slices, int, dict[str, PatternStats], Any, bool]:
    from ailoop.analytics.team import team_kind_groups
    from ailoop.patterns.stats import recent_cutoff, stats_from_counts
    from ailoop.settings import load, user_config_path
    from ailoop.store import shared
    from ailoop.store.sync import URL_ENV, resolve_store

    settings, _ = load(root)
    choice = resolve_store(settings.store, settings.stores, "store settings", os.environ)
    problems.extend(choice.problems)
    url, tls = choice.url, choice.options.tls
    if not url:
        raise shared.SharedStoreError(
            f"no shared store configured: set {URL_ENV}, or [store] url (or [stores.<team>] "
            f"url with store.team in the repository) in {user_config_path()}",
            retryable=False,
        )
    groups, modified = team_kind_groups(url, since=since, repo=repo, tls=tls)
    team = shared.team_pattern_stats(url, workspace.settings.recent_days, now=now, tls=tls)
    per_key, overall = shared.buckets_from_days(team.days, recent_cutoff(now, workspace.settings))
    pattern_stats = stats_from_counts(per_key, overall, workspace.settings)
    return (
        groups,
        modified,
        pattern_stats,
        team.days,
        choice.options.user_hash_key is not None,
    )


def collect(
    root: Path,
    *,
    data_dir: Path | None = None,
    team: bool = False,
    since_days: int | None = None,
    repo: str | None = None,
    top: int = 10,
    now: dt.datetime | None = None,
) -> tuple[Numbers, list[str]]:
    """Compute the numbers; return them with the problems met on the way (for stderr).

    Raises :class:`ailoop.store.local.StoreError` or
    :class:`ailoop.store.shared.SharedStoreError` when the store cannot be read.
    """
    from ailoop.analytics.local import local_kind_groups, local_pattern_weeks
    from ailoop.patterns.context import load_state

    moment = now or dt.datetime.now(dt.timezone.utc)
    since = moment - dt.timedelta(days=since_days) if since_days else None
    root = root.resolve()
    workspace = Workspace.load(root)
    problems = list(workspace.problems)
    if team:
        from ailoop.analytics.team import team_pattern_weeks

        slices, modified, pattern_stats, days, per_user = _team(
            root, workspace, moment, since, repo, problems
        )
        ranked = top_patterns(pattern_stats, top)
        weeks = team_pattern_weeks(days, [s.pattern for s in ranked], since)
    else:
        slices, modified = local_kind_groups(data_dir, since, repo)
        pattern_stats = workspace.local_stats(moment, data_dir, repo)
        ranked = top_patterns(pattern_stats, top)
        weeks = local_pattern_weeks(data_dir, [s.pattern for s in ranked], since, repo)
        per_user = True
    state, state_problems = load_state(root)
    problems += state_problems
    numbers = Numbers(
        source="team" if team else "local",
        now=moment,
        since_days=since_days,
        repo=repo,
        report=acceptance_of(slices),
        stages=stages(slices.tools, modified),
        slices=slices,
        top=ranked,
        titles=pattern_titles(workspace, [s.pattern for s in ranked]),
        pattern_weeks=weeks,
        per_user=per_user,
        context_changes=[c for c in state.history if since is None or parse_ts(c.at) >= since],
    )
    return numbers, problems
