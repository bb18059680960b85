"""Messages take effect in the order the client sent them, however they arrive."""

from __future__ import annotations

import asyncio
import os
from pathlib import Path
from typing import Any

from ailoop.feedback.jsonrpc import JsonRpcConnection, encode_message
from tests.e2e.lsp import SERVER

SNIPPET = "def f(x):\n    y = x + 1\n    return y\n"


async def test_a_change_after_a_settings_change_in_the_same_read(
    data_dir: Path, workspace: Path
) -> None:
    """Settings pushed with didChangeConfiguration apply to the didChange right behind them.

    Both messages reach the server in one write, so they are read from one buffer: the
    settings handler (a task) must still run before the change is handled.
    """
    process = await asyncio.create_subprocess_exec(
        *SERVER,
        stdin=asyncio.subprocess.PIPE,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.DEVNULL,
        env={**os.environ, "AILOOP_DATA_DIR": str(data_dir)},
    )
    assert process.stdin is not None
    assert process.stdout is not None
    published: list[dict[str, Any]] = []

    def on_notification(method: str, params: Any) -> None:
        if method == "textDocument/publishDiagnostics":
            published.append(params)

    async def on_request(method: str, params: Any) -> Any:
        return None

    connection = JsonRpcConnection(process.stdout, process.stdin, on_notification, on_request)
    connection.start()
    uri = (workspace / "e.py").as_uri()
    try:
        await connection.request(
            "initialize",
            {"processId": None, "rootUri": workspace.as_uri(), "capabilities": {}},
            timeout=30,
        )
        connection.notify("initialized", {})
        connection.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": ""}},
        )
        at = {"line": 0, "character": 0}
        settings = {"settings": {"ailoop": {"detect": {"minLines": 5}}}}
        change = {
            "textDocument": {"uri": uri, "version": 2},
            "contentChanges": [{"range": {"start": at, "end": at}, "text": SNIPPET}],
        }
        process.stdin.write(
            encode_message(
                {"jsonrpc": "2.0", "method": "workspace/didChangeConfiguration", "params": settings}
            )
            + encode_message(
                {"jsonrpc": "2.0", "method": "textDocument/didChange", "params": change}
            )
        )
        await connection.request("ailoop/settle", {}, timeout=30)
        markers = [
            d
            for p in published
            if p["uri"] == uri
            for d in p["diagnostics"]
            if d.get("code") == "ai-snippet"
        ]
        assert markers == []  # 3 lines: below the 5 lines the settings asked for
        await connection.request("shutdown", None, timeout=30)
        connection.notify("exit")
        assert await asyncio.wait_for(process.wait(), 30) == 0
    finally:
        if process.returncode is None:
            process.kill()
            await process.wait()
        connection.close()
