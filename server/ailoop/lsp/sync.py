"""The background sync to the teams' shared stores, as the editor sees it.

Each workspace folder's settings decide which shared store its repository's events go to
(:func:`ailoop.store.sync.resolve_store`: ``AILOOP_STORE_URL``, else ``store.url`` from the
user's config or the editor, else the user's ``[stores.<team>]`` for the ``store.team`` the
repository names; never a URL from the repository's files). There is one
:class:`~ailoop.store.sync.SyncTask` per distinct store among the folders, each on a
thread of its own that never touches the event loop; every folder's repository (and the
repository of every document open in it) is assigned to its store in the local store,
so each store gets its own repositories' events and no others. Folders that are added,
removed or configured again update this (:func:`folder_configured`).

The tasks' statuses are merged into one ``ailoop/status`` notification
(``{state, pending, message?, lastSync?, stores}``) and, for a long push, ``$/progress``;
what a task has to tell once (events a store refused, team rows it skipped, a lowered
``sslmode``) is shown once. Once the team's pattern statistics are pulled, they replace
the local ones in the diagnostics.
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import os
import uuid
import weakref
from collections.abc import Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from ailoop.lsp import known_patterns
from ailoop.lsp.server import AiloopServer
from ailoop.lsp.session import Folder
from ailoop.settings import Settings
from ailoop.store.local import DB_NAME, default_data_dir

if TYPE_CHECKING:
    from ailoop.store.sync import SyncOptions, SyncStatus, SyncTask

log = logging.getLogger(__name__)

STATUS = "ailoop/status"
#: A push of at least this many events is shown with ``$/progress``.
PROGRESS_FROM = 500
#: The merged state is the most serious of the stores' states, in this order.
_SEVERITY = ("error", "offline", "syncing", "idle", "disabled")


@dataclasses.dataclass(frozen=True)
class FolderStore:
    """Where one folder's events go, as its settings decide (worked out off the loop).

    ``store`` is the store's id (None: no sync for this folder), ``target`` how messages
    name it (``host:port/dbname``); ``repo`` the identity of the repository the folder is
    in (``""``: none).
    """

    store: str | None
    url: str
    options: SyncOptions | None
    repo: str
    problems: tuple[str, ...] = ()
    target: str = ""


@dataclasses.dataclass(eq=False)
class _Running:
    """One store's sync task and what it last said."""

    store: str
    url: str
    target: str
    options: SyncOptions
    task: SyncTask
    runner: asyncio.Task[None]
    status: SyncStatus | None = None
    #: The notice last shown (a status keeps its notice until the next one).
    notice: str | None = None


class ServerSync:
    """The sync state of one server: its stores' tasks, folders and repositories."""

    def __init__(self) -> None:
        self.running: dict[str, _Running] = {}
        self.folder_stores: dict[Folder, FolderStore] = {}
        #: What this session told the local store: repository -> (store id or None, code).
        self.assigned: dict[str, tuple[str | None, bool]] = {}
        #: The folders the last refresh saw (to notice removed folders).
        self.known: frozenset[Folder] = frozenset()
        self.refreshing: asyncio.Task[None] | None = None
        self.again = False
        self.stopped = False
        self.last_sent: dict[str, Any] | None = None
        self.conflicts_told: set[str] = set()


_SYNCS: weakref.WeakKeyDictionary[AiloopServer, ServerSync] = weakref.WeakKeyDictionary()


def send_status(ls: AiloopServer, state: str, pending: int = 0, **extra: Any) -> None:
    """Send ``ailoop/status`` to the client."""
    ls.protocol.notify(STATUS, {"state": state, "pending": pending, **extra})


def _local_db(ls: AiloopServer) -> Path:
    return (ls.data_dir or default_data_dir()) / DB_NAME


# ------------------------------------------------------------------ deciding (off the loop)


def resolve_folder(
    settings: Settings, path: Path | None, environ: Mapping[str, str]
) -> FolderStore:
    """Decide a folder's store and find its repository (blocking: file and libpq reads)."""
    from ailoop.store import shared
    from ailoop.store.sync import resolve_store
    from ailoop.workspace import find_repo_root, repo_identity

    choice = resolve_store(settings.store, settings.stores, "store settings", environ)
    store = shared.store_id(choice.url) if choice.url else None
    target = shared.describe_target(choice.url) if choice.url else ""
    root = find_repo_root(path) if path is not None else None
    repo = repo_identity(root) if root is not None else ""
    options = choice.options if store else None
    return FolderStore(store, choice.url, options, repo, choice.problems, target)


# ------------------------------------------------------------------ the server side


async def start(ls: AiloopServer) -> None:
    """Start the sync for the folders' stores; tell the client either way."""
    syncs = _SYNCS.get(ls)
    if syncs is None:
        syncs = _SYNCS[ls] = ServerSync()
    if ls.writer is not None:
        ls.writer.on_written = lambda: _on_written(ls)
    _schedule_refresh(ls, syncs)
    if syncs.refreshing is not None:
        await asyncio.shield(syncs.refreshing)


def folder_configured(ls: AiloopServer, folder: Folder) -> None:
    """Decide the stores again: a folder's settings were (re)read, its store may differ."""
    syncs = _SYNCS.get(ls)
    if syncs is not None and not syncs.stopped:
        _schedule_refresh(ls, syncs)


def store_of(ls: AiloopServer, folder: Folder) -> str | None:
    """Return the id of the store ``folder``'s events go to (None: none, or not decided)."""
    syncs = _SYNCS.get(ls)
    decided = syncs.folder_stores.get(folder) if syncs is not None else None
    return decided.store if decided is not None else None


def _schedule_refresh(ls: AiloopServer, syncs: ServerSync) -> None:
    if syncs.refreshing is not None and not syncs.refreshing.done():
        syncs.again = True
        return
    syncs.refreshing = ls.run_task(_refresh(ls, syncs), "follow the folders' shared stores")


async def _refresh(ls: AiloopServer, syncs: ServerSync) -> None:
    """Decide every folder's store; start, stop and feed the tasks to match."""
    while not syncs.stopped:
        syncs.again = False
        folders = [f for f in ls.session.all_folders() if f.configured]
        decided = await asyncio.to_thread(_resolve_all, folders, dict(os.environ))
        if syncs.stopped:
            return
        syncs.folder_stores = dict(decided)
        syncs.known = frozenset(ls.session.all_folders())
        for _, folder_store in decided:
            for problem in folder_store.problems:
                ls.problem(problem)
        wanted: dict[str, FolderStore] = {}
        for _, folder_store in decided:
            if folder_store.store is not None and folder_store.options is not None:
                wanted.setdefault(folder_store.store, folder_store)
        for store, running in list(syncs.running.items()):
            want = wanted.get(store)
            if (
                want is None
                or want.options is None
                or want.url != running.url
                or not _same(want.options, running.options)
            ):
                del syncs.running[store]
                await running.task.stop()
        for store, want in wanted.items():
            if store not in syncs.running and want.options is not None:
                _start_task(ls, syncs, store, want.url, want.target, want.options)
        await _assign(ls, syncs)
        _send(ls, syncs)
        if not syncs.again:
            return


def _resolve_all(
    folders: list[Folder], environ: Mapping[str, str]
) -> list[tuple[Folder, FolderStore]]:
    return [(f, resolve_folder(f.settings, f.path, environ)) for f in folders]


def _same(a: SyncOptions, b: SyncOptions) -> bool:
    """Options equal but for ``share_code``, which is per repository (the assignment's)."""
    return dataclasses.replace(a, share_code=False) == dataclasses.replace(b, share_code=False)


def _start_task(
    ls: AiloopServer, syncs: ServerSync, store: str, url: str, target: str, options: SyncOptions
) -> None:
    from ailoop.store.sync import SyncTask

    holder: list[_Running] = []
    task = SyncTask(
        _local_db(ls), url, options, lambda status: _on_status(ls, holder[0], status), store=store
    )
    # not one of ls.tasks: it runs until the server stops, and ``ailoop/settle`` must not
    # wait for it
    runner = asyncio.get_running_loop().create_task(task.run(), name=f"sync to {store}")
    runner.add_done_callback(_runner_done)
    running = _Running(store, url, target, options, task, runner)
    holder.append(running)
    syncs.running[store] = running


def _runner_done(runner: asyncio.Task[None]) -> None:
    if not runner.cancelled() and (exc := runner.exception()) is not None:
        log.error("%s failed: %s", runner.get_name(), exc, exc_info=exc)


def _wanted_assignments(ls: AiloopServer, syncs: ServerSync) -> dict[str, tuple[str | None, bool]]:
    """Each known repository and the store its folder's settings name (None: none)."""
    wanted: dict[str, tuple[str | None, bool]] = {}
    origin: dict[str, str] = {}

    def want(repo: str, folder: Folder, folder_store: FolderStore) -> None:
        if not repo:
            return
        share = bool(folder_store.options is not None and folder_store.options.share_code)
        value = (folder_store.store, share)
        previous = wanted.get(repo)
        if previous is not None and previous[0] != value[0] and repo not in syncs.conflicts_told:
            syncs.conflicts_told.add(repo)
            ls.problem(
                f"repository {repo} is open in folders with different shared stores "
                f"({origin[repo]}, {folder.name}); its events go to the store of {folder.name}"
            )
        wanted[repo] = value
        origin[repo] = folder.name

    for folder, folder_store in syncs.folder_stores.items():
        want(folder_store.repo, folder, folder_store)
    for doc in list(ls.session.documents.values()):
        lookup = doc.origin_lookup
        doc_store = syncs.folder_stores.get(doc.folder)
        if (
            doc_store is None
            or lookup is None
            or not lookup.done()
            or lookup.cancelled()
            or lookup.exception() is not None
        ):
            continue
        want(lookup.result().repo, doc.folder, doc_store)
    return wanted


async def _assign(ls: AiloopServer, syncs: ServerSync) -> None:
    """Record in the local store where each repository's events go; wake its store's task."""
    from ailoop.store.local import StoreError
    from ailoop.store.sync import assign_repos

    wanted = _wanted_assignments(ls, syncs)
    changes = [
        (repo, store, share)
        for repo, (store, share) in wanted.items()
        if syncs.assigned.get(repo) != (store, share)
    ]
    if not changes:
        return
    try:
        await asyncio.to_thread(assign_repos, _local_db(ls), changes)
    except StoreError as exc:
        ls.log(f"could not record where events go: {exc}", types.MessageType.Warning)
        return
    for repo, store, share in changes:
        syncs.assigned[repo] = (store, share)
        running = syncs.running.get(store) if store is not None else None
        if running is not None:
            running.task.nudge()


def _on_written(ls: AiloopServer) -> None:
    """Events were written: wake the stores; assign repositories seen for the first time."""
    syncs = _SYNCS.get(ls)
    if syncs is None or syncs.stopped:
        return
    if frozenset(ls.session.all_folders()) != syncs.known:
        _schedule_refresh(ls, syncs)
    elif any(
        syncs.assigned.get(repo) != value for repo, value in _wanted_assignments(ls, syncs).items()
    ):
        ls.run_task(_assign(ls, syncs), "record where events go")
    for running in syncs.running.values():
        running.task.nudge()


def _on_status(ls: AiloopServer, running: _Running, status: SyncStatus) -> None:
    """One store's status changed: tell the user once what it says; merge; use team stats."""
    syncs = _SYNCS.get(ls)
    if syncs is None or syncs.running.get(running.store) is not running:
        return
    running.status = status
    if status.notice and status.notice != running.notice:
        running.notice = status.notice
        ls.problem(status.notice)
    _send(ls, syncs)
    if status.last_sync and status.last_sync != ls.team_stats_seen:
        ls.team_stats_seen = status.last_sync
        ls.use_team_stats = True
        for folder in ls.session.all_folders():
            known_patterns.schedule_stats(ls, folder, delay=0.0)


def merged_status(statuses: list[tuple[str, SyncStatus]]) -> dict[str, Any]:
    """Merge the stores' statuses into one ``ailoop/status`` payload.

    The state is the most serious one, ``pending`` the sum, ``message`` every distinct
    error, ``lastSync`` the latest; ``stores`` lists each store (``host:port/dbname``) with
    its own state and pending count.
    """
    if not statuses:
        return {"state": "disabled", "pending": 0}
    state = min((s.state for _, s in statuses), key=_SEVERITY.index)
    errors = list(dict.fromkeys(s.last_error for _, s in statuses if s.last_error))
    syncs = [s.last_sync for _, s in statuses if s.last_sync]
    payload: dict[str, Any] = {
        "state": state,
        "pending": sum(s.pending for _, s in statuses),
        "stores": [
            {"store": target, "state": s.state, "pending": s.pending} for target, s in statuses
        ],
    }
    if errors:
        payload["message"] = "; ".join(errors)
    if syncs:
        payload["lastSync"] = max(syncs)
    return payload


def _send(ls: AiloopServer, syncs: ServerSync) -> None:
    statuses = [(r.target, r.status) for r in syncs.running.values() if r.status is not None]
    if syncs.running and not statuses:
        return  # the tasks have not said anything yet
    payload = merged_status(statuses)
    if payload != syncs.last_sent:
        syncs.last_sent = payload
        ls.protocol.notify(STATUS, payload)
    progress = [r.status.progress for r in syncs.running.values() if r.status and r.status.progress]
    total = (sum(p[0] for p in progress), sum(p[1] for p in progress)) if progress else None
    _progress(ls, total)


def _progress(ls: AiloopServer, progress: tuple[int, int] | None) -> None:
    window = ls.client_capabilities.window
    if window is None or not window.work_done_progress:
        return
    token = ls.progress_token
    if progress is None or progress[1] < PROGRESS_FROM:
        if token is not None:
            ls.work_done_progress.end(token, types.WorkDoneProgressEnd(message="synced"))
            ls.progress_token = None
        return
    done, total = progress
    percentage = int(done * 100 / total) if total else 100
    message = f"{done}/{total} events"
    if token is None:
        token = ls.progress_token = f"ailoop-sync-{uuid.uuid4()}"
        ls.work_done_progress.create(token)
        ls.work_done_progress.begin(
            token,
            types.WorkDoneProgressBegin(
                title="ailoop: syncing events", percentage=percentage, message=message
            ),
        )
    else:
        ls.work_done_progress.report(
            token, types.WorkDoneProgressReport(percentage=percentage, message=message)
        )


async def stop(ls: AiloopServer) -> None:
    """Stop every store's sync (each finishes its current batch or times out)."""
    syncs = _SYNCS.get(ls)
    if syncs is not None:
        syncs.stopped = True
        running, syncs.running = list(syncs.running.values()), {}
        await asyncio.gather(*(r.task.stop() for r in running))
        if syncs.refreshing is not None:
            await asyncio.gather(syncs.refreshing, return_exceptions=True)
    if ls.sync is not None:
        await ls.sync.stop()
        ls.sync = None
