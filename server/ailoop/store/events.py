"""The event record: one append-only fact about an AI snippet.

Field names and kinds are a fixed interface (``ailoop events --format jsonl``, the shared
store, the analytics); see docs/events.md.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import enum
import os
from typing import Any


class Kind(str, enum.Enum):
    """What happened to a snippet."""

    GENERATED = "generated"
    MODIFIED = "modified"
    ACCEPTED = "accepted"
    REJECTED = "rejected"
    REVERTED = "reverted"
    KEPT = "kept"
    REVIEWED = "reviewed"


#: Kinds that end a snippet's life in the editor: once one is recorded it is no longer tracked.
OUTCOMES = frozenset({Kind.ACCEPTED, Kind.REJECTED, Kind.REVERTED, Kind.KEPT})


class Source(str, enum.Enum):
    """How a snippet was recognised as AI-written."""

    HEURISTIC = "heuristic"
    CLIENT = "client"
    HOOK = "hook"
    #: A code-review outcome (``reviewed`` events): from a webhook, CI or a backfill.
    REVIEW = "review"
    #: Imported from an Agent Trace record (``ailoop import --format agent-trace``).
    TRACE = "trace"


#: What a ``reviewed`` event says happened in code review (its ``outcome``).
REVIEW_OUTCOMES = ("approved", "changes_requested", "commented", "merged", "closed", "reverted")
#: Review outcomes that judge a snippet as the editor's ``rejected`` does, and as ``accepted``.
REVIEW_REJECTING = frozenset({"changes_requested", "closed"})
REVIEW_ACCEPTING = frozenset({"approved", "merged"})
#: The ``snippet`` of a ``reviewed`` event that matched no snippet: kept at PR level.
NO_SNIPPET = ""

#: Bounds of an event's ``context``: the session id's length and the rule keys per list.
CONTEXT_SESSION_LIMIT = 200
CONTEXT_KEYS_LIMIT = 100
#: The longest ``model`` (Agent Trace's ``model_id`` limit).
MODEL_LIMIT = 250


@dataclasses.dataclass(frozen=True)
class Context:
    """Which supported rules an agent session's delivered context showed, and withheld.

    ``session`` is the agent's session id (as its hooks give it); ``shown`` the rule keys
    the learned context delivered to that session, ``withheld`` the keys the rule
    experiment (:mod:`ailoop.patterns.experiment`) kept out of it. A key in neither was not
    part of that session's experiment (not supported then, or withdrawn).
    """

    session: str
    shown: tuple[str, ...] = ()
    withheld: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """Return the context as a JSON-ready dict."""
        return {"session": self.session, "shown": list(self.shown), "withheld": list(self.withheld)}

    @classmethod
    def from_json(cls, data: object) -> Context | None:
        """Read a context (None stays None); raises ``ValueError`` on a malformed one.

        The session is one line of at most :data:`CONTEXT_SESSION_LIMIT` characters, each
        list at most :data:`CONTEXT_KEYS_LIMIT` pattern keys, no key in both.
        """
        if data is None:
            return None
        if not isinstance(data, dict):
            raise ValueError("malformed event: context is not an object")
        from ailoop.patterns.model import is_valid_key

        session = data.get("session")
        if (
            not isinstance(session, str)
            or not session
            or len(session) > CONTEXT_SESSION_LIMIT
            or not session.isprintable()
        ):
            raise ValueError("malformed event: context.session is not a short one-line text")
        lists: list[tuple[str, ...]] = []
        for name in ("shown", "withheld"):
            keys = data.get(name) or []
            if (
                not isinstance(keys, list | tuple)
                or len(keys) > CONTEXT_KEYS_LIMIT
                or not all(isinstance(k, str) and is_valid_key(k) for k in keys)
            ):
                raise ValueError(f"malformed event: context.{name} is not a list of pattern keys")
            lists.append(tuple(dict.fromkeys(keys)))
        if set(lists[0]) & set(lists[1]):
            raise ValueError("malformed event: a key is both shown and withheld in its context")
        return cls(session, lists[0], lists[1])


def new_event_id() -> str:
    """Return a random (version 4) UUID as text, the form of every event's ``id``.

    Spelled out rather than taken from :mod:`uuid`, which loads :mod:`platform`: the agent
    hooks write events on every edit and start in a fresh process each time.
    """
    raw = bytearray(os.urandom(16))
    raw[6] = (raw[6] & 0x0F) | 0x40  # version 4
    raw[8] = (raw[8] & 0x3F) | 0x80  # RFC 4122 variant
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def utc_now() -> str:
    """Return the current UTC time as ISO 8601 with milliseconds and a ``Z``."""
    return (
        dt.datetime.now(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


@dataclasses.dataclass(frozen=True)
class Event:
    """One event. ``id`` is generated where the event happens and is the sync key."""

    kind: Kind
    snippet: str
    tool: str = "unknown"
    source: Source = Source.HEURISTIC
    user: str = ""
    repo: str = ""
    path: str = ""
    language: str = ""
    lines: int = 0
    findings: tuple[str, ...] = ()
    reason: str | None = None
    pattern: str | None = None
    text: str | None = None
    similarity: float | None = None
    #: ``reviewed`` only: one of :data:`REVIEW_OUTCOMES`, who gave it, and the PR (URL or number).
    outcome: str | None = None
    reviewer: str | None = None
    pr: str | None = None
    #: Agent sessions only: the rules its learned context showed and withheld.
    context: Context | None = None
    #: The model that wrote the snippet, when the tool said (``anthropic/claude-…``).
    model: str | None = None
    id: str = dataclasses.field(default_factory=new_event_id)
    ts: str = dataclasses.field(default_factory=utc_now)

    def to_json(self) -> dict[str, Any]:
        """Return the event as a JSON-ready dict (the ``events --format jsonl`` shape)."""
        return {
            "id": self.id,
            "ts": self.ts,
            "kind": self.kind.value,
            "snippet": self.snippet,
            "tool": self.tool,
            "source": self.source.value,
            "user": self.user,
            "repo": self.repo,
            "path": self.path,
            "language": self.language,
            "lines": self.lines,
            "findings": list(self.findings),
            "reason": self.reason,
            "pattern": self.pattern,
            "text": self.text,
            "similarity": self.similarity,
            "outcome": self.outcome,
            "reviewer": self.reviewer,
            "pr": self.pr,
            "context": None if self.context is None else self.context.to_json(),
            "model": self.model,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> Event:
        """Build an event from its JSON dict; raises ``ValueError`` on a malformed one."""
        try:
            event = cls(
                id=str(data["id"]),
                ts=str(data["ts"]),
                kind=Kind(data["kind"]),
                snippet=str(data["snippet"]),
                tool=str(data.get("tool") or "unknown"),
                source=Source(data.get("source") or Source.HEURISTIC.value),
                user=str(data.get("user") or ""),
                repo=str(data.get("repo") or ""),
                path=str(data.get("path") or ""),
                language=str(data.get("language") or ""),
                lines=int(data.get("lines") or 0),
                findings=tuple(str(f) for f in data.get("findings") or ()),
                reason=data.get("reason"),
                pattern=data.get("pattern"),
                text=data.get("text"),
                similarity=(None if data.get("similarity") is None else float(data["similarity"])),
                outcome=_optional_text(data.get("outcome")),
                reviewer=_optional_text(data.get("reviewer")),
                pr=_optional_text(data.get("pr")),
                context=Context.from_json(data.get("context")),
                model=_optional_text(data.get("model")),
            )
        except (KeyError, TypeError) as exc:
            raise ValueError(f"malformed event: {exc!r}") from exc
        if event.outcome is not None and event.outcome not in REVIEW_OUTCOMES:
            raise ValueError(f"malformed event: unknown review outcome {event.outcome[:40]!r}")
        if event.model is not None and (
            len(event.model) > MODEL_LIMIT or not event.model.isprintable()
        ):
            raise ValueError("malformed event: model is not a short one-line text")
        return event


def _optional_text(value: object) -> str | None:
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, str | int):
        raise TypeError(f"expected text, not {type(value).__name__}")
    return str(value)
