"""A workspace as the pattern commands see it: its root, patterns and pattern settings.

Settings come from ``[patterns]`` in ``.ailoop.toml`` or ``[tool.ailoop.patterns]`` in
``pyproject.toml`` at the workspace root (``.ailoop.toml`` wins when both exist).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import sys
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from ailoop.patterns.aggregate import local_pattern_stats
from ailoop.patterns.patternset import PatternSet
from ailoop.patterns.reasons import normalize_reason
from ailoop.patterns.stats import PatternSettings, PatternStats

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover
    import tomli as tomllib  # type: ignore[import-not-found,no-redef,unused-ignore]


#: Where settings are read from: the file, and the table inside it.
_SETTINGS_SOURCES = (
    (".ailoop.toml", ("patterns",)),
    ("pyproject.toml", ("tool", "ailoop", "patterns")),
)


def read_pattern_settings(root: Path) -> tuple[PatternSettings, list[str]]:
    """Read the pattern settings of the workspace at ``root``; never raises."""
    for name, table_path in _SETTINGS_SOURCES:
        path = root / name
        if not path.is_file():
            continue
        try:
            document: Any = tomllib.loads(path.read_text(encoding="utf-8"))
        except (OSError, UnicodeDecodeError, tomllib.TOMLDecodeError) as exc:
            return PatternSettings(), [f"{path}: cannot be read ({exc}); using default settings"]
        table: Any = document
        for part in table_path:
            table = table.get(part, {}) if isinstance(table, Mapping) else {}
        if not isinstance(table, Mapping):
            return PatternSettings(), [f"{path}: {'.'.join(table_path)} must be a table"]
        settings, problems = PatternSettings.from_mapping(table)
        return settings, [f"{path}: {p}" for p in problems]
    return PatternSettings(), []


@dataclasses.dataclass(frozen=True)
class Workspace:
    """The patterns and settings of one workspace, with every loading problem."""

    root: Path
    patterns: PatternSet
    settings: PatternSettings
    problems: tuple[str, ...]

    @classmethod
    def load(cls, root: Path) -> Workspace:
        """Load the workspace at ``root``; problems are collected, never raised."""
        patterns, pattern_problems = PatternSet.load(root)
        settings, setting_problems = read_pattern_settings(root)
        return cls(root, patterns, settings, (*pattern_problems, *setting_problems))

    def reason_patterns(self) -> dict[str, str]:
        """Map each normalized reason a pattern was promoted from to the pattern's key."""
        mapping: dict[str, str] = {}
        for pattern in self.patterns.patterns:
            for reason in pattern.reasons:
                if key := normalize_reason(reason):
                    mapping.setdefault(key, pattern.key)
        return mapping

    def local_stats(self, now: dt.datetime, data_dir: Path | None) -> dict[str, PatternStats]:
        """Compute the pattern statistics from the local store."""
        return local_pattern_stats(self.settings, now, data_dir, self.reason_patterns())
