"""What the hook tells the agent: findings on the inserted lines, with the team's numbers."""

from __future__ import annotations

import json
import sys
from pathlib import Path

from ailoop.hooks.engines import find_ruff
from ailoop.store.events import Event, Kind, Source
from ailoop.store.local import LocalStore
from tests.conftest import ailoop, require
from tests.hooks.hook_testkit import RunHook, apply_tool, events, load_payload

BARE_EXCEPT = """[[pattern]]
id = "bare-except"
title = "bare except"
fix = "name the exception, e.g. `except ValueError:`"
languages = ["python"]
regex = '^\\s*except\\s*:'
"""


def seed_rejections(data_dir: Path, key: str, count: int = 3) -> None:
    """Store ``count`` rejected snippets that had ``key``: the team's history."""
    store = LocalStore.open(data_dir)
    try:
        for n in range(count):
            snippet = f"sha256:{n:064x}"
            common = {"snippet": snippet, "tool": "claude-code", "repo": "r", "path": "p.py"}
            store.append(
                [
                    Event(Kind.GENERATED, source=Source.HOOK, findings=(key,), **common),
                    Event(Kind.REJECTED, findings=(key,), **common),
                ]
            )
    finally:
        store.close()


def context_of(stdout: bytes) -> str:
    """The ``additionalContext`` of Claude Code hook output."""
    output = json.loads(stdout)
    assert output["hookSpecificOutput"]["hookEventName"] == "PostToolUse"
    context: str = output["hookSpecificOutput"]["additionalContext"]
    return context


def edit(project: Path) -> dict[str, object]:
    payload = load_payload("claude-code-edit.json", project)
    apply_tool(payload, project)
    return payload


def test_engine_findings_on_inserted_lines_with_file_line_numbers(
    project: Path, run_hook: RunHook
) -> None:
    require(find_ruff(None) is not None, "ruff is not installed beside Python or on PATH")
    (project / "shop" / "orders.py").write_text(
        "import os\n" + (project / "shop" / "orders.py").read_text(encoding="utf-8"),
        encoding="utf-8",
    )  # an unused import that was there before: not the agent's, not reported
    payload = load_payload("claude-code-edit.json", project)
    apply_tool(payload, project)
    done = run_hook("claude-code", payload, project)
    assert done.returncode == 0, done.stderr
    context = context_of(done.stdout)
    assert "shop/orders.py" in context
    assert "line 13: ruff E722" in context
    assert "line 12: ruff F821" in context  # parse is not defined
    assert "F401" not in context


def test_supported_pattern_with_the_teams_numbers(
    project: Path, data_dir: Path, run_hook: RunHook
) -> None:
    require(find_ruff(None) is not None, "ruff is not installed beside Python or on PATH")
    (project / ".ailoop").mkdir()
    (project / ".ailoop" / "patterns.toml").write_text(BARE_EXCEPT, encoding="utf-8")
    seed_rejections(data_dir, "pattern:bare-except")
    done = run_hook("claude-code", edit(project), project)
    assert done.returncode == 0, done.stderr
    context = context_of(done.stdout)
    assert (
        "line 12: known rejection pattern: bare except — rejected 3× (3 in the last 7 days); "
        "fix: name the exception, e.g. `except ValueError:`"
    ) in context
    generated = [e for e in events(data_dir) if e["tool"] == "claude-code" and e["path"] != "p.py"]
    assert generated[0]["findings"] == ["pattern:bare-except", "ruff:E722", "ruff:F821"]


def test_pattern_without_support_is_recorded_but_not_reported(
    project: Path, data_dir: Path, run_hook: RunHook
) -> None:
    (project / ".ailoop").mkdir()
    (project / ".ailoop" / "patterns.toml").write_text(BARE_EXCEPT, encoding="utf-8")
    (project / ".ailoop.toml").write_text("[feedback]\nruff = false\n", encoding="utf-8")
    done = run_hook("claude-code", edit(project), project)
    assert (done.returncode, done.stdout) == (0, b""), done.stderr
    [event] = events(data_dir)
    assert event["findings"] == ["pattern:bare-except"]


def test_engine_rule_with_the_teams_numbers(
    project: Path, data_dir: Path, run_hook: RunHook
) -> None:
    require(find_ruff(None) is not None, "ruff is not installed beside Python or on PATH")
    seed_rejections(data_dir, "ruff:E722", count=4)
    done = run_hook("claude-code", edit(project), project)
    context = context_of(done.stdout)
    assert (
        "line 12: ruff E722 Do not use bare `except` (known rejection pattern: ruff:E722 — rejected 4×"
        in context
    )


def test_block_on_a_pattern_exits_2_with_the_reason_on_stderr(
    project: Path, data_dir: Path, run_hook: RunHook
) -> None:
    (project / ".ailoop").mkdir()
    (project / ".ailoop" / "patterns.toml").write_text(BARE_EXCEPT, encoding="utf-8")
    (project / "pyproject.toml").write_text(
        '[tool.ailoop.hooks]\nblock_on = ["bare-except"]\n', encoding="utf-8"
    )
    done = run_hook("claude-code", edit(project), project)
    assert done.returncode == 2
    assert done.stdout == b""
    stderr = done.stderr.decode()
    assert "line 12: team pattern: bare except" in stderr
    assert "block_on: pattern:bare-except" in stderr
    assert len(events(data_dir)) == 1  # recorded all the same


def test_block_on_needs_the_pattern_in_the_new_lines(
    project: Path, data_dir: Path, run_hook: RunHook
) -> None:
    (project / ".ailoop").mkdir()
    (project / ".ailoop" / "patterns.toml").write_text(BARE_EXCEPT, encoding="utf-8")
    (project / "pyproject.toml").write_text(
        '[tool.ailoop.hooks]\nblock_on = ["pattern:bare-except"]\n', encoding="utf-8"
    )
    payload = load_payload("claude-code-edit-full-response.json", project)
    apply_tool(payload, project)
    done = run_hook("claude-code", payload, project)
    assert (done.returncode, done.stdout) == (0, b""), done.stderr


def test_cursor_agent_gets_additional_context(
    project: Path, data_dir: Path, run_hook: RunHook
) -> None:
    (project / ".ailoop").mkdir()
    (project / ".ailoop" / "patterns.toml").write_text(
        '[[pattern]]\nid = "bool-return"\ntitle = "returning a comparison as if/else"\n'
        'languages = ["python"]\nregex = "return True"\nenforce = true\n'
        'fix = "return the condition itself"\n',
        encoding="utf-8",
    )
    payload = load_payload("cursor-after-file-edit.json", project)
    apply_tool(payload, project)
    done = run_hook("cursor", payload, project)
    assert done.returncode == 0, done.stderr
    output = json.loads(done.stdout)
    assert set(output) == {"additional_context"}
    assert (
        "line 6: team pattern: returning a comparison as if/else; fix: return the condition itself"
        in output["additional_context"]
    )


def test_cursor_tab_edit_is_placed_by_its_range(
    project: Path, data_dir: Path, run_hook: RunHook
) -> None:
    source = (
        '"""Orders."""\n\n\ndef size(order):\n    return len(order.items)\n\n\n'
        "def count(order):\n    pass\n"
    )
    (project / "shop" / "orders.py").write_text(source, encoding="utf-8")
    (project / ".ailoop").mkdir()
    (project / ".ailoop" / "patterns.toml").write_text(
        '[[pattern]]\nid = "len-call"\ntitle = "len"\nregex = "len\\\\("\n', encoding="utf-8"
    )
    (project / ".ailoop.toml").write_text('[hooks]\nblock_on = ["len-call"]\n', encoding="utf-8")
    payload = load_payload("cursor-after-tab-file-edit.json", project)
    apply_tool(payload, project)
    done = run_hook("cursor", payload, project)
    assert done.returncode == 2
    assert "line 9: team pattern: len" in done.stderr.decode()
    assert "line 5" not in done.stderr.decode()
    [event] = events(data_dir)
    assert (event["tool"], event["text"]) == ("cursor", "return len(order.items)")


def test_team_command_engine_findings_on_the_new_lines(
    project: Path, data_dir: Path, run_hook: RunHook
) -> None:
    checker = project / "tools" / "todo_check.py"
    checker.parent.mkdir()
    checker.write_text(
        "import sys\n"
        "for number, line in enumerate(sys.stdin, 1):\n"
        "    if 'TODO' in line:\n"
        "        print(f'{number}:1: TODO left in the code [T001]')\n",
        encoding="utf-8",
    )
    (project / "pyproject.toml").write_text(
        "[tool.ailoop.feedback]\nruff = false\n\n"
        "[[tool.ailoop.engines]]\n"
        'name = "todo"\n'
        f"command = [{json.dumps(sys.executable)}, {json.dumps(str(checker))}]\n"
        'languages = ["python"]\n'
        'output = "regex"\n'
        "pattern = '^(?P<line>\\d+):(?P<col>\\d+): (?P<message>.*) \\[(?P<rule>T\\d+)\\]'\n",
        encoding="utf-8",
    )
    target = project / "shop" / "orders.py"
    target.write_text("# TODO: old note\n" + target.read_text(encoding="utf-8"), encoding="utf-8")
    payload = load_payload("claude-code-edit-full-response.json", project)
    payload["tool_response"]["originalFile"] = (
        "# TODO: old note\n" + payload["tool_response"]["originalFile"]
    )
    payload["tool_input"]["new_string"] = "    # TODO: tax\n" + payload["tool_input"]["new_string"]
    apply_tool(payload, project)
    untrusted = run_hook("claude-code", payload, project)
    assert untrusted.returncode == 0, untrusted.stderr
    assert b"todo" not in untrusted.stdout
    assert b"is not trusted; ignored: engines" in untrusted.stderr
    ailoop("trust", str(project), data_dir=data_dir)
    done = run_hook("claude-code", payload, project)
    assert done.returncode == 0, done.stderr
    context = context_of(done.stdout)
    assert "line 6: todo:T001 TODO left in the code" in context
    assert "line 1" not in context  # the old note is not the agent's
    assert [e["findings"] for e in events(data_dir)] == [[], ["todo:T001"]]
