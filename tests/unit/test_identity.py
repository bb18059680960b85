"""Snippet ids: sha256 over normalized text."""

from __future__ import annotations

import hashlib
import textwrap

from hypothesis import given
from hypothesis import strategies as st

from ailoop.capture.identity import line_count, normalize, short_id, snippet_id

# Characters that str.splitlines() (and so textwrap.indent) treats as line breaks are left
# out: the test indents with textwrap, which would indent after them too.
BREAKS = "\r\n\x0b\x0c\x1c\x1d\x1e\x85\u2028\u2029"
code_lines = st.lists(
    st.text(st.characters(blacklist_categories=("Cs",), blacklist_characters=BREAKS), max_size=30),
    min_size=1,
    max_size=8,
)


def test_id_is_sha256_of_the_normalized_utf8_text() -> None:
    text = "\r\n\n    def f():\r\n        return 1   \r\n\n"
    assert normalize(text) == "def f():\n    return 1"
    expected = hashlib.sha256(b"def f():\n    return 1").hexdigest()
    assert snippet_id(text) == "sha256:" + expected
    assert short_id(snippet_id(text)) == expected[:8]


@given(code_lines, st.integers(0, 12), st.sampled_from(["\n", "\r\n", "\r"]))
def test_indentation_and_line_endings_do_not_change_the_id(
    lines: list[str], indent: int, eol: str
) -> None:
    text = "\n".join(lines)
    moved = textwrap.indent(text, " " * indent).replace("\n", eol)
    assert snippet_id(moved) == snippet_id(text)


@given(code_lines, st.integers(0, 3), st.integers(0, 3))
def test_blank_edges_and_trailing_spaces_do_not_change_the_id(
    lines: list[str], before: int, after: int
) -> None:
    text = "\n".join(lines)
    padded = "\n" * before + "\n".join(line + "  " for line in lines) + "\n \n" * after
    assert snippet_id(padded) == snippet_id(text)


@given(st.text(max_size=200))
def test_normalize_is_idempotent(text: str) -> None:
    assert normalize(normalize(text)) == normalize(text)


def test_different_code_has_a_different_id() -> None:
    assert snippet_id("x = 1") != snippet_id("x = 2")
    assert line_count("\n\na\n\nb\n\n") == 3
    assert line_count("  \n") == 0
