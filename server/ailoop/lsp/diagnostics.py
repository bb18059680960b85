"""What the editor shows as diagnostics: a marker over each live snippet, plus findings.

Markers have ``code = "ai-snippet"`` and ``data.snippet``; other stages (feedback engines,
rejection patterns) keep their diagnostics per document under their own name in
``OpenDocument.findings``, and every publish sends the lot for the document's current
version.
"""

from __future__ import annotations

import asyncio

from lsprotocol import types

from ailoop.capture.document import Position
from ailoop.capture.identity import short_id
from ailoop.capture.track import Snippet, TrackedDocument
from ailoop.lsp.server import AiloopServer
from ailoop.lsp.session import OpenDocument

SOURCE = "ailoop"
MARKER = "ai-snippet"
#: Seconds to wait after an edit that only moved snippets before publishing again.
MOVE_DEBOUNCE = 0.15


def to_range(tracked: TrackedDocument, start: Position, end: Position) -> types.Range:
    """Convert a code-point range to an LSP range in the client's units."""
    sl, sc = tracked.doc.to_client(start)
    el, ec = tracked.doc.to_client(end)
    return types.Range(types.Position(sl, sc), types.Position(el, ec))


def display_range(tracked: TrackedDocument, snippet: Snippet) -> types.Range:
    """Return the snippet's range without its final line break, for markers and lenses."""
    end = snippet.end
    if end.char == 0 and end.line > snippet.start.line:
        line = tracked.doc.lines[end.line - 1]
        end = Position(end.line - 1, len(line.rstrip("\r\n")))
    return to_range(tracked, snippet.start, end)


def marker_message(snippet: Snippet) -> str:
    """Return the marker's text: tool, line count, short id, and state.

    How much is still as generated is shown once it is known (it is measured in the
    background when the edit's ``modified`` event is written).
    """
    state = "not reviewed yet"
    if snippet.modified:
        known = snippet.known_similarity
        state = (
            "edited since" if known is None else f"edited since, {round(known * 100)}% as generated"
        )
    return (
        f"AI snippet from {snippet.tool}, {snippet.lines} "
        f"line{'s' if snippet.lines != 1 else ''} ({short_id(snippet.id)}): {state}. "
        "Accept or reject it with a code action."
    )


def marker(tracked: TrackedDocument, snippet: Snippet) -> types.Diagnostic:
    """Return the marker diagnostic of a live snippet."""
    return types.Diagnostic(
        range=display_range(tracked, snippet),
        message=marker_message(snippet),
        severity=types.DiagnosticSeverity.Information,
        code=MARKER,
        source=SOURCE,
        data={"snippet": snippet.id, "tool": snippet.tool},
    )


def publish(ls: AiloopServer, doc: OpenDocument, *, lenses: bool = True) -> None:
    """Send the document's diagnostics now (markers and every stage's findings).

    ``lenses``: the set of snippets changed, so the client should fetch code lenses again.
    """
    if doc.publish_timer is not None:
        doc.publish_timer.cancel()
        doc.publish_timer = None
    if doc.closed:
        return
    for provider in ls.diagnostic_providers:
        provider(ls, doc)
    tracked = doc.tracked
    items = [marker(tracked, s) for s in tracked.shown]
    for found in doc.findings.values():
        items.extend(found)
    if items != doc.published:  # an engine re-check often finds the same again
        doc.published = items
        ls.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=doc.uri, diagnostics=items, version=tracked.version)
        )
    if lenses:
        refresh_code_lens(ls)


def schedule(ls: AiloopServer, doc: OpenDocument, delay: float = MOVE_DEBOUNCE) -> None:
    """Publish after ``delay`` unless another edit comes first (snippets moved)."""
    if doc.publish_timer is not None:
        doc.publish_timer.cancel()
    doc.publish_timer = asyncio.get_running_loop().call_later(
        delay, lambda: publish(ls, doc, lenses=False)
    )


def engine_codes(doc: OpenDocument, snippet: str) -> set[str]:
    """Return the codes of the findings published inside a snippet (``ruff:F401``, …)."""
    return {
        str(d.code)
        for items in doc.findings.values()
        for d in items
        if isinstance(d.data, dict) and d.data.get("snippet") == snippet and d.code != MARKER
    }


def refresh_code_lens(ls: AiloopServer) -> None:
    """Ask the client to fetch code lenses again, when it supports being asked."""
    workspace = ls.client_capabilities.workspace
    lens = workspace.code_lens if workspace is not None else None
    if lens is not None and lens.refresh_support:
        ls.workspace_code_lens_refresh(None)
