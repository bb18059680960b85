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
import threading
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


class EngineRun:
    """An engine process started on a text; :meth:`result` waits for its findings."""

    def __init__(self, name: str, command: list[str], text: str, cwd: Path | None) -> None:
        self.name = name
        self._text = text.encode("utf-8")
        self._output: tuple[bytes, bytes, int] | None = None
        self._problem: str | None = None
        try:
            self._process: subprocess.Popen[bytes] | None = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=cwd,
            )
        except OSError as exc:
            self._process = None
            self._problem = f"{name} could not be started ({exc.strerror or exc})"
            return
        self._thread = threading.Thread(target=self._communicate, daemon=True)
        self._thread.start()

    def _communicate(self) -> None:
        assert self._process is not None
        try:
            out, err = self._process.communicate(self._text, timeout=ENGINE_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.communicate()
            self._problem = (
                f"{self.name} took longer than {ENGINE_TIMEOUT:g} s; its findings are left out"
            )
            return
        except OSError as exc:
            self._problem = f"{self.name} failed ({exc})"
            return
        self._output = (out, err, self._process.returncode)

    def result(self) -> tuple[bytes, str | None]:
        """Wait for the engine; return its standard output, or the problem it had."""
        if self._process is not None:
            self._thread.join()
        if self._output is None:
            return b"", self._problem or f"{self.name} gave no output"
        out, err, code = self._output
        if code not in (0, 1):
            lines = err.decode("utf-8", "replace").strip().splitlines()
            return b"", f"{self.name} failed: {lines[-1] if lines else f'exit code {code}'}"
        return out, None


def start_ruff(
    path: Path, text: str, settings: Mapping[str, Any], cwd: Path | None
) -> EngineRun | None:
    """Start ``ruff check`` on ``text`` as if it were ``path`` (None when ruff is missing)."""
    ruff = find_ruff()
    if ruff is None:
        return None  # no ruff installed: nothing to say about it on every edit
    command = [ruff, "check", "--no-fix", "--quiet", "--output-format", "json"]
    extra = settings.get("extra_select", ())
    if isinstance(extra, list) and extra and all(isinstance(r, str) for r in extra):
        command += ["--extend-select", ",".join(extra)]
    command += ["--stdin-filename", str(path), "-"]
    return EngineRun("ruff", command, text, cwd)


class PendingFindings:
    """Engines running on the inserted lines; :meth:`result` collects their findings."""

    def __init__(self, ruff: EngineRun | None, lines: Collection[int]) -> None:
        self._ruff = ruff
        self._lines = lines

    def result(self) -> tuple[list[EngineFinding], list[str]]:
        """Wait for every engine; return the findings on the lines and the problems."""
        if self._ruff is None:
            return [], []
        output, problem = self._ruff.result()
        if problem is not None:
            return [], [problem]
        try:
            return parse_ruff_json(output.decode("utf-8", "replace"), self._lines), []
        except ValueError as exc:
            return [], [str(exc)]


def start_engines(
    path: Path,
    text: str,
    language: str,
    lines: Collection[int],
    feedback: Mapping[str, Any],
    cwd: Path | None = None,
) -> PendingFindings:
    """Start the engines that apply to ``language`` on ``text``; they run in the background."""
    ruff_settings = _ruff_table(feedback)
    run = None
    if lines and ruff_settings is not None and language in RUFF_LANGUAGES:
        run = start_ruff(path, text, ruff_settings, cwd)
    return PendingFindings(run, lines)


def engine_findings(
    path: Path,
    text: str,
    language: str,
    lines: Collection[int],
    feedback: Mapping[str, Any],
    cwd: Path | None = None,
) -> tuple[list[EngineFinding], list[str]]:
    """Return the engines' findings on ``lines`` (zero-based) of ``text``, and any problems.

    ``feedback`` is the ``feedback`` settings table. Never raises. This is the seam for
    further engines: each takes the file's text and the inserted lines.
    """
    return start_engines(path, text, language, lines, feedback, cwd).result()
