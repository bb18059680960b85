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

_CREDENTIALS = re.compile(r"(?<=://)[^/@]+@")
#: A git config section header: ``[remote "origin"]`` (or the old ``[remote.origin]``).
_SECTION = re.compile(r'\[\s*([A-Za-z0-9.-]+)(?:\s+"((?:[^"\\]|\\.)*)")?\s*\]')


@dataclass(frozen=True)
class Origin:
    """Where a document lives: its repository's identity and its path inside it."""

    repo: str
    path: str


@functools.lru_cache(maxsize=1)
def user_identity() -> str:
    """Return git's ``user.email``, else the OS user name."""
    return UserLookup().result()


class UserLookup:
    """``git config user.email``, started at once and read when needed.

    The agent hooks start it before their other work, so that git runs meanwhile.
    """

    def __init__(self, cwd: Path | None = None) -> None:
        import subprocess

        try:
            self._process: subprocess.Popen[str] | None = subprocess.Popen(
                ["git", "config", "--get", "user.email"],
                stdin=subprocess.DEVNULL,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
                cwd=cwd,
            )
        except OSError:
            self._process = None

    def result(self) -> str:
        """Return the email git gave, else the OS user name, else ``"unknown"``."""
        import subprocess

        email = ""
        if self._process is not None:
            try:
                email = self._process.communicate(timeout=5)[0].strip()
            except (OSError, subprocess.SubprocessError):
                self._process.kill()
                self._process.communicate()
        if email:
            return email
        import getpass

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
    git = root / ".git"
    try:
        if git.is_file():  # a worktree or submodule: "gitdir: <path>"
            text = git.read_text(encoding="utf-8", errors="replace").strip()
            if text.startswith("gitdir:"):
                git = (root / text.removeprefix("gitdir:").strip()).resolve()
                common = git / "commondir"
                if common.is_file():
                    git = (git / common.read_text(encoding="utf-8").strip()).resolve()
        url = origin_url((git / "config").read_text(encoding="utf-8", errors="replace"))
    except OSError:
        url = ""
    return redact_url(url) if url else root.name


def origin_url(config: str) -> str:
    """Return ``remote.origin.url`` from the text of a git config file (``""`` if unset).

    Git's syntax: section names are case-insensitive, subsection names (``"origin"``) are
    not, ``#`` and ``;`` start comments outside quotes, values may be quoted and escaped.
    The first ``url`` counts, as for ``git remote get-url``.
    """
    in_origin = False
    for line in config.splitlines():
        stripped = line.strip()
        section = _SECTION.match(stripped)
        if section is not None:
            name, subsection = section.group(1).lower(), section.group(2)
            in_origin = name == "remote.origin" or (
                name == "remote" and subsection is not None and _unescape(subsection) == "origin"
            )
            stripped = stripped[section.end() :].strip()
        if not in_origin or not stripped:
            continue
        key, equals, value = stripped.partition("=")
        if equals and key.strip().lower() == "url":
            return _config_value(value)
    return ""


def _unescape(text: str) -> str:
    return re.sub(r"\\(.)", r"\1", text)


def _config_value(raw: str) -> str:
    """Return a git config value: quotes removed, escapes applied, comments dropped."""
    out: list[str] = []
    quoted = False
    chars = iter(raw.strip())
    for char in chars:
        if char == "\\":
            escaped = next(chars, "")
            out.append({"n": "\n", "t": "\t", "b": "\b"}.get(escaped, escaped))
        elif char == '"':
            quoted = not quoted
        elif char in "#;" and not quoted:
            break
        else:
            out.append(char)
    return "".join(out).strip()


def origin_of(uri: str) -> Origin:
    """Return the repository identity and repo-relative path of a document URI."""
    from pygls.uris import to_fs_path

    fs_path = to_fs_path(uri)
    if fs_path is None:
        return Origin(repo="", path=uri)
    return origin_of_path(Path(fs_path))


def origin_of_path(path: Path) -> Origin:
    """Return the repository identity and repo-relative path of a file."""
    root = find_repo_root(path.parent)
    if root is None:
        return Origin(repo="", path=path.as_posix())
    return Origin(repo=repo_identity(root), path=path.relative_to(root).as_posix())
