"""The per-stage numbers and the report from the team's shared store equal the local ones."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import json
import logging
import random
import sys
from collections.abc import Sequence
from decimal import Decimal
from pathlib import Path
from typing import Any

import pytest

from ailoop.analytics.acceptance import iso_week
from ailoop.analytics.stages import KindGroup, Slices
from ailoop.analytics.team import kind_group_problem, team_kind_groups
from ailoop.store import shared
from ailoop.store.events import Event, Kind
from tests.report.conftest import ailoop, cli_env
from tests.report.report_store import REPO, fill, ten_weeks

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "store"))  # pg_cluster

from tests.store.conftest import database, pg_cluster, store_url  # noqa: F401 - fixtures
from tests.store.store_support import MODELS, OTHER_REPO, team_events

pytestmark = pytest.mark.postgres


def team(data_dir: Path, url: str, *args: str, cwd: Path) -> dict[str, object]:
    import subprocess

    env = {**cli_env(data_dir), "AILOOP_STORE_URL": url}
    result = subprocess.run(
        [sys.executable, "-m", "ailoop", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=180,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    out: dict[str, object] = json.loads(result.stdout) if result.stdout.startswith("{") else {}
    return out


def test_team_stages_and_report_equal_local(store_url: str, tmp_path: Path) -> None:  # noqa: F811
    data_dir = tmp_path / "data"
    rng = random.Random(3)
    events = [  # the team side counts per model too; the numbers shown stay per tool
        dataclasses.replace(e, model=rng.choice(MODELS))
        for e in ten_weeks(dt.datetime.now(dt.timezone.utc))
    ]
    fill(data_dir, events)
    team(data_dir, store_url, "sync", "--repo", REPO, cwd=tmp_path)
    local = json.loads(ailoop(data_dir, "stats", "--format", "json", cwd=tmp_path).stdout)
    shared = team(data_dir, store_url, "stats", "--team", "--format", "json", cwd=tmp_path)
    assert shared["stages"] == local["stages"]
    assert shared["overall"] == local["overall"]
    for by in ("tool", "model", "language", "week"):
        assert shared["by"][by] == local["by"][by], by  # type: ignore[index]
    assert {c["group"] for c in shared["by"]["model"]} == {m for m in MODELS if m}  # type: ignore[index]
    assert local["stages"]["merged"]["generated"] == 400
    # review verdicts count in the team's pattern numbers (pattern_daily, version 5) as locally
    assert [(p["pattern"], p["rejected"], p["accepted"]) for p in shared["top_patterns"]] == [  # type: ignore[attr-defined]
        (p["pattern"], p["rejected"], p["accepted"]) for p in local["top_patterns"]
    ]
    for repo in (REPO, "github.com/acme/elsewhere"):
        local_repo = json.loads(
            ailoop(data_dir, "stats", "--repo", repo, "--format", "json", cwd=tmp_path).stdout
        )
        team_repo = team(
            data_dir, store_url, "stats", "--team", "--repo", repo, "--format", "json", cwd=tmp_path
        )
        assert team_repo["stages"] == local_repo["stages"], repo
        assert team_repo["overall"] == local_repo["overall"], repo
    report = team(data_dir, store_url, "report", "--team", "--format", "json", cwd=tmp_path)
    local_report = json.loads(ailoop(data_dir, "report", "--format", "json", cwd=tmp_path).stdout)
    assert report["source"] == "team"
    for key in ("events", "overall", "stages", "funnel", "weekly_by_tool", "by_language"):
        assert report[key] == local_report[key], key
    for key in ("by_tool", "by_model", "weekly_by_model"):  # per model from the tool slice
        assert report[key] == local_report[key], key
    assert report["weekly_by_model"] != []
    # users are in clear in this store: no numbers per person
    assert report["per_user"] is False
    assert report["by_user"] == []
    assert local_report["by_user"] != []
    html = tmp_path / "team.html"
    team(data_dir, store_url, "report", "--team", "-o", str(html), cwd=tmp_path)
    page = html.read_text(encoding="utf-8")
    assert 'data-chart="users"' not in page
    assert 'data-chart="weekly"' in page
    assert "per person: not shown" in page


# --------------------------------------------------------------------------- the rollup's reader


def _push(url: str, events: Sequence[Event]) -> None:
    rows = [shared.shared_row(e, shared.Privacy()) for e in events]

    async def run() -> None:
        conn = await shared.connect_async(url, shared.Timeouts(statement=60))
        try:
            for start in range(0, len(rows), 200):
                await shared.push_rows(conn, rows[start : start + 200])
        finally:
            await conn.close()

    asyncio.run(run())


def _day(event: Event) -> dt.date:
    return shared.parse_ts(event.ts).astimezone(dt.timezone.utc).date()


Cut = dict[tuple[Any, ...], tuple[int, int]]


def _expected(
    events: Sequence[Event], since: dt.datetime | None = None, repo: str | None = None
) -> tuple[tuple[Cut, Cut, Cut], int]:
    """The three slices and the modified snippets the events give: whole UTC days from the
    day of ``since`` on, events of ``repo``."""
    first = since.astimezone(dt.timezone.utc).date() if since else None
    cuts: tuple[dict[tuple[Any, ...], list[int]], ...] = ({}, {}, {})
    modified = set()
    for e in events:
        if (first and _day(e) < first) or (repo is not None and e.repo != repo):
            continue
        rest = (e.kind, e.outcome or "", e.kind is Kind.REVIEWED and e.snippet == "")
        keys = (
            (e.tool, e.model or "", iso_week(_day(e).isoformat()), *rest),
            (e.language, *rest),
            (e.user, *rest),
        )
        for cut, key in zip(cuts, keys, strict=True):
            sums = cut.setdefault(key, [0, 0])
            sums[0] += 1
            sums[1] += e.lines
        if e.kind is Kind.MODIFIED:
            modified.add(e.snippet)
    tools, languages, users = ({k: (n, lines) for k, (n, lines) in c.items()} for c in cuts)
    return (tools, languages, users), len(modified)


def _cuts(slices: Slices) -> tuple[Cut, Cut, Cut]:
    def cut(groups: list[KindGroup], key: Any) -> Cut:
        out = {key(g): (g.count, g.lines) for g in groups}
        assert len(out) == len(groups)  # one group per key
        return out

    def rest(g: KindGroup) -> tuple[Any, ...]:
        return (g.kind, g.outcome, g.pr_level)

    return (
        cut(slices.tools, lambda g: (g.tool, g.model, g.week, *rest(g))),
        cut(slices.languages, lambda g: (g.language, *rest(g))),
        cut(slices.users, lambda g: (g.user, *rest(g))),
    )


def test_team_numbers_come_per_utc_day_repo_and_model(store_url: str) -> None:  # noqa: F811
    events = team_events(81, sizes=(400, 150), reviews=90)
    _push(store_url, events)
    # ``since`` an instant after an event of that UTC day: the whole day counts
    now = dt.datetime.now(dt.timezone.utc)
    anchor = next(
        e
        for e in events
        if shared.parse_ts(e.ts).hour < 23 and 10 < (now - shared.parse_ts(e.ts)).days < 20
    )
    since = shared.parse_ts(anchor.ts) + dt.timedelta(seconds=1)
    for window in (None, since, now - dt.timedelta(days=3), now + dt.timedelta(days=2)):
        for repo in (None, REPO, OTHER_REPO, "github.com/acme/nowhere"):
            slices, modified = team_kind_groups(store_url, since=window, repo=repo)
            cuts, expected_modified = _expected(events, window, repo)
            assert _cuts(slices) == cuts, (window, repo)
            assert modified == expected_modified, (window, repo)
    tools = _cuts(team_kind_groups(store_url)[0])[0]
    assert {key[1] for key in tools} == {m or "" for m in MODELS}
    # the events of one tool and week are in one group per model
    week = iso_week(_day(anchor).isoformat())
    per_model = {
        key[1]: n for key, (n, _) in tools.items() if key[0] == "copilot" and key[2] == week
    }
    assert len(per_model) == len(MODELS)
    assert sum(g.count for g in team_kind_groups(store_url, since=since)[0].tools) == sum(
        1 for e in events if _day(e) >= _day(anchor)
    )


#: Rows a superuser wrote into the rollup: (day, repo, tool, model, language, user, kind,
#: outcome, n, lines), each bad in all three slices, each its own group in the tool slice
#: (the last two together: their sum is too large for a bigint).
HOSTILE = [
    ("today", REPO, "evil\x1b[2J", "", "py\x1b", "ana\nroot", "accepted", "", 5, 10),
    ("today", REPO, "t" * 65, "", "l" * 65, "u" * 321, "accepted", "", 1, 1),
    ("today", REPO, "copilot", "gpt\u202e5", "python\u200b", "bob\u2066", "kept", "", 1, 1),
    ("today", REPO, "copilot", "m" * 251, "python\x7f", "bob\x85", "kept", "", 1, 1),
    ("today", REPO, "copilot", "", "python", "zed", "deleted", "", 1, 1),
    ("today", REPO, "cursor", "", "python", "zed", "reviewed", "pwned", 1, 1),
    ("infinity", REPO, "copilot", "", "python", "zed", "accepted", "", 1, 1),
    ("9999-12-31", REPO, "cursor", "", "python", "zed", "accepted", "", 1, 1),
    ("future", REPO, "claude-code", "", "python", "zed", "accepted", "", 1, 1),
    ("today", REPO, "claude-code", "", "python", "zed", "rejected", "", -3, 1),
    ("today", REPO, "claude-code", "", "python", "zed", "reverted", "", 1, -1),
    ("today", REPO, "huge", "", "huge", "huge", "accepted", "", 2**62, 1),
    ("today", "github.com/acme/huge", "huge", "", "huge", "huge", "accepted", "", 2**62, 1),
]


def test_rollup_rows_that_are_not_valid_are_skipped_with_one_warning(
    store_url: str,  # noqa: F811
    caplog: pytest.LogCaptureFixture,
) -> None:
    import psycopg

    events = team_events(83, sizes=(400, 150), reviews=90)
    _push(store_url, events)
    today = "(now() AT TIME ZONE 'UTC')::date"
    days = {"today": today, "future": f"{today} + 5"}
    days |= {"infinity": "'infinity'", "9999-12-31": "'9999-12-31'"}
    with psycopg.connect(store_url) as conn:  # the test cluster's superuser
        for day, *values in HOSTILE:
            conn.execute(
                "INSERT INTO ailoop.event_daily VALUES "
                f"({days[day]}, %s, %s, %s, %s, %s, %s, %s, false, %s, %s)",
                values,
            )
    with caplog.at_level(logging.WARNING, logger="ailoop.analytics.team"):
        slices, modified = team_kind_groups(store_url)
    cuts, expected_modified = _expected(events)
    assert _cuts(slices) == cuts
    assert modified == expected_modified
    warnings = [r for r in caplog.records if r.name == "ailoop.analytics.team"]
    assert len(warnings) == 1
    message = warnings[0].getMessage()
    # per tool-slice group: its events, or 1 when its count cannot be read
    assert "skipped 16 team events that are not valid" in message, message
    assert "\x1b" not in message
    assert "\u202e" not in message


def test_kind_group_problem_reads_a_row_of_the_slices_query() -> None:
    good = (0, 1, "copilot", "openai/gpt-5", None, None, dt.date(2026, 1, 5), "accepted", "")
    good += (False, True, Decimal(3), Decimal(40))
    assert kind_group_problem(good) is None
    by_language = (1, 0, None, None, "python", None, None, "kept", "", False, True, 2, 9)
    assert kind_group_problem(by_language) is None
    bad = {
        "not sane": {10: False},
        "no tool": {2: ""},
        "model with a control": {3: "gpt\x1b[2J"},
        "model too long": {3: "m" * 251},
        "kind": {7: "deleted"},
        "outcome": {8: "pwned"},
        "count not whole": {11: Decimal("2.5")},
        "count too large": {11: Decimal(2**63)},
        "negative lines": {12: Decimal(-1)},
        "count not a number": {11: None},
    }
    for name, changes in bad.items():
        row = list(good)
        for index, value in changes.items():
            row[index] = value
        assert kind_group_problem(row) is not None, name
