"""Watched files: a folder's settings and patterns follow its files while the editor runs.

The files are a folder's ``.ailoop/patterns.toml``, ``.ailoop.toml`` and ``pyproject.toml``.
Where the editor watches files for its servers (``workspace.didChangeWatchedFiles``
with ``dynamicRegistration``), the server asks it to watch these, one registration per
workspace folder, and reloads a folder as soon as the editor reports one of them created,
changed or deleted. Before a folder's patterns are matched against a snippet, the server
also looks at the files itself (three ``stat`` calls; a reload only when one changed), so
that nothing depends on the editor's watcher: an editor without one, files outside every
workspace folder, a watcher that misses files in a folder created later (Neovim's on
Linux watches no directory its patterns do not name).

A reload reads the folder's settings again (:func:`ailoop.lsp.folders.configure`, which
asks for trust again only when what the files would run changed) and its patterns.
Matching waits for a reload in progress, so the next snippet is matched against the
patterns now in the files: a saved edit, a new file, ``ailoop patterns promote``.
"""

from __future__ import annotations

import asyncio
import weakref
from dataclasses import dataclass, field
from pathlib import Path

from lsprotocol import types

from ailoop.lsp.server import AiloopServer
from ailoop.lsp.session import Folder, file_path

#: The patterns file, relative to a folder (``ailoop.patterns.patternset.PATTERNS_FILE``,
#: spelled out so that this module does not load the pattern machinery at start-up).
PATTERNS_FILE = ".ailoop/patterns.toml"
#: The settings files, relative to a folder (see :mod:`ailoop.settings`).
SETTINGS_FILES = (".ailoop.toml", "pyproject.toml")
WATCHED = (PATTERNS_FILE, *SETTINGS_FILES)
#: The id of the registration that covers every folder with globs (no relative patterns).
ALL_FOLDERS = "ailoop-watched-files"
#: How long the editor may take to answer a registration.
REGISTRATION_TIMEOUT = 10.0

#: What a file looked like when it was last read: modification time, size and inode
#: (``None``: missing).
Signature = tuple[int, int, int] | None


def signature(path: Path) -> Signature:
    """Return the signature of the file at ``path`` (one ``stat`` call)."""
    try:
        found = path.stat()
    except (OSError, ValueError):
        return None
    return (found.st_mtime_ns, found.st_size, found.st_ino)


def watched_name(folder: Folder, path: Path) -> str | None:
    """Return which of ``folder``'s watched files ``path`` is (``".ailoop.toml"``, …), if any."""
    if folder.path is None or not folder.contains(path):
        return None
    relative = path.relative_to(folder.path).as_posix()
    return relative if relative in WATCHED else None


def registration_id(folder: Folder) -> str:
    """Return the id of the registration that watches ``folder``'s files."""
    return f"{ALL_FOLDERS}:{folder.uri}"


def watchers_for(folder: Folder | None) -> list[types.FileSystemWatcher]:
    """Return the watchers for ``folder``'s files (relative patterns), or globs for all."""
    if folder is None:
        return [types.FileSystemWatcher(glob_pattern=f"**/{name}") for name in WATCHED]
    return [
        types.FileSystemWatcher(
            glob_pattern=types.RelativePattern(base_uri=folder.uri, pattern=name)
        )
        for name in WATCHED
    ]


@dataclass(eq=False)
class FolderFiles:
    """What the server knows of one folder's watched files."""

    #: Each file's signature when it was last read, by its name relative to the folder.
    seen: dict[str, Signature] = field(default_factory=dict)
    #: The editor was asked to report changes to the files, and agreed.
    watched_by_editor: bool = False
    #: The reload in progress (or done last).
    reloading: asyncio.Task[None] | None = None
    #: The load of the patterns in progress (or done last), whoever started it.
    loading: asyncio.Task[None] | None = None


class WatchedFiles:
    """Follows every folder's watched files: the editor's reports, or their signatures."""

    def __init__(self) -> None:
        self._folders: weakref.WeakKeyDictionary[Folder, FolderFiles] = weakref.WeakKeyDictionary()
        #: The registration with globs for every folder was accepted.
        self._globs_registered = False

    def files(self, folder: Folder) -> FolderFiles:
        """Return what is known of ``folder``'s files."""
        state = self._folders.get(folder)
        if state is None:
            state = self._folders[folder] = FolderFiles()
        return state

    # -- what was read -------------------------------------------------------------------

    def remember(self, folder: Folder, names: tuple[str, ...]) -> None:
        """Note the files' signatures now, just before they are read."""
        if folder.path is None:
            return
        seen = self.files(folder).seen
        for name in names:
            seen[name] = signature(folder.path / name)

    def loading(self, folder: Folder, task: asyncio.Task[None]) -> None:
        """Note that ``folder``'s patterns are being loaded by ``task`` (matching waits)."""
        self.files(folder).loading = task

    def changed(self, folder: Folder) -> set[str]:
        """Return the watched files of ``folder`` that changed since they were read."""
        if folder.path is None:
            return set()
        seen = self.files(folder).seen
        return {
            name for name in WATCHED if name in seen and signature(folder.path / name) != seen[name]
        }

    # -- reloading ------------------------------------------------------------------------

    def reload(self, ls: AiloopServer, folder: Folder, names: set[str]) -> asyncio.Task[None]:
        """Read ``folder``'s settings and patterns again, after any reload in progress."""
        state = self.files(folder)
        self.remember(folder, tuple(names))  # a second look does not start a second reload
        previous = state.reloading
        state.reloading = ls.run_task(
            self._reload(ls, folder, names, previous), f"reload the settings of {folder.name}"
        )
        return state.reloading

    async def _reload(
        self,
        ls: AiloopServer,
        folder: Folder,
        names: set[str],
        previous: asyncio.Task[None] | None,
    ) -> None:
        from ailoop.lsp import folders  # it imports this module

        if previous is not None:
            await asyncio.wait([previous])  # however it ended; it is not cancelled with us
        ls.log(f"{folder.name}: {', '.join(sorted(names))} changed; read again")
        patterns_task = None
        if names & set(SETTINGS_FILES):
            patterns_task = folders.configure(ls, folder)
        if patterns_task is None and PATTERNS_FILE in names and folder.active:
            patterns_task = folders.load_patterns(ls, folder)
        if patterns_task is not None:
            await asyncio.wait([patterns_task])

    async def up_to_date(self, ls: AiloopServer, folder: Folder) -> None:
        """Before matching: reload ``folder`` if its files changed; wait for its patterns."""
        state = self.files(folder)
        if names := self.changed(folder):
            self.reload(ls, folder, names)
        pending = [t for t in (state.reloading, state.loading) if t is not None and not t.done()]
        if pending:  # their failures are logged where they run
            await asyncio.wait(pending)
        if state.loading is not None and not state.loading.done():
            await asyncio.wait([state.loading])  # started by the reload just awaited

    def editor_reported(self, ls: AiloopServer, params: types.DidChangeWatchedFilesParams) -> None:
        """``workspace/didChangeWatchedFiles``: reload each folder whose files changed."""
        changed: dict[Folder, set[str]] = {}
        for event in params.changes:
            path = file_path(event.uri)
            if path is None:
                continue
            for folder in ls.session.all_folders():
                if (name := watched_name(folder, path)) is not None:
                    changed.setdefault(folder, set()).add(name)
        for folder, names in changed.items():
            self.reload(ls, folder, names)

    # -- registration ---------------------------------------------------------------------

    async def watch(self, ls: AiloopServer, chosen: list[Folder]) -> None:
        """Ask the editor to watch the files of ``chosen``, if it can."""
        capability = _capability(ls)
        if capability is None or not capability.dynamic_registration:
            return
        chosen = [f for f in chosen if f.path is not None and not f.implicit]
        if capability.relative_pattern_support:
            registrations = [
                types.Registration(
                    id=registration_id(folder),
                    method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                    register_options=types.DidChangeWatchedFilesRegistrationOptions(
                        watchers=watchers_for(folder)
                    ),
                )
                for folder in chosen
            ]
        elif not self._globs_registered:
            registrations = [
                types.Registration(
                    id=ALL_FOLDERS,
                    method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES,
                    register_options=types.DidChangeWatchedFilesRegistrationOptions(
                        watchers=watchers_for(None)
                    ),
                )
            ]
        else:
            registrations = []
        if registrations:
            try:
                await asyncio.wait_for(
                    ls.client_register_capability_async(
                        types.RegistrationParams(registrations=registrations)
                    ),
                    REGISTRATION_TIMEOUT,
                )
            except Exception as exc:  # noqa: BLE001 - the client's failure, whatever it is
                ls.log(
                    f"the editor does not watch ailoop's files ({exc!r}); they are looked at "
                    "before each match only",
                    types.MessageType.Warning,
                )
                return
            if not capability.relative_pattern_support:
                self._globs_registered = True
        for folder in chosen:
            self.files(folder).watched_by_editor = True

    async def unwatch(self, ls: AiloopServer, removed: list[Folder]) -> None:
        """Tell the editor to stop watching the files of folders that left the workspace."""
        capability = _capability(ls)
        if capability is None or not capability.dynamic_registration:
            return
        if not capability.relative_pattern_support:
            return  # the globs cover whatever folders the workspace has
        gone = [f for f in removed if self._folders.get(f, FolderFiles()).watched_by_editor]
        if not gone:
            return
        params = types.UnregistrationParams(
            unregisterations=[
                types.Unregistration(
                    id=registration_id(f), method=types.WORKSPACE_DID_CHANGE_WATCHED_FILES
                )
                for f in gone
            ]
        )
        try:
            await asyncio.wait_for(
                ls.client_unregister_capability_async(params), REGISTRATION_TIMEOUT
            )
        except Exception as exc:  # noqa: BLE001 - the client's failure, whatever it is
            ls.log(f"could not stop watching files: {exc!r}", types.MessageType.Warning)


def _capability(ls: AiloopServer) -> types.DidChangeWatchedFilesClientCapabilities | None:
    workspace = ls.client_capabilities.workspace
    return workspace.did_change_watched_files if workspace is not None else None


def register(server: AiloopServer) -> None:
    """Follow the folders' files: the editor's reports, and a look before each match."""
    server.watched_files = WatchedFiles()
    server.feature(types.WORKSPACE_DID_CHANGE_WATCHED_FILES)(did_change_watched_files)


def did_change_watched_files(ls: AiloopServer, params: types.DidChangeWatchedFilesParams) -> None:
    """Reload the folders whose files the editor reports changed."""
    if ls.watched_files is not None:
        ls.watched_files.editor_reported(ls, params)
