"""Text from outside (the store, reviews, engines, files) made safe to show or to write.

Such text is data: it is bounded, and control characters (terminal escapes, NUL, bidi
overrides) are removed before it reaches a terminal, an editor message or a file an
agent reads.
"""

from __future__ import annotations

import unicodedata

#: Default bound of a title, reason or message taken from outside.
DEFAULT_LIMIT = 500

#: Format characters that reorder or hide text (bidi controls, zero-width marks).
_HIDDEN = frozenset(
    "\u061c\u200b\u200c\u200d\u200e\u200f\u202a\u202b\u202c\u202d\u202e"
    "\u2060\u2066\u2067\u2068\u2069\ufeff"
)


def _shown(char: str, keep_newlines: bool) -> str:
    if char in "\n\t" and keep_newlines:
        return char
    if char in _HIDDEN:
        return ""
    category = unicodedata.category(char)
    if category == "Cc":
        return " " if char in "\n\r\t" else ""
    if category in ("Cs", "Co", "Cn") and char != "\ufffd":
        return ""
    return char


def clean(text: object, limit: int = DEFAULT_LIMIT, *, keep_newlines: bool = False) -> str:
    """Return ``text`` without control characters, at most ``limit`` characters long.

    Newlines and tabs become spaces unless ``keep_newlines``; a cut text ends with ``…``.
    Non-strings are shown with ``str``.
    """
    value = text if isinstance(text, str) else str(text)
    if len(value) > limit * 4:
        value = value[: limit * 4]
    out = "".join(_shown(c, keep_newlines) for c in value)
    if len(out) > limit:
        out = out[: max(limit - 1, 0)] + "…"
    return out
