"""The editor-facing pattern feedback: findings with the team's numbers, stats off the path."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

from pattern_testkit import BARE_EXCEPT_SNIPPET, outcome, store_events

from ailoop.patterns.feedback import PatternFeedback
from ailoop.store.events import Kind


def test_three_rejections_give_a_new_snippet_the_pattern_with_count_3(
    workspace: Path, data_dir: Path
) -> None:
    feedback = PatternFeedback(workspace, data_dir)
    assert feedback.reload({}) == []
    keys = feedback.keys_in(BARE_EXCEPT_SNIPPET, "python")
    assert keys == ("pattern:bare-except",)
    store_events(data_dir, [outcome(Kind.REJECTED, keys, tool="copilot") for _ in range(3)])
    snippet = BARE_EXCEPT_SNIPPET + "value = eval(text)\n"
    assert feedback.findings(snippet, "python") == []  # no statistics computed yet
    feedback.refresh_stats(dt.datetime.now(dt.timezone.utc))
    [finding] = feedback.findings(snippet, "python")
    assert finding.code == "pattern:bare-except"
    assert finding.message == (
        "known rejection pattern: bare except — rejected 3× (3 in the last 7 days)"
    )
    assert finding.severity == 2
    assert (finding.start, finding.end) == ((3, 0), (3, 11))


def test_regex_and_ast_grep_patterns_both_fire_with_support(
    workspace: Path, data_dir: Path
) -> None:
    feedback = PatternFeedback(workspace, data_dir)
    feedback.reload({"min_support": 2})
    both = ("pattern:bare-except", "pattern:eval-call")
    store_events(data_dir, [outcome(Kind.REJECTED, both) for _ in range(2)])
    feedback.refresh_stats()
    codes = [f.code for f in feedback.findings(BARE_EXCEPT_SNIPPET + "eval(x)\n", "python")]
    assert codes == ["pattern:bare-except", "pattern:eval-call"]


def test_rule_notes_and_team_stats(workspace: Path, data_dir: Path) -> None:
    feedback = PatternFeedback(workspace, data_dir)
    feedback.reload(None)
    store_events(data_dir, [outcome(Kind.REJECTED, ["ruff:BLE001"]) for _ in range(4)])
    feedback.refresh_stats()
    assert feedback.rule_note("ruff:BLE001") == (
        "known rejection pattern: ruff:BLE001 — rejected 4× (4 in the last 7 days)"
    )
    assert feedback.rule_note("ruff:F401") is None
    feedback.set_stats({})
    assert feedback.rule_note("ruff:BLE001") is None


def test_a_broken_patterns_file_reports_and_keeps_the_rest(workspace: Path) -> None:
    path = workspace / ".ailoop" / "patterns.toml"
    path.write_text(path.read_text() + '\n[[pattern]]\nid = "bad"\nregex = "("\n')
    feedback = PatternFeedback(workspace)
    [problem] = feedback.reload({"min_support": "many"})[:1]
    assert problem.startswith(f"{path}: pattern 'bad': invalid regex")
    assert feedback.keys_in("eval(x)", "python") == ("pattern:eval-call",)
