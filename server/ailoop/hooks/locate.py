"""Where the agent's code landed: the snippets an edit inserted, as the editor will see them.

The language server recognises code that an agent wrote on disk when the editor reloads
the file: it diffs the old text against the new one by lines and tracks, per hunk, the
added part without its blank edge lines (:func:`ailoop.capture.detect.added_part`,
:func:`~ailoop.capture.detect.without_blank_edges`). A hook computes its snippets the same
way, from the text before the edit and the text on disk, so both arrive at the same
snippet ids. The text before the edit comes from the payload when it carries it, else it
is rebuilt by undoing the edits on the file's current text.

Pure functions: texts in, snippets out.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from ailoop.capture.detect import added_part, line_hunks, without_blank_edges
from ailoop.capture.document import split_lines
from ailoop.hooks.payload import HookCall, TextEdit

#: How many occurrences of an edit's new text are considered when undoing it.
MAX_CANDIDATES = 32


@dataclass(frozen=True)
class Inserted:
    """A snippet the agent inserted: its text and the lines it covers in the file.

    ``first_line`` and ``last_line`` are zero-based and inclusive; they are ``None`` when
    the inserted text could not be found in the file (it changed again since).
    """

    text: str
    first_line: int | None
    last_line: int | None

    @property
    def lines(self) -> range:
        """The zero-based lines the snippet covers (empty when not located)."""
        if self.first_line is None or self.last_line is None:
            return range(0)
        return range(self.first_line, self.last_line + 1)


def _line_of(text: str, offset: int) -> int:
    return len(split_lines(text[:offset])) - 1


def _occurrences(text: str, needle: str) -> list[int]:
    found: list[int] = []
    index = text.find(needle)
    while index >= 0 and len(found) < MAX_CANDIDATES:
        found.append(index)
        index = text.find(needle, index + max(len(needle), 1))
    return found


def _undo_one(text: str, edit: TextEdit) -> str | None:
    """Return ``text`` with ``edit`` undone, or ``None`` when its new text is not there."""
    if not edit.new:
        return None  # a pure deletion: nothing marks where the old text was
    if edit.replace_all:
        return text.replace(edit.new, edit.old) if edit.new in text else None
    candidates = _occurrences(text, edit.new)
    if not candidates:
        return None

    def undone(index: int) -> str:
        return text[:index] + edit.old + text[index + len(edit.new) :]

    if len(candidates) == 1:
        return undone(candidates[0])
    if edit.line is not None:
        target = edit.line
        nearest = min(candidates, key=lambda i: abs(_line_of(text, i) - target))
        return undone(nearest)
    if edit.old:
        # The tool only replaces text that occurs once; the right occurrence is the one
        # whose undoing leaves the old text exactly once.
        for index in candidates:
            candidate = undone(index)
            if candidate.count(edit.old) == 1:
                return candidate
    return undone(candidates[0])


def text_before(call: HookCall, current: str) -> tuple[str, list[str]]:
    """Return the file's text before the edit, and a note for each edit not found in it.

    Uses the original from the payload when there is one; a whole-file write without it
    counts as new text throughout. Edits are undone last to first on ``current``.
    """
    if call.original is not None:
        return call.original, []
    if call.content is not None:
        return "", []
    notes = []
    text = current
    for number, edit in reversed(list(enumerate(call.edits, start=1))):
        previous = _undo_one(text, edit)
        if previous is None:
            if edit.new.strip():
                notes.append(f"edit {number}: its new text is not in the file any more")
            continue
        text = previous
    return text, notes


def inserted_snippets(before: str, after: str) -> list[Inserted]:
    """Return the snippets that turn ``before`` into ``after``, top to bottom.

    One per line hunk that adds non-blank text, computed as the language server computes
    them on a whole-document replacement; identical snippets are listed once.
    """
    old_lines = split_lines(before)
    new_lines = split_lines(after)
    found: list[Inserted] = []
    seen: set[str] = set()
    shift = 0
    for hunk in line_hunks(old_lines, new_lines):
        removed = "".join(old_lines[hunk.start : hunk.end])
        first_new_line = hunk.start + shift
        # Only a file's last hunk can end without a line break, so counting breaks keeps
        # the line numbers of every later hunk exact.
        shift += len(split_lines(hunk.text)) - 1 - (hunk.end - hunk.start)
        added = without_blank_edges(added_part(removed, hunk.text))
        if not added.text.strip() or added.text in seen:
            continue
        seen.add(added.text)
        first = first_new_line + _line_of(hunk.text, added.offset)
        last = first + len(split_lines(added.text.rstrip("\r\n"))) - 1
        found.append(Inserted(added.text, first, last))
    return found


def unlocated(edits: Sequence[TextEdit]) -> list[Inserted]:
    """Return the added part of each edit as a snippet without lines (not found on disk)."""
    found = []
    for edit in edits:
        added = without_blank_edges(added_part(edit.old, edit.new))
        if added.text.strip():
            found.append(Inserted(added.text, None, None))
    return found


def locate(call: HookCall, current: str) -> tuple[list[Inserted], list[str]]:
    """Return the snippets ``call`` inserted into the file whose text is now ``current``.

    Edits whose new text is no longer in the file are still returned, from the payload,
    without lines; the notes say which.
    """
    before, notes = text_before(call, current)
    snippets = inserted_snippets(before, current)
    if notes and not snippets:
        snippets = unlocated(call.edits)
    return snippets, notes
