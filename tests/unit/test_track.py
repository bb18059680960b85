"""Range tracking: snippets follow any sequence of edits."""

from __future__ import annotations

from hypothesis import given, settings
from hypothesis import strategies as st

from ailoop.capture.detect import Thresholds, Verdict
from ailoop.capture.document import split_lines
from ailoop.capture.track import TrackedDocument, similarity
from ailoop.store.events import Source

SNIPPET = "def f(x):\n    y = x * 2\n    return y\n"
pieces = st.sampled_from([*list("ab \n"), "😀", "\r\n", "def g():\n    pass\n    return 1\n"])
inserted = st.lists(pieces, max_size=4).map("".join)


def client_pos(doc: TrackedDocument, line: int, char: int) -> tuple[int, int]:
    return doc.doc.to_client(doc.doc.to_position(line, char)[0])


@settings(max_examples=300, deadline=None)
@given(st.data())
def test_every_live_snippet_holds_its_text(data: st.DataObject) -> None:
    doc = TrackedDocument("file:///t.py", "python", 1, "import os\n\n" + SNIPPET + "\nprint(1)\n")
    start, _ = doc.doc.to_position(2, 0)
    end, _ = doc.doc.to_position(5, 0)
    assert doc.add(start, end, "copilot", Source.CLIENT) is not None
    gone = []
    for version in range(2, data.draw(st.integers(1, 25)) + 2):
        lines = doc.doc.lines
        line_a = data.draw(st.integers(0, len(lines) - 1))
        line_b = data.draw(st.integers(line_a, min(line_a + 3, len(lines) - 1)))
        len_a = len(lines[line_a].rstrip("\r\n"))
        len_b = len(lines[line_b].rstrip("\r\n"))
        char_a = data.draw(st.integers(0, len_a))
        char_b = data.draw(st.integers(char_a if line_b == line_a else 0, len_b))
        text = data.draw(inserted)
        rng = (client_pos(doc, line_a, char_a), client_pos(doc, line_b, char_b))
        result = doc.apply([(rng, text)], version)
        gone += result.reverted
        for snippet in doc.snippets:
            assert doc.doc.text_in(snippet.start, snippet.end) == snippet.current
            assert snippet.modified or snippet.current == snippet.text
            assert snippet.current.strip()
            # What is known of its similarity is the figure of its text now, from scratch.
            known = snippet.known_similarity
            assert known is None or known == similarity(snippet.text, snippet.current)
            if data.draw(st.booleans()):
                snippet.remember_similarity(
                    snippet.current, similarity(snippet.text, snippet.current)
                )
        for snippet in result.reverted:
            assert snippet not in doc.snippets
    assert doc.doc.lines == split_lines(doc.doc.text)


def test_edits_before_shift_and_after_leave_alone() -> None:
    doc = TrackedDocument("file:///t.py", "python", 1, "a\n")
    result = doc.apply([(((1, 0), (1, 0)), SNIPPET)], 2)
    (snippet,) = result.new
    doc.apply([(((0, 0), (0, 0)), "# top\n")], 3)
    assert (snippet.start.line, snippet.end.line) == (2, 5)
    doc.apply([(((5, 0), (5, 0)), "tail = 1\n")], 4)  # right after the snippet
    assert not snippet.modified
    assert doc.doc.text_in(snippet.start, snippet.end) == SNIPPET


def test_edit_inside_is_modified_with_similarity_and_deletion_reverts() -> None:
    doc = TrackedDocument("file:///t.py", "python", 1, "")
    (snippet,) = doc.apply([(((0, 0), (0, 0)), SNIPPET)], 2).new
    result = doc.apply([(((1, 8), (1, 13)), "x + 2")], 3)
    assert result.modified == [snippet]
    assert snippet.known_similarity is None  # measured off the event loop, then kept
    value = similarity(snippet.text, snippet.current)
    assert 0.8 < value < 1.0
    snippet.remember_similarity(snippet.current, value)
    assert snippet.known_similarity == value
    result = doc.apply([(((0, 0), (3, 0)), "")], 4)
    assert result.reverted == [snippet]
    assert doc.snippets == []


def test_the_new_text_is_handed_on_before_the_last_change_is_searched() -> None:
    doc = TrackedDocument("file:///t.py", "python", 1, "a = 1\n")
    other = SNIPPET.replace("f(", "g(")
    seen: list[tuple[int, str, int, list[str]]] = []
    result = doc.apply(
        [(((1, 0), (1, 0)), SNIPPET), (((0, 0), (0, 0)), other)],
        2,
        on_text=lambda so_far: seen.append(
            (doc.version, doc.doc.text, len(so_far.new), so_far.problems)
        ),
    )
    # called once, with the final text and version; only the first change was searched
    assert seen == [(2, other + "a = 1\n" + SNIPPET, 1, [])]
    # the snippet the first change made was moved by the second, which made its own
    assert [(s.text, s.start.line) for s in result.new] == [(SNIPPET, 4), (other, 0)]
    assert all(doc.doc.text_in(s.start, s.end) == s.text for s in result.new)


def test_a_clamped_range_is_known_when_the_new_text_is_handed_on() -> None:
    doc = TrackedDocument("file:///t.py", "python", 1, "a = 1\n")
    seen: list[list[str]] = []
    doc.apply(
        [(((9, 0), (9, 0)), "b = 2\n")], 2, on_text=lambda so_far: seen.append(so_far.problems)
    )
    assert len(seen) == 1
    assert "does not exist" in seen[0][0]


def test_formatter_batch_creates_no_snippet() -> None:
    before = "x = {'a':1,'b':2,'c':3,'d':4,'e':5}\n"
    doc = TrackedDocument("file:///t.py", "python", 1, before, thresholds=Thresholds(2, 20))
    changes = [
        (((0, 4), (0, 5)), "{\n    "),
        (((0, 34), (0, 35)), ",\n}"),
        (((0, 9), (0, 9)), " "),
    ]
    result = doc.apply(changes, 2)
    assert result.new == []
    assert doc.snippets == []
    assert Verdict.INSERTION not in result.verdicts


def test_whole_document_replacement_finds_inserted_hunks_and_follows_snippets() -> None:
    doc = TrackedDocument("file:///t.py", "python", 1, "a = 1\n")
    (first,) = doc.apply([(((1, 0), (1, 0)), SNIPPET)], 2).new
    other = SNIPPET.replace("f(", "g(")
    result = doc.apply([(None, "# header\na = 1\n" + SNIPPET + "b = 2\n" + other)], 3)
    assert [s.text for s in result.new] == ["b = 2\n" + other]  # one inserted hunk
    assert (first.start.line, first.end.line) == (2, 5)
    assert not first.modified


LONG = "".join(f"def f{n}(x):\n    return x + {n}\n\n" for n in range(334))  # 1,002 lines


def test_similarity_of_one_character_in_a_long_snippet() -> None:
    changed = LONG.replace("return x + 200", "return x - 200")
    assert 0.99 < similarity(LONG, changed) < 1.0
    assert similarity(LONG, LONG) == 1.0
    assert similarity("", "") == 1.0
    assert similarity(LONG, "") == 0.0


def test_similarity_of_a_rewritten_middle_compares_lines() -> None:
    # The middle is far over the character budget: lines kept in any order still count.
    lines = split_lines(LONG)
    shuffled = "".join([lines[0], *reversed(lines[1:-2]), *lines[-2:]])
    assert 0.9 < similarity(LONG, shuffled) < 1.0
    assert similarity(LONG, "x = 1\n" * 1000) < 0.05


words = st.lists(st.sampled_from(["a", "b", "\n", "def f():\n", "    pass\n", "😀"]), max_size=30)


@given(words.map("".join), words.map("".join))
def test_similarity_is_a_ratio_that_is_one_only_for_the_same_text(a: str, b: str) -> None:
    value = similarity(a, b)
    assert 0.0 <= value <= 1.0
    assert (value == 1.0) == (a == b)


def test_an_edit_inside_a_long_snippet_does_not_copy_it() -> None:
    doc = TrackedDocument("file:///t.py", "python", 1, "")
    (snippet,) = doc.apply([(((0, 0), (0, 0)), LONG)], 2).new
    doc.apply([(((500, 4), (500, 4)), "#")], 3)
    assert snippet.revision == 1
    assert snippet.unrecorded_change
    assert snippet._current is None  # read from the document only when asked for
    assert snippet.modified
    assert snippet.current == doc.doc.text_in(snippet.start, snippet.end)
    doc.remove(snippet)
    doc.apply([(((0, 0), (10, 0)), "")], 4)
    assert snippet.current.startswith("def f0(x)")  # kept as it was when it left


def test_last_inserted_is_where_the_last_change_went() -> None:
    doc = TrackedDocument("file:///t.py", "python", 1, "a = 1\n")
    doc.apply([(((1, 0), (1, 0)), "b = 2\nc = 3\n")], 2)
    assert doc.last_inserted == ((1, 0), (3, 0))
