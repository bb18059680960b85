"""Follow AI snippets through a document's edits.

Snippet ranges move with edits before them; an edit inside a snippet makes it *modified*
(its current text is kept, with a similarity to what was generated), and a snippet whose
text is gone is *reverted*. An edit is placed by the text it changes, not by the range
the editor sent: an insertion next to a snippet (directly above or below it) leaves the
snippet as it is, whatever shape the editor gave the change. After any sequence of
edits, the range of every live snippet holds exactly ``snippet.current``; for an
unmodified one that is the text it was generated with.

Everything here is pure: the language server turns the results into events and
diagnostics.
"""

from __future__ import annotations

import collections
import difflib
import hashlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field

from ailoop.capture.detect import (
    Thresholds,
    Verdict,
    added_part,
    common_ends,
    is_reshape_batch,
    judge,
    line_hunks,
    without_blank_edges,
)
from ailoop.capture.document import AppliedEdit, Document, Position, split_lines
from ailoop.capture.identity import line_count, snippet_id
from ailoop.positions import TextChange
from ailoop.store.events import Source

#: How many recent deletions a document remembers to tell an undo from new code.
RECENT_DELETIONS = 32


#: Above this many pairs of differing characters, similarity compares lines, not characters.
CHARACTER_BUDGET = 250_000


def similarity(generated: str, current: str) -> float:
    """Return how much of ``generated`` survives in ``current``, from 0.0 to 1.0.

    This is difflib's ratio, 2·M / (len(generated) + len(current)) with M the characters
    both share, computed in time linear in the texts: the lines they share at the start
    and the end count whole, and what is left in between (usually the few lines a person
    edited) is compared character by character when it is small, else line by line (the
    characters of the lines it has in common, in any order). One character typed into a
    1,000-line snippet is measured in well under a millisecond.
    """
    if generated == current:
        return 1.0
    total = len(generated) + len(current)
    if not total:
        return 1.0
    old, new = split_lines(generated), split_lines(current)
    head, tail = common_ends(old, new)
    shared = sum(map(len, old[:head])) + sum(map(len, old[len(old) - tail :]))
    old_mid = "".join(old[head : len(old) - tail])
    new_mid = "".join(new[head : len(new) - tail])
    if len(old_mid) * len(new_mid) <= CHARACTER_BUDGET:
        matcher = difflib.SequenceMatcher(None, old_mid, new_mid, autojunk=False)
        shared += sum(block.size for block in matcher.get_matching_blocks())
    else:
        common = collections.Counter(old[head : len(old) - tail])
        common &= collections.Counter(new[head : len(new) - tail])
        shared += sum(len(line) * count for line, count in common.items())
    return min(round(2 * shared / total, 3), 0.999)  # 1.0 is for the same text only


def _keeps_line_breaks(text: str, rotated: str) -> bool:
    r"""Return whether inserting ``rotated`` elsewhere keeps every CR LF line break whole.

    A rotation of text with a CR in it may start with the LF or end with the CR of a
    ``\r\n`` pair it splits with the document's text at its new place (``"\r\n"``
    inserted after a blank line is not ``"\n\r"`` inserted before it, line by line).
    """
    return "\r" not in text or not (rotated.startswith("\n") or rotated.endswith("\r"))


class Snippet:
    """A piece of AI-written code live in a document.

    ``current`` is the text its range holds now. It is read from the document when asked
    for (an edit inside a long snippet costs no copy of it), and kept once the snippet
    leaves the document. ``revision`` counts the edits that touched it, so that anything
    computed from its text can tell cheaply whether it is still up to date.
    """

    __slots__ = (
        "_current",
        "_document",
        "_measured",
        "end",
        "id",
        "lines",
        "recorded",
        "revision",
        "source",
        "start",
        "text",
        "tool",
        "unrecorded_change",
    )  # fmt: skip

    def __init__(
        self,
        id: str,
        text: str,
        tool: str,
        source: Source,
        start: Position,
        end: Position,
        lines: int,
        document: Document | None = None,
    ) -> None:
        self.id = id
        self.text = text
        self.tool = tool
        self.source = source
        self.start = start
        self.end = end
        self.lines = lines
        #: Set when an edit changed it and no ``modified`` event has been written since.
        self.unrecorded_change = False
        #: Set once its ``generated`` event is stored (or was, in an earlier session or by
        #: an agent hook). Until then the editor is shown nothing about it.
        self.recorded = False
        self.revision = 0
        self._document = document
        self._current: str | None = text
        self._measured: tuple[str, float] | None = None

    def __repr__(self) -> str:
        return (
            f"Snippet({self.id[:12]}, {self.tool}, lines {self.start.line}-{self.end.line}, "
            f"revision {self.revision})"
        )

    @property
    def current(self) -> str:
        """Return the text the snippet holds now."""
        if self._current is None:
            assert self._document is not None
            self._current = self._document.text_in(self.start, self.end)
        return self._current

    @property
    def modified(self) -> bool:
        """Return whether the text differs from what was generated."""
        return self.revision > 0 and self.current != self.text

    @property
    def known_similarity(self) -> float | None:
        """Return the similarity to the generated text if it is known for the current text.

        ``None`` means it has to be measured (with :func:`similarity`, off the event loop)
        and handed back with :meth:`remember_similarity`.
        """
        if not self.modified:
            return 1.0
        if self._measured is not None and self._measured[0] is self.current:
            return self._measured[1]
        return None

    def remember_similarity(self, current: str, value: float) -> None:
        """Keep ``value`` as the similarity of ``current`` (if that is still the text)."""
        if current is self.current:
            self._measured = (current, value)

    def touched(self) -> None:
        """Note that an edit changed the text inside the snippet."""
        self.revision += 1
        self._current = None
        self.unrecorded_change = True

    def detach(self) -> None:
        """Keep the current text and let go of the document (the snippet left it)."""
        self._current = self.current
        self._document = None


@dataclass
class ChangeResult:
    """What a batch of changes did to a document's snippets."""

    new: list[Snippet] = field(default_factory=list)
    modified: list[Snippet] = field(default_factory=list)
    reverted: list[Snippet] = field(default_factory=list)
    moved: bool = False
    problems: list[str] = field(default_factory=list)
    #: Why each change was or was not an AI insertion (for the debug log).
    verdicts: list[Verdict] = field(default_factory=list)


def _shift(position: Position, edit: AppliedEdit) -> Position:
    """Move a position at or after the edit's old end to where that text is now."""
    if position.line == edit.old_end.line:
        return Position(edit.new_end.line, edit.new_end.char + position.char - edit.old_end.char)
    return Position(position.line + edit.new_end.line - edit.old_end.line, position.char)


def _digest(text: str) -> bytes:
    """Fingerprint a whole text cheaply (to tell a revert to the saved text)."""
    return hashlib.blake2b(text.encode("utf-8", "surrogatepass"), digest_size=16).digest()


def advance(start: Position, text: str) -> Position:
    """Return the position reached by writing ``text`` from ``start``."""
    lines = split_lines(text)
    if len(lines) == 1:
        return Position(start.line, start.char + len(text))
    return Position(start.line + len(lines) - 1, len(lines[-1]))


class TrackedDocument:
    """An open document and the AI snippets live in it."""

    def __init__(
        self,
        uri: str,
        language_id: str,
        version: int,
        text: str,
        *,
        encoding: str = "utf-16",
        thresholds: Thresholds | None = None,
    ) -> None:
        self.uri = uri
        self.language_id = language_id
        self.version = version
        self.doc = Document(text, encoding)
        self.thresholds = thresholds or Thresholds()
        self.snippets: list[Snippet] = []
        self.saved_version = version
        self._saved = _digest(text)
        self._recently_deleted: collections.deque[str] = collections.deque(maxlen=RECENT_DELETIONS)
        #: Where the last change's text went (the last edit of the last ``apply``).
        self.last_inserted: tuple[Position, Position] | None = None

    # -- queries ------------------------------------------------------------------------

    def snippet(self, snippet_id_: str) -> Snippet | None:
        """Return the live snippet with this id, if any."""
        return next((s for s in self.snippets if s.id == snippet_id_), None)

    @property
    def shown(self) -> list[Snippet]:
        """Return the live snippets the editor is told about (their event is stored)."""
        return [s for s in self.snippets if s.recorded]

    def snippets_at(self, start: Position, end: Position) -> Iterator[Snippet]:
        """Yield the live snippets that ``start``..``end`` touches (ends included).

        This is what a cursor or selection is "in": a cursor at a snippet's first or last
        character counts.
        """
        for snippet in self.snippets:
            if snippet.start <= end and start <= snippet.end:
                yield snippet

    def overlaps(self, start: Position, end: Position) -> bool:
        """Return whether ``start``..``end`` shares text with a live snippet."""
        return any(s.start < end and start < s.end for s in self.snippets)

    @property
    def dirty(self) -> bool:
        """Return whether the text changed since it was opened or saved."""
        return self.version != self.saved_version

    # -- snippets -----------------------------------------------------------------------

    def add(
        self,
        start: Position,
        end: Position,
        tool: str,
        source: Source,
        *,
        generated: str | None = None,
    ) -> Snippet | None:
        """Start tracking the text between ``start`` and ``end`` as a snippet.

        ``generated`` is the text it was generated with when that is not the text there
        now: a snippet edited in an earlier session, picked up again. It keeps its id and
        is modified from the start (its ``modified`` event was written then).

        Returns ``None`` when it is blank or overlaps a live snippet (which then stays the
        one tracked there).
        """
        text = self.doc.text_in(start, end)
        if not text.strip() or self.overlaps(start, end):
            return None
        original = text if generated is None else generated
        snippet = Snippet(
            snippet_id(original),
            original,
            tool,
            source,
            start,
            end,
            lines=line_count(original),
            document=self.doc,
        )
        if original != text:
            snippet.touched()
            snippet.unrecorded_change = False
        self.snippets.append(snippet)
        self.snippets.sort(key=lambda s: s.start)
        return snippet

    def find(self, text: str) -> tuple[Position, Position] | None:
        """Return the range of the first occurrence of ``text`` that is not tracked yet."""
        whole = self.doc.text
        index = whole.find(text)
        while index >= 0:
            start = advance(Position(0, 0), whole[:index])
            end = advance(start, text)
            if not self.overlaps(start, end):
                return start, end
            index = whole.find(text, index + 1)
        return None

    def remove(self, snippet: Snippet) -> None:
        """Stop tracking ``snippet`` (after its outcome is recorded)."""
        snippet.detach()
        self.snippets.remove(snippet)

    def clear(self) -> None:
        """Stop tracking every snippet (the document closed)."""
        for snippet in self.snippets:
            snippet.detach()
        self.snippets = []

    def mark_saved(self, version: int | None = None) -> None:
        """Record that the current text is what is on disk."""
        self.saved_version = self.version if version is None else version
        self._saved = _digest(self.doc.text)

    # -- changes ------------------------------------------------------------------------

    def apply(
        self,
        changes: Sequence[TextChange],
        version: int,
        *,
        detect: bool = True,
        accept_small: bool = False,
        on_text: Callable[[ChangeResult], None] | None = None,
    ) -> ChangeResult:
        """Apply one ``didChange`` worth of changes, in order, and follow the snippets.

        ``accept_small``: a client announced an AI insertion, so one below the thresholds
        counts too (a one-line completion). ``on_text`` is called as soon as the document
        holds the new text (and ``result.problems`` is complete), before the last change is
        searched for a snippet, so that the caller can pass the edit on without waiting.
        """
        result = ChangeResult()
        thresholds = Thresholds(1, 1) if accept_small else self.thresholds
        edits: list[AppliedEdit] = []
        to_detect: AppliedEdit | None = None
        for client_range, text in changes:
            if to_detect is not None:  # before the next edit, which moves what it finds
                self._detect(to_detect, result, thresholds)
                to_detect = None
            if client_range is None:
                edits.extend(self._replace_all(text, result, detect=detect))
                continue
            (sl, sc), (el, ec) = client_range
            start, bad_start = self.doc.to_position(sl, sc)
            end, bad_end = self.doc.to_position(el, ec)
            if bad_start or bad_end or end < start:
                end = max(start, end)
                result.problems.append(
                    f"{self.uri}: change range {sl}:{sc}-{el}:{ec} does not exist in version "
                    f"{self.version}; applied to {start.line}:{start.char}-{end.line}:{end.char}"
                )
            edit, change = self._apply_edit(start, end, text, result)
            edits.append(edit)
            if detect:
                to_detect = change
        self.version = version
        self.last_inserted = (edits[-1].start, edits[-1].new_end) if edits else None
        if on_text is not None:
            on_text(result)
        if to_detect is not None:
            self._detect(to_detect, result, thresholds)
        if result.new and is_reshape_batch([e.removed for e in edits], [e.inserted for e in edits]):
            self._forget_new(result)
        for edit in edits:
            removed = added_part(edit.removed, edit.inserted).removed
            if removed.strip():
                self._recently_deleted.append(snippet_id(removed))
        return result

    def _forget_new(self, result: ChangeResult) -> None:
        """Drop the snippets this batch created: the batch turned out to be a formatter's."""
        new = {id(s) for s in result.new}
        self.snippets = [s for s in self.snippets if id(s) not in new]
        result.modified = [s for s in result.modified if id(s) not in new]
        result.reverted = [s for s in result.reverted if id(s) not in new]
        result.verdicts = [
            Verdict.RESHAPE if v is Verdict.INSERTION else v for v in result.verdicts
        ]
        result.new = []

    def _replace_all(self, text: str, result: ChangeResult, *, detect: bool) -> list[AppliedEdit]:
        """Apply a whole-document replacement as line hunks, from the bottom up.

        Going bottom-up keeps every hunk's line numbers valid when it is applied, and the
        snippets found in lower hunks are shifted by the higher ones like any snippet.
        Returning to the text last opened or saved (a revert, a reload of an unchanged file)
        is not new code: its hunks move and revert snippets but create none.
        """
        detect = detect and _digest(text) != self._saved
        edits = []
        for hunk in reversed(line_hunks(self.doc.lines, split_lines(text))):
            start = Position(hunk.start, 0)
            end = Position(hunk.end, 0) if hunk.end < len(self.doc.lines) else self.doc.end
            edit, change = self._apply_edit(start, end, hunk.text, result)
            edits.append(edit)
            if detect:
                self._detect(change, result, self.thresholds)
        return edits

    def _apply_edit(
        self, start: Position, end: Position, text: str, result: ChangeResult
    ) -> tuple[AppliedEdit, AppliedEdit | None]:
        """Replace ``start``..``end`` by ``text`` and follow the snippets through it.

        Returns the edit as the editor sent it, and what it changed (see
        :meth:`_effective`), or ``None`` when it wrote the same text again.
        """
        edit = self.doc.replace(start, end, text)
        change = self._effective(edit)
        if change is None:
            return edit, None
        survivors = []
        for snippet in self.snippets:
            if change.old_end <= snippet.start:  # before it (an insertion right above too)
                if change.old_end != change.new_end:
                    snippet.start = _shift(snippet.start, change)
                    snippet.end = _shift(snippet.end, change)
                    result.moved = True
                survivors.append(snippet)
                continue
            if change.start >= snippet.end:  # after it (an insertion right below too)
                survivors.append(snippet)
                continue
            # The change is inside the snippet, or overlaps it: it spans the new text too.
            snippet.start = min(snippet.start, change.start)
            snippet.end = (
                _shift(snippet.end, change) if snippet.end > change.old_end else change.new_end
            )
            snippet.touched()
            result.moved = True
            if self._blank(snippet.start, snippet.end):
                snippet.detach()
                result.reverted.append(snippet)
                continue
            if snippet not in result.modified:
                result.modified.append(snippet)
            survivors.append(snippet)
        self.snippets = survivors
        return edit, change

    def _effective(self, edit: AppliedEdit) -> AppliedEdit | None:
        r"""Return the part of ``edit`` that changed the text, placed outside snippets if it can be.

        What the removed and the inserted text have in common at both ends is set aside:
        Neovim sends lines appended under line 4 as a replacement of line 4's line break
        by ``"\n<new lines>\n"``, which changes nothing before line 5. A pure insertion
        that lands inside a snippet but could equally stand at its end or its start (the
        same text results) goes there: ``"\n<new lines>"`` inserted at the end of a
        snippet's last line is the same as ``"<new lines>\n"`` inserted under it. Only
        what cannot be placed outside a snippet is inside it. The cost grows with the
        edit, never with the snippet or the document.
        """
        removed, inserted = edit.removed, edit.inserted
        added = added_part(removed, inserted)
        offset, gone, text = added.offset, added.removed, added.text
        if offset and inserted[offset - 1] == "\r":  # keep a CR LF line break whole
            offset -= 1
            gone, text = removed[offset] + gone, inserted[offset] + text
        cut = offset + len(text)
        if (text.endswith("\r") or gone.endswith("\r")) and inserted[cut : cut + 1] == "\n":
            gone, text = gone + "\n", text + "\n"
        if not gone and not text:
            return None
        if not offset and len(gone) == len(removed) and len(text) == len(inserted):
            change = edit  # nothing in common: as sent
        else:
            start = advance(edit.start, inserted[:offset])
            change = AppliedEdit(start, advance(start, gone), advance(start, text), gone, text)
        if gone:
            return change
        at, text = self._outside_snippets(change.start, text)
        if at == change.start:
            return change
        return AppliedEdit(at, at, advance(at, text), "", text)

    def _outside_snippets(self, at: Position, text: str) -> tuple[Position, str]:
        """Move an insertion of ``text`` at ``at`` to the edge of the snippet it is in.

        Inserting ``text`` at ``at`` gives the same document as inserting it rotated by
        ``k`` characters ``k`` characters later, when the document's next ``k``
        characters are ``text``'s first (and the same backwards). An insertion strictly
        inside a snippet that can go to its end or start that way is next to it.
        """
        for snippet in self.snippets:
            if snippet.start < at < snippet.end:
                break
        else:
            return at, text
        # The document already holds the insertion: what followed ``at`` is after it now.
        inserted = AppliedEdit(at, at, advance(at, text), "", text)
        after = self._lead_length(text, inserted.new_end, _shift(snippet.end, inserted))
        if (k := after) is not None and _keeps_line_breaks(text, rotated := text[k:] + text[:k]):
            return snippet.end, rotated
        k = self._tail_length(text, snippet.start, at)  # the snippet's start is unmoved
        if k is not None and _keeps_line_breaks(text, rotated := text[-k:] + text[:-k]):
            return snippet.start, rotated
        return at, text

    def _pieces(
        self, start: Position, end: Position, *, backwards: bool = False
    ) -> Iterator[tuple[int, int, int]]:
        """Yield ``(line, first, stop)``, the span of each line of ``start``..``end``, lazily."""
        lines = self.doc.lines
        numbers = range(start.line, end.line + 1)
        for number in reversed(numbers) if backwards else numbers:
            first = start.char if number == start.line else 0
            stop = end.char if number == end.line else len(lines[number])
            yield number, first, stop

    def _lead_length(self, text: str, start: Position, end: Position) -> int | None:
        """Return the length of the document's ``start``..``end`` if ``text`` begins with it.

        It reads no more of the document than ``text`` holds.
        """
        lines = self.doc.lines
        offset = 0
        for number, first, stop in self._pieces(start, end):
            if offset + stop - first > len(text):
                return None
            if not text.startswith(lines[number][first:stop], offset):
                return None
            offset += stop - first
        return offset

    def _tail_length(self, text: str, start: Position, end: Position) -> int | None:
        """Return the length of the document's ``start``..``end`` if ``text`` ends with it."""
        lines = self.doc.lines
        offset = 0
        for number, first, stop in self._pieces(start, end, backwards=True):
            if offset + stop - first > len(text):
                return None
            if not text.endswith(lines[number][first:stop], 0, len(text) - offset):
                return None
            offset += stop - first
        return offset

    def _blank(self, start: Position, end: Position) -> bool:
        """Return whether only whitespace stands between ``start`` and ``end``.

        It stops at the first character that is not: the cost does not grow with a long
        snippet that still has code at its start.
        """
        lines = self.doc.lines
        for number in range(start.line, end.line + 1):
            line = lines[number]
            if number == end.line:
                line = line[: end.char]
            if number == start.line:
                line = line[start.char :]
            if line.strip():
                return False
        return True

    def _detect(
        self, edit: AppliedEdit | None, result: ChangeResult, thresholds: Thresholds
    ) -> None:
        if edit is None:  # the same text written again
            result.verdicts.append(Verdict.BLANK)
            return
        added = added_part(edit.removed, edit.inserted)
        verdict = judge(added, thresholds, self._recently_deleted)
        result.verdicts.append(verdict)
        if verdict is not Verdict.INSERTION:
            return
        added = without_blank_edges(added)
        start = advance(edit.start, edit.inserted[: added.offset])
        end = advance(start, added.text)
        snippet = self.add(start, end, "unknown", Source.HEURISTIC)
        if snippet is not None:
            result.new.append(snippet)
