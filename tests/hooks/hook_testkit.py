"""Helpers for the hook tests: fixture payloads, the tool's own edit, the stored events."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

SERVER_DIR = Path(__file__).resolve().parents[2] / "server"
FIXTURES = Path(__file__).resolve().parents[1] / "fixtures" / "hooks"

ORDERS = (
    '"""Orders."""\n\n\ndef total(order):\n    return sum(item.price for item in order.items)\n'
)

RunHook = Callable[..., subprocess.CompletedProcess[bytes]]


def env_for(
    data_dir: Path, home: Path | None = None, worker_dir: Path | None = None
) -> dict[str, str]:
    """The environment of a command under test: our package, our data dir.

    Hook calls run in their own process unless ``worker_dir`` is given: then they may use
    a warm worker whose socket lives there (and which exits after 10 idle seconds).
    """
    env = dict(os.environ)
    env["AILOOP_DATA_DIR"] = str(data_dir)
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SERVER_DIR), env.get("PYTHONPATH")]))
    if home is not None:
        env["HOME"] = str(home)
    if worker_dir is None:
        env["AILOOP_HOOK_WORKER"] = "0"
    else:
        env["AILOOP_HOOK_WORKER"] = "1"
        env["AILOOP_HOOK_WORKER_IDLE"] = "10"
        env["XDG_RUNTIME_DIR"] = str(worker_dir)
    return env


def worker_socket(worker_dir: Path) -> Path | None:
    """The socket of the one worker listening in ``worker_dir``, if any."""
    sockets = list(worker_dir.glob("ailoop-hooks-*/*.sock"))
    return sockets[0] if len(sockets) == 1 else None


def load_payload(name: str, root: Path) -> dict[str, Any]:
    """Read a fixture payload with ``__ROOT__`` standing for the project's root."""
    text = (FIXTURES / name).read_text(encoding="utf-8")
    return json.loads(text.replace("__ROOT__", json.dumps(str(root))[1:-1]))


def apply_tool(payload: dict[str, Any], root: Path) -> None:
    """Do to the project's file what the tool did before calling its hook."""
    tool_input = payload.get("tool_input") or payload
    path = Path(tool_input["file_path"])
    if not path.is_absolute():
        path = root / path
    tool = payload.get("tool_name")
    if tool == "Write":
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(tool_input["content"], encoding="utf-8")
        return
    text = path.read_text(encoding="utf-8")
    edits = tool_input.get("edits", [tool_input])
    for edit in edits:
        old, new = edit["old_string"], edit["new_string"]
        if "range" in edit:  # a Tab edit: replace on the given line
            lines = text.splitlines(keepends=True)
            number = edit["range"]["start_line_number"] - 1
            lines[number] = lines[number].replace(old, new, 1)
            text = "".join(lines)
        else:
            assert old in text, f"fixture edit does not apply: {old!r}"
            text = text.replace(old, new) if edit.get("replace_all") else text.replace(old, new, 1)
    path.write_text(text, encoding="utf-8")


def events(data_dir: Path) -> list[dict[str, Any]]:
    """The stored events, read with ``python -m ailoop events --format jsonl``."""
    done = subprocess.run(
        [sys.executable, "-m", "ailoop", "events", "--format", "jsonl"],
        env=env_for(data_dir),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def start_worker(env: dict[str, str]) -> subprocess.Popen[bytes]:
    """Start ``python -m ailoop.hooks --worker`` in ``env``, detached from the test's output."""
    return subprocess.Popen(
        [sys.executable, "-m", "ailoop.hooks", "--worker"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def call_with_importtime(
    module: tuple[str, ...], payload: dict[str, Any], cwd: Path, env: dict[str, str]
) -> tuple[subprocess.CompletedProcess[bytes], set[str]]:
    """Run one hook call under ``-X importtime``; also return what its own process imported.

    The import lines are taken out of the returned stderr.
    """
    done = subprocess.run(
        [sys.executable, "-X", "importtime", "-m", *module, "claude-code"],
        input=json.dumps(payload).encode(),
        cwd=cwd,
        env=env,
        capture_output=True,
        timeout=60,
        check=False,
    )
    lines = done.stderr.splitlines()
    imported = {
        line.rsplit(b"|", 1)[1].strip().decode()
        for line in lines
        if line.startswith(b"import time:")
    }
    done.stderr = b"".join(line + b"\n" for line in lines if not line.startswith(b"import time:"))
    return done, imported
