"""Document lifecycle: follow every change, recognise AI insertions, record their events.

On the keystroke path (``didChange``) only the edit itself is applied and searched; what
grows with a snippet or a document (storing events, the snippet's pattern keys, its
similarity to what was generated, the repository it is in) runs in the background.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Iterable
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from ailoop.capture.detect import Verdict
from ailoop.capture.document import Position
from ailoop.capture.identity import snippet_id
from ailoop.capture.track import ChangeResult, Snippet, TrackedDocument, advance, similarity
from ailoop.lsp import diagnostics, engines, folders, known_patterns, shape_keys
from ailoop.lsp.server import AiloopServer
from ailoop.lsp.session import Expectation, OpenDocument, file_path
from ailoop.positions import ClientRange
from ailoop.store.events import Event, Kind, Source

if TYPE_CHECKING:
    from ailoop.store.local import LocalStore

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
#: Documents above this many characters are not followed at all; holding one would
#: stall every other request. Messages above 32 MiB are not even decoded (``MAX_BODY``).
MAX_DOCUMENT = 20_000_000


def register(server: AiloopServer) -> None:
    """Register the document lifecycle handlers."""
    server.feature(types.TEXT_DOCUMENT_DID_OPEN)(did_open)
    server.feature(types.TEXT_DOCUMENT_DID_CHANGE)(did_change)
    server.feature(types.TEXT_DOCUMENT_DID_SAVE)(did_save)
    server.feature(types.TEXT_DOCUMENT_DID_CLOSE)(did_close)
    server.feature("ailoop/generated")(generated)
    server.on_too_large = lambda uri: stop_following(server, uri)


def stop_following(ls: AiloopServer, uri: str) -> None:
    """Stop following a document that became too large (its snippets get outcomes)."""
    ls.session.too_large.add(uri)
    doc = ls.session.get(uri)
    if doc is not None:
        close_document(ls, doc)


# -- events ---------------------------------------------------------------------------------


async def measured_similarity(snippet: Snippet) -> float:
    """Return how much of the snippet is still as generated, computed off the loop once."""
    known = snippet.known_similarity
    if known is not None:
        return known
    current = snippet.current
    value = await asyncio.to_thread(similarity, snippet.text, current)
    snippet.remember_similarity(current, value)
    return value


async def make_event(
    ls: AiloopServer, doc: OpenDocument, snippet: Snippet, kind: Kind, **extra: Any
) -> Event:
    """Build an event about ``snippet`` with who, where and what filled in.

    The snippet's state is taken when this is called. ``findings`` are the rule ids
    present in the snippet: the engines' findings inside it and every known pattern its
    text matches, supported or not, so that outcomes can later be correlated with rules.
    """
    text = snippet.text if kind is Kind.GENERATED else snippet.current
    tool, source, lines = snippet.tool, snippet.source, snippet.lines
    found = diagnostics.engine_codes(doc, snippet.id)
    found.update(await known_patterns.keys_of(ls, doc, snippet, text))
    found.update(doc.keys.get(snippet.id, ()))
    origin = await doc.origin()
    return Event(
        kind=kind,
        snippet=snippet.id,
        tool=tool,
        source=source,
        user=await ls.user(),
        repo=origin.repo,
        path=origin.path,
        language=doc.tracked.language_id,
        lines=lines,
        text=text,
        findings=tuple(sorted(found)),
        **extra,
    )


async def record(ls: AiloopServer, events: Iterable[Event]) -> None:
    """Write events durably (or queue them for retry) before the server acts on them."""
    batch = list(events)
    if batch and ls.writer is not None:
        await ls.writer.write(batch)


# -- opening --------------------------------------------------------------------------------


def did_open(ls: AiloopServer, params: types.DidOpenTextDocumentParams) -> None:
    """Start following a document and pick up its unreviewed snippets from the store."""
    item = params.text_document
    previous = ls.session.get(item.uri)
    if previous is not None:
        close_document(ls, previous)
    if len(item.text) > MAX_DOCUMENT:
        ls.session.too_large.add(item.uri)
        ls.log(
            f"{item.uri} has over {MAX_DOCUMENT:,} characters; ailoop does not follow it",
            types.MessageType.Warning,
        )
        return
    ls.session.too_large.discard(item.uri)
    tracked = TrackedDocument(
        item.uri, item.language_id, item.version, item.text, encoding=ls.encoding
    )
    doc = ls.session.open(tracked)
    doc.look_up_origin()  # while the user reads
    folders.activate(ls, doc)
    tracked.thresholds = doc.folder.thresholds
    if "\x00" in item.text:
        ls.log(f"{item.uri} looks binary (it contains NUL characters); not looking for snippets")
        return
    ls.run_task(reattach(ls, doc), f"reattach {item.uri}")


async def reattach(ls: AiloopServer, doc: OpenDocument) -> None:
    """Track again the snippets of this file still unreviewed in the store.

    They were left unreviewed in an earlier session, or written by an agent whose hook
    recorded them; either way their ``generated`` event exists, so none is written again.
    Each is found by the text it had last: as generated, or at its last ``modified``
    event if it was edited, so that it gets an outcome in the end either way.
    """
    if ls.writer is None:
        return
    origin = await doc.origin()
    if not origin.path:
        return
    repo, path = origin.repo, origin.path

    def look_up(store: LocalStore) -> tuple[list[Event], dict[str, str]]:
        pending = store.unresolved(repo, path)
        return pending, store.edited_texts(repo, path, [e.snippet for e in pending])

    pending, edited = await ls.writer.run(look_up)
    if doc.closed:
        return
    tracked = doc.tracked
    attached = False
    for event in pending:
        if event.text is None or tracked.snippet(event.snippet) is not None:
            continue
        text = edited.get(event.snippet, event.text)
        found = tracked.find(text)
        if found is None:
            continue
        snippet = tracked.add(*found, event.tool, event.source, generated=event.text)
        if snippet is not None:
            snippet.recorded = True
            shape_keys.adopt(doc, snippet.id, event.findings)
            attached = True
    if attached:
        diagnostics.publish(ls, doc)


# -- changes --------------------------------------------------------------------------------


def _client_range(change: types.TextDocumentContentChangeEvent) -> ClientRange:
    if isinstance(change, types.TextDocumentContentChangePartial):
        r = change.range
        return (r.start.line, r.start.character), (r.end.line, r.end.character)
    return None


def did_change(ls: AiloopServer, params: types.DidChangeTextDocumentParams) -> None:
    """Apply a change: move snippets, mark them modified or reverted, find new ones."""
    uri = params.text_document.uri
    doc = ls.session.get(uri)
    if doc is None:
        if uri not in ls.session.too_large:
            ls.log(f"change to {uri}, which is not open; ignored", types.MessageType.Warning)
        return
    tracked = doc.tracked
    changes = [(_client_range(c), c.text) for c in params.content_changes]
    expected = _live_expectations(doc)
    too_large = any(r is None and len(t) > LARGE_DOCUMENT for r, t in changes)
    if too_large:
        ls.log(
            f"{uri}: whole-document replacement of over {LARGE_DOCUMENT} characters; "
            "snippets in it are not looked for"
        )
    hub = doc.folder.hub

    def forward(result: ChangeResult) -> None:
        # The engines get the edit before ailoop searches it for a snippet, so they work
        # meanwhile. They get the editor's own changes, unless a range had to be clamped:
        # then the whole text, as ailoop applied it.
        if hub is not None:
            hub.change(
                uri,
                tracked.version,
                lambda: tracked.doc.text,
                changes=None if result.problems else changes,
            )

    result = tracked.apply(
        changes,
        params.text_document.version,
        detect=not too_large,
        accept_small=bool(expected),
        on_text=forward,
    )
    if result.new and hub is not None:
        hub.expedite(uri)  # an AI snippet: its findings do not wait for typing to pause
    for problem in result.problems:
        ls.log(problem, types.MessageType.Warning)
    if log.isEnabledFor(logging.DEBUG):
        for verdict in result.verdicts:
            if verdict not in (Verdict.SMALL, Verdict.BLANK):
                log.debug("%s v%d: %s", uri, tracked.version, verdict.value)
    handle_result(ls, doc, result, expected)


def handle_result(
    ls: AiloopServer, doc: OpenDocument, result: ChangeResult, expected: list[Expectation]
) -> None:
    """Turn what a change did to snippets into events, markers and timers."""
    for snippet in result.new:
        _attribute(doc, snippet, expected)
    if result.modified:
        _schedule_modified(ls, doc)
    if result.new or result.reverted:
        before = shape_keys.reported_codes(doc, current=False) if result.new else None
        record_changes(ls, doc, list(result.new), list(result.reverted), before)
    elif result.moved:
        diagnostics.schedule(ls, doc)


def record_changes(
    ls: AiloopServer,
    doc: OpenDocument,
    new: list[Snippet],
    reverted: list[Snippet],
    syntax_before: frozenset[str] | None = None,
) -> None:
    """Record new and reverted snippets in the background (see :func:`_record_changes`).

    ``syntax_before``: the rule codes the engines reported before the change.
    """
    task = ls.run_task(_record_changes(ls, doc, new, reverted, syntax_before), f"record {doc.uri}")
    doc.recording.add(task)
    task.add_done_callback(doc.recording.discard)


async def _record_changes(
    ls: AiloopServer,
    doc: OpenDocument,
    new: list[Snippet],
    reverted: list[Snippet],
    syntax_before: frozenset[str] | None = None,
) -> None:
    """Record new and reverted snippets, unless an agent's hook already recorded the new.

    An agent that writes files itself (Claude Code, Cursor) reports each edit through its
    hook, which writes the ``generated`` event with the tool's name; the editor then
    reloads the file and the heuristic sees the same snippet. That snippet takes the
    hook's tool and source, and no second ``generated`` event is written. The hook may
    run a moment after the editor reloaded, so when the document now matches the file on
    disk (a reload), the store is asked again for up to ``HOOK_GRACE`` seconds. Until its
    event is settled one way or the other, the snippet is not shown.

    A new snippet's ``generated`` event lists the findings present when it is written:
    it waits for the engines' first answer on the new text (bounded, see
    :func:`engines.first_answer`), which also goes out to the editor before the store
    takes any CPU. Its history and shape keys are found then too
    (:func:`shape_keys.compute`).
    """
    events = [await make_event(ls, doc, s, Kind.REVERTED, similarity=0.0) for s in reverted]
    if new:
        await engines.first_answer(ls, doc)
        await shape_keys.compute(ls, doc, new, syntax_before)
    generated = [(s, await make_event(ls, doc, s, Kind.GENERATED)) for s in new]
    hooked = await _hook_records(ls, doc, {s.id for s in new if s.source is Source.HEURISTIC})
    for snippet, event in generated:
        if (hook := hooked.get(snippet.id)) is not None:
            snippet.tool, snippet.source = hook.tool, Source.HOOK
        else:
            events.append(event)
    await record(ls, events)  # one write, one sync to disk, for all of them
    for snippet in new:
        snippet.recorded = True
    diagnostics.publish(ls, doc)


async def _hook_records(ls: AiloopServer, doc: OpenDocument, wanted: set[str]) -> dict[str, Event]:
    """Return the agent hooks' ``generated`` events for these snippet ids, by id."""
    if not wanted or ls.writer is None:
        return {}
    origin = await doc.origin()
    if not origin.path:
        return {}
    text = doc.tracked.doc.text
    reloaded = await asyncio.to_thread(_on_disk, doc.uri) == text
    deadline = time.monotonic() + (HOOK_GRACE if reloaded else 0.0)
    hooked: dict[str, Event] = {}
    while True:
        try:
            records = await ls.writer.run(lambda store: store.unresolved(origin.repo, origin.path))
        except Exception as exc:  # noqa: BLE001 - a failed lookup is "no hook record"
            _lookup_failed(ls, exc)
            return hooked  # the snippets' own events are written (or queued) instead
        ls.session.hook_lookup_failing = False
        hooked = {e.snippet: e for e in records if e.source is Source.HOOK and e.snippet in wanted}
        if len(hooked) == len(wanted) or time.monotonic() >= deadline or doc.closed:
            return hooked
        await asyncio.sleep(HOOK_POLL)


def _lookup_failed(ls: AiloopServer, exc: Exception) -> None:
    """Log a failed hook-record lookup once, until a lookup works again."""
    if ls.session.hook_lookup_failing:
        return
    ls.session.hook_lookup_failing = True
    log.debug("looking up agent hooks' records failed", exc_info=exc)
    ls.log(
        f"could not look up agent hooks' records in the event store ({exc}); new snippets "
        "are recorded as the editor saw them",
        types.MessageType.Warning,
    )


def _live_expectations(doc: OpenDocument) -> list[Expectation]:
    now = time.monotonic()
    doc.expected = [e for e in doc.expected if e.deadline > now]
    return doc.expected


def _attribute(doc: OpenDocument, snippet: Snippet, expected: list[Expectation]) -> None:
    for expectation in expected:
        if expectation.snippet in (None, snippet.id):
            snippet.tool = expectation.tool
            snippet.source = Source.CLIENT
            expected.remove(expectation)
            return


def _schedule_modified(ls: AiloopServer, doc: OpenDocument) -> None:
    if doc.modified_timer is not None:
        doc.modified_timer.cancel()
    doc.modified_timer = asyncio.get_running_loop().call_later(
        MODIFIED_IDLE, lambda: ls.run_task(flush_modified(ls, doc), f"modified {doc.uri}")
    )


async def flush_modified(ls: AiloopServer, doc: OpenDocument) -> None:
    """Write a ``modified`` event for each snippet edited since the last one."""
    if doc.modified_timer is not None:
        doc.modified_timer.cancel()
        doc.modified_timer = None
    events = []
    for snippet in list(doc.tracked.snippets):
        if snippet.unrecorded_change:
            snippet.unrecorded_change = False
            value = await measured_similarity(snippet)
            events.append(await make_event(ls, doc, snippet, Kind.MODIFIED, similarity=value))
    await record(ls, events)
    if events and not doc.closed:
        diagnostics.publish(ls, doc)


# -- saving and closing ---------------------------------------------------------------------


def did_save(ls: AiloopServer, params: types.DidSaveTextDocumentParams) -> None:
    """Remember that the document's text is now what is on disk.

    Saving a folder's ``.ailoop/patterns.toml`` loads its patterns again.
    """
    uri = params.text_document.uri
    if (doc := ls.session.get(uri)) is not None:
        doc.tracked.mark_saved()
    if uri.endswith("/.ailoop/patterns.toml"):
        path = file_path(uri)
        for folder in ls.session.all_folders():
            if path is not None and folder.path is not None and path.parent.parent == folder.path:
                ls.run_task(known_patterns.load(ls, folder), "reload patterns")


def did_close(ls: AiloopServer, params: types.DidCloseTextDocumentParams) -> None:
    """Close a document: its unreviewed snippets are kept if saved, else reverted."""
    ls.session.too_large.discard(params.text_document.uri)
    doc = ls.session.get(params.text_document.uri)
    if doc is not None:
        close_document(ls, doc)


def close_document(
    ls: AiloopServer, doc: OpenDocument, *, clear: bool = True
) -> asyncio.Task[None]:
    """Stop following ``doc`` and record the outcome of its live snippets in the background.

    ``clear``: then clear its diagnostics in the editor (not when the connection ends).
    """
    ls.session.close(doc.uri)
    if doc.folder.hub is not None:
        doc.folder.hub.close(doc.uri)
    task = ls.run_task(record_outcomes(ls, doc, clear=clear), f"close {doc.uri}")
    ls.session.closing.add(task)
    task.add_done_callback(ls.session.closing.discard)
    return task


async def close_all(ls: AiloopServer) -> None:
    """Close every open document as if the editor had closed it, and record the outcomes.

    Run when the connection ends (``shutdown``, ``exit``, or the end of the input): an
    editor that quits may send no ``didClose`` (Neovim sends none), and its snippets get
    their outcomes all the same: ``kept`` if saved, ``reverted`` if gone.
    """
    for doc in list(ls.session.documents.values()):
        close_document(ls, doc, clear=False)
    await asyncio.gather(*ls.session.closing, return_exceptions=True)  # and those closed before


def _on_disk(uri: str) -> str | None:
    path = file_path(uri)
    if path is None:
        return None
    try:
        return Path(path).read_text(encoding="utf-8", errors="replace")
    except OSError:
        return None


async def record_outcomes(ls: AiloopServer, doc: OpenDocument, *, clear: bool = True) -> None:
    """Record ``kept`` or ``reverted`` for each snippet still live in a closed document.

    The events of its new snippets are written first, if they are still being written.
    """
    if doc.recording:
        await asyncio.gather(*doc.recording, return_exceptions=True)
    await flush_modified(ls, doc)
    tracked = doc.tracked
    disk = None if not tracked.dirty else await asyncio.to_thread(_on_disk, doc.uri)
    events = []
    for snippet in list(tracked.snippets):
        if not tracked.dirty or (disk is not None and snippet.current in disk):
            value = await measured_similarity(snippet)
            events.append(await make_event(ls, doc, snippet, Kind.KEPT, similarity=value))
        else:
            events.append(await make_event(ls, doc, snippet, Kind.REVERTED, similarity=0.0))
    tracked.clear()
    await record(ls, events)
    if clear and ls.session.get(doc.uri) is None:
        ls.text_document_publish_diagnostics(
            types.PublishDiagnosticsParams(uri=doc.uri, diagnostics=[])
        )


# -- announcements --------------------------------------------------------------------------


def generated(ls: AiloopServer, params: Any) -> None:
    """Handle ``ailoop/generated {uri, tool, text?, range?}`` from the client.

    With a ``range``, the insertion already happened: it becomes a snippet now, or the
    snippet there gets the tool. With a ``text`` that the document's last change
    inserted, the same. Otherwise the announcement comes before its insertion: the next
    insertion into the document (of that text, if given) is the tool's, wherever an
    earlier copy of the same text stands.
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
    doc = ls.session.get(uri)
    found = None
    if doc is not None:
        found = _announced_range(doc.tracked, params.get("range"), text)
    if doc is None or found is None:
        expectation = Expectation(
            tool, snippet_id(text) if text else None, time.monotonic() + EXPECTATION_TTL
        )
        if doc is not None:
            doc.expected.append(expectation)
        else:
            ls.log(f"ailoop/generated for {uri}, which is not open; ignored")
        return
    start, end = found
    tracked = doc.tracked
    existing = next(tracked.snippets_at(start, end), None)
    if existing is not None:
        if existing.tool == "unknown":
            existing.tool = tool
            diagnostics.publish(ls, doc)
        return
    snippet = tracked.add(start, end, tool, Source.CLIENT)
    if snippet is not None:
        record_changes(ls, doc, [snippet], [])


def plain(value: Any) -> Any:
    """Turn the named tuples pygls makes of a custom message's params back into dicts."""
    if isinstance(value, tuple) and hasattr(value, "_asdict"):
        return {k: plain(v) for k, v in value._asdict().items()}
    if isinstance(value, (list, tuple)):
        return [plain(v) for v in value]
    return value


def _announced_range(
    tracked: TrackedDocument, raw_range: Any, text: str | None
) -> tuple[Position, Position] | None:
    """Return where an announced insertion already is, or ``None`` if it is still to come."""
    if isinstance(raw_range, dict):
        try:
            start = raw_range["start"]
            end = raw_range["end"]
            first, _ = tracked.doc.to_position(int(start["line"]), int(start["character"]))
            last, _ = tracked.doc.to_position(int(end["line"]), int(end["character"]))
        except (KeyError, TypeError, ValueError):
            return None
        if first < last and (text is None or tracked.doc.text_in(first, last) == text):
            return first, last
        return None
    if text and (inserted := tracked.last_inserted) is not None:
        start, end = inserted
        index = tracked.doc.text_in(start, end).find(text)
        if index >= 0:
            region = tracked.doc.text_in(start, end)
            first = advance(start, region[:index])
            return first, advance(first, text)
    return None
