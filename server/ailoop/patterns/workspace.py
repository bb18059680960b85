"""A workspace as the pattern commands see it: its root, patterns and pattern settings.

Settings come from ``[tool.ailoop.patterns]`` in ``pyproject.toml`` and ``[patterns]`` in
``.ailoop.toml`` at the workspace root, read like the language server reads them.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

from ailoop.patterns.aggregate import local_pattern_stats
from ailoop.patterns.patternset import PatternSet
from ailoop.patterns.stats import PatternSettings, PatternStats


def read_pattern_settings(root: Path) -> tuple[PatternSettings, list[str]]:
    """Read the ``patterns`` settings of the workspace at ``root``; never raises.

    The files are read by :func:`ailoop.settings.load` (``[tool.ailoop]`` in
    ``pyproject.toml``, then ``.ailoop.toml``); this checks the ``patterns`` table.
    """
    from ailoop import settings as ailoop_settings  # shared with the language server

    loaded, problems = ailoop_settings.load(root)
    pattern_settings, pattern_problems = PatternSettings.from_mapping(loaded.patterns)
    return pattern_settings, problems + pattern_problems


@dataclasses.dataclass(frozen=True)
class Workspace:
    """The patterns and settings of one workspace, with every loading problem."""

    root: Path
    patterns: PatternSet
    settings: PatternSettings
    problems: tuple[str, ...]
    #: The problems of the patterns file alone (among ``problems``): patterns that did
    #: not load, or a file that could not be read.
    pattern_problems: tuple[str, ...] = ()

    @classmethod
    def load(cls, root: Path) -> Workspace:
        """Load the workspace at ``root``; problems are collected, never raised."""
        patterns, pattern_problems = PatternSet.load(root)
        settings, setting_problems = read_pattern_settings(root)
        return cls(
            root,
            patterns,
            settings,
            (*pattern_problems, *setting_problems),
            tuple(pattern_problems),
        )

    def reason_patterns(self) -> dict[str, str]:
        """Map each normalized reason a pattern was promoted from to the pattern's key."""
        return self.patterns.reason_patterns()

    def local_stats(
        self, now: dt.datetime, data_dir: Path | None, repo: str | None = None
    ) -> dict[str, PatternStats]:
        """Compute the pattern statistics from the local store (of one repository's events)."""
        return local_pattern_stats(self.settings, now, data_dir, self.reason_patterns(), repo)
