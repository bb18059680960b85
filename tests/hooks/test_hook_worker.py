"""The warm hook worker: started by the first call, answering the next ones, never in the way."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from typing import Any

import pytest

from ailoop.hooks import worker
from tests.hooks.hook_testkit import (
    apply_tool,
    call_with_importtime,
    env_for,
    events,
    load_payload,
    start_worker,
    worker_socket,
)


def call(
    payload: dict[str, Any], project: Path, data_dir: Path, worker_dir: Path
) -> tuple[subprocess.CompletedProcess[bytes], set[str]]:
    """One hook call; also returns the modules its own process imported."""
    env = env_for(data_dir, worker_dir=worker_dir)
    return call_with_importtime(("ailoop.hooks",), payload, project, env)


def wait_for(condition: Any, what: str, timeout: float = 20) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, what
        time.sleep(0.02)


def listening(path: Path) -> bool:
    probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        probe.connect(str(path))
    except OSError:
        return False
    finally:
        probe.close()
    return True


def worker_pids(worker_dir: Path) -> list[int]:
    """The workers whose environment names ``worker_dir`` (Linux /proc)."""
    found = []
    for proc in Path("/proc").iterdir():
        try:
            if b"--worker" not in (proc / "cmdline").read_bytes():
                continue
            environ = (proc / "environ").read_bytes().split(b"\0")
        except OSError:
            continue
        if f"XDG_RUNTIME_DIR={worker_dir}".encode() in environ:
            found.append(int(proc.name))
    return found


@pytest.fixture
def worker_dir(tmp_path_factory: pytest.TempPathFactory) -> Any:
    folder = tmp_path_factory.mktemp("w")
    yield folder
    for pid in worker_pids(folder):
        os.kill(pid, signal.SIGKILL)


def socket_path_for(data_dir: Path, worker_dir: Path) -> Path:
    """Where a hook call in this test environment looks for its worker."""
    where = subprocess.run(
        [
            sys.executable,
            "-c",
            "from ailoop.hooks import worker; print(worker.socket_path(worker.key(None)))",
        ],
        env=env_for(data_dir, worker_dir=worker_dir),
        capture_output=True,
        text=True,
        check=True,
    )
    return Path(where.stdout.strip())


def call_a_broken_worker(
    project: Path, data_dir: Path, worker_dir: Path, behave: Any
) -> tuple[subprocess.CompletedProcess[bytes], set[str]]:
    """Make one hook call while a stand-in worker, doing ``behave(connection)``, listens."""
    stand_in = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    stand_in.bind(str(socket_path_for(data_dir, worker_dir)))
    stand_in.listen(1)

    def serve_one() -> None:
        connection, _ = stand_in.accept()
        with connection:
            behave(connection)

    thread = threading.Thread(target=serve_one)
    thread.start()
    try:
        return call(edit(project), project, data_dir, worker_dir)
    finally:
        thread.join(10)
        stand_in.close()


def edit(project: Path) -> dict[str, Any]:
    payload = load_payload("claude-code-edit.json", project)
    apply_tool(payload, project)
    return payload


def test_the_first_call_starts_a_worker_that_answers_the_next_ones(
    project: Path, data_dir: Path, worker_dir: Path
) -> None:
    before = (project / "shop" / "orders.py").read_text(encoding="utf-8")
    first, imported = call(edit(project), project, data_dir, worker_dir)
    assert first.returncode == 0, first.stderr
    assert "ailoop.hooks.run" in imported  # no worker yet: the call ran the hook itself
    wait_for(lambda: worker_socket(worker_dir) is not None, "no worker started")
    wait_for(lambda: listening(worker_socket(worker_dir)), "the worker does not listen")
    (project / "shop" / "orders.py").write_text(before, encoding="utf-8")
    second, imported = call(edit(project), project, data_dir, worker_dir)
    assert second.returncode == 0, second.stderr
    assert "ailoop.hooks.run" not in imported  # the worker ran it
    assert second.stdout == first.stdout
    assert b"ruff E722" in second.stdout
    assert second.stderr == first.stderr == b""
    recorded = events(data_dir)
    assert [(e["kind"], e["tool"], e["source"]) for e in recorded] == [
        ("generated", "claude-code", "hook")
    ] * 2
    assert recorded[0]["snippet"] == recorded[1]["snippet"]
    assert recorded[0]["user"] == recorded[1]["user"] == "dev@example.com"  # the repo's git


def test_a_killed_workers_socket_is_taken_over(
    project: Path, data_dir: Path, worker_dir: Path
) -> None:
    process = start_worker(env_for(data_dir, worker_dir=worker_dir))
    wait_for(lambda: worker_socket(worker_dir) is not None, "no worker started")
    path = worker_socket(worker_dir)
    assert path is not None
    wait_for(lambda: listening(path), "the worker does not listen")
    process.kill()
    process.wait()
    assert path.exists()  # what a crash leaves behind
    assert not listening(path)
    done, imported = call(edit(project), project, data_dir, worker_dir)
    assert done.returncode == 0, done.stderr
    assert done.stderr == b""
    assert "ailoop.hooks.run" in imported
    assert len(events(data_dir)) == 1
    wait_for(lambda: listening(path), "no new worker took the socket over")


def test_an_idle_worker_exits_and_removes_its_socket(data_dir: Path, worker_dir: Path) -> None:
    env = env_for(data_dir, worker_dir=worker_dir) | {"AILOOP_HOOK_WORKER_IDLE": "0.5"}
    process = start_worker(env)
    wait_for(lambda: worker_socket(worker_dir) is not None, "no worker started")
    assert process.wait(20) == 0
    assert worker_socket(worker_dir) is None


def test_a_worker_that_gives_no_answer_is_reported_and_the_call_not_run_twice(
    project: Path, data_dir: Path, worker_dir: Path
) -> None:
    """A worker that takes the input and dies: no second run, no events, the input kept."""

    def take_and_drop(connection: socket.socket) -> None:
        connection.sendall(worker.TAKEN)
        connection.recv(1 << 20)

    done, imported = call_a_broken_worker(project, data_dir, worker_dir, take_and_drop)
    assert done.returncode == 0
    assert done.stdout == b""
    message = done.stderr.decode()
    assert "the hook worker closed the connection without an answer" in message
    assert "input saved to" in message
    assert "ailoop.hooks.engines" not in imported
    assert events(data_dir) == []
    assert len(list((data_dir / "hook-inputs").glob("*.json"))) == 1


def test_no_worker_behind_a_folder_others_can_open(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(tmp_path))
    folder = tmp_path / f"ailoop-hooks-{os.getuid()}"
    folder.mkdir(mode=0o777)
    folder.chmod(0o777)
    assert worker.socket_path(worker.key(None)) is None
    folder.chmod(0o700)
    assert worker.socket_path(worker.key(None)) is not None


def test_no_worker_where_a_socket_path_would_be_too_long(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    deep = tmp_path / ("d" * 90)
    deep.mkdir()
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(deep))
    assert worker.socket_path(worker.key(None)) is None


def test_the_key_follows_the_environment_and_the_data_dir(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PATH", "/usr/bin")
    base = worker.key(None)
    assert worker.key(tmp_path) != base
    monkeypatch.setenv("PATH", "/usr/local/bin:/usr/bin")
    assert worker.key(None) != base
    monkeypatch.setenv("AILOOP_HOOK_WORKER_IDLE", "5")  # steers the worker only
    monkeypatch.setenv("PATH", "/usr/bin")
    assert worker.key(None) == base


def test_a_worker_closing_before_it_takes_the_call_leaves_it_to_the_caller(
    project: Path, data_dir: Path, worker_dir: Path
) -> None:
    """A worker on its way out (idle) closes connections still waiting: the call runs itself."""
    done, imported = call_a_broken_worker(project, data_dir, worker_dir, lambda _: None)
    assert done.returncode == 0, done.stderr
    assert done.stderr == b""
    assert b"ruff E722" in done.stdout
    assert "ailoop.hooks.run" in imported
    assert len(events(data_dir)) == 1
