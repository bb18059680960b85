"""Helpers shared by the shared-store tests: event factories, PostgreSQL probes, status waits."""

from __future__ import annotations

import asyncio
import dataclasses
import datetime as dt
import random
import time
import uuid
from collections.abc import Callable
from pathlib import Path

from ailoop.store.events import REVIEW_OUTCOMES, Event, Kind, Source
from ailoop.store.local import DB_NAME, LocalStore
from ailoop.store.sync import SyncStatus

RULES = (
    "ruff:F401",
    "ruff:BLE001",
    "ruff:E722",
    "ty:unresolved-reference",
    "pattern:bare-except",  # also picked as "bare-except": one event counts once
)
PATTERNS = ("bare-except", "broad-catch", "print-debugging")
KINDS = (Kind.GENERATED, Kind.ACCEPTED, Kind.REJECTED, Kind.KEPT, Kind.REVERTED, Kind.MODIFIED)
#: The repository of the events ``make_events`` makes (assign it to a store to push them).
REPO = "github.com/team/app"


def make_events(
    count: int, seed: int = 0, *, now: dt.datetime | None = None, repo: str = REPO
) -> list[Event]:
    """Return ``count`` varied events spread over the last 30 days (deterministic per seed)."""
    rng = random.Random(seed)
    now = now or dt.datetime.now(dt.timezone.utc)
    events = []
    for i in range(count):
        kind = rng.choice(KINDS)
        ts = now - dt.timedelta(seconds=rng.randint(0, 30 * 86400))
        findings = tuple(rng.sample(RULES, rng.randint(0, 3)))
        events.append(
            Event(
                kind=kind,
                snippet=f"sha256:{seed:04d}{i:060d}",
                tool=rng.choice(("copilot", "cursor", "claude-code")),
                user=rng.choice(("alice", "bob", "carol")),
                repo=repo,
                path=f"src/mod{i % 7}.py",
                language="python",
                lines=rng.randint(1, 40),
                findings=findings,
                reason="too broad" if kind is Kind.REJECTED else None,
                pattern=rng.choice((*PATTERNS, None)) if kind is Kind.REJECTED else None,
                text=f"def f{i}():\n    return {i}\n",
                ts=ts.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
            )
        )
    return events


def local_db_with(data_dir: Path, events: list[Event]) -> Path:
    """Write ``events`` to the local store in ``data_dir``; return the database path."""
    store = LocalStore.open(data_dir)
    try:
        store.append(events)
    finally:
        store.close()
    return data_dir / DB_NAME


def pg_ids(url: str) -> list[str]:
    """Return every event id in the shared store (with repeats, if there were any)."""
    import psycopg

    with psycopg.connect(url) as conn:
        return [row[0] for row in conn.execute("SELECT id FROM ailoop.events")]


def pg_count(url: str) -> int:
    """Return how many events the shared store holds."""
    import psycopg

    with psycopg.connect(url, connect_timeout=5) as conn:
        row = conn.execute("SELECT count(*) FROM ailoop.events").fetchone()
        return int(row[0]) if row else 0


def wait_until(predicate: Callable[[], bool], timeout: float, interval: float = 0.02) -> None:
    """Poll ``predicate`` until it is true; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"condition not met within {timeout} s")
        time.sleep(interval)


class StatusRecorder:
    """Collects the statuses a ``SyncTask`` reports and lets a test wait for one."""

    def __init__(self) -> None:
        self.seen: list[SyncStatus] = []
        self._changed = asyncio.Event()

    def __call__(self, status: SyncStatus) -> None:
        """Record ``status`` (the ``on_status`` callback)."""
        self.seen.append(status)
        self._changed.set()

    async def wait_for(self, predicate: Callable[[SyncStatus], bool], timeout: float) -> SyncStatus:
        """Return the first status (from now on or already seen) matching ``predicate``."""
        start = len(self.seen)

        async def scan() -> SyncStatus:
            index = start
            while True:
                while index < len(self.seen):
                    if predicate(self.seen[index]):
                        return self.seen[index]
                    index += 1
                self._changed.clear()
                await self._changed.wait()

        try:
            return await asyncio.wait_for(scan(), timeout)
        except (TimeoutError, asyncio.TimeoutError):
            last = self.seen[-1] if self.seen else None
            raise AssertionError(f"no matching status within {timeout} s; last: {last}") from None


class LoopLatency:
    """Measures how late the event loop runs a 10 ms timer (the editor's responsiveness)."""

    def __init__(self) -> None:
        self.delays: list[float] = []
        self._task: asyncio.Task[None] | None = None

    @property
    def worst(self) -> float:
        """The longest delay seen, in seconds."""
        return max(self.delays, default=0.0)

    @property
    def p99(self) -> float:
        """The 99th percentile of the delays, in seconds."""
        ordered = sorted(self.delays)
        return ordered[int(len(ordered) * 0.99)] if ordered else 0.0

    async def _tick(self) -> None:
        while True:
            start = time.perf_counter()
            await asyncio.sleep(0.01)
            self.delays.append(time.perf_counter() - start - 0.01)

    def start(self) -> None:
        """Start measuring."""
        self._task = asyncio.get_running_loop().create_task(self._tick())

    async def stop(self) -> None:
        """Stop measuring."""
        if self._task is not None:
            self._task.cancel()
            await asyncio.gather(self._task, return_exceptions=True)
            self._task = None

    async def measure_for(self, seconds: float) -> None:
        """Measure for ``seconds`` (a baseline while nothing else runs)."""
        self.start()
        await asyncio.sleep(seconds)
        await self.stop()


#: The second repository of :func:`team_events`, and the models its events name.
OTHER_REPO = "github.com/team/api"
MODELS = (None, "anthropic/claude-sonnet-4", "openai/gpt-5")


def team_events(
    seed: int,
    now: dt.datetime | None = None,
    *,
    sizes: tuple[int, int] = (500, 200),
    reviews: int = 120,
) -> list[Event]:
    """Events of two repositories (``sizes``), some with a model, and ``reviews`` review
    outcomes of them, one in four at pull-request level (deterministic per seed)."""
    rng = random.Random(seed)
    events = make_events(sizes[0], seed=seed, now=now) + make_events(
        sizes[1], seed=seed + 1, now=now, repo=OTHER_REPO
    )
    events = [dataclasses.replace(e, model=rng.choice(MODELS)) for e in events]
    outcomes = [
        dataclasses.replace(
            event,
            id=str(uuid.uuid4()),
            kind=Kind.REVIEWED,
            snippet="" if i % 4 == 3 else event.snippet,
            source=Source.REVIEW,
            outcome=REVIEW_OUTCOMES[i % len(REVIEW_OUTCOMES)],
            reviewer="dana",
            pr=f"https://example.com/team/app/pull/{i % 11}",
            reason=None,
            pattern=None,
        )
        for i, event in enumerate(rng.sample(events, reviews))
    ]
    return events + outcomes
