"""Replay a recorded editing session through the real server and show what the editor saw.

The session file holds the JSON-RPC messages an editor sent, one per line (``ailoop serve
--record`` writes such files); lines starting with ``#`` are comments, printed as they
come. The server runs as a child process on stdio, exactly as an editor starts it. After
each message the replay asks the server to settle (``ailoop/settle``), so every effect of
that message is shown before the next one is sent.
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ailoop.feedback.jsonrpc import (
    ConnectionClosed,
    JsonRpcConnection,
    RequestTimeout,
    ResponseError,
)

TIMEOUT = 30.0


class ReplayError(Exception):
    """The session file or the server misbehaved; the message says how."""


@dataclass
class Step:
    """One line of a session: a message to send, or a comment."""

    number: int
    message: dict[str, Any] | None = None
    comment: str | None = None


def read_session(path: Path) -> list[Step]:
    """Parse a session file; raise ReplayError naming the line of a malformed message."""
    steps = []
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        raise ReplayError(f"cannot read {path}: {exc}") from exc
    for number, line in enumerate(text.splitlines(), start=1):
        stripped = line.strip()
        if not stripped:
            continue
        if stripped.startswith("#"):
            steps.append(Step(number, comment=stripped.lstrip("# ")))
            continue
        try:
            message = json.loads(stripped)
        except ValueError as exc:
            raise ReplayError(f"{path}:{number}: not a JSON message ({exc})") from exc
        if not isinstance(message, dict) or "method" not in message:
            raise ReplayError(f"{path}:{number}: not a JSON-RPC request or notification")
        steps.append(Step(number, message=message))
    return steps


@dataclass
class Transcript:
    """What the server sent back, in order, for printing."""

    lines: list[str] = field(default_factory=list)

    def add(self, line: str) -> None:
        """Add a line and print it."""
        self.lines.append(line)
        print(line, flush=True)


def _range(r: dict[str, Any]) -> str:
    s, e = r["start"], r["end"]
    return f"{s['line'] + 1}:{s['character'] + 1}-{e['line'] + 1}:{e['character'] + 1}"


def typed_text(message: dict[str, Any]) -> str | None:
    """Return the character a keystroke-sized didChange inserts, else None."""
    if message["method"] != "textDocument/didChange":
        return None
    changes = (message.get("params") or {}).get("contentChanges") or []
    if len(changes) != 1 or "range" not in changes[0] or len(changes[0].get("text", "")) > 1:
        return None
    r = changes[0]["range"]
    if r["start"] != r["end"]:
        return None
    text: str = changes[0]["text"]
    return text


def describe_sent(message: dict[str, Any]) -> str:
    """One line about a message the editor sent."""
    method, params = message["method"], message.get("params") or {}
    doc = params.get("textDocument", {}) if isinstance(params, dict) else {}
    name = str(doc.get("uri", "")).rsplit("/", 1)[-1]
    if method == "textDocument/didChange":
        parts = []
        for change in params.get("contentChanges", []):
            text = change.get("text", "")
            where = _range(change["range"]) if "range" in change else "whole document"
            lines = text.count("\n")
            size = f"{lines} line break{'s' if lines != 1 else ''}" if lines else repr(text)
            parts.append(f"{where} <- {size}")
        return f"didChange {name} v{doc.get('version')}: " + "; ".join(parts)
    if method == "workspace/executeCommand":
        args = params.get("arguments") or [{}]
        first = args[0] if args and isinstance(args[0], dict) else {}
        extra = f" reason={first['reason']!r}" if first.get("reason") else ""
        return (
            f"executeCommand {params.get('command')} {str(first.get('snippet', ''))[:19]}…{extra}"
        )
    if method == "textDocument/codeAction":
        return f"codeAction {name} {_range(params['range'])}"
    if name:
        return f"{method.removeprefix('textDocument/')} {name}"
    return str(method)


def describe_received(method: str, params: Any) -> list[str]:
    """Lines about what the server sent: diagnostics and messages."""
    params = params or {}
    if method == "textDocument/publishDiagnostics":
        name = params["uri"].rsplit("/", 1)[-1]
        items = params.get("diagnostics", [])
        if not items:
            return [f"  diagnostics {name}: none"]
        return [f"  diagnostics {name}:"] + [
            f"    {_range(d['range'])} [{d.get('code')}] {d['message']}" for d in items
        ]
    if method in ("window/showMessage", "window/logMessage"):
        return [f"  {method.split('/')[1]}: {params.get('message')}"]
    return []


def describe_result(sent: dict[str, Any], result: Any) -> list[str]:
    """Lines about the result of a request the editor sent."""
    method = sent["method"]
    if method == "textDocument/codeLens":
        return [
            f"  code lens {_range(lens['range'])}: {lens['command']['title']}"
            for lens in result or []
        ]
    if method == "textDocument/codeAction":
        return [f"  code action: {a['title']}" for a in result or []] or ["  code actions: none"]
    if method == "workspace/executeCommand":
        return [f"  result: {json.dumps(result)}"]
    return []


async def replay(path: Path, data_dir: Path, server: list[str]) -> tuple[Transcript, int]:
    """Play ``path`` through a server started with ``server``; return transcript and exit code."""
    steps = read_session(path)
    transcript = Transcript()
    env = {**os.environ, "AILOOP_DATA_DIR": str(data_dir)}
    process = await asyncio.create_subprocess_exec(
        *server, stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE, env=env
    )

    def on_notification(method: str, params: Any) -> None:
        for line in describe_received(method, params):
            transcript.add(line)

    async def on_request(method: str, params: Any) -> Any:  # the server asks the editor
        if method == "workspace/configuration":
            return [None for _ in params["items"]]
        return None

    assert process.stdout is not None
    assert process.stdin is not None
    peer = JsonRpcConnection(process.stdout, process.stdin, on_notification, on_request)
    peer.start()

    async def request(method: str, params: Any = None) -> Any:
        try:
            return await peer.request(method, params, timeout=TIMEOUT)
        except RequestTimeout as exc:
            raise ReplayError(f"the server did not answer {method} within {TIMEOUT:.0f} s") from exc
        except ConnectionClosed as exc:
            raise ReplayError(f"the server exited during {method}") from exc

    initialized = False
    typed: list[str] = []

    def flush_typing() -> None:
        if typed:
            transcript.add(f"> typed {''.join(typed)!r} ({len(typed)} changes)")
            typed.clear()

    try:
        for step in steps:
            if step.comment is not None:
                flush_typing()
                transcript.add(f"# {step.comment}")
                continue
            assert step.message is not None
            message = step.message
            if message["method"] in ("shutdown", "exit"):
                continue
            if (keystroke := typed_text(message)) is not None:
                typed.append(keystroke)
            else:
                flush_typing()
                transcript.add(f"> {describe_sent(message)}")
            if "id" in message:
                try:
                    result = await request(message["method"], message.get("params"))
                except ResponseError as exc:
                    transcript.add(f"  error: {exc}")
                else:
                    for line in describe_result(message, result):
                        transcript.add(line)
            else:
                peer.notify(message["method"], message.get("params"))
            if message["method"] == "initialized":
                initialized = True
            if initialized:
                await request("ailoop/settle", {})
        flush_typing()
        if initialized:
            await request("shutdown")
        peer.notify("exit")
        code = await asyncio.wait_for(process.wait(), TIMEOUT)
    finally:
        peer.close()
        if process.returncode is None:
            process.kill()
            await process.wait()
    return transcript, code


def server_command() -> list[str]:
    """Return the command that starts this ailoop's server."""
    return [sys.executable, "-m", "ailoop", "serve"]
