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


# -- the per-line index ------------------------------------------------------------------
#
# Code review speaks about lines, not snippets. Each snippet's normalized, non-trivial lines
# are hashed (8 bytes of SHA-256, 16 hex digits) when its ``generated`` event is written, so
# a review comment's lines, read from git and normalized the same way, find the snippets that
# hold them without any code being shipped anywhere (see docs/review.md).

#: Hex digits of a line hash: 8 bytes of SHA-256.
LINE_HASH_CHARS = 16
#: Lines that say nothing on their own: they are in every file and would match everything.
TRIVIAL_LINES = frozenset(
    {
        "pass", "...", "else:", "try:", "finally:", "return", "break", "continue", "end",
        "fi", "done", "esac", "else", "do", "then", "begin", '"""', "'''", "*/", "/*", "*",
        "#", "//", "--", "<?php", "?>", "default:", "else {", "} else {", "}else{",
        "return;", "break;", "continue;", "return None", "return nil", "@end",
    }
)  # fmt: skip
#: The most lines of one snippet that are indexed (a huge paste does not flood the index).
MAX_INDEXED_LINES = 5000


def normalize_line(line: str) -> str:
    """Return one line as the snippet index holds it: without leading and trailing spaces.

    It is :func:`normalize` applied to a single line (dedenting one line removes all its
    indentation), so a line matches wherever and however deeply it is indented.
    """
    return line.strip()


def is_trivial_line(normalized: str) -> bool:
    """Return whether a normalized line is too common to say which snippet it is from.

    Blank lines, lines without a letter or digit (``}``, ``);``, ``]``), and a few bare
    keywords (``pass``, ``else:``, ``return``, ``end``…).
    """
    if not normalized or normalized in TRIVIAL_LINES:
        return True
    return not any(c.isalnum() for c in normalized)


def line_hash(normalized: str) -> str:
    """Return the index key of one normalized line: 16 hex digits of its SHA-256."""
    return hashlib.sha256(normalized.encode("utf-8")).hexdigest()[:LINE_HASH_CHARS]


def line_hashes(text: str) -> tuple[str, ...]:
    """Return the distinct hashes of the non-trivial lines of ``text``, in order of appearance."""
    seen: dict[str, None] = {}
    for raw in normalize(text).split("\n"):
        line = normalize_line(raw)
        if not is_trivial_line(line):
            seen.setdefault(line_hash(line), None)
            if len(seen) >= MAX_INDEXED_LINES:
                break
    return tuple(seen)
