"""A local store with a known mix of events over ten weeks, written through the store API."""

from __future__ import annotations

import datetime as dt
import hashlib
import random
from pathlib import Path

from ailoop.store.events import Event, Kind, Source
from ailoop.store.local import DB_NAME, LocalStore

#: A tool name that is markup: the report must show it as text.
HOSTILE_TOOL = '<img src=x onerror="alert(1)">'
TOOLS = ("copilot", "claude-code", "cursor", HOSTILE_TOOL)
REPO = "github.com/acme/shop"
#: The model each tool says wrote its snippets (copilot says none; cursor every other time).
MODELS = {"claude-code": "anthropic/claude-sonnet-4-5", "cursor": "openai/gpt-5"}


def _ts(moment: dt.datetime) -> str:
    return (
        moment.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def snippet_id(n: int) -> str:
    """A snippet id for the ``n``-th snippet."""
    return "sha256:" + hashlib.sha256(f"snippet {n}".encode()).hexdigest()


def ten_weeks(now: dt.datetime, seed: int = 7, snippets: int = 400) -> list[Event]:
    """Return the events of ``snippets`` AI snippets spread over the last ten weeks.

    Each snippet is generated, sometimes modified, gets one editor outcome, and some get
    review events. Snippets with ``ruff:E722`` are rejected far more often than others,
    so that pattern is supported.
    """
    rng = random.Random(seed)
    events: list[Event] = []
    for n in range(snippets):
        at = now - dt.timedelta(days=69 * (1 - n / snippets), minutes=rng.randrange(600))
        tool = TOOLS[n % len(TOOLS)] if n % 50 else HOSTILE_TOOL
        tool = tool if n % 50 == 0 or tool != HOSTILE_TOOL else "copilot"
        language = "python" if n % 3 else "typescript"
        user = "ana@example.com" if n % 2 else "ben@example.com"
        bad = n % 5 == 0
        findings = ("ruff:E722", "pattern:bare-except") if bad else ()
        lines = 3 + n % 17
        model = MODELS.get(tool) if tool != "cursor" or n % 8 < 4 else None
        common = {
            "snippet": snippet_id(n),
            "tool": tool,
            "model": model,
            "user": user,
            "repo": REPO,
            "path": f"src/m{n % 9}.py",
            "language": language,
            "lines": lines,
            "findings": findings,
        }
        events.append(Event(kind=Kind.GENERATED, source=Source.CLIENT, ts=_ts(at), **common))
        if n % 4 == 1:
            events.append(
                Event(
                    kind=Kind.MODIFIED,
                    similarity=0.8,
                    ts=_ts(at + dt.timedelta(minutes=1)),
                    **common,
                )
            )
        roll = rng.random()
        if bad:
            kind = Kind.REJECTED if roll < 0.85 else Kind.ACCEPTED
        elif roll < 0.45:
            kind = Kind.ACCEPTED
        elif roll < 0.7:
            kind = Kind.KEPT
        elif roll < 0.88:
            kind = Kind.REJECTED
        else:
            kind = Kind.REVERTED
        events.append(Event(kind=kind, ts=_ts(at + dt.timedelta(minutes=2)), **common))
        if kind in (Kind.ACCEPTED, Kind.KEPT) and n % 3 == 0:
            review_at = _ts(at + dt.timedelta(hours=5))
            outcome = ("approved", "changes_requested", "commented")[n % 9 // 3]
            pr = f"https://github.com/acme/shop/pull/{n}"
            for result in (outcome, "merged" if outcome != "changes_requested" else "closed"):
                events.append(
                    Event(
                        kind=Kind.REVIEWED,
                        source=Source.REVIEW,
                        outcome=result,
                        reviewer="carol",
                        pr=pr,
                        ts=review_at,
                        **common,
                    )
                )
    events.append(
        Event(
            kind=Kind.REVIEWED,
            snippet="",
            source=Source.REVIEW,
            outcome="commented",
            reviewer="carol",
            pr="https://github.com/acme/shop/pull/9999",
            repo=REPO,
            ts=_ts(now - dt.timedelta(days=3)),
        )
    )
    return events


def fill(data_dir: Path, events: list[Event]) -> None:
    """Write ``events`` into the local store under ``data_dir``."""
    data_dir.mkdir(parents=True, exist_ok=True)
    store = LocalStore(data_dir / DB_NAME)
    try:
        store.append(events)
    finally:
        store.close()
