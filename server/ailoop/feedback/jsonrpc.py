"""A thin JSON-RPC 2.0 pipe over a byte stream with LSP ``Content-Length`` framing.

Used to talk to the child language servers (``ruff server``, ``ty server``). Messages stay
plain ``dict``/``list`` values decoded with the standard library: no model structuring, so
nothing a child sends can fail to "fit" a schema, and nothing is spent converting it.

The framing (:func:`encode_message`, :class:`FrameDecoder`) is pure and tested directly;
:class:`JsonRpcConnection` adds requests with timeouts, notifications and server-to-client
requests on top of asyncio streams.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, Coroutine
from typing import Any

#: JSON-RPC error code for a method the receiver does not implement.
METHOD_NOT_FOUND = -32601
#: JSON-RPC error code for a failure inside a handler.
INTERNAL_ERROR = -32603

_HEADER_END = b"\r\n\r\n"
_MAX_HEADER_BYTES = 8192

#: Handles a notification from the peer: ``(method, params)``.
NotificationHandler = Callable[[str, Any], None]
#: Answers a request from the peer: ``(method, params) -> result``; raise to answer an error.
RequestHandler = Callable[[str, Any], Awaitable[Any]]


class FramingError(ValueError):
    """The byte stream does not follow ``Content-Length`` framing."""


class RequestTimeout(Exception):
    """A request got no response within its timeout."""

    def __init__(self, method: str, timeout: float) -> None:
        super().__init__(f"{method} got no response within {timeout:g} s")
        self.method = method
        self.timeout = timeout


class ResponseError(Exception):
    """The peer answered a request with a JSON-RPC error."""

    def __init__(self, method: str, code: int, message: str) -> None:
        super().__init__(f"{method} failed: {message} (code {code})")
        self.method = method
        self.code = code


class ConnectionClosed(Exception):
    """The peer closed the stream (or exited) before answering."""


class MethodNotFound(Exception):
    """Raised by a request handler for a method it does not answer."""


class _Expired(Exception):
    """Set on a request's future when its time is up."""


def encode_message(message: dict[str, Any]) -> bytes:
    """Return ``message`` as one framed LSP message (header and UTF-8 JSON body)."""
    body = json.dumps(message, ensure_ascii=False, separators=(",", ":")).encode("utf-8")
    return b"Content-Length: %d\r\n\r\n%s" % (len(body), body)


def parse_content_length(header: bytes) -> int:
    """Return the ``Content-Length`` of a header block (without the blank line).

    Other header fields (``Content-Type``) are allowed and ignored; field names are
    case-insensitive.
    """
    length: int | None = None
    for line in header.split(b"\r\n"):
        name, sep, value = line.partition(b":")
        if not sep:
            raise FramingError(f"malformed header line {line[:80]!r}")
        if name.strip().lower() == b"content-length":
            try:
                length = int(value.strip())
            except ValueError:
                raise FramingError(f"bad Content-Length {value.strip()[:40]!r}") from None
            if length < 0:
                raise FramingError(f"negative Content-Length {length}")
    if length is None:
        raise FramingError("header without Content-Length")
    return length


class FrameDecoder:
    """Splits a byte stream into message bodies; feed it chunks as they arrive."""

    def __init__(self) -> None:
        self._buffer = bytearray()
        self._body_length: int | None = None

    def feed(self, data: bytes) -> list[bytes]:
        """Add ``data`` and return the bodies of every message now complete, in order."""
        self._buffer += data
        bodies: list[bytes] = []
        while True:
            if self._body_length is None:
                end = self._buffer.find(_HEADER_END)
                if end < 0:
                    if len(self._buffer) > _MAX_HEADER_BYTES:
                        raise FramingError("header longer than 8 KiB")
                    return bodies
                self._body_length = parse_content_length(bytes(self._buffer[:end]))
                del self._buffer[: end + len(_HEADER_END)]
            if len(self._buffer) < self._body_length:
                return bodies
            bodies.append(bytes(self._buffer[: self._body_length]))
            del self._buffer[: self._body_length]
            self._body_length = None


class JsonRpcConnection:
    """JSON-RPC over a pair of asyncio streams: requests, notifications, peer requests.

    Call :meth:`start` once; :attr:`closed` completes when the peer's stream ends.
    Writes are synchronous (buffered by the transport), so notifications keep their order
    with respect to each other and to requests.
    """

    def __init__(
        self,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
        on_notification: NotificationHandler,
        on_request: RequestHandler,
        on_bad_message: Callable[[str], None] | None = None,
    ) -> None:
        self._reader = reader
        self._writer = writer
        self._on_notification = on_notification
        self._on_request = on_request
        self._on_bad_message = on_bad_message
        self._pending: dict[int, tuple[str, asyncio.Future[Any]]] = {}
        self._next_id = 1
        self._read_task: asyncio.Task[None] | None = None
        self._handler_tasks: set[asyncio.Task[None]] = set()
        self.closed: asyncio.Future[None] = asyncio.get_running_loop().create_future()

    def start(self) -> None:
        """Start reading messages from the peer."""
        if self._read_task is None:
            self._read_task = asyncio.get_running_loop().create_task(self._read_loop())

    @property
    def is_closed(self) -> bool:
        """Whether the peer's stream has ended (or :meth:`close` was called)."""
        return self.closed.done()

    def notify(self, method: str, params: Any = None) -> None:
        """Send a notification."""
        message: dict[str, Any] = {"jsonrpc": "2.0", "method": method}
        if params is not None:
            message["params"] = params
        self._write(message)

    def request(
        self, method: str, params: Any = None, *, timeout: float
    ) -> Coroutine[Any, Any, Any]:
        """Send a request at once; return an awaitable of its result.

        The message is written before this returns, so that a caller can start several
        requests in one turn of the event loop. Raises :class:`ConnectionClosed` when the
        connection is closed; awaiting raises :class:`RequestTimeout` (after sending
        ``$/cancelRequest``), :class:`ResponseError` or :class:`ConnectionClosed`.
        """
        if self.is_closed:
            raise ConnectionClosed(f"connection closed before {method}")
        request_id = self._next_id
        self._next_id += 1
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()
        message: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id, "method": method}
        if params is not None:
            message["params"] = params
        self._write(message)
        self._pending[request_id] = (method, future)
        # A timer on the future itself, not asyncio.wait_for: the answer then reaches the
        # caller one turn of the event loop sooner.
        timer = loop.call_later(timeout, self._expire, request_id)
        return self._response(request_id, method, future, timer, timeout)

    async def _response(
        self,
        request_id: int,
        method: str,
        future: asyncio.Future[Any],
        timer: asyncio.TimerHandle,
        timeout: float,
    ) -> Any:
        try:
            return await future
        except _Expired:
            if not self.is_closed:
                with contextlib.suppress(ConnectionError, RuntimeError):
                    self.notify("$/cancelRequest", {"id": request_id})
            raise RequestTimeout(method, timeout) from None
        finally:
            timer.cancel()
            self._pending.pop(request_id, None)
            if not future.done():
                future.cancel()

    def _expire(self, request_id: int) -> None:
        entry = self._pending.get(request_id)
        if entry is not None and not entry[1].done():
            entry[1].set_exception(_Expired())

    def close(self) -> None:
        """Stop reading, fail pending requests and close the write side."""
        if self._read_task is not None:
            self._read_task.cancel()
        self._fail_pending("connection closed")
        with contextlib.suppress(ConnectionError, RuntimeError):
            self._writer.close()
        if not self.closed.done():
            self.closed.set_result(None)

    def _write(self, message: dict[str, Any]) -> None:
        if self._writer.is_closing():
            raise ConnectionClosed("the peer's input is closed")
        self._writer.write(encode_message(message))

    async def _read_loop(self) -> None:
        decoder = FrameDecoder()
        try:
            while True:
                chunk = await self._reader.read(65536)
                if not chunk:
                    break
                for body in decoder.feed(chunk):
                    self._dispatch(body)
        except FramingError as error:
            self._report_bad(f"unreadable stream: {error}")
        except (ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            self._fail_pending("the peer closed the connection")
            if not self.closed.done():
                self.closed.set_result(None)

    def _dispatch(self, body: bytes) -> None:
        try:
            message = json.loads(body)
        except ValueError as error:
            self._report_bad(f"message is not JSON: {error}")
            return
        if not isinstance(message, dict):
            self._report_bad("message is not a JSON object")
            return
        method = message.get("method")
        if isinstance(method, str):
            if "id" in message:
                task = asyncio.get_running_loop().create_task(
                    self._answer(message["id"], method, message.get("params"))
                )
                self._handler_tasks.add(task)
                task.add_done_callback(self._handler_tasks.discard)
            else:
                self._on_notification(method, message.get("params"))
            return
        self._resolve(message)

    def _resolve(self, message: dict[str, Any]) -> None:
        entry = self._pending.get(message.get("id"))  # type: ignore[arg-type]
        if entry is None:
            return  # a response to a request that timed out or was never sent
        method, future = entry
        if future.done():
            return
        error = message.get("error")
        if isinstance(error, dict):
            future.set_exception(
                ResponseError(method, int(error.get("code", 0)), str(error.get("message", "")))
            )
        else:
            future.set_result(message.get("result"))

    async def _answer(self, request_id: Any, method: str, params: Any) -> None:
        response: dict[str, Any] = {"jsonrpc": "2.0", "id": request_id}
        try:
            response["result"] = await self._on_request(method, params)
        except MethodNotFound:
            response["error"] = {"code": METHOD_NOT_FOUND, "message": f"{method} not supported"}
        except Exception as error:  # noqa: BLE001 - any handler failure becomes an error reply
            response["error"] = {"code": INTERNAL_ERROR, "message": str(error)}
        with contextlib.suppress(ConnectionError, ConnectionClosed, RuntimeError):
            self._write(response)

    def _fail_pending(self, reason: str) -> None:
        for method, future in list(self._pending.values()):
            if not future.done():
                future.set_exception(ConnectionClosed(f"{method}: {reason}"))
                future.exception()  # mark retrieved: the waiter may already be gone
        self._pending.clear()

    def _report_bad(self, text: str) -> None:
        if self._on_bad_message is not None:
            self._on_bad_message(text)
