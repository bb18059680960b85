"""The server's state: workspace folders and the documents open in them.

A :class:`Session` owns the workspace folders (each with its own settings, rejection
patterns and feedback engines) and the open documents; an :class:`OpenDocument` owns
everything about one document: its tracked text and snippets, the folder it belongs to,
its repository, its timers, the insertions a client announced, the diagnostics of each
stage and what was last published. Documents are opened and closed here, in one place.

This module holds state only: it imports no feature module, and features take the
session (through the server) rather than keeping state of their own.
"""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from lsprotocol import types

from ailoop.capture.detect import Thresholds
from ailoop.capture.track import Snippet, TrackedDocument
from ailoop.feedback.settings import FeedbackSettings
from ailoop.settings import Settings
from ailoop.workspace import Origin, origin_of

if TYPE_CHECKING:
    from ailoop.feedback import EngineHub
    from ailoop.patterns.feedback import PatternFeedback
    from ailoop.patterns.model import PatternMatch

#: Files that make a directory the root of a project, for a file outside every folder.
PROJECT_MARKERS = (".ailoop.toml", "pyproject.toml", ".git")


@dataclass(frozen=True)
class Expectation:
    """A client said an insertion from ``tool`` is coming in a document."""

    tool: str
    snippet: str | None
    deadline: float


@dataclass(frozen=True)
class Matched:
    """The team patterns found in a snippet's text at one of its revisions."""

    revision: int
    matches: tuple[PatternMatch, ...]

    @property
    def titles(self) -> dict[str, str]:
        """Each pattern key present, with its title, in text order."""
        return {m.key: m.title for m in self.matches}


@dataclass(eq=False)
class RejectedFinding:
    """A finding in the code of a snippet rejected but kept, shown while its line reads the same."""

    #: As published when the snippet was rejected, on the line where it was last seen.
    diagnostic: types.Diagnostic
    #: The text of that line then.
    line_text: str


@dataclass(eq=False)
class Folder:
    """A workspace folder, or the project root of files outside every folder.

    Its settings come from its own files and the editor's settings for it; its engines
    start on the first document opened in it.
    """

    uri: str
    path: Path | None
    name: str
    #: Not one of the editor's workspace folders: the nearest project root of a file
    #: outside all of them (or, with ``path = None``, files with no project at all).
    implicit: bool = False
    settings: Settings = field(default_factory=Settings)
    #: The engines' settings, read from ``settings.feedback`` and ``settings.engines``.
    feedback: FeedbackSettings = field(default_factory=FeedbackSettings)
    #: The ``ailoop`` section of ``workspace/configuration`` for this folder.
    editor_settings: Any = None
    hub: EngineHub | None = None
    patterns: PatternFeedback | None = None
    #: The pending recomputation of the pattern statistics.
    stats_timer: asyncio.TimerHandle | None = None
    #: Its settings were read (at initialize, or when its first document opened).
    configured: bool = False
    #: Its patterns and engines were started (on its first document).
    active: bool = False
    #: The trust fingerprint the user was last told about (to tell once per change).
    trust_told: str = ""

    @property
    def thresholds(self) -> Thresholds:
        """The detection thresholds of the folder's settings."""
        detect = self.settings.detect
        return Thresholds(min_lines=detect.min_lines, min_chars=detect.min_chars)

    def contains(self, path: Path) -> bool:
        """Return whether ``path`` lies inside this folder."""
        return self.path is not None and (path == self.path or self.path in path.parents)


@dataclass(eq=False)
class OpenDocument:
    """Everything about one open document."""

    tracked: TrackedDocument
    folder: Folder
    #: Its repository and repo-relative path, looked up in the background at open.
    origin_lookup: asyncio.Future[Origin] | None = None
    publish_timer: asyncio.TimerHandle | None = None
    modified_timer: asyncio.TimerHandle | None = None
    #: Insertions a client announced with ``ailoop/generated`` that have not come yet.
    expected: list[Expectation] = field(default_factory=list)
    #: Diagnostics other than markers, per stage (an engine, the patterns).
    findings: dict[str, list[types.Diagnostic]] = field(default_factory=dict)
    #: What was last published, so that an unchanged list is not sent again.
    published: list[types.Diagnostic] | None = None
    #: Pattern matches per live snippet, for the revision they were computed on.
    matches: dict[Snippet, Matched] = field(default_factory=dict)
    #: Snippets whose pattern matching is running in the background.
    matching: set[Snippet] = field(default_factory=set)
    #: History and shape keys of its snippets, by snippet id (see :mod:`ailoop.lsp.shape_keys`).
    keys: dict[str, frozenset[str]] = field(default_factory=dict)
    #: How often each of its snippets was rejected before in the repository, by id.
    rejections: dict[str, int] = field(default_factory=dict)
    #: Findings of rejected snippets whose code stayed (see :mod:`ailoop.lsp.review`).
    rejected: list[RejectedFinding] = field(default_factory=list)
    #: Background work writing the events of its new and reverted snippets; outcomes at
    #: close wait for it, so that no ``kept`` is written before its ``generated``.
    recording: set[asyncio.Task[None]] = field(default_factory=set)
    #: Woken when an engine reports findings for it, or when it closes.
    answer_waiters: list[asyncio.Future[None]] = field(default_factory=list)
    closed: bool = False

    @property
    def uri(self) -> str:
        """The document's URI."""
        return self.tracked.uri

    def look_up_origin(self) -> None:
        """Start looking up the document's repository on a worker thread."""
        if self.origin_lookup is None:
            self.origin_lookup = asyncio.ensure_future(asyncio.to_thread(origin_of, self.uri))

    async def origin(self) -> Origin:
        """Return the document's repository and path (looked up once, off the loop)."""
        self.look_up_origin()
        assert self.origin_lookup is not None
        return await asyncio.shield(self.origin_lookup)

    def findings_arrived(self) -> None:
        """Wake what waits for the engines' next report on this document."""
        waiters, self.answer_waiters = self.answer_waiters, []
        for waiter in waiters:
            if not waiter.done():
                waiter.set_result(None)

    def cancel_timers(self) -> None:
        """Cancel the pending publish and ``modified`` flush."""
        for timer in (self.publish_timer, self.modified_timer):
            if timer is not None:
                timer.cancel()
        self.publish_timer = self.modified_timer = None


def file_path(uri: str) -> Path | None:
    """Return the file-system path of a ``file:`` URI, else ``None``."""
    from pygls.uris import to_fs_path

    path = to_fs_path(uri) if uri.startswith("file:") else None
    return Path(path) if path else None


@functools.lru_cache(maxsize=256)
def project_root(directory: Path) -> Path | None:
    """Return the nearest directory at or above ``directory`` that holds a project marker."""
    for candidate in (directory, *directory.parents):
        if any((candidate / marker).exists() for marker in PROJECT_MARKERS):
            return candidate
    return None


class Session:
    """The workspace folders and the open documents of one editor window."""

    def __init__(self) -> None:
        self.folders: list[Folder] = []
        #: Project roots of files outside every folder, by path (``None``: no project).
        self.implicit: dict[Path | None, Folder] = {}
        self.documents: dict[str, OpenDocument] = {}
        #: Documents the editor opened that are too large to follow.
        self.too_large: set[str] = set()
        #: Closed documents whose outcomes are still being recorded.
        self.closing: set[asyncio.Task[None]] = set()
        #: What the editor sent in ``initializationOptions``: defaults for every folder.
        self.init_options: Any = None
        #: The editor's ``ailoop`` settings for no folder in particular.
        self.window_settings: Any = None
        #: The editor's own workspace trust (``initializationOptions.workspaceTrust``), which
        #: then decides for every folder; None: ailoop's trust store decides.
        self.editor_trust: bool | None = None
        #: The last lookup of agent hooks' records in the event store failed (said once).
        self.hook_lookup_failing = False

    # -- folders --------------------------------------------------------------------------

    def add_folder(self, uri: str, name: str) -> Folder:
        """Add a workspace folder (or return it, if it is there already)."""
        for folder in self.folders:
            if folder.uri == uri:
                return folder
        folder = Folder(uri=uri, path=file_path(uri), name=name)
        self.folders.append(folder)
        return folder

    def remove_folder(self, uri: str) -> Folder | None:
        """Forget a workspace folder; its documents move to the folder that now holds them."""
        folder = next((f for f in self.folders if f.uri == uri), None)
        if folder is not None:
            self.folders.remove(folder)
        return folder

    def all_folders(self) -> Iterator[Folder]:
        """Yield the workspace folders, then the implicit project roots in use."""
        yield from self.folders
        yield from self.implicit.values()

    def folder_for(self, uri: str) -> Folder:
        """Return the innermost workspace folder holding ``uri``.

        A file outside every folder belongs to its nearest project root (a directory with
        ``.ailoop.toml``, ``pyproject.toml`` or ``.git``), one implicit folder per root;
        a file with no project shares one folder with no root at all.
        """
        path = file_path(uri)
        if path is not None:
            holders = [f for f in self.folders if f.contains(path)]
            if holders:
                return max(holders, key=lambda f: len(f.path.parts) if f.path else 0)
        root = project_root(path.parent) if path is not None else None
        folder = self.implicit.get(root)
        if folder is None:
            folder = Folder(
                uri=root.as_uri() if root else "",
                path=root,
                name=root.name if root else "(no project)",
                implicit=True,
            )
            self.implicit[root] = folder
        return folder

    # -- documents ------------------------------------------------------------------------

    def open(self, tracked: TrackedDocument) -> OpenDocument:
        """Start holding a document opened by the editor (opened again: replaced)."""
        self.close(tracked.uri)
        doc = OpenDocument(tracked=tracked, folder=self.folder_for(tracked.uri))
        self.documents[tracked.uri] = doc
        return doc

    def get(self, uri: str) -> OpenDocument | None:
        """Return the open document with this URI, if any."""
        return self.documents.get(uri)

    def close(self, uri: str) -> OpenDocument | None:
        """Stop holding a document: its timers stop; the caller records its outcomes."""
        doc = self.documents.pop(uri, None)
        if doc is not None:
            doc.closed = True
            doc.cancel_timers()
            doc.expected.clear()
            doc.findings_arrived()
        return doc

    def documents_in(self, folder: Folder) -> list[OpenDocument]:
        """Return the open documents that belong to ``folder``."""
        return [doc for doc in self.documents.values() if doc.folder is folder]
