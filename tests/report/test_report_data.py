"""``ailoop report --format json`` and the per-stage numbers of ``ailoop stats``.

The store is filled through the store API with a known mix over ten weeks; the expected
numbers are counted here from the same event list, independently of the statistics code.
"""

from __future__ import annotations

import datetime as dt
import json
from collections import Counter
from pathlib import Path

import pytest

from ailoop.store.events import Event, Kind
from tests.report.conftest import ailoop, stats_json
from tests.report.report_store import HOSTILE_TOOL, fill, ten_weeks

EDITOR = {Kind.ACCEPTED, Kind.KEPT, Kind.REJECTED, Kind.REVERTED}


@pytest.fixture(scope="module")
def store(tmp_path_factory: pytest.TempPathFactory) -> tuple[Path, list[Event]]:
    data_dir = tmp_path_factory.mktemp("report-data")
    events = ten_weeks(dt.datetime.now(dt.timezone.utc))
    fill(data_dir, events)
    return data_dir, events


def test_stats_json_has_stages_counted_apart(
    store: tuple[Path, list[Event]], tmp_path: Path
) -> None:
    data_dir, events = store
    stats = stats_json(data_dir, tmp_path)
    kinds = Counter(e.kind for e in events)
    editor = stats["stages"]["editor"]
    for kind in EDITOR:
        assert editor[kind.value] == kinds[kind]
    assert editor["outcomes"] == sum(kinds[k] for k in EDITOR) == stats["overall"]["outcomes"]
    lines = {k: sum(e.lines for e in events if e.kind is k) for k in EDITOR}
    assert editor["lines"]["outcomes"] == sum(lines.values())
    assert editor["lines"]["rate"] == pytest.approx(
        (lines[Kind.ACCEPTED] + lines[Kind.KEPT]) / sum(lines.values())
    )
    reviews = Counter(e.outcome for e in events if e.kind is Kind.REVIEWED and e.snippet)
    review = stats["stages"]["review"]
    assert (review["approved"], review["changes_requested"], review["commented"]) == (
        reviews["approved"],
        reviews["changes_requested"],
        reviews["commented"],
    )
    assert review["rejected"] == reviews["closed"] > 0
    assert review["events"] == sum(
        reviews[o] for o in ("approved", "changes_requested", "commented", "closed")
    )
    assert (
        review["verdicts"] == reviews["approved"] + reviews["changes_requested"] + reviews["closed"]
    )
    assert review["pr_level"] == sum(1 for e in events if e.kind is Kind.REVIEWED and not e.snippet)
    merged = stats["stages"]["merged"]
    assert merged["merged"] == reviews["merged"] > 0
    assert merged["generated"] == kinds[Kind.GENERATED]
    assert merged["rate"] == pytest.approx(reviews["merged"] / kinds[Kind.GENERATED])
    # the keys stats gave before are all still there
    assert {"overall", "by", "top_patterns"} <= stats.keys()
    assert set(stats["by"]) == {"tool", "language", "user", "week", "model"}


def test_report_json_equals_stats(store: tuple[Path, list[Event]], tmp_path: Path) -> None:
    data_dir, events = store
    stats = stats_json(data_dir, tmp_path)
    data = json.loads(ailoop(data_dir, "report", "--format", "json", cwd=tmp_path).stdout)
    assert data["overall"] == stats["overall"]
    assert data["stages"] == stats["stages"]
    assert data["events"] == len(events)
    assert [(r["group"], r["outcomes"], r["rate"]) for r in data["by_tool"]] == [
        (r["group"], r["outcomes"], r["rate"]) for r in stats["by"]["tool"]
    ]
    assert [p["pattern"] for p in data["top_patterns"]] == [
        p["pattern"] for p in stats["top_patterns"]
    ]
    for chart, listed in zip(data["top_patterns"], stats["top_patterns"], strict=True):
        assert chart["rejected"] == listed["rejected"]
        assert chart["interval"] == [listed["lift_low"], listed["lift_high"]]
        # the weekly trend adds up to the pattern's own numbers
        assert sum(w["rejected"] for w in chart["weeks"]) == listed["rejected"]
        assert sum(w["accepted"] for w in chart["weeks"]) == listed["accepted"]
    funnel = {s["step"]: s["count"] for s in data["funnel"]}
    assert funnel["generated"] == sum(1 for e in events if e.kind is Kind.GENERATED)
    assert funnel["modified"] == len({e.snippet for e in events if e.kind is Kind.MODIFIED})
    assert funnel["merged"] == stats["stages"]["merged"]["merged"]
    weekly = data["weekly_by_tool"]
    assert sum(r["outcomes"] for r in weekly) == stats["overall"]["outcomes"]
    assert len({r["week"] for r in weekly}) >= 10
    assert HOSTILE_TOOL in {r["group"] for r in weekly}
    assert data["per_user"] is True
    assert "context_changes" in data["not_recorded"]  # no change recorded in this workspace
    assert data["context_changes"] == []
    assert "models" not in data["not_recorded"]


def test_acceptance_per_model_counts_the_snippets_whose_tool_said(
    store: tuple[Path, list[Event]], tmp_path: Path
) -> None:
    data_dir, events = store
    stats = stats_json(data_dir, tmp_path)
    data = json.loads(ailoop(data_dir, "report", "--format", "json", cwd=tmp_path).stdout)
    expected: dict[str, Counter[Kind]] = {}
    lines: dict[str, list[int]] = {}
    for e in events:
        if e.kind in EDITOR and e.model:
            expected.setdefault(e.model, Counter())[e.kind] += 1
            taken = lines.setdefault(e.model, [0, 0])
            taken[0] += e.lines if e.kind in (Kind.ACCEPTED, Kind.KEPT) else 0
            taken[1] += e.lines
    assert set(expected) == {"anthropic/claude-sonnet-4-5", "openai/gpt-5"}
    by_model = {r["group"]: r for r in stats["by"]["model"]}
    assert set(by_model) == set(expected)  # snippets without a model are in no row
    for model, kinds in expected.items():
        row = by_model[model]
        assert (row["accepted"], row["kept"], row["rejected"], row["reverted"]) == (
            kinds[Kind.ACCEPTED],
            kinds[Kind.KEPT],
            kinds[Kind.REJECTED],
            kinds[Kind.REVERTED],
        )
    report_rows = {r["group"]: r for r in data["by_model"]}
    for model, (accepted_lines, total_lines) in lines.items():
        assert report_rows[model]["outcomes"] == by_model[model]["outcomes"]
        assert (report_rows[model]["lines_accepted"], report_rows[model]["lines_outcomes"]) == (
            accepted_lines,
            total_lines,
        )
    weekly = data["weekly_by_model"]
    assert {r["group"] for r in weekly} == set(expected)
    assert sum(r["outcomes"] for r in weekly) == sum(sum(k.values()) for k in expected.values())
    # per tool, every snippet counts, with or without a model
    assert sum(r["outcomes"] for r in data["weekly_by_tool"]) == stats["overall"]["outcomes"]


def _week(ts: str) -> tuple[int, int]:
    year, week, _ = dt.datetime.fromisoformat(ts.replace("Z", "+00:00")).isocalendar()
    return year, week


def _weeks_from(ts: str, offsets: range) -> list[tuple[int, int]]:
    moment = dt.datetime.fromisoformat(ts.replace("Z", "+00:00"))
    return [_week((moment + dt.timedelta(weeks=k)).isoformat()) for k in offsets]


def test_acceptance_before_and_after_each_context_change(
    store: tuple[Path, list[Event]], tmp_path: Path
) -> None:
    data_dir, events = store
    now = dt.datetime.now(dt.timezone.utc)
    first = (now - dt.timedelta(days=45)).isoformat(timespec="milliseconds")
    second = (now - dt.timedelta(days=17)).isoformat(timespec="milliseconds")  # 4 weeks on
    state = tmp_path / ".ailoop" / "context-state.json"
    state.parent.mkdir()
    history = [
        {"at": second, "rules": ["ruff:E722", "pattern:bare-except"]},
        {"at": first, "rules": ["ruff:E722", "not a key", 7]},
        {"at": "yesterday", "rules": []},  # the file is data: not a time, left out
        "junk",
    ]
    state.write_text(json.dumps({"shown": 2, "digest": "d", "history": history}))
    data = json.loads(ailoop(data_dir, "report", "--format", "json", cwd=tmp_path).stdout)
    assert "context_changes" not in data["not_recorded"]
    changes = data["context_changes"]
    assert [c["at"] for c in changes] == [first, second]  # oldest first
    assert [c["rules"] for c in changes] == [["ruff:E722"], ["ruff:E722", "pattern:bare-except"]]

    def window(weeks: list[tuple[int, int]]) -> tuple[int, int]:
        outcomes = [e for e in events if e.kind in EDITOR and _week(e.ts) in weeks]
        return (
            sum(1 for e in outcomes if e.kind in (Kind.ACCEPTED, Kind.KEPT)),
            len(outcomes),
        )

    # the first change: four whole weeks before; after, up to the second change's week
    second_week = _week(second)
    after_first = [w for w in _weeks_from(first, range(1, 5)) if w < second_week]
    assert len(after_first) == 3
    expected = {
        0: (window(_weeks_from(first, range(-4, 0))), window(after_first)),
        1: (
            window([w for w in _weeks_from(second, range(-4, 0)) if w > _week(first)]),
            window([w for w in _weeks_from(second, range(1, 5)) if w <= _week(now.isoformat())]),
        ),
    }
    for i, (before, after) in expected.items():
        got = changes[i]
        assert (got["before"]["accepted"], got["before"]["outcomes"]) == before, i
        assert (got["after"]["accepted"], got["after"]["outcomes"]) == after, i
        assert got["before"]["outcomes"] > 0, i
        assert got["before"]["rate"] == pytest.approx(before[0] / before[1])
    # weeks to come are not listed: the last one after the second change is this week
    assert changes[1]["after"]["weeks"][-1] == "{}-W{:02d}".format(*_week(now.isoformat()))


def test_report_since_and_repo_narrow(store: tuple[Path, list[Event]], tmp_path: Path) -> None:
    data_dir, events = store
    data = json.loads(
        ailoop(data_dir, "report", "--format", "json", "--since", "14", cwd=tmp_path).stdout
    )
    start = (dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=14)).isoformat()
    recent = [e for e in events if e.kind in EDITOR and e.ts >= start[:19]]
    assert abs(data["overall"]["outcomes"] - len(recent)) <= 2  # the clock moved on a little
    assert data["overall"]["outcomes"] < sum(1 for e in events if e.kind in EDITOR)
    other = json.loads(
        ailoop(data_dir, "report", "--format", "json", "--repo", "elsewhere", cwd=tmp_path).stdout
    )
    assert other["events"] == 0


def test_report_html_written_escaped(store: tuple[Path, list[Event]], tmp_path: Path) -> None:
    data_dir, _ = store
    out = tmp_path / "r.html"
    ailoop(data_dir, "report", "-o", str(out), cwd=tmp_path)
    page = out.read_text(encoding="utf-8")
    assert "<script" not in page.lower()
    assert "<img" not in page.lower()
    assert "&lt;img src=x onerror=" in page
    assert "Content-Security-Policy" in page
    assert "http://" not in page.replace('xmlns="http://www.w3.org/2000/svg"', "").replace(
        'xmlns:xlink="http://www.w3.org/1999/xlink"', ""
    )


def test_missing_vl_convert_says_how_to_install(
    store: tuple[Path, list[Event]], tmp_path: Path
) -> None:
    import subprocess
    import sys

    from tests.report.conftest import cli_env

    data_dir, _ = store
    code = (
        "import sys; sys.modules['vl_convert'] = None\n"  # as if it were not installed
        "from ailoop.cli import main\n"
        "sys.exit(main(sys.argv[1:]))\n"
    )
    out = tmp_path / "r.html"
    result = subprocess.run(
        [sys.executable, "-c", code, "report", "-o", str(out)],
        cwd=tmp_path,
        env=cli_env(data_dir),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 2
    assert f"{sys.executable} -m pip install 'vl-convert-python>=1.6'" in result.stderr
    assert not out.exists()
    # the chart data needs no charting library
    result = subprocess.run(
        [sys.executable, "-c", code, "report", "--format", "json", "-o", "-"],
        cwd=tmp_path,
        env=cli_env(data_dir),
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    assert json.loads(result.stdout)["events"] > 0
