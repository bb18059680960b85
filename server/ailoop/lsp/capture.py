"""Document lifecycle: follow every change, recognise AI insertions, record their events."""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from pathlib import Path
from typing import Any

from lsprotocol import types
from pygls.uris import to_fs_path

from ailoop.capture.detect import Thresholds, Verdict
from ailoop.capture.document import Position
from ailoop.capture.identity import snippet_id
from ailoop.capture.track import ChangeResult, Snippet, TrackedDocument
from ailoop.lsp import diagnostics, patterns
from ailoop.lsp.server import AiloopServer, Expectation
from ailoop.positions import ClientRange
from ailoop.store.events import Event, Kind, Source
from ailoop.workspace import user_identity

log = logging.getLogger(__name__)

#: Seconds after the last edit inside a snippet before its ``modified`` event is written.
MODIFIED_IDLE = 2.0
#: Seconds an ``ailoop/generated`` announcement waits for its insertion.
EXPECTATION_TTL = 10.0
#: Seconds to wait for an agent hook's record of a snippet that arrived by a reload.
HOOK_GRACE = 2.0
HOOK_POLL = 0.2
#: Documents above this size are followed but not diffed on whole-document replacement.
LARGE_DOCUMENT = 5_000_000


def register(server: AiloopServer) -> None:
    """Register the document lifecycle handlers."""
    server.feature(types.TEXT_DOCUMENT_DID_OPEN)(did_open)
    server.feature(types.TEXT_DOCUMENT_DID_CHANGE)(did_change)
    server.feature(types.TEXT_DOCUMENT_DID_SAVE)(did_save)
    server.feature(types.TEXT_DOCUMENT_DID_CLOSE)(did_close)
    server.feature("ailoop/generated")(generated)


def make_event(
    ls: AiloopServer, doc: TrackedDocument, snippet: Snippet, kind: Kind, **extra: Any
) -> Event:
    """Build an event about ``snippet`` with who, where and what filled in.

    ``findings`` are the rule ids present in the snippet now: the engines' findings inside
    it and every known pattern its text matches, supported or not, so that outcomes can
    later be correlated with rules.
    """
    origin = ls.origin(doc.uri)
    found = diagnostics.engine_codes(ls, doc.uri, snippet.id)
    found.update(patterns.matched(ls, doc, snippet).keys)
    return Event(
        kind=kind,
        snippet=snippet.id,
        tool=snippet.tool,
        source=snippet.source,
        user=user_identity(),
        repo=origin.repo,
        path=origin.path,
        language=doc.language_id,
        lines=snippet.lines,
        text=snippet.text,
        findings=tuple(sorted(found)),
        **extra,
    )


async def record(ls: AiloopServer, events: Iterable[Event]) -> None:
    """Write events durably (or queue them for retry) before the server acts on them."""
    batch = list(events)
    if batch and ls.writer is not None:
        await ls.writer.write(batch)


def thresholds(ls: AiloopServer) -> Thresholds:
    """Return the detection thresholds of the current settings."""
    detect = ls.settings.detect
    return Thresholds(min_lines=detect.min_lines, min_chars=detect.min_chars)


def did_open(ls: AiloopServer, params: types.DidOpenTextDocumentParams) -> None:
    """Start following a document and pick up its unreviewed snippets from the store."""
    item = params.text_document
    text = item.text
    doc = TrackedDocument(
        item.uri,
        item.language_id,
        item.version,
        text,
        encoding=ls.encoding,
        thresholds=thresholds(ls),
    )
    ls.documents[item.uri] = doc
    if ls.hub is not None:
        ls.hub.open(item.uri, item.language_id, item.version, text)
    if "\x00" in text:
        ls.log(f"{item.uri} looks binary (it contains NUL characters); not looking for snippets")
        return
    ls.run_task(reattach(ls, doc), f"reattach {item.uri}")


async def reattach(ls: AiloopServer, doc: TrackedDocument) -> None:
    """Track again the snippets of this file still unreviewed in the store.

    They were left unreviewed in an earlier session, or written by an agent whose hook
    recorded them; either way their ``generated`` event exists, so none is written again.
    """
    if ls.writer is None:
        return
    origin = ls.origin(doc.uri)
    if not origin.path:
        return
    pending = await ls.writer.run(lambda store: store.unresolved(origin.repo, origin.path))
    if ls.documents.get(doc.uri) is not doc:
        return
    attached = False
    for event in pending:
        if event.text is None or doc.snippet(event.snippet) is not None:
            continue
        found = doc.find(event.text)
        if found is None:
            continue
        snippet = doc.add(*found, event.tool, event.source)
        if snippet is not None:
            snippet.recorded = True
            attached = True
    if attached:
        diagnostics.publish(ls, doc.uri)


def _client_range(change: types.TextDocumentContentChangeEvent) -> ClientRange:
    if isinstance(change, types.TextDocumentContentChangePartial):
        r = change.range
        return (r.start.line, r.start.character), (r.end.line, r.end.character)
    return None


def did_change(ls: AiloopServer, params: types.DidChangeTextDocumentParams) -> None:
    """Apply a change: move snippets, mark them modified or reverted, find new ones."""
    uri = params.text_document.uri
    doc = ls.documents.get(uri)
    if doc is None:
        ls.log(f"change to {uri}, which is not open; ignored", types.MessageType.Warning)
        return
    changes = [(_client_range(c), c.text) for c in params.content_changes]
    expected = _live_expectations(ls, uri)
    too_large = any(r is None and len(t) > LARGE_DOCUMENT for r, t in changes)
    if too_large:
        ls.log(
            f"{uri}: whole-document replacement of over {LARGE_DOCUMENT} characters; "
            "snippets in it are not looked for"
        )

    def forward(result: ChangeResult) -> None:
        # The engines get the edit before ailoop searches it for a snippet, so they work
        # meanwhile. They get the editor's own changes, unless a range had to be clamped:
        # then the whole text, as ailoop applied it.
        if ls.hub is not None:
            ls.hub.change(
                uri, doc.version, lambda: doc.doc.text, changes=None if result.problems else changes
            )

    result = doc.apply(
        changes,
        params.text_document.version,
        detect=not too_large,
        accept_small=bool(expected),
        on_text=forward,
    )
    if result.new and ls.hub is not None:
        ls.hub.expedite(uri)  # an AI snippet: its findings do not wait for typing to pause
    for problem in result.problems:
        ls.log(problem, types.MessageType.Warning)
    if log.isEnabledFor(logging.DEBUG):
        for verdict in result.verdicts:
            if verdict not in (Verdict.SMALL, Verdict.BLANK):
                log.debug("%s v%d: %s", uri, doc.version, verdict.value)
    handle_result(ls, doc, result, expected)


def handle_result(
    ls: AiloopServer, doc: TrackedDocument, result: ChangeResult, expected: list[Expectation]
) -> None:
    """Turn what a change did to snippets into events, markers and timers."""
    for snippet in result.new:
        _attribute(ls, doc.uri, snippet, expected)
    generated = [(s, make_event(ls, doc, s, Kind.GENERATED)) for s in result.new]
    reverted = [make_event(ls, doc, s, Kind.REVERTED, similarity=0.0) for s in result.reverted]
    if result.modified:
        _schedule_modified(ls, doc)
    if any(s.source is Source.HEURISTIC for s in result.new):
        ls.run_task(
            _attribute_to_hooks_then_record(ls, doc, generated, reverted), f"record {doc.uri}"
        )
    elif generated or reverted:
        ls.run_task(
            _record_and_publish(
                ls, doc.uri, [e for _, e in generated] + reverted, [s for s, _ in generated]
            ),
            f"record {doc.uri}",
        )
    elif result.moved:
        diagnostics.schedule(ls, doc.uri)


async def _attribute_to_hooks_then_record(
    ls: AiloopServer,
    doc: TrackedDocument,
    generated: list[tuple[Snippet, Event]],
    reverted: list[Event],
) -> None:
    """Record new snippets, unless an agent's hook already recorded them.

    An agent that writes files itself (Claude Code, Cursor) reports each edit through its
    hook, which writes the ``generated`` event with the tool's name; the editor then
    reloads the file and the heuristic sees the same snippet. That snippet takes the
    hook's tool and source, and no second ``generated`` event is written. The hook may
    run a moment after the editor reloaded, so when the document now matches the file on
    disk (a reload), the store is asked again for up to ``HOOK_GRACE`` seconds. Until its
    event is settled one way or the other, the snippet is not shown.
    """
    await _feedback_first(ls, doc.uri)
    wanted = {s.id for s, _ in generated if s.source is Source.HEURISTIC}
    origin = ls.origin(doc.uri)
    text = doc.doc.text
    reloaded = bool(origin.path) and await asyncio.to_thread(_on_disk, doc.uri) == text
    deadline = time.monotonic() + (HOOK_GRACE if reloaded else 0.0)
    hooked: dict[str, Event] = {}
    while ls.writer is not None and origin.path:
        records = await ls.writer.run(lambda store: store.unresolved(origin.repo, origin.path))
        hooked = {e.snippet: e for e in records if e.source is Source.HOOK and e.snippet in wanted}
        if len(hooked) == len(wanted) or time.monotonic() >= deadline:
            break
        await asyncio.sleep(HOOK_POLL)
    events = list(reverted)  # one write, one sync to disk, for all of them
    for snippet, event in generated:
        if (hook := hooked.get(snippet.id)) is not None:
            snippet.tool, snippet.source = hook.tool, Source.HOOK
        else:
            events.append(event)
    await record(ls, events)
    for snippet, _ in generated:
        snippet.recorded = True
    diagnostics.publish(ls, doc.uri)


async def _record_and_publish(
    ls: AiloopServer, uri: str, events: list[Event], new: list[Snippet]
) -> None:
    await _feedback_first(ls, uri)
    await record(ls, events)
    for snippet in new:
        snippet.recorded = True
    diagnostics.publish(ls, uri)


async def _feedback_first(ls: AiloopServer, uri: str) -> None:
    """Let the engines' first findings on an edit go out before its event is stored."""
    if ls.hub is not None:
        await ls.hub.first_answers(uri)


def _live_expectations(ls: AiloopServer, uri: str) -> list[Expectation]:
    now = time.monotonic()
    live = [e for e in ls.expected.get(uri, ()) if e.deadline > now]
    if live:
        ls.expected[uri] = live
    else:
        ls.expected.pop(uri, None)
    return live


def _attribute(ls: AiloopServer, uri: str, snippet: Snippet, expected: list[Expectation]) -> None:
    for expectation in expected:
        if expectation.snippet in (None, snippet.id):
            snippet.tool = expectation.tool
            snippet.source = Source.CLIENT
            expected.remove(expectation)
            ls.expected[uri] = expected
            return


def _schedule_modified(ls: AiloopServer, doc: TrackedDocument) -> None:
    if (timer := ls.modified_timers.pop(doc.uri, None)) is not None:
        timer.cancel()
    loop = asyncio.get_running_loop()
    ls.modified_timers[doc.uri] = loop.call_later(
        MODIFIED_IDLE, lambda: ls.run_task(flush_modified(ls, doc), f"modified {doc.uri}")
    )


async def flush_modified(ls: AiloopServer, doc: TrackedDocument) -> None:
    """Write a ``modified`` event for each snippet edited since the last one."""
    if (timer := ls.modified_timers.pop(doc.uri, None)) is not None:
        timer.cancel()
    events = []
    for snippet in doc.snippets:
        if snippet.unrecorded_change:
            snippet.unrecorded_change = False
            events.append(
                make_event(ls, doc, snippet, Kind.MODIFIED, similarity=snippet.similarity())
            )
    await record(ls, events)
    if events:
        diagnostics.publish(ls, doc.uri)


def did_save(ls: AiloopServer, params: types.DidSaveTextDocumentParams) -> None:
    """Remember that the document's text is now what is on disk.

    Saving the workspace's ``.ailoop/patterns.toml`` loads the patterns again.
    """
    uri = params.text_document.uri
    if (doc := ls.documents.get(uri)) is not None:
        doc.mark_saved()
    if uri.endswith("/.ailoop/patterns.toml"):
        ls.run_task(patterns.start(ls), "reload patterns")


def did_close(ls: AiloopServer, params: types.DidCloseTextDocumentParams) -> None:
    """Close a document: its unreviewed snippets are kept if saved, else reverted."""
    uri = params.text_document.uri
    doc = ls.documents.pop(uri, None)
    ls.origins.pop(uri, None)
    ls.expected.pop(uri, None)
    if (timer := ls.publish_timers.pop(uri, None)) is not None:
        timer.cancel()
    if doc is None:
        return
    if ls.hub is not None:
        ls.hub.close(uri)
    ls.run_task(close_snippets(ls, doc), f"close {uri}")


def _on_disk(uri: str) -> str | None:
    path = to_fs_path(uri)
    if path is None:
        return None
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


async def close_snippets(ls: AiloopServer, doc: TrackedDocument) -> None:
    """Record ``kept`` or ``reverted`` for each snippet still live in a closed document."""
    await flush_modified(ls, doc)
    disk = None if not doc.dirty else _on_disk(doc.uri)
    events = []
    for snippet in doc.snippets:
        if not doc.dirty or (disk is not None and snippet.current in disk):
            events.append(make_event(ls, doc, snippet, Kind.KEPT, similarity=snippet.similarity()))
        else:
            events.append(make_event(ls, doc, snippet, Kind.REVERTED, similarity=0.0))
    doc.snippets.clear()
    ls.engine_findings.pop(doc.uri, None)
    ls.findings.pop(doc.uri, None)
    ls.published.pop(doc.uri, None)
    await record(ls, events)
    ls.text_document_publish_diagnostics(
        types.PublishDiagnosticsParams(uri=doc.uri, diagnostics=[])
    )


def generated(ls: AiloopServer, params: Any) -> None:
    """Handle ``ailoop/generated {uri, tool, text?, range?}`` from the client.

    With a ``range`` (or a ``text`` found in the document), the insertion already happened:
    it becomes a snippet now, or the snippet there gets the tool. Otherwise the next
    insertion into the document (of that text, if given) is the tool's.
    """
    params = plain(params)
    if not isinstance(params, dict) or not isinstance(params.get("uri"), str):
        ls.log(
            f"ailoop/generated needs an object with 'uri' and 'tool'; got {params!r}",
            types.MessageType.Warning,
        )
        return
    uri: str = params["uri"]
    tool = str(params.get("tool") or "unknown")
    text = params.get("text") if isinstance(params.get("text"), str) else None
    doc = ls.documents.get(uri)
    found = None
    if doc is not None:
        found = _announced_range(doc, params.get("range"), text)
    if doc is None or found is None:
        expectation = Expectation(
            tool, snippet_id(text) if text else None, time.monotonic() + EXPECTATION_TTL
        )
        ls.expected.setdefault(uri, []).append(expectation)
        return
    start, end = found
    existing = next(doc.snippets_at(start, end), None)
    if existing is not None:
        if existing.tool == "unknown":
            existing.tool = tool
            diagnostics.publish(ls, uri)
        return
    snippet = doc.add(start, end, tool, Source.CLIENT)
    if snippet is not None:
        ls.run_task(
            _record_and_publish(ls, uri, [make_event(ls, doc, snippet, Kind.GENERATED)], [snippet]),
            f"record {uri}",
        )


def plain(value: Any) -> Any:
    """Turn the named tuples pygls makes of a custom message's params back into dicts."""
    if isinstance(value, tuple) and hasattr(value, "_asdict"):
        return {k: plain(v) for k, v in value._asdict().items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def _announced_range(
    doc: TrackedDocument, raw_range: Any, text: str | None
) -> tuple[Position, Position] | None:
    if isinstance(raw_range, dict):
        try:
            start = raw_range["start"]
            end = raw_range["end"]
            first, _ = doc.doc.to_position(int(start["line"]), int(start["character"]))
            last, _ = doc.doc.to_position(int(end["line"]), int(end["character"]))
        except (KeyError, TypeError, ValueError):
            return None
        if first < last and (text is None or doc.doc.text_in(first, last) == text):
            return first, last
        return None
    if text:
        return doc.find(text)
    return None
