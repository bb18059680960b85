"""A hook never breaks the agent: bad input, missing files and a stuck store give exit 0."""

from __future__ import annotations

import datetime as dt
import json
import sqlite3
import time
from pathlib import Path

from ailoop.hooks.run import KEEP_INPUTS, save_input
from ailoop.store.events import Event
from ailoop.store.local import LocalStore
from ailoop.store.writer import EventWriter
from tests.hooks.hook_testkit import RunHook, apply_tool, events, load_payload


def saved_inputs(data_dir: Path) -> list[Path]:
    return sorted((data_dir / "hook-inputs").glob("*.json"))


def one_line(stderr: bytes) -> str:
    lines = stderr.decode().splitlines()
    assert len(lines) == 1, lines
    return lines[0]


def test_input_that_is_not_json(project: Path, data_dir: Path, run_hook: RunHook) -> None:
    done = run_hook("claude-code", b"{not json", project)
    assert (done.returncode, done.stdout) == (0, b"")
    assert "the input is not JSON" in one_line(done.stderr)
    [saved] = saved_inputs(data_dir)
    assert saved.read_bytes() == b"{not json"
    assert saved.name.endswith("-claude-code.json")


def test_payload_of_the_wrong_shape(project: Path, data_dir: Path, run_hook: RunHook) -> None:
    payload = load_payload("claude-code-edit.json", project)
    payload["tool_input"] = "shop/orders.py"
    done = run_hook("claude-code", payload, project)
    assert (done.returncode, done.stdout) == (0, b"")
    assert "tool_input of Edit must be an object" in one_line(done.stderr)
    assert len(saved_inputs(data_dir)) == 1
    cursor = load_payload("cursor-after-file-edit.json", project)
    del cursor["edits"]
    done = run_hook("cursor", cursor, project)
    assert (done.returncode, done.stdout) == (0, b"")
    assert "edits must be a list" in one_line(done.stderr)
    assert len(saved_inputs(data_dir)) == 2
    assert events(data_dir) == []


def test_file_that_does_not_exist(project: Path, data_dir: Path, run_hook: RunHook) -> None:
    payload = load_payload("claude-code-write-new.json", project)  # not written
    done = run_hook("claude-code", payload, project)
    assert (done.returncode, done.stdout) == (0, b"")
    assert "cannot read" in one_line(done.stderr)
    assert "discounts.py" in done.stderr.decode()
    assert len(saved_inputs(data_dir)) == 1


def test_edit_no_longer_in_the_file_is_recorded_from_the_payload(
    project: Path, data_dir: Path, run_hook: RunHook
) -> None:
    payload = load_payload("claude-code-edit.json", project)  # the file was changed since
    done = run_hook("claude-code", payload, project)
    assert done.returncode == 0
    assert "not in the file any more" in done.stderr.decode()
    [event] = events(data_dir)
    assert event["text"].startswith("def load_order(path):\n")


def test_unwritable_store_spills_the_events_for_the_server(
    project: Path, data_dir: Path, run_hook: RunHook
) -> None:
    (data_dir / "events.db").mkdir()  # not a database file: cannot be opened
    payload = load_payload("claude-code-edit-full-response.json", project)
    apply_tool(payload, project)
    done = run_hook("claude-code", payload, project)
    assert (done.returncode, done.stdout) == (0, b"")
    stderr = done.stderr.decode()
    assert "event store" in stderr
    assert "saved to" in stderr
    [spilled] = (data_dir / "spill").glob("*.jsonl")
    [event] = [Event.from_json(json.loads(line)) for line in spilled.read_text().splitlines()]
    assert (event.tool, event.source.value, event.path) == ("claude-code", "hook", "shop/orders.py")
    assert len(saved_inputs(data_dir)) == 1


async def test_the_server_imports_what_the_hook_spilled(
    project: Path, data_dir: Path, run_hook: RunHook
) -> None:
    (data_dir / "events.db").mkdir()
    payload = load_payload("claude-code-edit-full-response.json", project)
    apply_tool(payload, project)
    assert run_hook("claude-code", payload, project).returncode == 0
    (data_dir / "events.db").rmdir()  # the store is usable again
    problems: list[str] = []
    writer = EventWriter(data_dir, problems.append)
    assert await writer.write([])  # the server opens the store: spills are imported
    await writer.close()
    assert problems == []
    assert [e["source"] for e in events(data_dir) if e["path"] == "shop/orders.py"] == ["hook"]
    assert not list((data_dir / "spill").glob("*.jsonl"))


def test_locked_store_does_not_hold_the_agent(
    project: Path, data_dir: Path, run_hook: RunHook
) -> None:
    LocalStore.open(data_dir).close()
    holder = sqlite3.connect(data_dir / "events.db", isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    try:
        payload = load_payload("claude-code-edit-full-response.json", project)
        apply_tool(payload, project)
        started = time.monotonic()
        done = run_hook("claude-code", payload, project)
        elapsed = time.monotonic() - started
    finally:
        holder.execute("ROLLBACK")
        holder.close()
    assert (done.returncode, done.stdout) == (0, b"")
    assert "locked" in done.stderr.decode()
    assert elapsed < 15
    assert list((data_dir / "spill").glob("*.jsonl"))


def test_only_the_newest_inputs_are_kept(tmp_path: Path) -> None:
    start = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    for n in range(KEEP_INPUTS + 5):
        save_input(f"{n}".encode(), "cursor", tmp_path, start + dt.timedelta(seconds=n))
    kept = sorted((tmp_path / "hook-inputs").glob("*.json"))
    assert len(kept) == KEEP_INPUTS
    assert kept[0].read_bytes() == b"5"
    assert kept[-1].read_bytes() == f"{KEEP_INPUTS + 4}".encode()


def test_unknown_tool_is_a_usage_error(project: Path, run_hook: RunHook) -> None:
    done = run_hook("windsurf", b"{}", project)
    assert done.returncode == 2  # the ailoop command line's usage errors
    assert b"invalid choice" in done.stderr
    lean = run_hook("windsurf", b"{}", project, module=("ailoop.hooks",))
    assert lean.returncode == 1  # never 2: that would block the agent
    assert b"unknown tool 'windsurf'" in lean.stderr
