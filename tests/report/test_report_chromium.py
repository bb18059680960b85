"""The HTML report in headless Chromium with the network off: it loads, without console
errors or requests, every chart is there and drawn, and its numbers are the statistics'.

Chromium and playwright-core come from the editor kit (``scripts/setup-vscode.sh``), as
in the VS Code tests; screenshots go to ``test-artifacts/report/``.
"""

from __future__ import annotations

import datetime as dt
import json
import subprocess
from pathlib import Path
from typing import Any

import pytest

from ailoop.store.events import Event, Kind
from tests.report.conftest import ARTIFACTS, ailoop, stats_json
from tests.report.report_store import HOSTILE_TOOL, REPO, fill, snippet_id, ten_weeks
from tests.vscode.vscode_harness import EditorKit, find_kit

pytestmark = pytest.mark.editors

RENDER = Path(__file__).with_name("render.mjs")
CHARTS = {
    "weekly",
    "funnel",
    "patterns",
    "pattern-trend",
    "context",
    "weekly-model",
    "languages",
    "users",
}


@pytest.fixture(scope="module")
def kit() -> EditorKit:
    return find_kit()


def render(kit: EditorKit, page: Path, name: str) -> dict[str, Any]:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    result = subprocess.run(
        [
            str(kit.node),
            str(RENDER),
            "--file",
            str(page),
            "--screenshot",
            str(ARTIFACTS / f"{name}.png"),
            "--playwright",
            str(kit.playwright_dir),
            "--chromium",
            str(kit.chromium),
        ],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.returncode == 0, result.stderr
    seen: dict[str, Any] = json.loads(result.stdout)
    (ARTIFACTS / f"{name}.json").write_text(json.dumps(seen, indent=2))
    assert seen["loaded"]
    assert seen["console"] == []
    assert seen["pageErrors"] == []
    assert seen["requests"] == []  # nothing but the file itself
    assert seen["scripts"] == 0
    assert seen["images"] == 0
    assert "default-src 'none'" in seen["csp"]
    return seen


def build(data_dir: Path, tmp_path: Path) -> Path:
    out = tmp_path / "report.html"
    ailoop(data_dir, "report", "-o", str(out), cwd=tmp_path)
    return out


def one(stats: dict[str, Any], key: str) -> int:
    values = stats[key]
    assert len(set(values)) == 1, (key, values)
    return int(values[0])


def test_ten_weeks_report_in_chromium(kit: EditorKit, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    now = dt.datetime.now(dt.timezone.utc)
    fill(data_dir, ten_weeks(now))
    changes = [
        {"at": (now - dt.timedelta(days=days)).isoformat(), "rules": ["ruff:E722"]}
        for days in (40, 18)
    ]
    (tmp_path / ".ailoop").mkdir()
    (tmp_path / ".ailoop" / "context-state.json").write_text(json.dumps({"history": changes}))
    seen = render(kit, build(data_dir, tmp_path), "ten-weeks")
    expected = stats_json(data_dir, tmp_path)
    data = json.loads(ailoop(data_dir, "report", "--format", "json", cwd=tmp_path).stdout)
    assert seen["tooFew"] is None
    charts = {c["name"]: c for c in seen["charts"]}
    assert set(charts) == CHARTS
    for chart in charts.values():
        assert chart["width"] > 200, chart["name"]
        assert chart["height"] > 80, chart["name"]
        assert chart["marks"] > 20, chart["name"]
        assert chart["caption"]
    # counts are labels on the charts
    funnel_texts = set(charts["funnel"]["texts"])
    assert str(expected["stages"]["editor"]["accepted"]) in funnel_texts
    assert str(expected["stages"]["merged"]["merged"]) in funnel_texts
    first = expected["top_patterns"][0]
    assert any(t.startswith(f"{first['rejected']}× rejected") for t in charts["patterns"]["texts"])
    # the numbers on the page are those of ailoop stats --format json
    stats = seen["stats"]
    assert one(stats, "overall.outcomes") == expected["overall"]["outcomes"]
    for stage in ("editor", "review", "merged"):
        for key, value in expected["stages"][stage].items():
            if isinstance(value, int) and f"stages.{stage}.{key}" in stats:
                assert one(stats, f"stages.{stage}.{key}") == value, (stage, key)
    editor = expected["stages"]["editor"]
    assert one(stats, "stages.editor.accepted+kept") == editor["accepted"] + editor["kept"]
    assert one(stats, "stages.editor.lines.outcomes") == editor["lines"]["outcomes"]
    assert one(stats, "stages.review.verdicts") == expected["stages"]["review"]["verdicts"]
    assert one(stats, "stages.merged.generated") == expected["stages"]["merged"]["generated"]
    for row in expected["by"]["tool"]:
        for key in ("outcomes", "accepted", "kept", "rejected", "reverted"):
            assert one(stats, f"by.tool[{row['group']}].{key}") == row[key]
    for row in expected["by"]["model"]:
        for key in ("outcomes", "accepted", "kept", "rejected", "reverted"):
            assert one(stats, f"by.model[{row['group']}].{key}") == row[key]
    assert len(data["context_changes"]) == 2
    for i, change in enumerate(data["context_changes"]):
        for side in ("before", "after"):
            for key in ("accepted", "outcomes"):
                assert one(stats, f"context_changes[{i}].{side}.{key}") == change[side][key]
    assert sum("context: 1 rule(s)" in t for t in charts["context"]["texts"]) == 2
    for pattern in expected["top_patterns"]:
        assert one(stats, f"top_patterns[{pattern['pattern']}].rejected") == pattern["rejected"]
        assert one(stats, f"top_patterns[{pattern['pattern']}].accepted") == pattern["accepted"]
    # a name from the store is shown as text, not markup
    assert HOSTILE_TOOL in seen["bodyText"]


def test_empty_store_page(kit: EditorKit, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    seen = render(kit, build(data_dir, tmp_path), "empty")
    assert seen["charts"] == []
    assert seen["tooFew"] is not None
    assert seen["tooFew"].startswith("0 events so far")
    assert one(seen["stats"], "overall.outcomes") == 0


def test_one_event_page(kit: EditorKit, tmp_path: Path) -> None:
    data_dir = tmp_path / "data"
    fill(data_dir, [Event(kind=Kind.GENERATED, snippet=snippet_id(1), tool="copilot", repo=REPO)])
    seen = render(kit, build(data_dir, tmp_path), "one-event")
    assert seen["charts"] == []
    assert seen["tooFew"] is not None
    assert seen["tooFew"].startswith("1 event so far")
    assert one(seen["stats"], "events") == 1
    assert one(seen["stats"], "stages.merged.generated") == 1
