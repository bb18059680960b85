"""The pattern model: what a known rejection pattern is, and how it is named.

A pattern key is the diagnostic code it is shown under, so one string names a pattern
everywhere (events, statistics, diagnostics, SARIF):

- a feedback rule is a pattern by itself: ``ruff:BLE001``, ``ty:unresolved-reference``;
- a team pattern from ``.ailoop/patterns.toml`` with id ``bare-except`` is
  ``pattern:bare-except``.

Events carry these keys in ``findings``; the ``pattern`` field of a rejection carries one
key too (a bare team id without a colon is read as ``pattern:<id>``).
"""

from __future__ import annotations

import dataclasses
import re

#: Prefix of the diagnostic code (and pattern key) of a team pattern.
TEAM_PREFIX = "pattern:"

#: What a team pattern id may look like: letters, digits, ``-``, ``_`` and ``.``, at most
#: 100 characters (so that ``pattern:<id>`` is a :data:`KEY`).
PATTERN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]{0,99}")

#: What every pattern key looks like, wherever it comes from (an editor command, an
#: engine's rule, a file, an import, the team store): a lower-case source, a colon, and up
#: to 100 characters of a fixed set (letters, digits, ``_.:/@-``). Anything else is not a
#: key and is not stored, counted or shown: keys stay data, never text an agent could read
#: as instructions.
KEY = re.compile(r"[a-z0-9_-]{1,32}:[A-Za-z0-9_.:/@-]{1,100}")


def pattern_key(pattern_id: str) -> str:
    """Return the key (diagnostic code) of the team pattern ``pattern_id``."""
    return TEAM_PREFIX + pattern_id


def normalize_key(value: str) -> str:
    """Return the pattern key for a ``pattern`` field or finding as recorded in an event.

    ``ruff:BLE001`` and ``pattern:bare-except`` stay as they are; a bare ``bare-except``
    is a team pattern id and becomes ``pattern:bare-except``.
    """
    value = value.strip()
    return value if ":" in value else pattern_key(value)


def is_valid_key(key: str) -> bool:
    """Return whether ``key`` is a well-formed pattern key (see :data:`KEY`)."""
    return isinstance(key, str) and KEY.fullmatch(key) is not None


def valid_key(value: object) -> str | None:
    """Return the normalized key of ``value`` (see :func:`normalize_key`), or None if invalid."""
    if not isinstance(value, str) or len(value) > 200:
        return None
    key = normalize_key(value)
    return key if is_valid_key(key) else None


def display_title(key: str, title: str | None = None) -> str:
    """Return a human title for ``key``: the team title, or the key itself for rule ids."""
    if title:
        return title
    return key.removeprefix(TEAM_PREFIX)


@dataclasses.dataclass(frozen=True)
class PatternMatch:
    """One place where a pattern matches a text.

    Positions are zero-based ``(line, column)`` pairs relative to the matched text, with
    columns counted in Unicode code points; ``end`` is exclusive.
    """

    pattern_id: str
    title: str
    message: str
    start: tuple[int, int]
    end: tuple[int, int]

    @property
    def key(self) -> str:
        """The diagnostic code of the pattern (``pattern:<id>``)."""
        return pattern_key(self.pattern_id)
