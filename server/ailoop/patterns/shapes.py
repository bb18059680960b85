"""History and shape keys: what an insertion looks like, beyond the rules it breaks.

Measured on real accept/reject outcomes, the signals that hold on later data are mostly
not lint rules: the same suggestion rejected before, an insertion that breaks a file
that parsed, code inserted inside a comment or a string, a very short completion, lines
the file already has. Each is a pattern key like a rule id, stored in an event's
``findings`` and learned from outcomes the same way:

- ``history:rejected-before``: a snippet with the same id (the hash of its normalized
  content, so whitespace and blank lines do not matter) was rejected before in this
  repository;
- ``shape:breaks-syntax``: the file had no syntax error before the insertion and has one
  after, as the engines report it (ruff's and ty's ``invalid-syntax``, Biome's parse
  errors, TypeScript's parser errors);
- ``shape:in-comment`` / ``shape:in-string``: the insertion starts inside a comment or a
  string on its line;
- ``shape:tiny``: fewer than ``detect.tiny_chars`` characters of code (default
  :data:`TINY_CHARS`);
- ``shape:duplicates-file``: its lines already stand, in the same order, elsewhere in the
  file.

Everything here is pure and bounded: the line before an insertion is read up to
:data:`MAX_PREFIX` characters; a file is compared line by line (run it off the event
loop; it grows with the file).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

HISTORY_REJECTED = "history:rejected-before"
BREAKS_SYNTAX = "shape:breaks-syntax"
IN_COMMENT = "shape:in-comment"
IN_STRING = "shape:in-string"
TINY = "shape:tiny"
DUPLICATES_FILE = "shape:duplicates-file"

#: What each key means, for messages and tables.
TITLES = {
    HISTORY_REJECTED: "the same code was rejected before",
    BREAKS_SYNTAX: "breaks the syntax of a file that parsed",
    IN_COMMENT: "inserted inside a comment",
    IN_STRING: "inserted inside a string",
    TINY: "a very short completion",
    DUPLICATES_FILE: "repeats lines the file already has",
}

#: What an agent is told about each key in the learned context (``None``: not an
#: instruction an agent can follow, left out of the context).
CONSTRAINTS: dict[str, str | None] = {
    HISTORY_REJECTED: None,
    BREAKS_SYNTAX: "Do not leave the file with a syntax error: check brackets, quotes and "
    "indentation of inserted code.",
    IN_COMMENT: "Do not insert code inside a comment.",
    IN_STRING: "Do not insert code inside a string literal.",
    TINY: None,
    DUPLICATES_FILE: "Do not repeat code the file already contains; reuse it.",
}

#: By default, a completion with fewer characters of code than this (blank space aside)
#: is tiny (the setting ``detect.tiny_chars``).
TINY_CHARS = 24
#: How much of the line before an insertion is read to tell a comment or a string.
MAX_PREFIX = 2000
#: A snippet repeats the file only with at least this many non-blank lines ...
DUPLICATE_MIN_LINES = 2
#: ... holding at least this many characters between them.
DUPLICATE_MIN_CHARS = 40

#: Engine rule codes that mean "the file does not parse" (see :func:`is_syntax_error`).
SYNTAX_CODES = frozenset({"ruff:invalid-syntax", "ty:invalid-syntax", "biome:parse"})
#: TypeScript's parser errors: "';' expected" (1005), "Expression expected" (1109),
#: unterminated literals (1002, 1160), … (its 1000-1199 range).
TS_SYNTAX = range(1000, 1200)

_HASH_COMMENT = frozenset({"python", "shellscript", "ruby", "perl", "r", "toml", "yaml"})
_SLASH_COMMENT = frozenset(
    {
        "javascript", "javascriptreact", "typescript", "typescriptreact", "c", "cpp",
        "csharp", "go", "java", "kotlin", "rust", "swift", "scala", "php", "dart",
    }
)  # fmt: skip


def is_shape_or_history(key: str) -> bool:
    """Return whether ``key`` is one of the keys of this module."""
    return key in TITLES


def is_tiny(text: str, limit: int = TINY_CHARS) -> bool:
    """Return whether a snippet's text has fewer than ``limit`` characters of code."""
    count = 0
    for char in text:
        if not char.isspace():
            count += 1
            if count >= limit:
                return False
    return True


def prefix_state(prefix: str, language: str) -> str | None:
    """Return ``comment`` or ``string`` when the end of ``prefix`` (one line) is inside one.

    A line-level reading: a comment or string opened on an earlier line (a docstring, a
    block comment) is not seen. Only the last :data:`MAX_PREFIX` characters are read;
    a longer line is read from there, which can only miss, never invent, a comment.
    """
    if len(prefix) > MAX_PREFIX:
        return None
    hash_comment = language in _HASH_COMMENT
    slash_comment = language in _SLASH_COMMENT
    quotes = "'\"`" if slash_comment else "'\""
    quote = ""
    i, n = 0, len(prefix)
    while i < n:
        char = prefix[i]
        if quote:
            if char == "\\":
                i += 2
                continue
            if prefix.startswith(quote, i):
                i += len(quote)
                quote = ""
                continue
        elif char in quotes:
            triple = char * 3
            quote = triple if language == "python" and prefix.startswith(triple, i) else char
            i += len(quote)
            continue
        elif (hash_comment and char == "#") or (slash_comment and prefix.startswith("//", i)):
            return "comment"
        elif slash_comment and prefix.startswith("/*", i):
            close = prefix.find("*/", i + 2)
            if close < 0:
                return "comment"
            i = close + 2
            continue
        i += 1
    return "string" if quote else None


def repeats_file(lines: Sequence[str], start: int, end: int) -> bool:
    """Return whether lines ``start..end`` (inclusive) stand, in order, elsewhere in ``lines``.

    Lines are compared stripped, blank ones left out; the snippet needs at least
    :data:`DUPLICATE_MIN_LINES` non-blank lines and :data:`DUPLICATE_MIN_CHARS`
    characters to count. Linear in the file's size.
    """
    wanted = [s for line in lines[start : end + 1] if (s := line.strip())]
    if len(wanted) < DUPLICATE_MIN_LINES or sum(map(len, wanted)) < DUPLICATE_MIN_CHARS:
        return False
    rest = [s for line in (*lines[:start], *lines[end + 1 :]) if (s := line.strip())]
    needle = "\n" + "\n".join(wanted) + "\n"
    return needle in "\n" + "\n".join(rest) + "\n"


def breaks_syntax(before: Iterable[str] | None, after: Iterable[str] | None) -> bool:
    """Return whether a file went from no syntax error to one, by the engines' rule codes.

    ``before``: the codes reported on the text before the insertion; ``after``: on the
    text with it. ``None`` (no report) says nothing.
    """
    if before is None or after is None:
        return False
    return not any(map(is_syntax_error, before)) and any(map(is_syntax_error, after))


def is_syntax_error(code: str) -> bool:
    """Return whether an engine rule code says the file does not parse."""
    if code in SYNTAX_CODES:
        return True
    engine, _, rule = code.partition(":")
    return engine == "ts" and rule.isdigit() and int(rule) in TS_SYNTAX
