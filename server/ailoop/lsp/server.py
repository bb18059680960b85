"""The ailoop language server object: pygls, the session, and the connection to the editor.

Feature modules (:mod:`ailoop.lsp.documents`, :mod:`~ailoop.lsp.engines`, …) register
their handlers on an :class:`AiloopServer` and keep their state in its
:class:`~ailoop.lsp.session.Session`; this module imports none of them.
"""

from __future__ import annotations

import asyncio
import contextlib
import io
import json
import logging
import os
import re
import stat
import sys
from collections.abc import Awaitable, Callable, Coroutine, Generator
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, BinaryIO

from cattrs import transform_error
from cattrs.errors import ClassValidationError, IterableValidationError
from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams
from pygls.io_ import StdoutWriter
from pygls.lsp.server import LanguageServer
from pygls.protocol import LanguageServerProtocol
from pygls.protocol.language_server import lsp_method

from ailoop import __version__
from ailoop.feedback.jsonrpc import FramingError, encode_message, parse_content_length
from ailoop.lsp.session import OpenDocument, Session
from ailoop.store.writer import EventWriter

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

if TYPE_CHECKING:
    from ailoop.lsp.watched import WatchedFiles
    from ailoop.store.sync import SyncTask

log = logging.getLogger(__name__)

#: The longest header block read from the client (message bodies have no limit). It is
#: also how much the reader buffers before it waits for the loop to take the data, so a
#: large body arrives in few steps.
_HEADER_LIMIT = 1 << 20
#: The pipe buffer asked for on stdin (Linux's default, 64 KiB, makes a 100 MB document
#: take some 1,600 hand-overs between the editor and the server).
_PIPE_SIZE = 1 << 20
_HEADER_END = b"\r\n\r\n"
_WARNING = types.MessageType.Warning
#: JSON-RPC's error code for a body that is not JSON.
_PARSE_ERROR = -32700
#: Bodies at least this big are decoded on a worker thread, so that the engines' answers
#: and timers keep flowing while a huge document arrives.
_LARGE_BODY = 1 << 20
#: Bodies above this are not decoded at all: parsing JSON holds the interpreter, so even
#: on a worker thread a 100 MB document would stall every other request for seconds.
#: A document this large is not followed (see ``AiloopServer.on_too_large``).
MAX_BODY = 32 << 20
#: Where ``method`` and ``uri`` are looked for in a body too large to decode.
_PEEK = 1 << 16
_METHOD = re.compile(rb'"method"\s*:\s*"([^"\\]{1,200})"')
_URI = re.compile(rb'"uri"\s*:\s*"((?:[^"\\]|\\.){1,8000})"')


class AiloopProtocol(LanguageServerProtocol):
    """pygls's protocol without its own copy of the open documents.

    ailoop keeps every open document itself (:mod:`ailoop.capture.document`): it needs the
    text before each change, and pygls's copy would cost a second re-split of the whole
    file on every keystroke. These built-in handlers hand the notification to ailoop's.
    """

    def _feature(self, method: str, params: Any) -> Generator[Any, Any, None]:
        if (handler := self.fm.features.get(method)) is not None:
            yield handler, (params,), None

    @lsp_method(types.TEXT_DOCUMENT_DID_OPEN)
    def lsp_text_document__did_open(
        self, params: types.DidOpenTextDocumentParams
    ) -> Generator[Any, Any, None]:
        """Hand the document to ailoop's handler only."""
        yield from self._feature(types.TEXT_DOCUMENT_DID_OPEN, params)

    @lsp_method(types.TEXT_DOCUMENT_DID_CHANGE)
    def lsp_text_document__did_change(
        self, params: types.DidChangeTextDocumentParams
    ) -> Generator[Any, Any, None]:
        """Hand the change to ailoop's handler only."""
        yield from self._feature(types.TEXT_DOCUMENT_DID_CHANGE, params)

    @lsp_method(types.TEXT_DOCUMENT_DID_CLOSE)
    def lsp_text_document__did_close(
        self, params: types.DidCloseTextDocumentParams
    ) -> Generator[Any, Any, None]:
        """Hand the close to ailoop's handler only."""
        yield from self._feature(types.TEXT_DOCUMENT_DID_CLOSE, params)


def _readable_from_loop(stream: BinaryIO) -> bool:
    """Whether the event loop can read ``stream``: a pipe or a socket, on POSIX."""
    if os.name == "nt":
        return False
    try:
        mode = os.fstat(stream.fileno()).st_mode
    except (OSError, ValueError, AttributeError, io.UnsupportedOperation):
        return False  # not a file descriptor (a test's stream, a recording wrapper)
    return stat.S_ISFIFO(mode) or stat.S_ISSOCK(mode)


def _widen_pipe(stream: BinaryIO) -> None:
    """Ask for a larger pipe buffer on ``stream``, where the system allows it."""
    size = getattr(fcntl, "F_SETPIPE_SZ", None) if fcntl is not None else None
    if size is None:
        return
    with contextlib.suppress(OSError, ValueError):
        fcntl.fcntl(stream.fileno(), size, _PIPE_SIZE)


@dataclass(frozen=True)
class Oversized:
    """A message body above ``MAX_BODY``: its size and its two ends, the rest not kept."""

    length: int
    head: bytes
    tail: bytes


async def _skip(reader: asyncio.StreamReader, length: int) -> Oversized:
    head = await reader.readexactly(_PEEK)
    left = length - 2 * _PEEK
    while left > 0:
        chunk = await reader.read(min(left, _HEADER_LIMIT))
        if not chunk:
            raise asyncio.IncompleteReadError(b"", left)
        left -= len(chunk)
    return Oversized(length, head, await reader.readexactly(_PEEK))


async def read_message(reader: asyncio.StreamReader) -> bytes | Oversized | None:
    """Return the next message body from the client, or ``None`` when the stream ends.

    A body above ``MAX_BODY`` is read through without being kept (:class:`Oversized`).
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
    length = parse_content_length(header[: -len(_HEADER_END)])
    if length > MAX_BODY:
        return await _skip(reader, length)
    return await reader.readexactly(length)


def read_message_blocking(stream: BinaryIO) -> bytes | Oversized | None:
    """Like :func:`read_message`, for a stream read on a worker thread."""
    header = bytearray()
    while not header.endswith(_HEADER_END):
        line = stream.readline()
        if not line:
            if header.strip():
                raise FramingError("the stream ended inside a message header")
            return None
        header += line
        if len(header) > _HEADER_LIMIT:
            raise FramingError(f"message header longer than {_HEADER_LIMIT} bytes")
    length = parse_content_length(bytes(header[: -len(_HEADER_END)]))
    if length > MAX_BODY:
        head = stream.read(_PEEK)
        left = length - 2 * _PEEK
        while left > 0 and (chunk := stream.read(min(left, _HEADER_LIMIT))):
            left -= len(chunk)
        tail = stream.read(_PEEK)
        return None if left > 0 or len(tail) < _PEEK else Oversized(length, head, tail)
    body = stream.read(length)
    if len(body) < length:
        return None
    return body


#: The ``"id"`` member of a message, read before the first nested value (where clients put it).
_TOP_LEVEL_ID = re.compile(
    rb'^\s*\{(?:[^{}\[\]"]|"(?:[^"\\]|\\.)*")*?"id"\s*:\s*(-?\d+|"(?:[^"\\]|\\.)*")'
)


def request_id(body: bytes) -> int | str | None:
    """Return the id of a request whose body cannot be parsed, if it can be seen."""
    found = _TOP_LEVEL_ID.match(body[:4096])
    if found is None:
        return None
    value = json.loads(found.group(1))
    return value if isinstance(value, (int, str)) else None


def _problem_with(error: BaseException) -> str:
    """Describe why a message could not be read, field by field where cattrs says."""
    cause = error.__cause__ or error
    if isinstance(cause, (ClassValidationError, IterableValidationError)):
        return "; ".join(transform_error(cause))
    if isinstance(cause, RecursionError):
        return "nested too deeply"
    return str(cause) or type(cause).__name__


class AiloopServer(LanguageServer):
    """The server: pygls, the session, the local store and the background tasks."""

    def __init__(self, data_dir: Path | None = None) -> None:
        super().__init__(
            "ailoop",
            __version__,
            protocol_cls=AiloopProtocol,
            text_document_sync_kind=types.TextDocumentSyncKind.Incremental,
        )
        self.data_dir = data_dir
        self.session = Session()
        self.writer: EventWriter | None = None
        #: Who the events are from (git's user.email), resolved off the loop at initialize.
        self.user_lookup: asyncio.Future[str] | None = None
        self.tasks: set[asyncio.Task[Any]] = set()
        self.shown_problems: set[str] = set()
        #: The background sync to the shared store, when one is configured.
        self.sync: SyncTask | None = None
        self.progress_token: str | None = None
        self.team_stats_seen: str | None = None
        self.use_team_stats = False
        #: Run once when the connection ends, whether or not the editor said shutdown.
        self.teardown: Callable[[], Awaitable[None]] | None = None
        #: The editor's settings are in (after ``initialized``): folders may start engines.
        self.ready = False
        self._teardown_task: asyncio.Future[None] | None = None
        self._connected = True
        #: Called before each publish to bring a stage's diagnostics up to date with the
        #: document's snippets (their ranges move with edits).
        self.diagnostic_providers: list[Callable[[AiloopServer, OpenDocument], None]] = []
        #: Called with a document's URI when a message about it is too large to decode.
        self.on_too_large: Callable[[str], None] | None = None
        #: Follows each folder's settings and patterns files (:mod:`ailoop.lsp.watched`).
        self.watched_files: WatchedFiles | None = None

    # -- the connection -------------------------------------------------------------------

    def start_io(self, stdin: BinaryIO | None = None, stdout: BinaryIO | None = None) -> None:
        """Serve over stdio until the client says exit or closes the connection.

        However the connection ends (``exit``, or the editor closing the pipe without
        ``shutdown``), the same teardown runs: pending events are written, the store is
        flushed, the engines stop.

        When stdin is a pipe or a socket (as editors start a server), it is read from the
        event loop; pygls reads it on a worker thread, one thread hop per header line and
        body. Other streams are read on a thread.
        """
        source = stdin if stdin is not None else sys.stdin.buffer
        self.protocol.set_writer(StdoutWriter(stdout if stdout is not None else sys.stdout.buffer))
        code = 0
        try:
            asyncio.run(self._serve(source))
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 0
        except KeyboardInterrupt:
            pass
        finally:
            self.shutdown()  # type: ignore[no-untyped-call]
        if code:
            raise SystemExit(code)

    async def _serve(self, source: BinaryIO) -> None:
        """Read and handle the client's messages until the stream ends or ``exit``."""
        next_body: Callable[[], Awaitable[bytes | Oversized | None]]
        if _readable_from_loop(source):
            loop = asyncio.get_running_loop()
            _widen_pipe(source)
            reader = asyncio.StreamReader(limit=_HEADER_LIMIT)
            await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(reader), source)
            next_body = lambda: read_message(reader)  # noqa: E731
        else:
            next_body = lambda: asyncio.to_thread(read_message_blocking, source)  # noqa: E731
        try:
            while True:
                # pygls starts async handlers as tasks. A message already buffered is read
                # without waiting, so without this turn of the loop a didChange could be
                # handled before the task of the didChangeConfiguration sent ahead of it began.
                await asyncio.sleep(0)
                try:
                    body = await next_body()
                except FramingError as error:
                    self.log(f"unreadable message from the client, skipped: {error}", _WARNING)
                    continue
                except (BrokenPipeError, ConnectionResetError, asyncio.IncompleteReadError):
                    log.error("the connection to the client is lost")
                    break
                if body is None:
                    break
                if isinstance(body, Oversized):
                    self._too_large(body)
                    continue
                if len(body) >= _LARGE_BODY:
                    message = await asyncio.to_thread(self._decode, body)
                else:
                    message = self._decode(body)
                if message is None:
                    continue
                try:
                    self.protocol.handle_message(message)
                except Exception as error:
                    log.exception("handling a message from the client failed")
                    self.report_server_error(error, JsonRpcException)
        finally:
            self._connected = False
            await self.tear_down()

    def _decode(self, body: bytes) -> Any:
        """Parse and structure one message; answer or log one that is not valid."""
        try:
            raw = json.loads(body)
        except (ValueError, RecursionError) as error:
            detail = _problem_with(error)
            self.log(
                f"a message from the client is not a JSON object ({detail}); ignored", _WARNING
            )
            self._answer_error(request_id(body), _PARSE_ERROR, f"not JSON: {detail}")
            return None
        if not isinstance(raw, dict):
            self.log("a message from the client is not a JSON object; ignored", _WARNING)
            return None
        try:
            return self.protocol.structure_message(raw)
        except Exception as error:  # noqa: BLE001 - one bad message must not stop the server
            detail = _problem_with(error)
            method = raw.get("method")
            self.log(
                f"a {method or 'response'} message from the client is not valid: {detail}",
                _WARNING,
            )
            if isinstance(method, str) and isinstance(raw.get("id"), (int, str)):
                code = (
                    error.code if isinstance(error, JsonRpcException) else JsonRpcInvalidParams.CODE
                )
                self._answer_error(raw["id"], code, f"{method}: {detail}")
            return None

    def _too_large(self, body: Oversized) -> None:
        """Skip a message too large to decode; stop following the document it is about."""
        ends = (body.head, body.tail)
        method = next((m.group(1).decode() for e in ends if (m := _METHOD.search(e))), None)
        uri = next((u.group(1) for e in ends if (u := _URI.search(e))), None)
        size = f"{body.length / 1e6:.0f} MB"
        msg_id = request_id(body.head)
        if msg_id is not None:
            self.log(f"a {method or 'request'} of {size} is too large; answered with an error")
            self._answer_error(
                msg_id, -32600, f"message too large ({size}; the limit is {MAX_BODY >> 20} MiB)"
            )
            return
        if uri is None or not method or not method.startswith("textDocument/"):
            self.log(f"a {method or 'message'} of {size} is too large; ignored", _WARNING)
            return
        try:
            text = json.loads(b'"' + uri + b'"')
        except ValueError:
            self.log(f"a {method} of {size} is too large; ignored", _WARNING)
            return
        self.log(
            f"{text}: a message of {size}; ailoop does not follow documents this large",
            _WARNING,
        )
        if self.on_too_large is not None:
            self.on_too_large(text)

    def _answer_error(self, msg_id: int | str | None, code: int, message: str) -> None:
        """Send a JSON-RPC error answer straight to the client."""
        writer = self.protocol.writer
        if writer is None or not self._connected:
            return
        answer = {"jsonrpc": "2.0", "id": msg_id, "error": {"code": code, "message": message}}
        try:
            writer.write(encode_message(answer))
        except OSError:
            log.error("could not answer the client: the connection is gone")

    async def tear_down(self) -> None:
        """Run the teardown once (``shutdown``, ``exit`` or the end of the connection).

        A second caller (the end of the input right after ``shutdown``) waits for the
        first one's teardown to finish rather than letting the server exit under it.
        """
        if self.teardown is None:
            return
        if self._teardown_task is None:
            self._teardown_task = asyncio.ensure_future(self._run_teardown(self.teardown))
        await asyncio.shield(self._teardown_task)

    async def _run_teardown(self, teardown: Callable[[], Awaitable[None]]) -> None:
        try:
            await teardown()
        except Exception:
            log.exception("stopping the server failed")

    # -- helpers for features -------------------------------------------------------------

    @property
    def encoding(self) -> str:
        """Return the negotiated position encoding (``utf-16``, ``utf-8`` or ``utf-32``)."""
        try:
            encoding = self.workspace.position_encoding or types.PositionEncodingKind.Utf16
        except RuntimeError:  # not initialized through the protocol
            return "utf-16"
        return encoding.value if isinstance(encoding, types.PositionEncodingKind) else encoding

    def look_up_user(self) -> None:
        """Start looking up who the events are from (git's user.email) on a worker thread."""
        if self.user_lookup is None:
            from ailoop.workspace import user_identity

            self.user_lookup = asyncio.ensure_future(asyncio.to_thread(user_identity))

    async def user(self) -> str:
        """Return who the events are from (looked up once, off the loop)."""
        self.look_up_user()
        assert self.user_lookup is not None
        return await asyncio.shield(self.user_lookup)

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
        if self._connected:
            self.window_log_message(types.LogMessageParams(type=kind, message=message))

    def problem(self, message: str, kind: types.MessageType = types.MessageType.Warning) -> None:
        """Tell the user once about something they should fix; log it every time."""
        self.log(message, kind)
        if message not in self.shown_problems and self._connected:
            self.shown_problems.add(message)
            self.window_show_message(
                types.ShowMessageParams(type=kind, message=f"ailoop: {message}")
            )
