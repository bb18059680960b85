"""A warm hook worker: the hook's code kept loaded between an agent's edits.

Most of a hook call is Python starting and importing the hook's modules. The first call
runs the hook in its own process, as always, and then starts a worker in the background;
later calls hand their input to the worker over a UNIX socket and print its answer. The
answer is the one the call would have given itself: the same code runs, with the
caller's data directory and working directory, and it reads the workspace's settings and
patterns afresh on every call.

A worker serves one user and one *key*: the Python, ailoop's version and install, the data
directory and the environment variables the hook depends on (``PATH``, ``HOME``,
``AILOOP_*``, ``GIT_*``, ...). A caller with another key gets a worker of its own. A worker
exits after :data:`IDLE` seconds without a call (``AILOOP_HOOK_WORKER_IDLE``).

A call that cannot reach a worker, or whose worker closes the connection before saying
it took the call, runs the hook itself. A worker that took the call but gave no answer is
reported on stderr (the input is kept for inspection), and the call is not run again,
which could record its events twice. ``AILOOP_HOOK_WORKER=0`` turns the
worker off. POSIX only.

This module is imported on every hook call: it uses only ``os``, ``sys``, ``socket``,
``json``, ``zlib``, ``stat`` and ``contextlib``. It also holds the checks every folder
ailoop keeps private files in goes through (:func:`private_dir`, :func:`write_private`):
the worker's sockets, the store's spills and journal, the hooks' saved inputs.
"""

from __future__ import annotations

import contextlib
import json
import os
import socket
import stat
import sys
import zlib
from collections.abc import Callable, Mapping
from pathlib import Path

TYPE_CHECKING = False  # typing itself is not imported: it costs every call 5 ms
if TYPE_CHECKING:
    from typing import Any

#: Seconds a worker waits for its next call before it exits.
IDLE = 300.0
#: Seconds a caller waits for the worker's answer (the engines' time limit, and margin).
ANSWER_TIMEOUT = 30.0
#: Environment variables a hook call's result can depend on.
_KEY_VARIABLES = ("PATH", "HOME", "USER", "LOGNAME", "PYTHONPATH", "VIRTUAL_ENV", "TMPDIR")
_KEY_PREFIXES = ("AILOOP_", "GIT_", "XDG_", "RUFF_", "LANG", "LC_")
#: The longest socket path every POSIX system takes (``sun_path`` is 104 bytes on macOS).
_SOCKET_PATH_MAX = 100
#: Variables that only steer the worker itself.
_NOT_KEY = ("AILOOP_HOOK_WORKER", "AILOOP_HOOK_WORKER_IDLE")

#: The byte a worker sends first: it has taken the call. A connection closed before it
#: (a worker on its way out) leaves the call to the caller.
TAKEN = b"+"
#: What the worker answers: exit code, standard output, standard error lines.
Answer = tuple[int, str, list[str]]


def enabled() -> bool:
    """Return whether calls may use a worker (POSIX, and not turned off)."""
    return os.name == "posix" and os.environ.get("AILOOP_HOOK_WORKER", "1") not in ("0", "")


def key(data_dir: Path | None) -> str:
    """Return the key of the worker that may serve a call with this environment."""
    import ailoop

    package = Path(ailoop.__file__).resolve().parent
    try:
        stamp = (package / "hooks" / "run.py").stat().st_mtime_ns
    except OSError:
        stamp = 0
    variables = sorted(
        (name, value)
        for name, value in os.environ.items()
        if (name in _KEY_VARIABLES or name.startswith(_KEY_PREFIXES)) and name not in _NOT_KEY
    )
    parts = [
        ailoop.__version__,
        sys.executable,
        str(package),
        str(stamp),
        str(data_dir) if data_dir is not None else "",
        *(f"{name}={value}" for name, value in variables),
    ]
    return "\0".join(parts)


def socket_path(worker_key: str) -> Path | None:
    """Return where the worker for ``worker_key`` listens (``None``: no safe place)."""
    base = os.environ.get("XDG_RUNTIME_DIR") or os.environ.get("TMPDIR") or "/tmp"  # noqa: S108
    folder = Path(base) / f"ailoop-hooks-{os.getuid()}"
    if private_dir(folder) is not None:
        return None  # someone else's, or open to others: do not talk through it
    data = worker_key.encode("utf-8", "surrogateescape")
    path = folder / f"{zlib.crc32(data):08x}{zlib.adler32(data):08x}.sock"
    if len(os.fsencode(path)) > _SOCKET_PATH_MAX:
        return None  # too long for a UNIX socket: no worker could ever listen there
    return path


def private_dir(folder: Path, *, create: bool = True, tighten: bool = False) -> str | None:
    """Check that ``folder`` is a directory only this user can use; return what is wrong.

    ``None`` means it is fine: looked at with ``os.lstat``, it is a directory (not a
    symbolic link), owned by this user, with no permission bits for group or others.
    With ``create``, a missing folder is made with mode 0700 (its parents as usual).
    ``tighten`` is for folders inside ailoop's own data directory: one of this user's
    with looser permissions (made by an older ailoop) is narrowed to 0700 instead of refused.
    Where the system has no user ids (Windows), only the first two checks apply.
    """
    if create:
        try:
            folder.parent.mkdir(parents=True, exist_ok=True)
            folder.mkdir(mode=0o700, exist_ok=True)
        except OSError as exc:
            return f"it cannot be created ({exc.strerror or exc})"
    try:
        info = os.lstat(folder)
    except FileNotFoundError:
        return "it does not exist"
    except OSError as exc:
        return f"it cannot be examined ({exc.strerror or exc})"
    if stat.S_ISLNK(info.st_mode):
        return "it is a symbolic link"
    if not stat.S_ISDIR(info.st_mode):
        return "it is not a directory"
    getuid = getattr(os, "getuid", None)
    if getuid is None:
        return None
    if info.st_uid != getuid():
        return f"it belongs to another user (uid {info.st_uid})"
    if info.st_mode & 0o077:
        if not tighten:
            return f"other users have access to it (mode {stat.S_IMODE(info.st_mode):o})"
        try:
            folder.chmod(0o700)  # lstat said: a directory, not a link
        except OSError as exc:
            return f"other users have access to it and it cannot be narrowed ({exc})"
    return None


def user_tag() -> str:
    """Return what names this user's private folders in a shared place: the uid."""
    getuid = getattr(os, "getuid", None)
    if getuid is not None:
        return str(getuid())
    import getpass

    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return "user"


def write_private(folder: Path, name: str, data: bytes) -> Path:
    """Write ``folder/name`` atomically, readable by this user only; return its path.

    The bytes go to a temporary name in the same folder (mode 0600), are synced to disk,
    and the file is renamed into place and the folder synced: under ``name`` there is
    either nothing or the whole file, even after a crash. Raises :class:`OSError`.
    """
    temporary = folder / f".{name}.{os.getpid()}-{os.urandom(6).hex()}.tmp"
    flags = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_NOFOLLOW", 0)
    fd = os.open(temporary, flags | getattr(os, "O_BINARY", 0), 0o600)
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data)
            f.flush()
            os.fsync(f.fileno())
        target = folder / name
        temporary.replace(target)
    except BaseException:
        with contextlib.suppress(OSError):
            temporary.unlink()
        raise
    sync_dir(folder)
    return target


def sync_dir(folder: Path) -> None:
    """Sync ``folder``'s entries (a rename or removal in it) to disk, where POSIX allows."""
    if os.name != "posix":
        return  # Windows cannot open a directory; NTFS journals renames itself
    fd = os.open(folder, os.O_RDONLY | getattr(os, "O_DIRECTORY", 0))
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def call(
    path: Path, worker_key: str, tool: str, raw: bytes, data_dir: Path | None
) -> Answer | None:
    """Hand one call to the worker at ``path``; ``None`` when no worker took it.

    Raises :class:`OSError` when the worker took the input but gave no answer.
    """
    request = {
        "key": worker_key,
        "tool": tool,
        "data_dir": str(data_dir) if data_dir is not None else None,
        "cwd": _cwd(),
        "input": raw.decode("latin-1"),
    }
    connection = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        connection.settimeout(ANSWER_TIMEOUT)
        try:
            connection.connect(str(path))
            if connection.recv(1) != TAKEN:
                return None  # a worker on its way out: run the hook here
        except OSError:
            return None  # none running, or a stale socket: run the hook here
        connection.sendall(json.dumps(request).encode("utf-8"))
        connection.shutdown(socket.SHUT_WR)
        reply = _read_all(connection)
    finally:
        connection.close()
    try:
        answer = json.loads(reply)
    except ValueError:
        raise OSError("the hook worker closed the connection without an answer") from None
    if not isinstance(answer, dict) or answer.get("key") != worker_key:
        return None  # a worker for another key (the socket names collided): run it here
    return int(answer["exit_code"]), str(answer["stdout"]), [str(x) for x in answer["stderr"]]


def start(data_dir: Path | None) -> None:
    """Start a worker for this process's environment in the background."""
    import subprocess

    command = [sys.executable, "-m", "ailoop.hooks", "--worker"]
    if data_dir is not None:
        command += ["--data-dir", str(data_dir)]
    with contextlib.suppress(OSError):  # then the next call runs the hook itself again
        subprocess.Popen(
            command,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
            cwd="/",
            start_new_session=True,
            close_fds=True,
        )


def serve(
    path: Path,
    worker_key: str,
    handle: Callable[[str, bytes, Path | None, Path | None], Answer],
    idle: float | None = None,
) -> int:
    """Answer calls on ``path`` until none came for ``idle`` seconds; return the exit code.

    Returns 0 at once when another worker already listens there.
    """
    import threading

    if idle is None:
        try:
            idle = float(os.environ.get("AILOOP_HOOK_WORKER_IDLE", IDLE))
        except ValueError:
            idle = IDLE
    listener = _listen(path)
    if listener is None:
        return 0
    import signal

    # Stopped politely (SIGTERM): leave through the clean-up below.
    signal.signal(signal.SIGTERM, lambda _signal, _frame: sys.exit(0))
    identity = path.stat().st_ino
    listener.settimeout(idle)
    busy: list[threading.Thread] = []
    try:
        while True:
            try:
                connection, _ = listener.accept()
            except TimeoutError:
                break
            thread = threading.Thread(
                target=_answer, args=(connection, worker_key, handle), daemon=True
            )
            thread.start()
            busy = [t for t in busy if t.is_alive()] + [thread]
    finally:
        try:  # leave the path to a worker that replaced this one meanwhile
            if path.stat().st_ino == identity:
                path.unlink()
        except OSError:
            pass
        listener.close()
        for thread in busy:
            thread.join(ANSWER_TIMEOUT)
    return 0


def _listen(path: Path) -> socket.socket | None:
    listener = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    try:
        listener.bind(str(path))
    except OSError:
        probe = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        try:
            probe.connect(str(path))
        except OSError:
            pass  # a stale socket of a worker that died: take its place
        else:
            listener.close()
            return None  # another worker is serving
        finally:
            probe.close()
        try:
            path.unlink()
            listener.bind(str(path))
        except OSError:
            listener.close()
            return None
    path.chmod(0o600)
    listener.listen(64)
    return listener


def _answer(
    connection: socket.socket,
    worker_key: str,
    handle: Callable[[str, bytes, Path | None, Path | None], Answer],
) -> None:
    with connection:
        try:
            connection.settimeout(ANSWER_TIMEOUT)
            connection.sendall(TAKEN)
            request = json.loads(_read_all(connection))
            if not isinstance(request, Mapping) or request.get("key") != worker_key:
                connection.sendall(json.dumps({"key": worker_key}).encode("utf-8"))
                return  # not a call of ours: the caller runs it itself
            data_dir = request.get("data_dir")
            cwd = request.get("cwd")
            exit_code, stdout, stderr = handle(
                str(request["tool"]),
                str(request["input"]).encode("latin-1"),
                Path(data_dir) if isinstance(data_dir, str) else None,
                Path(cwd) if isinstance(cwd, str) else None,
            )
            reply: dict[str, Any] = {
                "key": worker_key,
                "exit_code": exit_code,
                "stdout": stdout,
                "stderr": stderr,
            }
            connection.sendall(json.dumps(reply).encode("utf-8"))
        except (OSError, ValueError, KeyError, TypeError):
            return  # the caller reports the missing answer


def _read_all(connection: socket.socket) -> bytes:
    chunks = []
    while chunk := connection.recv(65536):
        chunks.append(chunk)
    return b"".join(chunks)


def _cwd() -> str | None:
    try:
        return str(Path.cwd())
    except OSError:
        return None
