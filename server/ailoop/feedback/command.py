"""A command engine: runs a configured checker on the buffer and parses its output."""

from __future__ import annotations

import asyncio
import contextlib
import os
import tempfile
from pathlib import Path
from urllib.parse import unquote, urlparse

from ailoop.feedback.engine import Document, Engine, EngineError, EngineHung
from ailoop.feedback.findings import Finding
from ailoop.feedback.output import OutputError, parse_regex_output, parse_sarif_output
from ailoop.feedback.settings import CommandEngineSettings

#: How much of a failing command's stderr goes into the message.
_STDERR_EXCERPT = 300


def path_from_uri(uri: str) -> str:
    """Return the file system path of a ``file:`` URI (the URI itself for other schemes)."""
    parsed = urlparse(uri)
    if parsed.scheme != "file":
        return uri
    path = unquote(parsed.path)
    if os.name == "nt" and path.startswith("/") and len(path) > 2 and path[2] == ":":
        path = path[1:]
    return path


def build_argv(command: tuple[str, ...], path: str, file: str) -> list[str]:
    """Substitute ``{path}`` (the document) and ``{file}`` (the buffer's temp file)."""
    return [arg.replace("{path}", path).replace("{file}", file) for arg in command]


def _remove_quietly(name: str) -> None:
    with contextlib.suppress(OSError):
        Path(name).unlink()


class CommandEngine(Engine):
    """Runs ``settings.command`` once per check, with the unsaved text on stdin or in a file.

    Exit codes are not judged (linters exit non-zero when they find something); a run
    fails when the command cannot start, times out, or exits non-zero with output that
    is not in the configured format.
    """

    def __init__(
        self, settings: CommandEngineSettings, root: Path | None, position_encoding: str = "utf-16"
    ) -> None:
        super().__init__(settings.name, settings.languages)
        self.settings = settings
        self._root = root
        self._position_encoding = position_encoding

    async def start(self) -> None:
        """Nothing runs between checks; nothing to start."""

    async def stop(self) -> None:
        """Nothing runs between checks; running checks are cancelled by the hub."""

    async def check(self, document: Document, timeout: float) -> list[Finding]:
        """Run the command on ``document.text`` and parse what it prints."""
        if self.settings.timeout_ms is not None:
            timeout = self.settings.timeout_ms / 1000
        path = path_from_uri(document.uri)
        if self.settings.stdin:
            output, stderr, returncode = await self._run(
                build_argv(self.settings.command, path, path), document.text, timeout
            )
        else:
            suffix = Path(path).suffix
            handle, temp_name = tempfile.mkstemp(prefix="ailoop-", suffix=suffix)
            try:
                with os.fdopen(handle, "w", encoding="utf-8", newline="") as stream:
                    stream.write(document.text)
                output, stderr, returncode = await self._run(
                    build_argv(self.settings.command, path, temp_name), None, timeout
                )
            finally:
                _remove_quietly(temp_name)
        try:
            if self.settings.output == "sarif":
                if not output.strip() and returncode == 0:
                    return []
                return parse_sarif_output(self.name, output, document.text, self._position_encoding)
            assert self.settings.pattern is not None
            findings = parse_regex_output(
                self.name,
                self.settings.pattern,
                output,
                document.text,
                self.settings.severity,
                self._position_encoding,
            )
        except OutputError as error:
            raise EngineError(f"{error}{self._stderr_note(stderr)}") from None
        if not findings and returncode != 0 and not output.strip() and stderr.strip():
            raise EngineError(f"exited with code {returncode}{self._stderr_note(stderr)}")
        return findings

    @staticmethod
    def _stderr_note(stderr: str) -> str:
        text = stderr.strip()
        return f": {text[:_STDERR_EXCERPT]}" if text else ""

    async def _run(
        self, argv: list[str], stdin_text: str | None, timeout: float
    ) -> tuple[str, str, int]:
        cwd = str(self._root) if self._root is not None and self._root.is_dir() else None
        try:
            process = await asyncio.create_subprocess_exec(
                *argv,
                stdin=asyncio.subprocess.PIPE
                if stdin_text is not None
                else asyncio.subprocess.DEVNULL,
                stdout=asyncio.subprocess.PIPE,
                stderr=asyncio.subprocess.PIPE,
                cwd=cwd,
            )
        except OSError as error:
            raise EngineError(f"cannot run {argv[0]}: {error.strerror or error}") from None
        data = stdin_text.encode("utf-8") if stdin_text is not None else None
        try:
            stdout, stderr = await asyncio.wait_for(process.communicate(data), timeout)
        except asyncio.TimeoutError:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
            raise EngineHung(f"did not finish within {timeout:g} s") from None
        except BaseException:
            with contextlib.suppress(ProcessLookupError):
                process.kill()
            await process.wait()
            raise
        return (
            stdout.decode("utf-8", "replace"),
            stderr.decode("utf-8", "replace"),
            process.returncode if process.returncode is not None else 0,
        )
