"""Engines backed by a persistent child language server.

:class:`LanguageServerEngine` runs any language server as an engine; ruff (lint) and ty
(types) are two presets of it, and so are the TS/JS servers of
:mod:`ailoop.feedback.presets` and every ``kind = "language-server"`` engine a team
configures (:func:`make_language_server_engine`).
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ailoop.feedback.child import ChildServer
from ailoop.feedback.engine import (
    CheckOutdated,
    Document,
    Engine,
    EngineError,
    EngineHung,
    failed_check,
)
from ailoop.feedback.findings import HINT, Finding, findings_from_diagnostics, reencode
from ailoop.feedback.jsonrpc import ConnectionClosed, RequestTimeout, ResponseError
from ailoop.feedback.locate import find_executable, find_node_executable
from ailoop.feedback.settings import FeedbackSettings, LanguageServerSettings
from ailoop.positions import TextChange

#: Changes kept for one document between checks; past this, the whole text is sent.
MAX_PENDING_CHANGES = 256

#: LSP error codes meaning "this answer would be stale", not a failure.
_OUTDATED_CODES = frozenset(
    {-32800, -32801, -32802}
)  # RequestCancelled, ContentModified, ServerCancelled

#: Language ids the Python engines check.
PYTHON_LANGUAGES = frozenset({"python"})


def _error_lines(stderr: str) -> list[str]:
    """Return the lines of a child's stderr that report an error or a panic."""
    words = ("error", "panic", "fatal", "traceback", "exception")
    return [line for line in stderr.splitlines() if any(w in line.lower() for w in words)]


class LanguageServerEngine(Engine):
    """An engine that keeps a child language server running and holding the buffers.

    Edits are sent to the child when a check needs them: while someone types, the child
    is not woken for every keystroke, and a slow engine does not take CPU from a faster one
    that is answering. They are sent as the editor's own ranged changes when the child
    takes those in the editor's position encoding (ruff and ty do), so an insertion into a
    large file costs a few hundred bytes, not the whole text; otherwise as the whole text.
    """

    def __init__(
        self,
        name: str,
        languages: frozenset[str],
        command: Callable[[], Sequence[str] | None],
        root: Path | None,
        start_timeout: float,
        initialization_options: Mapping[str, Any] | None = None,
        configuration: Callable[[str | None], Any] | None = None,
        extra_prefixes: Sequence[str] = (),
        install_hint: str = "",
        priority: int = 0,
        position_encoding: str = "utf-16",
        skip_hints: bool = False,
    ) -> None:
        super().__init__(name, languages, priority)
        self._position_encoding = position_encoding
        #: Drop hint-severity diagnostics (TypeScript's suggestions: not what ``tsc`` reports).
        self._skip_hints = skip_hints
        self._command = command
        self._root = root
        self._start_timeout = start_timeout
        self._initialization_options = dict(initialization_options or {})
        self._configuration = configuration
        self._extra_prefixes = tuple(extra_prefixes)
        self._install_hint = install_hint
        self._child: ChildServer | None = None
        #: Per document, the newest version not yet sent and the editor's changes that lead
        #: to it from the version the child holds (``None``: send the whole text).
        self._unsent: dict[str, tuple[Document, list[TextChange] | None]] = {}

    @property
    def exited(self) -> asyncio.Future[int | None] | None:
        """Completes when the current child process exits."""
        return self._child.exited if self._child is not None else None

    @property
    def pid(self) -> int | None:
        """The current child's process id (tests kill it to simulate a crash)."""
        return self._child.pid if self._child is not None else None

    async def start(self) -> None:
        """Start a fresh child and complete its handshake."""
        argv = self._command()
        if not argv:
            raise EngineError(f"{self.name} executable not found{self._install_hint}")
        child = ChildServer(
            argv,
            self._root,
            initialization_options=self._initialization_options,
            configuration=self._configuration,
            position_encoding=self._position_encoding,
        )
        self._child = child
        child.on_refresh = self._refreshed
        try:
            await child.start(self._start_timeout)
        except OSError as error:
            raise EngineError(f"cannot run {argv[0]}: {error.strerror or error}") from None
        except RequestTimeout:
            child.kill()
            raise EngineError(f"did not finish starting within {self._start_timeout:g} s") from None
        except (ConnectionClosed, ResponseError) as error:
            child.kill()
            detail = [*_error_lines(child.stderr_tail()), str(error)]
            raise EngineError(f"failed to start: {detail[0]}") from None

    def _refreshed(self) -> None:
        if self.on_refresh is not None:
            self.on_refresh()

    def open(self, document: Document) -> None:
        """Send the document to the child."""
        self._unsent.pop(document.uri, None)
        if self._child is not None and self._child.running:
            self._child.did_open(
                document.uri, document.language_id, document.version, document.text
            )

    def change(self, document: Document) -> None:
        """Keep the new version until the next check sends it, with the changes to it."""
        held = self._unsent.get(document.uri)
        before: list[TextChange] | None = held[1] if held is not None else []
        changes: list[TextChange] | None = None
        if document.changes is not None and before is not None:
            changes = [*before, *document.changes]
            if len(changes) > MAX_PENDING_CHANGES:
                changes = None  # a long burst of typing: one whole text is cheaper
        self._unsent[document.uri] = (document, changes)

    def close(self, uri: str) -> None:
        """Tell the child the document is closed."""
        self._unsent.pop(uri, None)
        if self._child is not None and self._child.running:
            self._child.did_close(uri)

    def check(self, document: Document, timeout: float) -> Awaitable[list[Finding]]:
        """Send the document's latest version and ask for its diagnostics, both at once.

        The returned awaitable gives the findings; nothing waits for a turn of the event
        loop before the child starts working.
        """
        child = self._child
        if child is None or not child.running:
            return failed_check(EngineError("not running"))
        held = self._unsent.pop(document.uri, None)
        latest = held[0] if held is not None else document
        try:
            if held is not None:
                child.did_change(document.uri, latest.version, self._content_changes(child, *held))
            answer = child.diagnostics(document.uri, latest.version, timeout)
        except (ConnectionClosed, ConnectionError):
            return failed_check(EngineError("exited during a check"))
        return self._findings(child, latest, answer, timeout)

    async def _findings(
        self,
        child: ChildServer,
        document: Document,
        answer: Awaitable[list[dict[str, Any]]],
        timeout: float,
    ) -> list[Finding]:
        try:
            diagnostics = await answer
        except (RequestTimeout, asyncio.TimeoutError):
            raise EngineHung(f"no answer within {timeout:g} s") from None
        except ResponseError as error:
            if error.code in _OUTDATED_CODES:
                raise CheckOutdated(str(error)) from None
            raise EngineError(str(error)) from None
        except (ConnectionClosed, ConnectionError):
            raise EngineError("exited during a check") from None
        findings = findings_from_diagnostics(self.name, diagnostics, self._extra_prefixes)
        if self._skip_hints:
            findings = [finding for finding in findings if finding.severity != HINT]
        if child.position_encoding != self._position_encoding:  # the child would not switch
            findings = reencode(
                findings, document.text, child.position_encoding, self._position_encoding
            )
        return findings

    def _content_changes(
        self, child: ChildServer, document: Document, changes: list[TextChange] | None
    ) -> list[TextChange]:
        """Return the editor's changes if the child takes them as they are, else the text."""
        if (
            changes is not None
            and child.incremental_sync
            and child.position_encoding == self._position_encoding
        ):
            return changes
        return [(None, document.text)]

    def crash_detail(self) -> str:
        """Return the last error line the child wrote to stderr, for a crash message."""
        if self._child is None:
            return ""
        lines = _error_lines(self._child.stderr_tail())
        return lines[-1] if lines else ""

    async def stop(self) -> None:
        """Shut the child down (killing it if it does not exit in time)."""
        child, self._child = self._child, None
        self._unsent.clear()
        if child is not None:
            await child.stop()

    def kill(self) -> None:
        """Kill the child at once."""
        if self._child is not None:
            self._child.kill()


def _command_finder(
    explicit: Sequence[str], executable: str, arguments: Sequence[str], root: Path | None
) -> Callable[[], Sequence[str] | None]:
    """Return a function giving the argv: the explicit command, or the found executable."""

    def command() -> Sequence[str] | None:
        if explicit:
            return list(explicit)
        found = find_executable(executable, root)
        return [str(found), *arguments] if found is not None else None

    return command


def section_value(settings: Mapping[str, Any], section: str | None) -> Any:
    """Answer ``workspace/configuration`` for ``section`` from a table of settings.

    No section: the whole table; ``"a.b"``: ``settings["a"]["b"]`` (``None`` if absent).
    """
    if not section:
        return dict(settings)
    node: Any = settings
    for part in section.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return None
        node = node[part]
    return node


def configured_command(
    argv: Sequence[str], root: Path | None
) -> Callable[[], Sequence[str] | None]:
    """Return the argv of a configured engine, its bare executable name found if it can be.

    A bare name is looked up in ``root``'s ``node_modules/.bin`` (``root`` is given for a
    trusted workspace only), then on ``PATH``; not found, it is run as it is, so the
    failure names it.
    """

    def command() -> Sequence[str]:
        first, *rest = argv
        if os.sep not in first and (os.altsep is None or os.altsep not in first):
            found = find_node_executable(first, root)
            if found is not None:
                return [str(found), *rest]
        return list(argv)

    return command


def make_language_server_engine(
    spec: LanguageServerSettings,
    settings: FeedbackSettings,
    root: Path | None,
    position_encoding: str = "utf-16",
    *,
    command: Callable[[], Sequence[str] | None] | None = None,
    configuration: Callable[[str | None], Any] | None = None,
    extra_prefixes: Sequence[str] = (),
    install_hint: str = "",
    skip_hints: bool = False,
) -> LanguageServerEngine:
    """Build the engine of one language server: a preset's, or one a team configured.

    ``command`` finds the argv at each start (default: ``spec.command``, its executable
    looked up as :func:`configured_command` says); ``configuration`` answers the child's
    ``workspace/configuration`` (default: from ``spec.settings``). Type checkers answer
    after the lint engines (priority 1).
    """
    if command is None:
        command = configured_command(spec.command, root if settings.workspace_executables else None)
    if configuration is None:
        table = dict(spec.settings)

        def configuration(section: str | None) -> Any:
            return section_value(table, section)

    return LanguageServerEngine(
        spec.name,
        spec.languages,
        command,
        root,
        settings.start_timeout_ms / 1000,
        initialization_options=spec.initialization_options,
        configuration=configuration,
        extra_prefixes=extra_prefixes,
        install_hint=install_hint,
        priority=1 if spec.findings == "types" else 0,
        position_encoding=position_encoding,
        skip_hints=skip_hints,
    )


def ruff_initialization_options(settings: FeedbackSettings) -> dict[str, Any]:
    """``initializationOptions`` for ``ruff server``.

    The workspace's own ruff configuration stays in force (ruff's default
    ``editorFirst`` preference merges it with these settings); ``lint.extendSelect`` adds
    the rules ailoop wants for AI code on top.
    """
    lint: dict[str, Any] = {"enable": True}
    if settings.ruff_extra_select:
        lint["extendSelect"] = list(settings.ruff_extra_select)
    return {
        "settings": {"lint": lint, "fixAll": False, "organizeImports": False, "logLevel": "warn"}
    }


def make_ruff_engine(
    settings: FeedbackSettings, root: Path | None, position_encoding: str = "utf-16"
) -> LanguageServerEngine:
    """Build the ruff engine: ``ruff server``, the workspace's config plus the extra rules."""
    options = ruff_initialization_options(settings)
    spec = LanguageServerSettings(
        "ruff", ("ruff", "server"), PYTHON_LANGUAGES, "lint", initialization_options=options
    )
    return make_language_server_engine(
        spec,
        settings,
        root,
        position_encoding,
        command=_command_finder(
            settings.ruff_command,
            "ruff",
            ["server"],
            root if settings.workspace_executables else None,
        ),
        configuration=lambda _section: options["settings"],
        extra_prefixes=settings.ruff_extra_select,
        install_hint=" (install it with `pip install ruff` or set feedback.ruff.command)",
    )


def make_ty_engine(
    settings: FeedbackSettings, root: Path | None, position_encoding: str = "utf-16"
) -> LanguageServerEngine:
    """Build the ty engine: ``ty server``, which reads the workspace's ``[tool.ty]`` config."""
    spec = LanguageServerSettings("ty", ("ty", "server"), PYTHON_LANGUAGES, "types")
    return make_language_server_engine(
        spec,
        settings,
        root,
        position_encoding,
        command=_command_finder(
            settings.ty_command,
            "ty",
            ["server"],
            root if settings.workspace_executables else None,
        ),
        configuration=lambda _section: None,
        install_hint=" (install it with `pip install ty` or set feedback.ty.command)",
    )
