r"""The text of one open document, kept as lines, with LSP position conversion.

ailoop keeps its own copy of each open document instead of pygls's workspace copy: it
needs the text *before* every change (to see what a change removed and added), and a
keystroke must cost a few microseconds, not a re-split of the whole file. Positions
inside ailoop are ``(line, code point)``; the client's units (UTF-16 by default, UTF-8 or
UTF-32 when negotiated) are converted at this edge only.

LSP line breaks are ``\\n``, ``\\r\\n`` and ``\\r``; no other character ends a line.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import NamedTuple

from ailoop.positions import code_units, column_of

_BREAK = re.compile(r"(\r\n|\r|\n)")
_HAS_BREAK = re.compile(r"[\r\n]")


class Position(NamedTuple):
    """A position in a document: zero-based line and code-point offset within it."""

    line: int
    char: int


def split_lines(text: str) -> list[str]:
    r"""Split ``text`` into lines that keep their terminators; the last one has none.

    ``"a\\nb\\n"`` gives ``["a\\n", "b\\n", ""]``: a document always has at least one line,
    and the position after a final line break is a real (empty) line, as in LSP.
    """
    parts = _BREAK.split(text)
    lines = [parts[i] + parts[i + 1] for i in range(0, len(parts) - 1, 2)]
    lines.append(parts[-1])
    return lines


def _content_length(line: str) -> int:
    if line.endswith("\r\n"):
        return len(line) - 2
    if line.endswith(("\n", "\r")):
        return len(line) - 1
    return len(line)


@dataclass(frozen=True)
class AppliedEdit:
    """What one content change did, in code-point positions.

    ``start``..``old_end`` held ``removed`` before the change; ``start``..``new_end``
    holds ``inserted`` after it.
    """

    start: Position
    old_end: Position
    new_end: Position
    removed: str
    inserted: str


class Document:
    """An open document's text as a list of lines."""

    def __init__(self, text: str, encoding: str = "utf-16") -> None:
        self.lines = split_lines(text)
        self.encoding = encoding

    @property
    def text(self) -> str:
        """Return the whole text (O(size): not for the keystroke path)."""
        return "".join(self.lines)

    @property
    def end(self) -> Position:
        """Return the position after the last character."""
        return Position(len(self.lines) - 1, len(self.lines[-1]))

    def to_position(self, line: int, units: int) -> tuple[Position, bool]:
        """Convert a client position to a code-point one; clamp it if it does not exist.

        Returns the position and whether it had to be clamped (a line or character past the
        end, or a UTF-16 offset inside a surrogate pair).
        """
        clamped = False
        if line < 0 or units < 0:
            line, units, clamped = max(line, 0), max(units, 0), True
        if line >= len(self.lines):
            return self.end, True
        text = self.lines[line]
        length = _content_length(text)
        if self.encoding == "utf-32" or text.isascii():
            if units > length:
                return Position(line, length), True
            return Position(line, units), clamped
        count = 0
        for index in range(length):
            if count >= units:
                return Position(line, index), clamped or count > units
            count += code_units(text[index], self.encoding)
        return Position(line, length), clamped or count != units

    def to_client(self, position: Position) -> tuple[int, int]:
        """Convert a code-point position to the client's ``(line, character)``."""
        line, char = position
        text = self.lines[line] if line < len(self.lines) else ""
        if self.encoding == "utf-32" or text.isascii():
            return line, char
        return line, column_of(text, char, self.encoding)

    def text_in(self, start: Position, end: Position) -> str:
        """Return the text between two code-point positions."""
        if start.line == end.line:
            return self.lines[start.line][start.char : end.char]
        return (
            self.lines[start.line][start.char :]
            + "".join(self.lines[start.line + 1 : end.line])
            + self.lines[end.line][: end.char]
        )

    def replace(self, start: Position, end: Position, text: str) -> AppliedEdit:
        """Replace the text between ``start`` and ``end`` (code points) by ``text``."""
        lines = self.lines
        removed = self.text_in(start, end)
        first, last = lines[start.line], lines[end.line]
        content_end = _content_length(last)
        tail, terminator = last[end.char : content_end], last[content_end:]
        head = first[: start.char]
        if not _HAS_BREAK.search(text):
            lines[start.line : end.line + 1] = [head + text + tail + terminator]
            new_end = Position(start.line, start.char + len(text))
        else:
            region = split_lines(head + text + tail + terminator)
            if terminator:
                region.pop()  # the empty remainder after the terminator
            lines[start.line : end.line + 1] = region
            last_line = region[-1]
            new_end = Position(start.line + len(region) - 1, _content_length(last_line) - len(tail))
        return AppliedEdit(start, end, new_end, removed, text)

    def replace_all(self, text: str) -> AppliedEdit:
        """Replace the whole text."""
        return self.replace(Position(0, 0), self.end, text)
