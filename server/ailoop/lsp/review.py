"""Reviewing a snippet: code lens, code actions and the accept/reject commands.

The actions are safe to pick by reflex: none is preferred, and Reject comes before
Accept. A plain Reject keeps the code and its findings, marked "(rejected AI snippet)",
for as long as their lines read the same; "Reject and remove" also deletes the snippet's
text with a ``workspace/applyEdit`` the editor can undo.
"""

from __future__ import annotations

import asyncio
from collections import defaultdict
from typing import TYPE_CHECKING, Any

from lsprotocol import types
from pygls.exceptions import JsonRpcException, JsonRpcInvalidParams

from ailoop.capture.track import Snippet
from ailoop.lsp import diagnostics, engines, known_patterns, shape_keys
from ailoop.lsp.documents import make_event, measured_similarity
from ailoop.lsp.server import AiloopServer
from ailoop.lsp.session import OpenDocument, RejectedFinding
from ailoop.patterns.model import TEAM_PREFIX, valid_key
from ailoop.store.events import Kind
from ailoop.text import clean

if TYPE_CHECKING:
    from ailoop.feedback import Finding

ACCEPT = "ailoop.accept"
REJECT = "ailoop.reject"
#: The diagnostics of rejected snippets' code, in ``OpenDocument.findings``.
STAGE = "rejected"
#: Seconds the editor gets to apply the edit of "Reject and remove".
APPLY_TIMEOUT = 10.0


def register(server: AiloopServer) -> None:
    """Register code lens, code actions, the commands and the rejected code's findings."""
    server.feature(types.TEXT_DOCUMENT_CODE_LENS)(code_lens)
    server.feature(
        types.TEXT_DOCUMENT_CODE_ACTION,
        types.CodeActionOptions(code_action_kinds=[types.CodeActionKind.QuickFix]),
    )(code_action)
    server.command(ACCEPT)(accept)
    server.command(REJECT)(reject)
    server.diagnostic_providers.append(show_rejected)


def _argument(doc: OpenDocument, snippet: Snippet) -> dict[str, Any]:
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


def _words(text: str) -> str:
    return " ".join(text.replace("-", " ").replace("_", " ").lower().split())


def key_title(key: str, name: str = "") -> str:
    """Return how a "Reject: …" action names a pattern key, saying each thing once.

    ``ruff:E722`` named ``bare-except``: "bare except (ruff E722)"; ty's
    ``unresolved-reference``: "unresolved reference (ty)"; the team pattern
    ``pattern:bare-except`` titled "bare except": "bare except (team pattern)", and one
    whose title is not its id: "open() without an encoding (team pattern open-no-encoding)".
    """
    source, _, rule = key.partition(":")
    label = "team pattern" if key.startswith(TEAM_PREFIX) else source
    shown = clean(name, 80).strip() if name else ""
    if not shown:
        return f"{label} {rule}"
    if not key.startswith(TEAM_PREFIX):
        shown = shown.replace("-", " ") if " " not in shown else shown
    return f"{shown} ({label})" if _words(shown) == _words(rule) else f"{shown} ({label} {rule})"


def _reject_choices(doc: OpenDocument, snippet: Snippet) -> dict[str, str]:
    """Return each pattern key found in the snippet, with its name, in the order shown.

    The engines' rules come from their latest findings on the snippet; the team patterns
    from its matches, supported by statistics or not; the history and shape keys once
    they have support (before, the snippet's other choices are enough).
    """
    keys = engines.rules_in(doc, snippet)
    for title, key in known_patterns.code_actions(doc, snippet):
        if not keys.get(key):
            keys[key] = title
    for key, title in shape_keys.supported_keys(doc, snippet).items():
        keys.setdefault(key, title)
    return {key: name for key, name in keys.items() if valid_key(key) == key}


def code_action(ls: AiloopServer, params: types.CodeActionParams) -> list[types.CodeAction]:
    """Offer Reject, Reject and remove, Reject: <pattern>, then Accept, for each snippet.

    None is preferred: Enter on the first entry never accepts by reflex. "Reject and
    remove" is offered to editors that take ``workspace/applyEdit``.
    """
    doc = ls.session.get(params.text_document.uri)
    if doc is None:
        return []
    tracked = doc.tracked
    style = doc.folder.settings.detect.marker
    edits = can_apply_edits(ls)
    start, _ = tracked.doc.to_position(params.range.start.line, params.range.start.character)
    end, _ = tracked.doc.to_position(params.range.end.line, params.range.end.character)
    actions = []
    for snippet in tracked.snippets_at(start, end):
        if not snippet.recorded:
            continue
        argument = _argument(doc, snippet)
        marker = [diagnostics.marker(tracked, snippet, style)]
        about = f"({snippet.tool}, {snippet.lines} line{'s' if snippet.lines != 1 else ''})"

        remove = {**argument, "remove": True}
        choices = [
            (f"Reject AI snippet {about}", REJECT, argument),
            *([(f"Reject and remove AI snippet {about}", REJECT, remove)] if edits else []),
            *(
                (f"Reject: {key_title(key, name)}", REJECT, {**argument, "pattern": key})
                for key, name in _reject_choices(doc, snippet).items()
            ),
            (f"Accept AI snippet {about}", ACCEPT, argument),
        ]
        actions += [
            types.CodeAction(
                title=title,
                kind=types.CodeActionKind.QuickFix,
                diagnostics=marker,
                command=types.Command(title=title, command=command, arguments=[arguments]),
            )
            for title, command, arguments in choices
        ]
    return actions


def _target(
    ls: AiloopServer, args: tuple[Any, ...]
) -> tuple[OpenDocument, Snippet, dict[str, Any]]:
    """Resolve a command's ``{uri, snippet, ...}`` argument, or raise a clear error."""
    if len(args) != 1 or not isinstance(args[0], dict):
        raise JsonRpcInvalidParams(
            f"expected one object argument {{uri, snippet, reason?, pattern?, remove?}}, got "
            f"{list(args)!r}"
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


def can_apply_edits(ls: AiloopServer) -> bool:
    """Return whether the editor takes ``workspace/applyEdit`` from the server."""
    workspace = ls.client_capabilities.workspace
    return workspace is not None and bool(workspace.apply_edit)


def _removal(ls: AiloopServer, doc: OpenDocument, snippet: Snippet) -> types.WorkspaceEdit:
    """Return the edit that deletes the snippet's current text, for this version only."""
    tracked = doc.tracked
    edit = types.TextEdit(diagnostics.to_range(tracked, snippet.start, snippet.end), "")
    workspace = ls.client_capabilities.workspace
    edits = workspace.workspace_edit if workspace is not None else None
    if edits is not None and edits.document_changes:
        identifier = types.OptionalVersionedTextDocumentIdentifier(
            uri=doc.uri, version=tracked.version
        )
        return types.WorkspaceEdit(
            document_changes=[types.TextDocumentEdit(text_document=identifier, edits=[edit])]
        )
    return types.WorkspaceEdit(changes={doc.uri: [edit]})


def _keep_findings(doc: OpenDocument, snippet: Snippet) -> None:
    """Keep the published findings of a snippet rejected with its code left in place."""
    lines = doc.tracked.doc.lines
    for d in doc.published or ():
        data = d.data if isinstance(d.data, dict) else {}
        if data.get("snippet") != snippet.id or d.code == diagnostics.MARKER:
            continue
        line = d.range.start.line
        if line >= len(lines):
            continue
        kept = {k: v for k, v in data.items() if k in ("codes", "names")}
        kept.setdefault("codes", [str(d.code)])
        message = d.message.replace(" (in an AI snippet)", "")
        diagnostic = types.Diagnostic(
            range=d.range,
            message=f"{message}{diagnostics.REJECTED_NOTE}",
            severity=d.severity,
            code=d.code,
            source=diagnostics.SOURCE,
            data={**kept, "rejected": snippet.id},
        )
        doc.rejected.append(RejectedFinding(diagnostic, lines[line].rstrip("\r\n")))


def _moved(diagnostic: types.Diagnostic, line: int) -> types.Diagnostic:
    """Return ``diagnostic`` moved to start on ``line`` (its line reads the same there)."""
    start, end = diagnostic.range.start, diagnostic.range.end
    delta = line - start.line
    return types.Diagnostic(
        range=types.Range(
            types.Position(line, start.character), types.Position(end.line + delta, end.character)
        ),
        message=diagnostic.message,
        severity=diagnostic.severity,
        code=diagnostic.code,
        source=diagnostic.source,
        data=diagnostic.data,
    )


def show_rejected(ls: AiloopServer, doc: OpenDocument) -> None:
    """Rebuild the diagnostics of rejected snippets' code that is still in the document.

    A finding stays while an engine still reports one of its rules on a line that reads
    as it did (wherever edits above moved it; the nearest such line wins), or, for a team
    pattern's finding alone, while its line reads the same where the snippet's other
    findings moved. It goes once its line changes or the engine no longer reports it.
    The work grows with the number of findings, not with the document.
    """
    if not doc.rejected:
        doc.findings.pop(STAGE, None)
        return
    tracked = doc.tracked
    lines = tracked.doc.lines
    hub = doc.folder.hub
    latest = hub.latest_findings(doc.uri) if hub is not None else {}
    caught_up = {engine for engine, (version, _) in latest.items() if version == tracked.version}
    by_code: dict[str, list[Finding]] = defaultdict(list)
    for engine in caught_up:
        for finding in latest[engine][1]:
            by_code[finding.code].append(finding)

    # the lines of live snippets: code there is a new snippet's, with its own findings
    live = [(s.start.line, s.end.line) for s in tracked.snippets]

    def reads(line: int, text: str) -> bool:
        if any(first <= line <= last for first, last in live):
            return False
        return 0 <= line < len(lines) and lines[line].rstrip("\r\n") == text

    kept: list[RejectedFinding] = []
    shown: list[types.Diagnostic] = []
    claimed: set[tuple[str, int, int]] = set()
    shift: dict[str, int] = {}
    records = sorted(doc.rejected, key=lambda r: r.diagnostic.range.start.line)
    for record in records:  # the engines' findings first: they say where the code went
        d = record.diagnostic
        codes = [c for c in (d.data or {}).get("codes", []) if not c.startswith(TEAM_PREFIX)]
        if not codes:
            continue
        line = d.range.start.line
        if not {c.partition(":")[0] for c in codes} & caught_up:
            kept.append(record)  # no answer for this text yet
            continue
        places = {
            (code, f.start[0], f.start[1])
            for code in codes
            for f in by_code.get(code, ())
            if reads(f.start[0], record.line_text)
        } - claimed
        if not places:
            continue  # changed or removed: gone for good
        place = min(places, key=lambda p: (abs(p[1] - line), p))
        claimed.add(place)
        moved = _moved(d, place[1])
        shift.setdefault(str((d.data or {}).get("rejected")), place[1] - line)
        kept.append(RejectedFinding(moved, record.line_text))
        shown.append(moved)
    for record in records:  # a team pattern's finding alone: where the others went
        d = record.diagnostic
        codes = (d.data or {}).get("codes", [])
        if any(not c.startswith(TEAM_PREFIX) for c in codes):
            continue
        line = d.range.start.line + shift.get(str((d.data or {}).get("rejected")), 0)
        if reads(line, record.line_text):
            moved = _moved(d, line)
            kept.append(RejectedFinding(moved, record.line_text))
            shown.append(moved)
    doc.rejected = kept
    doc.findings[STAGE] = shown


async def _conclude(
    ls: AiloopServer,
    doc: OpenDocument,
    snippet: Snippet,
    kind: Kind,
    removal: types.WorkspaceEdit | None = None,
    **extra: Any,
) -> dict[str, Any]:
    doc.tracked.remove(snippet)  # before any await: a second command finds it gone
    applied: asyncio.Future[types.ApplyWorkspaceEditResult] | None = None
    if removal is not None:  # the snippet is no longer followed: its deletion is no revert
        applied = asyncio.ensure_future(
            ls.workspace_apply_edit_async(
                types.ApplyWorkspaceEditParams(removal, label="Reject and remove AI snippet")
            )
        )
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
    answer = {"event": event.id, "kind": kind.value, "snippet": snippet.id, "durable": durable}
    if applied is not None:
        answer["removed"] = await _applied(ls, applied)
    return answer


async def _applied(
    ls: AiloopServer, applied: asyncio.Future[types.ApplyWorkspaceEditResult]
) -> bool:
    """Wait for the editor's answer to the removal; tell the user when it was refused."""
    try:
        result = await asyncio.wait_for(applied, APPLY_TIMEOUT)
    except (asyncio.TimeoutError, JsonRpcException) as exc:
        ls.log(f"the AI snippet was rejected but not removed: {exc}", types.MessageType.Warning)
        return False
    if not result.applied:
        reason = f" ({clean(result.failure_reason, 200)})" if result.failure_reason else ""
        ls.log(
            f"the AI snippet was rejected; the editor did not remove it{reason}",
            types.MessageType.Warning,
        )
    return bool(result.applied)


async def accept(ls: AiloopServer, *args: Any) -> dict[str, Any]:
    """``ailoop.accept {uri, snippet}``: record that the developer keeps the snippet."""
    doc, snippet, _ = _target(ls, args)
    return await _conclude(ls, doc, snippet, Kind.ACCEPTED)


async def reject(ls: AiloopServer, *args: Any) -> dict[str, Any]:
    """``ailoop.reject {uri, snippet, reason?, pattern?, remove?}``: record a rejection.

    ``remove: true`` also deletes the snippet's text (a ``workspace/applyEdit``, which the
    editor can undo); otherwise the code stays and so do its findings, marked as in a
    rejected snippet.
    """
    doc, snippet, argument = _target(ls, args)
    reason, pattern, remove = (
        argument.get("reason"),
        argument.get("pattern"),
        argument.get("remove"),
    )
    if reason is not None and not isinstance(reason, str):
        raise JsonRpcInvalidParams("'reason' must be a string")
    if pattern is not None and not isinstance(pattern, str):
        raise JsonRpcInvalidParams("'pattern' must be a string")
    if remove is not None and not isinstance(remove, bool):
        raise JsonRpcInvalidParams("'remove' must be true or false")
    if pattern and valid_key(pattern) is None:
        raise JsonRpcInvalidParams(
            f"'pattern' must be a pattern key such as 'ruff:E722' or 'pattern:bare-except' "
            f"(a lower-case source, ':', then letters, digits and _.:/@-), not {clean(pattern, 80)!r}"
        )
    if remove and not can_apply_edits(ls):
        raise JsonRpcInvalidParams(
            "this editor does not take edits from the server (workspace.applyEdit): "
            "reject without 'remove' and delete the code yourself"
        )
    if remove:
        removal = _removal(ls, doc, snippet)
    else:
        removal = None
        _keep_findings(doc, snippet)
    return await _conclude(
        ls,
        doc,
        snippet,
        Kind.REJECTED,
        removal,
        # A reason is free text: stored one line long, without control characters, bounded.
        reason=clean(reason, 1000).strip() or None if reason else None,
        pattern=valid_key(pattern) if pattern else None,  # normalized: bare-except -> pattern:…
    )
