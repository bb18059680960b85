"""Reviewing a snippet: code lens, code actions and the accept/reject commands."""

from __future__ import annotations

from typing import Any

from lsprotocol import types
from pygls.exceptions import JsonRpcInvalidParams

from ailoop.capture.track import Snippet
from ailoop.lsp import diagnostics, engines, known_patterns
from ailoop.lsp.documents import make_event, measured_similarity
from ailoop.lsp.server import AiloopServer
from ailoop.lsp.session import OpenDocument
from ailoop.patterns.model import valid_key
from ailoop.store.events import Kind
from ailoop.text import clean

ACCEPT = "ailoop.accept"
REJECT = "ailoop.reject"


def register(server: AiloopServer) -> None:
    """Register code lens, code actions and the commands."""
    server.feature(types.TEXT_DOCUMENT_CODE_LENS)(code_lens)
    server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]),
    )(code_action)
    server.command(ACCEPT)(accept)
    server.command(REJECT)(reject)


def _argument(doc: OpenDocument, snippet: Snippet) -> dict[str, str]:
    return {"uri": doc.uri, "snippet": snippet.id}


def code_lens(ls: AiloopServer, params: types.CodeLensParams) -> list[types.CodeLens]:
    """Put "AI snippet · tool · N lines | Accept | Reject" on each snippet's first line."""
    doc = ls.session.get(params.text_document.uri)
    if doc is None:
        return []
    lenses = []
    for snippet in doc.tracked.shown:
        first = diagnostics.to_range(doc.tracked, snippet.start, snippet.start)
        argument = _argument(doc, snippet)
        lines = f"{snippet.lines} line{'s' if snippet.lines != 1 else ''}"
        lenses += [
            types.CodeLens(
                first, types.Command(title=f"AI snippet · {snippet.tool} · {lines}", command="")
            ),
            types.CodeLens(
                first, types.Command(title="Accept", command=ACCEPT, arguments=[argument])
            ),
            types.CodeLens(
                first, types.Command(title="Reject", command=REJECT, arguments=[argument])
            ),
        ]
    return lenses


def code_action(ls: AiloopServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    """Offer Accept and Reject for every snippet the range touches."""
    doc = ls.session.get(params.text_document.uri)
    if doc is None:
        return []
    tracked = doc.tracked
    start, _ = tracked.doc.to_position(params.range.start.line, params.range.start.character)
    end, _ = tracked.doc.to_position(params.range.end.line, params.range.end.character)
    actions = []
    for snippet in tracked.snippets_at(start, end):
        if not snippet.recorded:
            continue
        argument = _argument(doc, snippet)
        marker = [diagnostics.marker(tracked, snippet)]
        about = f"({snippet.tool}, {snippet.lines} lines)"
        actions += [
            types.CodeAction(
                title=f"Accept AI snippet {about}",
                kind=types.CodeActionKind.QuickFix,
                diagnostics=marker,
                is_preferred=True,
                command=types.Command(
                    title="Accept AI snippet", command=ACCEPT, arguments=[argument]
                ),
            ),
            types.CodeAction(
                title=f"Reject AI snippet {about}",
                kind=types.CodeActionKind.QuickFix,
                diagnostics=marker,
                command=types.Command(
                    title="Reject AI snippet", command=REJECT, arguments=[argument]
                ),
            ),
        ]
        for title, key in engines.code_actions(doc, snippet) + known_patterns.code_actions(
            doc, snippet
        ):
            actions.append(
                types.CodeAction(
                    title=f"Reject: {title} ({key})",
                    kind=types.CodeActionKind.QuickFix,
                    diagnostics=marker,
                    command=types.Command(
                        title=f"Reject: {title}",
                        command=REJECT,
                        arguments=[{**argument, "pattern": key}],
                    ),
                )
            )
    return actions


def _target(
    ls: AiloopServer, args: tuple[Any, ...]
) -> tuple[OpenDocument, Snippet, dict[str, Any]]:
    """Resolve a command's ``{uri, snippet, ...}`` argument, or raise a clear error."""
    if len(args) != 1 or not isinstance(args[0], dict):
        raise JsonRpcInvalidParams(
            f"expected one object argument {{uri, snippet, reason?, pattern?}}, got {list(args)!r}"
        )
    argument: dict[str, Any] = args[0]
    uri, snippet_id = argument.get("uri"), argument.get("snippet")
    if not isinstance(uri, str) or not isinstance(snippet_id, str):
        raise JsonRpcInvalidParams("the argument needs 'uri' and 'snippet' strings")
    doc = ls.session.get(uri)
    if doc is None:
        raise JsonRpcInvalidParams(f"{uri} is not open")
    snippet = doc.tracked.snippet(snippet_id)
    if snippet is None:
        raise JsonRpcInvalidParams(
            f"no live AI snippet {snippet_id} in {uri} (already reviewed, or edited away)"
        )
    return doc, snippet, argument


async def _conclude(
    ls: AiloopServer, doc: OpenDocument, snippet: Snippet, kind: Kind, **extra: Any
) -> dict[str, Any]:
    doc.tracked.remove(snippet)  # before any await: a second command finds it gone
    events = []
    value = await measured_similarity(snippet)
    if snippet.unrecorded_change:
        snippet.unrecorded_change = False
        events.append(await make_event(ls, doc, snippet, Kind.MODIFIED, similarity=value))
    event = await make_event(ls, doc, snippet, kind, similarity=value, **extra)
    events.append(event)
    # Answered only once durable: in SQLite, or else journaled to disk (``durable: false``).
    writer = ls.writer
    durable = writer is not None and await writer.write_outcome(events)
    if writer is not None and not durable:
        ls.log(
            f"{kind.value} {snippet.id}: saved to the journal, not yet in the store; "
            "it is written there as soon as the store can take it",
            types.MessageType.Warning,
        )
    diagnostics.publish(ls, doc)
    known_patterns.schedule_stats(ls, doc.folder)
    return {"event": event.id, "kind": kind.value, "snippet": snippet.id, "durable": durable}


async def accept(ls: AiloopServer, *args: Any) -> dict[str, Any]:
    """``ailoop.accept {uri, snippet}``: record that the developer keeps the snippet."""
    doc, snippet, _ = _target(ls, args)
    return await _conclude(ls, doc, snippet, Kind.ACCEPTED)


async def reject(ls: AiloopServer, *args: Any) -> dict[str, Any]:
    """``ailoop.reject {uri, snippet, reason?, pattern?}``: record a rejection."""
    doc, snippet, argument = _target(ls, args)
    reason, pattern = argument.get("reason"), argument.get("pattern")
    if reason is not None and not isinstance(reason, str):
        raise JsonRpcInvalidParams("'reason' must be a string")
    if pattern is not None and not isinstance(pattern, str):
        raise JsonRpcInvalidParams("'pattern' must be a string")
    if pattern and valid_key(pattern) is None:
        raise JsonRpcInvalidParams(
            f"'pattern' must be a pattern key such as 'ruff:E722' or 'pattern:bare-except' "
            f"(a lower-case source, ':', then letters, digits and _.:/@-), not {clean(pattern, 80)!r}"
        )
    return await _conclude(
        ls,
        doc,
        snippet,
        Kind.REJECTED,
        # A reason is free text: stored one line long, without control characters, bounded.
        reason=clean(reason, 1000).strip() or None if reason else None,
        pattern=valid_key(pattern) if pattern else None,  # normalized: bare-except -> pattern:…
    )
