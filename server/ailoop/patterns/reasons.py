"""Free-text rejection reasons and review texts: group the ones that say the same thing.

A reason is first cleaned of what is not its author's own words about the code
(:func:`strip_markup`): HTML comments and tags, fenced and inline code, diff hunks,
block quotes (``> …``), markdown headings, URLs, @mentions and slash-command lines
(``/azp run``, ``/retest``). A text that looks generated (three or more markdown
headings, a markdown table under a heading, an "auto-generated" HTML comment), a text
by a bot author (``…[bot]`` or a name in ``bot_authors``) and a text left with nothing
but approval and filler words ("LGTM", "+1", "looks good", "see comment") is dropped.

What is left is split into sentences, and each sentence into content words: stop and
filler words dropped, the rest stemmed by a small suffix stemmer (:func:`stem`: plurals,
``-ing``, ``-ed``, ``-er``, ``-ly``, ``-ation``…), with a few obvious synonyms mapped to
one concept (:data:`CONCEPTS`: ci / pipeline / build; lint / linter / eslint / ruff…).
A word no other reason in the batch has is left out when grouping (it cannot group).

Grouping (:func:`group_reasons`) is deterministic leader clustering: distinct texts are
taken shortest first; a text joins the group whose word counts are most similar to one
of its sentences (cosine of the sentence's stem set and the group's stem counts at least
:data:`SIMILARITY`), or starts a group. Candidate groups come from an index of stems, so
the work grows with the texts times the groups that share a word with them. A group is
labelled with its characteristic stems (in more than half of its members; at most
:data:`LABEL_WORDS`), each shown as its most common word, in the order a member uses
them: "tests are failing", "the CI tests fail on this" and "fix the failing unit tests"
are one group, labelled ``tests fail``.

A group's label is its key: ``ailoop patterns promote`` writes it to ``reasons``, and
:func:`promoted_key` maps a later reason to the promoted pattern by the same similarity
(the cosine of one of its sentences and the key's stems, which must share two of the
key's words when it has two or more), so a key written by an older version
(``"bare except"``) keeps working.

Only the first :data:`MAX_CHARS` characters of a text are read. Texts are data: what is
shown (labels, examples) is bounded and cleaned by :func:`ailoop.text.clean`.
"""

from __future__ import annotations

import dataclasses
import functools
import math
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence

from ailoop.text import clean

#: How much of a reason is read (review bodies can be long).
MAX_CHARS = 4000
#: Least cosine similarity of a sentence and a group (or a promoted key) to join it.
SIMILARITY = 0.5
#: Most words in a group's label.
LABEL_WORDS = 6
#: Longest example text shown for a group.
EXAMPLE_CHARS = 100
#: Most sentences and distinct stems per sentence a text contributes.
_MAX_UNITS = 12
_MAX_STEMS = 24

#: Words that say nothing about the code: function words, review filler, approval words
#: and the words of review templates. Checked before and after stemming.
_STOP_TEXT = """
    a about above after again against all also am an and any are as at be because been
    before being below between both but by can cannot could did do does doing don't done
    dont down during each either else etc even ever every few for from further get gets
    got had has have having he her here hers him his how i i'd i'm i've if in into is
    isn't it it's its itself just let let's lets me more most much must my myself need
    needs no nor not now of off on once one only or other our ours out over own per
    perhaps maybe quite rather really same shall she should shouldn't so some still such
    than that that's the their theirs them then there these they this those though
    through thus to too under until up upon us very via was wasn't we we're were what
    when where whether which while who whom why will with within without won't would
    wouldn't yet you you're your yours
    please pls plz thanks thank thx ty kindly sorry hi hello hey
    lgtm sgtm approve approved approving approval looks look looking good great nice
    fine ok okay awesome perfect cool ship lg yes yep
    code review reviewed reviewing reviewer summary overview comment comments commented
    see seen pr prs pull request requests change changes changed
    fix fixed fixes fixing nit nits minor note notes like think thought sure make made
    try tried retry instead something anything thing things way bit lot well
    avoid use used using uses
"""
STOP_WORDS = frozenset(_STOP_TEXT.split())

#: Synonyms mapped to one concept (stems on the left, after :func:`stem`).
CONCEPTS = {
    "pipelin": "ci", "build": "ci", "workflow": "ci", "ci": "ci",
    "linter": "lint", "eslint": "lint", "ruff": "lint", "flake": "lint", "pylint": "lint",
    "prettier": "format", "reformat": "format",
    "pytest": "test", "unittest": "test",
    "red": "fail", "broken": "fail",
    "renam": "nam",
    "document": "doc", "docstr": "doc",
    "exception": "except",
}  # fmt: skip

#: Irregular forms the suffix rules get wrong.
_IRREGULAR = {"failure": "fail", "failures": "fail", "docs": "doc", "ci": "ci"}

_VOWELS = frozenset("aeiouy")
_DERIVATIONAL = ("ations", "ation", "ments", "ment", "ness", "able", "ible", "ate", "ly", "er")


def _undouble(word: str) -> str:
    if len(word) > 3 and word[-1] == word[-2] and word[-1] not in "aeioulsz":
        return word[:-1]
    return word


@functools.lru_cache(maxsize=65536)
def stem(word: str) -> str:
    """Return the stem of a casefolded word (a small suffix stemmer), mapped to its concept.

    "tests", "testing", "tested" → ``test``; "failing", "failed", "failure" → ``fail``;
    "formatting", "formatter" → ``format``; "pipeline", "build" → ``ci``.
    """
    if word in _IRREGULAR:
        return CONCEPTS.get(_IRREGULAR[word], _IRREGULAR[word])
    w = word
    if len(w) > 4 and w.endswith("ies"):
        w = w[:-3] + "y"
    elif w.endswith("sses"):
        w = w[:-2]
    elif len(w) > 3 and w.endswith("s") and not w.endswith(("ss", "us", "is")):
        w = w[:-1]
    for suffix in ("ing", "ed"):
        base = w[: -len(suffix)]
        if w.endswith(suffix) and len(base) >= 3 and _VOWELS.intersection(base):
            # like Porter's step 1b: validat(ed) → validate, formatt(ing) → format
            w = base + "e" if base.endswith(("at", "iz", "bl")) else _undouble(base)
            break
    for suffix in _DERIVATIONAL:
        if w.endswith(suffix) and len(w) - len(suffix) >= 3:
            w = _undouble(w[: -len(suffix)])
            break
    if len(w) > 3 and w.endswith("e"):
        w = w[:-1]
    return CONCEPTS.get(w, w)


# Markup -----------------------------------------------------------------------------

_HTML_COMMENT = re.compile(r"<!--(.*?)(?:-->|\Z)", re.S)
_FENCE = re.compile(r"^[ \t]*(`{3,}|~{3,})[^\n]*\n.*?(?:^[ \t]*\1[ \t]*$|\Z)", re.S | re.M)
_INLINE_FENCE = re.compile(r"```.*?(?:```|\Z)", re.S)
_INLINE_CODE = re.compile(r"`[^`\n]{0,400}`")
_IMAGE = re.compile(r"!\[[^\]\n]{0,300}\]\([^)\n]{0,500}\)")
_LINK = re.compile(r"\[([^\]\n]{0,300})\]\([^)\n]{0,500}\)")
_URL = re.compile(r"\b(?:https?|ftp)://\S+|\bwww\.\S+", re.I)
_TAG = re.compile(r"</?[A-Za-z][^<>\n]{0,300}>")
_ENTITY = re.compile(r"&(?:[A-Za-z]{2,8}|#\d{1,6});")
_MENTION = re.compile(r"(?<![\w@.])@[A-Za-z0-9][\w.-]*(?:/[\w.-]+)?(?:\[bot\])?")
_HUNK_HEADER = re.compile(r"@@ [^@\n]{0,200}@@")
_HEADING = re.compile(r"^[ \t]{0,3}#{1,6}(?:[ \t]|$)")
_INLINE_HEADING = re.compile(r"(?:^|\s)#{1,6}\s")
_SETEXT = re.compile(r"^[ \t]*(?:=+|-{3,})[ \t]*$")
_SLASH_COMMAND = re.compile(r"^[ \t]*/[A-Za-z][\w-]*(?:\s|$)")
_BOT_COMMAND = re.compile(r"\A\s*@[\w.\[\]/-]+(?:\s+[^\s@]+){0,2}\s*\Z")
_TABLE_ROW = re.compile(r"^[ \t]*\|.*\|[ \t]*$")
_LIST_MARKER = re.compile(r"^[ \t]*(?:[-*+]|\d{1,3}[.)])[ \t]+(?:\[[ xX]\][ \t]+)?")
_DIFF_START = ("diff --git", "+++ ", "--- a/", "--- /dev/null", "index ")
_GENERATED = re.compile(r"auto-?generated|generated by|\bbot\b", re.I)

_WORD = re.compile(r"[^\W\d_]+(?:['\u2019][^\W\d_]+)*")
_SENTENCE_END = re.compile(r"[.!?;:]+(?=\s|$)|\n|\s[-\u2013\u2014]+\s|\s\(|\)")


def _strip(text: str, keep_inline_code: bool) -> tuple[str, bool]:
    """Return the text without markup (newlines kept) and whether it looks generated."""
    generated = False

    def comment(match: re.Match[str]) -> str:
        nonlocal generated
        generated = generated or bool(_GENERATED.search(match.group(1)))
        return " "

    text = _HTML_COMMENT.sub(comment, text)
    text = _FENCE.sub("\n", text)
    text = _INLINE_FENCE.sub(" ", text)
    text = text.replace("`", " ") if keep_inline_code else _INLINE_CODE.sub(" ", text)
    text = _IMAGE.sub(" ", text)
    text = _LINK.sub(r"\1", text)
    text = _URL.sub(" ", text)
    text = _TAG.sub(" ", text)
    text = _ENTITY.sub(" ", text)
    headings = tables = 0
    kept: list[str] = []
    in_hunk = False
    multi_line = "\n" in text.strip()
    for line in text.split("\n"):
        bare = line.strip()
        if bare.startswith("@@"):
            in_hunk = True
            continue
        if bare.startswith(_DIFF_START):
            continue
        if in_hunk and line[:1] in ("+", "-", " ", "\\") and bare:
            continue
        in_hunk = False
        if multi_line and _HEADING.match(line):
            headings += 1
            continue
        if _TABLE_ROW.match(line):
            tables += 1
            continue
        if bare.startswith(">") or _SLASH_COMMAND.match(line) or _SETEXT.match(line):
            continue
        kept.append(_LIST_MARKER.sub("", line))
    text = "\n".join(kept)
    headings += len(_INLINE_HEADING.findall(text))  # a flattened template: "## Code Review"
    text = _INLINE_HEADING.sub(" ", text)
    text = _HUNK_HEADER.sub(" ", text)
    if _BOT_COMMAND.match(text):  # "@dependabot rebase", "@copilot try again"
        text = ""
    text = _MENTION.sub(" ", text)
    if _SLASH_COMMAND.match(text):  # a one-line text that is a command: "/azp run"
        text = ""
    generated = generated or headings >= 3 or (headings >= 1 and tables >= 2)
    lines = (" ".join(line.split()) for line in text.split("\n"))
    return "\n".join(line for line in lines if line), generated


def strip_markup(text: str) -> str:
    """Return what a reason says in its author's words, markup removed ('' if nothing).

    Empty too for a text that looks generated (see the module docstring). Reads at most
    :data:`MAX_CHARS` characters; control characters are removed.
    """
    prepared = _prepare(text[:MAX_CHARS])
    return prepared.shown if prepared else ""


def is_bot_author(author: str | None, bot_authors: Iterable[str] = ()) -> bool:
    """Whether ``author`` is a bot: an account ending in ``[bot]`` or one of ``bot_authors``."""
    if not author:
        return False
    name = author.strip().casefold()
    return name.endswith("[bot]") or name in {b.strip().casefold() for b in bot_authors}


# Content words ------------------------------------------------------------------------

#: One sentence: its distinct stems in order, with the word each was written as.
_Unit = tuple[tuple[str, str], ...]


@dataclasses.dataclass(frozen=True)
class _Prepared:
    shown: str  # the text without markup, one line
    units: tuple[_Unit, ...]  # the sentences with content words
    stems: frozenset[str]  # of all its sentences


def _units(text: str, keep_stop_words: bool = False) -> tuple[_Unit, ...]:
    units: list[_Unit] = []
    for sentence in _SENTENCE_END.split(text):
        seen: dict[str, str] = {}
        for word in _WORD.findall(sentence):
            folded = word.casefold().replace("\u2019", "'")
            if len(folded) < 2 or (not keep_stop_words and folded in STOP_WORDS):
                continue
            stemmed = stem(folded)
            if keep_stop_words or stemmed not in STOP_WORDS:
                seen.setdefault(stemmed, word)
            if len(seen) >= _MAX_STEMS:
                break
        if seen:
            units.append(tuple(seen.items()))
            if len(units) >= _MAX_UNITS:
                break
    return tuple(units)


@functools.lru_cache(maxsize=4096)
def _prepare(text: str) -> _Prepared | None:
    """Clean, strip and split one reason (cached: reasons repeat)."""
    raw = clean(text[:MAX_CHARS], MAX_CHARS, keep_newlines=True)
    shown, generated = _strip(raw, keep_inline_code=False)
    if generated:
        return None
    units = _units(shown)
    if not units:  # "Avoid `eval`": the quoted code was all it said
        shown, _ = _strip(raw, keep_inline_code=True)
        units = _units(shown)
    if not units:
        return None
    return _Prepared(" ".join(shown.split()), units, frozenset(s for u in units for s, _ in u))


@functools.lru_cache(maxsize=4096)
def _key_stems(key: str) -> frozenset[str]:
    """Return the stems of a promoted key (its stop words too when it has nothing else)."""
    prepared = _prepare(key)
    if prepared:
        return prepared.stems
    return frozenset(s for unit in _units(" ".join(key.split()), True) for s, _ in unit)


def normalize_reason(reason: str) -> str:
    """Return the distinct content stems of a reason, space-separated ('' when none)."""
    prepared = _prepare(reason[:MAX_CHARS])
    if prepared is None:
        return ""
    return " ".join(dict.fromkeys(s for unit in prepared.units for s, _ in unit))


def _close(score: float) -> bool:
    """Whether a similarity is enough to join (1 of 2 words shared is exactly 0.5)."""
    return score >= SIMILARITY - 1e-9


def _similarity(prepared: _Prepared | None, stems: frozenset[str]) -> float:
    if prepared is None or not stems:
        return 0.0
    needed = min(2, len(stems))
    best = 0.0
    for unit in prepared.units:
        shared = sum(s in stems for s, _ in unit)
        if shared >= needed:
            best = max(best, shared / math.sqrt(len(unit) * len(stems)))
    return best


def similarity(reason: str, key: str) -> float:
    """Return how close ``reason`` is to a group key or promoted reason ``key`` (0 to 1).

    The best cosine of one of the reason's sentences and the key's stems, counting only
    a sentence that has two of the key's words (or all, when the key has one): "lint
    fails" shares only "fail" with ``tests fail``.
    """
    return _similarity(_prepare(reason[:MAX_CHARS]), _key_stems(key))


def promoted_key(reason: str, reason_patterns: Mapping[str, str]) -> str | None:
    """Return the pattern key a reason counts for, given promoted ``reasons`` → keys.

    The promoted reason it is most similar to (at least :data:`SIMILARITY`; ties go to
    the alphabetically first) wins. The preparation of a text is cached, and callers
    ask once per distinct reason, so this is cheap over many rows.
    """
    prepared = _prepare(reason[:MAX_CHARS])
    if prepared is None:
        return None
    best: tuple[float, str] | None = None
    for phrase in sorted(reason_patterns):
        score = _similarity(prepared, _key_stems(phrase))
        if _close(score) and (best is None or score > best[0]):
            best = (score, phrase)
    return reason_patterns[best[1]] if best else None


def best_group(reason: str, keys: Sequence[str]) -> int | None:
    """Return the index of the key in ``keys`` a reason is most similar to, if any."""
    prepared = _prepare(reason[:MAX_CHARS])
    scores = [_similarity(prepared, _key_stems(key)) for key in keys]
    if not scores or not _close(max(scores)):
        return None
    return scores.index(max(scores))


# Groups ------------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class ReasonGroup:
    """Rejections whose reasons say the same thing, by their content words."""

    key: str  # what ``promote`` records in ``reasons``: the label
    label: str  # a few characteristic words, in a member's order
    count: int
    recent: int
    examples: tuple[str, ...]  # up to two member texts, markup removed, shortened
    patterns: tuple[str, ...]  # patterns picked or found alongside, most frequent first

    def to_json(self) -> dict[str, object]:
        """Return the group as a JSON-ready dict."""
        return dataclasses.asdict(self)


@dataclasses.dataclass
class _Member:
    prepared: _Prepared
    count: int = 0
    recent: int = 0
    keys: Counter[str] = dataclasses.field(default_factory=Counter)
    units: tuple[_Unit, ...] = ()  # its sentences, without the words no other reason has
    unit: _Unit = ()  # the sentence that placed it in its group


@dataclasses.dataclass
class _Cluster:
    counts: dict[str, int] = dataclasses.field(default_factory=dict)
    norm2: int = 0
    norm: float = 0.0
    weight: int = 0
    members: list[_Member] = dataclasses.field(default_factory=list)

    def add(self, member: _Member, unit: _Unit) -> None:
        member.unit = unit
        self.members.append(member)
        self.weight += member.count
        for s, _ in unit:
            before = self.counts.get(s, 0)
            self.counts[s] = before + member.count
            self.norm2 += 2 * before * member.count + member.count * member.count
        self.norm = math.sqrt(self.norm2)


def _cluster(members: Sequence[_Member]) -> list[_Cluster]:
    clusters: list[_Cluster] = []
    counts: list[dict[str, int]] = []  # of each cluster, and its norm: for the inner loop
    norms: list[float] = []
    index: dict[str, list[int]] = {}  # stem → the clusters that have it
    for member in members:
        best: tuple[float, int, _Unit] | None = None
        for unit in member.units:
            dots: dict[int, int] = {}  # the groups that share a word with the sentence
            for s, _ in unit:
                for c in index.get(s, ()):
                    dots[c] = dots.get(c, 0) + counts[c][s]
            root = math.sqrt(len(unit))
            enough = (SIMILARITY - 1e-9) * root
            for c, dot in dots.items():
                if dot < enough * norms[c]:
                    continue
                score = dot / (root * norms[c])
                if best is None or score > best[0] or (score == best[0] and c < best[1]):
                    best = (score, c, unit)
        if best is None:
            number = len(clusters)
            clusters.append(_Cluster())
            counts.append(clusters[-1].counts)
            norms.append(0.0)
            seen: dict[str, str] = {}
            for unit in member.units:  # the whole text seeds a new group
                for s, word in unit:
                    seen.setdefault(s, word)
            unit = tuple(seen.items())[:_MAX_STEMS]
        else:
            _, number, unit = best
        before = set(clusters[number].counts)
        clusters[number].add(member, unit)
        norms[number] = clusters[number].norm
        for s in set(clusters[number].counts) - before:
            index.setdefault(s, []).append(number)
    return clusters


def _surface(words: Counter[str]) -> str:
    """Return the most common way a stem was written (an acronym kept upper-case)."""
    folded: Counter[str] = Counter()
    for word, n in words.items():
        folded[word.casefold()] += n
    best = min(folded, key=lambda w: (-folded[w], len(w), w))
    upper = sum(n for word, n in words.items() if word.isupper() and 2 <= len(word) <= 5)
    return best.upper() if upper * 2 > sum(words.values()) else best


def _label(cluster: _Cluster) -> str:
    order = {s: i for i, s in enumerate(cluster.counts)}  # first seen first
    ranked = sorted(cluster.counts, key=lambda s: (-cluster.counts[s], order[s]))
    core = [s for s in ranked if cluster.counts[s] * 2 > cluster.weight] or ranked[:3]
    core = core[:LABEL_WORDS]
    wanted = set(core)
    model = max(  # the member that uses most of them (the first, the shortest)
        cluster.members,
        key=lambda m: (len(wanted.intersection(s for s, _ in m.unit)), -len(m.unit)),
    )
    position = {s: i for i, (s, _) in enumerate(model.unit)}
    core.sort(key=lambda s: (position.get(s, len(position)), ranked.index(s)))
    words: dict[str, Counter[str]] = {s: Counter() for s in core}
    for member in cluster.members:
        for s, word in member.unit:
            if s in words:
                words[s][word] += member.count
    return clean(" ".join(_surface(words[s])[:30] for s in core), 80)


def group_reasons(
    reasons: Iterable[tuple[str, bool, Iterable[str]] | tuple[str, bool, Iterable[str], str]],
    min_count: int = 1,
    *,
    bot_authors: Iterable[str] = (),
) -> list[ReasonGroup]:
    """Group ``(reason, recent, pattern keys[, author])`` tuples; most frequent groups first.

    A tuple with an author by a bot (see :func:`is_bot_author`) is left out, as is a
    reason with nothing left to group by (see :func:`strip_markup`).
    """
    bots = tuple(bot_authors)
    members: dict[str, _Member] = {}
    for item in reasons:
        reason, is_recent, keys = item[0], item[1], item[2]
        if len(item) > 3 and is_bot_author(item[3], bots):
            continue
        prepared = _prepare(reason[:MAX_CHARS])
        if prepared is None:
            continue
        member = members.get(prepared.shown)
        if member is None:
            member = members[prepared.shown] = _Member(prepared)
        member.count += 1
        member.recent += bool(is_recent)
        member.keys.update(set(keys))
    shared: Counter[str] = Counter()  # in how many rejections each stem is
    for member in members.values():
        shared.update(dict.fromkeys(member.prepared.stems, member.count))
    for member in members.values():  # a word no other reason has cannot group it
        units = tuple(
            u for u in (tuple(p for p in u if shared[p[0]] > 1) for u in member.prepared.units) if u
        )
        member.units = units or member.prepared.units
    ordered = sorted(
        members.values(),
        key=lambda m: (sum(map(len, m.units)), -m.count, m.prepared.shown),
    )
    groups: list[ReasonGroup] = []
    for cluster in _cluster(ordered):
        if cluster.weight < min_count:
            continue
        label = _label(cluster)
        alongside: Counter[str] = Counter()
        for member in cluster.members:
            alongside.update(member.keys)
        examples = sorted(
            cluster.members, key=lambda m: (-m.count, len(m.prepared.shown), m.prepared.shown)
        )
        groups.append(
            ReasonGroup(
                key=label,
                label=label,
                count=cluster.weight,
                recent=sum(m.recent for m in cluster.members),
                examples=tuple(clean(m.prepared.shown, EXAMPLE_CHARS) for m in examples[:2]),
                patterns=tuple(k for k, _ in alongside.most_common(3)),
            )
        )
    groups.sort(key=lambda g: (-g.count, -g.recent, g.key))
    return groups
