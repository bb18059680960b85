"""Writes events to the local store from the language server, without blocking it.

One worker thread owns the SQLite connection, so events are written in the order they are
submitted and the editor's requests never wait on the disk or on another process's lock.
Events that cannot be written yet (the store is locked, read-only or corrupt) wait in
memory and are retried with backoff; at shutdown, whatever is still waiting is spilled to
a JSON-lines file that the next start imports. Nothing is lost and, because writes are
idempotent on the event id, nothing is stored twice.

An accept or reject is answered only once it is durable: in SQLite, or, when the store
cannot take it within :data:`OUTCOME_WAIT` seconds, in a journal file on disk (written and
synced before the answer), which the next start imports like a spill and which is removed
once the outcome is in SQLite (:meth:`EventWriter.write_outcome`).

Spill and journal files live in ``<data dir>/spill``, else in a folder of the system's
temporary directory that only this user can use (:func:`spill_dirs`). They are written
atomically, and only this user's regular files are imported, line by line: a line that is
not a valid event is set aside in ``<file>.rejected`` and reported, the others are stored.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import contextlib
import json
import logging
import os
import stat
import tempfile
import time
import uuid
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import TypeVar

from ailoop.hooks.worker import private_dir, user_tag, write_private
from ailoop.store.events import Event
from ailoop.store.local import DB_NAME, LocalStore, StoreError

T = TypeVar("T")
log = logging.getLogger(__name__)

RETRY_FIRST = 1.0
RETRY_MAX = 60.0
#: Seconds an accept or reject waits for SQLite before it is journaled instead. A healthy
#: store takes a few milliseconds; past this, the store is locked or failing.
OUTCOME_WAIT = 0.5
#: How journal files (outcomes not yet in SQLite) are named in a spill folder.
JOURNAL_PREFIX = "journal-"
#: Added to a spill file's name for the lines of it that could not be imported.
REJECTED_SUFFIX = ".rejected"


def spill_dirs(data_dir: Path) -> list[Path]:
    """Return where unwritable events are spilled: the data dir, else a private temp dir.

    The second is ``<temp dir>/ailoop-spill-<uid>``, used only while it is this user's
    own directory that no one else can use (see :func:`ailoop.hooks.worker.private_dir`).
    """
    return [data_dir / "spill", Path(tempfile.gettempdir()) / f"ailoop-spill-{user_tag()}"]


def _folders(data_dir: Path) -> list[tuple[Path, bool]]:
    """Return the spill folders with whether each is inside the data dir."""
    inside, outside = spill_dirs(data_dir)
    return [(inside, True), (outside, False)]


def spill(events: Sequence[Event], data_dir: Path, prefix: str = "") -> Path | None:
    """Save events that cannot be stored now to a file the next open of the store imports.

    The file is written atomically and synced to disk, in the first spill folder that is
    usable. Returns the file, or None when no spill folder is usable.
    """
    data = "".join(json.dumps(e.to_json(), ensure_ascii=False) + "\n" for e in events)
    name = f"{prefix}{os.getpid()}-{uuid.uuid4().hex}.jsonl"
    for folder, inside in _folders(data_dir):
        if private_dir(folder, tighten=inside) is not None:
            continue
        try:
            return write_private(folder, name, data.encode("utf-8"))
        except OSError:
            continue
    return None


def journal(events: Sequence[Event], data_dir: Path) -> Path | None:
    """Journal outcomes that are not in SQLite yet: a spill file named ``journal-…``."""
    return spill(events, data_dir, prefix=JOURNAL_PREFIX)


class NotImported(Exception):
    """A spill file that is not this user's regular file; the message says why."""


def read_own_file(path: Path) -> bytes:
    """Return the bytes of ``path`` if it is a regular file of this user's (not a link).

    Raises :class:`NotImported` for anything else, :class:`OSError` when it cannot be read.
    """
    info = os.lstat(path)
    if stat.S_ISLNK(info.st_mode):
        raise NotImported("it is a symbolic link")
    flags = os.O_RDONLY | getattr(os, "O_NOFOLLOW", 0) | getattr(os, "O_NONBLOCK", 0)
    fd = os.open(path, flags | getattr(os, "O_BINARY", 0))
    with os.fdopen(fd, "rb") as f:
        info = os.fstat(f.fileno())  # the file opened, whatever the name points to now
        if not stat.S_ISREG(info.st_mode):
            raise NotImported("it is not a regular file")
        getuid = getattr(os, "getuid", None)
        if getuid is not None and info.st_uid != getuid():
            raise NotImported(f"it belongs to another user (uid {info.st_uid})")
        return f.read()


def parse_spill(data: bytes) -> tuple[list[Event], list[tuple[int, str, bytes]]]:
    """Read a spill file's lines: the events, and the lines that are not valid events.

    Each bad line comes with its number (from 1), why it is bad, and its bytes. A line is
    bad when it is not JSON, not a valid event, or names an invalid pattern key (in
    ``pattern`` or ``findings``, per :func:`ailoop.patterns.model.valid_key`).
    """
    from ailoop.patterns.model import valid_key

    events: list[Event] = []
    bad: list[tuple[int, str, bytes]] = []
    for number, line in enumerate(data.split(b"\n"), start=1):
        if not line.strip():
            continue
        try:
            value = json.loads(line)
        except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError
            bad.append((number, f"not JSON ({exc})", line))
            continue
        if not isinstance(value, dict):
            bad.append((number, "not an event (a JSON object)", line))
            continue
        try:
            event = Event.from_json(value)
        except ValueError as exc:
            bad.append((number, f"not a valid event ({exc})", line))
            continue
        loose = [
            name
            for name in ("reason", "pattern", "text")
            if not isinstance(getattr(event, name), (str, type(None)))
        ]
        if loose or not event.id:
            bad.append((number, f"not a valid event (wrong type of {loose or 'id'})", line))
            continue
        keys = [event.pattern] if event.pattern is not None else []
        invalid = [k for k in [*keys, *event.findings] if valid_key(k) is None]
        if invalid:
            bad.append((number, f"invalid pattern key {invalid[0][:80]!r}", line))
            continue
        events.append(event)
    return events, bad


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
        #: Journal files whose outcomes wait in memory; removed by the next good write.
        self._journals: list[Path] = []
        #: Outcome writes still running after their answer went out.
        self._outcomes: set[asyncio.Future[bool]] = set()

    @property
    def pending(self) -> int:
        """Return how many events wait in memory for the store."""
        return len(self._pending)

    @property
    def journaled(self) -> int:
        """Return how many outcome journals wait for their events to reach SQLite."""
        return len(self._journals) + len(self._outcomes)

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
        for folder, inside in _folders(self.data_dir):
            if not os.path.lexists(folder):
                continue
            problem = private_dir(folder, create=False, tighten=inside)
            if problem is not None:
                self._on_problem(f"spilled events in {folder} are not imported: {problem}")
                continue
            for path in sorted(folder.glob("*.jsonl")):
                self._import_spill(path)

    def _import_spill(self, path: Path) -> None:
        assert self._store is not None
        try:
            data = read_own_file(path)
        except FileNotFoundError:
            return  # another server imported it meanwhile
        except NotImported as exc:
            self._on_problem(f"spilled events in {path} are not imported: {exc}")
            return
        except OSError as exc:
            self._on_problem(f"could not import spilled events from {path}: {exc}")
            return
        events, bad = parse_spill(data)
        try:
            self._store.append(events)
        except StoreError as exc:
            self._on_problem(f"could not import spilled events from {path}: {exc}")
            return
        aside = path.with_name(path.name + REJECTED_SUFFIX)
        try:
            if bad:
                write_private(path.parent, aside.name, b"".join(raw + b"\n" for *_, raw in bad))
            path.unlink(missing_ok=True)
        except OSError as exc:
            self._on_problem(f"imported the events of {path}, but could not remove it: {exc}")
        if bad:
            number, why, _ = bad[0]
            self._on_problem(
                f"{len(bad)} line(s) of {path} are not valid events and were set aside in "
                f"{aside} (line {number}: {why}); its other {len(events)} event(s) were imported"
            )

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

    async def write_outcome(self, events: Sequence[Event], wait: float = OUTCOME_WAIT) -> bool:
        """Write an accept's or reject's events; return whether they are in SQLite.

        When the store does not take them within ``wait`` seconds (locked, failing), they
        are journaled to disk first (see :func:`journal`), and False is returned: they
        stay queued, and the journal is removed once they are written. Should the process
        die before that, the next start imports the journal. Only outcomes pay for this:
        other events take :meth:`write` and are spilled at shutdown.
        """
        batch = list(events)
        written = asyncio.ensure_future(self.write(batch))
        done, _ = await asyncio.wait({written}, timeout=wait)
        if written in done and written.exception() is None and written.result():
            return True
        self._outcomes.add(written)
        try:
            target = await asyncio.to_thread(journal, batch, self.data_dir)
        except BaseException:
            self._outcomes.discard(written)
            raise
        if target is None:
            self._outcomes.discard(written)
            self._on_problem(
                f"an outcome could not be written to {self.data_dir / DB_NAME} nor journaled "
                "(no spill folder is usable); it waits in memory"
            )
            return False
        if written.done():
            self._settle_outcome(written, target)
        else:
            written.add_done_callback(lambda future: self._settle_outcome(future, target))
        return False

    def _settle_outcome(self, written: asyncio.Future[bool], target: Path) -> None:
        """Drop an outcome's journal once its write is done: now, or at the next good write."""
        stored = not written.cancelled() and written.exception() is None and written.result()
        self._outcomes.discard(written)
        if stored:
            _remove(target)
        else:
            self._journals.append(target)  # still queued: any later good write stores it

    def _forget_journals(self) -> None:
        """Remove the journals whose events a successful write has just stored."""
        done, self._journals = self._journals, []
        for target in done:
            _remove(target)

    async def run(self, query: Callable[[LocalStore], T]) -> T:
        """Run ``query`` against the store on the worker thread (raises StoreError)."""
        loop = asyncio.get_running_loop()
        return await loop.run_in_executor(self._executor, lambda: query(self._open()))

    def _after(self, failure: str | None) -> None:
        if failure is None:
            self._forget_journals()
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
        if self._outcomes:  # their journals are settled before the last write
            await asyncio.wait(set(self._outcomes))
        loop = asyncio.get_running_loop()
        failure = await loop.run_in_executor(self._executor, self._flush, [])
        if failure is None:
            self._forget_journals()
        else:
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


def _remove(path: Path) -> None:
    with contextlib.suppress(OSError):  # another server may have imported it already
        path.unlink(missing_ok=True)


def _is_corrupt(exc: BaseException) -> bool:
    text = str(exc)
    return "not a database" in text or "malformed" in text


def _log_failure(task: asyncio.Future[bool]) -> None:
    if not task.cancelled() and (exc := task.exception()) is not None:
        log.error("retrying the event store failed: %s", exc, exc_info=exc)
