"""Content-Length framing and the JSON-RPC connection, over real OS pipes."""

from __future__ import annotations

import asyncio
import json
import os
from collections.abc import AsyncIterator
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ailoop.feedback.jsonrpc import (
    ConnectionClosed,
    FrameDecoder,
    FramingError,
    JsonRpcConnection,
    MethodNotFound,
    RequestTimeout,
    ResponseError,
    encode_message,
    parse_content_length,
)


def test_encode_counts_utf8_bytes_not_characters() -> None:
    framed = encode_message({"text": "é€😀"})
    header, body = framed.split(b"\r\n\r\n", 1)
    assert header == b"Content-Length: %d" % len(body)
    assert json.loads(body) == {"text": "é€😀"}
    assert len(body) > len('{"text":"é€😀"}')  # multi-byte characters counted as bytes


def test_decoder_splits_messages_in_one_chunk() -> None:
    stream = encode_message({"id": 1}) + encode_message({"id": 2})
    assert [json.loads(body) for body in FrameDecoder().feed(stream)] == [{"id": 1}, {"id": 2}]


def test_decoder_waits_for_a_complete_body() -> None:
    framed = encode_message({"id": 1, "result": "x" * 100})
    decoder = FrameDecoder()
    assert decoder.feed(framed[:10]) == []
    assert decoder.feed(framed[10:-1]) == []
    assert [json.loads(body) for body in decoder.feed(framed[-1:])] == [
        {"id": 1, "result": "x" * 100}
    ]


def test_header_accepts_content_type_and_any_case() -> None:
    header = b"content-length: 12\r\nContent-Type: application/vscode-jsonrpc; charset=utf-8"
    assert parse_content_length(header) == 12


@pytest.mark.parametrize(
    ("header", "problem"),
    [
        (b"Content-Type: x", "without Content-Length"),
        (b"Content-Length: twelve", "bad Content-Length"),
        (b"Content-Length: -1", "negative"),
        (b"garbage", "malformed header"),
    ],
)
def test_bad_headers_are_framing_errors(header: bytes, problem: str) -> None:
    with pytest.raises(FramingError, match=problem):
        parse_content_length(header)


def test_endless_header_is_an_error() -> None:
    with pytest.raises(FramingError, match="8 KiB"):
        FrameDecoder().feed(b"X" * 9000)


messages = st.lists(
    st.dictionaries(st.text(max_size=5), st.one_of(st.integers(), st.text(max_size=20))),
    min_size=1,
    max_size=5,
)


@given(messages, st.lists(st.integers(min_value=1, max_value=40), min_size=1, max_size=20))
def test_any_chunking_gives_the_same_messages(sent: list[dict[str, Any]], cuts: list[int]) -> None:
    stream = b"".join(encode_message(message) for message in sent)
    decoder = FrameDecoder()
    received: list[dict[str, Any]] = []
    position = 0
    for cut in cuts * (len(stream) // max(sum(cuts), 1) + 1):
        chunk = stream[position : position + cut]
        position += cut
        received.extend(json.loads(body) for body in decoder.feed(chunk))
        if position >= len(stream):
            break
    assert received == sent


async def _pipe_pair() -> tuple[asyncio.StreamReader, asyncio.StreamWriter, int, int]:
    """A reader fed by an OS pipe, and a writer into a second OS pipe."""
    loop = asyncio.get_running_loop()
    in_read, in_write = os.pipe()
    out_read, out_write = os.pipe()
    reader = asyncio.StreamReader()
    await loop.connect_read_pipe(
        lambda: asyncio.StreamReaderProtocol(reader), os.fdopen(in_read, "rb", 0)
    )
    transport, protocol = await loop.connect_write_pipe(
        asyncio.streams.FlowControlMixin, os.fdopen(out_write, "wb", 0)
    )
    writer = asyncio.StreamWriter(transport, protocol, None, loop)
    return reader, writer, in_write, out_read


class Peer:
    """The far end of the pipes: writes raw frames, reads what the connection sent."""

    def __init__(self, write_fd: int, read_fd: int) -> None:
        self.write_fd = write_fd
        self.read_fd = read_fd
        self.decoder = FrameDecoder()
        self.pending: list[dict[str, Any]] = []

    def send(self, message: dict[str, Any]) -> None:
        os.write(self.write_fd, encode_message(message))

    async def receive(self) -> dict[str, Any]:
        loop = asyncio.get_running_loop()
        while not self.pending:
            data = await loop.run_in_executor(None, os.read, self.read_fd, 65536)
            self.pending.extend(json.loads(body) for body in self.decoder.feed(data))
        return self.pending.pop(0)


@pytest.fixture
async def connected() -> AsyncIterator[tuple[JsonRpcConnection, Peer, list[Any]]]:
    reader, writer, peer_write, peer_read = await _pipe_pair()
    notifications: list[Any] = []

    async def answer(method: str, params: Any) -> Any:
        if method == "workspace/configuration":
            return [{"answered": params}]
        raise MethodNotFound(method)

    connection = JsonRpcConnection(
        reader, writer, lambda method, params: notifications.append((method, params)), answer
    )
    connection.start()
    yield connection, Peer(peer_write, peer_read), notifications
    connection.close()
    os.close(peer_write)
    os.close(peer_read)


async def test_request_gets_its_own_response(connected: Any) -> None:
    connection, peer, _ = connected
    first = asyncio.ensure_future(connection.request("a", {"n": 1}, timeout=5))
    second = asyncio.ensure_future(connection.request("b", None, timeout=5))
    sent_a, sent_b = await peer.receive(), await peer.receive()
    assert (sent_a["method"], sent_a["params"]) == ("a", {"n": 1})
    assert "params" not in sent_b
    peer.send({"jsonrpc": "2.0", "id": sent_b["id"], "result": "B"})
    peer.send({"jsonrpc": "2.0", "id": sent_a["id"], "result": "A"})
    assert await first == "A"
    assert await second == "B"


async def test_error_response_raises(connected: Any) -> None:
    connection, peer, _ = connected
    pending = asyncio.ensure_future(connection.request("x", None, timeout=5))
    sent = await peer.receive()
    peer.send({"jsonrpc": "2.0", "id": sent["id"], "error": {"code": -32801, "message": "stale"}})
    with pytest.raises(ResponseError) as caught:
        await pending
    assert caught.value.code == -32801


async def test_timeout_sends_cancel(connected: Any) -> None:
    connection, peer, _ = connected
    with pytest.raises(RequestTimeout):
        await connection.request("slow", None, timeout=0.05)
    sent = await peer.receive()
    cancel = await peer.receive()
    assert cancel == {"jsonrpc": "2.0", "method": "$/cancelRequest", "params": {"id": sent["id"]}}


async def test_peer_requests_are_answered(connected: Any) -> None:
    _connection, peer, _ = connected
    peer.send({"jsonrpc": "2.0", "id": 7, "method": "workspace/configuration", "params": {"k": 1}})
    assert await peer.receive() == {"jsonrpc": "2.0", "id": 7, "result": [{"answered": {"k": 1}}]}
    peer.send({"jsonrpc": "2.0", "id": "s", "method": "unknown/thing"})
    reply = await peer.receive()
    assert reply["id"] == "s"
    assert reply["error"]["code"] == -32601


async def test_notifications_reach_the_handler_and_garbage_is_skipped(connected: Any) -> None:
    connection, peer, notifications = connected
    os.write(peer.write_fd, b"Content-Length: 3\r\n\r\n{x}")
    peer.send({"jsonrpc": "2.0", "method": "window/logMessage", "params": {"message": "hi"}})
    pending = asyncio.ensure_future(connection.request("ping", None, timeout=5))
    sent = await peer.receive()
    peer.send({"jsonrpc": "2.0", "id": sent["id"], "result": None})
    await pending  # responses are read in order, so the notification came first
    assert notifications == [("window/logMessage", {"message": "hi"})]


async def test_end_of_stream_fails_pending_requests(connected: Any) -> None:
    connection, peer, _ = connected
    pending = asyncio.ensure_future(connection.request("x", None, timeout=5))
    await peer.receive()
    os.close(peer.write_fd)
    peer.write_fd = os.open(os.devnull, os.O_WRONLY)  # the fixture closes it again
    with pytest.raises(ConnectionClosed):
        await pending
    await asyncio.wait_for(connection.closed, 5)
    with pytest.raises(ConnectionClosed):
        await connection.request("after", None, timeout=5)
