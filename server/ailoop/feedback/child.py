"""A child language server (``ruff server``, ``ty server``) driven over stdio.

:class:`ChildServer` starts the process, runs the ``initialize`` handshake, forwards the
buffer (``didOpen``/``didChange``/``didClose``) and asks for diagnostics with a pull
request (``textDocument/diagnostic``), or waits for the pushed ``publishDiagnostics`` of a
given version when the child does not offer pull diagnostics. Requests from the child are
answered so that it never waits on us: ``workspace/configuration`` with the settings the
engine gave, capability registrations and progress tokens with ``null``.
"""

from __future__ import annotations

import asyncio
import collections
import contextlib
import os
import signal
from collections.abc import Awaitable, Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ailoop.feedback.jsonrpc import ConnectionClosed, JsonRpcConnection, MethodNotFound
from ailoop.positions import TextChange

#: How many lines of the child's stderr are kept for a crash message.
_STDERR_TAIL_LINES = 20
#: Seconds without a newer push after which a version-less push answers a check.
UNVERSIONED_QUIET = 0.3


def client_capabilities(
    pull_diagnostics: bool, position_encoding: str = "utf-16"
) -> dict[str, Any]:
    """Return the ``ClientCapabilities`` ailoop announces to a child language server.

    One position encoding (the editor's), push diagnostics with versions, pull diagnostics
    if wanted, configuration requests.
    """
    text_document: dict[str, Any] = {
        "synchronization": {"dynamicRegistration": False, "didSave": False},
        "publishDiagnostics": {"versionSupport": True, "relatedInformation": False},
    }
    if pull_diagnostics:
        text_document["diagnostic"] = {
            "dynamicRegistration": False,
            "relatedDocumentSupport": False,
        }
    return {
        "general": {"positionEncodings": [position_encoding]},
        "textDocument": text_document,
        "workspace": {"configuration": True, "workspaceFolders": True},
        "window": {"workDoneProgress": False},
    }


async def _pulled_items(report: Awaitable[Any]) -> list[dict[str, Any]]:
    """Return the diagnostics of a ``textDocument/diagnostic`` report."""
    result = await report
    items = result.get("items") if isinstance(result, dict) else None
    return [item for item in items or [] if isinstance(item, dict)]


class ChildServer:
    """One running child language server and the documents it holds.

    Not restartable: the engine that owns it makes a new one after a crash.
    """

    def __init__(
        self,
        argv: Sequence[str],
        root: Path | None,
        initialization_options: Mapping[str, Any] | None = None,
        configuration: Callable[[str | None], Any] | None = None,
        pull_diagnostics: bool = True,
        env: Mapping[str, str] | None = None,
        position_encoding: str = "utf-16",
    ) -> None:
        self.argv = list(argv)
        self.root = root.absolute() if root is not None else None
        self.initialization_options = dict(initialization_options or {})
        self._configuration = configuration
        self.pull_diagnostics = pull_diagnostics
        self._env = dict(env) if env is not None else None
        self._process: asyncio.subprocess.Process | None = None
        self._connection: JsonRpcConnection | None = None
        self._stderr_tail: collections.deque[str] = collections.deque(maxlen=_STDERR_TAIL_LINES)
        self._stderr_task: asyncio.Task[None] | None = None
        self._watch_task: asyncio.Task[None] | None = None
        self._published: dict[str, tuple[int | None, list[dict[str, Any]]]] = {}
        self._push_waiters: dict[str, list[tuple[int, asyncio.Future[list[dict[str, Any]]]]]] = {}
        self._quiet_timers: dict[str, asyncio.TimerHandle] = {}
        #: Documents whose version-less push came after the last text sent (it answers).
        self._answered: set[str] = set()
        self.server_capabilities: dict[str, Any] = {}
        #: The encoding asked for; :attr:`position_encoding` is the one the child chose.
        self.wanted_encoding = position_encoding
        self.exited: asyncio.Future[int | None] | None = None
        #: Called when the child asks its client to pull diagnostics again
        #: (``workspace/diagnostic/refresh``: a project loaded, a configuration changed).
        self.on_refresh: Callable[[], None] | None = None

    @property
    def pid(self) -> int | None:
        """The child's process id, once started."""
        return self._process.pid if self._process is not None else None

    @property
    def running(self) -> bool:
        """Whether the process is alive and its stream is open."""
        return (
            self._process is not None
            and self._process.returncode is None
            and self._connection is not None
            and not self._connection.is_closed
        )

    @property
    def position_encoding(self) -> str:
        """The position encoding the child uses (UTF-16 when it does not say)."""
        encoding = self.server_capabilities.get("positionEncoding")
        return encoding if isinstance(encoding, str) else "utf-16"

    @property
    def incremental_sync(self) -> bool:
        """Whether the child takes ranged content changes (``TextDocumentSyncKind.Incremental``)."""
        sync = self.server_capabilities.get("textDocumentSync")
        if isinstance(sync, dict):
            sync = sync.get("change")
        return sync == 2

    @property
    def supports_pull(self) -> bool:
        """Whether we asked for, and the child offers, pull diagnostics."""
        return self.pull_diagnostics and "diagnosticProvider" in self.server_capabilities

    def stderr_tail(self) -> str:
        """Return the last lines the child wrote to stderr (for a crash message)."""
        return "\n".join(self._stderr_tail)

    async def start(self, timeout: float) -> None:
        """Spawn the process and complete ``initialize``/``initialized`` within ``timeout``.

        Raises :class:`OSError` when the command cannot run, and the errors of
        :meth:`JsonRpcConnection.request` when the handshake fails.
        """
        cwd = str(self.root) if self.root is not None and self.root.is_dir() else None
        env = None
        if self._env is not None:
            env = {**os.environ, **self._env}
        self._process = await asyncio.create_subprocess_exec(
            *self.argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.PIPE,
            cwd=cwd,
            env=env,
        )
        assert self._process.stdin is not None
        assert self._process.stdout is not None
        self._connection = JsonRpcConnection(
            self._process.stdout,
            self._process.stdin,
            self._on_notification,
            self._on_request,
            on_bad_message=self._stderr_tail.append,
        )
        self._connection.start()
        loop = asyncio.get_running_loop()
        self.exited = loop.create_future()
        self._stderr_task = loop.create_task(self._drain_stderr())
        self._watch_task = loop.create_task(self._watch_exit())
        root_uri = self.root.as_uri() if self.root is not None else None
        params: dict[str, Any] = {
            "processId": os.getpid(),
            "clientInfo": {"name": "ailoop"},
            "rootUri": root_uri,
            "capabilities": client_capabilities(self.pull_diagnostics, self.wanted_encoding),
            "initializationOptions": self.initialization_options,
            "workspaceFolders": (
                [{"uri": root_uri, "name": self.root.name or "root"}]
                if self.root is not None and root_uri is not None
                else None
            ),
        }
        result = await self._connection.request("initialize", params, timeout=timeout)
        capabilities = result.get("capabilities") if isinstance(result, dict) else None
        self.server_capabilities = capabilities if isinstance(capabilities, dict) else {}
        self._connection.notify("initialized", {})

    def did_open(self, uri: str, language_id: str, version: int, text: str) -> None:
        """Forward ``textDocument/didOpen``."""
        self._answered.discard(uri)
        self._notify(
            "textDocument/didOpen",
            {
                "textDocument": {
                    "uri": uri,
                    "languageId": language_id,
                    "version": version,
                    "text": text,
                }
            },
        )

    def did_change(self, uri: str, version: int, changes: Sequence[TextChange]) -> None:
        """Forward ``textDocument/didChange``: ranged changes, or ``(None, text)`` for all.

        Ranged changes are only for a child with :attr:`incremental_sync`, in its
        :attr:`position_encoding`.
        """
        self._answered.discard(uri)
        content_changes: list[dict[str, Any]] = []
        for where, text in changes:
            if where is None:
                content_changes.append({"text": text})
                continue
            (start_line, start_char), (end_line, end_char) = where
            start = {"line": start_line, "character": start_char}
            end = {"line": end_line, "character": end_char}
            content_changes.append({"range": {"start": start, "end": end}, "text": text})
        self._notify(
            "textDocument/didChange",
            {"textDocument": {"uri": uri, "version": version}, "contentChanges": content_changes},
        )

    def did_close(self, uri: str) -> None:
        """Forward ``textDocument/didClose``."""
        self._published.pop(uri, None)
        self._answered.discard(uri)
        timer = self._quiet_timers.pop(uri, None)
        if timer is not None:
            timer.cancel()
        self._notify("textDocument/didClose", {"textDocument": {"uri": uri}})

    def diagnostics(
        self, uri: str, version: int, timeout: float
    ) -> Awaitable[list[dict[str, Any]]]:
        """Return an awaitable of the child's diagnostics for ``uri`` as of ``version``.

        The version must be sent already. Uses a pull request when the child offers one
        (sent before this returns), else waits for the pushed diagnostics of that version
        (or a later one).
        """
        if self.supports_pull:
            if self._connection is None:
                raise ConnectionClosed("the child is not started")
            report = self._connection.request(
                "textDocument/diagnostic", {"textDocument": {"uri": uri}}, timeout=timeout
            )
            return _pulled_items(report)
        return self._wait_pushed(uri, version, timeout)

    async def stop(self, timeout: float = 2.0) -> None:
        """Shut the child down politely, then kill it if it does not exit in time."""
        process, connection = self._process, self._connection
        if process is None or connection is None:
            return
        if process.returncode is None and not connection.is_closed:
            with contextlib.suppress(Exception):
                await connection.request("shutdown", None, timeout=timeout / 2)
                connection.notify("exit")
            with contextlib.suppress(asyncio.TimeoutError):
                await asyncio.wait_for(process.wait(), timeout / 2)
        self.kill()
        await process.wait()
        connection.close()
        if self._stderr_task is not None:
            with contextlib.suppress(asyncio.TimeoutError, asyncio.CancelledError):
                await asyncio.wait_for(self._stderr_task, timeout)

    def kill(self) -> None:
        """Kill the process at once (for a hung child)."""
        if self._process is not None and self._process.returncode is None:
            # os.kill, not Popen.kill: the latter polls first and may reap the process
            # before asyncio's child watcher does, which then loses the exit code.
            with contextlib.suppress(ProcessLookupError, PermissionError):
                os.kill(self._process.pid, signal.SIGKILL if os.name != "nt" else signal.SIGTERM)

    def _notify(self, method: str, params: Any) -> None:
        if self._connection is None:
            raise ConnectionClosed("the child is not started")
        self._connection.notify(method, params)

    def _on_notification(self, method: str, params: Any) -> None:
        if method != "textDocument/publishDiagnostics" or not isinstance(params, dict):
            return
        uri = params.get("uri")
        items = params.get("diagnostics")
        if not isinstance(uri, str) or not isinstance(items, list):
            return
        version = params.get("version")
        version = version if isinstance(version, int) else None
        diagnostics = [item for item in items if isinstance(item, dict)]
        self._published[uri] = (version, diagnostics)
        if version is None:
            # No version (typescript-language-server): the push may be one of several for
            # the text sent (syntax first, then types), so the last one within a short
            # quiet time answers.
            timer = self._quiet_timers.pop(uri, None)
            if timer is not None:
                timer.cancel()
            self._quiet_timers[uri] = asyncio.get_running_loop().call_later(
                UNVERSIONED_QUIET, self._resolve_unversioned, uri
            )
            return
        waiters = self._push_waiters.get(uri, [])
        for wanted, future in list(waiters):
            if not future.done() and version >= wanted:
                future.set_result(diagnostics)

    def _resolve_unversioned(self, uri: str) -> None:
        """Answer the waiting checks with the last version-less push.

        A push that comes after its check was answered (tsserver's semantic diagnostics
        after its syntax ones, late on a busy machine) asks for a check again, which it
        then answers at once (:meth:`_wait_pushed`).
        """
        self._quiet_timers.pop(uri, None)
        published = self._published.get(uri)
        if published is None:
            return
        self._answered.add(uri)
        waiting = [f for _wanted, f in self._push_waiters.get(uri, []) if not f.done()]
        for future in waiting:
            future.set_result(published[1])
        if not waiting and self.on_refresh is not None:
            self.on_refresh()

    async def _wait_pushed(self, uri: str, version: int, timeout: float) -> list[dict[str, Any]]:
        published = self._published.get(uri)
        if published is not None and published[0] is not None and published[0] >= version:
            return published[1]
        if (
            published is not None
            and published[0] is None
            and uri in self._answered
            and uri not in self._quiet_timers
        ):  # a version-less push for the text last sent, and quiet since
            return published[1]
        future: asyncio.Future[list[dict[str, Any]]] = asyncio.get_running_loop().create_future()
        entry = (version, future)
        self._push_waiters.setdefault(uri, []).append(entry)
        try:
            return await asyncio.wait_for(future, timeout)
        finally:
            waiters = self._push_waiters.get(uri, [])
            if entry in waiters:
                waiters.remove(entry)
            if not waiters:
                self._push_waiters.pop(uri, None)

    async def _on_request(self, method: str, params: Any) -> Any:
        if method == "workspace/configuration":
            items = params.get("items") if isinstance(params, dict) else None
            sections = [
                item.get("section") if isinstance(item, dict) else None for item in items or []
            ]
            return [
                self._configuration(section) if self._configuration is not None else None
                for section in sections
            ]
        if method == "workspace/diagnostic/refresh":
            if self.on_refresh is not None:
                self.on_refresh()
            return None
        if method in {
            "client/registerCapability",
            "client/unregisterCapability",
            "window/workDoneProgress/create",
            "window/showMessageRequest",
            "workspace/semanticTokens/refresh",
            "workspace/inlayHint/refresh",
            "workspace/codeLens/refresh",
        }:
            return None
        if method == "workspace/workspaceFolders":
            if self.root is None:
                return None
            return [{"uri": self.root.as_uri(), "name": self.root.name or "root"}]
        if method == "workspace/applyEdit":
            return {"applied": False, "failureReason": "ailoop does not apply engine edits"}
        raise MethodNotFound(method)

    async def _drain_stderr(self) -> None:
        assert self._process is not None
        assert self._process.stderr is not None
        stream = self._process.stderr
        with contextlib.suppress(ConnectionError, ValueError):
            while True:
                line = await stream.readline()
                if not line:
                    break
                text = line.decode("utf-8", "replace").rstrip()
                if text:
                    self._stderr_tail.append(text)

    async def _watch_exit(self) -> None:
        assert self._process is not None
        returncode = await self._process.wait()
        if self.exited is not None and not self.exited.done():
            self.exited.set_result(returncode)
        for waiters in self._push_waiters.values():
            for _version, future in waiters:
                if not future.done():
                    future.set_exception(ConnectionClosed("the child exited"))
