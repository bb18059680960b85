"""Who and where an event comes from: the user, the repository and the repo-relative path.

Everything here is read from the file system (``.git`` directories and config files) and,
once per process, ``git config user.email``; results are cached, and nothing runs on the
keystroke path.
"""

from __future__ import annotations

import functools
import re
from dataclasses import dataclass
from pathlib import Path

from pygls.uris import to_fs_path

_CREDENTIALS = re.compile(r"(?<=://)[^/@]+@")


@dataclass(frozen=True)
class Origin:
    """Where a document lives: its repository's identity and its path inside it."""

    repo: str
    path: str


@functools.lru_cache(maxsize=1)
def user_identity() -> str:
    """Return git's ``user.email``, else the OS user name."""
    import getpass
    import subprocess

    try:
        email = subprocess.run(
            ["git", "config", "--get", "user.email"],
            capture_output=True,
            text=True,
            timeout=5,
            check=False,
        ).stdout.strip()
    except (OSError, subprocess.SubprocessError):
        email = ""
    if email:
        return email
    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "unknown"


def find_repo_root(path: Path) -> Path | None:
    """Return the nearest directory at or above ``path`` that holds ``.git``."""
    for candidate in (path, *path.parents):
        if (candidate / ".git").exists():
            return candidate
    return None


def redact_url(url: str) -> str:
    """Drop credentials from a remote URL (``https://user:token@host/x`` -> ``https://host/x``)."""
    return _CREDENTIALS.sub("", url)


@functools.lru_cache(maxsize=64)
def repo_identity(root: Path) -> str:
    """Return the repository's ``origin`` remote URL (without credentials), else its folder name."""
    import configparser

    git = root / ".git"
    if git.is_file():  # a worktree or submodule: "gitdir: <path>"
        text = git.read_text(encoding="utf-8", errors="replace").strip()
        if text.startswith("gitdir:"):
            git = (root / text.removeprefix("gitdir:").strip()).resolve()
            common = git / "commondir"
            if common.is_file():
                git = (git / common.read_text(encoding="utf-8").strip()).resolve()
    parser = configparser.ConfigParser(strict=False, interpolation=None)
    try:
        parser.read(git / "config", encoding="utf-8")
        url = parser.get('remote "origin"', "url", fallback="")
    except (configparser.Error, OSError, UnicodeDecodeError):
        url = ""
    return redact_url(url) if url else root.name


def origin_of(uri: str) -> Origin:
    """Return the repository identity and repo-relative path of a document URI."""
    fs_path = to_fs_path(uri)
    if fs_path is None:
        return Origin(repo="", path=uri)
    path = Path(fs_path)
    root = find_repo_root(path.parent)
    if root is None:
        return Origin(repo="", path=path.as_posix())
    return Origin(repo=repo_identity(root), path=path.relative_to(root).as_posix())
