"""Pattern feedback for the editor: what the language server keeps per workspace.

Matching is cheap (a pre-filter, and a deadline for every regex: a pattern past it is
disabled until the patterns file changes, see :meth:`PatternSet.take_timeouts`) and runs
on the editor's path; statistics are never computed there.
:meth:`PatternFeedback.refresh_stats` does the (blocking) work and is meant to run in the
background (``asyncio.to_thread``); :meth:`PatternFeedback.findings` only reads the last
statistics. The class knows nothing of LSP: findings carry the diagnostic code, message,
severity and a code-point range relative to the matched text.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

from ailoop.patterns.aggregate import local_pattern_stats
from ailoop.patterns.model import PatternMatch
from ailoop.patterns.patternset import PatternSet
from ailoop.patterns.stats import (
    PatternSettings,
    PatternStats,
    diagnostic_message,
    severity_for,
)


def team_note(stats: PatternStats) -> str:
    """Return a key's numbers as the editor shows them beside a finding.

    "rejected 3× before (3 in the last 7 days), accepted 0×": the counts of AI snippet
    outcomes with the key, from the store in use (the team's when it is shared).
    """
    return (
        f"rejected {stats.rejected}× before ({stats.rejected_recent} in the last "
        f"{stats.recent_days} days), accepted {stats.accepted}×"
    )


@dataclasses.dataclass(frozen=True)
class PatternFinding:
    """A known rejection pattern found in a snippet, ready to become a diagnostic."""

    code: str  # ``pattern:<id>``
    pattern_id: str
    title: str
    message: str
    severity: int  # LSP DiagnosticSeverity
    start: tuple[int, int]  # (line, column in code points), relative to the matched text
    end: tuple[int, int]
    stats: PatternStats


class PatternFeedback:
    """The pattern set and the latest statistics of one workspace."""

    def __init__(self, root: Path | None, data_dir: Path | None = None) -> None:
        self.root = root
        self.data_dir = data_dir
        self.patterns = PatternSet()
        self.settings = PatternSettings()
        self._stats: Mapping[str, PatternStats] = {}
        self._supported: Mapping[str, PatternStats] = {}

    def reload(self, settings_table: Mapping[str, Any] | None = None) -> list[str]:
        """Read ``.ailoop/patterns.toml`` and the ``patterns`` settings again.

        Returns the problems (each names the file, the pattern and what is wrong); the
        patterns that load keep working.
        """
        problems: list[str] = []
        if self.root is not None:
            self.patterns, problems = PatternSet.load(self.root)
        if settings_table is not None:
            self.settings, setting_problems = PatternSettings.from_mapping(settings_table)
            problems += setting_problems
        return problems

    def reason_patterns(self) -> dict[str, str]:
        """Map each normalized reason a pattern was promoted from to the pattern's key."""
        return self.patterns.reason_patterns()

    def refresh_stats(self, now: dt.datetime | None = None) -> Mapping[str, PatternStats]:
        """Recompute the statistics from the local store (blocking; run it off the editor path).

        Raises :class:`ailoop.store.local.StoreError` when the store cannot be read; the
        previous statistics stay in use.
        """
        moment = now or dt.datetime.now(dt.timezone.utc)
        stats = local_pattern_stats(self.settings, moment, self.data_dir, self.reason_patterns())
        self.set_stats(stats)
        return stats

    def set_stats(self, stats: Mapping[str, PatternStats]) -> None:
        """Use ``stats`` (for example the team's, from the shared store) from now on."""
        self._stats = dict(stats)
        self._supported = {key: s for key, s in self._stats.items() if s.supported}

    @property
    def supported(self) -> Mapping[str, PatternStats]:
        """The keys with support in the statistics in use."""
        return self._supported

    @property
    def stats(self) -> Mapping[str, PatternStats]:
        """The statistics in use."""
        return self._stats

    def keys_in(self, text: str, language: str, where: str = "") -> tuple[str, ...]:
        """Return the keys of every team pattern in ``text``, for an event's ``findings``.

        ``where`` names the text (a file) in the message about a pattern past its deadline.
        """
        return tuple(sorted({m.key for m in self.patterns.match(text, language, where)}))

    def findings(self, text: str, language: str, where: str = "") -> list[PatternFinding]:
        """Return the supported patterns in ``text`` with their numbers (no computing)."""
        return self.findings_in(self.patterns.match(text, language, where))

    def findings_in(self, matches: Iterable[PatternMatch]) -> list[PatternFinding]:
        """Return the matches whose pattern is supported, with their numbers."""
        out = []
        stats = self._stats
        for match in matches:
            numbers = stats.get(match.key)
            if numbers is None or not numbers.supported:
                continue
            out.append(
                PatternFinding(
                    code=match.key,
                    pattern_id=match.pattern_id,
                    title=match.title,
                    message=diagnostic_message(numbers, match.title),
                    severity=severity_for(numbers),
                    start=match.start,
                    end=match.end,
                    stats=numbers,
                )
            )
        return out

    def rule_note(self, rule: str) -> str | None:
        """Return the numbers of a feedback rule (``ruff:BLE001``) when it has support."""
        numbers = self._stats.get(rule)
        if numbers is None or not numbers.supported:
            return None
        return diagnostic_message(numbers, rule)
