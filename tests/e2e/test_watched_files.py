"""Patterns follow the file: a running server picks up new and changed patterns files.

With a client that watches files for its servers, the server registers watchers for each
folder's ``.ailoop/patterns.toml``, ``.ailoop.toml`` and ``pyproject.toml`` and reloads on
the client's ``workspace/didChangeWatchedFiles``; with a client that does not, it looks at
the files' modification times before matching a snippet.
"""

from __future__ import annotations

import asyncio
import os
import subprocess
import sys
from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient, client_capabilities

from ailoop.capture.identity import snippet_id
from tests.conftest import events
from tests.e2e.lsp import change, diagnostics_where, markers, open_doc, session, settle

SERVER_DIR = Path(__file__).resolve().parents[2] / "server"

PRINT_PATTERN = """
[[pattern]]
id = "print-call"
title = "print left in"
languages = ["python"]
regex = 'print\\('
"""

SLEEP_PATTERN = """
[[pattern]]
id = "sleep-call"
title = "sleep in a handler"
languages = ["python"]
regex = 'time\\.sleep\\('
"""


def snippet(n: int) -> str:
    """An AI-sized insertion that both patterns above match."""
    return (
        f"def handler_{n}(request):\n"
        f'    """Handle request {n}."""\n'
        "    time.sleep(1)\n"
        f"    print(request, {n})\n"
        f"    return {n}\n"
    )


async def pattern_keys_offered(client: LanguageClient, uri: str, line: int) -> set[str]:
    """Return the pattern keys the Reject actions on ``line`` offer."""
    actions = await client.text_document_code_action_async(
        types.CodeActionParams(
            text_document=types.TextDocumentIdentifier(uri),
            range=types.Range(types.Position(line, 0), types.Position(line, 0)),
            context=types.CodeActionContext(diagnostics=[]),
        )
    )
    keys = set()
    for action in actions or []:
        command = action.command if isinstance(action, types.CodeAction) else action
        for argument in (command.arguments or []) if command else []:
            if isinstance(argument, dict) and argument.get("pattern"):
                keys.add(argument["pattern"])
    return keys


async def insert(client: LanguageClient, uri: str, version: int, at: int, n: int) -> None:
    """Insert ``snippet(n)`` at line ``at``; wait for its marker and its event."""
    change(client, uri, version, (at, 0), (at, 0), snippet(n))
    await diagnostics_where(client, uri, lambda d: len(markers(d)) >= n)
    await settle(client)  # its generated event is written: its patterns were matched


def editor_capabilities(
    editor: str, *, watch_files: bool, relative_patterns: bool = True
) -> types.ClientCapabilities:
    """A real editor's capabilities, with or without watching files for its servers."""
    caps = client_capabilities(editor)
    assert caps.workspace is not None
    caps.workspace.did_change_watched_files = types.DidChangeWatchedFilesClientCapabilities(
        dynamic_registration=watch_files,
        relative_pattern_support=relative_patterns if watch_files else None,
    )
    return caps


def generated_findings(data_dir: Path) -> dict[str, set[str]]:
    """The findings of each generated event, by snippet id."""
    return {e["snippet"]: set(e["findings"]) for e in events(data_dir) if e["kind"] == "generated"}


@pytest.fixture
def patterns_file(workspace: Path) -> Path:
    """Where the workspace's patterns file goes (its folder exists, the file does not)."""
    (workspace / ".ailoop").mkdir()
    return workspace / ".ailoop" / "patterns.toml"


@pytest.mark.parametrize(
    ("editor", "relative"),
    [("neovim", True), ("visual_studio_code", False)],
    ids=["relative-patterns", "globs"],
)
async def test_registered_watchers_reload_a_new_patterns_file(
    data_dir: Path, workspace: Path, patterns_file: Path, editor: str, relative: bool
) -> None:
    caps_editor = "neovim@v0.11.0" if editor == "neovim" else editor
    async with session(
        caps_editor,
        data_dir,
        workspace,
        capabilities=editor_capabilities(caps_editor, watch_files=True, relative_patterns=relative),
    ) as client:
        await settle(client)  # the registration is answered
        registered = client.registered  # type: ignore[attr-defined]
        (registration,) = registered[0].registrations
        assert registration.method == "workspace/didChangeWatchedFiles"
        watchers = registration.register_options["watchers"]
        if relative:
            assert [w["globPattern"] for w in watchers] == [
                {"baseUri": workspace.as_uri(), "pattern": name}
                for name in (".ailoop/patterns.toml", ".ailoop.toml", "pyproject.toml")
            ]
        else:
            assert [w["globPattern"] for w in watchers] == [
                "**/.ailoop/patterns.toml",
                "**/.ailoop.toml",
                "**/pyproject.toml",
            ]
        uri = open_doc(client, workspace / "shop" / "handlers.py", "import time\n")
        await insert(client, uri, 2, 1, 1)
        assert await pattern_keys_offered(client, uri, 2) == set()

        patterns_file.write_text(PRINT_PATTERN, encoding="utf-8")
        client.workspace_did_change_watched_files(
            types.DidChangeWatchedFilesParams(
                changes=[
                    types.FileEvent(uri=patterns_file.as_uri(), type=types.FileChangeType.Created)
                ]
            )
        )
        await insert(client, uri, 3, 6, 2)
        assert await pattern_keys_offered(client, uri, 8) == {"pattern:print-call"}

        with patterns_file.open("a", encoding="utf-8") as out:
            out.write(SLEEP_PATTERN)
        client.workspace_did_change_watched_files(
            types.DidChangeWatchedFilesParams(
                changes=[
                    types.FileEvent(uri=patterns_file.as_uri(), type=types.FileChangeType.Changed)
                ]
            )
        )
        await insert(client, uri, 4, 11, 3)
        assert await pattern_keys_offered(client, uri, 13) == {
            "pattern:print-call",
            "pattern:sleep-call",
        }
        await settle(client)
    found = generated_findings(data_dir)
    assert not {k for k in found[snippet_id(snippet(1))] if k.startswith("pattern:")}
    assert "pattern:print-call" in found[snippet_id(snippet(2))]
    assert "pattern:sleep-call" not in found[snippet_id(snippet(2))]
    assert {"pattern:print-call", "pattern:sleep-call"} <= found[snippet_id(snippet(3))]


async def test_registered_watchers_reload_a_changed_ailoop_toml(
    data_dir: Path, workspace: Path
) -> None:
    """Settings follow their file too, and a change that runs nothing asks for no trust."""
    async with session(
        "neovim@v0.11.0",
        data_dir,
        workspace,
        capabilities=editor_capabilities("neovim@v0.11.0", watch_files=True),
    ) as client:
        await settle(client)  # the registration is answered
        assert client.registered  # type: ignore[attr-defined]
        uri = open_doc(client, workspace / "shop" / "handlers.py", "import time\n")
        await insert(client, uri, 2, 1, 1)
        settings = workspace / ".ailoop.toml"
        settings.write_text("[detect]\nmin_lines = 50\nmin_chars = 100000\n", encoding="utf-8")
        client.workspace_did_change_watched_files(
            types.DidChangeWatchedFilesParams(
                changes=[types.FileEvent(uri=settings.as_uri(), type=types.FileChangeType.Created)]
            )
        )
        change(client, uri, 3, (6, 0), (6, 0), snippet(2))
        await settle(client)
        assert len(markers(client.diagnostics[uri])) == 1  # five lines: no longer a snippet
        assert not client.message_requests  # type: ignore[attr-defined]
    assert snippet_id(snippet(2)) not in generated_findings(data_dir)


async def test_without_watching_the_files_are_looked_at_before_matching(
    data_dir: Path, workspace: Path, patterns_file: Path
) -> None:
    async with session(
        "neovim@v0.11.0",
        data_dir,
        workspace,
        capabilities=editor_capabilities("neovim@v0.11.0", watch_files=False),
    ) as client:
        uri = open_doc(client, workspace / "shop" / "handlers.py", "import time\n")
        await insert(client, uri, 2, 1, 1)
        assert await pattern_keys_offered(client, uri, 2) == set()
        patterns_file.write_text(PRINT_PATTERN, encoding="utf-8")  # no notification
        await insert(client, uri, 3, 6, 2)
        assert await pattern_keys_offered(client, uri, 8) == {"pattern:print-call"}
        await settle(client)
        assert client.registered == []  # type: ignore[attr-defined]
    found = generated_findings(data_dir)
    assert "pattern:print-call" in found[snippet_id(snippet(2))]


def ailoop_cli(*args: str, cwd: Path, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AILOOP_DATA_DIR": str(data_dir)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SERVER_DIR), env.get("PYTHONPATH")]))
    return subprocess.run(
        [sys.executable, "-m", "ailoop", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


@pytest.mark.parametrize("watch_files", [False, True], ids=["mtime", "watchers"])
async def test_patterns_promote_takes_effect_in_a_running_server(
    data_dir: Path, workspace: Path, patterns_file: Path, watch_files: bool
) -> None:
    patterns_file.write_text(SLEEP_PATTERN, encoding="utf-8")
    async with session(
        "neovim@v0.11.0",
        data_dir,
        workspace,
        capabilities=editor_capabilities(
            "neovim@v0.11.0", watch_files=watch_files, relative_patterns=True
        ),
    ) as client:
        uri = open_doc(client, workspace / "shop" / "handlers.py", "import time\n")
        await insert(client, uri, 2, 1, 1)
        assert await pattern_keys_offered(client, uri, 2) == {"pattern:sleep-call"}
        promoted = await asyncio.to_thread(
            ailoop_cli,
            "patterns",
            "promote",
            "debug print left in",
            "--id",
            "print-call",
            "--regex",
            r"print\(",
            "--language",
            "python",
            cwd=workspace,
            data_dir=data_dir,
        )
        assert promoted.returncode == 0, promoted.stderr
        if watch_files:  # as the editor's watcher reports the write
            client.workspace_did_change_watched_files(
                types.DidChangeWatchedFilesParams(
                    changes=[
                        types.FileEvent(
                            uri=patterns_file.as_uri(), type=types.FileChangeType.Changed
                        )
                    ]
                )
            )
        await insert(client, uri, 3, 6, 2)
        assert await pattern_keys_offered(client, uri, 8) == {
            "pattern:print-call",
            "pattern:sleep-call",
        }
        await settle(client)


async def test_a_reloaded_settings_file_asks_for_trust_only_when_what_it_runs_changed(
    data_dir: Path, tmp_path: Path
) -> None:
    from tests.e2e.test_trust import engine_config, untrusted_repo

    root, _, _ = untrusted_repo(tmp_path)
    settings = root / ".ailoop.toml"

    def reported(client: LanguageClient) -> None:
        client.workspace_did_change_watched_files(
            types.DidChangeWatchedFilesParams(
                changes=[types.FileEvent(uri=settings.as_uri(), type=types.FileChangeType.Changed)]
            )
        )

    async with session(
        "neovim@v0.11.0",
        data_dir,
        root,
        capabilities=editor_capabilities("neovim@v0.11.0", watch_files=True),
    ) as client:
        open_doc(client, root / "a.py", "x = 1\n")
        await settle(client)
        asked = client.message_requests  # type: ignore[attr-defined]
        assert len(asked) == 1
        # a setting that runs nothing: the same engines, so no second question
        settings.write_text(
            settings.read_text(encoding="utf-8") + "\n[detect]\nmin_lines = 4\n", encoding="utf-8"
        )
        reported(client)
        await settle(client)
        assert len(asked) == 1
        # another command: what would run changed, so the user is asked again
        settings.write_text(engine_config(tmp_path / "other-ran"), encoding="utf-8")
        reported(client)
        await settle(client)
        assert len(asked) == 2
        assert "is not trusted" in asked[1].message
