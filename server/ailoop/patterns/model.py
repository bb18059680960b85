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

#: What a team pattern id may look like: letters, digits, ``-``, ``_`` and ``.``.
PATTERN_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9_.\-]*")


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
