"""One-shot feedback engines for a hook: findings on the lines an agent just wrote.

The language server keeps ruff and ty running as servers; a hook lives for one edit, so
it runs ``ruff check`` once on the file's text instead (a few tens of milliseconds). The
seam is :func:`engine_findings`: the file's text and the inserted lines in, findings on
those lines out. It reads the ``feedback`` settings table (``ruff = false`` or
``[tool.ailoop.feedback.ruff] enabled = false`` turns ruff off; ``extra_select`` adds rules).
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
from collections.abc import Collection, Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

#: Seconds one engine run may take before its findings are given up.
ENGINE_TIMEOUT = 3.0
#: Languages ``ruff check`` reads.
RUFF_LANGUAGES = frozenset({"python"})


@dataclass(frozen=True)
class EngineFinding:
    """One engine finding: ``line`` is zero-based, ``code`` is ``"<engine>:<rule>"``."""

    line: int
    code: str
    message: str


def _ruff_table(feedback: Mapping[str, Any]) -> Mapping[str, Any] | None:
    """Return the ruff settings, or ``None`` when ruff is turned off."""
    value = feedback.get("ruff", True)
    if value is False:
        return None
    if isinstance(value, Mapping):
        return None if value.get("enabled", True) is False else value
    return {}


def find_ruff() -> str | None:
    """Return the ruff executable beside this Python, else the one on ``PATH``."""
    name = "ruff.exe" if os.name == "nt" else "ruff"
    beside = Path(sys.executable).parent / name
    if beside.is_file():
        return str(beside)
    return shutil.which("ruff")


def parse_ruff_json(output: str, lines: Collection[int]) -> list[EngineFinding]:
    """Turn ``ruff check --output-format json`` output into findings on ``lines``."""
    try:
        items = json.loads(output or "[]")
    except json.JSONDecodeError as exc:
        raise ValueError(f"ruff printed something that is not JSON ({exc})") from exc
    found = []
    for item in items if isinstance(items, list) else ():
        try:
            line = int(item["location"]["row"]) - 1
            message = str(item["message"])
        except (KeyError, TypeError, ValueError):
            continue
        if line in lines:
            rule = item.get("code") or "invalid-syntax"
            found.append(EngineFinding(line, f"ruff:{rule}", message))
    return found


def run_ruff(
    path: Path, text: str, lines: Collection[int], settings: Mapping[str, Any], cwd: Path | None
) -> tuple[list[EngineFinding], list[str]]:
    """Run ``ruff check`` on ``text`` (as ``path``); return findings on ``lines`` and problems."""
    ruff = find_ruff()
    if ruff is None:
        return [], []  # no ruff installed: nothing to say about it on every edit
    command = [ruff, "check", "--no-fix", "--quiet", "--output-format", "json"]
    extra = settings.get("extra_select", ())
    if isinstance(extra, list) and extra and all(isinstance(r, str) for r in extra):
        command += ["--extend-select", ",".join(extra)]
    command += ["--stdin-filename", str(path), "-"]
    try:
        done = subprocess.run(
            command,
            input=text.encode("utf-8"),
            capture_output=True,
            cwd=cwd,
            timeout=ENGINE_TIMEOUT,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return [], [f"ruff took longer than {ENGINE_TIMEOUT:g} s; its findings are left out"]
    except OSError as exc:
        return [], [f"ruff could not be started ({exc})"]
    if done.returncode not in (0, 1):
        error = done.stderr.decode("utf-8", "replace").strip().splitlines()
        return [], [f"ruff failed: {error[-1] if error else f'exit code {done.returncode}'}"]
    try:
        return parse_ruff_json(done.stdout.decode("utf-8", "replace"), lines), []
    except ValueError as exc:
        return [], [str(exc)]


def engine_findings(
    path: Path,
    text: str,
    language: str,
    lines: Collection[int],
    feedback: Mapping[str, Any],
    cwd: Path | None = None,
) -> tuple[list[EngineFinding], list[str]]:
    """Return the engines' findings on ``lines`` (zero-based) of ``text``, and any problems.

    ``feedback`` is the ``feedback`` settings table. Never raises.
    """
    if not lines:
        return [], []
    found: list[EngineFinding] = []
    problems: list[str] = []
    ruff = _ruff_table(feedback)
    if ruff is not None and language in RUFF_LANGUAGES:
        ruff_found, ruff_problems = run_ruff(path, text, lines, ruff, cwd)
        found += ruff_found
        problems += ruff_problems
    return found, problems
