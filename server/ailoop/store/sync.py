"""Background sync between the local event store and the shared team stores.

Where: each repository's events go only to the store configured for it
(:func:`resolve_store`: ``AILOOP_STORE_URL``, else ``store.url`` from the user's config or
the editor, else the user's ``[stores.<name>]`` for the ``store.team`` a repository
names); the local store keeps which repository belongs to which store, and a synced mark
per store (:mod:`ailoop.store.local`). Events with no repository are never sent.

Push: the events waiting for one store go to it in batches, one statement per batch
(``INSERT … ON CONFLICT (id) DO NOTHING``), and are marked confirmed locally only after
the store has committed them. A crash between the two only means the batch is sent
again and skipped by the store: nothing is lost, nothing is counted twice. A batch the
store refuses for its data (an event the schema does not take) is split in halves until
the refused event is alone; it is set aside locally, with a message, and the rest go on.

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
import datetime as dt
import functools
import logging
import random
import re
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal, TypeVar

from ailoop.store import shared, team_cache
from ailoop.store.events import Event, utc_now
from ailoop.store.local import LocalStore, StoreError, describe_failure
from ailoop.store.pg_migrations import RETENTION_DAYS
from ailoop.text import clean

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
    sslmode: str | None = None
    sslrootcert: str | None = None

    @property
    def privacy(self) -> shared.Privacy:
        """The privacy settings applied to every pushed event."""
        return shared.Privacy(share_code=self.share_code, user_hash_key=self.user_hash_key)

    @property
    def timeouts(self) -> shared.Timeouts:
        """The connect and statement timeouts."""
        return shared.Timeouts(connect=self.connect_timeout, statement=self.statement_timeout)

    @property
    def tls(self) -> shared.Tls:
        """The TLS settings of the user's config (the URL's own win over them)."""
        return shared.Tls(sslmode=self.sslmode, sslrootcert=self.sslrootcert)


@dataclasses.dataclass(frozen=True)
class SyncStatus:
    """What the editor may show about the sync.

    ``pending``: local events not yet confirmed by the store. ``last_error``: the latest
    failure, redacted (no password). ``progress``: (done, total) while a push runs.
    ``last_sync``: when the store last confirmed a push (ISO UTC). ``notice``: the latest
    thing to tell the user once (events the store refused, team rows skipped, a lowered
    ``sslmode``), not a failure of the sync.
    """

    state: SyncState
    pending: int = 0
    last_error: str | None = None
    progress: tuple[int, int] | None = None
    last_sync: str | None = None
    notice: str | None = None


@dataclasses.dataclass(frozen=True)
class SyncReport:
    """The outcome of one sync.

    ``sent``: events the store confirmed, ``new`` of them new to it, ``skipped`` already
    there; ``refused``: events it refused (set aside locally); ``too_old``: events older
    than the store keeps (kept locally only); ``rules``: pattern keys pulled; ``messages``:
    what to tell the user about it.
    """

    sent: int
    new: int
    skipped: int
    rules: int
    refused: int = 0
    too_old: int = 0
    messages: tuple[str, ...] = ()


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
_TEXT_KEYS = ("url", "user_hash_key", "team", "sslmode", "sslrootcert")
STORE_KEYS = (*_TEXT_KEYS, *_BOOL_KEYS, *_NUMBER_KEYS)
#: What a team store's name looks like (``store.team``, ``[stores.<name>]``).
TEAM_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.-]{0,63}")


def store_settings(
    table: Mapping[str, Any],
    origin: str,
    environ: Mapping[str, str],
    *,
    section: str = "store",
) -> tuple[str, SyncOptions, list[str]]:
    """Read one ``store`` settings table; return (url, options, problems).

    Keys: ``url``, ``share_code``, ``hash_users``, ``user_hash_key``, ``batch_size``,
    ``interval``, ``stats_interval``, ``connect_timeout``, ``statement_timeout``,
    ``sslmode``, ``sslrootcert`` and ``team`` (read by :func:`resolve_store`).
    ``AILOOP_STORE_URL`` and ``AILOOP_USER_HASH_KEY`` in ``environ`` win over the table.
    Bad values give one problem each and keep the default. When ``hash_users`` is on but
    there is no key, the url comes back empty (sync disabled): user names never leave the
    machine unhashed by mistake. An empty url means the sync is disabled.
    """
    problems: list[str] = []
    values: dict[str, Any] = {}
    for key, value in table.items():
        name = f"{section}.{key}"
        if key not in STORE_KEYS:
            problems.append(
                f"{origin}: unknown setting '{clean(name, 80)}' "
                f"(known: {', '.join(sorted(STORE_KEYS))})"
            )
        elif key in _BOOL_KEYS:
            if isinstance(value, bool):
                values[key] = value
            else:
                problems.append(
                    f"{origin}: '{name}' must be true or false, not {clean(repr(value), 80)}"
                )
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
                    f"{origin}: '{name}' must be {kind} of at least {minimum:g}, "
                    f"not {clean(repr(value), 80)}; using the default"
                )
        elif not isinstance(value, str):
            problems.append(f"{origin}: '{name}' must be a string")
        elif key == "sslmode" and value not in shared.SSL_MODES:
            problems.append(
                f"{origin}: '{name}' must be one of {', '.join(shared.SSL_MODES)}, "
                f"not {clean(repr(value), 80)}; the default applies"
            )
        elif key == "team" and not TEAM_NAME.fullmatch(value):
            problems.append(
                f"{origin}: '{name}' must be a team store name (letters, digits, '.', '_', "
                f"'-'), not {clean(repr(value), 80)}"
            )
        else:
            values[key] = value
    values.pop("team", None)
    url = environ.get(URL_ENV) or values.pop("url", "")
    values.pop("url", None)
    hash_key: str | None = (
        environ.get(USER_HASH_KEY_ENV) or values.pop("user_hash_key", None) or None
    )
    values.pop("user_hash_key", None)
    hash_users = values.pop("hash_users", False)
    if hash_users and not hash_key:
        problems.append(
            f"{origin}: '{section}.hash_users' is on but there is no key; set "
            f"{USER_HASH_KEY_ENV} (the same on every machine of the team). The sync stays "
            "off until then"
        )
        url = ""
    options = SyncOptions(user_hash_key=hash_key if hash_users else None, **values)
    return url, options, problems


@dataclasses.dataclass(frozen=True)
class StoreChoice:
    """Where one repository's events go, as the settings decide.

    ``url`` is empty when they go nowhere. ``source`` says where the URL came from
    (``AILOOP_STORE_URL``, ``store.url``, ``stores.<team>``). ``team`` is the team store the
    repository names, if any.
    """

    url: str
    options: SyncOptions
    problems: tuple[str, ...] = ()
    source: str = ""
    team: str | None = None


def resolve_store(
    store: Mapping[str, Any],
    stores: Mapping[str, Mapping[str, Any]],
    origin: str,
    environ: Mapping[str, str],
    *,
    config_path: Path | str | None = None,
) -> StoreChoice:
    """Decide which shared store a folder's events go to.

    ``store`` is the folder's merged ``store`` table, in which ``url`` can only have come
    from the user's config or the editor (the settings never take it from a repository)
    while ``team`` may come from the repository; ``stores`` is the user's ``[stores.<name>]``
    tables. The first that is set wins: ``AILOOP_STORE_URL``, ``store.url``,
    ``stores[store.team].url`` (whose other keys, e.g. ``sslmode``, apply over ``store``'s).
    A team the user's config does not map gives one message and no sync.
    """
    if config_path is None:
        from ailoop.settings import user_config_path

        config_path = user_config_path()
    team_value = store.get("team")
    team = team_value if isinstance(team_value, str) and TEAM_NAME.fullmatch(team_value) else None
    problems: list[str] = []
    table = dict(store)
    if environ.get(URL_ENV):
        source = URL_ENV
    elif store.get("url"):
        source = "store.url"
    elif team is not None:
        mapped = stores.get(team)
        if isinstance(mapped, Mapping) and mapped.get("url"):
            source = f"stores.{team}"
            _, _, team_problems = store_settings(
                mapped, f"{config_path}", {}, section=f"stores.{team}"
            )
            problems += [p for p in team_problems if "hash_users" not in p]
            table = {**table, **{k: v for k, v in mapped.items() if k in STORE_KEYS}}
        else:
            problems.append(
                f"this repository names team store '{team}'; add [stores.{team}] "
                f'url = "postgresql://…" to {config_path} (until then its events stay on '
                "this machine)"
            )
            source = ""
            table.pop("url", None)
    else:
        source = ""
    url, options, more = store_settings(table, origin, environ)
    problems += more
    return StoreChoice(
        url=url, options=options, problems=tuple(problems), source=source if url else "", team=team
    )


def backoff_delay(failures: int, initial: float, maximum: float) -> float:
    """Return the wait before retry number ``failures`` (1, 2, …): doubling, capped."""
    if failures <= 0:
        return 0.0
    return float(min(maximum, initial * 2 ** min(failures - 1, 62)))


def count_unsynced(db_path: Path, store: str | None = None) -> int:
    """Return how many local events wait for ``store`` (a store id), or for any store."""
    local = LocalStore(db_path)
    try:
        return local.pending(store)
    finally:
        local.close()


def assign_repos(db_path: Path, assignments: Iterable[tuple[str, str | None, bool]]) -> int:
    """Record where repositories' events go: (repo, store id or None for none, share code).

    Returns how many events were queued by it. Blocking: call it off the event loop.
    """
    local = LocalStore(db_path)
    queued = 0
    try:
        for repo, store, share_code in assignments:
            if not repo:
                continue
            if store is None:
                local.unassign_repo(repo)
            else:
                queued += local.assign_repo(repo, store, share_code=share_code)
    finally:
        local.close()
    return queued


def _plural(n: int, word: str) -> str:
    return f"{n} {word}" if n == 1 else f"{n} {word}s"


class SyncEngine:
    """Push and pull over one connection to one store. Use it from a single thread and loop.

    ``store`` is the store's id (:func:`ailoop.store.shared.store_id`), computed from the
    URL when not given.
    """

    def __init__(
        self, local_db: Path, url: str, options: SyncOptions, *, store: str | None = None
    ) -> None:
        self.local_db = local_db
        self.url = url
        self.options = options
        self._store_id = store
        self._conn: psycopg.AsyncConnection[Any] | None = None
        self._local: LocalStore | None = None
        #: The count of invalid team rows last reported, so that it is reported once.
        self._skipped_reported = 0
        #: Things to tell the user once (a lowered sslmode, team rows skipped), not failures.
        self.notices: list[str] = []

    @property
    def store_id(self) -> str:
        """The store's id (from its URL, without credentials)."""
        if self._store_id is None:
            self._store_id = shared.store_id(self.url)
        return self._store_id

    @property
    def target(self) -> str:
        """The store as messages name it: ``host:port/dbname``."""
        return shared.describe_target(self.url)

    def _store(self) -> LocalStore:
        if self._local is None:
            self._local = LocalStore(self.local_db)
        return self._local

    def pending(self) -> int:
        """Return how many local events wait for the store (``StoreError`` if unreadable)."""
        return self._local_op(lambda: self._store().pending(self.store_id))

    def assign(self, repos: Iterable[str], share_code: bool) -> int:
        """Send the events of ``repos`` to this store from now on; return how many wait."""
        store = self.store_id
        return sum(
            self._local_op(
                functools.partial(self._store().assign_repo, repo, store, share_code=share_code)
            )
            for repo in repos
            if repo
        )

    async def _connection(self) -> psycopg.AsyncConnection[Any]:
        if self._conn is None or self._conn.closed:
            if warning := shared.tls_warning_once(self.url, self.options.tls):
                self.notices.append(warning)
            self._conn = await shared.connect_async(
                self.url, self.options.timeouts, tls=self.options.tls
            )
        return self._conn

    async def _drop_connection(self) -> None:
        conn, self._conn = self._conn, None
        if conn is not None:
            with contextlib.suppress(Exception):
                await asyncio.wait_for(conn.close(), 2.0)

    async def _guarded(self, operation: Callable[[], Any]) -> Any:
        """Run ``operation`` with the client-side time limit; errors become SharedStoreError.

        ``RowsRefused`` (the store refused the data, the connection is fine) passes as is.
        """
        limit = self.options.statement_timeout + 2.0
        try:
            return await asyncio.wait_for(operation(), limit)
        except shared.RowsRefused:
            raise
        except shared.SharedStoreError:
            await self._drop_connection()
            raise
        except Exception as exc:  # noqa: BLE001 - every failure becomes one clear message
            await self._drop_connection()
            if isinstance(exc, TimeoutError | asyncio.TimeoutError):
                raise shared.SharedStoreError(
                    f"shared store {self.target} did not answer within "
                    f"{limit:g} s; events wait locally and are retried",
                    retryable=True,
                ) from None
            raise shared.classify_error(exc, self.url) from None

    async def push_pending(
        self, on_progress: Callable[[int, int], None] | None = None
    ) -> SyncReport:
        """Send every event waiting for this store, batch by batch; return what happened.

        Raises ``SharedStoreError`` when the store fails; the batches confirmed before that
        stay confirmed, the rest are sent next time. Events the store refuses for their
        data are set aside locally (with a message in the report) and do not stop the rest.
        """
        store = self.store_id
        total = self.pending()
        done = confirmed = new = too_old = 0
        refusals: list[tuple[Event, str]] = []
        if on_progress is not None:
            on_progress(0, total)
        conn = await self._guarded(self._connection) if total else None
        oldest = dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=RETENTION_DAYS - 1)
        while conn is not None:
            batch = self._local_op(
                functools.partial(self._store().unsynced, store, self.options.batch_size)
            )
            if not batch:
                break
            items: list[tuple[int, Event, tuple[Any, ...]]] = []
            aside: list[tuple[int, str]] = []
            for seq, event, share_code in batch:
                privacy = dataclasses.replace(self.options.privacy, share_code=share_code)
                try:
                    row = shared.shared_row(event, privacy)
                except ValueError:
                    reason = f"its time {clean(repr(event.ts), 60)} cannot be read"
                    aside.append((seq, reason))
                    refusals.append((event, reason))
                    continue
                if row[1] < oldest:
                    aside.append((seq, f"older than the {RETENTION_DAYS} days the store keeps"))
                    too_old += 1
                    continue
                items.append((seq, event, row))
            if aside:
                self._local_op(functools.partial(self._store().set_aside, store, aside))
            sent, added = await self._push_items(conn, items, refusals)
            confirmed += sent
            new += added
            done += len(batch)
            total = max(total, done)
            if on_progress is not None:
                on_progress(done, total)
        messages: list[str] = []
        if refusals:
            event, reason = refusals[0]
            messages.append(
                f"shared store {self.target} refused {_plural(len(refusals), 'event')} "
                f"(the first, {clean(event.id, 64)} from {clean(event.repo, 120) or 'no repo'}: "
                f"{clean(reason, 200)}); they stay in the local store, set aside, and the "
                "others were sent. `ailoop sync --retry-refused` sends them again"
            )
        if too_old:
            messages.append(
                f"{_plural(too_old, 'local event')} older than the {RETENTION_DAYS} days "
                f"shared store {self.target} keeps stay on this machine only"
            )
        return SyncReport(
            sent=confirmed,
            new=new,
            skipped=confirmed - new,
            rules=0,
            refused=len(refusals),
            too_old=too_old,
            messages=tuple(messages),
        )

    async def _push_items(
        self,
        conn: psycopg.AsyncConnection[Any],
        items: list[tuple[int, Event, tuple[Any, ...]]],
        refusals: list[tuple[Event, str]],
    ) -> tuple[int, int]:
        """Push ``items`` in one transaction; split it while the store refuses its data.

        Returns (confirmed, new). Each part is marked confirmed only after its commit; an
        event refused on its own is set aside. Other failures raise ``SharedStoreError``.
        """
        if not items:
            return 0, 0
        try:
            added = await self._guarded(
                functools.partial(shared.push_rows, conn, [row for _, _, row in items])
            )
        except shared.RowsRefused as exc:
            if len(items) == 1:
                seq, event, _ = items[0]
                self._local_op(
                    functools.partial(self._store().set_aside, self.store_id, [(seq, exc.reason)])
                )
                refusals.append((event, exc.reason))
                logger.warning("shared store %s refused an event: %s", self.target, exc.reason)
                return 0, 0
            middle = len(items) // 2
            first = await self._push_items(conn, items[:middle], refusals)
            second = await self._push_items(conn, items[middle:], refusals)
            return first[0] + second[0], first[1] + second[1]
        seqs = [seq for seq, _, _ in items]
        self._local_op(functools.partial(self._store().mark_synced, self.store_id, seqs))
        return len(items), int(added)

    async def pull_stats(self) -> int:
        """Copy the team's pattern statistics into the local cache; return how many keys."""
        self._local_op(self._store)
        conn = await self._guarded(self._connection)
        stats = await self._guarded(
            functools.partial(
                shared.fetch_team_pattern_stats, conn, recent_days=self.options.recent_days
            )
        )
        self._local_op(
            lambda: team_cache.replace_team_stats(
                self.local_db, stats, utc_now(), store=self.store_id
            )
        )
        if notice := self.skipped_notice(stats.skipped, stats.skip_reason):
            logger.warning("%s", notice)
            self.notices.append(notice)
        return len(stats.keys)

    def skipped_notice(self, stats_skipped: int, reason: str) -> str | None:
        """Say once (per count) that team rows were skipped."""
        if stats_skipped == self._skipped_reported:
            return None
        self._skipped_reported = stats_skipped
        if not stats_skipped:
            return None
        return (
            f"shared store {self.target}: skipped {_plural(stats_skipped, 'team statistics row')} "
            f"that {'is' if stats_skipped == 1 else 'are'} not valid (the first: "
            f"{clean(reason, 200)}); the other rows are used"
        )

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
    repos: Iterable[str] = (),
    retry_refused: bool = False,
) -> SyncReport:
    """Push the events waiting for the store at ``url`` and pull its statistics (blocking).

    ``repos`` are assigned to this store first (their events go there from now on, with
    their texts when ``options.share_code``); the events of repositories assigned to it
    before go too. ``retry_refused``: queue the events it refused before once more.
    Raises ``SharedStoreError`` (redacted) on failure and ``StoreError`` when the local
    store cannot be opened.
    """

    async def work() -> SyncReport:
        engine = SyncEngine(local_db, url, options)
        try:
            engine.assign(repos, options.share_code)
            if retry_refused:
                engine._local_op(
                    functools.partial(engine._store().retry_set_aside, engine.store_id)
                )
            report = await engine.push_pending(on_progress)
            rules = await engine.pull_stats() if pull else 0
        finally:
            await engine.close()
        return dataclasses.replace(
            report, rules=rules, messages=(*engine.notices, *report.messages)
        )

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
        *,
        store: str | None = None,
        repos: Iterable[str] = (),
    ) -> None:
        self.local_db = local_db
        self.url = url
        self.options = options
        self.on_status = on_status
        #: The store's id (computed on the sync thread from the URL when not given).
        self.store = store
        #: Repositories assigned to this store when the thread starts.
        self.repos = tuple(repos)
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
            loop, main, wake = self._worker_loop, self._main, self._wake
        if loop is not None and main is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(main.cancel)
                # also wake it: on Python 3.11, ``asyncio.wait_for`` can swallow a
                # cancellation that arrives as its operation ends, and the loop then
                # sees the request at the top of its next round
                if wake is not None:
                    loop.call_soon_threadsafe(wake.set)

    def _stopping(self) -> bool:
        with self._lock:
            return self._stop_requested

    async def _until_stopped(self, wake: asyncio.Event) -> None:
        """Do nothing until ``stop()`` (nudges wake it too, and change nothing)."""
        while not self._stopping():
            wake.clear()
            await wake.wait()

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
        engine = SyncEngine(self.local_db, self.url, opts, store=self.store)
        status = SyncStatus("idle")

        def emit(**changes: Any) -> None:
            nonlocal status
            status = dataclasses.replace(status, **changes)
            self._emit(server_loop, status)

        def tell(messages: Iterable[str]) -> None:
            for message in messages:
                emit(notice=message)
            engine.notices.clear()

        if not self.url:
            emit(state="disabled")
            await self._until_stopped(wake)
            return
        try:
            shared.import_psycopg()
        except shared.SharedStoreError as exc:
            emit(state="error", last_error=str(exc))
            await self._until_stopped(wake)
            return

        failures = 0
        retry_at = 0.0
        next_pull = 0.0
        assigned = not self.repos
        try:
            while not self._stopping():
                wake.clear()
                with self._lock:
                    self._nudged = False
                now = time.monotonic()
                if now < retry_at:  # backing off: only keep the pending count current
                    emit(pending=_safe_pending(engine, status.pending))
                    await _wait(wake, retry_at - now)
                    continue
                try:
                    if not assigned:
                        engine.assign(self.repos, opts.share_code)
                        assigned = True
                    pending = engine.pending()
                    if pending:
                        emit(state="syncing", pending=pending, progress=(0, pending))

                        def progress(done: int, total: int) -> None:
                            emit(
                                state="syncing",
                                pending=max(total - done, 0),
                                progress=(done, total),
                            )

                        report = await engine.push_pending(progress)
                        tell([*engine.notices, *report.messages])
                        emit(last_sync=utc_now())
                    if time.monotonic() >= next_pull:
                        await engine.pull_stats()
                        tell(engine.notices)
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
                    tell(engine.notices)
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
                        message = shared.redact(f"sync failed: {clean(repr(exc))}", self.url)
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
