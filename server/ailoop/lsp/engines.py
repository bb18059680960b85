"""Edit-time feedback in the editor: the engines' findings on AI snippets.

Each workspace folder has its own :class:`~ailoop.feedback.EngineHub` (ruff's and ty's
language servers and the folder's command engines, with the folder's settings), started
on the first document opened in that folder. This module forwards document events to
the folder's hub and turns what it reports into diagnostics. Only findings inside a live
snippet are shown (``feedback.scope = "file"`` shows them all), each naming its snippet
in ``data.snippet``; findings for a version the document has moved past are dropped.
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from ailoop.capture.track import Snippet, TrackedDocument
from ailoop.lsp import diagnostics
from ailoop.lsp.server import AiloopServer
from ailoop.lsp.session import Folder, OpenDocument

if TYPE_CHECKING:
    from ailoop.feedback import EngineHub, Finding
    from ailoop.patterns.stats import PatternStats

#: Seconds a new snippet's ``generated`` event waits for the engines' first answer.
FIRST_ANSWER_WAIT = 2.0


def register(server: AiloopServer) -> None:
    """Keep engine diagnostics in step with the snippets at every publish."""
    server.diagnostic_providers.append(update)


def hub_for(ls: AiloopServer, folder: Folder) -> EngineHub:
    """Return the folder's engines, starting them (in the background) on first use."""
    if folder.hub is None:
        from ailoop.feedback import EngineHub  # after start-up

        folder.hub = EngineHub(
            folder.path,
            folder.feedback,
            on_findings=lambda uri, version, engine, found: on_findings(ls, uri, version),
            on_problem=ls.problem,
            position_encoding=ls.encoding,
        )
        ls.run_task(folder.hub.start(), f"start the feedback engines of {folder.name}")
    return folder.hub


def open_document(ls: AiloopServer, doc: OpenDocument) -> None:
    """Hand an opened document to its folder's engines."""
    tracked = doc.tracked
    hub_for(ls, doc.folder).open(doc.uri, tracked.language_id, tracked.version, tracked.doc.text)


async def reconfigure(ls: AiloopServer, folder: Folder) -> None:
    """Restart a folder's engines with changed settings; its documents are checked again."""
    if folder.hub is not None:
        await folder.hub.reconfigure(folder.feedback)
        for doc in ls.session.documents_in(folder):
            tracked = doc.tracked
            folder.hub.open(doc.uri, tracked.language_id, tracked.version, tracked.doc.text)
            diagnostics.publish(ls, doc, lenses=False)


async def stop(folder: Folder) -> None:
    """Stop a folder's engines."""
    if folder.hub is not None:
        hub, folder.hub = folder.hub, None
        await hub.stop()


def on_findings(ls: AiloopServer, uri: str, version: int) -> None:
    """Publish an engine's new findings, if they are for the document's current version."""
    doc = ls.session.get(uri)
    if doc is None:
        return
    if doc.tracked.version == version:  # else the document moved on; new findings follow
        diagnostics.publish(ls, doc, lenses=False)
    doc.findings_arrived()


def _awaiting_answer(ls: AiloopServer, doc: OpenDocument) -> bool:
    """Return whether an engine will check the document and has yet to answer for its text.

    Before the editor's settings are in, the folder has no engines yet; they start then
    and check the document. An engine waiting to be restarted after a failure is not
    waited for.
    """
    hub = doc.folder.hub
    if hub is None:
        return not ls.ready
    tracked = doc.tracked
    latest = hub.latest_findings(doc.uri)
    checking = [
        name
        for name, engine in hub.engines.items()
        if engine.accepts(tracked.language_id) and hub.engine_state(name) != "waiting"
    ]
    return bool(checking) and all(
        latest.get(name, (None,))[0] != tracked.version for name in checking
    )


async def first_answer(
    ls: AiloopServer, doc: OpenDocument, timeout: float = FIRST_ANSWER_WAIT
) -> None:
    """Wait until an engine has answered for the document's current text, at most ``timeout``.

    A new snippet's ``generated`` event lists the findings present when it is written; this
    makes them the engines' first answer on the snippet (ruff's, usually within
    milliseconds, or once it has started). It returns at once when no engine will check
    the document, and after ``timeout`` when none answers (an engine slow to start, typing
    that does not pause): the event is then written with what is known. Nothing is
    polled: it wakes on each report of the document's engines, and when it closes.
    """
    loop = asyncio.get_running_loop()
    deadline = loop.time() + timeout
    while not doc.closed and _awaiting_answer(ls, doc) and (left := deadline - loop.time()) > 0:
        waiter: asyncio.Future[None] = loop.create_future()
        doc.answer_waiters.append(waiter)
        await asyncio.wait([waiter], timeout=left)
        if not waiter.done():
            waiter.cancel()
            return


#: The live snippets of a document with their ranges in the client's units.
SnippetRanges = list[tuple[tuple[int, int], tuple[int, int], Snippet]]


def _snippet_ranges(tracked: TrackedDocument) -> SnippetRanges:
    """Return the live snippets with their ranges in the client's units."""
    return [
        (tracked.doc.to_client(s.start), tracked.doc.to_client(s.end), s) for s in tracked.snippets
    ]


def _owner(ranges: SnippetRanges, finding: Finding) -> Snippet | None:
    """Return the live snippet a finding lies in, if any.

    Findings are feedback on code, shown as soon as the snippet is recognised, without
    waiting for its event to be stored (the marker and the review actions do wait).
    """
    for start, end, snippet in ranges:
        if start <= finding.start and finding.end <= end:
            return snippet
    return None


def supported_stats(folder: Folder) -> Mapping[str, PatternStats]:
    """Return the folder's keys with support (a warning's worth), with their numbers."""
    return folder.patterns.supported if folder.patterns is not None else {}


def team_note(stats: PatternStats) -> str:
    """Return a key's numbers as a diagnostic says them (``rejected 3× before …``)."""
    from ailoop.patterns.feedback import team_note as note

    return note(stats)


def numbers_of(stats: PatternStats) -> dict[str, Any]:
    """Return a key's numbers for a diagnostic's ``data.numbers``."""
    return {
        "rejected": stats.rejected,
        "rejected_recent": stats.rejected_recent,
        "accepted": stats.accepted,
        "recent_days": stats.recent_days,
        "lift": round(stats.lift, 2),
    }


def describe(finding: Finding, snippet: Snippet | None, note: str | None = None) -> str:
    """Return the diagnostic message: what is wrong, and that it is in an AI snippet.

    ``note``: the numbers of the rule, when the team's outcomes give it support.
    """
    where = " (in an AI snippet)" if snippet is not None else ""
    numbers = f" — {note}" if note else ""
    return f"{finding.message}{numbers}{where}"


def _current_findings(doc: OpenDocument) -> dict[str, tuple[int, list[Finding]]]:
    hub = doc.folder.hub
    return hub.latest_findings(doc.uri) if hub is not None else {}


def update(ls: AiloopServer, doc: OpenDocument) -> None:
    """Rebuild the document's engine diagnostics from the latest findings."""
    tracked = doc.tracked
    whole_file = doc.folder.feedback.scope == "file"
    ranges = _snippet_ranges(tracked)
    supported = supported_stats(doc.folder)
    for engine, (version, found) in _current_findings(doc).items():
        items: list[types.Diagnostic] = []
        if version != tracked.version:  # positions of an older text: wait for the new report
            doc.findings[engine] = items
            continue
        for finding in found:
            snippet = _owner(ranges, finding)
            if snippet is None and not whole_file:
                continue
            data: dict[str, Any] = {"name": finding.name}
            note = None
            if snippet is not None:
                data["snippet"] = snippet.id
                numbers = supported.get(finding.code)
                if numbers is not None:  # a rule the team rejects: say so, and how often
                    note = team_note(numbers)
                    data.update(pattern=finding.code, numbers=numbers_of(numbers))
            items.append(
                types.Diagnostic(
                    range=types.Range(types.Position(*finding.start), types.Position(*finding.end)),
                    message=describe(finding, snippet, note),
                    severity=types.DiagnosticSeverity(finding.severity),
                    code=finding.code,
                    source=diagnostics.SOURCE,
                    data=data,
                )
            )
        doc.findings[engine] = items


def rules_in(doc: OpenDocument, snippet: Snippet) -> dict[str, str]:
    """Return each engine rule found in the snippet, with its name, in the order found.

    Read from the engines' latest findings for the current text, so an action asked for
    right after a report names its rule even before the merged diagnostics are published.
    """
    rules: dict[str, str] = {}
    tracked = doc.tracked
    ranges = _snippet_ranges(tracked)
    for version, found in _current_findings(doc).values():
        if version != tracked.version:
            continue
        for finding in found:
            if _owner(ranges, finding) is snippet and not rules.get(finding.code):
                rules[finding.code] = finding.name
    return rules
