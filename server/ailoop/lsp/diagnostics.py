"""What the editor shows as diagnostics: a marker on each live snippet, plus findings.

Markers have ``code = "ai-snippet"`` and ``data.snippet``: by default a Hint on the
snippet's first line (``detect.marker = "full"``: an Information diagnostic over all of
it), with the snippet's whole range in ``data.range``. Other stages (feedback engines,
rejection patterns) keep their diagnostics per document under their own name in
``OpenDocument.findings``; every publish sends the lot for the document's current version,
with the findings that describe one problem at one place merged into one diagnostic
(:func:`merge_findings`).
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Any

from lsprotocol import types

from ailoop.capture.document import Position
from ailoop.capture.identity import short_id
from ailoop.capture.track import Snippet, TrackedDocument
from ailoop.lsp.server import AiloopServer
from ailoop.lsp.session import OpenDocument
from ailoop.patterns.model import TEAM_PREFIX

SOURCE = "ailoop"
MARKER = "ai-snippet"
#: Seconds to wait after an edit that only moved snippets before publishing again.
MOVE_DEBOUNCE = 0.15
#: Findings of different engines that report the same problem (one name, two rules).
SAME_PROBLEM = (frozenset({"ruff:F821", "ty:unresolved-reference"}),)
#: What is appended to the message of a finding in a rejected snippet's code.
REJECTED_NOTE = " (rejected AI snippet)"


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


def _client_range(value: types.Range) -> dict[str, dict[str, int]]:
    start, end = value.start, value.end
    return {
        "start": {"line": start.line, "character": start.character},
        "end": {"line": end.line, "character": end.character},
    }


def first_line(tracked: TrackedDocument, snippet: Snippet) -> types.Range:
    """Return the range of a snippet's first line, from where the snippet starts."""
    first = tracked.doc.lines[snippet.start.line].rstrip("\r\n")
    end = Position(snippet.start.line, max(len(first), snippet.start.char))
    return to_range(tracked, snippet.start, end)


def marker(tracked: TrackedDocument, snippet: Snippet, style: str = "line") -> types.Diagnostic:
    """Return the marker diagnostic of a live snippet.

    ``style``: ``line`` is a Hint on the snippet's first line (editors draw it faintly),
    ``full`` an Information diagnostic over the whole snippet. Either way ``data.range``
    is the whole snippet, so that a client finds the snippet from any of its lines.
    """
    whole = display_range(tracked, snippet)
    severity = types.DiagnosticSeverity.Information
    shown = whole
    if style != "full":
        severity = types.DiagnosticSeverity.Hint
        if whole.end.line > whole.start.line:
            shown = first_line(tracked, snippet)
    return types.Diagnostic(
        range=shown,
        message=marker_message(snippet),
        severity=severity,
        code=MARKER,
        source=SOURCE,
        data={
            "snippet": snippet.id,
            "tool": snippet.tool,
            "state": "modified" if snippet.modified else "unreviewed",
            "range": _client_range(whole),
        },
    )


def _codes(diagnostic: types.Diagnostic) -> list[str]:
    data = diagnostic.data if isinstance(diagnostic.data, dict) else {}
    codes = data.get("codes")
    if isinstance(codes, list):
        return [str(c) for c in codes]
    return [str(diagnostic.code)] if diagnostic.code is not None else []


def _names(diagnostic: types.Diagnostic) -> dict[str, str]:
    """Return each code's human name, as the stage that made the diagnostic knew it."""
    data = diagnostic.data if isinstance(diagnostic.data, dict) else {}
    names = data.get("names")
    if isinstance(names, dict):
        return {str(k): str(v) for k, v in names.items()}
    name = data.get("name") or data.get("title")
    return {str(diagnostic.code): str(name)} if name and diagnostic.code is not None else {}


def _implies(pattern_code: str, diagnostic: types.Diagnostic) -> bool:
    """Return whether a team pattern names the rule of an engine finding.

    ``pattern:bare-except`` is ruff's ``E722``, whose name is ``bare-except``; a team
    pattern whose id is the rule itself (``pattern:E722``) names it too.
    """
    wanted = pattern_code.removeprefix(TEAM_PREFIX).lower()
    for code in _codes(diagnostic):
        if code.startswith(TEAM_PREFIX):
            continue
        rule = code.partition(":")[2].lower()
        if wanted in (rule, _names(diagnostic).get(code, "").lower()):
            return True
    return False


def _same_problem(a: types.Diagnostic, b: types.Diagnostic) -> bool:
    """Return whether two findings on one line describe the same problem."""
    owner_a, owner_b = _owner(a), _owner(b)
    kinds = {owner_a[0] if owner_a else None, owner_b[0] if owner_b else None}
    if owner_a != owner_b and kinds != {"rejected", None}:
        return False  # two snippets' findings (a rejected snippet's and an unowned one may)
    codes_a, codes_b = _codes(a), _codes(b)
    team_a = [c for c in codes_a if c.startswith(TEAM_PREFIX)]
    team_b = [c for c in codes_b if c.startswith(TEAM_PREFIX)]
    if any(_implies(c, b) for c in team_a) or any(_implies(c, a) for c in team_b):
        return True
    if a.range != b.range:
        return False
    if set(codes_a) & set(codes_b):
        return True
    names_a = {n for n in _names(a).values() if n}
    if names_a & {n for n in _names(b).values() if n}:
        return True
    return any(
        pair <= set(codes_a) | set(codes_b) and pair & set(codes_a) and pair & set(codes_b)
        for pair in SAME_PROBLEM
    )


def _merge(group: list[types.Diagnostic]) -> types.Diagnostic:
    """Return one diagnostic for findings of one problem: every code, one message.

    The engine's finding leads (its range, code and message); a team pattern adds its
    numbers once; the most severe severity wins.
    """
    engines = [d for d in group if not str(d.code).startswith(TEAM_PREFIX)]
    lead = min(
        engines or group,
        key=lambda d: (
            (_owner(d) or ("",))[0] != "rejected",  # it says the code was rejected
            d.severity or types.DiagnosticSeverity.Hint,
        ),
    )
    codes: list[str] = []
    names: dict[str, str] = {}
    for d in [lead, *(d for d in group if d is not lead)]:
        codes += [c for c in _codes(d) if c not in codes]
        names.update({k: v for k, v in _names(d).items() if k not in names})
    message = lead.message
    for d in group:
        if d is not lead and str(d.code).startswith(TEAM_PREFIX) and lead in engines:
            numbers = d.message.removesuffix(" (in an AI snippet)")
            if numbers not in message:
                message = f"{message}; {numbers}"
    data: dict[str, Any] = dict(lead.data) if isinstance(lead.data, dict) else {}
    data.pop("name", None)
    data.pop("title", None)
    data["codes"] = codes
    data["names"] = names
    return types.Diagnostic(
        range=lead.range,
        message=message,
        severity=min(
            (d.severity for d in group if d.severity is not None),
            default=lead.severity,
        ),
        code=lead.code,
        source=lead.source,
        data=data,
    )


def _owner(diagnostic: types.Diagnostic) -> tuple[str, str] | None:
    """Return what a finding belongs to: a live snippet, a rejected one, or neither."""
    data = diagnostic.data if isinstance(diagnostic.data, dict) else {}
    for kind in ("snippet", "rejected"):
        if isinstance(data.get(kind), str):
            return (kind, data[kind])
    return None


def merge_findings(found: Iterable[types.Diagnostic]) -> list[types.Diagnostic]:
    """Merge the findings that describe the same problem at the same place.

    Findings are bucketed by their first line, so the work grows with the number of
    findings, not with the document: ruff's F821 and ty's unresolved-reference on one
    name become one diagnostic, and so do a team pattern and the engine rule it names on
    one line (``pattern:bare-except`` over ruff's E722). Every diagnostic's
    ``data.codes`` lists its codes (the lead first) and ``data.names`` their names, so a
    "Reject: …" action can still name either.
    """
    buckets: dict[int, list[list[types.Diagnostic]]] = {}
    order: list[list[types.Diagnostic]] = []
    for diagnostic in found:
        groups = buckets.setdefault(diagnostic.range.start.line, [])
        for group in groups:
            if any(_same_problem(diagnostic, d) for d in group):
                group.append(diagnostic)
                break
        else:
            group = [diagnostic]
            groups.append(group)
            order.append(group)
    return [_merge(group) for group in order]


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
    style = doc.folder.settings.detect.marker
    items = [marker(tracked, s, style) for s in tracked.shown]
    items += merge_findings(d for found in doc.findings.values() for d in found)
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
