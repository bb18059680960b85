"""The per-stage numbers and the report from the team's shared store equal the local ones."""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

import pytest

from tests.report.conftest import ailoop, cli_env
from tests.report.report_store import REPO, fill, ten_weeks

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "store"))  # pg_cluster

from tests.store.conftest import database, pg_cluster, store_url  # noqa: F401 - fixtures

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
    fill(data_dir, ten_weeks(dt.datetime.now(dt.timezone.utc)))
    team(data_dir, store_url, "sync", "--repo", REPO, cwd=tmp_path)
    local = json.loads(ailoop(data_dir, "stats", "--format", "json", cwd=tmp_path).stdout)
    shared = team(data_dir, store_url, "stats", "--team", "--format", "json", cwd=tmp_path)
    assert shared["stages"] == local["stages"]
    assert shared["overall"] == local["overall"]
    assert shared["by"]["tool"] == local["by"]["tool"]  # type: ignore[index]
    # review verdicts count in the team's pattern numbers (pattern_daily, version 5) as locally
    assert [(p["pattern"], p["rejected"], p["accepted"]) for p in shared["top_patterns"]] == [  # type: ignore[attr-defined]
        (p["pattern"], p["rejected"], p["accepted"]) for p in local["top_patterns"]
    ]
    report = team(data_dir, store_url, "report", "--team", "--format", "json", cwd=tmp_path)
    local_report = json.loads(ailoop(data_dir, "report", "--format", "json", cwd=tmp_path).stdout)
    assert report["source"] == "team"
    for key in ("events", "overall", "stages", "funnel", "weekly_by_tool", "by_language"):
        assert report[key] == local_report[key], key
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
