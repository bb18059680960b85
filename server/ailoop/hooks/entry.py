"""The hook calls, started lean: ``python -m ailoop.hooks`` and ``ailoop hook <tool>``.

Agents run the hook on every edit, so these entry points skip the ``ailoop`` command line
(the parsers of every subcommand, and argparse itself) and do exactly what
``ailoop hook <agent>`` does. A usage error exits with 1, not 2: to Claude Code,
2 would block the agent on every edit over a mistyped command.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence
from pathlib import Path

from ailoop.hooks import TOOLS

USAGE = (
    "usage: python -m ailoop.hooks {claude-code,cursor,gemini-cli,codex} [--data-dir DIR]\n"
    "       python -m ailoop.hooks --worker [--data-dir DIR]"
)


def is_hook_call(argv: Sequence[str]) -> bool:
    """Return whether ``argv`` (after ``ailoop hook``) is exactly one hook call."""
    return bool(argv) and argv[0] in TOOLS and _data_dir(argv[1:])[0]


def main(argv: Sequence[str]) -> int:
    """Check the arguments and handle one hook call; 1 on a usage error.

    ``--worker [--data-dir DIR]`` runs a hook worker (see :mod:`ailoop.hooks.worker`).
    """
    parsed, data_dir = _data_dir(argv[1:])
    if argv and argv[0] == "--worker" and parsed:
        return serve_worker(data_dir)
    if not argv or not parsed or argv[0] == "--worker":
        sys.stderr.write(USAGE + "\n")
        return 1
    if argv[0] not in TOOLS:
        sys.stderr.write(f"{USAGE}\npython -m ailoop.hooks: unknown tool {argv[0]!r}\n")
        return 1
    return call(argv[0], data_dir)


def _data_dir(rest: Sequence[str]) -> tuple[bool, Path | None]:
    """Parse ``[--data-dir DIR]``: whether it parsed, and the directory."""
    if not rest:
        return True, None
    if len(rest) == 2 and rest[0] == "--data-dir":
        return True, Path(rest[1])
    return False, None


def call(tool: str, data_dir: Path | None) -> int:
    """Read the payload on stdin, handle it (through a warm worker when one runs), answer."""
    try:
        raw = sys.stdin.buffer.read()
    except OSError as exc:
        sys.stderr.write(f"ailoop hook: cannot read the hook input ({exc})\n")
        return 0
    from ailoop.hooks import worker

    path = None
    if worker.enabled():
        worker_key = worker.key(data_dir)
        path = worker.socket_path(worker_key)
    if path is not None:
        try:
            answer = worker.call(path, worker_key, tool, raw, data_dir)
        except OSError as exc:
            from ailoop.hooks.run import keep_unanswered

            answer = (0, "", [keep_unanswered(tool, raw, data_dir, str(exc))])
        if answer is not None:
            return _print(answer)
    from ailoop.hooks.run import handle_call

    code = _print(handle_call(tool, raw, data_dir))
    if path is not None:
        worker.start(data_dir)  # for the next call
    return code


def serve_worker(data_dir: Path | None) -> int:
    """Serve hook calls for this environment until idle (see :mod:`ailoop.hooks.worker`)."""
    from ailoop.hooks import worker
    from ailoop.hooks.run import handle_call

    worker_key = worker.key(data_dir)
    path = worker.socket_path(worker_key)
    if path is None or not worker.enabled():
        return 0
    from ailoop.hooks.engines import EngineSessions

    engines = EngineSessions()  # language servers stay warm between the calls

    def handle(tool: str, raw: bytes, data: Path | None, cwd: Path | None) -> worker.Answer:
        return handle_call(tool, raw, data, cwd, engines)

    try:
        return worker.serve(path, worker_key, handle)
    finally:
        engines.close()


def _print(answer: tuple[int, str, list[str]]) -> int:
    exit_code, stdout, stderr = answer
    if stdout:
        sys.stdout.buffer.write(stdout.encode("utf-8"))
        sys.stdout.flush()
    for line in stderr:
        sys.stderr.buffer.write((line + "\n").encode("utf-8"))
    sys.stderr.flush()
    return exit_code
