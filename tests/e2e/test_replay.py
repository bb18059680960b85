"""``ailoop replay`` on the shipped session, and recording a session with ``serve --record``."""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

from ailoop.capture.identity import snippet_id
from tests.conftest import ailoop, events
from tests.e2e.lsp import change, diagnostics_where, markers, open_doc, settle

EXAMPLE = Path(__file__).parents[2] / "examples" / "session.jsonl"


def test_replay_of_the_shipped_session_shows_what_the_editor_saw(data_dir: Path) -> None:
    result = ailoop("replay", str(EXAMPLE), "--data-dir", str(data_dir), data_dir=data_dir)
    out = result.stdout
    assert "[ai-snippet] AI snippet from copilot, 5 lines" in out
    assert "[ai-snippet] AI snippet from unknown, 5 lines" in out
    assert "> typed '\\nTAX = 0.2' (10 changes)" in out
    assert "code lens 10:1-10:1: AI snippet · copilot · 5 lines" in out
    assert "code action: Reject AI snippet (copilot, 5 lines)" in out
    assert "21:5-21:11 [ruff:E722] Do not use bare `except` (in an AI snippet)" in out
    assert "Events recorded (4)" in out
    kinds = [(e["kind"], e["tool"]) for e in events(data_dir)]
    assert kinds == [
        ("generated", "copilot"),
        ("generated", "unknown"),
        ("accepted", "copilot"),
        ("rejected", "unknown"),
    ]
    rejected = events(data_dir)[-1]
    assert rejected["reason"] == "swallows every exception; catch ValueError"
    assert "ruff:E722" in rejected["findings"]


def test_replay_rejects_a_malformed_session(tmp_path: Path, data_dir: Path) -> None:
    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"jsonrpc": "2.0", "method": "initialized"}\n{not json\n', encoding="utf-8")
    result = ailoop("replay", str(bad), data_dir=data_dir, check=False)
    assert result.returncode == 1
    assert "bad.jsonl:2: not a JSON message" in result.stderr


async def test_a_recorded_session_replays_to_the_same_events(
    tmp_path: Path, workspace: Path
) -> None:
    recording = tmp_path / "session.jsonl"
    live = tmp_path / "live"
    config = ClientServerConfig(
        server_command=[sys.executable, "-m", "ailoop", "serve", "--record", str(recording)],
        server_env={**os.environ, "AILOOP_DATA_DIR": str(live)},
    )
    client = await config.start()
    assert isinstance(client, LanguageClient)
    await client.initialize_session(
        types.InitializeParams(
            capabilities=client_capabilities("neovim"), root_uri=workspace.as_uri()
        )
    )
    text = "def f(x):\n    y = x + 1\n    return y\n"
    uri = open_doc(client, workspace / "a.py", "")
    change(client, uri, 2, (0, 0), (0, 0), text)
    await diagnostics_where(client, uri, lambda d: bool(markers(d)))
    await client.workspace_execute_command_async(
        types.ExecuteCommandParams("ailoop.reject", [{"uri": uri, "snippet": snippet_id(text)}])
    )
    await settle(client)
    await client.shutdown_session()
    await client.stop()

    recorded = [json.loads(line) for line in recording.read_text(encoding="utf-8").splitlines()]
    assert [m["method"] for m in recorded][:3] == [
        "initialize",
        "initialized",
        "textDocument/didOpen",
    ]
    replayed = tmp_path / "replayed"
    ailoop("replay", str(recording), "--data-dir", str(replayed), data_dir=replayed)
    assert [(e["kind"], e["snippet"]) for e in events(replayed)] == [
        (e["kind"], e["snippet"]) for e in events(live)
    ]
    assert [e["kind"] for e in events(live)] == ["generated", "rejected"]
