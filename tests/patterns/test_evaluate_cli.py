"""``ailoop patterns evaluate`` and the odds-ratio column of ``ailoop patterns``, end to end."""

from __future__ import annotations

import json
from pathlib import Path

from conftest import RunAiloop
from pattern_testkit import outcome, store_events

from ailoop.patterns.simulate import Scenario, simulate
from ailoop.store.events import Kind


def store_simulated(data_dir: Path, scenario: Scenario) -> None:
    sim = simulate(scenario)
    store_events(
        data_dir,
        [
            outcome(Kind.REJECTED if o.rejected else Kind.ACCEPTED, o.findings, o.at)
            for o in sim.outcomes
        ],
    )


def test_evaluate_reports_the_held_out_figures(
    workspace: Path, data_dir: Path, run_ailoop: RunAiloop
) -> None:
    store_simulated(data_dir, Scenario(outcomes=2000, noise=10, seed=3))
    result = run_ailoop("patterns", "evaluate", "--format", "json", cwd=workspace)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert (report["training"], report["held_out"]) == (1400, 600)
    assert report["problem"] is None
    overall = report["overall"]
    assert overall["rejected"] + overall["accepted"] == 600
    assert overall["lift_low"] <= overall["lift"] <= overall["lift_high"]
    assert any(k.startswith("sim:planted-") for k in report["supported"])
    text = run_ailoop("patterns", "evaluate", "--holdout", "0.25", cwd=workspace)
    assert text.returncode == 0, text.stderr
    assert "checked on the newest 500 (25% held out)" in text.stdout
    assert "Rejections flagged:" in text.stdout
    assert "Acceptances flagged:" in text.stdout
    assert "Lift (90% interval):" in text.stdout
    listing = run_ailoop("patterns", cwd=workspace)
    assert "odds ratio (90%)" in listing.stdout
    numbers = json.loads(run_ailoop("patterns", "--format", "json", cwd=workspace).stdout)
    first = numbers["patterns"][0]["stats"]
    assert first["lift_low"] <= first["odds_ratio"] == first["lift"] <= first["lift_high"]


def test_evaluate_on_a_small_store_says_why_not(
    workspace: Path, data_dir: Path, run_ailoop: RunAiloop
) -> None:
    store_events(data_dir, [outcome(Kind.REJECTED, ["ruff:E722"]) for _ in range(3)])
    result = run_ailoop("patterns", "evaluate", cwd=workspace)
    assert result.returncode == 1
    assert result.stdout == ""
    assert "the store has 3 outcome(s)" in result.stderr
    as_json = run_ailoop("patterns", "evaluate", "--format", "json", cwd=workspace)
    assert as_json.returncode == 1
    assert "needs at least" in json.loads(as_json.stdout)["problem"]
    listing = run_ailoop("patterns", cwd=workspace)
    assert "cold start" in listing.stdout
    bad = run_ailoop("patterns", "evaluate", "--holdout", "1.5", cwd=workspace)
    assert bad.returncode == 2
    assert "expected a number between 0 and 1" in bad.stderr
