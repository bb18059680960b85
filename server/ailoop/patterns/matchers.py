r"""Matchers: find a pattern in a text, by regular expression or by ast-grep rule.

Both kinds carry a cheap pre-filter computed once when the pattern is loaded: a literal
that every match must contain (regex) or the words every match must contain (ast-grep
pattern strings). Most patterns do not occur in most snippets, and a substring test is
far cheaper than running the regex or walking the syntax tree, so the pre-filter keeps
matching a few hundred patterns within a few milliseconds.

Matching has a deadline. Python's :mod:`re` has no timeout and holds the GIL for the
whole search, so one backtracking team regex (``^(\s*a+)+$``) on an unlucky text stops
the language server answering even from a worker thread. Team regexes are therefore
written in Python's syntax and checked with :mod:`re` when loaded (so the pre-filter below
reads them with ``re._parser``), but run with the `regex` module: it accepts the same
syntax (``VERSION0``), so existing team patterns keep working, it stops a search after
:data:`REGEX_TIMEOUT` (:class:`MatchTimeout`), and it releases the GIL while it searches
(``concurrent=True``), so the event loop keeps answering meanwhile. ``google-re2`` would
be linear-time, but it has no backreferences or lookaround, which team patterns use
(``(?<!\w)``, ``(?!...)``), so it would reject patterns that work today.

ast-grep rules are linear in the text, but ast-grep-py holds the GIL while it parses and
searches (about 0.6 s for ten rules over 1,000,000 characters of Python here): they are not
given a text longer than the caller's limit (:data:`AST_GREP_MAX_CHARS` by default, the
hooks' and ``ailoop check``'s; the language server passes :data:`EDITOR_AST_GREP_MAX_CHARS`).
"""

from __future__ import annotations

import bisect
import dataclasses
import importlib
import re
from collections.abc import Iterator, Mapping, Sequence
from typing import TYPE_CHECKING, Any, cast

import regex

if TYPE_CHECKING:
    from ast_grep_py import Config

#: Words (identifiers, keywords, numbers) in an ast-grep pattern that are not metavariables.
_PATTERN_WORD = re.compile(r"(?<![$\w])[A-Za-z_][A-Za-z0-9_]*|(?<![$\w])[0-9][A-Za-z0-9_]*")

#: The ast-grep rule keys whose sub-rule must match somewhere in the same text.
_POSITIVE_RELATIONS = ("has", "inside", "follows", "precedes")

#: Languages in which any statement or expression is valid at the top level of a file, so
#: a pattern that does not parse there is broken. (In Java, C or Rust a valid pattern such
#: as ``foo($A)`` is no valid file, and ast-grep copes; those are left to ast-grep.)
_SCRIPT_LANGUAGES = frozenset({"python", "javascript", "typescript", "tsx", "ruby", "lua", "bash"})

#: Character ast-grep substitutes for ``$`` when it parses a pattern.
_EXPANDO = "µ"

#: Seconds one regex may take over one text (its whole search) before it is stopped.
REGEX_TIMEOUT = 0.1

#: Texts longer than this (in characters) are not matched with ast-grep rules: the
#: hooks' whole-file limit (``ailoop.hooks.report.WHOLE_FILE_LIMIT``) and ``ailoop check``'s.
AST_GREP_MAX_CHARS = 1_000_000

#: The language server's limit: about 2,500 lines, some 60 ms for ten rules here, so the
#: editor's answers do not wait on ast-grep for longer than that.
EDITOR_AST_GREP_MAX_CHARS = 100_000


class MatchTimeout(Exception):
    """A pattern took longer than its deadline on a text."""


class LineIndex:
    """Turns code-point offsets in a text into zero-based ``(line, column)`` pairs."""

    def __init__(self, text: str) -> None:
        self._starts = [0]
        self._starts.extend(m.end() for m in re.finditer("\r\n|\r|\n", text))

    def position(self, offset: int) -> tuple[int, int]:
        """Return the ``(line, column)`` of ``offset``."""
        line = bisect.bisect_right(self._starts, offset) - 1
        return line, offset - self._starts[line]


@dataclasses.dataclass(frozen=True)
class Span:
    """Where a matcher found something: zero-based, end-exclusive, code-point columns."""

    start: tuple[int, int]
    end: tuple[int, int]


def _regex_parser() -> Any:
    """Return the standard library's regular-expression parser module."""
    try:
        return importlib.import_module("re._parser")
    except ImportError:  # Python 3.10
        return importlib.import_module("sre_parse")


def required_literal(compiled: re.Pattern[str]) -> tuple[str, bool] | None:
    """Return a literal every match of ``compiled`` contains, and whether to fold case.

    Only the top-level sequence of the expression is read (every item there is
    mandatory); None when no literal of at least three characters is found.
    """
    sre_parser = _regex_parser()
    try:
        parsed: Any = sre_parser.parse(compiled.pattern, compiled.flags)
    except (re.error, RecursionError, OverflowError):
        return None
    fold = bool(parsed.state.flags & re.IGNORECASE)
    literal_op: Any = sre_parser.LITERAL
    best = ""
    run: list[str] = []
    for op, value in [*list(parsed), (None, None)]:
        if op == literal_op:
            run.append(chr(value))
            continue
        candidate = "".join(run)
        if len(candidate) > len(best):
            best = candidate
        run = []
    if len(best) < 3 or (fold and not best.isascii()):
        return None
    return (best.lower() if fold else best), fold


@dataclasses.dataclass(frozen=True)
class RegexMatcher:
    """A Python regular expression, multi-line, run with a deadline (see the module doc)."""

    compiled: re.Pattern[str]
    literal: str | None
    fold_case: bool
    runner: regex.Pattern[str]

    @classmethod
    def compile(cls, expression: str) -> RegexMatcher:
        """Compile ``expression``; raises ``re.error`` when it is invalid or matches empty."""
        compiled = re.compile(expression, re.MULTILINE)
        try:
            runner = regex.compile(expression, regex.MULTILINE | regex.VERSION0)
            empty = runner.fullmatch("", timeout=REGEX_TIMEOUT)
        except regex.error as exc:  # not a subclass of re.error
            raise re.error(f"not accepted by the regex module: {exc}") from None
        except TimeoutError:
            raise re.error("the expression takes too long even on an empty text") from None
        if empty:
            raise re.error("the expression matches the empty string")
        found = required_literal(compiled)
        literal, fold = found if found else (None, False)
        return cls(compiled, literal, fold, runner)

    def may_match(self, text: str, folded: str) -> bool:
        """Return False when the pre-filter proves that ``text`` has no match."""
        if self.literal is None:
            return True
        return self.literal in (folded if self.fold_case else text)

    def find(self, text: str, index: LineIndex) -> Iterator[Span]:
        """Yield every non-empty match in ``text``; raise :class:`MatchTimeout` past the deadline.

        The deadline covers the whole search of ``text``.
        """
        try:
            matches = list(self.runner.finditer(text, timeout=REGEX_TIMEOUT, concurrent=True))
        except TimeoutError:
            raise MatchTimeout(f"took longer than {REGEX_TIMEOUT * 1000:.0f} ms") from None
        for match in matches:
            if match.end() > match.start():
                yield Span(index.position(match.start()), index.position(match.end()))


def required_words(rule: Mapping[str, Any]) -> frozenset[str]:
    """Return the words every match of the ast-grep ``rule`` contains in its text.

    Words come from string patterns in the rule and in the sub-rules that must match
    too (``all``, ``has``, ``inside``, ``follows``, ``precedes``); metavariables and
    anything under ``any``, ``not`` or ``matches`` are left out, which keeps the set safe.
    """
    words: set[str] = set()
    pattern = rule.get("pattern")
    if isinstance(pattern, str):
        words.update(_PATTERN_WORD.findall(pattern))
    for sub in rule.get("all") or ():
        if isinstance(sub, Mapping):
            words |= required_words(sub)
    for key in _POSITIVE_RELATIONS:
        sub = rule.get(key)
        if isinstance(sub, Mapping):
            words |= required_words(sub)
    return frozenset(words)


def pattern_strings(rule: Mapping[str, Any]) -> Iterator[str]:
    """Yield every string pattern anywhere in the ast-grep ``rule``."""
    for key, value in rule.items():
        if key == "pattern":
            if isinstance(value, str):
                yield value
            elif isinstance(value, Mapping) and isinstance(value.get("context"), str):
                yield value["context"]
        elif isinstance(value, Mapping):
            yield from pattern_strings(value)
        elif isinstance(value, list):
            for item in value:
                if isinstance(item, Mapping):
                    yield from pattern_strings(item)


def rust_error_text(exc: BaseException) -> str:
    """Return the message of an ast-grep error without Rust's stack backtrace."""
    text = str(exc).split("Stack backtrace:", 1)[0]
    lines = [line.strip() for line in text.splitlines() if line.strip()]
    causes = [
        (line.split(":", 1)[1] if line[:1].isdigit() else line).strip().rstrip(".")
        for line in lines
    ]
    causes = [c for c in causes if c not in ("Caused by", "Caused by:", "cannot get matcher", "")]
    return "; ".join(causes) or type(exc).__name__


def _has_syntax_error(root: Any) -> bool:
    return bool(root.kind() == "ERROR" or root.find(kind="ERROR") is not None)


def is_fatal(exc: BaseException) -> bool:
    """Return True for exceptions that must propagate (interrupts, exit)."""
    return isinstance(exc, (KeyboardInterrupt, SystemExit, GeneratorExit))


@dataclasses.dataclass(frozen=True)
class AstGrepMatcher:
    """An ast-grep rule object (the ``rule`` of an ast-grep YAML rule), with its extras."""

    config: Mapping[str, Any]
    words: frozenset[str]

    @classmethod
    def compile(cls, config: Mapping[str, Any], languages: Sequence[str]) -> AstGrepMatcher:
        """Check ``config`` against every language; raise ``ValueError`` saying what is wrong."""
        from ast_grep_py import SgRoot  # native module, loaded on first use

        rule = config.get("rule")
        if not isinstance(rule, Mapping):
            raise ValueError("an ast-grep matcher needs a rule table")
        for language in languages:
            for pattern in pattern_strings(rule) if language in _SCRIPT_LANGUAGES else ():
                # metavariables are not valid syntax in every language: accept the pattern
                # when it parses with them written as ast-grep's usual stand-in or as they are
                if all(
                    _has_syntax_error(SgRoot(candidate, language).root())
                    for candidate in (pattern.replace("$", _EXPANDO), pattern)
                ):
                    raise ValueError(f"ast-grep pattern {pattern!r} does not parse as {language}")
            try:
                SgRoot("", language).root().find_all(cast("Config", dict(config)))
            except BaseException as exc:  # ast-grep raises plain Exception and PanicException
                if is_fatal(exc):
                    raise
                problem = rust_error_text(exc)
                raise ValueError(f"invalid ast-grep rule for {language}: {problem}") from None
        return cls(config, required_words(rule))

    def may_match(self, text: str) -> bool:
        """Return False when the pre-filter proves that ``text`` has no match."""
        return all(word in text for word in self.words)

    def find(self, root: Any) -> Iterator[Span]:
        """Yield every match in the parsed tree ``root`` (an ``ast_grep_py.SgNode``)."""
        for node in root.find_all(cast("Config", dict(self.config))):
            found = node.range()
            yield Span((found.start.line, found.start.column), (found.end.line, found.end.column))
