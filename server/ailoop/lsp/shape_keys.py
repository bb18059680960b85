"""History and shape keys of new snippets, and their diagnostics once they have support.

When a snippet is recognised, before its ``generated`` event is written, it gets the
keys of :mod:`ailoop.patterns.shapes`: whether the same code was rejected before in the
repository (one indexed query, on the store's thread), whether the insertion broke the
syntax of a file that parsed (the engines' reports before and after it), whether it
starts inside a comment or a string, whether it is tiny, whether it repeats lines the
file has (compared on a worker thread: it grows with the file). The keys go into every
event of the snippet, so outcomes teach which of them the team rejects; a key with
support is shown on the snippet's first line with its numbers, and offered as
"Reject: …".
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable

from lsprotocol import types

from ailoop.capture.track import Snippet
from ailoop.lsp import diagnostics, engines
from ailoop.lsp.server import AiloopServer
from ailoop.lsp.session import OpenDocument
from ailoop.patterns import shapes

STAGE = "shapes"


def register(server: AiloopServer) -> None:
    """Show the supported history and shape keys of live snippets at every publish."""
    server.diagnostic_providers.append(update)


def reported_codes(doc: OpenDocument, *, current: bool) -> frozenset[str] | None:
    """Return the rule codes of the engines' latest reports on the document.

    ``current``: only reports on its current text count. ``None`` when no report counts.
    """
    hub = doc.folder.hub
    latest = hub.latest_findings(doc.uri) if hub is not None else {}
    version = doc.tracked.version
    reports = [found for v, found in latest.values() if not current or v == version]
    if not reports:
        return None
    return frozenset(f.code for found in reports for f in found)


def _line_shape(doc: OpenDocument, snippet: Snippet) -> set[str]:
    """Return the keys read from the snippet's text and the line it starts on (bounded)."""
    keys = set()
    if shapes.is_tiny(snippet.text, doc.folder.settings.detect.tiny_chars):
        keys.add(shapes.TINY)
    start = snippet.start
    line = doc.tracked.doc.lines[start.line]
    if 0 < start.char <= shapes.MAX_PREFIX:
        state = shapes.prefix_state(line[: start.char], doc.tracked.language_id)
        if state == "comment":
            keys.add(shapes.IN_COMMENT)
        elif state == "string":
            keys.add(shapes.IN_STRING)
    return keys


async def compute(
    ls: AiloopServer,
    doc: OpenDocument,
    snippets: Iterable[Snippet],
    syntax_before: frozenset[str] | None,
) -> None:
    """Find the history and shape keys of new snippets and keep them on the document.

    Call it after the engines' first answer on the text with the snippets (see
    :func:`engines.first_answer`), with the codes reported before the insertion.
    """
    new = list(snippets)
    if not new:
        return
    broke = shapes.breaks_syntax(syntax_before, reported_codes(doc, current=True))
    found = {s.id: _line_shape(doc, s) | ({shapes.BREAKS_SYNTAX} if broke else set()) for s in new}
    lines = list(doc.tracked.doc.lines)  # a copy of the line list: the thread reads it
    spans = [(s.id, s.start.line, s.end.line if s.end.char else s.end.line - 1) for s in new]

    def repeated() -> set[str]:
        return {sid for sid, first, last in spans if shapes.repeats_file(lines, first, last)}

    for sid in await asyncio.to_thread(repeated):
        found[sid].add(shapes.DUPLICATES_FILE)
    counts = await _rejections(ls, doc, [s.id for s in new])
    for sid, count in counts.items():
        found[sid].add(shapes.HISTORY_REJECTED)
        doc.rejections[sid] = count
    for sid, keys in found.items():
        doc.keys[sid] = frozenset(keys)


async def _rejections(ls: AiloopServer, doc: OpenDocument, ids: list[str]) -> dict[str, int]:
    """Return how often each snippet id was rejected before in the document's repository."""
    if ls.writer is None:
        return {}
    origin = await doc.origin()
    if not origin.repo:
        return {}
    repo = origin.repo
    try:
        return await ls.writer.run(lambda store: store.rejections(repo, ids))
    except Exception as exc:  # noqa: BLE001 - no history is "not rejected before"
        ls.log(
            f"could not read earlier rejections from the event store ({exc})",
            types.MessageType.Warning,
        )
        return {}


def adopt(doc: OpenDocument, snippet_id: str, findings: Iterable[str]) -> None:
    """Keep the history and shape keys an earlier event of a snippet recorded."""
    keys = frozenset(k for k in findings if shapes.is_shape_or_history(k))
    if keys:
        doc.keys[snippet_id] = keys


def _message(key: str, numbers: str, count: int | None) -> str:
    title = shapes.TITLES[key]
    if key == shapes.HISTORY_REJECTED and count:
        title = f"this same code was rejected {count}× before in this repository"
    return f"AI snippet: {title} — such snippets were {numbers} (ailoop {key})"


def supported_keys(doc: OpenDocument, snippet: Snippet) -> dict[str, str]:
    """Return the snippet's history and shape keys that have support, with their titles."""
    supported = engines.supported_stats(doc.folder)
    return {k: shapes.TITLES[k] for k in sorted(doc.keys.get(snippet.id, ())) if k in supported}


def update(ls: AiloopServer, doc: OpenDocument) -> None:
    """Rebuild the diagnostics of the supported history and shape keys of live snippets.

    The keys of a snippet stay on the document while it is open (they go into its
    outcome event, also after it left the text); only shown snippets get diagnostics.
    """
    supported = engines.supported_stats(doc.folder)
    items = []
    tracked = doc.tracked
    for snippet in tracked.shown if supported and doc.keys else ():
        for key in sorted(k for k in doc.keys.get(snippet.id, ()) if k in supported):
            stats = supported[key]
            items.append(
                types.Diagnostic(
                    range=diagnostics.first_line(tracked, snippet),
                    message=_message(key, engines.team_note(stats), doc.rejections.get(snippet.id)),
                    severity=types.DiagnosticSeverity.Information,
                    code=key,
                    source=diagnostics.SOURCE,
                    data={
                        "snippet": snippet.id,
                        "pattern": key,
                        "title": shapes.TITLES[key],
                        "numbers": engines.numbers_of(stats),
                    },
                )
            )
    doc.findings[STAGE] = items
