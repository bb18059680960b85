"""Start-up, configuration and shutdown."""

from __future__ import annotations

import asyncio
import gc
from typing import Any

from lsprotocol import types

from ailoop import settings as settings_module
from ailoop.lsp import capture, diagnostics, feedback, patterns, sync
from ailoop.lsp.capture import flush_modified
from ailoop.lsp.server import AiloopServer
from ailoop.store.local import default_data_dir
from ailoop.store.writer import EventWriter


def register(server: AiloopServer) -> None:
    """Register the lifecycle handlers."""
    server.feature(types.INITIALIZE)(initialize)
    server.feature(types.INITIALIZED)(initialized)
    server.feature(types.WORKSPACE_DID_CHANGE_CONFIGURATION)(did_change_configuration)
    server.feature(types.SHUTDOWN)(shutdown)
    server.feature("ailoop/settle")(settle)


def initialize(ls: AiloopServer, params: types.InitializeParams) -> None:
    """Read the workspace's settings and the editor's initialization options."""
    asyncio.get_running_loop().call_soon(end_of_start_up)  # after the answer is written
    ls.set_root(params)
    options = params.initialization_options
    if isinstance(options, dict) and isinstance(options.get("ailoop"), dict):
        options = options["ailoop"]
    ls.init_options = options
    apply_settings(ls, None)
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
    Frozen, they stay out of every later collection too. What start-up left for the
    collector (~8 MB: attrs leaves a class behind for each slotted class lsprotocol
    defines) is frozen with them: a collection of it would stall the server for ~50 ms
    just as the editor opens its documents, and measured, it made start-up slower.
    """
    gc.freeze()
    gc.enable()


def apply_settings(ls: AiloopServer, from_editor: Any) -> None:
    """Load settings from the workspace files and the editor; report problems once each.

    Open documents take the new detection thresholds; the engines restart only when their
    settings changed.
    """
    previous = ls.settings
    loaded, problems = settings_module.load(
        ls.root,
        ("initializationOptions", ls.init_options),
        ("workspace/configuration", from_editor),
    )
    ls.settings = loaded
    for problem in problems:
        ls.problem(problem)
    thresholds = capture.thresholds(ls)
    for doc in ls.documents.values():
        doc.thresholds = thresholds
    changed = (loaded.feedback, loaded.engines) != (previous.feedback, previous.engines)
    if ls.hub is not None and changed:
        ls.run_task(feedback.reconfigure(ls), "reconfigure the feedback engines")


async def initialized(ls: AiloopServer, params: types.InitializedParams) -> None:
    """Ask the editor for its ``ailoop`` settings, then load the rejection patterns."""
    await pull_configuration(ls)
    ls.run_task(feedback.start(ls), "start feedback engines")
    ls.run_task(patterns.start(ls), "load patterns")
    ls.run_task(sync.start(ls), "start the sync")


async def pull_configuration(ls: AiloopServer) -> None:
    """Fetch the ``ailoop`` section of ``workspace/configuration`` and apply it."""
    workspace = ls.client_capabilities.workspace
    if workspace is None or not workspace.configuration:
        return
    try:
        answer = await asyncio.wait_for(
            ls.workspace_configuration_async(
                types.ConfigurationParams(items=[types.ConfigurationItem(section="ailoop")])
            ),
            timeout=10,
        )
    except (asyncio.TimeoutError, Exception) as exc:  # noqa: BLE001 - any client failure
        ls.log(f"could not read the editor's ailoop settings: {exc!r}", types.MessageType.Warning)
        return
    section = answer[0] if answer else None
    apply_settings(ls, section if isinstance(section, dict) else None)


async def did_change_configuration(
    ls: AiloopServer, params: types.DidChangeConfigurationParams
) -> None:
    """Re-read the settings when the editor's change."""
    settings = params.settings
    if isinstance(settings, dict) and isinstance(settings.get("ailoop"), dict):
        apply_settings(ls, settings["ailoop"])
    else:
        await pull_configuration(ls)


async def shutdown(ls: AiloopServer, params: None) -> None:
    """Stop the engines; write what is pending (modified snippets, queued events)."""
    if ls.hub is not None:
        await ls.hub.stop()
        ls.hub = None
    await sync.stop(ls)
    for doc in list(ls.documents.values()):
        await flush_modified(ls, doc)
    if ls.writer is not None:
        await ls.writer.close()
        ls.writer = None


async def settle(ls: AiloopServer, params: Any) -> dict[str, int]:
    """``ailoop/settle``: finish pending work now (publishes, modified events, checks).

    For tools that replay a session and must see every effect of one message before
    sending the next; editors never need it.
    """
    for uri, timer in list(ls.publish_timers.items()):
        timer.cancel()
        diagnostics.publish(ls, uri, lenses=False)
    for doc in list(ls.documents.values()):
        await flush_modified(ls, doc)
    while pending := [t for t in ls.tasks if t is not asyncio.current_task()]:
        await asyncio.gather(*pending, return_exceptions=True)
    if ls.hub is not None:
        await ls.hub.settle()
    return {"pending_events": ls.writer.pending if ls.writer else 0}
