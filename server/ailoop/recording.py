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
        """Pass a message body through and record it."""
        body = self._stdin.read(size)
        try:
            line = json.dumps(json.loads(body), ensure_ascii=False, separators=(",", ":"))
        except (ValueError, UnicodeDecodeError):
            line = json.dumps({"unparsable": body.decode("utf-8", "replace")})
        self._sink.write(line + "\n")
        self._sink.flush()
        return body
