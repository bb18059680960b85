"""Background sync between the local event store and the shared team store.

Push: unconfirmed local events go to PostgreSQL in batches, one statement per batch
(``INSERT … ON CONFLICT (id) DO NOTHING``), and are marked confirmed locally only after
the store has committed them. A crash between the two only means the batch is sent
again and skipped by the store: nothing is lost, nothing is counted twice.

Pull: the team's pattern statistics are copied into a local cache table
(``ailoop.store.team_cache``) that the diagnostics read without touching the network.

``SyncTask`` runs all of this on its own thread with its own event loop, so neither the
database driver nor SQLite ever runs on the server's loop; the server only sees status
callbacks, delivered on its loop. ``sync_once`` is the same work, once, for ``ailoop sync``.
Every wait on the network has a timeout (connect, statement, and a client-side limit that
also covers a server that stopped answering), and failures are retried with exponential
backoff.
"""

from __future__ import annotations

import asyncio
import contextlib
import dataclasses
import functools
import logging
import random
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from ailoop.store import shared, team_cache
from ailoop.store.events import utc_now
from ailoop.store.local import LocalStore, StoreError, describe_failure

if TYPE_CHECKING:
    import psycopg

logger = logging.getLogger(__name__)

T = TypeVar("T")

SyncState = Literal["idle", "syncing", "offline", "error", "disabled"]


@dataclasses.dataclass(frozen=True)
class SyncOptions:
    """How the sync behaves. Times are in seconds.

    ``share_code``: send snippet texts (off: the ``text`` field stays on this machine).
    ``user_hash_key``: when set, user names are replaced by an HMAC keyed with it (every
    machine of the team must use the same key for the per-person stats to line up).
    ``recent_days``: the recent window of the pulled statistics (the patterns' setting).
    ``nudge_delay``: after a nudge, wait this long so a burst of events goes in one push.
    """

    batch_size: int = 500
    share_code: bool = False
    user_hash_key: str | None = None
    connect_timeout: float = 5.0
    statement_timeout: float = 15.0
    interval: float = 30.0
    stats_interval: float = 300.0
    backoff_initial: float = 1.0
    backoff_max: float = 300.0
    recent_days: int = 7
    nudge_delay: float = 1.0

    @property
    def privacy(self) -> shared.Privacy:
        """The privacy settings applied to every pushed event."""
        return shared.Privacy(share_code=self.share_code, user_hash_key=self.user_hash_key)

    @property
    def timeouts(self) -> shared.Timeouts:
        """The connect and statement timeouts."""
        return shared.Timeouts(connect=self.connect_timeout, statement=self.statement_timeout)


@dataclasses.dataclass(frozen=True)
class SyncStatus:
    """What the editor may show about the sync.

    ``pending``: local events not yet confirmed by the store. ``last_error``: the latest
    failure, redacted (no password). ``progress``: (done, total) while a push runs.
    ``last_sync``: when the store last confirmed a push (ISO UTC).
    """

    state: SyncState
    pending: int = 0
    last_error: str | None = None
    progress: tuple[int, int] | None = None
    last_sync: str | None = None


@dataclasses.dataclass(frozen=True)
class SyncReport:
    """The outcome of one sync: events sent, of which new to the store, and rules pulled."""

    sent: int
    new: int
    skipped: int
    rules: int


#: Environment variables the store settings read (they win over the configuration).
URL_ENV = "AILOOP_STORE_URL"
USER_HASH_KEY_ENV = "AILOOP_USER_HASH_KEY"

_BOOL_KEYS = ("share_code", "hash_users")
_NUMBER_KEYS = {  # key: (minimum, whole number)
    "batch_size": (1, True),
    "interval": (1.0, False),
    "stats_interval": (10.0, False),
    "connect_timeout": (1.0, False),
    "statement_timeout": (1.0, False),
}
STORE_KEYS = ("url", "user_hash_key", *_BOOL_KEYS, *_NUMBER_KEYS)


def store_settings(
    table: Mapping[str, Any], origin: str, environ: Mapping[str, str]
) -> tuple[str, SyncOptions, list[str]]:
    """Read the ``store`` settings section; return (url, options, problems).

    Keys: ``url``, ``share_code``, ``hash_users``, ``user_hash_key``, ``batch_size``,
    ``interval``, ``stats_interval``, ``connect_timeout``, ``statement_timeout``.
    ``AILOOP_STORE_URL`` and ``AILOOP_USER_HASH_KEY`` in ``environ`` win over the table.
    Bad values give one problem each and keep the default. When ``hash_users`` is on but
    there is no key, the url comes back empty (sync disabled): user names never leave the
    machine unhashed by mistake. An empty url means the sync is disabled.
    """
    problems: list[str] = []
    values: dict[str, Any] = {}
    for key, value in table.items():
        if key not in STORE_KEYS:
            problems.append(
                f"{origin}: unknown setting 'store.{key}' (known: {', '.join(sorted(STORE_KEYS))})"
            )
        elif key in _BOOL_KEYS:
            if isinstance(value, bool):
                values[key] = value
            else:
                problems.append(f"{origin}: 'store.{key}' must be true or false, not {value!r}")
        elif key in _NUMBER_KEYS:
            minimum, whole = _NUMBER_KEYS[key]
            ok = isinstance(value, int | float) and not isinstance(value, bool)
            if ok and whole:
                ok = float(value).is_integer()
            if ok and value >= minimum:
                values[key] = int(value) if whole else float(value)
            else:
                kind = "a whole number" if whole else "a number"
                problems.append(
                    f"{origin}: 'store.{key}' must be {kind} of at least {minimum:g}, "
                    f"not {value!r}; using the default"
                )
        elif isinstance(value, str):
            values[key] = value
        else:
            problems.append(f"{origin}: 'store.{key}' must be a string")
    url = environ.get(URL_ENV) or values.pop("url", "")
    values.pop("url", None)
    hash_key: str | None = (
        environ.get(USER_HASH_KEY_ENV) or values.pop("user_hash_key", None) or None
    )
    values.pop("user_hash_key", None)
    hash_users = values.pop("hash_users", False)
    if hash_users and not hash_key:
        problems.append(
            f"{origin}: 'store.hash_users' is on but there is no key; set {USER_HASH_KEY_ENV} "
            "(the same on every machine of the team). The sync stays off until then"
        )
        url = ""
    options = SyncOptions(user_hash_key=hash_key if hash_users else None, **values)
    return url, options, problems


def backoff_delay(failures: int, initial: float, maximum: float) -> float:
    """Return the wait before retry number ``failures`` (1, 2, …): doubling, capped."""
    if failures <= 0:
        return 0.0
    return float(min(maximum, initial * 2 ** min(failures - 1, 62)))


def count_unsynced(db_path: Path) -> int:
    """Return how many local events the shared store has not confirmed yet."""
    db = sqlite3.connect(db_path, timeout=5.0, isolation_level=None)
    try:
        (n,) = db.execute("SELECT count(*) FROM events WHERE synced = 0").fetchone()
    finally:
        db.close()
    return int(n)


class SyncEngine:
    """Push and pull over one connection. Use it from a single thread and event loop."""

    def __init__(self, local_db: Path, url: str, options: SyncOptions) -> None:
        self.local_db = local_db
        self.url = url
        self.options = options
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._local: LocalStore | None = None

    def _store(self) -> LocalStore:
        if self._local is None:
            self._local = LocalStore(self.local_db)
        return self._local

    def pending(self) -> int:
        """Return how many local events wait for the store (``StoreError`` if unreadable)."""
        # opening the store first creates the file and its schema on first use
        return self._local_op(lambda: (self._store(), count_unsynced(self.local_db))[1])

    async def _connection(self) -> psycopg.AsyncConnection[Any]:
        if self._conn is None or self._conn.closed:
            self._conn = await shared.connect_async(self.url, self.options.timeouts)
        return self._conn

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 2.0)

    async def _guarded(self, operation: Callable[[], Any]) -> Any:
        """Run ``operation`` with the client-side time limit; errors become SharedStoreError."""
        limit = self.options.statement_timeout + 2.0
        try:
            return await asyncio.wait_for(operation(), limit)
        except shared.SharedStoreError:
            await self._drop_connection()
            raise
        except Exception as exc:  # noqa: BLE001 - every failure becomes one clear message
            await self._drop_connection()
            if isinstance(exc, TimeoutError | asyncio.TimeoutError):
                raise shared.SharedStoreError(
                    f"shared store {shared.describe_target(self.url)} did not answer within "
                    f"{limit:g} s; events wait locally and are retried",
                    retryable=True,
                ) from None
            raise shared.classify_error(exc, self.url) from None

    async def push_pending(
        self, on_progress: Callable[[int, int], None] | None = None
    ) -> SyncReport:
        """Send every unconfirmed local event, batch by batch; return what happened.

        Raises ``SharedStoreError`` when the store fails; the batches confirmed before that
        stay confirmed, the rest are sent next time.
        """
        total = self._local_op(lambda: (self._store(), count_unsynced(self.local_db))[1])
        done = new = 0
        if on_progress is not None:
            on_progress(0, total)
        conn = await self._guarded(self._connection) if total else None
        while conn is not None:
            batch = self._local_op(lambda: self._store().unsynced(self.options.batch_size))
            if not batch:
                break
            rows: list[tuple[Any, ...]] = []
            unreadable = 0
            for _, event in batch:
                try:
                    rows.append(shared.shared_row(event, self.options.privacy))
                except ValueError:
                    unreadable += 1
            if unreadable:
                logger.warning("%d local events have unreadable timestamps, not sent", unreadable)
            new += await self._guarded(functools.partial(shared.push_rows, conn, rows))
            confirmed = [seq for seq, _ in batch]
            self._local_op(functools.partial(self._store().mark_synced, confirmed))
            done += len(batch)
            total = max(total, done)
            if on_progress is not None:
                on_progress(done, total)
        return SyncReport(sent=done, new=new, skipped=done - new, rules=0)

    async def pull_stats(self) -> int:
        """Copy the team's pattern statistics into the local cache; return how many keys."""
        self._local_op(self._store)
        conn = await self._guarded(self._connection)
        stats = await self._guarded(
            functools.partial(
                shared.fetch_team_pattern_stats, conn, recent_days=self.options.recent_days
            )
        )
        self._local_op(lambda: team_cache.replace_team_stats(self.local_db, stats, utc_now()))
        return len(stats.keys)

    def _local_op(self, operation: Callable[[], T]) -> T:
        """Run a local SQLite operation; its errors become ``StoreError`` with a hint."""
        try:
            return operation()
        except sqlite3.Error as exc:
            raise StoreError(describe_failure(self.local_db, exc)) from exc

    async def close(self) -> None:
        """Close the connection and the local store."""
        await self._drop_connection()
        if self._local is not None:
            self._local.close()
            self._local = None


def _new_loop() -> asyncio.AbstractEventLoop:
    # psycopg's async API needs a selector loop (the Windows default is the proactor).
    return asyncio.SelectorEventLoop()


def sync_once(
    local_db: Path,
    url: str,
    options: SyncOptions,
    on_progress: Callable[[int, int], None] | None = None,
    *,
    pull: bool = True,
) -> SyncReport:
    """Push every pending event and pull the team statistics once (blocking).

    Raises ``SharedStoreError`` (redacted) on failure and ``StoreError`` when the local
    store cannot be opened.
    """

    async def work() -> SyncReport:
        engine = SyncEngine(local_db, url, options)
        try:
            report = await engine.push_pending(on_progress)
            rules = await engine.pull_stats() if pull else 0
        finally:
            await engine.close()
        return dataclasses.replace(report, rules=rules)

    loop = _new_loop()
    try:
        return loop.run_until_complete(work())
    finally:
        loop.close()


class SyncTask:
    """The server's background sync: runs until ``stop()``, wakes on ``nudge()`` or a timer.

    The work happens on a thread of its own with its own event loop; ``on_status`` is
    called on the loop that awaited ``run()``, only when the status changes.
    """

    def __init__(
        self,
        local_db: Path,
        url: str,
        options: SyncOptions,
        on_status: Callable[[SyncStatus], None],
    ) -> None:
        self.local_db = local_db
        self.url = url
        self.options = options
        self.on_status = on_status
        self._lock = threading.Lock()
        self._worker_loop: asyncio.AbstractEventLoop | None = None
        self._wake: asyncio.Event | None = None
        self._main: asyncio.Task[None] | None = None
        self._stop_requested = False
        self._nudged = False
        self._done: asyncio.Future[None] | None = None
        self._last_status: SyncStatus | None = None
        self.status = SyncStatus("idle")

    # ----------------------------------------------------------------- server side

    async def run(self) -> None:
        """Start the sync thread and wait until it has stopped."""
        server_loop = asyncio.get_running_loop()
        done: asyncio.Future[None] = server_loop.create_future()
        self._done = done

        def finished() -> None:
            if not done.done():
                done.set_result(None)

        def thread_main() -> None:
            try:
                self._thread_main(server_loop)
            except BaseException:
                logger.exception("the sync thread failed")
            finally:
                with contextlib.suppress(RuntimeError):  # the server loop is closed
                    server_loop.call_soon_threadsafe(finished)

        threading.Thread(target=thread_main, name="ailoop-sync", daemon=True).start()
        try:
            await asyncio.shield(done)
        except asyncio.CancelledError:
            self._request_stop()
            raise

    def nudge(self) -> None:
        """Tell the sync that new local events exist (thread-safe, never blocks)."""
        with self._lock:
            self._nudged = True
            loop, wake = self._worker_loop, self._wake
        if loop is not None and wake is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(wake.set)

    async def stop(self, timeout: float = 5.0) -> None:
        """Stop the sync; waits up to ``timeout`` s for the thread to finish its step."""
        self._request_stop()
        if self._done is not None:
            with contextlib.suppress(TimeoutError, asyncio.TimeoutError):
                await asyncio.wait_for(asyncio.shield(self._done), timeout)

    def _request_stop(self) -> None:
        with self._lock:
            self._stop_requested = True
            loop, main = self._worker_loop, self._main
        if loop is not None and main is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(main.cancel)

    # ----------------------------------------------------------------- sync thread

    def _thread_main(self, server_loop: asyncio.AbstractEventLoop) -> None:
        loop = _new_loop()
        asyncio.set_event_loop(loop)
        try:
            with self._lock:
                if self._stop_requested:
                    return
                self._worker_loop = loop
                self._wake = asyncio.Event()
                if self._nudged:
                    self._wake.set()
                self._main = loop.create_task(self._loop(server_loop))
            with contextlib.suppress(asyncio.CancelledError):
                loop.run_until_complete(self._main)
        finally:
            with self._lock:
                self._worker_loop = None
            loop.close()

    def _emit(self, server_loop: asyncio.AbstractEventLoop, status: SyncStatus) -> None:
        self.status = status
        if status == self._last_status:
            return
        self._last_status = status

        def deliver() -> None:
            try:
                self.on_status(status)
            except Exception:
                logger.exception("sync status listener failed")

        with contextlib.suppress(RuntimeError):
            server_loop.call_soon_threadsafe(deliver)

    async def _loop(self, server_loop: asyncio.AbstractEventLoop) -> None:
        assert self._wake is not None
        wake = self._wake
        opts = self.options
        engine = SyncEngine(self.local_db, self.url, opts)
        status = SyncStatus("idle")

        def emit(**changes: Any) -> None:
            nonlocal status
            status = dataclasses.replace(status, **changes)
            self._emit(server_loop, status)

        if not self.url:
            emit(state="disabled")
            await _wait_forever()
        try:
            shared.import_psycopg()
        except shared.SharedStoreError as exc:
            emit(state="error", last_error=str(exc))
            await _wait_forever()

        failures = 0
        retry_at = 0.0
        next_pull = 0.0
        try:
            while True:
                wake.clear()
                with self._lock:
                    self._nudged = False
                now = time.monotonic()
                if now < retry_at:  # backing off: only keep the pending count current
                    emit(pending=_safe_pending(engine, status.pending))
                    await _wait(wake, retry_at - now)
                    continue
                try:
                    pending = engine.pending()
                    if pending:
                        emit(state="syncing", pending=pending, progress=(0, pending))

                        def progress(done: int, total: int) -> None:
                            emit(
                                state="syncing",
                                pending=max(total - done, 0),
                                progress=(done, total),
                            )

                        await engine.push_pending(progress)
                        emit(last_sync=utc_now())
                    if time.monotonic() >= next_pull:
                        await engine.pull_stats()
                        next_pull = time.monotonic() + opts.stats_interval
                    failures = 0
                    emit(
                        state="idle",
                        pending=_safe_pending(engine, 0),
                        last_error=None,
                        progress=None,
                    )
                    if await _wait(wake, opts.interval):  # nudged: let a burst of events gather
                        await asyncio.sleep(opts.nudge_delay)
                except shared.SharedStoreError as exc:
                    failures += 1
                    delay = backoff_delay(failures, opts.backoff_initial, opts.backoff_max)
                    if not exc.retryable:
                        delay = max(delay, min(opts.backoff_max, 60.0))
                    retry_at = time.monotonic() + delay * random.uniform(0.8, 1.0)  # noqa: S311
                    # the same failure again (the store stays down) is logged quietly
                    level = logging.DEBUG if str(exc) == status.last_error else logging.WARNING
                    logger.log(level, "sync failed (retry in %.1f s): %s", delay, exc)
                    emit(
                        state="offline" if exc.retryable else "error",
                        pending=_safe_pending(engine, status.pending),
                        last_error=str(exc),
                        progress=None,
                    )
                except Exception as exc:  # the sync must outlive any failure
                    failures += 1
                    retry_at = time.monotonic() + backoff_delay(
                        failures, opts.backoff_initial, opts.backoff_max
                    )
                    if isinstance(exc, StoreError):
                        message = str(exc)
                    else:
                        logger.exception("unexpected sync failure")
                        message = shared.redact(f"sync failed: {exc!r}", self.url)
                    emit(state="error", last_error=message, progress=None)
        finally:
            await engine.close()


def _safe_pending(engine: SyncEngine, fallback: int) -> int:
    try:
        return engine.pending()
    except (StoreError, sqlite3.Error):
        return fallback


async def _wait(wake: asyncio.Event, seconds: float) -> bool:
    """Wait until ``wake`` is set or ``seconds`` pass; return whether it was set."""
    try:
        await asyncio.wait_for(wake.wait(), max(seconds, 0.0))
    except (TimeoutError, asyncio.TimeoutError):
        return False
    return True


async def _wait_forever() -> None:
    await asyncio.Event().wait()
