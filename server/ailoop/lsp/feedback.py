"""Edit-time feedback in the editor: the engines' findings on AI snippets.

The :class:`~ailoop.feedback.EngineHub` holds each open document in ruff's and ty's
language servers (and runs the team's command engines); this module forwards document
events to it and turns what it reports into diagnostics. Only findings inside a live
snippet are shown (``feedback.scope = "file"`` shows them all), each naming its snippet
in ``data.snippet``; findings for a version the document has moved past are dropped.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from lsprotocol import types

from ailoop.capture.track import Snippet, TrackedDocument
from ailoop.lsp import diagnostics
from ailoop.lsp.server import AiloopServer

if TYPE_CHECKING:
    from ailoop.feedback import FeedbackSettings, Finding

#: Longest message text kept in a "Reject: <rule> <message>" code action title.
SHORT_MESSAGE = 60


def register(server: AiloopServer) -> None:
    """Keep engine diagnostics in step with the snippets at every publish."""
    server.diagnostic_providers.append(update)


async def start(ls: AiloopServer) -> None:
    """Start the engines for the workspace (returns at once; they start in the background)."""
    from ailoop.feedback import EngineHub  # after start-up

    settings = _settings(ls)
    ls.hub = EngineHub(
        ls.root,
        settings,
        on_findings=lambda uri, version, engine, found: on_findings(
            ls, uri, version, engine, found
        ),
        on_problem=ls.problem,
        position_encoding=ls.encoding,
    )
    await ls.hub.start()
    for doc in ls.documents.values():
        ls.hub.open(doc.uri, doc.language_id, doc.version, doc.doc.text)


def _settings(ls: AiloopServer) -> FeedbackSettings:
    from ailoop.feedback import parse_feedback_settings

    settings, problems = parse_feedback_settings(ls.settings.feedback, ls.settings.engines)
    for problem in problems:
        ls.problem(problem)
    ls.scope_whole_file = settings.scope == "file"
    return settings


async def reconfigure(ls: AiloopServer) -> None:
    """Restart the engines with changed settings; open documents are checked again."""
    if ls.hub is not None:
        await ls.hub.reconfigure(_settings(ls))
        for uri in list(ls.documents):
            diagnostics.publish(ls, uri, lenses=False)


def on_findings(
    ls: AiloopServer, uri: str, version: int, engine: str, found: list[Finding]
) -> None:
    """Keep an engine's findings for the document version they belong to, and publish."""
    doc = ls.documents.get(uri)
    if doc is None or doc.version != version:
        return  # the document moved on; findings for the new version will follow
    ls.engine_findings.setdefault(uri, {})[engine] = (version, found)
    diagnostics.publish(ls, uri, lenses=False)


def _client_range(
    doc: TrackedDocument, snippet: Snippet
) -> tuple[tuple[int, int], tuple[int, int]]:
    return doc.doc.to_client(snippet.start), doc.doc.to_client(snippet.end)


#: The live snippets of a document with their ranges in the client's units.
SnippetRanges = list[tuple[tuple[int, int], tuple[int, int], Snippet]]


def _snippet_ranges(doc: TrackedDocument) -> SnippetRanges:
    """Return the live snippets with their ranges in the client's units."""
    return [(*_client_range(doc, snippet), snippet) for snippet in doc.snippets]


def _owner(ranges: SnippetRanges, finding: Finding) -> Snippet | None:
    """Return the live snippet a finding lies in, if any.

    Findings are feedback on code, shown as soon as the snippet is recognised, without
    waiting for its event to be stored (the marker and the review actions do wait).
    """
    for start, end, snippet in ranges:
        if start <= finding.start and finding.end <= end:
            return snippet
    return None


def describe(finding: Finding, snippet: Snippet | None) -> str:
    """Return the diagnostic message: what is wrong, and that it is in an AI snippet."""
    where = " (in an AI snippet)" if snippet is not None else ""
    return f"{finding.message}{where}"


def update(ls: AiloopServer, doc: TrackedDocument) -> None:
    """Rebuild the document's engine diagnostics from the latest findings."""
    stages = ls.findings.setdefault(doc.uri, {})
    whole_file = ls.scope_whole_file
    ranges = _snippet_ranges(doc)
    for engine, (version, found) in ls.engine_findings.get(doc.uri, {}).items():
        items: list[types.Diagnostic] = []
        if version != doc.version:  # positions of an older text: wait for the new report
            stages[engine] = items
            continue
        for finding in found:
            snippet = _owner(ranges, finding)
            if snippet is None and not whole_file:
                continue
            items.append(
                types.Diagnostic(
                    range=types.Range(types.Position(*finding.start), types.Position(*finding.end)),
                    message=describe(finding, snippet),
                    severity=types.DiagnosticSeverity(finding.severity),
                    code=finding.code,
                    source=diagnostics.SOURCE,
                    data={"snippet": snippet.id} if snippet is not None else None,
                )
            )
        stages[engine] = items


def code_actions(ls: AiloopServer, doc: TrackedDocument, snippet: Snippet) -> list[tuple[str, str]]:
    """Return ``(title, pattern)`` for each distinct engine rule found in the snippet."""
    seen: dict[str, str] = {}
    ranges = _snippet_ranges(doc)
    for version, found in ls.engine_findings.get(doc.uri, {}).values():
        if version != doc.version:
            continue
        for finding in found:
            if finding.code not in seen and _owner(ranges, finding) is snippet:
                message = finding.message.splitlines()[0]
                if len(message) > SHORT_MESSAGE:
                    message = message[: SHORT_MESSAGE - 1] + "…"
                seen[finding.code] = f"{finding.code} {message}"
    return [(title, code) for code, title in seen.items()]
