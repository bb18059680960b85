"""The insertion heuristic: what counts as AI-inserted code and what never does."""

from __future__ import annotations

import time

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ailoop.capture import detect
from ailoop.capture.detect import (
    Added,
    Thresholds,
    Verdict,
    added_part,
    is_reshape,
    judge,
    line_hunks,
    without_blank_edges,
)
from ailoop.capture.document import split_lines
from ailoop.capture.identity import snippet_id

FUNCTION = "def area(r):\n    pi = 3.14159\n    return pi * r * r\n"
T = Thresholds()


def verdict(removed: str, inserted: str, deleted: tuple[str, ...] = ()) -> Verdict:
    return judge(added_part(removed, inserted), T, deleted)


def test_a_multiline_insertion_is_an_ai_insertion() -> None:
    assert verdict("", FUNCTION) is Verdict.INSERTION


def test_neovim_set_lines_shape_is_judged_by_what_it_adds() -> None:
    added = added_part("\n", "\n" + FUNCTION)
    assert added.text == FUNCTION
    assert added.removed == ""
    assert judge(added, T, ()) is Verdict.INSERTION


@given(st.text(min_size=1, max_size=1))
def test_one_character_is_never_a_snippet(ch: str) -> None:
    assert verdict("", ch) is not Verdict.INSERTION


@given(st.from_regex(r"[A-Za-z_][A-Za-z0-9_]{0,30}\(?", fullmatch=True))
def test_one_word_is_never_a_snippet(word: str) -> None:
    assert verdict("", word) is Verdict.SMALL


def test_long_single_line_counts_by_characters() -> None:
    line = "result = compute(" + ", ".join(f"arg{i}" for i in range(20)) + ")"
    assert len(line) >= T.min_chars
    assert verdict("", line) is Verdict.INSERTION


def test_reformatting_is_not_new_code() -> None:
    before = "x = call(a,b,\n  c)\n"
    after = "x = call(\n    a,\n    b,\n    c,\n)\n"
    assert is_reshape(before, after)
    assert verdict(before, after) in (Verdict.RESHAPE, Verdict.SMALL)
    big_before = "def f(a,b):\n  return {'a':a,'b':b,\n  'c':[1,2,3]}\n"
    big_after = 'def f(a, b):\n    return {\n        "a": a,\n        "b": b,\n        "c": [1, 2, 3],\n    }\n'
    assert verdict(big_before, big_after) is Verdict.RESHAPE


def test_undo_of_text_just_deleted_is_not_new_code() -> None:
    assert verdict("", FUNCTION, (snippet_id(FUNCTION),)) is Verdict.UNDO
    assert (
        verdict("", "    " + FUNCTION.replace("\n", "\n    "), (snippet_id(FUNCTION),))
        is Verdict.UNDO
    )


def test_whitespace_is_not_code() -> None:
    assert verdict("", "\n\n\n    \n\t\n") is Verdict.BLANK


def test_blank_edges_are_trimmed_from_the_snippet() -> None:
    trimmed = without_blank_edges(Added(0, "\n\n" + FUNCTION + "\n\n", ""))
    assert (trimmed.offset, trimmed.text) == (2, FUNCTION)


@given(
    st.lists(st.sampled_from(["a\n", "b\n", "c\n", "dd\n", ""]), max_size=12),
    st.lists(st.sampled_from(["a\n", "b\n", "x\n", "y\n"]), max_size=12),
)
def test_hunks_applied_bottom_up_rebuild_the_new_text(old: list[str], new: list[str]) -> None:
    assert rebuilt("".join(old), "".join(new)) == "".join(new)


def rebuilt(old: str, new: str) -> str:
    """Apply ``line_hunks(old, new)`` to ``old`` from the bottom up."""
    lines = split_lines(old)
    for hunk in reversed(line_hunks(split_lines(old), split_lines(new))):
        lines[hunk.start : hunk.end] = (
            split_lines(hunk.text)[:-1]
            if hunk.text.endswith("\n")
            else [hunk.text]
            if hunk.text
            else []
        )
    return "".join(lines)


# Lines drawn from a few repeated ones and some that occur once: both kinds of anchor
# problem the patience split meets.
some_lines = st.lists(
    st.one_of(
        st.sampled_from(["a\n", "b\n", "pass\n", "\n"]), st.integers(0, 40).map("u{}\n".format)
    ),
    max_size=40,
)


@given(some_lines, some_lines)
def test_hunks_rebuild_the_new_text_when_the_diff_is_split_at_unique_lines(
    old: list[str], new: list[str]
) -> None:
    budget = detect.LINE_BUDGET
    detect.LINE_BUDGET = 4  # every range above 2x2 lines goes through the split
    try:
        assert rebuilt("".join(old), "".join(new)) == "".join(new)
    finally:
        detect.LINE_BUDGET = budget


def test_hunks_of_small_texts_are_difflibs() -> None:
    old = ["def f():\n", "    return 1\n", "\n", "x = 1\n", ""]
    new = ["def f():\n", "    return 2\n", "\n", "def g():\n", "    pass\n", "x = 1\n", ""]
    hunks = line_hunks(old, new)
    assert [(h.start, h.end, h.text) for h in hunks] == [
        (1, 2, "    return 2\n"),
        (3, 3, "def g():\n    pass\n"),
    ]


@pytest.mark.parametrize("lines", [10_000, 40_000])
def test_a_large_repetitive_rewrite_is_split_into_hunks_in_linear_time(lines: int) -> None:
    block = "    if x:\n        y += 1\n    else:\n        y -= 1\n"
    old = "".join(f"def f{n}(x):\n    y = 0\n{block}    return y\n\n" for n in range(lines // 8))
    new = old.replace("y += 1", "y += 2").replace("def f7(", "def renamed(")
    started = time.perf_counter()
    assert rebuilt(old, new) == new
    # Quadratic diffing of this took tens of seconds; the bound is loose on purpose, the
    # figures are in the benchmark.
    assert time.perf_counter() - started < 20
