"""Picking up again a snippet left without an outcome, edited or not."""

from __future__ import annotations

from pathlib import Path

from ailoop.capture.document import Position
from ailoop.capture.identity import snippet_id
from ailoop.capture.track import TrackedDocument, similarity
from ailoop.store.events import Event, Kind, Source
from ailoop.store.local import LocalStore

GENERATED = "def first(x):\n    y = x + 1\n    return y\n"
EDITED = "def first(x):\n    y = x + 10\n    return y\n"


def test_an_edited_snippet_keeps_its_id_and_is_modified_from_the_start() -> None:
    doc = TrackedDocument("file:///t.py", "python", 1, "a = 1\n" + EDITED + "b = 2\n")
    found = doc.find(EDITED)
    assert found is not None
    snippet = doc.add(*found, "copilot", Source.HOOK, generated=GENERATED)
    assert snippet is not None
    assert (snippet.id, snippet.text, snippet.current) == (snippet_id(GENERATED), GENERATED, EDITED)
    assert snippet.modified
    assert not snippet.unrecorded_change  # its modified event was written back then
    assert snippet.known_similarity is None  # measured when its outcome is written
    assert similarity(snippet.text, snippet.current) < 1.0
    doc.apply([(((2, 0), (2, 0)), "    # a note\n")], 2)  # it follows edits as any snippet
    assert doc.doc.text_in(snippet.start, snippet.end) == snippet.current


def test_an_unedited_snippet_is_as_generated() -> None:
    doc = TrackedDocument("file:///t.py", "python", 1, GENERATED)
    snippet = doc.add(Position(0, 0), doc.doc.end, "copilot", Source.HOOK, generated=GENERATED)
    assert snippet is not None
    assert not snippet.modified


def test_the_text_of_the_last_modified_event_per_snippet(tmp_path: Path) -> None:
    store = LocalStore.open(tmp_path)
    try:
        one, two = snippet_id(GENERATED), snippet_id("other = 1\n")
        store.append(
            [
                Event(Kind.GENERATED, one, repo="r", path="a.py", text=GENERATED),
                Event(Kind.MODIFIED, one, repo="r", path="a.py", text="first edit\n"),
                Event(Kind.MODIFIED, one, repo="r", path="a.py", text=EDITED),
                Event(Kind.MODIFIED, one, repo="r", path="b.py", text="elsewhere\n"),
                Event(Kind.MODIFIED, two, repo="r", path="a.py", text="not asked for\n"),
            ]
        )
        assert store.edited_texts("r", "a.py", [one]) == {one: EDITED}
        assert store.edited_texts("r", "a.py", []) == {}
    finally:
        store.close()
