"""Files ailoop reads and writes inside a workspace: regular files only, never through a link.

A repository's files are data, and so is its layout: a checkout can ship
``CLAUDE.md -> ~/.bashrc`` or ``.ailoop -> ~/.ssh``. Writing through such a link would
change a file outside the repository, and reading through it would copy one into the
repository. Every file ailoop writes into a workspace (the learned context, its state,
``.ailoop/patterns.toml``) goes through here:

- each folder from the workspace root down is opened relative to the one before it
  (``openat``) with ``O_NOFOLLOW | O_DIRECTORY``, so no symbolic link is followed, the
  path cannot leave the root, and nothing can swap a folder for a link between the check
  and the write; missing folders are created the same way;
- the file is read with ``O_NOFOLLOW`` and must be a regular file;
- it is replaced atomically: a new temp file in the same folder (``O_EXCL |
  O_NOFOLLOW``), written, fsynced and given the file's mode (a new file gets the default
  mode, after the umask), then renamed over the file (a rename replaces a link, it never
  follows one) and the folder is fsynced.

Where the platform has no ``dir_fd`` (Windows), each part of the path is checked with
``lstat`` before the file is used.
"""

from __future__ import annotations

import contextlib
import errno
import os
import stat
from collections.abc import Iterator
from pathlib import Path, PurePath

_NOFOLLOW = getattr(os, "O_NOFOLLOW", 0)
_DIRECTORY = getattr(os, "O_DIRECTORY", 0)
_NONBLOCK = getattr(os, "O_NONBLOCK", 0)
_CLOEXEC = getattr(os, "O_CLOEXEC", 0)
_BINARY = getattr(os, "O_BINARY", 0)

#: Whether folders can be walked with ``openat`` (POSIX).
AT_FUNCTIONS = (
    bool(_NOFOLLOW and _DIRECTORY)
    and {os.open, os.stat, os.mkdir, os.rename, os.unlink} <= os.supports_dir_fd
)


class WorkspaceFileError(Exception):
    """A workspace file that ailoop will not read or write; the message names it and why."""


def _link_message(path: Path) -> str:
    return (
        f"{path}: a symbolic link; ailoop reads and writes only regular files inside the "
        "workspace (replace the link with a real file or folder to use it)"
    )


def _parts(relative: str | PurePath) -> tuple[str, ...]:
    """Return the parts of ``relative``, which must be a plain relative path."""
    path = PurePath(relative)
    if path.is_absolute() or path.anchor or not path.parts:
        raise WorkspaceFileError(f"{relative}: not a path inside the workspace; not used")
    for part in path.parts:
        if part in ("", ".", ".."):
            raise WorkspaceFileError(f"{relative}: not a plain path inside the workspace; not used")
    return path.parts


def _kind(dir_fd: int, name: str) -> int | None:
    """Return the ``st_mode`` of ``name`` in ``dir_fd`` without following a link (None: absent)."""
    try:
        return os.stat(name, dir_fd=dir_fd, follow_symlinks=False).st_mode
    except FileNotFoundError:
        return None


@contextlib.contextmanager
def _folder(root: Path, folders: tuple[str, ...], create: bool) -> Iterator[int | None]:
    """Open the folder ``root/folders`` part by part; yield its fd (None: it does not exist).

    Raises :class:`WorkspaceFileError` when a part is a link or not a folder.
    """
    fd = os.open(root, os.O_RDONLY | _DIRECTORY | _CLOEXEC)
    where = root
    try:
        for name in folders:
            where = where / name
            mode = _kind(fd, name)
            if mode is None:
                if not create:
                    yield None
                    return
                with contextlib.suppress(FileExistsError):
                    os.mkdir(name, 0o777, dir_fd=fd)
                mode = _kind(fd, name)
            if mode is not None and stat.S_ISLNK(mode):
                raise WorkspaceFileError(_link_message(where))
            if mode is None or not stat.S_ISDIR(mode):
                raise WorkspaceFileError(f"{where}: not a folder; not used")
            try:
                child = os.open(name, os.O_RDONLY | _DIRECTORY | _NOFOLLOW | _CLOEXEC, dir_fd=fd)
            except OSError as exc:  # swapped for a link (or removed) since the stat
                if exc.errno in (errno.ELOOP, errno.EMLINK, errno.ENOTDIR):
                    raise WorkspaceFileError(_link_message(where)) from None
                raise
            os.close(fd)
            fd = child
        yield fd
    finally:
        os.close(fd)


def _check_path(root: Path, parts: tuple[str, ...]) -> Path:
    """Without ``openat``: refuse a link or a path leaving ``root``; return the full path."""
    current = root
    for part in parts:
        current = current / part
        if current.is_symlink():
            raise WorkspaceFileError(_link_message(current))
    resolved = current.resolve()
    if resolved != root and root not in resolved.parents:
        raise WorkspaceFileError(f"{current}: resolves outside the workspace {root}; not used")
    return current


def _read_fd(fd: int, path: Path) -> str:
    try:
        regular = stat.S_ISREG(os.fstat(fd).st_mode)
    except BaseException:
        os.close(fd)
        raise
    if not regular:
        os.close(fd)
        raise WorkspaceFileError(f"{path}: not a regular file; not used")
    with os.fdopen(fd, "rb") as handle:
        data = handle.read()
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise WorkspaceFileError(f"{path}: cannot be read: {exc}") from None


def read_text(root: Path, relative: str | PurePath) -> str | None:
    """Return the text of the regular file ``root/relative`` (None when it does not exist).

    Raises :class:`WorkspaceFileError` for a link on the way, a file that is not regular
    or not UTF-8, or one that cannot be read.
    """
    root = root.resolve()
    parts = _parts(relative)
    path = root.joinpath(*parts)
    flags = os.O_RDONLY | _NOFOLLOW | _NONBLOCK | _CLOEXEC | _BINARY
    try:
        if not AT_FUNCTIONS:
            _check_path(root, parts)
            try:
                return _read_fd(os.open(path, flags), path)
            except FileNotFoundError:
                return None
        with _folder(root, parts[:-1], create=False) as folder:
            if folder is None:
                return None
            mode = _kind(folder, parts[-1])
            if mode is None:
                return None
            if stat.S_ISLNK(mode):
                raise WorkspaceFileError(_link_message(path))
            if not stat.S_ISREG(mode):
                raise WorkspaceFileError(f"{path}: not a regular file; not used")
            try:
                fd = os.open(parts[-1], flags, dir_fd=folder)
            except OSError as exc:
                if exc.errno in (errno.ELOOP, errno.EMLINK):
                    raise WorkspaceFileError(_link_message(path)) from None
                raise
            return _read_fd(fd, path)
    except OSError as exc:
        raise WorkspaceFileError(f"{path}: cannot be read: {exc}") from exc


def _write_in(folder: int | None, name: str, text: str, path: Path) -> None:
    """Replace ``name`` in ``folder`` (an fd; None: ``path`` checked by :func:`_check_path`)."""
    at = {"dir_fd": folder} if folder is not None else {}
    target = name if folder is not None else str(path)
    try:
        current: int | None = (
            os.stat(name, dir_fd=folder, follow_symlinks=False).st_mode
            if folder is not None
            else path.lstat().st_mode
        )
    except FileNotFoundError:
        current = None
    if current is not None and stat.S_ISLNK(current):
        raise WorkspaceFileError(_link_message(path))
    if current is not None and not stat.S_ISREG(current):
        raise WorkspaceFileError(f"{path}: not a regular file; not written")
    # An existing file keeps its mode; a new one gets the default (0o666 less the umask).
    create_mode = 0o600 if current is not None else 0o666
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | _NOFOLLOW | _CLOEXEC | _BINARY
    temp = ""
    fd = -1
    for attempt in range(100):
        candidate = f".{name}.{os.getpid()}.{attempt}.tmp"
        temp = candidate if folder is not None else str(path.with_name(candidate))
        try:
            fd = os.open(temp, flags, create_mode, **at)
        except FileExistsError:
            continue
        break
    if fd < 0:
        raise WorkspaceFileError(f"{path}: no temporary file could be created next to it")
    try:
        with os.fdopen(fd, "wb") as handle:
            handle.write(text.encode("utf-8"))
            handle.flush()
            if current is not None and hasattr(os, "fchmod"):
                os.fchmod(handle.fileno(), stat.S_IMODE(current))
            os.fsync(handle.fileno())
        if folder is not None:
            os.rename(temp, name, src_dir_fd=folder, dst_dir_fd=folder)
            os.fsync(folder)
            return
        if current is not None and not hasattr(os, "fchmod"):
            Path(temp).chmod(stat.S_IMODE(current))
        Path(temp).replace(target)
    except BaseException:
        with contextlib.suppress(OSError):
            os.unlink(temp, **at)
        raise
    if os.name != "nt":
        directory_fd = os.open(path.parent, os.O_RDONLY)
        try:
            os.fsync(directory_fd)
        finally:
            os.close(directory_fd)


def write_text(root: Path, relative: str | PurePath, text: str) -> None:
    """Replace the regular file ``root/relative`` with ``text`` (UTF-8), atomically.

    Missing folders are created. An existing file keeps its mode. Raises
    :class:`WorkspaceFileError` for a link on the way, a path that is not a regular file,
    or a file that cannot be written.
    """
    root = root.resolve()
    parts = _parts(relative)
    path = root.joinpath(*parts)
    try:
        if not AT_FUNCTIONS:
            _check_path(root, parts)
            path.parent.mkdir(parents=True, exist_ok=True)
            _check_path(root, parts)
            _write_in(None, parts[-1], text, path)
            return
        with _folder(root, parts[:-1], create=True) as folder:
            assert folder is not None
            _write_in(folder, parts[-1], text, path)
    except OSError as exc:
        raise WorkspaceFileError(f"{path}: cannot be written: {exc}") from exc
