"""``ailoop check``, ``ailoop patterns`` and ``ailoop stats`` as real commands."""

from __future__ import annotations

import json
import subprocess
from pathlib import Path

import jsonschema
import pytest
from conftest import RunAiloop
from pattern_testkit import BARE_EXCEPT_SNIPPET, outcome, store_events

from ailoop.patterns import PatternSet
from ailoop.store.events import Event, Kind

SCHEMA = Path(__file__).resolve().parents[1] / "fixtures" / "sarif-schema-2.1.0.json"


def reject_bare_except_snippets(workspace: Path, data_dir: Path, count: int = 3) -> None:
    """Record ``count`` rejected AI snippets with a bare except, findings as an editor sees them."""
    patterns, problems = PatternSet.load(workspace)
    assert problems == []
    events = []
    for n in range(count):
        text = BARE_EXCEPT_SNIPPET.replace("load", f"load_{n}")
        findings = tuple(sorted({m.key for m in patterns.match(text, "python")}))
        assert findings == ("pattern:bare-except",)
        events.append(
            Event(
                kind=Kind.GENERATED,
                snippet=f"sha256:{n}",
                tool="copilot",
                language="python",
                lines=5,
                text=text,
                path="app.py",
            )
        )
        events.append(
            Event(
                kind=Kind.REJECTED,
                snippet=f"sha256:{n}",
                tool="copilot",
                language="python",
                lines=5,
                findings=findings,
                reason="bare except",
                path="app.py",
            )
        )
    events += [outcome(Kind.ACCEPTED, [], tool="copilot", language="python") for _ in range(4)]
    store_events(data_dir, events)


def test_three_rejections_make_check_report_the_pattern_with_count_3(
    workspace: Path, data_dir: Path, run_ailoop: RunAiloop
) -> None:
    reject_bare_except_snippets(workspace, data_dir)
    (workspace / "new.py").write_text(BARE_EXCEPT_SNIPPET, encoding="utf-8")
    result = run_ailoop("check", "new.py", cwd=workspace)
    assert result.returncode == 1, result.stderr
    assert (
        "new.py:4:1: error [pattern:bare-except] known rejection pattern: bare except — "
        "rejected 3× (3 in the last 7 days)"
    ) in result.stdout


def test_exit_codes(workspace: Path, data_dir: Path, run_ailoop: RunAiloop) -> None:
    (workspace / "clean.py").write_text("def f():\n    return 1\n", encoding="utf-8")
    (workspace / "new.py").write_text(BARE_EXCEPT_SNIPPET, encoding="utf-8")
    # no statistics yet: the match is a note and does not fail the check
    unsupported = run_ailoop("check", "new.py", cwd=workspace)
    assert unsupported.returncode == 0, unsupported.stderr
    assert "note [pattern:bare-except]" in unsupported.stdout
    assert run_ailoop("check", "--strict", "new.py", cwd=workspace).returncode == 1
    assert run_ailoop("check", "missing.py", cwd=workspace).returncode == 2
    assert run_ailoop("check", cwd=workspace).returncode == 2
    reject_bare_except_snippets(workspace, data_dir, count=2)  # below the minimum support
    assert run_ailoop("check", ".", cwd=workspace).returncode == 0
    reject_bare_except_snippets(workspace, data_dir, count=3)
    assert run_ailoop("check", "clean.py", cwd=workspace).returncode == 0
    assert run_ailoop("check", ".", cwd=workspace).returncode == 1


def test_enforced_pattern_fails_without_statistics(workspace: Path, run_ailoop: RunAiloop) -> None:
    path = workspace / ".ailoop" / "patterns.toml"
    path.write_text(path.read_text() + "enforce = true\n", encoding="utf-8")  # on eval-call
    (workspace / "a.py").write_text("eval(x)\n", encoding="utf-8")
    assert run_ailoop("check", "a.py", cwd=workspace).returncode == 1


def test_sarif_validates_against_the_schema(
    workspace: Path, data_dir: Path, run_ailoop: RunAiloop
) -> None:
    reject_bare_except_snippets(workspace, data_dir)
    src = workspace / "src dir"
    src.mkdir()
    (src / "new.py").write_text(BARE_EXCEPT_SNIPPET + "r = eval('😀')\n", encoding="utf-8")
    result = run_ailoop("check", "--format", "sarif", ".", cwd=workspace)
    assert result.returncode == 1, result.stderr
    log = json.loads(result.stdout)
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    validator_class = jsonschema.validators.validator_for(schema)
    validator_class.check_schema(schema)
    validator_class(schema).validate(log)
    run = log["runs"][0]
    assert [r["id"] for r in run["tool"]["driver"]["rules"]] == [
        "pattern:bare-except",
        "pattern:eval-call",
    ]
    by_rule = {r["ruleId"]: r for r in run["results"]}
    assert by_rule["pattern:bare-except"]["level"] == "error"
    assert by_rule["pattern:bare-except"]["properties"]["rejected"] == 3
    assert by_rule["pattern:eval-call"]["level"] == "note"
    location = by_rule["pattern:eval-call"]["locations"][0]["physicalLocation"]
    assert location["artifactLocation"]["uri"] == "src%20dir/new.py"
    assert location["region"] == {"startLine": 6, "startColumn": 5, "endLine": 6, "endColumn": 14}
    broken = json.loads(result.stdout)
    broken["runs"][0]["results"][0]["level"] = "fatal"
    with pytest.raises(jsonschema.ValidationError):
        validator_class(schema).validate(broken)


def test_json_output(workspace: Path, run_ailoop: RunAiloop) -> None:
    (workspace / "new.py").write_text(BARE_EXCEPT_SNIPPET, encoding="utf-8")
    result = run_ailoop("check", "--format", "json", "new.py", cwd=workspace)
    report = json.loads(result.stdout)
    [finding] = report["findings"]
    assert finding["code"] == "pattern:bare-except"
    assert finding["start"] == {"line": 4, "column": 1}
    assert finding["supported"] is False
    assert finding["stats"] is None


def test_diff_checks_only_added_lines(
    workspace: Path, data_dir: Path, run_ailoop: RunAiloop
) -> None:
    reject_bare_except_snippets(workspace, data_dir)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@example.com"]
    subprocess.run([*git, "init", "-q"], cwd=workspace, check=True)
    old = workspace / "old.py"
    old.write_text(BARE_EXCEPT_SNIPPET, encoding="utf-8")  # already committed: not reported
    subprocess.run([*git, "add", "old.py"], cwd=workspace, check=True)
    subprocess.run([*git, "commit", "-qm", "old"], cwd=workspace, check=True)
    old.write_text(BARE_EXCEPT_SNIPPET + "\nx = 1\n", encoding="utf-8")
    clean = subprocess.run(
        ["git", "diff"], cwd=workspace, capture_output=True, text=True, check=True
    )
    assert run_ailoop("check", "--diff", "-", cwd=workspace, stdin=clean.stdout).returncode == 0
    old.write_text(
        BARE_EXCEPT_SNIPPET + BARE_EXCEPT_SNIPPET.replace("load", "load2"), encoding="utf-8"
    )
    dirty = subprocess.run(
        ["git", "diff"], cwd=workspace, capture_output=True, text=True, check=True
    )
    result = run_ailoop("check", "--diff", "-", cwd=workspace, stdin=dirty.stdout)
    assert result.returncode == 1, result.stderr
    assert "old.py:9:1: error [pattern:bare-except]" in result.stdout
    assert "old.py:4:1" not in result.stdout
    # git quotes unusual names ("dir x/n\303\251.py"): the file is still found
    odd = workspace / "dir x" / "né.py"
    odd.parent.mkdir()
    odd.write_text(BARE_EXCEPT_SNIPPET, encoding="utf-8")
    subprocess.run([*git, "add", "-N", "dir x/né.py"], cwd=workspace, check=True)
    quoted = subprocess.run(
        ["git", "diff"], cwd=workspace, capture_output=True, text=True, check=True
    )
    assert '"b/dir x/n\\303\\251.py"' in quoted.stdout
    result = run_ailoop("check", "--diff", "-", cwd=workspace, stdin=quoted.stdout)
    assert "dir x/né.py:4:1: error [pattern:bare-except]" in result.stdout, result.stderr


def test_patterns_lists_numbers_and_reasons(
    workspace: Path, data_dir: Path, run_ailoop: RunAiloop
) -> None:
    reject_bare_except_snippets(workspace, data_dir)
    store_events(
        data_dir,
        [outcome(Kind.REJECTED, [], reason=r) for r in ("Hardcoded URL!", "hardcoded urls.", "x")],
    )
    result = run_ailoop("patterns", "--format", "json", cwd=workspace)
    assert result.returncode == 0, result.stderr
    listing = json.loads(result.stdout)
    first = listing["patterns"][0]
    assert first["key"] == "pattern:bare-except"
    assert (first["stats"]["rejected"], first["stats"]["supported"]) == (3, True)
    reasons = {r["key"]: r["count"] for r in listing["reasons"]}
    assert reasons == {"bare except": 3, "hardcoded url": 2}
    table = run_ailoop("patterns", cwd=workspace)
    assert "pattern:bare-except" in table.stdout
    assert "Hardcoded URL!" in table.stdout or "hardcoded urls." in table.stdout


def test_promote_turns_a_reason_into_a_pattern(
    workspace: Path, data_dir: Path, run_ailoop: RunAiloop
) -> None:
    store_events(
        data_dir,
        [
            outcome(Kind.REJECTED, [], reason=r)
            for r in ("Hardcoded URL!", "hardcoded urls.", "hardcoded url")
        ],
    )
    bad = run_ailoop(
        "patterns", "promote", "1", "--id", "hardcoded-url", "--regex", "(", cwd=workspace
    )
    assert bad.returncode == 2
    assert "invalid regex" in bad.stderr
    result = run_ailoop(
        "patterns",
        "promote",
        "1",
        "--id",
        "hardcoded-url",
        "--regex",
        r"https?://[^\s\"']+",
        "--fix",
        "read URLs from settings",
        cwd=workspace,
    )
    assert result.returncode == 0, result.stderr
    assert "3 rejection(s)" in result.stdout
    patterns, problems = PatternSet.load(workspace)
    assert problems == []
    assert patterns.get("hardcoded-url") is not None
    (workspace / "client.py").write_text('BASE = "https://api.example.com"\n', encoding="utf-8")
    check = run_ailoop("check", "client.py", cwd=workspace)
    assert check.returncode == 1, check.stdout + check.stderr
    assert (
        "[pattern:hardcoded-url] known rejection pattern: hardcoded url — rejected 3×"
        in check.stdout
    )


def test_stats_tables(workspace: Path, data_dir: Path, run_ailoop: RunAiloop) -> None:
    store_events(
        data_dir,
        [
            outcome(Kind.ACCEPTED, [], tool="copilot", language="python", user="ann"),
            outcome(Kind.KEPT, [], tool="copilot", language="python", user="ann"),
            outcome(
                Kind.REJECTED, ["pattern:bare-except"], tool="cursor", language="python", user="bob"
            ),
            outcome(Kind.REVERTED, [], tool="cursor", language="typescript", user="bob"),
            outcome(Kind.GENERATED, [], tool="codex", language="go", user="cy"),
        ],
    )
    result = run_ailoop("stats", "--format", "json", cwd=workspace)
    assert result.returncode == 0, result.stderr
    stats = json.loads(result.stdout)
    assert stats["overall"]["outcomes"] == 4
    assert stats["overall"]["rate"] == pytest.approx(0.5)
    tools = {row["group"]: row["rate"] for row in stats["by"]["tool"]}
    assert tools == {"copilot": 1.0, "cursor": 0.0}
    assert {row["group"] for row in stats["by"]["user"]} == {"ann", "bob"}
    table = run_ailoop("stats", cwd=workspace)
    assert "By tool" in table.stdout
    assert "By week" in table.stdout
    assert "copilot" in table.stdout


def test_pattern_settings_from_pyproject(
    workspace: Path, data_dir: Path, run_ailoop: RunAiloop
) -> None:
    (workspace / "pyproject.toml").write_text(
        "[tool.ailoop.patterns]\nmin_support = 1\nmin_lift = 'high'\n", encoding="utf-8"
    )
    reject_bare_except_snippets(workspace, data_dir, count=1)
    (workspace / "new.py").write_text(BARE_EXCEPT_SNIPPET, encoding="utf-8")
    result = run_ailoop("check", "new.py", cwd=workspace)
    assert result.returncode == 1, result.stdout + result.stderr
    assert "rejected 1×" in result.stdout
    assert "'min_lift' must be a number" in result.stderr


def test_promote_with_an_ast_grep_pattern(
    workspace: Path, data_dir: Path, run_ailoop: RunAiloop
) -> None:
    store_events(
        data_dir, [outcome(Kind.REJECTED, [], reason="Uses pickle.loads") for _ in range(2)]
    )
    no_language = run_ailoop(
        "patterns", "promote", "uses pickle.loads", "--id", "pickle", "--ast-grep",
        "pickle.loads($$$)", cwd=workspace,
    )  # fmt: skip
    assert no_language.returncode == 2
    assert "needs at least one known language" in no_language.stderr
    promoted = run_ailoop(
        "patterns", "promote", "uses pickle.loads", "--id", "pickle", "--ast-grep",
        "pickle.loads($$$)", "--language", "python", cwd=workspace,
    )  # fmt: skip
    assert promoted.returncode == 0, promoted.stderr
    assert "(2 rejection(s))" in promoted.stdout
    again = run_ailoop("patterns", "promote", "x", "--id", "pickle", "--regex", "x+", cwd=workspace)
    assert again.returncode == 2
    assert "exists already" in again.stderr
    (workspace / "load.py").write_text("import pickle\nobj = pickle.loads(blob)\n")
    result = run_ailoop("check", "--strict", "load.py", cwd=workspace)
    assert "load.py:2:7: error [pattern:pickle]" in result.stdout
