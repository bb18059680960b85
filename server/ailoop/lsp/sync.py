"""The background sync to the team's shared store, as the editor sees it.

A :class:`~ailoop.store.sync.SyncTask` runs on a thread of its own and never touches the
event loop; this module starts it when a store is configured, wakes it after each local
write, and turns its status into an ``ailoop/status`` notification
(``{state, pending, message?, lastSync?}``) and, for a long push, ``$/progress``. Once the
team's pattern statistics are pulled, they replace the local ones in the diagnostics.
"""

from __future__ import annotations

import os
import uuid
from typing import Any

from lsprotocol import types

from ailoop.lsp import known_patterns
from ailoop.lsp.server import AiloopServer
from ailoop.settings import Settings
from ailoop.store.local import DB_NAME, default_data_dir

STATUS = "ailoop/status"
#: A push of at least this many events is shown with ``$/progress``.
PROGRESS_FROM = 500


def send_status(ls: AiloopServer, state: str, pending: int = 0, **extra: Any) -> None:
    """Send ``ailoop/status`` to the client."""
    ls.protocol.notify(STATUS, {"state": state, "pending": pending, **extra})


async def start(ls: AiloopServer) -> None:
    """Start the sync when a shared store is configured; tell the client either way."""
    from ailoop.store.sync import SyncTask, store_settings

    first = ls.session.folders[0] if ls.session.folders else None
    store = first.settings.store if first is not None else Settings().store
    url, options, problems = store_settings(store, "store settings", os.environ)
    for problem in problems:
        ls.problem(problem)
    if not url:
        send_status(ls, "disabled")
        return
    ls.sync = SyncTask(
        (ls.data_dir or default_data_dir()) / DB_NAME,
        url,
        options,
        on_status=lambda status: on_status(ls, status),
    )
    if ls.writer is not None:
        ls.writer.on_written = ls.sync.nudge
    ls.run_task(ls.sync.run(), "sync to the shared store")


def on_status(ls: AiloopServer, status: Any) -> None:
    """Show the sync's status; report progress; use fresh team statistics."""
    extra: dict[str, Any] = {}
    if status.last_error:
        extra["message"] = status.last_error
    if status.last_sync:
        extra["lastSync"] = status.last_sync
    send_status(ls, status.state, status.pending, **extra)
    _progress(ls, status.progress)
    if status.last_sync and status.last_sync != ls.team_stats_seen:
        ls.team_stats_seen = status.last_sync
        ls.use_team_stats = True
        for folder in ls.session.all_folders():
            known_patterns.schedule_stats(ls, folder, delay=0.0)


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
    """Stop the sync (it finishes its current batch or times out)."""
    if ls.sync is not None:
        await ls.sync.stop()
        ls.sync = None
