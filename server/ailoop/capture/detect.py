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

import bisect
import collections
import difflib
import enum
from collections.abc import Iterable, Iterator, Sequence
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


#: Above this many pairs of lines, the part of two texts between their common ends is
#: diffed by anchoring on lines unique to both (patience diff) before any finer diff.
LINE_BUDGET = 250_000


def common_ends(a: Sequence[str], b: Sequence[str]) -> tuple[int, int]:
    """Return how many items ``a`` and ``b`` share at the start, then at the end."""
    limit = min(len(a), len(b))
    head = 0
    while head < limit and a[head] == b[head]:
        head += 1
    tail = 0
    while tail < limit - head and a[-1 - tail] == b[-1 - tail]:
        tail += 1
    return head, tail


def _longest_increasing(pairs: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """Return the longest run of ``pairs`` (sorted by the first) increasing in the second."""
    tail_values: list[int] = []  # the smallest last second item of a run of each length
    tail_index: list[int] = []
    before = [-1] * len(pairs)
    for index, (_, j) in enumerate(pairs):
        length = bisect.bisect_left(tail_values, j)
        if length:
            before[index] = tail_index[length - 1]
        if length == len(tail_values):
            tail_values.append(j)
            tail_index.append(index)
        else:
            tail_values[length] = j
            tail_index[length] = index
    run = []
    index = tail_index[-1] if tail_index else -1
    while index >= 0:
        run.append(pairs[index])
        index = before[index]
    return run[::-1]


#: How many times a gap between anchors is split again before it is left unmatched.
MAX_SPLITS = 24


def _matching_blocks(
    a: Sequence[str], b: Sequence[str], a0: int, a1: int, b0: int, b1: int, depth: int = 0
) -> Iterator[tuple[int, int, int]]:
    """Yield ``(i, j, size)`` for runs of equal lines of ``a[a0:a1]`` and ``b[b0:b1]``.

    Small ranges go to difflib as they are. Larger ones are split at the lines that occur
    exactly once in each (in an order both keep), and each gap between two such anchors
    is matched the same way; a large gap with no anchor is left unmatched. That keeps
    the time near linear for any input, repetitive or not.
    """
    if a0 == a1 or b0 == b1:
        return
    if a[a0] == b[b0] or a[a1 - 1] == b[b1 - 1]:  # equal ends first: no diff needed there
        head, tail = common_ends(a[a0:a1], b[b0:b1])
        if head:
            yield a0, b0, head
        yield from _matching_blocks(a, b, a0 + head, a1 - tail, b0 + head, b1 - tail, depth)
        if tail:
            yield a1 - tail, b1 - tail, tail
        return
    if (a1 - a0) * (b1 - b0) <= LINE_BUDGET:
        matcher = difflib.SequenceMatcher(None, a[a0:a1], b[b0:b1], autojunk=False)
        for i, j, size in matcher.get_matching_blocks():
            if size:
                yield a0 + i, b0 + j, size
        return
    count_a = collections.Counter(a[a0:a1])
    count_b = collections.Counter(b[b0:b1])
    where_b = {line: j for j in range(b0, b1) if count_b[line := b[j]] == 1}
    pairs = [
        (i, where_b[line]) for i in range(a0, a1) if count_a[line := a[i]] == 1 and line in where_b
    ]
    anchors = _longest_increasing(pairs)
    if not anchors or depth >= MAX_SPLITS:
        return
    i, j = a0, b0
    for anchor_i, anchor_j in anchors:
        if i < anchor_i and j < anchor_j:  # (a gap with one side empty has no match)
            yield from _matching_blocks(a, b, i, anchor_i, j, anchor_j, depth + 1)
        yield anchor_i, anchor_j, 1
        i, j = anchor_i + 1, anchor_j + 1
    yield from _matching_blocks(a, b, i, a1, j, b1, depth + 1)


def _opcodes(a: Sequence[str], b: Sequence[str]) -> list[tuple[str, int, int, int, int]]:
    """Return the changes that turn ``a`` into ``b``, as difflib's opcodes without "equal"."""
    changes = []
    i = j = 0
    blocks = [*_matching_blocks(a, b, 0, len(a), 0, len(b)), (len(a), len(b), 0)]
    for block_i, block_j, size in blocks:
        if i < block_i and j < block_j:
            changes.append(("replace", i, block_i, j, block_j))
        elif i < block_i:
            changes.append(("delete", i, block_i, j, block_j))
        elif j < block_j:
            changes.append(("insert", i, block_i, j, block_j))
        i, j = block_i + size, block_j + size
    return changes


def line_hunks(old_lines: Sequence[str], new_lines: Sequence[str]) -> list[Hunk]:
    """Diff two texts given as lines into the hunks that turn the old into the new.

    Applied from the last to the first, the hunks rebuild the new text from the old one, so
    a whole-document replacement can go through the same path as incremental changes.
    The lines both texts share at the start and the end are set aside first: a reload
    after an agent's edit changes one region of a long file, and diffing that region alone
    takes milliseconds where the whole file takes hundreds of them. What is left is diffed
    in near-linear time whatever its size (see ``_matching_blocks``). Agent hooks compute
    snippets with this same function, so both sides find the same snippet ids.
    """
    head, tail = common_ends(old_lines, new_lines)
    old_part = old_lines[head : len(old_lines) - tail]
    new_part = new_lines[head : len(new_lines) - tail]
    changes = _opcodes(old_part, new_part)
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
