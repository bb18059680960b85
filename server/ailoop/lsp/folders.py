"""Workspace folders: each with its own settings, patterns and engines.

A folder's settings are the user's config, then its files (``[tool.ailoop]`` in its
``pyproject.toml``, its ``.ailoop.toml``; what in them would run a program only when the
folder is trusted, see :mod:`ailoop.trust`), under the editor's: ``initializationOptions``
for every folder, then the ``ailoop`` section of ``workspace/configuration`` for that
folder. Its patterns and engines start with the first document opened in it, once the
editor's settings are in. Settings and patterns follow the folder's files while the server
runs (see :mod:`ailoop.lsp.watched`).
"""

from __future__ import annotations

import asyncio
from dataclasses import replace
from typing import Any

from lsprotocol import types

from ailoop import settings as settings_module
from ailoop.lsp import engines, known_patterns, sync, trust, watched
from ailoop.lsp.server import AiloopServer
from ailoop.lsp.session import Folder, OpenDocument

#: How long the editor may take to answer ``workspace/configuration``.
CONFIGURATION_TIMEOUT = 10.0


def configure(ls: AiloopServer, folder: Folder) -> asyncio.Task[None] | None:
    """(Re)read a folder's settings; report problems once each; apply what changed.

    Open documents take new detection thresholds at once; engines restart and patterns
    reload only when their settings changed. Returns the reload of the patterns, if one
    was started.
    """
    from ailoop.feedback.settings import parse_feedback_settings

    previous, previous_feedback = folder.settings, folder.feedback
    if ls.watched_files is not None:
        ls.watched_files.remember(folder, watched.SETTINGS_FILES)
    editor = ls.session.window_settings if folder.implicit else folder.editor_settings
    loaded, problems = settings_module.load(
        folder.path,
        ("initializationOptions", ls.session.init_options),
        ("workspace/configuration", editor),
        editor_trust=ls.session.editor_trust,
    )
    folder.settings = loaded
    feedback, feedback_problems = parse_feedback_settings(loaded.feedback, loaded.engines)
    folder.feedback = replace(feedback, workspace_executables=loaded.trust.trusted)
    folder.configured = True
    for problem in problems + feedback_problems:
        ls.problem(problem)
    trust.tell(ls, folder)
    sync.folder_configured(ls, folder)  # its shared store may have changed
    for doc in ls.session.documents_in(folder):
        doc.tracked.thresholds = folder.thresholds
    if not folder.active:
        return None
    if folder.hub is not None and folder.feedback != previous_feedback:
        ls.run_task(engines.reconfigure(ls, folder), f"reconfigure the engines of {folder.name}")
    if loaded.patterns != previous.patterns:
        return load_patterns(ls, folder)
    return None


def load_patterns(ls: AiloopServer, folder: Folder) -> asyncio.Task[None]:
    """(Re)load a folder's patterns in the background; return the task (matching waits)."""
    if ls.watched_files is not None:
        ls.watched_files.remember(folder, (watched.PATTERNS_FILE,))
    task = ls.run_task(known_patterns.load(ls, folder), f"load the patterns of {folder.name}")
    if ls.watched_files is not None:
        ls.watched_files.loading(folder, task)
    return task


def activate(ls: AiloopServer, doc: OpenDocument) -> None:
    """Give an opened document its folder's patterns and engines (started on first use)."""
    folder = doc.folder
    if not folder.configured:
        configure(ls, folder)
    if not ls.ready:
        return  # the editor's settings are not in yet: see :func:`start`
    if not folder.active:
        folder.active = True
        load_patterns(ls, folder)
    engines.open_document(ls, doc)


async def pull_configuration(ls: AiloopServer, folders: list[Folder]) -> None:
    """Ask the editor for its ``ailoop`` settings (the window's and each folder's); apply."""
    workspace = ls.client_capabilities.workspace
    if workspace is None or not workspace.configuration:
        for folder in folders:
            configure(ls, folder)
        return
    items = [types.ConfigurationItem(section="ailoop")]
    items += [types.ConfigurationItem(scope_uri=f.uri, section="ailoop") for f in folders]
    try:
        answer = await asyncio.wait_for(
            ls.workspace_configuration_async(types.ConfigurationParams(items=items)),
            timeout=CONFIGURATION_TIMEOUT,
        )
    except Exception as exc:  # noqa: BLE001 - any failure of the client's
        ls.log(f"could not read the editor's ailoop settings: {exc!r}", types.MessageType.Warning)
        answer = []
    sections = list(answer or [])
    ls.session.window_settings = _table(sections[0] if sections else None)
    for index, folder in enumerate(folders, start=1):
        folder.editor_settings = _table(sections[index] if index < len(sections) else None)
        configure(ls, folder)
    for folder in ls.session.implicit.values():
        configure(ls, folder)


def _table(section: Any) -> dict[str, Any] | None:
    return section if isinstance(section, dict) else None


async def start(ls: AiloopServer) -> None:
    """After ``initialized``: watch the files, read the editor's settings, start the folders."""
    if ls.watched_files is not None:
        ls.run_task(
            ls.watched_files.watch(ls, list(ls.session.folders)), "watch the folders' files"
        )
    await pull_configuration(ls, list(ls.session.folders))
    ls.ready = True
    for folder in ls.session.folders:
        trust.tell(ls, folder)
    for doc in list(ls.session.documents.values()):
        activate(ls, doc)


async def stop(ls: AiloopServer, folder: Folder) -> None:
    """Stop a folder's engines and timers."""
    if folder.stats_timer is not None:
        folder.stats_timer.cancel()
        folder.stats_timer = None
    await engines.stop(folder)


def change_folders(ls: AiloopServer, event: types.WorkspaceFoldersChangeEvent) -> None:
    """Follow folders added to and removed from the workspace.

    The documents of a removed folder move at once to the folder that now holds them (an
    outer workspace folder, or their project root); those of an added folder move into
    it, with its files' settings until the editor's settings for it arrive.
    """
    session = ls.session
    removed = [f for f in (session.remove_folder(r.uri) for r in event.removed) if f is not None]
    added = [session.add_folder(a.uri, a.name) for a in event.added]
    for folder in added:
        configure(ls, folder)
    for doc in list(session.documents.values()):
        folder = session.folder_for(doc.uri)
        if folder is doc.folder:
            continue
        if doc.folder.hub is not None:
            doc.folder.hub.close(doc.uri)
        doc.folder = folder
        if not folder.configured:
            configure(ls, folder)
        doc.tracked.thresholds = folder.thresholds
        doc.matches.clear()
        activate(ls, doc)
    in_use = {doc.folder for doc in session.documents.values()}
    for root, folder in list(session.implicit.items()):
        if folder not in in_use:
            del session.implicit[root]
            removed.append(folder)
    ls.run_task(_after_folder_change(ls, added, removed), "follow the workspace folders")


async def _after_folder_change(
    ls: AiloopServer, added: list[Folder], removed: list[Folder]
) -> None:
    for folder in removed:
        await stop(ls, folder)
    if ls.watched_files is not None:
        await ls.watched_files.unwatch(ls, removed)
    if added:
        await pull_configuration(ls, added)
        if ls.watched_files is not None:
            await ls.watched_files.watch(ls, added)
