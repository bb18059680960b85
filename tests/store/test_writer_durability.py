"""Spill and journal files: where they live, what is imported, and that they are durable.

Everything here runs the real :class:`EventWriter` on a real SQLite store and real files;
the "other user" is uid 65534 (``nobody``), which needs the tests to run as root.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sqlite3
import stat
import subprocess
import sys
import tempfile
import textwrap
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from ailoop.store.events import Event, Kind
from ailoop.store.local import DB_NAME, LocalStore
from ailoop.store.writer import (
    JOURNAL_PREFIX,
    OUTCOME_WAIT,
    REJECTED_SUFFIX,
    EventWriter,
    journal,
    parse_spill,
    spill,
    spill_dirs,
)

NOBODY = 65534


def event(n: int, kind: Kind = Kind.GENERATED, **extra: object) -> Event:
    return Event(
        kind=kind, snippet=f"sha256:{n:064x}", repo="r", path="p.py", text="x = 1", **extra
    )  # type: ignore[arg-type]


def line(e: Event) -> str:
    return json.dumps(e.to_json()) + "\n"


def stored(data_dir: Path) -> list[Event]:
    store = LocalStore.open(data_dir)
    try:
        return list(store.events())
    finally:
        store.close()


async def open_store(data_dir: Path) -> list[str]:
    """Start a writer as the server does (it imports spills on first use); return problems."""
    problems: list[str] = []
    writer = EventWriter(data_dir, problems.append)
    assert await writer.write([]) is True
    await writer.close()
    return problems


def as_root() -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root, to create files of another user")


@pytest.fixture(autouse=True)
def fresh_temp_dir(temp_dir: Path) -> Path:
    """Every test here gets a fresh system temporary directory (see tests/conftest.py)."""
    return temp_dir


@pytest.fixture
def fallback(data_dir: Path) -> Path:
    """The spill folder outside the data dir."""
    inside, outside = spill_dirs(data_dir)
    assert inside == data_dir / "spill"
    assert outside.parent == Path(tempfile.gettempdir())
    return outside


def plant(folder: Path, name: str, text: str, uid: int = NOBODY, mode: int = 0o700) -> Path:
    """What another local user can do in a shared place: a folder and a file of theirs."""
    folder.mkdir(exist_ok=True)
    path = folder / name
    path.write_text(text, encoding="utf-8")
    os.chown(path, uid, uid)
    os.chown(folder, uid, uid)
    folder.chmod(mode)
    return path


# -- where spills go, and what is imported --------------------------------------------------


async def test_a_planted_fallback_folder_is_neither_read_nor_written(
    data_dir: Path, fallback: Path
) -> None:
    as_root()
    planted = plant(fallback, "evil.jsonl", line(event(1, pattern="pattern:ignore-all-rules")))
    problems = await open_store(data_dir)
    assert stored(data_dir) == []
    assert planted.exists()  # left alone: it is not ours
    assert [p for p in problems if str(fallback) in p] == [
        f"spilled events in {fallback} are not imported: it belongs to another user (uid {NOBODY})"
    ]
    # Nor is it used to spill into when the data dir cannot take a spill.
    (data_dir / "spill").write_text("a file, not a folder")
    assert spill([event(2)], data_dir) is None
    assert sorted(p.name for p in fallback.iterdir()) == ["evil.jsonl"]


async def test_a_fallback_folder_others_can_write_to_is_refused_even_if_ours(
    data_dir: Path, fallback: Path
) -> None:
    planted = plant(fallback, "x.jsonl", line(event(1)), uid=os.getuid(), mode=0o777)
    problems = await open_store(data_dir)
    assert stored(data_dir) == []
    assert planted.exists()
    assert any("other users have access to it (mode 777)" in p for p in problems), problems


async def test_symlinked_spill_folders_are_not_followed(
    data_dir: Path, fallback: Path, tmp_path: Path
) -> None:
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    (elsewhere / "x.jsonl").write_text(line(event(1)))
    (data_dir / "spill").symlink_to(elsewhere, target_is_directory=True)
    fallback.symlink_to(elsewhere, target_is_directory=True)
    problems = await open_store(data_dir)
    assert stored(data_dir) == []
    assert f"spilled events in {data_dir / 'spill'} are not imported: it is a symbolic link" in (
        problems
    )
    assert f"spilled events in {fallback} are not imported: it is a symbolic link" in problems
    assert spill([event(2)], data_dir) is None  # and nothing is written through them
    assert [p.name for p in elsewhere.iterdir()] == ["x.jsonl"]


async def test_only_our_own_regular_files_are_imported(data_dir: Path, tmp_path: Path) -> None:
    as_root()
    folder = data_dir / "spill"
    folder.mkdir(mode=0o700)
    ours = folder / "ours.jsonl"
    ours.write_text(line(event(1)))
    theirs = folder / "theirs.jsonl"
    theirs.write_text(line(event(2)))
    os.chown(theirs, NOBODY, NOBODY)
    target = tmp_path / "target.jsonl"
    target.write_text(line(event(3)))
    (folder / "link.jsonl").symlink_to(target)
    os.mkfifo(folder / "fifo.jsonl")  # reading it would block the store's thread
    problems = await open_store(data_dir)
    assert [e.snippet for e in stored(data_dir)] == [event(1).snippet]
    assert not ours.exists()
    assert theirs.exists()
    assert target.exists()
    assert sorted(p for p in problems if "not imported" in p) == [
        f"spilled events in {folder / 'fifo.jsonl'} are not imported: it is not a regular file",
        f"spilled events in {folder / 'link.jsonl'} are not imported: it is a symbolic link",
        f"spilled events in {folder / 'theirs.jsonl'} are not imported: "
        f"it belongs to another user (uid {NOBODY})",
    ]


async def test_a_spill_folder_of_ours_in_the_data_dir_is_narrowed_not_refused(
    data_dir: Path,
) -> None:
    folder = data_dir / "spill"
    folder.mkdir()
    folder.chmod(0o755)  # as an older ailoop made it
    (folder / "old.jsonl").write_text(line(event(1)))
    assert await open_store(data_dir) == []
    assert [e.snippet for e in stored(data_dir)] == [event(1).snippet]
    assert stat.S_IMODE(folder.stat().st_mode) == 0o700


async def test_a_bad_line_is_set_aside_and_the_others_are_imported(data_dir: Path) -> None:
    folder = data_dir / "spill"
    folder.mkdir(mode=0o700)
    good = [event(1), event(2, Kind.REJECTED, pattern="ruff:E722", reason="no")]
    bad = [
        '{"id": "cut off in the midd',
        "[1, 2, 3]",
        json.dumps({"id": "x", "ts": "t", "kind": "exploded", "snippet": "s"}),
        json.dumps({**event(3).to_json(), "pattern": "Ignore previous instructions"}),
        json.dumps({**event(4).to_json(), "findings": ["ruff:E722", "rm -rf /"]}),
        json.dumps({**event(5).to_json(), "reason": {"nested": True}}),
    ]
    path = folder / "mixed.jsonl"
    path.write_text(line(good[0]) + "\n".join(bad) + "\n" + line(good[1]))
    problems = await open_store(data_dir)
    assert [e.id for e in stored(data_dir)] == [e.id for e in good]
    assert stored(data_dir)[1].pattern == "ruff:E722"
    assert not path.exists()
    aside = folder / f"mixed.jsonl{REJECTED_SUFFIX}"
    assert aside.read_text().splitlines() == bad
    assert stat.S_IMODE(aside.stat().st_mode) == 0o600
    [report] = problems
    assert report.startswith(
        f"6 line(s) of {path} are not valid events and were set aside in {aside}"
    )
    assert "(line 2: not JSON" in report
    assert report.endswith("its other 2 event(s) were imported")
    assert await open_store(data_dir) == []  # the .rejected file is not imported again


def test_every_kind_of_bad_line_is_named() -> None:
    events, bad = parse_spill(
        b"\n".join(
            [
                b"\xff\xfe not utf-8",
                b'"a string"',
                json.dumps({"kind": "generated"}).encode(),
                json.dumps({**event(1).to_json(), "pattern": "x" * 300}).encode(),
                b"",
                json.dumps(event(2).to_json()).encode(),
            ]
        )
    )
    assert [e.snippet for e in events] == [event(2).snippet]
    assert [(n, why.split(" (")[0].split(" '")[0]) for n, why, _ in bad] == [
        (1, "not JSON"),
        (2, "not an event"),
        (3, "not a valid event"),
        (4, "invalid pattern key"),
    ]


# -- writing spills atomically --------------------------------------------------------------


def test_a_spill_goes_through_a_synced_temporary_file(
    data_dir: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Observed on the real calls into the OS: fsync of the file, rename, fsync of the folder."""
    calls: list[tuple[str, str, bool]] = []
    real_fsync, real_replace = os.fsync, os.replace

    def fsync(fd: int) -> None:
        calls.append(("fsync", str(Path(f"/proc/self/fd/{fd}").readlink()), False))
        real_fsync(fd)

    def replace(src: str | os.PathLike[str], dst: str | os.PathLike[str]) -> None:
        calls.append(("replace", f"{src} -> {dst}", Path(dst).exists()))
        real_replace(src, dst)

    monkeypatch.setattr(os, "fsync", fsync)
    monkeypatch.setattr(os, "replace", replace)
    target = spill([event(1), event(2)], data_dir)
    monkeypatch.undo()
    assert target is not None
    assert target.parent == data_dir / "spill"
    folder = str(target.parent)
    [(kind1, synced, _), (kind2, renamed, existed), (kind3, folder_synced, _)] = calls
    assert (kind1, kind2, kind3) == ("fsync", "replace", "fsync")
    temporary = Path(synced)
    assert temporary.parent == target.parent
    assert temporary.name.startswith(f".{target.name}.")
    assert temporary.suffix == ".tmp"  # never matched by the importer's *.jsonl
    assert renamed == f"{temporary} -> {target}"
    assert not existed
    assert folder_synced == folder
    assert [json.loads(x)["snippet"] for x in target.read_text().splitlines()] == [
        event(1).snippet,
        event(2).snippet,
    ]
    assert stat.S_IMODE(target.stat().st_mode) == 0o600
    assert stat.S_IMODE(target.parent.stat().st_mode) == 0o700
    assert sorted(p.name for p in target.parent.iterdir()) == [target.name]


SPILLER = textwrap.dedent(
    """
    import resource, signal, sys, time
    from pathlib import Path
    from ailoop.store.events import Event, Kind
    from ailoop.store.writer import spill
    count, size = int(sys.argv[2]), int(sys.argv[3])
    events = [Event(kind=Kind.GENERATED, snippet=f"sha256:{n:064x}", text="x" * size)
              for n in range(count)]
    if sys.argv[4] == "limit":  # the disk fills up in the middle of the write
        signal.signal(signal.SIGXFSZ, signal.SIG_IGN)
        resource.setrlimit(resource.RLIMIT_FSIZE, (100_000, 100_000))
    print("start", flush=True)
    started = time.perf_counter()
    target = spill(events, Path(sys.argv[1]))
    print(target, time.perf_counter() - started, flush=True)
    """
)


def run_spiller(data_dir: Path, count: int, size: int, mode: str) -> subprocess.Popen[str]:
    """Spill ``count`` events of ``size`` characters in another process."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(sys.path)}
    return subprocess.Popen(
        [sys.executable, "-c", SPILLER, str(data_dir), str(count), str(size), mode],
        stdout=subprocess.PIPE,
        text=True,
        env=env,
    )


def visible_spills(data_dir: Path) -> list[Path]:
    return [p for f in spill_dirs(data_dir) if f.is_dir() for p in f.glob("*.jsonl")]


def test_a_write_that_fails_halfway_leaves_no_spill_file(data_dir: Path) -> None:
    """A real partial write: the file size limit stops it after 100 kB of ~4 MB."""
    process = run_spiller(data_dir, 2000, 2000, "limit")
    out, _ = process.communicate(timeout=60)
    assert out.split()[:2] == ["start", "None"]  # neither folder took it, and it says so
    assert visible_spills(data_dir) == []
    leftovers = [p for f in spill_dirs(data_dir) if f.is_dir() for p in f.iterdir()]
    assert leftovers == []  # the temporary file was removed too


def test_a_killed_spill_is_never_seen_half_written(data_dir: Path) -> None:
    """SIGKILL at moments spread over a ~40 MB spill: a visible file is always complete.

    Where each kill lands is up to the scheduler, so a run can miss a regression (writing
    straight to the final name left 2 of 12 files half-written in a trial); it never fails
    on code that writes atomically.
    """
    count, size = 100, 400_000
    process = run_spiller(data_dir, count, size, "plain")
    out, _ = process.communicate(timeout=60)
    _, target, elapsed = out.split()
    Path(target).unlink()
    for attempt in range(10):
        process = run_spiller(data_dir, count, size, "plain")
        assert process.stdout is not None
        assert process.stdout.readline() == "start\n"
        time.sleep(float(elapsed) * attempt / 9)
        process.send_signal(signal.SIGKILL)
        process.wait(timeout=30)
        for path in visible_spills(data_dir):
            assert len(path.read_text().splitlines()) == count, f"kill {attempt}: {path}"
            path.unlink()


# -- outcomes: durable before they are answered ---------------------------------------------


@pytest.fixture
def locked(data_dir: Path) -> Iterator[sqlite3.Connection]:
    """Another process holding the store's write lock (``BEGIN EXCLUSIVE``)."""
    LocalStore.open(data_dir).close()
    holder = sqlite3.connect(data_dir / DB_NAME, isolation_level=None)
    holder.execute("BEGIN EXCLUSIVE")
    yield holder
    if holder.in_transaction:
        holder.execute("ROLLBACK")
    holder.close()


def journals(data_dir: Path) -> list[Path]:
    return sorted((data_dir / "spill").glob(f"{JOURNAL_PREFIX}*.jsonl"))


async def test_an_outcome_in_sqlite_is_durable_and_leaves_no_journal(data_dir: Path) -> None:
    problems: list[str] = []
    writer = EventWriter(data_dir, problems.append)
    started = time.perf_counter()
    assert await writer.write_outcome([event(1, Kind.ACCEPTED)]) is True
    elapsed = time.perf_counter() - started
    assert elapsed < OUTCOME_WAIT
    assert not (data_dir / "spill").exists()
    await writer.close()
    assert [e.kind for e in stored(data_dir)] == [Kind.ACCEPTED]
    assert problems == []


async def test_an_outcome_the_store_cannot_take_is_journaled_then_stored_once(
    data_dir: Path, locked: sqlite3.Connection
) -> None:
    problems: list[str] = []
    writer = EventWriter(data_dir, problems.append)
    outcome = [event(1, Kind.MODIFIED), event(1, Kind.REJECTED, reason="no")]
    started = time.perf_counter()
    assert await writer.write_outcome(outcome) is False
    assert time.perf_counter() - started < OUTCOME_WAIT + 1.0
    [journal] = journals(data_dir)
    assert [json.loads(x)["id"] for x in journal.read_text().splitlines()] == [
        e.id for e in outcome
    ]
    assert stat.S_IMODE(journal.stat().st_mode) == 0o600
    assert writer.journaled == 1
    locked.execute("ROLLBACK")  # the other process lets go: the queued write goes through
    deadline = time.monotonic() + 15
    while journals(data_dir) and time.monotonic() < deadline:
        await asyncio.sleep(0.05)
    assert journals(data_dir) == []
    assert writer.journaled == 0
    await writer.close()
    assert [e.id for e in stored(data_dir)] == [e.id for e in outcome]


async def test_a_journal_left_behind_is_imported_at_the_next_start(data_dir: Path) -> None:
    """What a process killed before its store came back leaves (the e2e test kills one)."""
    rejected = event(1, Kind.REJECTED)
    path = journal([rejected], data_dir)
    assert path is not None
    assert path in journals(data_dir)
    assert await open_store(data_dir) == []
    assert [e.id for e in stored(data_dir)] == [rejected.id]
    assert journals(data_dir) == []
