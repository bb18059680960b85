"""Document text and LSP position conversion, checked against plain string operations."""

from __future__ import annotations

from hypothesis import given
from hypothesis import strategies as st

from ailoop.capture.document import Document, Position, split_lines

# Lone CRs are left out: inserting LF right after one would fuse two line breaks into one
# CRLF, which no editor sends (old Mac line endings are normalized before editing).
pieces = st.sampled_from([*list("ab \t\n"), "\r\n", "é", "😀", "\u2028", "\x0c"])
texts = st.lists(pieces, max_size=30).map("".join)


def offset(text: str, position: Position) -> int:
    lines = split_lines(text)
    return sum(len(line) for line in lines[: position.line]) + position.char


@given(texts, st.data())
def test_replace_matches_string_splicing(text: str, data: st.DataObject) -> None:
    doc = Document(text)
    lines = split_lines(text)
    line_a = data.draw(st.integers(0, len(lines) - 1))
    line_b = data.draw(st.integers(line_a, len(lines) - 1))
    content = [len(line.rstrip("\r\n")) for line in lines]
    char_a = data.draw(st.integers(0, content[line_a]))
    char_b = data.draw(st.integers(char_a if line_b == line_a else 0, content[line_b]))
    start, end = Position(line_a, char_a), Position(line_b, char_b)
    new = data.draw(texts)
    a, b = offset(text, start), offset(text, end)
    edit = doc.replace(start, end, new)
    expected = text[:a] + new + text[b:]
    assert doc.text == expected
    assert doc.lines == split_lines(expected)
    assert edit.removed == text[a:b]
    assert (
        offset(expected, edit.new_end) == a + len(new)
        or expected[a + len(new) - 1 : a + len(new) + 1] == "\r\n"
    )


def test_only_lsp_line_breaks_split_lines() -> None:
    assert split_lines("a\u2028b\x0cc\r\nd\re\n") == ["a\u2028b\x0cc\r\n", "d\r", "e\n", ""]


def test_utf16_positions_count_surrogate_pairs_as_two() -> None:
    doc = Document("a😀b\n")
    assert doc.to_position(0, 3) == (Position(0, 2), False)
    assert doc.to_position(0, 2) == (Position(0, 2), True)  # inside the pair: clamped
    assert doc.to_client(Position(0, 2)) == (0, 3)
    utf8 = Document("é😀x", encoding="utf-8")
    assert utf8.to_position(0, 6) == (Position(0, 2), False)
    assert utf8.to_client(Position(0, 3)) == (0, 7)
    utf32 = Document("😀x", encoding="utf-32")
    assert utf32.to_position(0, 1) == (Position(0, 1), False)


def test_positions_past_the_end_are_clamped() -> None:
    doc = Document("ab\ncd")
    assert doc.to_position(9, 0) == (Position(1, 2), True)
    assert doc.to_position(0, 7) == (Position(0, 2), True)
    assert doc.to_position(-1, 0) == (Position(0, 0), True)
