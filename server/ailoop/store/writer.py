"""Writes events to the local store from the language server, without blocking it.

One worker thread owns the SQLite connection, so events are written in the order they are
submitted and the editor's requests never wait on the disk or on another process's lock.
Events that cannot be written yet (the store is locked, read-only or corrupt) wait in
memory and are retried with backoff; at shutdown, whatever is still waiting is spilled to
a JSON-lines file that the next start imports. Nothing is lost and, because writes are
idempotent on the event id, nothing is stored twice.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import getpass
import json
import logging
import os
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from ailoop.store.events import Event
from ailoop.store.local import DB_NAME, LocalStore, StoreError

T = TypeVar("T")
log = logging.getLogger(__name__)

RETRY_FIRST = 1.0
RETRY_MAX = 60.0


def spill_dirs(data_dir: Path) -> list[Path]:
    """Return where unwritable events are spilled: the data dir, else a per-user temp dir."""
    try:
        user = getpass.getuser()
    except (OSError, KeyError):
        user = "user"
    return [data_dir / "spill", Path(tempfile.gettempdir()) / f"ailoop-spill-{user}"]


def spill(events: Sequence[Event], data_dir: Path, prefix: str = "") -> Path | None:
    """Save events that cannot be stored now to a file the next open of the store imports.

    Returns the file, or None when no spill folder is writable either.
    """
    lines = "".join(json.dumps(e.to_json(), ensure_ascii=False) + "\n" for e in events)
    for folder in spill_dirs(data_dir):
        target = folder / f"{prefix}{os.getpid()}-{uuid.uuid4().hex}.jsonl"
        try:
            folder.mkdir(parents=True, exist_ok=True)
            target.write_text(lines, encoding="utf-8")
        except OSError:
            continue
        return target
    return None


class EventWriter:
    """Appends events to the local store on a dedicated thread, in submission order."""

    def __init__(
        self,
        data_dir: Path,
        on_problem: Callable[[str], None],
        on_recovered: Callable[[str], None] | None = None,
        on_written: Callable[[], None] | None = None,
    ) -> None:
        self.data_dir = data_dir
        self._on_problem = on_problem
        self._on_recovered = on_recovered
        #: Called on the event loop after each successful write (the sync is woken here).
        self.on_written = on_written
        self._executor = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="ailoop-store")
        self._store: LocalStore | None = None
        self._pending: list[Event] = []  # touched only on the worker thread
        self._failing: str | None = None
        self._retry_delay = RETRY_FIRST
        self._retry: asyncio.TimerHandle | None = None
        self._closed = False

    @property
    def pending(self) -> int:
        """Return how many events wait in memory for the store."""
        return len(self._pending)

    # -- worker-thread side -------------------------------------------------------------

    def _open(self) -> LocalStore:
        if self._store is None:
            path = self.data_dir / DB_NAME
            try:
                self._store = LocalStore(path)
            except StoreError as exc:
                if not _is_corrupt(exc) or not path.exists():
                    raise
                aside = path.with_name(f"{path.name}.corrupt-{time.strftime('%Y%m%d-%H%M%S')}")
                for suffix in ("", "-wal", "-shm"):
                    with contextlib.suppress(FileNotFoundError):
                        Path(f"{path}{suffix}").rename(f"{aside}{suffix}")
                self._on_problem(f"{exc}; moved it to {aside} and started a new store")
                self._store = LocalStore(path)
            self._import_spills()
        return self._store

    def _import_spills(self) -> None:
        assert self._store is not None
        for folder in spill_dirs(self.data_dir):
            for spill in sorted(folder.glob("*.jsonl")) if folder.is_dir() else ():
                try:
                    events = [
                        Event.from_json(json.loads(line))
                        for line in spill.read_text(encoding="utf-8").splitlines()
                        if line.strip()
                    ]
                    self._store.append(events)
                    spill.unlink()
                except (OSError, ValueError, StoreError) as exc:
                    self._on_problem(f"could not import spilled events from {spill}: {exc}")

    def _flush(self, events: Sequence[Event]) -> str | None:
        """Append ``events`` after those still waiting; return the failure, if any."""
        self._pending.extend(events)
        try:
            store = self._open()  # also imports what an earlier run spilled
            store.append(self._pending)
        except StoreError as exc:
            if self._store is not None and _is_corrupt(exc):
                self._store.close()
                self._store = None  # reopening moves the corrupt file aside
            return str(exc)
        self._pending.clear()
        return None

    def _spill(self) -> str | None:
        if not self._pending:
            return None
        target = spill(self._pending, self.data_dir)
        if target is not None:
            self._pending.clear()
        return None if target is None else str(target)

    # -- event-loop side ----------------------------------------------------------------

    async def write(self, events: Sequence[Event]) -> bool:
        """Write ``events`` durably; return False when they wait in memory for a retry."""
        loop = asyncio.get_running_loop()
        failure = await loop.run_in_executor(self._executor, self._flush, list(events))
        self._after(failure)
        return failure is None

    async def run(self, query: Callable[[LocalStore], T]) -> T:
        """Run ``query`` against the store on the worker thread (raises StoreError)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: query(self._open()))

    def _after(self, failure: str | None) -> None:
        if failure is None:
            if self._failing is not None and self._on_recovered is not None:
                self._on_recovered(f"event store {self.data_dir / DB_NAME} is writable again")
            self._failing = None
            self._retry_delay = RETRY_FIRST
            if self.on_written is not None:
                self.on_written()
            return
        if failure != self._failing:
            self._on_problem(f"{failure}; {self.pending} event(s) wait in memory")
        self._failing = failure
        if self._retry is None and not self._closed:
            loop = asyncio.get_running_loop()
            self._retry = loop.call_later(self._retry_delay, self._retry_now)
            self._retry_delay = min(self._retry_delay * 2, RETRY_MAX)

    def _retry_now(self) -> None:
        self._retry = None
        task = asyncio.ensure_future(self.write(()))
        task.add_done_callback(_log_failure)

    async def close(self) -> None:
        """Flush what waits; spill what still cannot be written; close the store."""
        self._closed = True
        if self._retry is not None:
            self._retry.cancel()
        loop = asyncio.get_running_loop()
        failure = await loop.run_in_executor(self._executor, self._flush, [])
        if failure is not None:
            spilled = await loop.run_in_executor(self._executor, self._spill)
            if spilled:
                self._on_problem(f"{failure}; events saved to {spilled} for the next start")
            else:
                self._on_problem(f"{failure}; {self.pending} event(s) could not be saved anywhere")
        await loop.run_in_executor(self._executor, self._close_store)
        self._executor.shutdown(wait=True)

    def _close_store(self) -> None:
        if self._store is not None:
            self._store.close()
            self._store = None


def _is_corrupt(exc: BaseException) -> bool:
    text = str(exc)
    return "not a database" in text or "malformed" in text


def _log_failure(task: asyncio.Future[bool]) -> None:
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.error("retrying the event store failed: %s", exc, exc_info=exc)
