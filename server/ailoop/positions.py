"""Columns in the three LSP position encodings (UTF-8, UTF-16, UTF-32 code units).

Pure functions over one line of text. Engines and tools count columns in one encoding,
the editor negotiated another; findings are converted with the line they point into.
"""

from __future__ import annotations

#: The position encodings LSP defines (``PositionEncodingKind`` values).
ENCODINGS = ("utf-8", "utf-16", "utf-32")

#: A range as a client sends it: ``((start_line, start_char), (end_line, end_char))`` in
#: the negotiated encoding, or ``None`` for the whole document.
ClientRange = tuple[tuple[int, int], tuple[int, int]] | None

#: One ``TextDocumentContentChangeEvent``: the range it replaces and the new text.
TextChange = tuple[ClientRange, str]


def code_units(char: str, encoding: str) -> int:
    """Return how many code units of ``encoding`` the character ``char`` takes."""
    code = ord(char)
    if encoding == "utf-8":
        return 1 if code < 0x80 else 2 if code < 0x800 else 3 if code < 0x10000 else 4
    if encoding == "utf-16":
        return 2 if code > 0xFFFF else 1
    return 1


def column_of(line_text: str, index: int, encoding: str) -> int:
    """Return the column, in ``encoding`` units, of the ``index``-th character of the line."""
    prefix = line_text[: max(index, 0)]
    if encoding == "utf-32" or prefix.isascii():
        return len(prefix)
    return sum(code_units(char, encoding) for char in prefix)


def index_of(line_text: str, column: int, encoding: str) -> int:
    """Return the character index at ``column`` (``encoding`` units); clamped to the line.

    A column inside a multi-unit character maps to the character after it.
    """
    if column <= 0:
        return 0
    if encoding == "utf-32" or line_text.isascii():
        return min(column, len(line_text))
    units = 0
    for index, char in enumerate(line_text):
        if units >= column:
            return index
        units += code_units(char, encoding)
    return len(line_text)


def convert_column(line_text: str, column: int, source: str, target: str) -> int:
    """Convert a column on ``line_text`` from ``source`` to ``target`` encoding units."""
    if source == target:
        return column
    return column_of(line_text, index_of(line_text, column, source), target)
