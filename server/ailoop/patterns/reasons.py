"""Free-text rejection reasons: normalize them and group the ones that say the same thing.

"Bare except!", "avoid bare excepts." and "bare except - swallows errors" all normalize
to ``bare except``: case folded, first sentence or clause only, punctuation and filler
words dropped, simple plurals singularized. Groups keep the most common original
wording as their label.
"""

from __future__ import annotations

import dataclasses
import re
from collections import Counter
from collections.abc import Iterable

#: Words that carry no meaning in a short review note.
_FILLER = frozenset(
    {
        "a", "an", "the", "please", "pls", "don't", "dont", "do", "not", "no", "never",
        "avoid", "use", "using", "used", "this", "that", "these", "those", "here", "there",
        "is", "are", "be", "it", "its", "it's", "we", "you", "should", "shouldn't", "must",
        "again", "instead", "of", "in", "on", "for", "to", "with",
    }
)  # fmt: skip

_CLAUSE_END = re.compile(r"[.;!?\n]|\s[-\u2013\u2014:]\s|\s\(")
_WORD = re.compile(r"[\w'`]+")


def _singular(word: str) -> str:
    if len(word) > 3 and word.endswith("ies"):
        return word[:-3] + "y"
    if len(word) > 3 and word.endswith("s") and not word.endswith(("ss", "us", "is")):
        return word[:-1]
    return word


def normalize_reason(reason: str) -> str:
    """Return the grouping key of a free-text reason ('' when nothing meaningful is left)."""
    text = reason.strip().casefold()
    first = _CLAUSE_END.split(text, maxsplit=1)[0] if text else ""
    words = [w.strip("'`") for w in _WORD.findall(first or text)]
    kept = [s for s in map(_singular, words) if s and s not in _FILLER]
    if not kept:  # the reason was only filler words: keep them rather than lose it
        kept = [w for w in words if w]
    return " ".join(kept)


@dataclasses.dataclass(frozen=True)
class ReasonGroup:
    """Rejections whose reasons normalize to the same ``key``."""

    key: str
    label: str  # the most common original wording
    count: int
    recent: int
    patterns: tuple[str, ...]  # patterns picked or found alongside, most frequent first

    def to_json(self) -> dict[str, object]:
        """Return the group as a JSON-ready dict."""
        return dataclasses.asdict(self)


def group_reasons(
    reasons: Iterable[tuple[str, bool, Iterable[str]]], min_count: int = 1
) -> list[ReasonGroup]:
    """Group ``(reason, recent, pattern keys)`` triples; most frequent groups first."""
    counts: Counter[str] = Counter()
    recent: Counter[str] = Counter()
    wordings: dict[str, Counter[str]] = {}
    alongside: dict[str, Counter[str]] = {}
    for reason, is_recent, keys in reasons:
        key = normalize_reason(reason)
        if not key:
            continue
        counts[key] += 1
        recent[key] += is_recent
        wordings.setdefault(key, Counter())[" ".join(reason.split())] += 1
        alongside.setdefault(key, Counter()).update(set(keys))
    groups = [
        ReasonGroup(
            key=key,
            label=wordings[key].most_common(1)[0][0],
            count=count,
            recent=recent[key],
            patterns=tuple(k for k, _ in alongside[key].most_common(3)),
        )
        for key, count in counts.items()
        if count >= min_count
    ]
    groups.sort(key=lambda g: (-g.count, -g.recent, g.key))
    return groups
