"""The summary of the local store's events: the same groups as one query over the events.

``ailoop stats`` and ``ailoop report`` without ``--since`` read ``stats-summary.db``; with
``--since`` they query the events. Both must give the same slices, as events are added,
when the store is replaced, and when the summary was written by an older layout.
"""

from __future__ import annotations

import datetime as dt
import sqlite3
from pathlib import Path

from ailoop.analytics.local import local_kind_groups
from ailoop.analytics.stages import KindGroup, Slices
from ailoop.analytics.summary import SUMMARY_NAME, SUMMARY_VERSION, summary_groups
from ailoop.store.local import DB_NAME
from tests.report.report_store import REPO, fill, ten_weeks

LONG_AGO = dt.datetime(2000, 1, 1, tzinfo=dt.timezone.utc)


def ordered(slices: Slices) -> tuple[list[KindGroup], ...]:
    def key(g: KindGroup) -> tuple[str, ...]:
        return (g.tool, g.model, g.language, g.user, g.week, g.kind.value, g.outcome, str(g))

    return tuple(sorted(cut, key=key) for cut in (slices.tools, slices.languages, slices.users))


def from_events(data_dir: Path, repo: str | None = None) -> tuple[tuple[list[KindGroup], ...], int]:
    slices, modified = local_kind_groups(data_dir, LONG_AGO, repo)  # the query over the events
    return ordered(slices), modified


def from_summary(
    data_dir: Path, repo: str | None = None
) -> tuple[tuple[list[KindGroup], ...], int]:
    found = summary_groups(data_dir, repo)
    assert found is not None
    slices, modified = found
    return ordered(slices), modified


def test_the_summary_equals_the_events_as_they_are_added(tmp_path: Path) -> None:
    now = dt.datetime.now(dt.timezone.utc)
    events = ten_weeks(now, snippets=200)
    fill(tmp_path, events[: len(events) // 2])
    assert from_summary(tmp_path) == from_events(tmp_path)
    fill(tmp_path, events[len(events) // 2 :])
    summary, modified = from_summary(tmp_path)
    assert (summary, modified) == from_events(tmp_path)
    assert modified > 0
    tools = summary[0]
    assert {g.model for g in tools} == {"", "anthropic/claude-sonnet-4-5", "openai/gpt-5"}
    assert all(g.model == "" for g in summary[1] + summary[2])
    assert from_summary(tmp_path, REPO) == from_events(tmp_path, REPO)
    assert from_summary(tmp_path, "elsewhere") == (([], [], []), 0)


def test_a_replaced_store_is_summarised_afresh(tmp_path: Path) -> None:
    now = dt.datetime.now(dt.timezone.utc)
    fill(tmp_path, ten_weeks(now, seed=1, snippets=120))
    assert from_summary(tmp_path) == from_events(tmp_path)
    for path in tmp_path.iterdir():
        if path.name.startswith(DB_NAME):
            path.unlink()
    fill(tmp_path, ten_weeks(now, seed=2, snippets=60))
    assert from_summary(tmp_path) == from_events(tmp_path)


def test_a_summary_of_an_older_layout_is_built_again(tmp_path: Path) -> None:
    fill(tmp_path, ten_weeks(dt.datetime.now(dt.timezone.utc), snippets=80))
    old = sqlite3.connect(tmp_path / SUMMARY_NAME)
    old.executescript(
        "CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL);"
        "INSERT INTO meta VALUES ('version', '1'), ('last_seq', '999999'), ('last_id', 'x');"
        "CREATE TABLE slices (dim TEXT, repo TEXT, tool TEXT, language TEXT, user TEXT,"
        " week TEXT, kind TEXT, outcome TEXT, pr_level INTEGER, n INTEGER, lines INTEGER);"
        "INSERT INTO slices VALUES ('t', 'r', 'stale', '', '', '2020-W01', 'accepted', '', 0, 9, 9);"
        "CREATE TABLE modified (repo TEXT, snippet TEXT);"
    )
    old.close()
    assert from_summary(tmp_path) == from_events(tmp_path)
    check = sqlite3.connect(tmp_path / SUMMARY_NAME)
    try:
        assert check.execute("SELECT value FROM meta WHERE name = 'version'").fetchone() == (
            SUMMARY_VERSION,
        )
        assert check.execute("SELECT count(*) FROM slices WHERE tool = 'stale'").fetchone() == (0,)
    finally:
        check.close()
