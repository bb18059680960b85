"""Finding an engine's executable: the workspace's venv, then ailoop's own, then ``PATH``.

The workspace's virtual environment and its ``node_modules/.bin`` are programs the
repository chose: they are searched only for a trusted workspace (see :mod:`ailoop.trust`);
callers pass ``root=None`` else.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Iterator
from pathlib import Path

_VENV_DIRS = (".venv", "venv", ".env", "env")


def _scripts_dir(prefix: Path) -> Path:
    return prefix / ("Scripts" if os.name == "nt" else "bin")


def which(name: str, path: str | None = None) -> str | None:
    """Return the executable ``name`` on ``path`` (default ``PATH``), like :func:`shutil.which`.

    On POSIX without :mod:`shutil`, which loads the compression modules: the agent hooks
    look for ruff on every call, in a fresh process.
    """
    if os.name == "nt":
        import shutil

        return shutil.which(name, path=path)
    search = os.environ.get("PATH", os.defpath) if path is None else path
    for directory in search.split(os.pathsep):
        candidate = Path(directory or os.curdir) / name
        if os.access(candidate, os.X_OK) and not candidate.is_dir():
            return str(candidate)
    return None


def _executable_in(directory: Path, name: str) -> Path | None:
    found = which(name, path=str(directory))
    return Path(found) if found else None


def workspace_candidates(root: Path) -> Iterator[Path]:
    """Yield the script directories of the virtual environments a workspace may hold."""
    for name in _VENV_DIRS:
        yield _scripts_dir(root / name)


def candidate_dirs(root: Path | None) -> Iterator[Path]:
    """Directories searched before ``PATH``, best first.

    The workspace's virtual environment (so the team's pinned version runs) when ``root``
    is given, then the directory of the interpreter running ailoop (where its own
    dependencies live).
    """
    if root is not None:
        yield from workspace_candidates(root)
    yield Path(sys.executable).parent
    yield _scripts_dir(Path(sys.prefix))


def find_executable(name: str, root: Path | None) -> Path | None:
    """Return the path of the executable ``name`` to use, or None.

    ``root``: the workspace whose virtual environment may be used (a trusted one), or None.
    """
    for directory in candidate_dirs(root):
        if directory.is_dir():
            found = _executable_in(directory, name)
            if found is not None:
                return found
    found_on_path = which(name)
    return Path(found_on_path) if found_on_path else None


def node_bin(root: Path) -> Path:
    """Return the directory where a workspace's npm packages put their executables."""
    return root / "node_modules" / ".bin"


def find_node_executable(name: str, root: Path | None) -> Path | None:
    """Return a Node-packaged executable: the workspace's ``node_modules/.bin``, then ``PATH``.

    ``root``: the workspace whose ``node_modules`` may be used (a trusted one), or None.
    """
    if root is not None:
        found = _executable_in(node_bin(root), name)
        if found is not None:
            return found
    found_on_path = which(name)
    return Path(found_on_path) if found_on_path else None
