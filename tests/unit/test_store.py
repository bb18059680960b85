"""The local store and its writer, against real SQLite files in real failure states."""

from __future__ import annotations

import asyncio
import sqlite3
import subprocess
import tempfile
import uuid
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from ailoop.store.events import Event, Kind, new_event_id
from ailoop.store.local import DB_NAME, MIGRATIONS, LocalStore, StoreError
from ailoop.store.writer import EventWriter, spill_dirs
from tests.conftest import require


def event(n: int, kind: Kind = Kind.GENERATED) -> Event:
    return Event(kind=kind, snippet=f"sha256:{n:064x}", repo="r", path="p.py", text="x = 1")


def stored(data_dir: Path) -> list[Event]:
    store = LocalStore.open(data_dir)
    try:
        return list(store.events())
    finally:
        store.close()


def test_append_is_idempotent_and_ordered(data_dir: Path) -> None:
    store = LocalStore.open(data_dir)
    first = [event(i) for i in range(5)]
    store.append(first)
    store.append(first[2:])  # a retry after an unclear failure
    assert [e.id for e in store.events()] == [e.id for e in first]
    assert store.count() == 5
    assert store.path.parent == data_dir
    (mode,) = store._db.execute("PRAGMA journal_mode").fetchone()
    assert mode == "wal"
    store.close()


def test_unresolved_snippets_are_those_without_an_outcome(data_dir: Path) -> None:
    store = LocalStore.open(data_dir)
    store.append([event(1), event(2), event(3)])
    store.append([event(1, Kind.ACCEPTED), event(2, Kind.MODIFIED)])
    assert [e.snippet for e in store.unresolved("r", "p.py")] == [
        event(2).snippet,
        event(3).snippet,
    ]
    store.close()


def test_a_newer_schema_is_refused_with_a_clear_message(data_dir: Path) -> None:
    db = sqlite3.connect(data_dir / DB_NAME)
    db.execute(f"PRAGMA user_version = {len(MIGRATIONS) + 1}")
    db.close()
    with pytest.raises(StoreError, match="written by a newer ailoop"):
        LocalStore.open(data_dir)


async def test_locked_store_keeps_events_in_memory_and_retries(data_dir: Path) -> None:
    LocalStore.open(data_dir).close()
    problems: list[str] = []
    recovered = asyncio.Event()
    writer = EventWriter(data_dir, problems.append, on_recovered=lambda _: recovered.set())
    # Open before the lock, as a running server has, and give up on a lock fast.
    await writer.run(lambda store: store._db.execute("PRAGMA busy_timeout = 100"))
    blocker = sqlite3.connect(data_dir / DB_NAME, isolation_level=None)
    blocker.execute("BEGIN EXCLUSIVE")
    assert await writer.write([event(1)]) is False
    assert writer.pending == 1
    assert any("locked" in p for p in problems)
    blocker.execute("ROLLBACK")
    blocker.close()
    await asyncio.wait_for(recovered.wait(), 10)  # the retry timer wrote it
    assert writer.pending == 0
    await writer.close()
    assert [e.snippet for e in stored(data_dir)] == [event(1).snippet]


@pytest.fixture
def immutable(data_dir: Path) -> Iterator[Callable[[Path], None]]:
    """Make files read-only even for root (``chattr +i``); undone after the test."""
    marked: list[Path] = []

    def mark(path: Path) -> None:
        result = subprocess.run(
            ["chattr", "+i", str(path)], capture_output=True, text=True, check=False
        )
        require(result.returncode == 0, f"chattr +i is not available here: {result.stderr.strip()}")
        marked.append(path)

    yield mark
    for path in reversed(marked):
        subprocess.run(["chattr", "-i", str(path)], check=True)


async def test_read_only_store_keeps_events_and_spills_them_for_the_next_start(
    data_dir: Path,
    immutable: Callable[[Path], None],
    monkeypatch: pytest.MonkeyPatch,
    tmp_path: Path,
) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    store = LocalStore.open(data_dir)
    store.append([event(1)])
    store.close()
    for path in sorted(data_dir.iterdir()):
        immutable(path)
    immutable(data_dir)
    problems: list[str] = []
    writer = EventWriter(data_dir, problems.append)
    assert await writer.write([event(2)]) is False
    await writer.close()
    assert any("readonly" in p or "not writable" in p or "unable to open" in p for p in problems), (
        problems
    )
    assert any(f"events saved to {tmp_path / 'tmp'}" in p for p in problems), problems
    for path in [data_dir, *sorted(data_dir.iterdir())]:
        subprocess.run(["chattr", "-i", str(path)], check=True)
    writer = EventWriter(data_dir, problems.append)
    assert await writer.write([]) is True
    await writer.close()
    assert sorted(e.snippet for e in stored(data_dir)) == [event(1).snippet, event(2).snippet]


async def test_unwritable_store_spills_at_shutdown_and_the_next_start_imports(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    """A store that cannot be opened at all (here: the database path is a directory)."""
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path / "tmp"))
    (data_dir / DB_NAME).mkdir()  # sqlite cannot open a directory
    problems: list[str] = []
    writer = EventWriter(data_dir, problems.append)
    assert await writer.write([event(1), event(2)]) is False
    await writer.close()
    assert any("events saved to" in p for p in problems)
    spilled = [
        p for folder in spill_dirs(data_dir) if folder.is_dir() for p in folder.glob("*.jsonl")
    ]
    assert len(spilled) == 1
    (data_dir / DB_NAME).rmdir()  # the store is fixed
    writer = EventWriter(data_dir, problems.append)
    assert await writer.write([event(3)]) is True
    await writer.close()
    assert sorted(e.snippet for e in stored(data_dir)) == sorted(
        event(i).snippet for i in (1, 2, 3)
    )
    assert not [
        p for folder in spill_dirs(data_dir) if folder.is_dir() for p in folder.glob("*.jsonl")
    ]


async def test_corrupt_store_is_moved_aside_and_nothing_is_lost(data_dir: Path) -> None:
    (data_dir / DB_NAME).write_bytes(b"this is not a database, it is a text file" * 100)
    problems: list[str] = []
    writer = EventWriter(data_dir, problems.append)
    assert await writer.write([event(1)]) is True
    await writer.close()
    assert any("moved it to" in p for p in problems)
    assert list(data_dir.glob(f"{DB_NAME}.corrupt-*"))
    assert [e.snippet for e in stored(data_dir)] == [event(1).snippet]


def test_events_command_on_a_corrupt_store_says_so(data_dir: Path) -> None:
    from tests.conftest import ailoop

    (data_dir / DB_NAME).write_bytes(b"garbage" * 1000)
    result = ailoop("events", "--format", "jsonl", data_dir=data_dir, check=False)
    assert result.returncode == 1
    assert "file is not a database" in result.stderr
    assert "corrupt" in result.stderr


def test_event_ids_are_random_version_4_uuids() -> None:
    ids = {new_event_id() for _ in range(1000)}
    assert len(ids) == 1000
    for text in list(ids)[:50]:
        parsed = uuid.UUID(text)
        assert str(parsed) == text
        assert parsed.version == 4
        assert parsed.variant == uuid.RFC_4122
    assert Event(kind=Kind.GENERATED, snippet="s").id != Event(kind=Kind.GENERATED, snippet="s").id
