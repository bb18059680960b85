"""Which edits are AI insertions: the heuristic, as pure functions.

A change is judged by the text it *adds*, not by the shape of its range: editors do not
always send a pure insertion (Neovim sends lines appended with ``nvim_buf_set_lines`` as a
replacement of the line break before them), so the common prefix and suffix of the
removed and inserted text are trimmed first. What is left is an AI insertion when it is
big enough (several non-blank lines, or many characters) and is not one of the look-alikes:
an undo or a paste of text just deleted, a reformatting (a formatter's edits change layout,
quotes and commas, not code), or whitespace.
"""

from __future__ import annotations

import collections
import difflib
import enum
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from ailoop.capture.identity import snippet_id

#: Characters a formatter adds, removes or moves without changing what the code says.
_LAYOUT = frozenset(" \t\r\n\f\v,;'\"()[]{}\\")


@dataclass(frozen=True)
class Thresholds:
    """How big one change must be to count as an AI insertion."""

    min_lines: int = 3
    min_chars: int = 100


class Verdict(str, enum.Enum):
    """Why a change is, or is not, an AI insertion (logged at debug level)."""

    INSERTION = "insertion"
    SMALL = "below the thresholds"
    BLANK = "whitespace only"
    RESHAPE = "reformatting"
    UNDO = "undo or move of text just deleted"


@dataclass(frozen=True)
class Added:
    """The part of a change that is new.

    ``text`` starts ``offset`` code points into the inserted text and replaced ``removed``
    (what is left of the removed text once the common prefix and suffix are trimmed).
    """

    offset: int
    text: str
    removed: str


def added_part(removed: str, inserted: str) -> Added:
    """Trim the common prefix and suffix of ``removed`` and ``inserted``."""
    limit = min(len(removed), len(inserted))
    prefix = 0
    while prefix < limit and removed[prefix] == inserted[prefix]:
        prefix += 1
    suffix = 0
    limit -= prefix
    while suffix < limit and removed[-1 - suffix] == inserted[-1 - suffix]:
        suffix += 1
    return Added(
        prefix,
        inserted[prefix : len(inserted) - suffix],
        removed[prefix : len(removed) - suffix],
    )


def without_blank_edges(added: Added) -> Added:
    r"""Drop the blank lines around the added text, keeping its last line break.

    ``"\\n\\ndef f():\\n    pass\\n\\n"`` becomes ``"def f():\\n    pass\\n"``: a snippet spans
    whole lines of code, not the empty lines an insertion brought along.
    """
    text = added.text
    lead = 0
    while (newline := text.find("\n", lead)) >= 0 and not text[lead:newline].strip():
        lead = newline + 1
    body = text[lead:]
    code = body.rstrip()
    end = len(code)
    if end < len(body) and "\n" in body[end:]:
        end = body.index("\n", end) + 1
    return Added(added.offset + lead, body[:end], added.removed)


def layout_signature(text: str) -> collections.Counter[str]:
    """Return the characters of ``text`` that a formatter would not touch, as a multiset."""
    return collections.Counter(ch for ch in text if ch not in _LAYOUT)


def is_reshape(removed: str, inserted: str) -> bool:
    """Return whether ``inserted`` says the same code as ``removed``, laid out differently."""
    return bool(removed.strip()) and layout_signature(removed) == layout_signature(inserted)


def judge(added: Added, thresholds: Thresholds, recently_deleted: Iterable[str]) -> Verdict:
    """Decide whether the added part of one change is an AI insertion.

    ``recently_deleted`` holds the snippet ids of text deleted lately in the same document:
    inserting such text again is an undo, a redo or a move, not new code.
    """
    text = added.text
    stripped = text.strip()
    if not stripped:
        return Verdict.BLANK
    non_blank = sum(1 for line in stripped.splitlines() if line.strip())
    if non_blank < thresholds.min_lines and len(stripped) < thresholds.min_chars:
        return Verdict.SMALL
    if is_reshape(added.removed, text):
        return Verdict.RESHAPE
    if snippet_id(text) in recently_deleted:
        return Verdict.UNDO
    return Verdict.INSERTION


def is_reshape_batch(removed: Sequence[str], inserted: Sequence[str]) -> bool:
    """Return whether several changes sent together only re-lay-out code (a formatter)."""
    return len(removed) > 1 and is_reshape("".join(removed), "".join(inserted))


@dataclass(frozen=True)
class Hunk:
    """Lines ``start``..``end`` (exclusive) of the old text were replaced by ``text``."""

    start: int
    end: int
    text: str


def line_hunks(old_lines: Sequence[str], new_lines: Sequence[str]) -> list[Hunk]:
    """Diff two texts given as lines into the hunks that turn the old into the new.

    Applied from the last to the first, the hunks rebuild the new text from the old one, so
    a whole-document replacement can go through the same path as incremental changes.
    The lines both texts share at the start and the end are set aside first: a reload
    after an agent's edit changes one region of a long file, and diffing that region alone
    takes milliseconds where the whole file takes hundreds of them. Agent hooks compute
    snippets with this same function, so both sides find the same snippet ids.
    """
    limit = min(len(old_lines), len(new_lines))
    head = 0
    while head < limit and old_lines[head] == new_lines[head]:
        head += 1
    tail = 0
    while tail < limit - head and old_lines[-1 - tail] == new_lines[-1 - tail]:
        tail += 1
    old_part = old_lines[head : len(old_lines) - tail]
    new_part = new_lines[head : len(new_lines) - tail]
    matcher = difflib.SequenceMatcher(None, old_part, new_part, autojunk=False)
    changes = [op for op in matcher.get_opcodes() if op[0] != "equal"]
    hunks = []
    for index, (tag, i1, i2, j1, j2) in enumerate(changes):
        start, end, block = i1 + head, i2 + head, list(new_part[j1:j2])
        if tag == "insert":
            # Where an insertion could go in several places (its first line repeats the
            # line after it), put it as far down as it goes, as git does: a new function
            # appended after a similar one is then one hunk of its own, not the tail of
            # the old one plus the head of the new.
            limit = changes[index + 1][1] + head if index + 1 < len(changes) else len(old_lines)
            while start < limit and block[0] == old_lines[start]:
                block = [*block[1:], block[0]]
                start += 1
            end = start
        hunks.append(Hunk(start, end, "".join(block)))
    return hunks
