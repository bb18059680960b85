"""Known rejection patterns: the team's matchers, their statistics, and the learned context.

Entry points for the editor and the commands:

- :class:`PatternSet` (``PatternSet.load(root)``, ``match(text, language)``);
- :func:`compute_pattern_stats` with :class:`PatternSettings`, giving :class:`PatternStats`;
- :func:`diagnostic_message` and :func:`severity_for` for the ``pattern:<id>`` diagnostics.
"""

from __future__ import annotations

from ailoop.patterns.model import PatternMatch, normalize_key, pattern_key
from ailoop.patterns.patternset import PATTERNS_FILE, Pattern, PatternSet
from ailoop.patterns.stats import (
    PatternSettings,
    PatternStats,
    compute_pattern_stats,
    diagnostic_message,
    severity_for,
)

__all__ = [
    "PATTERNS_FILE",
    "Pattern",
    "PatternMatch",
    "PatternSet",
    "PatternSettings",
    "PatternStats",
    "compute_pattern_stats",
    "diagnostic_message",
    "normalize_key",
    "pattern_key",
    "severity_for",
]
