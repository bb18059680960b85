"""Locating an agent's inserted snippets in the file (pure functions)."""

from __future__ import annotations

from pathlib import Path

import pytest

from ailoop.capture.detect import Thresholds
from ailoop.capture.document import split_lines
from ailoop.capture.track import TrackedDocument
from ailoop.hooks.locate import inserted_snippets, locate, text_before
from ailoop.hooks.payload import HookCall, PayloadError, TextEdit, parse_claude_code, parse_cursor

FILE = Path("/project/m.py")


def server_texts(before: str, after: str) -> list[str]:
    doc = TrackedDocument(FILE.as_uri(), "python", 1, before, thresholds=Thresholds(1, 1))
    doc.apply([(None, after)], 2)
    return [s.text for s in sorted(doc.snippets, key=lambda s: s.start)]


CASES = [
    ("a = 1\n", "a = 1\nb = 2\nc = 3\n"),
    ("", "x = 1\n"),
    ("def f():\n    return 1\n", "def f():\n    y = 2\n    return 1 + y\n"),
    ("a\nb\nc\nd\ne\n", "a\nB1\nB2\nc\nd\nE1\ne\n"),
    ("x = 1", "x = 1\n\n\ny = 2\n\n"),
    ("one\r\ntwo\r\n", "one\r\nnew\r\ntwo\r\n"),
]


@pytest.mark.parametrize(("before", "after"), CASES)
def test_same_snippets_as_the_editor(before: str, after: str) -> None:
    found = inserted_snippets(before, after)
    assert [s.text for s in found] == server_texts(before, after)
    for snippet in found:
        first = snippet.first_line
        assert first is not None
        assert snippet.text.splitlines()[0] in split_lines(after)[first]


def test_lines_of_the_inserted_snippets() -> None:
    before = "".join(f"line {n}\n" for n in range(10))
    after = before.replace("line 3\n", "line 3\nnew a\nnew b\n").replace("line 8\n", "line 8\nz\n")
    found = inserted_snippets(before, after)
    assert [(s.text, s.first_line, s.last_line) for s in found] == [
        ("new a\nnew b\n", 4, 5),
        ("z\n", 11, 11),
    ]


def test_the_right_occurrence_leaves_the_old_text_once() -> None:
    # The new text also appears above; undoing there would leave "pass" twice.
    current = "def a():\n    return 0\n\ndef b():\n    return 0\n"
    call = HookCall(
        "claude-code", "PostToolUse", FILE, edits=(TextEdit("    pass\n", "    return 0\n"),)
    )
    before, notes = text_before(call, "def a():\n    pass\n\ndef b():\n    return 0\n")
    assert notes == []
    assert before == "def a():\n    pass\n\ndef b():\n    pass\n"
    before, _ = text_before(call, current)
    assert before.count("    pass\n") == 1


def test_replace_all_and_deletions() -> None:
    call = HookCall(
        "claude-code",
        "PostToolUse",
        FILE,
        edits=(TextEdit("foo", "bar", replace_all=True), TextEdit("gone\n", "")),
    )
    snippets, notes = locate(call, "bar = 1\nx = 2\nprint(bar)\n")
    assert notes == []
    assert [(s.text, s.first_line) for s in snippets] == [("bar", 0)]  # once: the same text


def test_payload_fields() -> None:
    edit = {
        "hook_event_name": "PostToolUse",
        "cwd": "/project",
        "tool_name": "Edit",
        "tool_input": {"file_path": "src/../m.py", "old_string": "a", "new_string": "b"},
    }
    call = parse_claude_code(edit)
    assert call is not None
    assert call.file_path == FILE
    assert call.edits == (TextEdit("a", "b"),)
    with pytest.raises(PayloadError, match="replace_all must be true or false"):
        parse_claude_code({**edit, "tool_input": {**edit["tool_input"], "replace_all": "yes"}})
    with pytest.raises(PayloadError, match="relative"):
        parse_claude_code({**edit, "cwd": None})
    tab = parse_cursor(
        {
            "hook_event_name": "afterTabFileEdit",
            "workspace_roots": ["/project"],
            "file_path": "/project/m.py",
            "edits": [{"old_string": "", "new_string": "x", "range": {"start_line_number": 3}}],
        }
    )
    assert tab is not None
    assert tab.edits == (TextEdit("", "x", line=2),)
    assert parse_cursor({"hook_event_name": "stop"}) is None


def test_the_hook_looks_for_the_patterns_file_where_the_patterns_live() -> None:
    from ailoop.hooks import run
    from ailoop.patterns.patternset import PATTERNS_FILE

    assert run.PATTERNS_FILE == PATTERNS_FILE
