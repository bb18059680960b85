"""Hook payloads: the agents' file edits and their sessions' starts.

Claude Code ``PostToolUse``, Cursor ``afterFileEdit``/``afterTabFileEdit``, and the
session starts of Claude Code, Cursor, Gemini CLI and Codex CLI.

Pure parsing: a JSON value in, a :class:`HookCall` out (or ``None`` when the payload is
well formed but about something other than a file edit). Anything malformed raises
:class:`PayloadError` with a message that says which field is wrong.
"""

from __future__ import annotations

import os
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from ailoop.hooks import CLAUDE_CODE, CODEX, CURSOR, GEMINI_CLI, TOOLS

#: Claude Code tools that write files, and the Cursor events about edits.
CLAUDE_EDIT_TOOLS = frozenset({"Edit", "Write", "MultiEdit"})
CURSOR_EDIT_EVENTS = frozenset({"afterFileEdit", "afterTabFileEdit"})
#: The event each agent's hooks name a session's start with.
SESSION_START_EVENTS = {
    CLAUDE_CODE: "SessionStart",
    CURSOR: "sessionStart",
    GEMINI_CLI: "SessionStart",
    CODEX: "SessionStart",
}


class PayloadError(ValueError):
    """The hook input is not what the tool documents; the message names the field."""


@dataclass(frozen=True)
class TextEdit:
    """One replacement the agent made: ``old`` became ``new``.

    ``line`` is the zero-based line where the replaced text started, when the payload says
    (Cursor Tab edits carry a ``range``); it picks the right occurrence of ``new``.
    """

    old: str
    new: str
    replace_all: bool = False
    line: int | None = None


@dataclass(frozen=True)
class HookCall:
    """A file edit reported by an agent's hook.

    ``content`` is set for a whole-file write; ``edits`` for replacements (applied in
    order). ``original`` is the file's text before the tool ran when the payload carries
    it (Claude Code's ``tool_response.originalFile``; ``""`` for a file the tool created).
    """

    tool: str
    event: str
    file_path: Path
    edits: tuple[TextEdit, ...] = ()
    content: str | None = None
    original: str | None = None
    workspace: Path | None = None
    #: The agent's session id (Claude Code's ``session_id``, Cursor's ``conversation_id``).
    session: str = ""


@dataclass(frozen=True)
class SessionStart:
    """An agent session starting: its id and the directory it works in."""

    tool: str
    event: str
    session: str
    workspace: Path | None


def _session_id(data: Mapping[str, Any], key: str) -> str:
    value = data.get(key)
    return value if isinstance(value, str) else ""


def parse_session_start(tool: str, data: object) -> SessionStart | None:
    """Read a session-start payload of ``tool``; ``None`` when it is about another event.

    Claude Code, Gemini CLI and Codex CLI send ``session_id`` and ``cwd``; Cursor sends
    ``conversation_id`` (or ``session_id``) and ``workspace_roots``.
    """
    if not isinstance(data, Mapping):
        return None
    event = SESSION_START_EVENTS.get(tool)
    if event is None or data.get("hook_event_name") != event:
        return None
    if tool == CURSOR:
        roots = data.get("workspace_roots")
        workspace = _directory(roots[0]) if isinstance(roots, list) and roots else None
        session = _session_id(data, "conversation_id") or _session_id(data, "session_id")
    else:
        workspace = _directory(data.get("cwd"))
        session = _session_id(data, "session_id")
    return SessionStart(tool, event, session, workspace)


def _string(data: Mapping[str, Any], key: str, where: str) -> str:
    value = data.get(key)
    if not isinstance(value, str):
        raise PayloadError(f"{where}.{key} must be a string, got {type(value).__name__}")
    return value


def _path(raw: str, base: Path | None, where: str) -> Path:
    if not raw.strip():
        raise PayloadError(f"{where} is empty")
    path = Path(raw).expanduser()
    if not path.is_absolute():
        if base is None:
            raise PayloadError(f"{where} {raw!r} is relative and the payload names no directory")
        path = base / path
    return Path(os.path.normpath(path))


def _directory(value: object) -> Path | None:
    if isinstance(value, str) and value.strip():
        return Path(value).expanduser()
    return None


def _edit(entry: object, where: str, *, tab: bool = False) -> TextEdit:
    if not isinstance(entry, Mapping):
        raise PayloadError(f"{where} must be an object, got {type(entry).__name__}")
    old = _string(entry, "old_string", where)
    new = _string(entry, "new_string", where)
    replace_all = entry.get("replace_all", False)
    if not isinstance(replace_all, bool):
        raise PayloadError(f"{where}.replace_all must be true or false, got {replace_all!r}")
    line = None
    if tab and isinstance(entry.get("range"), Mapping):
        start = entry["range"].get("start_line_number")
        if isinstance(start, int) and not isinstance(start, bool) and start >= 1:
            line = start - 1  # Cursor numbers lines from 1
    return TextEdit(old, new, replace_all, line)


def parse_claude_code(data: object) -> HookCall | None:
    """Read a Claude Code ``PostToolUse`` payload for ``Edit``, ``Write`` or ``MultiEdit``.

    Returns ``None`` for another event or tool (the hook's matcher let it through).
    """
    if not isinstance(data, Mapping):
        raise PayloadError(f"the hook input must be a JSON object, got {type(data).__name__}")
    event = data.get("hook_event_name", "PostToolUse")
    if event != "PostToolUse":
        return None
    tool_name = data.get("tool_name")
    if not isinstance(tool_name, str):
        raise PayloadError("tool_name must be a string")
    if tool_name not in CLAUDE_EDIT_TOOLS:
        return None
    tool_input = data.get("tool_input")
    if not isinstance(tool_input, Mapping):
        raise PayloadError(f"tool_input of {tool_name} must be an object")
    cwd = _directory(data.get("cwd"))
    file_path = _path(_string(tool_input, "file_path", "tool_input"), cwd, "tool_input.file_path")
    response = data.get("tool_response")
    original = None
    if isinstance(response, Mapping):
        if isinstance(response.get("originalFile"), str):
            original = response["originalFile"]
        elif tool_name == "Write" and response.get("type") == "create":
            original = ""
    if tool_name == "Write":
        content = _string(tool_input, "content", "tool_input")
        return HookCall(
            CLAUDE_CODE,
            event,
            file_path,
            content=content,
            original=original,
            workspace=cwd,
            session=_session_id(data, "session_id"),
        )
    if tool_name == "Edit":
        edits: tuple[TextEdit, ...] = (_edit(tool_input, "tool_input"),)
    else:
        raw_edits = tool_input.get("edits")
        if not isinstance(raw_edits, list):
            raise PayloadError("tool_input.edits of MultiEdit must be a list")
        edits = tuple(_edit(e, f"tool_input.edits[{i}]") for i, e in enumerate(raw_edits))
    return HookCall(
        CLAUDE_CODE,
        event,
        file_path,
        edits=edits,
        original=original,
        workspace=cwd,
        session=_session_id(data, "session_id"),
    )


def parse_cursor(data: object) -> HookCall | None:
    """Read a Cursor ``afterFileEdit`` or ``afterTabFileEdit`` payload.

    Returns ``None`` for another event.
    """
    if not isinstance(data, Mapping):
        raise PayloadError(f"the hook input must be a JSON object, got {type(data).__name__}")
    event = data.get("hook_event_name", "afterFileEdit")
    if event not in CURSOR_EDIT_EVENTS:
        return None
    roots = data.get("workspace_roots")
    workspace = _directory(roots[0]) if isinstance(roots, list) and roots else None
    file_path = _path(_string(data, "file_path", "input"), workspace, "file_path")
    raw_edits = data.get("edits")
    if not isinstance(raw_edits, list):
        raise PayloadError("edits must be a list")
    tab = event == "afterTabFileEdit"
    edits = tuple(_edit(e, f"edits[{i}]", tab=tab) for i, e in enumerate(raw_edits))
    session = _session_id(data, "conversation_id") or _session_id(data, "session_id")
    return HookCall(
        CURSOR, str(event), file_path, edits=edits, workspace=workspace, session=session
    )


def parse(tool: str, data: object) -> HookCall | None:
    """Parse the edit payload of ``tool``; ``None`` for agents whose edits are not read."""
    if tool == CLAUDE_CODE:
        return parse_claude_code(data)
    if tool == CURSOR:
        return parse_cursor(data)
    if tool in TOOLS:
        return None  # Gemini CLI, Codex CLI: only their sessions' starts are handled
    raise PayloadError(f"unknown tool {tool!r} (known: {', '.join(TOOLS)})")
