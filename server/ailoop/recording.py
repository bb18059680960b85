"""Record what an editor sends to the server, one JSON-RPC message a line.

``ailoop serve --record FILE`` wraps stdin with :class:`RecordingStdin`; ``ailoop replay FILE``
plays such a file back. A recording is the easiest way to reproduce what an editor did.
"""

from __future__ import annotations

import json
from typing import BinaryIO, TextIO


class RecordingStdin:
    """A binary stdin that copies every message body it hands out to ``sink`` as a line."""

    def __init__(self, stdin: BinaryIO, sink: TextIO) -> None:
        self._stdin = stdin
        self._sink = sink

    def readline(self) -> bytes:
        """Pass a header line through."""
        return self._stdin.readline()

    def read(self, size: int) -> bytes:
        """Pass a message body through; record it if it is a request or notification.

        Responses to the server's own requests are not recorded: a replay answers those
        itself.
        """
        body = self._stdin.read(size)
        try:
            message = json.loads(body)
        except (ValueError, UnicodeDecodeError):
            return body
        if isinstance(message, dict) and "method" in message:
            self._sink.write(json.dumps(message, ensure_ascii=False, separators=(",", ":")) + "\n")
            self._sink.flush()
        return body
