"""The server's reading of the wire: message order, and bytes that are not a valid message.

These tests write raw bytes to the real server's stdin, as an editor's transport would,
including what no well-behaved client sends.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest

from ailoop.feedback.jsonrpc import (
    FrameDecoder,
    JsonRpcConnection,
    ResponseError,
    encode_message,
)
from tests.conftest import events
from tests.e2e.lsp import SERVER, WAIT

SNIPPET = "def f(x):\n    y = x + 1\n    return y\n"


@dataclass
class Wire:
    """A running server, a JSON-RPC connection to it, and its raw stdin."""

    process: asyncio.subprocess.Process
    connection: JsonRpcConnection
    notifications: list[tuple[str, Any]] = field(default_factory=list)

    def write(self, data: bytes) -> None:
        assert self.process.stdin is not None
        self.process.stdin.write(data)

    def logged(self) -> list[str]:
        return [p["message"] for m, p in self.notifications if m == "window/logMessage"]

    def markers(self, uri: str) -> list[dict[str, Any]]:
        return [
            d
            for m, p in self.notifications
            if m == "textDocument/publishDiagnostics" and p["uri"] == uri
            for d in p["diagnostics"]
            if d.get("code") == "ai-snippet"
        ]


@contextlib.asynccontextmanager
async def wire(data_dir: Path, workspace: Path) -> AsyncIterator[Wire]:
    """Start ``ailoop serve``, initialize it, and shut it down cleanly at the end."""
    process = await asyncio.create_subprocess_exec(
        *SERVER,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "AILOOP_DATA_DIR": str(data_dir)},
    )
    assert process.stdin is not None
    assert process.stdout is not None
    notifications: list[tuple[str, Any]] = []

    async def on_request(method: str, params: Any) -> Any:
        return None

    connection = JsonRpcConnection(
        process.stdout,
        process.stdin,
        lambda method, params: notifications.append((method, params)),
        on_request,
    )
    connection.start()
    try:
        await connection.request(
            "initialize",
            {"processId": None, "rootUri": workspace.as_uri(), "capabilities": {}},
            timeout=WAIT,
        )
        connection.notify("initialized", {})
        yield Wire(process, connection, notifications)
        await connection.request("shutdown", None, timeout=WAIT)
        connection.notify("exit")
        assert await asyncio.wait_for(process.wait(), WAIT) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        connection.close()


def did_open(uri: str, text: str = "") -> dict[str, Any]:
    return {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}}


def did_change(uri: str, version: int, text: str) -> dict[str, Any]:
    at = {"line": 0, "character": 0}
    return {
        "textDocument": {"uri": uri, "version": version},
        "contentChanges": [{"range": {"start": at, "end": at}, "text": text}],
    }


def notification(method: str, params: Any) -> bytes:
    return encode_message({"jsonrpc": "2.0", "method": method, "params": params})


async def test_a_change_after_a_settings_change_in_the_same_read(
    data_dir: Path, workspace: Path
) -> None:
    """Settings pushed with didChangeConfiguration apply to the didChange right behind them.

    Both messages reach the server in one write, so they are read from one buffer: the
    settings handler (a task) must still run before the change is handled.
    """
    async with wire(data_dir, workspace) as server:
        uri = (workspace / "e.py").as_uri()
        server.connection.notify("textDocument/didOpen", did_open(uri))
        settings = {"settings": {"ailoop": {"detect": {"minLines": 5}}}}
        server.write(
            notification("workspace/didChangeConfiguration", settings)
            + notification("textDocument/didChange", did_change(uri, 2, SNIPPET))
        )
        await server.connection.request("ailoop/settle", {}, timeout=WAIT)
        assert server.markers(uri) == []  # 3 lines: below the 5 lines the settings asked for


@pytest.mark.parametrize(
    ("garbage", "logged"),
    [
        (b"Content-Length: 9\r\n\r\nnot json!", "is not a JSON object"),
        (b"Content-Type: text/plain\r\n\r\n", "header without Content-Length"),
        (b"Content-Length: many\r\n\r\n", "bad Content-Length"),
        (
            notification("textDocument/didChange", {"textDocument": 5, "contentChanges": []}),
            "expected str @ $.params.text_document.uri",
        ),
    ],
    ids=["not-json", "no-length", "bad-length", "bad-params"],
)
async def test_a_bad_message_is_logged_and_the_next_one_is_handled(
    data_dir: Path, workspace: Path, garbage: bytes, logged: str
) -> None:
    async with wire(data_dir, workspace) as server:
        uri = (workspace / "g.py").as_uri()
        server.connection.notify("textDocument/didOpen", did_open(uri))
        server.write(garbage + notification("textDocument/didChange", did_change(uri, 2, SNIPPET)))
        await server.connection.request("ailoop/settle", {}, timeout=WAIT)
        assert any(logged in message for message in server.logged()), server.logged()
        assert len(server.markers(uri)) == 1  # the change right behind was not lost


async def test_a_request_with_bad_params_gets_an_error_answer(
    data_dir: Path, workspace: Path
) -> None:
    async with wire(data_dir, workspace) as server:
        with pytest.raises(ResponseError) as raised:
            await server.connection.request(
                "textDocument/codeAction", {"textDocument": 5}, timeout=WAIT
            )
        assert raised.value.code == -32602  # InvalidParams, not a client left waiting
        assert "textDocument/codeAction" in str(raised.value)
        await server.connection.request("ailoop/settle", {}, timeout=WAIT)


async def test_a_body_nested_too_deep_gets_an_error_answer_and_the_server_reads_on(
    data_dir: Path, workspace: Path
) -> None:
    depth = 100_000
    deep = (
        b'{"jsonrpc":"2.0","id":"deep","method":"textDocument/hover","params":'
        + b"[" * depth
        + b"]" * depth
        + b"}"
    )
    uri = (workspace / "deep.py").as_uri()
    process = await asyncio.create_subprocess_exec(
        *SERVER,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "AILOOP_DATA_DIR": str(data_dir)},
    )
    assert process.stdin is not None
    assert process.stdout is not None
    init = {"processId": None, "rootUri": workspace.as_uri(), "capabilities": {}}
    process.stdin.write(
        encode_message({"jsonrpc": "2.0", "id": 1, "method": "initialize", "params": init})
        + notification("initialized", {})
        + b"Content-Length: %d\r\n\r\n%s" % (len(deep), deep)
        + notification("textDocument/didOpen", did_open(uri))
        + notification("textDocument/didChange", did_change(uri, 2, SNIPPET))
        + encode_message({"jsonrpc": "2.0", "id": 2, "method": "ailoop/settle", "params": {}})
    )
    answers: dict[Any, dict[str, Any]] = {}
    published: list[dict[str, Any]] = []
    decoder = FrameDecoder()
    try:
        while 2 not in answers:
            chunk = await asyncio.wait_for(process.stdout.read(65536), WAIT)
            assert chunk, "the server ended"
            for body in decoder.feed(chunk):
                message = json.loads(body)
                if "id" in message and "method" not in message:
                    answers[message["id"]] = message
                elif message.get("method") == "textDocument/publishDiagnostics":
                    published.append(message["params"])
        assert answers["deep"]["error"]["code"] == -32700
        assert "nested too deeply" in answers["deep"]["error"]["message"]
        assert any(d["code"] == "ai-snippet" for p in published for d in p["diagnostics"])
    finally:
        process.kill()
        await process.wait()


async def test_the_end_of_input_without_shutdown_writes_pending_events(
    data_dir: Path, workspace: Path
) -> None:
    """The editor closes the pipe right after an edit inside a snippet: nothing is lost."""
    process = await asyncio.create_subprocess_exec(
        *SERVER,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "AILOOP_DATA_DIR": str(data_dir)},
    )
    assert process.stdin is not None
    assert process.stdout is not None
    connection = JsonRpcConnection(process.stdout, process.stdin, lambda m, p: None, _no_answer)
    connection.start()
    try:
        await connection.request(
            "initialize",
            {"processId": None, "rootUri": workspace.as_uri(), "capabilities": {}},
            timeout=WAIT,
        )
        connection.notify("initialized", {})
        uri = (workspace / "eof.py").as_uri()
        connection.notify("textDocument/didOpen", did_open(uri))
        connection.notify("textDocument/didChange", did_change(uri, 2, SNIPPET))
        await connection.request("ailoop/settle", {}, timeout=WAIT)
        at = {"line": 1, "character": 4}
        edit = {"range": {"start": at, "end": at}, "text": "z = 0; "}
        connection.notify(
            "textDocument/didChange",
            {"textDocument": {"uri": uri, "version": 3}, "contentChanges": [edit]},
        )
        process.stdin.close()
        await asyncio.wait_for(process.wait(), WAIT)
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        connection.close()
    kinds = [e["kind"] for e in events(data_dir)]
    assert kinds == ["generated", "modified", "reverted"]  # the document was never saved


async def _no_answer(method: str, params: Any) -> Any:
    return None
