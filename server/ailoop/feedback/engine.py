"""The interface every feedback engine offers the :class:`~ailoop.feedback.hub.EngineHub`."""

from __future__ import annotations

import abc
import asyncio
import functools
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field

from ailoop.feedback.findings import Finding
from ailoop.positions import TextChange

#: A document's text, or a function that returns it: the language server passes the
#: function so that a keystroke does not pay for joining the text unless a check reads it.
TextSource = str | Callable[[], str]


@dataclass(frozen=True)
class Document:
    """One version of an open document's text."""

    uri: str
    language_id: str
    version: int
    source: TextSource = field(repr=False)
    #: The editor's changes from the previous version to this one (ranges in the hub's
    #: position encoding), or ``None`` when only the whole text is known.
    changes: Sequence[TextChange] | None = field(default=None, repr=False)

    @functools.cached_property
    def text(self) -> str:
        """The text, read once on first use."""
        return self.source if isinstance(self.source, str) else self.source()


class EngineError(Exception):
    """An engine could not start or check: the message says why, for the user."""


class EngineHung(EngineError):
    """An engine did not answer in time; the hub kills and restarts it."""


class CheckOutdated(Exception):
    """The engine dropped the check because the document changed meanwhile."""


async def failed_check(error: Exception) -> list[Finding]:
    """Fail with ``error``: the check of an engine that could not start one."""
    raise error


class Engine(abc.ABC):
    """A source of findings for some languages.

    Persistent engines (child language servers) hold the documents: the hub forwards
    :meth:`open`/:meth:`change`/:meth:`close` while the engine runs and opens every
    document again after a restart. Command engines ignore those and read the text given
    to :meth:`check`.
    """

    def __init__(self, name: str, languages: frozenset[str], priority: int = 0) -> None:
        self.name = name
        self.languages = languages
        #: Checks of lower priority start first; a higher one starts when they answered
        #: (or after a short cap), so a fast engine does not share the CPU with a slow one.
        self.priority = priority
        #: Set by the hub: called when the engine's earlier answers may be out of date
        #: although the text is not (a language server asked to be asked again).
        self.on_refresh: Callable[[], None] | None = None

    def accepts(self, language_id: str) -> bool:
        """Whether this engine checks documents of ``language_id``."""
        return language_id in self.languages

    @property
    def exited(self) -> asyncio.Future[int | None] | None:
        """Completes when a persistent engine's process exits; ``None`` for command engines."""
        return None

    @abc.abstractmethod
    async def start(self) -> None:
        """Get ready to check; raise :class:`EngineError` with a clear reason if impossible."""

    def open(self, document: Document) -> None:  # noqa: B027 - optional hook
        """Take a document that was opened (or is re-opened after a restart)."""

    def change(self, document: Document) -> None:  # noqa: B027 - optional hook
        """Take the new text of a document."""

    def close(self, uri: str) -> None:  # noqa: B027 - optional hook
        """Forget a closed document."""

    @abc.abstractmethod
    def check(self, document: Document, timeout: float) -> Awaitable[list[Finding]]:
        """Return an awaitable of every finding in ``document`` (sent with open/change).

        An ``async def`` will do; an engine that talks to a process can instead send its
        request before returning, so that the work starts in the same turn of the event
        loop as the edit. Awaiting raises :class:`EngineHung` on timeout,
        :class:`CheckOutdated` when the engine cancelled the check because of a newer
        edit, :class:`EngineError` otherwise.
        """

    @abc.abstractmethod
    async def stop(self) -> None:
        """Stop for good (the hub may start a fresh instance later)."""

    def kill(self) -> None:  # noqa: B027 - optional hook
        """Kill a hung engine's process at once."""
