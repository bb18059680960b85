"""Start-up, configuration, workspace folders and shutdown."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

from lsprotocol import types

from ailoop.lsp import diagnostics, documents, folders, sync
from ailoop.lsp.server import AiloopServer
from ailoop.store.local import default_data_dir
from ailoop.store.writer import EventWriter


def register(server: AiloopServer) -> None:
    """Register the lifecycle handlers."""
    server.feature(types.INITIALIZE)(initialize)
    server.feature(types.INITIALIZED)(initialized)
    server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)(did_change_configuration)
    server.feature(types.WORKSPACE_DID_CHANGE_WORKSPACE_FOLDERS)(did_change_workspace_folders)
    server.feature(types.SHUTDOWN)(shutdown)
    server.feature("ailoop/settle")(settle)
    server.teardown = lambda: teardown(server)


def initialize(ls: AiloopServer, params: types.InitializeParams) -> None:
    """Take the workspace folders, their settings and the editor's initialization options."""
    asyncio.get_running_loop().call_soon(end_of_start_up)  # after the answer is written
    session = ls.session
    options = params.initialization_options
    if isinstance(options, dict) and isinstance(options.get("ailoop"), dict):
        options = options["ailoop"]
    if isinstance(options, dict) and "workspaceTrust" in options:
        options = dict(options)
        trusted = options.pop("workspaceTrust")
        if isinstance(trusted, bool):
            session.editor_trust = trusted
        else:
            ls.problem(
                f"initializationOptions.workspaceTrust must be true or false, not {trusted!r}"
            )
    session.init_options = options
    for item in params.workspace_folders or []:
        session.add_folder(item.uri, item.name)
    if not session.folders:
        root_uri = params.root_uri
        if root_uri is None and params.root_path:
            from pathlib import Path

            root_uri = Path(params.root_path).as_uri()
        if root_uri:
            session.add_folder(root_uri, root_uri.rstrip("/").rsplit("/", 1)[-1])
    for folder in session.folders:
        folders.configure(ls, folder)
    ls.look_up_user()
    ls.writer = EventWriter(
        ls.data_dir or default_data_dir(),
        on_problem=lambda message: ls.problem(message, types.MessageType.Error),
        on_recovered=ls.log,
    )


def end_of_start_up() -> None:
    """Switch the cyclic garbage collector back on, with start-up's objects frozen.

    ``ailoop serve`` switches it off while it imports and builds the server: start-up
    creates hundreds of thousands of objects that live as long as the process (modules,
    classes, the converters' generated code), and the collector would go over all of them
    again each time the heap grew by a quarter, about a fifth of the time to ``initialize``.
    Frozen, they stay out of every later collection too.
    """
    gc.freeze()
    gc.enable()


async def initialized(ls: AiloopServer, params: types.InitializedParams) -> None:
    """Ask the editor for its ``ailoop`` settings, then start the folders in use and sync."""
    await folders.start(ls)
    ls.run_task(sync.start(ls), "start the sync")


def did_change_configuration(ls: AiloopServer, params: types.DidChangeConfigurationParams) -> None:
    """Read the settings again when the editor's change."""
    session = ls.session
    pushed = params.settings
    if (
        isinstance(pushed, dict)
        and isinstance(pushed.get("ailoop"), dict)
        and len(session.folders) <= 1
    ):
        # Pushed settings have no scope: they can stand for one folder only.
        session.window_settings = pushed["ailoop"]
        for folder in session.all_folders():
            folder.editor_settings = pushed["ailoop"]
            folders.configure(ls, folder)
        return
    ls.run_task(folders.pull_configuration(ls, list(session.folders)), "read the editor's settings")


def did_change_workspace_folders(
    ls: AiloopServer, params: types.DidChangeWorkspaceFoldersParams
) -> None:
    """Follow folders added to and removed from the workspace."""
    folders.change_folders(ls, params.event)


async def shutdown(ls: AiloopServer, params: None) -> None:
    """Close the open documents (their snippets get outcomes), stop the engines, write all."""
    await ls.tear_down()


async def teardown(ls: AiloopServer) -> None:
    """Stop everything and write what is pending; run once, however the connection ends.

    The documents still open are closed first, as if the editor had closed them: their
    unreviewed snippets are ``kept`` if saved, ``reverted`` if gone.
    """
    await documents.close_all(ls)
    await asyncio.gather(*(folders.stop(ls, f) for f in ls.session.all_folders()))
    await sync.stop(ls)
    if ls.writer is not None:
        await ls.writer.close()
        ls.writer = None


async def settle(ls: AiloopServer, params: Any) -> dict[str, int]:
    """``ailoop/settle``: finish pending work now (publishes, modified events, checks).

    For tools that replay a session and must see every effect of one message before
    sending the next; editors never need it.
    """
    for doc in list(ls.session.documents.values()):
        if doc.publish_timer is not None:
            diagnostics.publish(ls, doc, lenses=False)
        await documents.flush_modified(ls, doc)
    while pending := [t for t in ls.tasks if t is not asyncio.current_task()]:
        await asyncio.gather(*pending, return_exceptions=True)
    for folder in ls.session.all_folders():
        if folder.hub is not None:
            await folder.hub.settle()
    while pending := [t for t in ls.tasks if t is not asyncio.current_task()]:
        await asyncio.gather(*pending, return_exceptions=True)
    return {"pending_events": ls.writer.pending if ls.writer else 0}
