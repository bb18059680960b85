"""The rule experiment: which rules a session is shown, and each rule's measured effect.

The generated history has a known truth: in sessions shown ``pattern:helps`` its snippets
are rejected 30 % of the time against 60 % without it (odds ratio 0.286);
``pattern:idle`` changes nothing (45 % either way, odds ratio 1); ``pattern:harm`` raises
the rate from 30 % to 60 % (odds ratio 3.5).
"""

from __future__ import annotations

import datetime as dt
import json
import random
from pathlib import Path

import pytest
from conftest import RunAiloop
from pattern_testkit import store_events

from ailoop.capture.identity import snippet_id
from ailoop.patterns.experiment import (
    HELPS,
    HURTS,
    NO_EFFECT,
    NO_EFFECT_YET,
    ExperimentSettings,
    context_for_session,
    evaluate,
    session_context,
    withheld_fraction,
)
from ailoop.store.events import Context, Event, Kind

RULES = ("pattern:helps", "pattern:idle", "pattern:harm")
#: Rejection rate of the rule's snippets: (shown, withheld).
TRUTH = {"pattern:helps": (0.3, 0.6), "pattern:idle": (0.45, 0.45), "pattern:harm": (0.6, 0.3)}


def _odds(p: float) -> float:
    return p / (1 - p)


TRUE_ODDS_RATIO = {key: _odds(s) / _odds(w) for key, (s, w) in TRUTH.items()}


def test_the_split_is_deterministic_and_independent_of_the_other_rules() -> None:
    settings = ExperimentSettings()
    shown, withheld = context_for_session("s-42", RULES, settings)
    assert set(shown) | set(withheld) == set(RULES)
    assert not set(shown) & set(withheld)
    assert context_for_session("s-42", RULES, settings) == (shown, withheld)
    # each key's fate depends on the session and the key only
    for key in RULES:
        alone = context_for_session("s-42", [key, key], settings)
        assert alone == ((key,), ()) if key in shown else alone == ((), (key,))
    reordered = context_for_session("s-42", list(reversed(RULES)), settings)
    assert reordered == (tuple(reversed(shown)), tuple(reversed(withheld)))


def test_about_the_configured_share_of_sessions_is_withheld() -> None:
    for share in (0.2, 0.5):
        settings = ExperimentSettings(withhold=share)
        n = 5000
        withheld = sum(
            "pattern:helps" in context_for_session(f"session-{i}", RULES, settings)[1]
            for i in range(n)
        )
        assert abs(withheld / n - share) < 0.02
    # different keys are withheld in different sessions
    a = {i for i in range(2000) if withheld_fraction(f"s{i}", "pattern:helps") < 0.2}
    b = {i for i in range(2000) if withheld_fraction(f"s{i}", "pattern:idle") < 0.2}
    assert 0.1 < len(a & b) / len(a) < 0.3


def test_the_off_switch_and_a_missing_session_withhold_nothing() -> None:
    assert context_for_session("s", RULES, ExperimentSettings(enabled=False)) == (RULES, ())
    assert context_for_session("s", RULES, ExperimentSettings(withhold=0)) == (RULES, ())
    assert context_for_session("", RULES, ExperimentSettings()) == (RULES, ())
    assert session_context("", RULES, ExperimentSettings()) is None
    context = session_context("s-1", [*RULES, "not a key"], ExperimentSettings())
    assert context is not None
    assert set(context.shown) | set(context.withheld) == set(RULES)


def test_settings_are_checked() -> None:
    settings, problems = ExperimentSettings.from_mapping(
        {"enabled": "yes", "withhold": 0.9, "flagAfterSessions": 50, "colour": 1}
    )
    assert settings == ExperimentSettings(flag_after_sessions=50)
    assert len(problems) == 3
    assert any("'enabled' must be true or false" in p for p in problems)
    assert any("'withhold' must be a share between 0 and 0.5" in p for p in problems)
    assert any("'colour' is unknown" in p for p in problems)


def generated_history(
    sessions: int, seed: int, settings: ExperimentSettings, per_rule: int = 2
) -> list[Event]:
    """Sessions with ``per_rule`` snippets per rule, judged with the known truth."""
    rng = random.Random(seed)
    start = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=20)
    events: list[Event] = []
    for s in range(sessions):
        session = f"session-{seed}-{s}"
        shown, withheld = context_for_session(session, RULES, settings)
        context = Context(session, shown, withheld)
        when = start + dt.timedelta(minutes=5 * s)
        for key in RULES:
            rate = TRUTH[key][0 if key in shown else 1]
            for n in range(per_rule):
                text = f"value_{seed}_{s}_{key.partition(':')[2]}_{n} = compute({n})\n"
                snippet = snippet_id(text)
                stamp = when.isoformat(timespec="milliseconds").replace("+00:00", "Z")
                events.append(
                    Event(
                        kind=Kind.GENERATED,
                        snippet=snippet,
                        tool="claude-code",
                        findings=(key,),
                        text=text,
                        context=context,
                        ts=stamp,
                    )
                )
                verdict = Kind.REJECTED if rng.random() < rate else Kind.ACCEPTED
                events.append(
                    Event(
                        kind=verdict, snippet=snippet, tool="claude-code", findings=(key,), ts=stamp
                    )
                )
    return events


def test_evaluate_finds_the_known_truth() -> None:
    settings = ExperimentSettings()
    effects = {e.key: e for e in evaluate(generated_history(400, 1, settings), settings)}
    assert set(effects) == set(RULES)
    assert effects["pattern:helps"].verdict == HELPS
    assert effects["pattern:idle"].verdict == NO_EFFECT  # 400 sessions: flagged
    assert effects["pattern:harm"].verdict == HURTS
    assert effects["pattern:harm"].withdrawn
    assert not effects["pattern:helps"].withdrawn
    for key, effect in effects.items():
        assert effect.low < TRUE_ODDS_RATIO[key] < effect.high, key
        assert effect.sessions == 400
        assert 50 < effect.withheld.sessions < 110  # about 20 %


def test_too_few_sessions_give_no_verdict_yet() -> None:
    settings = ExperimentSettings(min_sessions=10)
    effects = evaluate(generated_history(30, 2, settings), settings)
    assert all(
        e.verdict == NO_EFFECT_YET
        for e in effects
        if min(e.shown.sessions, e.withheld.sessions) < 10
    )
    assert {e.verdict for e in evaluate([], settings)} == set()


def test_snippets_of_one_session_count_as_one_cluster() -> None:
    """When a session's snippets share their fate, the effective count is about the sessions."""
    settings = ExperimentSettings(withhold=0.5)
    events = []
    for s in range(40):
        session = f"c{s}"
        shown, withheld = context_for_session(session, ["pattern:helps"], settings)
        rejected = s % 2 == 0
        for n in range(10):
            snippet = snippet_id(f"x_{s}_{n} = 1\n")
            events.append(
                Event(
                    kind=Kind.GENERATED,
                    snippet=snippet,
                    findings=("pattern:helps",),
                    context=Context(session, shown, withheld),
                )
            )
            events.append(Event(kind=Kind.REJECTED if rejected else Kind.ACCEPTED, snippet=snippet))
    [effect] = evaluate(events, settings)
    for arm in (effect.shown, effect.withheld):
        assert arm.snippets == 10 * arm.sessions
        assert arm.effective <= arm.sessions * 1.2


def test_context_evaluate_through_the_cli(
    workspace: Path, data_dir: Path, run_ailoop: RunAiloop
) -> None:
    (workspace / ".ailoop.toml").write_text(
        "[context.experiment]\nflag_after_sessions = 300\n", encoding="utf-8"
    )
    settings = ExperimentSettings()
    history = generated_history(400, 7, settings)
    # AI snippets with none of the rules, mostly accepted: the rules stand out and are supported
    stamp = history[0].ts  # in the same period as the sessions
    for i in range(3000):
        snippet = snippet_id(f"plain_{i} = {i}\n")
        verdict = Kind.REJECTED if i % 20 == 0 else Kind.ACCEPTED
        history.append(Event(kind=Kind.GENERATED, snippet=snippet, ts=stamp))
        history.append(Event(kind=verdict, snippet=snippet, ts=stamp))
    store_events(data_dir, history)
    before = run_ailoop("context", cwd=workspace)
    assert before.returncode == 0, before.stderr
    assert all(f"`{key}`" in before.stdout for key in RULES)

    done = run_ailoop("context", "evaluate", "--format", "json", cwd=workspace)
    assert done.returncode == 0, done.stderr
    answer = json.loads(done.stdout)
    rules = {r["key"]: r for r in answer["rules"]}
    assert {k: r["verdict"] for k, r in rules.items()} == {
        "pattern:helps": HELPS,
        "pattern:idle": NO_EFFECT,
        "pattern:harm": HURTS,
    }
    for key, rule in rules.items():
        low, high = rule["interval"]
        assert low < TRUE_ODDS_RATIO[key] < high, key
        assert rule["sessions"] == 400
        assert rule["shown"]["sessions"] + rule["withheld"]["sessions"] == 400
    assert answer["newly_withdrawn"] == ["pattern:harm"]
    recorded = json.loads((workspace / ".ailoop" / "context-withdrawn.json").read_text())
    assert list(recorded["withdrawn"]) == ["pattern:harm"]

    after = run_ailoop("context", cwd=workspace)
    assert after.returncode == 0, after.stderr
    assert "`pattern:helps`" in after.stdout
    assert "`pattern:harm`" not in after.stdout

    table = run_ailoop("context", "evaluate", cwd=workspace)
    assert table.returncode == 0, table.stderr
    lines = {
        line.split()[0]: line for line in table.stdout.splitlines() if line.startswith("pattern:")
    }
    assert "helps" in lines["pattern:helps"]
    assert "hurts (withdrawn)" in lines["pattern:harm"]
    assert "no effect after 300 sessions: pattern:idle" in table.stdout
    again = json.loads(run_ailoop("context", "evaluate", "--format", "json", cwd=workspace).stdout)
    assert again["newly_withdrawn"] == []


@pytest.mark.parametrize("setting", ["enabled = false", "withhold = 0"])
def test_the_off_switch_is_read_from_the_workspace(
    workspace: Path, data_dir: Path, run_ailoop: RunAiloop, setting: str
) -> None:
    from ailoop.patterns.experiment import read_settings

    (workspace / ".ailoop.toml").write_text(f"[context.experiment]\n{setting}\n", encoding="utf-8")
    settings, problems = read_settings(workspace)
    assert problems == []
    assert context_for_session("any", RULES, settings) == (RULES, ())
