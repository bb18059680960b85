"""Files ailoop writes in a workspace stay in it: no symbolic link is followed, ever.

Each test runs twice: with ``openat`` (POSIX) and with the ``lstat`` checks used where
the platform has no ``dir_fd`` (Windows).
"""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from ailoop import workspace_files
from ailoop.workspace_files import WorkspaceFileError, read_text, write_text


@pytest.fixture(params=[True, False], ids=["openat", "lstat"])
def walk(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> bool:
    if request.param and not workspace_files.AT_FUNCTIONS:
        pytest.skip("no dir_fd functions on this platform")
    monkeypatch.setattr(workspace_files, "AT_FUNCTIONS", request.param)
    return bool(request.param)


@pytest.fixture
def root(tmp_path: Path) -> Path:
    path = tmp_path / "repo"
    path.mkdir()
    return path


def test_write_creates_folders_and_replaces_the_file(root: Path, walk: bool) -> None:
    write_text(root, ".cursor/rules/ailoop.mdc", "one\n")
    assert read_text(root, ".cursor/rules/ailoop.mdc") == "one\n"
    target = root / ".cursor" / "rules" / "ailoop.mdc"
    target.chmod(0o604)
    inode = target.stat().st_ino
    write_text(root, ".cursor/rules/ailoop.mdc", "two\n")
    assert target.read_text(encoding="utf-8") == "two\n"
    assert stat.S_IMODE(target.stat().st_mode) == 0o604
    assert target.stat().st_ino != inode  # a new file renamed over the old one
    assert sorted(p.name for p in target.parent.iterdir()) == ["ailoop.mdc"]
    assert read_text(root, "missing/CLAUDE.md") is None
    assert not (root / "missing").exists()  # reading creates nothing


def test_a_linked_file_is_neither_read_nor_written(root: Path, tmp_path: Path, walk: bool) -> None:
    secret = tmp_path / "authorized_keys"
    secret.write_text("ssh-ed25519 AAAA\n", encoding="utf-8")
    (root / "CLAUDE.md").symlink_to(secret)
    for action in (
        lambda: read_text(root, "CLAUDE.md"),
        lambda: write_text(root, "CLAUDE.md", "x"),
    ):
        with pytest.raises(WorkspaceFileError, match=r"CLAUDE\.md: a symbolic link"):
            action()
    assert secret.read_text(encoding="utf-8") == "ssh-ed25519 AAAA\n"
    assert (root / "CLAUDE.md").is_symlink()


def test_a_linked_folder_on_the_way_is_refused(root: Path, tmp_path: Path, walk: bool) -> None:
    outside = tmp_path / "outside"
    outside.mkdir()
    (root / ".ailoop").symlink_to(outside, target_is_directory=True)
    with pytest.raises(WorkspaceFileError, match=r"\.ailoop: a symbolic link"):
        write_text(root, ".ailoop/context-state.json", "{}")
    with pytest.raises(WorkspaceFileError, match=r"\.ailoop: a symbolic link"):
        read_text(root, ".ailoop/context-state.json")
    assert list(outside.iterdir()) == []


def test_a_link_inside_the_workspace_is_refused_too(root: Path, walk: bool) -> None:
    (root / "docs").mkdir()
    (root / "docs" / "agents.md").write_text("inside\n", encoding="utf-8")
    (root / "AGENTS.md").symlink_to("docs/agents.md")
    with pytest.raises(WorkspaceFileError, match="a symbolic link"):
        write_text(root, "AGENTS.md", "x")
    assert (root / "docs" / "agents.md").read_text(encoding="utf-8") == "inside\n"


@pytest.mark.parametrize("relative", ["../outside.md", "a/../../outside.md", "/etc/passwd", ""])
def test_paths_that_are_not_plain_relative_paths_are_refused(root: Path, relative: str) -> None:
    with pytest.raises(WorkspaceFileError, match="inside the workspace"):
        write_text(root, relative, "x")
    assert not (root.parent / "outside.md").exists()


def test_a_fifo_or_a_folder_is_no_regular_file(root: Path, walk: bool) -> None:
    os.mkfifo(root / "CLAUDE.md")
    (root / "AGENTS.md").mkdir()
    for name in ("CLAUDE.md", "AGENTS.md"):
        with pytest.raises(WorkspaceFileError, match="not a regular file"):
            read_text(root, name)
        with pytest.raises(WorkspaceFileError, match="not a regular file"):
            write_text(root, name, "x")


def test_a_file_in_place_of_a_folder_is_refused(root: Path, walk: bool) -> None:
    (root / ".github").write_text("", encoding="utf-8")
    with pytest.raises(WorkspaceFileError, match=r"\.github"):
        write_text(root, ".github/copilot-instructions.md", "x")
