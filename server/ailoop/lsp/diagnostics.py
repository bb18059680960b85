"""What the editor shows as diagnostics: a marker over each live snippet, plus findings.

Markers have ``code = "ai-snippet"`` and ``data.snippet``; other stages (feedback engines,
rejection patterns) add their diagnostics per document under their own name in
``ls.findings``, and every publish sends the lot for the document's current version.
"""

from __future__ import annotations

import asyncio

from lsprotocol import types

from ailoop.capture.document import Position
from ailoop.capture.identity import short_id
from ailoop.capture.track import Snippet, TrackedDocument
from ailoop.lsp.server import AiloopServer

SOURCE = "ailoop"
MARKER = "ai-snippet"
#: Seconds to wait after an edit that only moved snippets before publishing again.
MOVE_DEBOUNCE = 0.15


def to_range(doc: TrackedDocument, start: Position, end: Position) -> types.Range:
    """Convert a code-point range to an LSP range in the client's units."""
    sl, sc = doc.doc.to_client(start)
    el, ec = doc.doc.to_client(end)
    return types.Range(types.Position(sl, sc), types.Position(el, ec))


def display_range(doc: TrackedDocument, snippet: Snippet) -> types.Range:
    """Return the snippet's range without its final line break, for markers and lenses."""
    end = snippet.end
    if end.char == 0 and end.line > snippet.start.line:
        line = doc.doc.lines[end.line - 1]
        end = Position(end.line - 1, len(line.rstrip("\r\n")))
    return to_range(doc, snippet.start, end)


def marker_message(snippet: Snippet) -> str:
    """Return the marker's text: tool, line count, short id, and state."""
    state = "not reviewed yet"
    if snippet.modified:
        state = f"edited since, {round(snippet.similarity() * 100)}% as generated"
    return (
        f"AI snippet from {snippet.tool}, {snippet.lines} "
        f"line{'s' if snippet.lines != 1 else ''} ({short_id(snippet.id)}): {state}. "
        "Accept or reject it with a code action."
    )


def marker(doc: TrackedDocument, snippet: Snippet) -> types.Diagnostic:
    """Return the marker diagnostic of a live snippet."""
    return types.Diagnostic(
        range=display_range(doc, snippet),
        message=marker_message(snippet),
        severity=types.DiagnosticSeverity.Information,
        code=MARKER,
        source=SOURCE,
        data={"snippet": snippet.id, "tool": snippet.tool},
    )


def publish(ls: AiloopServer, uri: str, *, lenses: bool = True) -> None:
    """Send the document's diagnostics now (markers and every stage's findings).

    ``lenses``: the set of snippets changed, so the client should fetch code lenses again.
    """
    if (timer := ls.publish_timers.pop(uri, None)) is not None:
        timer.cancel()
    doc = ls.documents.get(uri)
    if doc is None:
        return
    for provider in ls.diagnostic_providers:
        provider(ls, doc)
    items = [marker(doc, s) for s in doc.shown]
    for found in ls.findings.get(uri, {}).values():
        items.extend(found)
    if items != ls.published.get(uri):  # an engine re-check often finds the same again
        ls.published[uri] = items
        ls.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=uri, diagnostics=items, version=doc.version)
        )
    if lenses:
        refresh_code_lens(ls)


def schedule(ls: AiloopServer, uri: str, delay: float = MOVE_DEBOUNCE) -> None:
    """Publish after ``delay`` unless another edit comes first (snippets moved)."""
    if (timer := ls.publish_timers.pop(uri, None)) is not None:
        timer.cancel()
    ls.publish_timers[uri] = asyncio.get_running_loop().call_later(
        delay, lambda: publish(ls, uri, lenses=False)
    )


def engine_codes(ls: AiloopServer, uri: str, snippet: str) -> set[str]:
    """Return the codes of the findings published inside a snippet (``ruff:F401``, …)."""
    return {
        str(d.code)
        for items in ls.findings.get(uri, {}).values()
        for d in items
        if isinstance(d.data, dict) and d.data.get("snippet") == snippet and d.code != MARKER
    }


def refresh_code_lens(ls: AiloopServer) -> None:
    """Ask the client to fetch code lenses again, when it supports being asked."""
    workspace = ls.client_capabilities.workspace
    lens = workspace.code_lens if workspace is not None else None
    if lens is not None and lens.refresh_support:
        ls.workspace_code_lens_refresh(None)
