r"""The team's patterns: loading ``.ailoop/patterns.toml`` and matching a text against them.

File format (one ``[[pattern]]`` table per pattern)::

    [[pattern]]
    id = "bare-except"                 # shown as the diagnostic code pattern:bare-except
    title = "bare except"
    message = "Catch the exceptions you expect; a bare except also swallows Ctrl-C."
    fix = "name the exception: except ValueError:"   # one-line hint for the learned context
    languages = ["python"]
    regex = '^\\s*except\\s*:'          # or: ast_grep = "eval($$$)"  or a [pattern.rule] table

Loading never raises: every problem becomes a message naming the file, the pattern and
what is wrong, and the other patterns keep working.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
import sys
import threading
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

from ailoop.patterns.languages import AST_GREP_LANGUAGES, canonical_language
from ailoop.patterns.matchers import (
    AST_GREP_MAX_CHARS,
    AstGrepMatcher,
    LineIndex,
    MatchTimeout,
    RegexMatcher,
    is_fatal,
)
from ailoop.patterns.model import PATTERN_ID, PatternMatch, pattern_key
from ailoop.text import clean

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found,no-redef,unused-ignore]

#: Where a workspace keeps its patterns, relative to its root.
PATTERNS_FILE = Path(".ailoop") / "patterns.toml"

_KNOWN_KEYS = frozenset(
    {"id", "title", "message", "fix", "languages", "regex", "ast_grep", "rule",
     "constraints", "utils", "reasons", "enforce"}
)  # fmt: skip
_MATCHER_KEYS = ("regex", "ast_grep", "rule")


@dataclasses.dataclass(frozen=True)
class Pattern:
    """A team pattern: what it is called, what it says, and how to find it."""

    id: str
    title: str
    message: str
    matcher: RegexMatcher | AstGrepMatcher
    languages: tuple[str, ...] = ()  # empty: every language (regex patterns only)
    fix: str = ""
    reasons: tuple[str, ...] = ()  # free-text reason groups (their labels) it stands for
    enforce: bool = False  # ``ailoop check`` fails on it even without statistics

    @property
    def key(self) -> str:
        """The pattern key and diagnostic code, ``pattern:<id>``."""
        return pattern_key(self.id)

    @property
    def hint(self) -> str:
        """A one-line fix hint: ``fix`` when given, else the message (when it adds anything)."""
        if self.fix:
            return self.fix
        return self.message if self.message != self.title else f"do not write {self.title}"


class PatternProblems:
    """Collects the loading problems of one file, each naming the file and the pattern."""

    def __init__(self, source: str) -> None:
        self.source = source
        self.messages: list[str] = []

    def add(self, where: str, problem: str) -> None:
        """Record ``problem`` for the pattern described by ``where``."""
        self.messages.append(f"{self.source}: {where}: {problem}")


def _string_list(value: object) -> list[str] | None:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list) and all(isinstance(v, str) for v in value):
        return list(value)
    return None


def _parse_languages(raw: object, where: str, problems: PatternProblems) -> tuple[list[str], bool]:
    """Return the known languages of a pattern and whether any were asked for."""
    if raw is None:
        return [], False
    names = _string_list(raw)
    if names is None:
        problems.add(where, "languages must be a string or a list of strings")
        return [], True
    languages: list[str] = []
    for name in names:
        language = canonical_language(name)
        if language is None:
            known = ", ".join(sorted(AST_GREP_LANGUAGES))
            problems.add(where, f"unknown language {name!r} (known: {known})")
        elif language not in languages:
            languages.append(language)
    return languages, True


def _build_matcher(
    entry: Mapping[str, Any], languages: list[str], where: str, problems: PatternProblems
) -> RegexMatcher | AstGrepMatcher | None:
    given = [key for key in _MATCHER_KEYS if key in entry]
    if len(given) != 1:
        problem = "needs a matcher" if not given else "has more than one matcher"
        problems.add(where, f"{problem}: exactly one of regex, ast_grep or a rule table")
        return None
    if "regex" in entry:
        expression = entry["regex"]
        if not isinstance(expression, str):
            problems.add(where, "regex must be a string")
            return None
        try:
            return RegexMatcher.compile(expression)
        except (re.error, RecursionError, OverflowError) as exc:
            problems.add(where, f"invalid regex {expression!r}: {exc}")
            return None
    if not languages:
        problems.add(where, "an ast-grep matcher needs at least one known language")
        return None
    if "ast_grep" in entry:
        if not isinstance(entry["ast_grep"], str):
            problems.add(where, "ast_grep must be a string (an ast-grep pattern)")
            return None
        config: dict[str, Any] = {"rule": {"pattern": entry["ast_grep"]}}
    else:
        if not isinstance(entry["rule"], Mapping):
            problems.add(where, "rule must be a table (an ast-grep rule object)")
            return None
        config = {"rule": dict(entry["rule"])}
    for extra in ("constraints", "utils"):
        if extra in entry:
            if not isinstance(entry[extra], Mapping):
                problems.add(where, f"{extra} must be a table")
                return None
            config[extra] = dict(entry[extra])
    try:
        return AstGrepMatcher.compile(config, languages)
    except ImportError as exc:
        problems.add(where, f"ast-grep is not available ({exc}); install ast-grep-py")
    except ValueError as exc:
        problems.add(where, str(exc))
    except BaseException as exc:  # a panic inside the native module
        if is_fatal(exc):
            raise
        problems.add(where, f"invalid ast-grep rule: {exc}")
    return None


#: Longest title, message and fix a pattern keeps (longer ones are cut, ending in "…").
TEXT_LIMITS = {"title": 120, "message": 500, "fix": 300}


def parse_pattern(entry: object, number: int, problems: PatternProblems) -> Pattern | None:
    """Build the pattern from one ``[[pattern]]`` table, or record why it cannot be built."""
    where = f"pattern #{number}"
    if not isinstance(entry, Mapping):
        problems.add(where, "must be a table")
        return None
    pattern_id = entry.get("id")
    if not isinstance(pattern_id, str) or not PATTERN_ID.fullmatch(pattern_id):
        problems.add(
            where,
            "needs an id of at most 100 letters, digits, '-', '_' or '.' "
            f"(got {clean(repr(pattern_id), 60)})",
        )
        return None
    where = f"pattern {pattern_id!r}"
    for key in sorted(set(entry) - _KNOWN_KEYS):
        problems.add(where, f"unknown key {key!r} (ignored)")
    texts: dict[str, str] = {}
    for key in ("title", "message", "fix"):
        value = entry.get(key, "")
        if not isinstance(value, str):
            problems.add(where, f"{key} must be a string (ignored)")
            value = ""
        texts[key] = clean(" ".join(value.split()), TEXT_LIMITS[key])
    languages, asked = _parse_languages(entry.get("languages"), where, problems)
    if asked and not languages:
        problems.add(where, "no known language left; pattern skipped")
        return None
    matcher = _build_matcher(entry, languages, where, problems)
    if matcher is None:
        return None
    reasons = _string_list(entry.get("reasons", []))
    if reasons is None:
        problems.add(where, "reasons must be a list of strings (ignored)")
        reasons = []
    enforce = entry.get("enforce", False)
    if not isinstance(enforce, bool):
        problems.add(where, "enforce must be true or false (ignored)")
        enforce = False
    title = texts["title"] or pattern_id
    return Pattern(
        id=pattern_id,
        title=title,
        message=texts["message"] or title,
        matcher=matcher,
        languages=tuple(languages),
        fix=texts["fix"],
        reasons=tuple(reasons),
        enforce=enforce,
    )


def _applies_to(pattern: Pattern) -> tuple[str, ...]:
    """Return the languages a pattern runs on: TypeScript patterns run on TSX files too."""
    if "typescript" in pattern.languages and "tsx" not in pattern.languages:
        return (*pattern.languages, "tsx")
    return pattern.languages


RegexEntry = tuple[Pattern, RegexMatcher]
AstGrepEntry = tuple[Pattern, AstGrepMatcher]
Found = tuple[Pattern, tuple[int, int], tuple[int, int]]

#: The ids of the regexes that ran past their deadline, per patterns file: its name and a
#: hash of its text. A process that loads the same file again (the hook worker does on
#: every call, the server when the file is saved) keeps them disabled, without saying so
#: again; a changed file starts afresh.
_DISABLED: dict[tuple[str, str], set[str]] = {}
#: How many patterns files :data:`_DISABLED` remembers (the oldest is forgotten first).
_DISABLED_FILES = 64
#: How many texts a set remembers having told about (ast-grep skipped on a large text).
_TOLD_MAX = 1000
_LOCK = threading.Lock()  # matching runs on worker threads in the server


def _disabled_for(source: str, text: str) -> set[str]:
    """Return the (shared, live) set of disabled pattern ids of this patterns file."""
    key = (source, hashlib.sha256(text.encode("utf-8", "surrogatepass")).hexdigest())
    with _LOCK:
        disabled = _DISABLED.pop(key, set())
        _DISABLED[key] = disabled  # the most recent last
        while len(_DISABLED) > _DISABLED_FILES:
            del _DISABLED[next(iter(_DISABLED))]
    return disabled


class PatternSet:
    """The patterns of one workspace, ready to match.

    Immutable once built, but for one thing: a regex that runs past its deadline is
    disabled until the patterns file changes (for this set, and for every set loaded
    from the same text of the same file in this process), and :meth:`take_timeouts`
    hands out one message for it. A text too large for the ast-grep rules is told once
    the same way.
    """

    def __init__(
        self,
        patterns: Iterable[Pattern] = (),
        source: str = str(PATTERNS_FILE),
        disabled: set[str] | None = None,
    ) -> None:
        self.patterns: tuple[Pattern, ...] = tuple(patterns)
        self.source = source
        self._disabled: set[str] = set() if disabled is None else disabled
        self._timeouts: list[str] = []
        self._told: set[str] = set()
        self._by_id = {p.id: p for p in self.patterns}
        regexes = [(p, p.matcher) for p in self.patterns if isinstance(p.matcher, RegexMatcher)]
        greps = [(p, p.matcher) for p in self.patterns if isinstance(p.matcher, AstGrepMatcher)]
        self._any_language: tuple[RegexEntry, ...] = tuple(e for e in regexes if not e[0].languages)
        self._by_language: dict[str, tuple[tuple[RegexEntry, ...], tuple[AstGrepEntry, ...]]] = {}
        for language in {lang for p in self.patterns for lang in _applies_to(p)}:
            self._by_language[language] = (
                tuple(e for e in regexes if not e[0].languages or language in _applies_to(e[0])),
                tuple(e for e in greps if language in _applies_to(e[0])),
            )

    def __len__(self) -> int:
        return len(self.patterns)

    def reason_patterns(self) -> dict[str, str]:
        """Map each reason a pattern was promoted from to the pattern's key.

        A reason is a group's label (or a normalized reason an older version wrote);
        :func:`ailoop.patterns.reasons.promoted_key` maps a rejection's reason to the
        pattern whose reason it is similar to.
        """
        mapping: dict[str, str] = {}
        for pattern in self.patterns:
            for reason in pattern.reasons:
                if key := " ".join(reason.split()):
                    mapping.setdefault(key, pattern.key)
        return mapping

    def get(self, pattern_id: str) -> Pattern | None:
        """Return the pattern with this id (or key ``pattern:<id>``), if there is one."""
        return self._by_id.get(pattern_id.removeprefix("pattern:"))

    @classmethod
    def load(cls, root: Path) -> tuple[PatternSet, list[str]]:
        """Load ``<root>/.ailoop/patterns.toml``; return the patterns and the problems.

        A missing file is an empty set without problems. Never raises.
        """
        path = root / PATTERNS_FILE
        try:
            text = path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return cls(), []
        except (OSError, UnicodeDecodeError) as exc:
            return cls(), [f"{path}: cannot be read: {exc}"]
        return cls.from_toml(text, str(path))

    @classmethod
    def from_toml(cls, text: str, source: str) -> tuple[PatternSet, list[str]]:
        """Build the set from the text of a patterns file named ``source`` in messages."""
        problems = PatternProblems(source)
        try:
            document = tomllib.loads(text)
        except tomllib.TOMLDecodeError as exc:
            return cls(), [f"{source}: not valid TOML: {exc}; no pattern loaded"]
        for key in sorted(set(document) - {"pattern"}):
            problems.add(
                f"top-level key {key!r}", "unknown (ignored); patterns go in [[pattern]] tables"
            )
        entries = document.get("pattern", [])
        if not isinstance(entries, list):
            problems.add("[pattern]", "must be an array of tables: write [[pattern]]")
            entries = []
        patterns: list[Pattern] = []
        seen: set[str] = set()
        for number, entry in enumerate(entries, start=1):
            pattern = parse_pattern(entry, number, problems)
            if pattern is None:
                continue
            if pattern.id in seen:
                problems.add(f"pattern {pattern.id!r}", f"duplicate id (pattern #{number} skipped)")
                continue
            seen.add(pattern.id)
            patterns.append(pattern)
        return cls(patterns, source, _disabled_for(source, text)), problems.messages

    def take_timeouts(self) -> list[str]:
        """Return (once) a message for each pattern disabled since the last call.

        Also for each text the ast-grep rules were not run on because it is too large.
        """
        with _LOCK:
            taken, self._timeouts = self._timeouts, []
        return taken

    def _time_out(self, pattern: Pattern, why: str, where: str) -> None:
        with _LOCK:
            if pattern.id in self._disabled:
                return
            self._disabled.add(pattern.id)
            self._timeouts.append(
                f"pattern {pattern.id!r} in {self.source} {why} on {where or 'a text'}; it "
                "is disabled until the patterns file changes (a regex that backtracks: "
                "rewrite it without nested repetition)"
            )

    def _too_large(self, size: int, limit: int, where: str) -> None:
        with _LOCK:
            if where in self._told or len(self._told) >= _TOLD_MAX:
                return
            self._told.add(where)
            self._timeouts.append(
                f"the ast-grep patterns in {self.source} were not run on {where or 'a text'}: "
                f"{size:,} characters, more than the {limit:,} they are given (the regex "
                "patterns were)"
            )

    @property
    def disabled(self) -> frozenset[str]:
        """The ids of the patterns disabled after running past their deadline."""
        with _LOCK:
            return frozenset(self._disabled)

    def for_language(
        self, language: str
    ) -> tuple[tuple[RegexEntry, ...], tuple[AstGrepEntry, ...]]:
        """Return the regex and the ast-grep patterns (with their matchers) for ``language``."""
        canonical = canonical_language(language)
        if canonical is None:
            return self._any_language, ()
        return self._by_language.get(canonical, (self._any_language, ()))

    def match(
        self,
        text: str,
        language: str,
        where: str = "",
        tree_limit: int = AST_GREP_MAX_CHARS,
    ) -> list[PatternMatch]:
        """Return every match of the patterns for ``language`` in ``text``, in text order.

        Never raises on any text: a rule that fails at run time is skipped, a regex past
        its deadline is disabled, and the ast-grep rules are not run on a text longer than
        ``tree_limit`` characters; both are told through :meth:`take_timeouts`, with
        ``where`` naming the text.
        """
        regexes, greps = self.for_language(language)
        found: list[Found] = []
        index: LineIndex | None = None
        folded = text.lower() if any(m.fold_case for _, m in regexes) else text
        for pattern, regex in regexes:
            if pattern.id not in self._disabled and regex.may_match(text, folded):
                index = index or LineIndex(text)
                try:
                    spans = list(regex.find(text, index))
                except MatchTimeout as exc:
                    self._time_out(pattern, str(exc), where)
                    continue
                found.extend((pattern, span.start, span.end) for span in spans)
        candidates = [(p, m) for p, m in greps if m.may_match(text)]
        if candidates and len(text) > tree_limit:
            self._too_large(len(text), tree_limit, where)
            candidates = []
        if candidates:
            found.extend(_match_tree(text, language, candidates))
        found.sort(key=lambda item: (item[1], item[2], item[0].id))
        return [
            PatternMatch(pattern.id, pattern.title, pattern.message, start, end)
            for pattern, start, end in found
        ]


def _match_tree(text: str, language: str, entries: Sequence[AstGrepEntry]) -> list[Found]:
    """Parse ``text`` once and run every ast-grep matcher in ``entries`` over it."""
    from ast_grep_py import SgRoot  # native module, loaded on first use

    canonical = canonical_language(language)
    found: list[Found] = []
    if canonical is None:
        return found
    try:
        root = SgRoot(text, canonical).root()
    except BaseException as exc:  # a panic inside the native module
        if is_fatal(exc):
            raise
        return found
    for pattern, matcher in entries:
        try:
            found.extend((pattern, span.start, span.end) for span in matcher.find(root))
        except BaseException as exc:
            if is_fatal(exc):
                raise
    return found
