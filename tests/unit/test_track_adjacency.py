"""Insertions next to a snippet are snippets of their own, whatever shape the editor sends.

Editors describe the same insertion of whole lines in several ways: a pure insertion at
the start of a line (VS Code's paste), Neovim's ``:put`` and ``nvim_buf_set_lines``
append (the line break before the new lines replaced by ``"\\n<lines>\\n"``), a full-line
replacement (a line replaced by itself plus the new lines), or an insertion of
``"\\n<lines>"`` at the end of the line above. Only what lands strictly inside a snippet
modifies it.
"""

from __future__ import annotations

from collections.abc import Callable

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from ailoop.capture.document import Position
from ailoop.capture.track import ChangeResult, TrackedDocument
from ailoop.positions import TextChange
from ailoop.store.events import Source

FIRST = "def first(x):\n    y = x + 1\n    z = y * 2\n    return z\n"
SECOND = "def second(x):\n    y = x - 1\n    z = y * 3\n    return z\n"
BASE = '"""A module."""\n\n\ndef answer():\n    return 42\n'

#: An insertion of whole ``lines`` (ending with a line break) before line ``at`` of ``doc``.
Shape = Callable[[TrackedDocument, int, str], TextChange]


def content(doc: TrackedDocument, line: int) -> str:
    return doc.doc.lines[line].rstrip("\r\n")


def pure(doc: TrackedDocument, at: int, lines: str) -> TextChange:
    """VS Code's paste at the start of a line."""
    return ((at, 0), (at, 0)), lines


def nvim_put(doc: TrackedDocument, at: int, lines: str) -> TextChange:
    """Neovim 0.7 and 0.11 for ``:put`` and ``nvim_buf_set_lines``: the line break before."""
    end = len(content(doc, at - 1))
    return ((at - 1, end), (at, 0)), "\n" + lines


def line_replaced(doc: TrackedDocument, at: int, lines: str) -> TextChange:
    """The line above replaced by itself and the new lines."""
    above = doc.doc.lines[at - 1]
    return ((at - 1, 0), (at, 0)), above + lines


def at_line_end(doc: TrackedDocument, at: int, lines: str) -> TextChange:
    """``"\\n<lines>"`` (no final break) inserted at the end of the line above."""
    end = len(content(doc, at - 1))
    return ((at - 1, end), (at - 1, end)), "\n" + lines[:-1]


SHAPES = {"pure": pure, "nvim-put": nvim_put, "line-replaced": line_replaced}
BELOW_SHAPES = {**SHAPES, "at-line-end": at_line_end}


def with_first(text: str = BASE, at: int = 1) -> TrackedDocument:
    doc = TrackedDocument("file:///t.py", "python", 1, text)
    (snippet,) = doc.apply([nvim_put(doc, at, FIRST)], 2).new
    assert snippet.current == FIRST
    return doc


def unchanged(doc: TrackedDocument) -> None:
    for snippet in doc.snippets:
        assert doc.doc.text_in(snippet.start, snippet.end) == snippet.current == snippet.text
        assert not snippet.modified


@pytest.mark.parametrize("shape", BELOW_SHAPES.values(), ids=BELOW_SHAPES.keys())
def test_lines_put_right_under_a_snippet_are_a_new_snippet(shape: Shape) -> None:
    doc = with_first()  # lines 1-4
    result = doc.apply([shape(doc, 5, SECOND)], 3)
    assert [s.text.strip() for s in result.new] == [SECOND.strip()]
    assert result.modified == []
    first, second = doc.snippets
    assert (first.start.line, first.end.line, second.start.line) == (1, 5, 5)
    unchanged(doc)


@pytest.mark.parametrize("shape", SHAPES.values(), ids=SHAPES.keys())
def test_lines_put_right_above_a_snippet_are_a_new_snippet(shape: Shape) -> None:
    doc = with_first(at=3)  # lines 3-6
    result = doc.apply([shape(doc, 3, SECOND)], 3)
    assert [s.text for s in result.new] == [SECOND]
    assert result.modified == []
    assert [(s.start.line, s.end.line) for s in doc.snippets] == [(3, 7), (7, 11)]
    unchanged(doc)


def test_neovim_put_above_the_first_line_of_a_snippet_at_the_top() -> None:
    doc = with_first(at=1)
    result = doc.apply([(((0, 0), (0, 0)), SECOND)], 3)  # ``:0put``
    assert [s.text for s in result.new] == [SECOND]
    unchanged(doc)


def test_a_paste_at_the_indentation_of_the_snippets_first_line() -> None:
    """VS Code pastes at the cursor after the indentation: the text ends with that indent."""
    method = "    def first(self):\n        return 1\n        # one\n"
    doc = TrackedDocument("file:///t.py", "python", 1, "class C:\n    pass\n")
    (snippet,) = doc.apply([(((1, 0), (1, 0)), method)], 2).new
    other = "def second(self):\n        return 2\n        # two\n    "
    result = doc.apply([(((1, 4), (1, 4)), other)], 3)  # cursor at column 4 of line 1
    assert [s.text for s in result.new] == ["    " + other.rstrip(" ")]
    assert result.modified == []
    assert snippet.start.line == 4
    unchanged(doc)


def test_a_reload_that_adds_a_function_next_to_a_snippet() -> None:
    doc = with_first()
    text = doc.doc.text
    lines = text.splitlines(keepends=True)
    reloaded = "".join(
        [*lines[:1], SECOND, *lines[1:5], SECOND.replace("second", "third"), *lines[5:]]
    )
    result = doc.apply([(None, reloaded)], 3)
    assert sorted(s.text for s in result.new) == sorted([SECOND, SECOND.replace("second", "third")])
    assert result.modified == []
    unchanged(doc)


def test_a_reload_whose_new_block_starts_like_the_snippet() -> None:
    """The diff slides such a block into the snippet; it still is next to it, not in it."""
    doc = with_first()
    twin = "def first(x):\n    return x\n    # a twin of first, above it\n"
    result = doc.apply([(None, doc.doc.text.replace(FIRST, twin + FIRST))], 3)
    assert [s.text for s in result.new] == [twin]
    assert result.modified == []
    unchanged(doc)


def test_edits_strictly_inside_still_modify() -> None:
    for change in (
        (((4, 12), (4, 12)), "  # typed at the end of the last line"),
        (((2, 13), (2, 13)), "\n    w = 0\n    v = 1\n    u = 2"),  # lines in the middle
        (((2, 0), (2, 0)), SECOND),  # a paste between two of its lines
        (((1, 0), (2, 0)), "def first(x, w):\n"),  # its first line replaced
    ):
        doc = with_first()
        result = doc.apply([change], 3)
        assert [s.text for s in result.modified] == [FIRST], change
        assert result.new == []
        (snippet,) = doc.snippets
        assert doc.doc.text_in(snippet.start, snippet.end) == snippet.current != FIRST


def test_enter_at_the_end_of_the_last_line_leaves_the_snippet_alone() -> None:
    doc = with_first()
    doc.apply([(((4, 12), (4, 12)), "\n    ")], 3)  # Enter with auto-indent
    doc.apply([(((5, 4), (5, 4)), "w = 1")], 4)  # and typing on the new line
    unchanged(doc)
    assert doc.snippets[0].end.line == 5


def test_the_same_line_written_again_changes_nothing() -> None:
    doc = with_first()
    result = doc.apply([(((2, 0), (3, 0)), "    y = x + 1\n")], 3)
    assert (result.modified, result.new, result.moved) == ([], [], False)
    unchanged(doc)


LINES = st.lists(
    st.sampled_from(["x = 1", "    y = 2", "", "def g():", "    return x", "# note", "\t"]),
    min_size=1,
    max_size=5,
)


@settings(max_examples=200, deadline=None)
@given(
    above=st.integers(0, 3),
    between=st.integers(0, 2),
    block=LINES,
    at=st.integers(1, 14),
)
def test_every_shape_of_one_insertion_does_the_same(
    above: int, between: int, block: list[str], at: int
) -> None:
    """Whatever the shape, an insertion of lines has one outcome, and at an edge it modifies nothing."""
    text = "".join(f"line_{n} = {n}\n" for n in range(above))
    text += FIRST + "".join(f"mid_{n} = {n}\n" for n in range(between)) + SECOND + "tail = 0\n"
    lines = "".join(f"{line}\n" for line in block)
    at = min(at, text.count("\n"))
    outcomes = set()
    for shape in SHAPES.values():
        doc = TrackedDocument("file:///t.py", "python", 1, text)
        first = doc.add(*lines_range(above, 4), "unknown", Source.HEURISTIC)
        second = doc.add(*lines_range(above + 4 + between, 4), "unknown", Source.HEURISTIC)
        assert first is not None
        assert second is not None
        result = doc.apply([shape(doc, at, lines)], 2)
        outcomes.add(_outcome(doc, result))
        for snippet in doc.snippets:
            assert doc.doc.text_in(snippet.start, snippet.end) == snippet.current
        edges = {above, above + 4, above + 4 + between, above + 8 + between}
        if at in edges:
            assert result.modified == []
    assert len(outcomes) == 1, outcomes


def lines_range(line: int, count: int) -> tuple[Position, Position]:
    return Position(line, 0), Position(line + count, 0)


def _outcome(doc: TrackedDocument, result: ChangeResult) -> tuple[object, ...]:
    return (
        tuple((s.start, s.end, s.text, s.modified) for s in doc.snippets),
        tuple(s.text for s in result.new),
        tuple(s.text for s in result.modified),
    )


def test_a_crlf_inserted_after_a_snippets_blank_first_line_stays_inside_it() -> None:
    """ "\r\n" inserted under a snippet's blank first line is not "\n\r" above the snippet:
    that would split a CR LF line break, and the snippet's range would miss its text."""
    doc = TrackedDocument("file:///t.py", "python", 1, "a = 1\n\nb = 2\nc = 3\nd = 4\nz\n")
    snippet = doc.add(*lines_range(1, 4), "unknown", Source.HEURISTIC)
    assert snippet is not None
    result = doc.apply([(((2, 0), (2, 0)), "\r\n")], 2)
    assert result.modified == [snippet]
    assert (snippet.start, snippet.end) == (Position(1, 0), Position(6, 0))
    assert (
        doc.doc.text_in(snippet.start, snippet.end)
        == snippet.current
        == "\n\r\nb = 2\nc = 3\nd = 4\n"
    )
