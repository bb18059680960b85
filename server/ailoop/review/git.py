"""Reading the local checkout: blobs at a commit and the files a change touched.

Git is the user's tool and the repository is data: git runs with a list argv (no shell),
every commit id is checked to be hex before it reaches git (so none can be read as an
option), paths with line breaks or NUL are refused, and the commands used run no program
the repository names (``cat-file`` applies no filters; ``diff`` runs with
``--no-ext-diff --no-textconv`` on trees only; ``core.fsmonitor`` is switched off).
Blobs are read through one ``git cat-file --batch`` process and cached.
"""

from __future__ import annotations

import contextlib
import re
import subprocess
from collections.abc import Sequence
from pathlib import Path
from typing import IO

#: What a commit id from a payload may look like before it is given to git.
SHA = re.compile(r"[0-9a-fA-F]{7,64}")
#: Options that make git run nothing the repository configures.
_SAFE = ("-c", "core.fsmonitor=false", "-c", "core.hooksPath=/dev/null", "--no-pager")


class GitError(Exception):
    """Git could not answer (not a repository, git missing); the message says why."""


def is_sha(value: object) -> bool:
    """Return whether ``value`` is a commit id git may be given."""
    return isinstance(value, str) and SHA.fullmatch(value) is not None


def _safe_path(path: str) -> bool:
    return bool(path) and "\n" not in path and "\0" not in path and not path.startswith("/")


class Git:
    """A read-only view of the repository at ``root``. Close it (or use ``with``)."""

    def __init__(self, root: Path, *, timeout: float = 60.0) -> None:
        self.root = root
        self.timeout = timeout
        self._batch: subprocess.Popen[bytes] | None = None
        self._blobs: dict[tuple[str, str], str | None] = {}
        self._commits: dict[str, bool] = {}
        self._files: dict[tuple[str, str, bool], list[str] | None] = {}
        try:
            top = self._run("rev-parse", "--show-toplevel").strip()
        except GitError as exc:
            raise GitError(f"{root} is not a git checkout ({exc})") from None
        self.top = Path(top)

    def __enter__(self) -> Git:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def close(self) -> None:
        """Stop the ``cat-file`` process."""
        if self._batch is not None:
            with contextlib.suppress(OSError):
                if self._batch.stdin is not None:
                    self._batch.stdin.close()
            with contextlib.suppress(subprocess.TimeoutExpired):
                self._batch.wait(timeout=5)
            if self._batch.poll() is None:
                self._batch.kill()
                self._batch.wait()
            self._batch = None

    def _run(self, *args: str) -> str:
        try:
            done = subprocess.run(
                ["git", *_SAFE, "-C", str(self.root), *args],
                capture_output=True,
                timeout=self.timeout,
                check=False,
            )
        except FileNotFoundError:
            raise GitError("git is not installed (or not on PATH)") from None
        except subprocess.TimeoutExpired:
            raise GitError(f"git {args[0]} took longer than {self.timeout:g} s") from None
        if done.returncode != 0:
            message = done.stderr.decode("utf-8", "replace").strip().splitlines()
            raise GitError(message[-1] if message else f"git {args[0]} failed")
        return done.stdout.decode("utf-8", "replace")

    def is_shallow(self) -> bool:
        """Return whether the checkout is a shallow clone (history cut off)."""
        try:
            return self._run("rev-parse", "--is-shallow-repository").strip() == "true"
        except GitError:
            return False

    def has_commit(self, sha: str) -> bool:
        """Return whether the commit ``sha`` is in the checkout."""
        if not is_sha(sha):
            return False
        if sha not in self._commits:  # asked of the cat-file process: no process per commit
            self._commits[sha] = self._read_object(f"{sha}^{{commit}}") is not None
        return self._commits[sha]

    def _process(self) -> subprocess.Popen[bytes]:
        if self._batch is None or self._batch.poll() is not None:
            try:
                self._batch = subprocess.Popen(
                    ["git", *_SAFE, "-C", str(self.root), "cat-file", "--batch"],
                    stdin=subprocess.PIPE,
                    stdout=subprocess.PIPE,
                    stderr=subprocess.DEVNULL,
                )
            except FileNotFoundError:
                raise GitError("git is not installed (or not on PATH)") from None
        return self._batch

    def blob(self, sha: str, path: str) -> str | None:
        """Return the text of ``path`` at commit ``sha`` (None: no such commit or file)."""
        if not is_sha(sha) or not _safe_path(path):
            return None
        key = (sha, path)
        if key not in self._blobs:
            self._blobs[key] = self._read_blob(sha, path)
            if len(self._blobs) > 4096:  # a bounded cache: drop the oldest
                self._blobs.pop(next(iter(self._blobs)))
        return self._blobs[key]

    def _read_object(self, name: str) -> tuple[str, bytes] | None:
        """Return (type, content) of the object ``name`` names (None: missing, ambiguous)."""
        process = self._process()
        stdin, stdout = process.stdin, process.stdout
        assert stdin is not None
        assert stdout is not None
        try:
            stdin.write(f"{name}\n".encode())
            stdin.flush()
            header = stdout.readline().decode("utf-8", "replace").split()
        except (BrokenPipeError, OSError) as exc:
            self.close()
            raise GitError(f"git cat-file stopped ({exc})") from None
        if len(header) != 3 or not header[2].isdigit():
            return None
        size = int(header[2])
        return header[1], _read_exactly(stdout, size + 1)[:size]

    def _read_blob(self, sha: str, path: str) -> str | None:
        found = self._read_object(f"{sha}:{path}")
        if found is None:
            return None
        kind, data = found
        if kind != "blob" or b"\0" in data[:8000]:
            return None  # a directory, a submodule, or a binary file
        return data.decode("utf-8", "replace")

    def changed_files(self, base: str, head: str, *, merge_base: bool = True) -> list[str] | None:
        """Return the paths changed from ``base`` to ``head`` (old and new names of renames).

        ``merge_base``: from where ``head`` left ``base`` (``base...head``). None when either
        commit is not in the checkout.
        """
        key = (base, head, merge_base)
        if key in self._files:
            return self._files[key]
        files: list[str] | None = None
        if self.has_commit(base) and self.has_commit(head):
            spec = f"{base}...{head}" if merge_base else f"{base}..{head}"
            try:
                out = self._run(
                    "diff", "--no-ext-diff", "--no-textconv", "--no-renames", "--name-only",
                    "-z", spec, "--",
                )  # fmt: skip
                files = [p for p in out.split("\0") if _safe_path(p)]
            except GitError:
                files = None
        self._files[key] = files
        return files

    def first_parent(self, sha: str) -> str | None:
        """Return the first parent of ``sha`` (None: a root commit or not in the checkout)."""
        if not self.has_commit(sha):
            return None
        try:
            parent = self._run("rev-parse", "--verify", "--quiet", f"{sha}^1").strip()
        except GitError:
            return None
        return parent if is_sha(parent) else None


def _read_exactly(stream: IO[bytes], size: int) -> bytes:
    chunks: list[bytes] = []
    left = size
    while left > 0:
        chunk = stream.read(left)
        if not chunk:
            break
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)


def lines_of(text: str) -> list[str]:
    """Return the lines of a blob (CRLF and CR as line breaks), without their ends."""
    return text.replace("\r\n", "\n").replace("\r", "\n").split("\n")


def window(text: str, first: int, last: int) -> Sequence[str]:
    """Return lines ``first`` to ``last`` of ``text`` (1-based, inclusive, clamped)."""
    lines = lines_of(text)
    first = max(first, 1)
    return lines[first - 1 : max(last, first)]
