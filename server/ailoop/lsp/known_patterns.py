"""Known rejection patterns in the editor: ``pattern:<id>`` diagnostics on AI snippets.

Each workspace folder has its own patterns (its ``.ailoop/patterns.toml`` and settings).
A snippet is matched on the patterns' own worker thread when it appears or its text
changes, never on the keystroke path; the result is kept per snippet for the text it was computed on, and
a publish shows the matches of a snippet's current text only (a changed snippet's are
shown again once it has been matched anew). The statistics behind the messages are
computed off the event loop, at start-up and after outcomes are recorded, and only read
here.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import datetime as dt
import functools
from typing import TYPE_CHECKING

from lsprotocol import types

from ailoop.capture.document import Position
from ailoop.capture.track import Snippet
from ailoop.lsp import diagnostics
from ailoop.lsp.server import AiloopServer
from ailoop.lsp.session import Folder, Matched, OpenDocument, file_path
from ailoop.store.local import DB_NAME, StoreError, default_data_dir

if TYPE_CHECKING:
    from ailoop.patterns.feedback import PatternFeedback
    from ailoop.patterns.model import PatternMatch

STAGE = "patterns"
#: Seconds after an outcome is recorded before the statistics are computed again.
STATS_DELAY = 2.0

_matcher: concurrent.futures.ThreadPoolExecutor | None = None


def _matching_thread() -> concurrent.futures.ThreadPoolExecutor:
    """Return the one thread every match runs on, started once.

    One thread, not the loop's default pool: a regex that backtracks keeps one core busy
    until its deadline, not every core (the snippet's event and its diagnostics would
    otherwise match the same text side by side), and no thread has to be started on the
    event loop while one does (``Thread.start`` waits for the new thread to run, and
    with the cores busy that kept the loop waiting for tens of milliseconds).
    """
    global _matcher
    if _matcher is None:
        _matcher = concurrent.futures.ThreadPoolExecutor(1, thread_name_prefix="ailoop-patterns")
    return _matcher


def register(server: AiloopServer) -> None:
    """Keep pattern diagnostics in step with the snippets at every publish."""
    server.diagnostic_providers.append(update)


async def load(ls: AiloopServer, folder: Folder) -> None:
    """Load a folder's patterns and statistics off the event loop, then use them."""
    from ailoop.patterns.feedback import PatternFeedback  # after start-up

    feedback = PatternFeedback(folder.path, ls.data_dir or default_data_dir())
    loop = asyncio.get_running_loop()
    problems = await loop.run_in_executor(
        _matching_thread(), feedback.reload, folder.settings.patterns
    )  # loaded where it is matched: the thread is running before the first snippet
    for problem in problems:
        ls.problem(problem)
    folder.patterns = feedback
    for doc in ls.session.documents_in(folder):
        doc.matches.clear()
    await refresh_stats(ls, folder)


def _shown(doc: OpenDocument) -> str:
    """Name the document in a message: its path in the folder, else its path or URI."""
    path = file_path(doc.uri)
    if path is None:
        return doc.uri
    root = doc.folder.path
    if root is not None and path.is_relative_to(root):
        return path.relative_to(root).as_posix()
    return str(path)


async def _match(
    ls: AiloopServer, doc: OpenDocument, feedback: PatternFeedback, text: str
) -> tuple[PatternMatch, ...]:
    """Match ``text`` on a worker thread; report a pattern that ran past its deadline.

    Regexes release the GIL while they search and stop at their deadline; ast-grep holds
    it, so it is given snippets of at most ``EDITOR_AST_GREP_MAX_CHARS`` characters.
    """
    from ailoop.patterns.matchers import EDITOR_AST_GREP_MAX_CHARS

    patterns = feedback.patterns
    match = functools.partial(
        patterns.match, text, doc.tracked.language_id, _shown(doc), EDITOR_AST_GREP_MAX_CHARS
    )
    found = await asyncio.get_running_loop().run_in_executor(_matching_thread(), match)
    for message in patterns.take_timeouts():
        ls.problem(message)
    return tuple(found)


def cached(doc: OpenDocument, snippet: Snippet) -> Matched | None:
    """Return the snippet's matches if they were computed on its current text."""
    found = doc.matches.get(snippet)
    return found if found is not None and found.revision == snippet.revision else None


async def keys_of(ls: AiloopServer, doc: OpenDocument, snippet: Snippet, text: str) -> set[str]:
    """Return the keys of every team pattern in ``text``, one of the snippet's texts.

    The current text's matches are kept for the editor; others (the generated text of a
    snippet edited since) are matched for the event only. Matching runs off the loop,
    with the patterns now in the folder's files (see :mod:`ailoop.lsp.watched`).
    """
    if ls.watched_files is not None:
        await ls.watched_files.up_to_date(ls, doc.folder)
    feedback = doc.folder.patterns
    if feedback is None:
        return set()
    revision = snippet.revision
    is_current = text is snippet.current
    found = doc.matches.get(snippet) if is_current else None
    if found is None or found.revision != revision:
        matches = await _match(ls, doc, feedback, text)
        if not is_current:
            return {m.key for m in matches}
        found = Matched(revision, matches)
        if snippet.revision == revision and not doc.closed:
            doc.matches[snippet] = found
    return {m.key for m in found.matches}


def _rematch(ls: AiloopServer, doc: OpenDocument, snippet: Snippet) -> None:
    """Match a snippet's new text in the background, then publish again."""
    if snippet in doc.matching:
        return
    doc.matching.add(snippet)

    async def run() -> None:
        try:
            while (feedback := doc.folder.patterns) is not None and not doc.closed:
                revision, text = snippet.revision, snippet.current
                found = await _match(ls, doc, feedback, text)
                if doc.folder.patterns is not feedback:
                    continue  # the patterns were reloaded meanwhile: match with the new ones
                doc.matches[snippet] = Matched(revision, found)
                if snippet.revision == revision:  # not edited again meanwhile
                    break
        finally:
            doc.matching.discard(snippet)
        if not doc.closed:
            diagnostics.publish(ls, doc, lenses=False)

    ls.run_task(run(), f"match patterns in {doc.uri}")


def _absolute(snippet: Snippet, point: tuple[int, int]) -> Position:
    line, char = point
    return Position(snippet.start.line + line, char + (snippet.start.char if line == 0 else 0))


def update(ls: AiloopServer, doc: OpenDocument) -> None:
    """Rebuild the document's pattern diagnostics from its live snippets' matches."""
    feedback = doc.folder.patterns
    items = []
    tracked = doc.tracked
    live = set(tracked.snippets)
    for snippet in tracked.snippets:
        if feedback is None:
            continue
        found = cached(doc, snippet)
        if found is None:
            _rematch(ls, doc, snippet)
            continue
        for finding in feedback.findings_in(found.matches):
            items.append(
                types.Diagnostic(
                    range=diagnostics.to_range(
                        tracked, _absolute(snippet, finding.start), _absolute(snippet, finding.end)
                    ),
                    message=f"{finding.message} (in an AI snippet)",
                    severity=types.DiagnosticSeverity(finding.severity),
                    code=finding.code,
                    source=diagnostics.SOURCE,
                    data={"snippet": snippet.id, "pattern": finding.code, "title": finding.title},
                )
            )
    for key in [k for k in doc.matches if k not in live]:
        del doc.matches[key]
    doc.findings[STAGE] = items


def code_actions(doc: OpenDocument, snippet: Snippet) -> list[tuple[str, str]]:
    """Return ``(title, pattern key)`` for each pattern present in the snippet's text."""
    found = cached(doc, snippet)
    if found is None:
        return []
    return [(title, key) for key, title in found.titles.items()]


def _use_team_stats(ls: AiloopServer, feedback: PatternFeedback, store: str | None) -> None:
    """Use the numbers of the folder's team store, pulled into the local cache.

    A folder whose events go to no shared store keeps the local numbers: another
    repository's team numbers are not this one's.
    """
    from ailoop.patterns.stats import recent_cutoff, stats_from_counts
    from ailoop.store.team_cache import team_buckets

    db = (ls.data_dir or default_data_dir()) / DB_NAME
    cutoff = recent_cutoff(dt.datetime.now(dt.timezone.utc), feedback.settings)
    per_key, overall = team_buckets(db, cutoff, store) if store else ({}, [0, 0, 0, 0])
    if not per_key:  # nothing pulled yet: the local numbers stay
        feedback.refresh_stats()
        return
    feedback.set_stats(stats_from_counts(per_key, overall, feedback.settings))


def schedule_stats(ls: AiloopServer, folder: Folder, delay: float = STATS_DELAY) -> None:
    """Recompute a folder's statistics in the background, once things are quiet."""
    if folder.stats_timer is not None:
        folder.stats_timer.cancel()
    folder.stats_timer = asyncio.get_running_loop().call_later(
        delay, lambda: ls.run_task(refresh_stats(ls, folder), "pattern statistics")
    )


async def refresh_stats(ls: AiloopServer, folder: Folder) -> None:
    """Compute a folder's pattern statistics off the loop, then update its documents."""
    folder.stats_timer = None
    feedback = folder.patterns
    if feedback is None:
        return
    try:
        if ls.use_team_stats:
            from ailoop.lsp import sync  # it imports this module

            store = sync.store_of(ls, folder)
            await asyncio.to_thread(_use_team_stats, ls, feedback, store)
        else:
            await asyncio.to_thread(feedback.refresh_stats)
    except StoreError as exc:
        ls.log(f"pattern statistics not updated: {exc}", types.MessageType.Warning)
        return
    for doc in ls.session.documents_in(folder):
        if doc.tracked.snippets:
            diagnostics.publish(ls, doc, lenses=False)
