"""Where a hook keeps what it could not deliver: never in a folder another user controls."""

from __future__ import annotations

import datetime as dt
import json
import os
import stat
from pathlib import Path

import pytest

from ailoop.hooks.run import save_input
from ailoop.hooks.worker import private_dir, socket_path
from tests.hooks.hook_testkit import RunHook, apply_tool, load_payload

NOBODY = 65534
MOMENT = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)


def fallback(temp_dir: Path) -> Path:
    return temp_dir / f"ailoop-hook-inputs-{os.getuid()}"


def test_inputs_are_kept_in_the_data_dir_readable_by_the_user_only(
    tmp_path: Path, temp_dir: Path
) -> None:
    data_dir = tmp_path / "data"
    saved = save_input(b'{"secret": "code"}', "cursor", data_dir, MOMENT)
    assert saved is not None
    assert saved.parent == data_dir / "hook-inputs"
    assert saved.read_bytes() == b'{"secret": "code"}'
    assert stat.S_IMODE(saved.stat().st_mode) == 0o600
    assert stat.S_IMODE(saved.parent.stat().st_mode) == 0o700
    assert [p.name for p in saved.parent.iterdir()] == [saved.name]  # no temporary left
    assert not fallback(temp_dir).exists()


def test_the_fallback_is_a_private_folder_of_the_user(tmp_path: Path, temp_dir: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "hook-inputs").write_text("a file where the folder should be")
    saved = save_input(b"{}", "cursor", data_dir, MOMENT)
    assert saved is not None
    assert saved.parent == fallback(temp_dir)
    info = saved.parent.lstat()
    assert (info.st_uid, stat.S_IMODE(info.st_mode)) == (os.getuid(), 0o700)


def test_a_planted_fallback_folder_is_not_written_to(tmp_path: Path, temp_dir: Path) -> None:
    if os.geteuid() != 0:
        pytest.skip("needs root, to create a folder of another user")
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "hook-inputs").write_text("a file where the folder should be")
    planted = fallback(temp_dir)
    planted.mkdir(mode=0o777)
    planted.chmod(0o777)
    os.chown(planted, NOBODY, NOBODY)
    assert save_input(b"{}", "cursor", data_dir, MOMENT) is None
    assert list(planted.iterdir()) == []
    assert private_dir(planted) == f"it belongs to another user (uid {NOBODY})"


def test_a_symlinked_fallback_folder_is_not_followed(tmp_path: Path, temp_dir: Path) -> None:
    data_dir = tmp_path / "data"
    data_dir.mkdir()
    (data_dir / "hook-inputs").write_text("a file where the folder should be")
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    fallback(temp_dir).symlink_to(elsewhere, target_is_directory=True)
    assert save_input(b"{}", "cursor", data_dir, MOMENT) is None
    assert list(elsewhere.iterdir()) == []


def test_the_worker_socket_folder_takes_the_same_check(
    tmp_path: Path, tmp_path_factory: pytest.TempPathFactory, monkeypatch: pytest.MonkeyPatch
) -> None:
    runtime = tmp_path_factory.mktemp("run")  # short: socket paths have a limit
    monkeypatch.setenv("XDG_RUNTIME_DIR", str(runtime))
    folder = runtime / f"ailoop-hooks-{os.getuid()}"
    elsewhere = tmp_path / "elsewhere"
    elsewhere.mkdir(mode=0o700)
    folder.symlink_to(elsewhere, target_is_directory=True)
    assert socket_path("key") is None
    folder.unlink()
    path = socket_path("key")
    assert path is not None
    assert path.parent == folder
    folder.chmod(0o755)
    assert socket_path("key") is None  # not narrowed: someone may have planted a socket


def test_a_hook_that_cannot_store_spills_into_the_data_dir_privately(
    project: Path, data_dir: Path, run_hook: RunHook
) -> None:
    (data_dir / "events.db").mkdir()  # not a database file: cannot be opened
    payload = load_payload("claude-code-edit-full-response.json", project)
    apply_tool(payload, project)
    done = run_hook("claude-code", payload, project)
    assert done.returncode == 0
    [spilled] = (data_dir / "spill").glob("*.jsonl")
    assert stat.S_IMODE(spilled.stat().st_mode) == 0o600
    assert stat.S_IMODE((data_dir / "spill").stat().st_mode) == 0o700
    assert [json.loads(x)["source"] for x in spilled.read_text().splitlines()] == ["hook"]
    [kept] = (data_dir / "hook-inputs").glob("*.json")
    assert stat.S_IMODE(kept.stat().st_mode) == 0o600
