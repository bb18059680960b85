"""``ailoop hook``: one ``generated`` event per inserted snippet, as the editor will see it."""

from __future__ import annotations

from pathlib import Path

import pytest

from ailoop.capture.detect import Thresholds
from ailoop.capture.identity import line_count, snippet_id
from ailoop.capture.track import TrackedDocument
from tests.hooks.hook_testkit import (
    ORDERS,
    RunHook,
    apply_tool,
    call_with_importtime,
    env_for,
    events,
    load_payload,
)


def server_snippets(path: Path, before: str, after: str) -> list[str]:
    """The snippet ids the language server finds when the editor reloads ``after``, top first."""
    doc = TrackedDocument(path.as_uri(), "python", 1, before, thresholds=Thresholds(1, 1))
    doc.apply([(None, after)], 2)
    return [s.id for s in sorted(doc.snippets, key=lambda s: s.start)]


def run_fixture(name: str, project: Path, run_hook: RunHook, tool: str = "claude-code"):
    payload = load_payload(name, project)
    target = project / "shop" / "orders.py"
    before = target.read_text(encoding="utf-8")
    apply_tool(payload, project)
    done = run_hook(tool, payload, project)
    return payload, before, done


def test_edit_records_one_generated_event_that_the_editor_recognises(
    project: Path, data_dir: Path, run_hook: RunHook
) -> None:
    _, before, done = run_fixture("claude-code-edit.json", project, run_hook)
    assert done.returncode == 0, done.stderr
    [event] = events(data_dir)
    text = (
        "def load_order(path):\n    try:\n        with open(path) as f:\n"
        "            return parse(f.read())\n    except:\n        return None\n"
    )
    assert event["kind"] == "generated"
    assert event["tool"] == "claude-code"
    assert event["source"] == "hook"
    assert event["user"] == "dev@example.com"
    assert event["repo"] == "https://example.com/team/shop.git"  # credentials dropped
    assert event["path"] == "shop/orders.py"
    assert event["language"] == "python"
    assert event["text"] == text
    assert event["snippet"] == snippet_id(text)
    assert event["lines"] == line_count(text) == 6
    after = (project / "shop" / "orders.py").read_text(encoding="utf-8")
    assert server_snippets(project / "shop" / "orders.py", before, after) == [event["snippet"]]


def test_edit_with_the_original_in_the_response_and_a_relative_path(
    project: Path, data_dir: Path, run_hook: RunHook
) -> None:
    _, before, done = run_fixture("claude-code-edit-full-response.json", project, run_hook)
    assert done.returncode == 0, done.stderr
    assert done.stdout == b""  # nothing to fix: no output at all
    [event] = events(data_dir)
    after = (project / "shop" / "orders.py").read_text(encoding="utf-8")
    assert event["path"] == "shop/orders.py"
    assert "round(subtotal * (1 + order.tax_rate)" in event["text"]
    assert event["text"] in after
    assert server_snippets(project / "shop" / "orders.py", before, after) == [event["snippet"]]


def test_multiedit_records_each_inserted_region(
    project: Path, data_dir: Path, run_hook: RunHook
) -> None:
    _, before, done = run_fixture("claude-code-multiedit.json", project, run_hook)
    assert done.returncode == 0, done.stderr
    recorded = events(data_dir)
    assert len(recorded) == 2
    assert "log = logging.getLogger(__name__)" in recorded[0]["text"]
    assert 'log.debug("order total %s", amount)' in recorded[1]["text"]
    after = (project / "shop" / "orders.py").read_text(encoding="utf-8")
    assert server_snippets(project / "shop" / "orders.py", before, after) == [
        e["snippet"] for e in recorded
    ]


def test_write_of_a_new_file_is_one_snippet(
    project: Path, data_dir: Path, run_hook: RunHook
) -> None:
    payload = load_payload("claude-code-write-new.json", project)
    apply_tool(payload, project)
    done = run_hook("claude-code", payload, project)
    assert done.returncode == 0, done.stderr
    [event] = events(data_dir)
    content = payload["tool_input"]["content"]
    assert event["path"] == "shop/discounts.py"
    assert event["text"] == content
    path = project / "shop" / "discounts.py"
    assert server_snippets(path, "", content) == [event["snippet"]]


def test_write_over_a_file_records_only_what_changed(
    project: Path, data_dir: Path, run_hook: RunHook
) -> None:
    _, before, done = run_fixture("claude-code-write-update.json", project, run_hook)
    assert done.returncode == 0, done.stderr
    [event] = events(data_dir)
    assert event["text"] == "def count(order):\n    return len(order.items)\n"
    after = (project / "shop" / "orders.py").read_text(encoding="utf-8")
    assert before == ORDERS
    assert server_snippets(project / "shop" / "orders.py", before, after) == [event["snippet"]]


def test_cursor_agent_edit(project: Path, data_dir: Path, run_hook: RunHook) -> None:
    _, before, done = run_fixture("cursor-after-file-edit.json", project, run_hook, "cursor")
    assert done.returncode == 0, done.stderr
    assert done.stdout == b""
    [event] = events(data_dir)
    assert event["tool"] == "cursor"
    assert event["source"] == "hook"
    assert event["text"].startswith("def is_large(order):\n")
    after = (project / "shop" / "orders.py").read_text(encoding="utf-8")
    assert server_snippets(project / "shop" / "orders.py", before, after) == [event["snippet"]]


def test_other_tools_and_events_are_ignored(
    project: Path, data_dir: Path, run_hook: RunHook
) -> None:
    payload = load_payload("claude-code-read.json", project)
    done = run_hook("claude-code", payload, project)
    assert (done.returncode, done.stdout, done.stderr) == (0, b"", b"")
    pre_tool = load_payload("claude-code-edit.json", project) | {"hook_event_name": "PreToolUse"}
    done = run_hook("claude-code", pre_tool, project)
    assert (done.returncode, done.stdout, done.stderr) == (0, b"", b"")
    assert events(data_dir) == []
    assert not (data_dir / "hook-inputs").exists()


def test_lean_entry_point_does_the_same(project: Path, data_dir: Path, run_hook: RunHook) -> None:
    payload = load_payload("claude-code-edit-full-response.json", project)
    apply_tool(payload, project)
    done = run_hook("claude-code", payload, project, module=("ailoop.hooks",))
    assert done.returncode == 0, done.stderr
    [event] = events(data_dir)
    assert (event["tool"], event["source"]) == ("claude-code", "hook")


#: Modules a hook call must not load: each costs milliseconds on every agent edit.
HEAVY = ("argparse", "asyncio", "pygls", "lsprotocol", "cattrs", "ailoop.commands", "ailoop.lsp")


@pytest.mark.parametrize("module", [("ailoop", "hook"), ("ailoop.hooks",)])
def test_a_hook_call_loads_neither_the_server_nor_the_command_line(
    project: Path, data_dir: Path, module: tuple[str, ...]
) -> None:
    """Both entry points go straight to the hook; what they import is the hook's cost."""
    payload = load_payload("claude-code-edit.json", project)
    apply_tool(payload, project)
    done, imported = call_with_importtime(module, payload, project, env_for(data_dir))
    assert done.returncode == 0, done.stderr
    assert "ailoop.hooks.run" in imported  # the hook really ran
    assert [
        name for name in imported if name.split(".")[0] in HEAVY or name.startswith(HEAVY)
    ] == []
    [event] = events(data_dir)
    assert event["source"] == "hook"
