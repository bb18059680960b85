"""Driving the real server over stdio with pytest-lsp's client."""

from __future__ import annotations

import asyncio
import contextlib
import os
import sys
from collections.abc import AsyncIterator, Callable, Sequence
from pathlib import Path
from typing import Any

from lsprotocol import types
from pytest_lsp import ClientServerConfig, LanguageClient, client_capabilities

SERVER = [
    sys.executable,
    "-m",
    "ailoop",
    "serve",
    *os.environ.get("AILOOP_TEST_SERVER_ARGS", "").split(),
]
WAIT = 15.0


@contextlib.asynccontextmanager
async def session(
    editor: str,
    data_dir: Path,
    root: Path,
    init_options: Any = None,
    folders: Sequence[types.WorkspaceFolder] | None = None,
    capabilities: types.ClientCapabilities | None = None,
) -> AsyncIterator[LanguageClient]:
    """Start ``ailoop serve`` and initialize it as ``editor`` would.

    The workspace is ``root`` alone unless ``folders`` are given; ``capabilities`` replace
    the editor's.
    """
    config = ClientServerConfig(
        server_command=SERVER, server_env={**os.environ, "AILOOP_DATA_DIR": str(data_dir)}
    )
    client = await config.start()
    assert isinstance(client, LanguageClient)

    # lsprotocol 2025.0.0 structures every code action that has a "command" as a Command,
    # losing the action; tell the two apart as editors do: a Command's "command" is a string.
    converter = client.protocol._converter

    def code_action_or_command(obj: Any, _: type) -> types.Command | types.CodeAction:
        if isinstance(obj.get("command"), str):
            return converter.structure(obj, types.Command)
        return converter.structure(obj, types.CodeAction)

    converter.register_structure_hook(
        types.Command | types.CodeAction,  # type: ignore[arg-type]
        code_action_or_command,
    )

    @client.feature(types.WORKSPACE_CODE_LENS_REFRESH)
    def code_lens_refresh(params: None) -> None:
        """Answer like an editor: it fetches code lenses again on its own schedule."""

    message_requests: list[types.ShowMessageRequestParams] = []
    client.message_requests = message_requests  # type: ignore[attr-defined]

    @client.feature(types.WINDOW_SHOW_MESSAGE_REQUEST)
    def show_message_request(params: types.ShowMessageRequestParams) -> None:
        """Keep the request and answer as an editor whose user closed it without a choice."""
        message_requests.append(params)

    registered: list[types.RegistrationParams] = []
    client.registered = registered  # type: ignore[attr-defined]

    @client.feature(types.CLIENT_REGISTER_CAPABILITY)
    def register_capability(params: types.RegistrationParams) -> None:
        """Keep the registration and accept it, as an editor does."""
        registered.append(params)

    await client.initialize_session(
        types.InitializeParams(
            capabilities=capabilities or client_capabilities(editor),
            root_uri=root.as_uri(),
            workspace_folders=list(folders)
            if folders is not None
            else [types.WorkspaceFolder(uri=root.as_uri(), name=root.name)],
            initialization_options=init_options,
        )
    )
    try:
        yield client
    finally:
        await client.shutdown_session()
        await client.stop()


def open_doc(client: LanguageClient, path: Path, text: str, version: int = 1) -> str:
    """Open ``path`` with ``text`` in the editor; return its URI."""
    uri = path.as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri=uri, language_id="python", version=version, text=text)
        )
    )
    return uri


def change(
    client: LanguageClient,
    uri: str,
    version: int,
    start: tuple[int, int],
    end: tuple[int, int],
    text: str,
) -> None:
    """Send one incremental change."""
    client.text_document_did_change(
        types.DidChangeTextDocumentParams(
            text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
            content_changes=[
                types.TextDocumentContentChangePartial(
                    range=types.Range(types.Position(*start), types.Position(*end)), text=text
                )
            ],
        )
    )


async def settle(client: LanguageClient) -> None:
    """Wait until the server has finished everything the messages so far caused."""
    await asyncio.wait_for(client.protocol.send_request_async("ailoop/settle", {}), WAIT)


async def diagnostics_where(
    client: LanguageClient,
    uri: str,
    predicate: Callable[[Sequence[types.Diagnostic]], bool],
    wait: float = WAIT,
) -> Sequence[types.Diagnostic]:
    """Wait until the diagnostics published for ``uri`` satisfy ``predicate`` (``wait`` s)."""

    async def until() -> Sequence[types.Diagnostic]:
        while not predicate(client.diagnostics.get(uri, [])):
            await client.wait_for_notification(types.TEXT_DOCUMENT_PUBLISH_DIAGNOSTICS)
        return client.diagnostics[uri]

    try:
        return await asyncio.wait_for(until(), wait)
    except asyncio.TimeoutError:
        last = [
            f"{d.range.start.line}:{d.range.start.character} {codes_of(d)}"
            for d in client.diagnostics.get(uri, [])
        ]
        said = [m.message for m in [*client.log_messages, *client.messages]]
        raise AssertionError(
            f"no diagnostics as wanted within {wait:g} s; the last published: {last}; "
            f"the server said: {said}"
        ) from None


def markers(items: Sequence[types.Diagnostic]) -> list[types.Diagnostic]:
    """Return the ai-snippet markers among diagnostics."""
    return [d for d in items if d.code == "ai-snippet" and d.source == "ailoop"]


def codes_of(diagnostic: types.Diagnostic) -> list[str]:
    """Return the rule codes a diagnostic stands for: its own, or all those merged into it."""
    data = diagnostic.data if isinstance(diagnostic.data, dict) else {}
    return [str(c) for c in data.get("codes") or [diagnostic.code]]


def with_code(items: Sequence[types.Diagnostic], code: str) -> list[types.Diagnostic]:
    """Return the diagnostics that carry ``code`` (as their own code or merged into them)."""
    return [d for d in items if code in codes_of(d)]
