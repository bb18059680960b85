"""Known rejection patterns in the editor: ``pattern:<id>`` diagnostics on AI snippets.

Matching a snippet is cheap (a few milliseconds for hundreds of patterns) and runs only
when a snippet appears or its text changes, never on other keystrokes; results are cached
by snippet text. The statistics behind the messages are computed off the event loop, at
start-up and after outcomes are recorded, and only read here.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass
from typing import TYPE_CHECKING

from lsprotocol import types

from ailoop.capture.document import Position
from ailoop.capture.track import Snippet, TrackedDocument
from ailoop.lsp import diagnostics
from ailoop.lsp.server import AiloopServer
from ailoop.store.local import DB_NAME, StoreError, default_data_dir

if TYPE_CHECKING:
    from ailoop.patterns.feedback import PatternFeedback, PatternFinding

STAGE = "patterns"
#: Seconds after an outcome is recorded before the statistics are computed again.
STATS_DELAY = 2.0


@dataclass(frozen=True)
class Matched:
    """The patterns of one snippet text: every key present, and those worth a warning."""

    text: str
    keys: tuple[str, ...]
    titles: dict[str, str]
    findings: tuple[PatternFinding, ...]


def register(server: AiloopServer) -> None:
    """Keep pattern diagnostics in step with the snippets at every publish."""
    server.diagnostic_providers.append(update)


async def start(ls: AiloopServer) -> None:
    """Load the workspace's patterns and statistics off the event loop, then use them."""
    from ailoop.patterns.feedback import PatternFeedback  # after start-up

    feedback = PatternFeedback(ls.root, ls.data_dir or default_data_dir())
    problems = await asyncio.to_thread(feedback.reload, ls.settings.patterns)
    for problem in problems:
        ls.problem(problem)
    ls.patterns = feedback
    ls.pattern_matches.clear()
    await refresh_stats(ls)


def matched(ls: AiloopServer, doc: TrackedDocument, snippet: Snippet) -> Matched:
    """Return the patterns in the snippet's current text (cached by text)."""
    key = (doc.uri, snippet.id)
    cached = ls.pattern_matches.get(key)
    if cached is not None and cached.text == snippet.current:
        return cached
    feedback = ls.patterns
    if feedback is None:
        return Matched(snippet.current, (), {}, ())
    matches = feedback.patterns.match(snippet.current, doc.language_id)
    titles = {m.key: m.title for m in matches}
    result = Matched(
        snippet.current, tuple(sorted(titles)), titles, tuple(feedback.findings_in(matches))
    )
    ls.pattern_matches[key] = result
    return result


def _absolute(snippet: Snippet, point: tuple[int, int]) -> Position:
    line, char = point
    return Position(snippet.start.line + line, char + (snippet.start.char if line == 0 else 0))


def update(ls: AiloopServer, doc: TrackedDocument) -> None:
    """Recompute the document's pattern diagnostics from its live snippets."""
    items = []
    live = set()
    for snippet in doc.snippets:
        live.add((doc.uri, snippet.id))
        for finding in matched(ls, doc, snippet).findings:
            items.append(
                types.Diagnostic(
                    range=diagnostics.to_range(
                        doc, _absolute(snippet, finding.start), _absolute(snippet, finding.end)
                    ),
                    message=f"{finding.message} (in an AI snippet)",
                    severity=types.DiagnosticSeverity(finding.severity),
                    code=finding.code,
                    source=diagnostics.SOURCE,
                    data={"snippet": snippet.id, "pattern": finding.code},
                )
            )
    for key in [k for k in ls.pattern_matches if k[0] == doc.uri and k not in live]:
        del ls.pattern_matches[key]
    ls.findings.setdefault(doc.uri, {})[STAGE] = items


def code_actions(ls: AiloopServer, doc: TrackedDocument, snippet: Snippet) -> list[tuple[str, str]]:
    """Return ``(title, pattern key)`` for each pattern present in the snippet."""
    found = matched(ls, doc, snippet)
    return [(found.titles[key], key) for key in found.keys]


def _use_team_stats(ls: AiloopServer, feedback: PatternFeedback) -> None:
    """Use the team's statistics, pulled from the shared store into the local cache."""
    import datetime as dt

    from ailoop.patterns.stats import recent_cutoff, stats_from_counts
    from ailoop.store.team_cache import team_buckets

    db = (ls.data_dir or default_data_dir()) / DB_NAME
    cutoff = recent_cutoff(dt.datetime.now(dt.timezone.utc), feedback.settings)
    per_key, overall = team_buckets(db, cutoff)
    if not per_key:  # nothing pulled yet: the local numbers stay
        feedback.refresh_stats()
        return
    feedback.set_stats(stats_from_counts(per_key, overall, feedback.settings))


def schedule_stats(ls: AiloopServer, delay: float = STATS_DELAY) -> None:
    """Recompute the statistics in the background, once things are quiet."""
    if ls.stats_timer is not None:
        ls.stats_timer.cancel()
    ls.stats_timer = asyncio.get_running_loop().call_later(
        delay, lambda: ls.run_task(refresh_stats(ls), "pattern statistics")
    )


async def refresh_stats(ls: AiloopServer) -> None:
    """Compute pattern statistics off the event loop, then update every open document."""
    ls.stats_timer = None
    feedback = ls.patterns
    if feedback is None:
        return
    try:
        if ls.use_team_stats:
            await asyncio.to_thread(_use_team_stats, ls, feedback)
        else:
            await asyncio.to_thread(feedback.refresh_stats)
    except StoreError as exc:
        ls.log(f"pattern statistics not updated: {exc}", types.MessageType.Warning)
        return
    ls.pattern_matches.clear()
    for doc in list(ls.documents.values()):
        if doc.snippets:
            update(ls, doc)
            diagnostics.publish(ls, doc.uri, lenses=False)
