"""Snippet identity: ``"sha256:" + hex(sha256(normalize(text)))``.

``normalize`` turns CRLF/CR into LF, strips trailing whitespace from every line, drops
leading and trailing blank lines and removes the common indentation, so the same code
pasted at another indentation has the same id (the ``content_hash`` idea of Agent Trace).
"""

from __future__ import annotations

import hashlib
import textwrap

PREFIX = "sha256:"


def normalize(text: str) -> str:
    """Return ``text`` in the canonical form that snippet ids are computed over."""
    text = text.replace("\r\n", "\n").replace("\r", "\n")
    lines = [line.rstrip() for line in text.split("\n")]
    start, end = 0, len(lines)
    while start < end and not lines[start]:
        start += 1
    while end > start and not lines[end - 1]:
        end -= 1
    return textwrap.dedent("\n".join(lines[start:end]))


def snippet_id(text: str) -> str:
    """Return the snippet id of ``text``."""
    return PREFIX + hashlib.sha256(normalize(text).encode("utf-8")).hexdigest()


def short_id(snippet: str) -> str:
    """Return the first 8 hex digits of a snippet id, for display."""
    return snippet.removeprefix(PREFIX)[:8]


def line_count(text: str) -> int:
    """Return the number of lines of ``text`` once normalized (0 for blank text)."""
    normalized = normalize(text)
    return normalized.count("\n") + 1 if normalized else 0
