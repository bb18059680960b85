"""Acceptance analytics: the event path and the SQL path agree; weeks and filters."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from pattern_testkit import NOW, outcome, store_events

from ailoop.analytics.acceptance import (
    OutcomeGroup,
    acceptance_rate,
    acceptance_report,
    iso_week,
    outcome_groups,
)
from ailoop.analytics.local import local_acceptance_rate, local_outcome_groups
from ailoop.store.events import Event, Kind

DAY = dt.timedelta(days=1)


def sample() -> list[Event]:
    return [
        outcome(Kind.ACCEPTED, when=NOW, tool="copilot", language="python", user="ann", repo="a"),
        outcome(Kind.KEPT, when=NOW - DAY, tool="copilot", language="python", user="ann", repo="a"),
        outcome(
            Kind.REJECTED, when=NOW - 8 * DAY, tool="cursor", language="go", user="bob", repo="a"
        ),
        outcome(Kind.REVERTED, when=NOW - 9 * DAY, tool="cursor", language="go", user="", repo="b"),
        outcome(Kind.GENERATED, when=NOW, tool="codex", language="rust", user="cy", repo="a"),
        outcome(Kind.REJECTED, ts="2026-11-16T00:30:00+02:00", tool="codex", user="cy", repo="a"),
    ]


def test_report_numbers() -> None:
    report = acceptance_report(outcome_groups(sample()))
    assert report.overall.outcomes == 5
    assert report.overall.rate == pytest.approx(2 / 5)
    tools = {c.group: (c.outcomes, c.rate) for c in report.groups["tool"]}
    assert tools == {"copilot": (2, 1.0), "cursor": (2, 0.0), "codex": (1, 0.0)}
    assert [c.group for c in report.groups["week"]] == ["2026-W46", "2026-W47"]
    assert {c.group for c in report.groups["user"]} == {"ann", "bob", "cy", "unknown"}


def test_iso_week_uses_the_utc_day() -> None:
    assert iso_week("2026-11-16T00:30:00+02:00") == "2026-W46"  # Sunday 22:30 UTC
    assert iso_week("2026-11-16") == "2026-W47"
    assert iso_week("not a time") == "?"


def by_key(groups: list[OutcomeGroup]) -> list[tuple[str, str, str, str, str, int]]:
    return sorted((g.tool, g.language, g.user, g.week, g.kind.value, g.count) for g in groups)


def test_sql_path_matches_the_event_path(tmp_path: Path) -> None:
    events = sample()
    store_events(tmp_path, events)
    assert by_key(local_outcome_groups(tmp_path)) == by_key(outcome_groups(events))
    since = NOW - 2 * DAY
    assert by_key(local_outcome_groups(tmp_path, since, "a")) == by_key(
        outcome_groups(events, since, "a")
    )
    start = "2026-11-12T00:00:00.000Z"
    assert local_acceptance_rate(tmp_path, start=start) == acceptance_rate(events, start=start)
    assert local_acceptance_rate(tmp_path) == (pytest.approx(2 / 5), 5)
    assert local_acceptance_rate(tmp_path / "none") == (None, 0)
