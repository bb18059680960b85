"""Installing the hooks into the agents' settings, and taking them out again.

Claude Code reads ``.claude/settings.json`` (project) and ``~/.claude/settings.json``
(user); Cursor reads ``.cursor/hooks.json`` and ``~/.cursor/hooks.json``; Gemini CLI
``.gemini/settings.json``; Codex CLI ``.codex/hooks.json`` (each also under the home
directory). Claude Code and Cursor get the edit hooks and the session-start hook, Gemini
CLI and Codex CLI the session-start hook. Installing merges
our entries into what is there, leaving every other hook and setting alone; installing twice
is installing once (an entry of ours is updated in place); uninstalling removes only our
entries. The command is the absolute path of the Python running ailoop, so the hook works
whatever ``PATH`` the agent has: ``<python> -m ailoop.hooks claude-code`` (the same as
``ailoop hook claude-code``; see :mod:`ailoop.hooks.entry`). Entries running either form
are recognised as ours.

The merging is pure (:func:`merge_claude_code`, :func:`merge_cursor`, :func:`merge_gemini`,
:func:`merge_codex`, :func:`remove`);
:func:`install` and :func:`uninstall` read and write the files.
"""

from __future__ import annotations

import json
import os
import re
import shlex
import sys
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import Any

from ailoop.hooks import CLAUDE_CODE, CODEX, CURSOR, GEMINI_CLI, TOOLS

#: The Claude Code tools whose edits are recorded.
CLAUDE_MATCHER = "Edit|Write|MultiEdit"
#: The Cursor events whose edits are recorded, and the one that starts a session.
CURSOR_EVENTS = ("afterFileEdit", "afterTabFileEdit", "sessionStart")
#: The event that starts a session for Claude Code, Gemini CLI and Codex CLI.
SESSION_START = "SessionStart"
#: Recognises a command of ours, whichever Python or launcher runs it.
_OURS = re.compile(
    r"(?:(?:^|[\s/\\])ailoop(?:\.exe)?\s+hook|\s-m\s+ailoop\s+hook|\s-m\s+ailoop\.hooks)"
    r"\s+(claude-code|cursor|gemini-cli|codex)(?:\s+--data-dir\s+\S+)?\s*$"
)


class InstallError(Exception):
    """A settings file cannot be read or written; the message names it."""


def hook_command(tool: str, python: str | None = None) -> str:
    """Return the shell command a tool's hook runs: ``<python> -m ailoop.hooks <tool>``."""
    return f"{shlex.quote(python or sys.executable)} -m ailoop.hooks {tool}"


def is_ours(command: object, tool: str) -> bool:
    """Return whether a hook command runs ``ailoop hook <tool>``."""
    if not isinstance(command, str):
        return False
    match = _OURS.search(command)
    return match is not None and match.group(1) == tool


def _object(value: object, where: str) -> dict[str, Any]:
    if value is None:
        return {}
    if not isinstance(value, dict):
        raise InstallError(f"{where} is not a JSON object; not changing it")
    return value


def _list(value: object, where: str) -> list[Any]:
    if value is None:
        return []
    if not isinstance(value, list):
        raise InstallError(f"{where} is not a JSON array; not changing it")
    return value


def _merge_group(
    hooks: dict[str, Any], event: str, matcher: str | None, entry: dict[str, Any], tool: str
) -> None:
    """Add (or update) our entry in ``hooks[event]``, a list of matcher groups."""
    groups = _list(hooks.get(event), f"hooks.{event}")
    found = False
    for group in groups:
        if not isinstance(group, dict):
            continue
        for existing in _list(group.get("hooks"), f"hooks.{event}[].hooks"):
            if isinstance(existing, dict) and is_ours(existing.get("command"), tool):
                if found:
                    continue
                existing.update(entry)
                if matcher is not None:
                    group["matcher"] = matcher
                found = True
    if not found:
        group = {"matcher": matcher} if matcher is not None else {}
        groups.append({**group, "hooks": [dict(entry)]})
    hooks[event] = groups


def merge_claude_code(settings: dict[str, Any], command: str) -> dict[str, Any]:
    """Add (or update) our ``PostToolUse`` and ``SessionStart`` hooks in Claude Code settings."""
    hooks = _object(settings.get("hooks"), "hooks")
    entry = {"type": "command", "command": command}
    _merge_group(hooks, "PostToolUse", CLAUDE_MATCHER, entry, CLAUDE_CODE)
    _merge_group(hooks, SESSION_START, None, entry, CLAUDE_CODE)
    settings["hooks"] = hooks
    return settings


def merge_gemini(settings: dict[str, Any], command: str) -> dict[str, Any]:
    """Add (or update) our ``SessionStart`` hook in Gemini CLI's settings.json."""
    hooks = _object(settings.get("hooks"), "hooks")
    entry = {"name": "ailoop-context", "type": "command", "command": command}
    _merge_group(hooks, SESSION_START, None, entry, GEMINI_CLI)
    settings["hooks"] = hooks
    return settings


def merge_codex(config: dict[str, Any], command: str) -> dict[str, Any]:
    """Add (or update) our ``SessionStart`` hook in Codex CLI's hooks.json."""
    hooks = _object(config.get("hooks"), "hooks")
    _merge_group(hooks, SESSION_START, None, {"type": "command", "command": command}, CODEX)
    config["hooks"] = hooks
    return config


def merge_cursor(config: dict[str, Any], command: str) -> dict[str, Any]:
    """Add (or update) our edit and ``sessionStart`` hooks in Cursor's hooks.json."""
    config.setdefault("version", 1)
    hooks = _object(config.get("hooks"), "hooks")
    for event in CURSOR_EVENTS:
        entries = _list(hooks.get(event), f"hooks.{event}")
        ours = [e for e in entries if isinstance(e, dict) and is_ours(e.get("command"), CURSOR)]
        if ours:
            ours[0]["command"] = command
        else:
            entries.append({"command": command})
        hooks[event] = entries
    config["hooks"] = hooks
    return config


def remove(config: dict[str, Any], tool: str) -> dict[str, Any]:
    """Remove our entries (and the containers they leave empty) from either file's config."""
    hooks = config.get("hooks")
    if not isinstance(hooks, dict):
        return config
    for event in list(hooks):
        entries = hooks[event]
        if not isinstance(entries, list):
            continue
        kept = []
        for entry in entries:
            if not isinstance(entry, dict):
                kept.append(entry)
            elif is_ours(entry.get("command"), tool):
                continue
            elif isinstance(entry.get("hooks"), list):  # a Claude Code matcher group
                inner = [h for h in entry["hooks"] if not _entry_is_ours(h, tool)]
                if inner:
                    entry["hooks"] = inner
                    kept.append(entry)
                elif not entry["hooks"]:
                    kept.append(entry)  # it was empty before: not ours to remove
            else:
                kept.append(entry)
        if kept:
            hooks[event] = kept
        elif entries:
            del hooks[event]
    if not hooks:
        del config["hooks"]
    return config


def _entry_is_ours(entry: object, tool: str) -> bool:
    return isinstance(entry, dict) and is_ours(entry.get("command"), tool)


def settings_path(tool: str, *, user: bool, root: Path) -> Path:
    """Return the file the hook goes into: the project's (under ``root``) or the user's."""
    base = Path.home() if user else root
    if tool == CLAUDE_CODE:
        return base / ".claude" / "settings.json"
    if tool == CURSOR:
        return base / ".cursor" / "hooks.json"
    if tool == GEMINI_CLI:
        return base / ".gemini" / "settings.json"
    if tool == CODEX:
        return base / ".codex" / "hooks.json"
    raise InstallError(f"unknown tool {tool!r} (known: {', '.join(TOOLS)})")


def _read(path: Path) -> dict[str, Any]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return {}
    except OSError as exc:
        raise InstallError(f"{path}: cannot be read ({exc.strerror or exc})") from exc
    if not text.strip():
        return {}
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise InstallError(
            f"{path}: not valid JSON (line {exc.lineno}, column {exc.colno}: {exc.msg}); "
            "fix it first, it was not changed"
        ) from exc
    if not isinstance(data, dict):
        raise InstallError(f"{path}: not a JSON object; it was not changed")
    return data


def _write(path: Path, data: dict[str, Any]) -> None:
    text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
        Path(temporary).replace(path)
    except OSError as exc:
        raise InstallError(f"{path}: cannot be written ({exc.strerror or exc})") from exc


def _change(path: Path, edit: Callable[[dict[str, Any]], dict[str, Any]]) -> bool:
    before = _read(path)
    original = json.dumps(before, sort_keys=True)
    after = edit(before)
    if json.dumps(after, sort_keys=True) == original:
        return False
    _write(path, after)
    return True


def install(tool: str, *, user: bool, root: Path, python: str | None = None) -> tuple[Path, bool]:
    """Install the hook of ``tool``; return the file and whether it changed."""
    path = settings_path(tool, user=user, root=root)
    command = hook_command(tool, python)
    merge = {
        CLAUDE_CODE: merge_claude_code,
        CURSOR: merge_cursor,
        GEMINI_CLI: merge_gemini,
        CODEX: merge_codex,
    }[tool]
    return path, _change(path, lambda data: merge(data, command))


def uninstall(tool: str, *, user: bool, root: Path) -> tuple[Path, bool]:
    """Remove the hook of ``tool``; return the file and whether it changed."""
    path = settings_path(tool, user=user, root=root)
    if not path.exists():
        return path, False
    return path, _change(path, lambda data: remove(data, tool))
