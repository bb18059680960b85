"""The ailoop language server object and its factory."""

from __future__ import annotations

import asyncio
import io
import json
import logging
import os
import stat
import sys
import threading
from collections.abc import Callable, Coroutine, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from cattrs import transform_error
from cattrs.errors import ClassValidationError, IterableValidationError
from lsprotocol import types
from pygls.exceptions import FeatureNotificationError, JsonRpcException, JsonRpcInvalidParams
from pygls.io_ import StdoutWriter
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import lsp_method
from pygls.uris import to_fs_path

from ailoop import __version__
from ailoop.capture.track import TrackedDocument
from ailoop.feedback.jsonrpc import FramingError, parse_content_length
from ailoop.settings import Settings
from ailoop.store.writer import EventWriter
from ailoop.workspace import Origin, origin_of

if TYPE_CHECKING:
    from ailoop.feedback import EngineHub, Finding
    from ailoop.lsp.patterns import Matched
    from ailoop.patterns.feedback import PatternFeedback
    from ailoop.store.sync import SyncTask

log = logging.getLogger(__name__)


@dataclass(frozen=True)
class Expectation:
    """A client said an insertion from ``tool`` is coming (or came) in a document."""

    tool: str
    snippet: str | None
    deadline: float


class AiloopProtocol(LanguageServerProtocol):
    """pygls's protocol, minus its own copy of open documents, with a direct ``didChange``.

    ailoop keeps every open document itself (:mod:`ailoop.capture.document`): it needs the
    text before each change, and pygls's copy would cost a second re-split of the whole
    file on every keystroke.
    """

    def handle_message(self, message: Any) -> None:
        """Call ailoop's ``didChange`` handler directly; hand everything else to pygls.

        pygls's own ``didChange`` (which would edit its copy of the document) never runs.

        pygls tells a request from a notification with ``isinstance`` checks against
        runtime-checkable protocols and runs each handler through futures, which costs
        about 0.1 ms a message on Python 3.11; a ``didChange`` comes with every keystroke,
        and the engines wait for it.
        """
        if type(message) is not types.DidChangeTextDocumentNotification or self._shutdown:
            super().handle_message(message)
            return
        handler = self.fm.features.get(types.TEXT_DOCUMENT_DID_CHANGE)
        if handler is None:
            return
        try:
            handler(message.params)
        except Exception as error:
            log.exception("textDocument/didChange failed")
            self._server._report_server_error(error, FeatureNotificationError)

    @lsp_method(types.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(
        self, params: types.DidOpenTextDocumentParams
    ) -> Generator[Any, Any, None]:
        """Hand the document to ailoop's handler only."""
        if (handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_OPEN)) is not None:
            yield handler, (params,), None

    @lsp_method(types.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(
        self, params: types.DidCloseTextDocumentParams
    ) -> Generator[Any, Any, None]:
        """Hand the close to ailoop's handler only."""
        if (handler := self.fm.features.get(types.TEXT_DOCUMENT_DID_CLOSE)) is not None:
            yield handler, (params,), None


#: The longest header block read from the client (message bodies have no limit).
_HEADER_LIMIT = 1 << 16
_HEADER_END = b"\r\n\r\n"
_WARNING = types.MessageType.Warning


def _readable_from_loop(stream: BinaryIO) -> bool:
    """Whether the event loop can read ``stream``: a pipe or a socket, on POSIX."""
    if os.name == "nt":
        return False
    try:
        mode = os.fstat(stream.fileno()).st_mode
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return False  # not a file descriptor (a test's stream, a recording wrapper)
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


async def read_message(reader: asyncio.StreamReader) -> bytes | None:
    """Return the next message body from the client, or ``None`` when the stream ends.

    Raises :class:`FramingError` for a header block that does not give the body's length;
    the block is consumed, so the caller can report it and read on.
    """
    try:
        header = await reader.readuntil(_HEADER_END)
    except asyncio.IncompleteReadError as error:
        if error.partial.strip():
            raise FramingError("the stream ended inside a message header") from None
        return None
    except asyncio.LimitOverrunError as error:
        await reader.readexactly(error.consumed)
        raise FramingError(f"message header longer than {_HEADER_LIMIT} bytes") from None
    return await reader.readexactly(parse_content_length(header[: -len(_HEADER_END)]))


class AiloopServer(LanguageServer):
    """The server and all its per-process state."""

    def __init__(self, data_dir: Path | None = None) -> None:
        super().__init__(
            "ailoop",
            __version__,
            protocol_cls=AiloopProtocol,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
        )
        self.data_dir = data_dir
        self.settings = Settings()
        self.root: Path | None = None
        self.documents: dict[str, TrackedDocument] = {}
        #: Per open document: its repository and repo-relative path (see :meth:`origin`).
        self.origins: dict[str, Origin] = {}
        self.writer: EventWriter | None = None
        self.tasks: set[asyncio.Task[Any]] = set()
        self.shown_problems: set[str] = set()
        self.init_options: Any = None
        #: Per document: the pending debounced publish and ``modified``-event flush.
        self.publish_timers: dict[str, asyncio.TimerHandle] = {}
        self.modified_timers: dict[str, asyncio.TimerHandle] = {}
        #: Per document: insertions a client announced with ``ailoop/generated``.
        self.expected: dict[str, list[Expectation]] = {}
        #: Per document, per stage (an engine, the patterns): diagnostics other than markers.
        self.findings: dict[str, dict[str, list[types.Diagnostic]]] = {}
        #: What was last published per document, so that an unchanged list is not resent.
        self.published: dict[str, list[types.Diagnostic]] = {}
        #: The workspace's known rejection patterns and their latest statistics.
        self.patterns: PatternFeedback | None = None
        self.pattern_matches: dict[tuple[str, str], Matched] = {}
        self.stats_timer: asyncio.TimerHandle | None = None
        #: The feedback engines (started after initialization) and what they last found, per
        #: document and engine, with the document version it belongs to.
        self.hub: EngineHub | None = None
        self.engine_findings: dict[str, dict[str, tuple[int, list[Finding]]]] = {}
        self.scope_whole_file = False
        #: The background sync to the shared store, when one is configured.
        self.sync: SyncTask | None = None
        self.progress_token: str | None = None
        self.team_stats_seen: str | None = None
        self.use_team_stats = False
        #: Called before each publish to bring a stage's diagnostics up to date with the
        #: document's snippets (their ranges move with edits).
        self.diagnostic_providers: list[Callable[[AiloopServer, TrackedDocument], None]] = []

    def start_io(self, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> None:
        """Serve over stdio until the client says exit or closes the connection.

        pygls reads stdin on a worker thread, one thread hop per header line and body,
        which adds a good part of a millisecond to every message. When stdin is a pipe or
        a socket (as editors start a server), ailoop reads it from the event loop instead.
        """
        source = stdin if stdin is not None else sys.stdin.buffer
        if not _readable_from_loop(source):
            super().start_io(stdin, stdout)
            return
        self._stop_event = threading.Event()
        self.protocol.set_writer(StdoutWriter(stdout if stdout is not None else sys.stdout.buffer))
        try:
            asyncio.run(self._serve(source))
        except (BrokenPipeError, ConnectionResetError, asyncio.IncompleteReadError):
            log.error("the connection to the client is lost; shutting down")
        except (KeyboardInterrupt, SystemExit):
            pass
        finally:
            self.shutdown()  # type: ignore[no-untyped-call]

    async def _serve(self, source: BinaryIO) -> None:
        """Read and handle the client's messages until the stream ends or ``exit``."""
        loop = asyncio.get_running_loop()
        reader = asyncio.StreamReader(limit=_HEADER_LIMIT)
        await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), source)
        assert self._stop_event is not None
        while not self._stop_event.is_set():
            # pygls starts async handlers as tasks. A message already buffered is read
            # without waiting, so without this turn of the loop a didChange could be
            # handled before the task of the didChangeConfiguration sent ahead of it began.
            await asyncio.sleep(0)
            try:
                body = await read_message(reader)
            except FramingError as error:
                self.log(f"unreadable message from the client, skipped: {error}", _WARNING)
                continue
            if body is None:
                break
            try:
                message = json.loads(body, object_hook=self.protocol.structure_message)
            except Exception as error:  # noqa: BLE001 - one bad message must not stop the server
                self._unreadable(body, error)
                continue
            try:
                self.protocol.handle_message(message)
            except Exception as error:
                log.exception("handling a message from the client failed")
                self.report_server_error(error, JsonRpcException)

    def _unreadable(self, body: bytes, error: Exception) -> None:
        """Answer a request that is not valid with an error; log any other bad message."""
        cause = error.__cause__ or error
        if isinstance(cause, (ClassValidationError, IterableValidationError)):  # per field
            detail = "; ".join(transform_error(cause))
        else:
            detail = str(cause)
        try:
            raw = json.loads(body)
        except ValueError:
            raw = None
        if not isinstance(raw, dict):
            self.log(
                f"a message from the client is not a JSON object ({detail}); ignored", _WARNING
            )
            return
        method = raw.get("method")
        self.log(
            f"a {method or 'response'} message from the client is not valid: {detail}", _WARNING
        )
        if isinstance(method, str) and isinstance(raw.get("id"), (int, str)):
            code = error.code if isinstance(error, JsonRpcException) else JsonRpcInvalidParams.CODE
            self.protocol._send_response(
                raw["id"], error=types.ResponseError(code=code, message=f"{method}: {detail}")
            )

    @property
    def encoding(self) -> str:
        """Return the negotiated position encoding (``utf-16``, ``utf-8`` or ``utf-32``)."""
        encoding = self.workspace.position_encoding or types.PositionEncodingKind.Utf16
        return encoding.value if isinstance(encoding, types.PositionEncodingKind) else encoding

    def origin(self, uri: str) -> Origin:
        """Return the document's repository and path, looked up once while it is open."""
        found = self.origins.get(uri)
        if found is None:
            found = self.origins[uri] = origin_of(uri)
        return found

    def set_root(self, params: types.InitializeParams) -> None:
        """Take the workspace root from the initialize request."""
        uri = params.root_uri
        if params.workspace_folders:
            uri = params.workspace_folders[0].uri
        path = to_fs_path(uri) if uri else params.root_path
        self.root = Path(path) if path else None

    def run_task(self, coro: Coroutine[Any, Any, Any], name: str) -> asyncio.Task[Any]:
        """Run ``coro`` in the background, keeping a reference and logging its failure."""
        task = asyncio.get_running_loop().create_task(coro, name=name)
        self.tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self.tasks.discard(task)
        if not task.cancelled() and (exc := task.exception()) is not None:
            log.error("%s failed: %s", task.get_name(), exc, exc_info=exc)
            self.log(f"internal error in {task.get_name()}: {exc!r}", types.MessageType.Error)

    def log(self, message: str, kind: types.MessageType = types.MessageType.Info) -> None:
        """Write a line to the editor's ailoop log."""
        log.log(logging.WARNING if kind <= types.MessageType.Warning else logging.INFO, message)
        self.window_log_message(types.LogMessageParams(type=kind, message=message))

    def problem(self, message: str, kind: types.MessageType = types.MessageType.Warning) -> None:
        """Tell the user once about something they should fix; log it every time."""
        self.log(message, kind)
        if message not in self.shown_problems:
            self.shown_problems.add(message)
            self.window_show_message(
                types.ShowMessageParams(type=kind, message=f"ailoop: {message}")
            )


def create_server(data_dir: Path | None = None) -> AiloopServer:
    """Build the server with all its features registered."""
    from ailoop.lsp import capture, feedback, lifecycle, patterns, review

    server = AiloopServer(data_dir)
    lifecycle.register(server)
    capture.register(server)
    feedback.register(server)
    patterns.register(server)
    review.register(server)
    return server
