"""The counts the local store keeps as it stores events: the same as counting the events.

``ailoop stats`` and ``ailoop report`` without ``--since`` read ``stats_slices``; with
``--since`` they query the events. Both must give the same slices as events are added
(again and again, and twice over), and for a store written before the counts were kept.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

from ailoop.analytics.local import local_kind_groups
from ailoop.analytics.stages import KindGroup, Slices
from ailoop.analytics.summary import summary_groups
from ailoop.store.local import DB_NAME, MIGRATIONS, LocalStore
from tests.report.report_store import REPO, fill, ten_weeks

LONG_AGO = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)


def ordered(slices: Slices) -> tuple[list[KindGroup], ...]:
    def key(g: KindGroup) -> tuple[str, ...]:
        return (g.tool, g.model, g.language, g.user, g.week, g.kind.value, g.outcome, str(g))

    return tuple(sorted(cut, key=key) for cut in (slices.tools, slices.languages, slices.users))


def from_events(data_dir: Path, repo: str | None = None) -> tuple[tuple[list[KindGroup], ...], int]:
    slices, modified = local_kind_groups(data_dir, LONG_AGO, repo)  # the query over the events
    return ordered(slices), modified


def from_counts(data_dir: Path, repo: str | None = None) -> tuple[tuple[list[KindGroup], ...], int]:
    found = summary_groups(data_dir, repo)
    assert found is not None
    slices, modified = found
    return ordered(slices), modified


def test_the_kept_counts_equal_the_events_as_they_are_added(tmp_path: Path) -> None:
    events = ten_weeks(dt.datetime.now(dt.timezone.utc), snippets=200)
    half = len(events) // 2
    fill(tmp_path, events[:half])
    assert from_counts(tmp_path) == from_events(tmp_path)
    fill(tmp_path, events[half - 50 :])  # fifty stored already: counted once
    for event in events[-20:]:  # one at a time, as the editor stores them
        fill(tmp_path, [event])
    counts, modified = from_counts(tmp_path)
    assert (counts, modified) == from_events(tmp_path)
    assert sum(g.count for g in counts[0]) == len(events)
    assert modified > 0
    assert {g.model for g in counts[0]} == {"", "anthropic/claude-sonnet-4-5", "openai/gpt-5"}
    assert all(g.model == "" for g in counts[1] + counts[2])
    assert from_counts(tmp_path, REPO) == from_events(tmp_path, REPO)
    assert from_counts(tmp_path, "elsewhere") == (([], [], []), 0)


def test_a_store_from_before_the_counts_gets_them_from_its_events(tmp_path: Path) -> None:
    events = ten_weeks(dt.datetime.now(dt.timezone.utc), snippets=120)
    fill(tmp_path, events)
    expected = from_events(tmp_path)
    db = sqlite3.connect(tmp_path / DB_NAME, isolation_level=None)
    db.execute("DROP TABLE stats_slices")
    db.execute("DROP TABLE stats_modified")
    db.execute("PRAGMA user_version = 4")  # as an ailoop before the counts left it
    db.close()
    assert from_counts(tmp_path) == expected  # migrated on the way, counted from the events
    LocalStore(tmp_path / DB_NAME).close()
    db = sqlite3.connect(tmp_path / DB_NAME)
    try:
        assert db.execute("PRAGMA user_version").fetchone() == (len(MIGRATIONS),)
    finally:
        db.close()
    more = ten_weeks(dt.datetime.now(dt.timezone.utc), seed=9, snippets=30)
    fill(tmp_path, more)
    assert from_counts(tmp_path) == from_events(tmp_path)
