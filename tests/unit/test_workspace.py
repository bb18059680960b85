"""Reading a repository's identity from its git config, checked against git itself."""

from __future__ import annotations

import shutil
import subprocess
from pathlib import Path

import pytest

from ailoop.workspace import origin_url, repo_identity
from tests.conftest import require


def git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, check=False
    )
    assert done.returncode == 0, done.stderr
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    require(shutil.which("git") is not None, "git is not installed")
    root = tmp_path / "repo"
    root.mkdir()
    git(root, "init", "-q")
    return root


@pytest.mark.parametrize(
    "url",
    [
        "https://github.com/acme/widgets.git",
        "git@github.com:acme/widgets.git",
        "ssh://git@host:2222/team/repo",
        "/srv/git/with space.git",
        "https://host/a;b#c",
    ],
)
def test_origin_url_matches_git(repo: Path, url: str) -> None:
    git(repo, "remote", "add", "upstream", "https://example.com/other.git")
    git(repo, "remote", "add", "origin", url)
    git(repo, "remote", "set-url", "--add", "origin", "https://mirror.example/second.git")
    config = (repo / ".git" / "config").read_text(encoding="utf-8")
    assert origin_url(config) == git(repo, "remote", "get-url", "origin") == url


def test_origin_url_reads_hand_written_config() -> None:
    config = """\
# a comment with url = https://wrong.example
[core]
\tbare = false
[Remote "Origin"]
\turl = https://wrong.example/case-sensitive-subsection
[REMOTE "origin"] ; comment
\t; url = https://wrong.example/commented
\tURL = "https://host/quoted path" # trailing comment
"""
    assert origin_url(config) == "https://host/quoted path"
    assert origin_url("[remote.origin]\n  url=git@host:old/style.git\n") == "git@host:old/style.git"
    assert origin_url('[remote "origin"]\n\tfetch = +refs/heads/*\n') == ""
    assert origin_url("") == ""


def test_repo_identity_drops_credentials_and_follows_worktrees(repo: Path, tmp_path: Path) -> None:
    git(repo, "remote", "add", "origin", "https://user:s3cret@host.example/team/app.git")
    git(repo, "-c", "user.email=a@b", "-c", "user.name=a", "commit", "-q", "--allow-empty", "-mx")
    assert repo_identity(repo) == "https://host.example/team/app.git"
    worktree = tmp_path / "wt"
    git(repo, "worktree", "add", "-q", str(worktree))
    assert (worktree / ".git").is_file()
    assert repo_identity(worktree) == "https://host.example/team/app.git"


def test_repo_identity_without_origin_is_the_folder_name(repo: Path) -> None:
    assert repo_identity(repo) == "repo"
