"""Matching review outcomes to snippets by content, and recording them.

A review comment's lines are read from the git blob at its ``commit_id`` (else its
``original_commit_id`` and ``original_line``; else the tail of its ``diff_hunk``, used
and dropped, never stored), normalized as snippet ids are, hashed, and looked up in the
per-line index of the snippets (:mod:`ailoop.capture.identity`): the snippet with the
most lines in common wins (ties: the larger share of its lines, then the newest).
Human-written lines are in no snippet and match nothing.

A snippet is *present* in a commit when at least :data:`PRESENT` of its indexed lines are
in one of the files the change touched. Merged: present in the merge commit and not in the
base (a merge commit, a squash or a rebase: the content is what counts). Reverted: present
in the base and (almost) gone from the merge commit. Closed unmerged: present in the head
and not in the base. Approved: the PR's snippets at the reviewed commit. A review that
requested changes reaches the snippets its line comments matched. When nothing matches,
the outcome is kept at PR level (``snippet = ""``).

One delivery is one transaction: its events, the delivery's record (the key that makes
the same delivery ingested twice record nothing new) and what it matched.
"""

from __future__ import annotations

import dataclasses
import hashlib
import re
from collections.abc import Collection, Iterable, Sequence
from typing import Any, Protocol

from ailoop.capture.identity import is_trivial_line, line_hash, normalize_line
from ailoop.review.git import Git, lines_of, window
from ailoop.review.payloads import Closed, Comment, Delivery, Review
from ailoop.store.events import NO_SNIPPET, Event, Kind, Source, utc_now
from ailoop.store.local import LocalStore
from ailoop.text import clean

#: Share of a snippet's indexed lines a file must hold for the snippet to be in it.
PRESENT = 0.6
#: Below this share a snippet that was in the base counts as gone (reverted).
GONE = 0.2
#: Lines above a comment read when its own lines are all trivial (``}``, ``else:``).
WIDEN = 3
#: Longest review text kept as a reason (the store's limit).
REASON_CHARS = 4000


@dataclasses.dataclass(frozen=True)
class Options:
    """``store_bodies``: keep comment and review texts as reasons (the team's setting)."""

    store_bodies: bool = False
    include_bots: bool = False


@dataclasses.dataclass(frozen=True)
class Result:
    """What came of one delivery. ``status``: recorded, duplicate, skipped or error."""

    key: str
    status: str
    pr: str
    recorded: int = 0
    matched: int = 0
    message: str = ""


class Index(Protocol):
    """Where snippets are looked up by their lines."""

    def matches(self, hashes: Collection[str]) -> dict[str, tuple[int, int, int]]:
        """Return ``snippet: (lines in common, lines indexed, recency)`` for ``hashes``."""

    def info(self, snippet: str) -> Event | None:
        """Return the snippet's newest ``generated`` event (tool, user, language, findings)."""


# --------------------------------------------------------------------------- repositories


def repo_slug(url: str) -> str:
    """Return ``host/owner/name`` of a repository URL or identity, lower case.

    ``git@github.com:acme/shop.git``, ``https://user@github.com/acme/shop`` and
    ``github.com/acme/shop`` are all ``github.com/acme/shop``; ``acme/shop`` stays as it is.
    """
    text = url.strip().lower()
    if "://" in text:
        text = text.split("://", 1)[1]
    elif re.match(r"^[^/@]+@[^/:]+:", text) or re.match(r"^[a-z0-9.-]+\.[a-z]+:[^/0-9]", text):
        text = text.replace(":", "/", 1)  # scp-like: host:path
    text = text.split("@", 1)[1] if "@" in text.split("/", 1)[0] else text
    host, _, rest = text.partition("/")
    host = host.split(":", 1)[0]  # a port
    text = f"{host}/{rest}" if rest else host
    text = text.rstrip("/")
    return text.removesuffix(".git")


def same_repo(a: str, b: str) -> bool:
    """Return whether two repository identities name the same repository."""
    sa, sb = repo_slug(a), repo_slug(b)
    if not sa or not sb:
        return False
    return sa == sb or sa.endswith("/" + sb) or sb.endswith("/" + sa)


class LocalIndex:
    """The snippets in the local store, of the repositories that are the checkout's."""

    def __init__(self, store: LocalStore, checkout_repo: str) -> None:
        self.store = store
        self.repos = [r for r in store.indexed_repos() if same_repo(r, checkout_repo)]
        self._info: dict[str, Event | None] = {}

    def matches(self, hashes: Collection[str]) -> dict[str, tuple[int, int, int]]:
        """Return the local snippets that hold any of ``hashes``."""
        return self.store.line_matches(self.repos, hashes) if self.repos else {}

    def info(self, snippet: str) -> Event | None:
        """Return the snippet's newest local ``generated`` event."""
        if snippet not in self._info:
            self._info[snippet] = self.store.generated_event(snippet)
        return self._info[snippet]


class CombinedIndex:
    """Several indexes as one (the local store's and the team store's)."""

    def __init__(self, indexes: Sequence[Index]) -> None:
        self.indexes = indexes

    def matches(self, hashes: Collection[str]) -> dict[str, tuple[int, int, int]]:
        """Return the snippets any index finds, with the best numbers any gives."""
        out: dict[str, tuple[int, int, int]] = {}
        for index in self.indexes:
            for snippet, found in index.matches(hashes).items():
                out[snippet] = max(out.get(snippet, found), found)
        return out

    def info(self, snippet: str) -> Event | None:
        """Return the first index's ``generated`` event of the snippet."""
        for index in self.indexes:
            if (event := index.info(snippet)) is not None:
                return event
        return None


# --------------------------------------------------------------------------- matching


def hashes_of(lines: Iterable[str]) -> list[str]:
    """Return the hashes of the non-trivial lines, as the snippet index holds them."""
    out: dict[str, None] = {}
    for raw in lines:
        line = normalize_line(raw)
        if not is_trivial_line(line):
            out.setdefault(line_hash(line), None)
    return list(out)


def _nontrivial(lines: Iterable[str], count: int = WIDEN) -> list[str]:
    out: list[str] = []
    for raw in lines:
        if not is_trivial_line(normalize_line(raw)):
            out.append(raw)
            if len(out) >= count:
                break
    return out


def best(matches: dict[str, tuple[int, int, int]]) -> str | None:
    """Return the snippet with most lines in common; ties: the larger share, the newest."""
    if not matches:
        return None
    return max(
        matches, key=lambda s: (matches[s][0], matches[s][0] / max(matches[s][1], 1), matches[s][2])
    )


def hunk_tail(hunk: str, count: int, side: str) -> list[str]:
    """Return the last ``count`` lines of a diff hunk on ``side``, without their markers."""
    drop = "-" if side == "RIGHT" else "+"
    lines = [
        line[1:]
        for line in lines_of(hunk)
        if line and not line.startswith(("@@", "\\")) and not line.startswith(drop)
    ]
    return lines[-count:] if count > 0 else []


def stable_id(*parts: str) -> str:
    """Return an event id made from ``parts``: the same review fact gets the same id anywhere.

    So a comment ingested from a webhook, from CI and from a backfill is stored once, here
    and in the shared store.
    """
    h = hashlib.sha256("\0".join(parts).encode()).hexdigest()
    return f"{h[:8]}-{h[8:12]}-5{h[13:16]}-{'89ab'[int(h[16], 16) % 4]}{h[17:20]}-{h[20:32]}"


def reason_of(body: str, options: Options) -> str | None:
    """Return the text kept as a reason: none unless the team keeps them; no code in it."""
    if not options.store_bodies or not body.strip():
        return None
    from ailoop.patterns.reasons import strip_markup

    text = clean(strip_markup(body), REASON_CHARS, keep_newlines=True).strip()
    return text or None


class Ingester:
    """Matches deliveries against an index in the checkout ``git`` and records them."""

    def __init__(
        self,
        store: LocalStore,
        git: Git,
        checkout_repo: str,
        *,
        index: Index | None = None,
        options: Options = Options(),
        expected_repo: str | None = None,
    ) -> None:
        self.store = store
        self.git = git
        self.repo = checkout_repo
        self.expected = expected_repo or checkout_repo
        self.index: Index = index or LocalIndex(store, checkout_repo)
        self.options = options
        # The repository in event ids: the fullest spelling of it (host/owner/name from the
        # checkout's origin over a bare --repo OWNER/NAME), so a webhook, a CI job and a
        # backfill give the same review fact the same id.
        names = [repo_slug(self.expected)]
        if same_repo(checkout_repo, self.expected):
            names.append(repo_slug(checkout_repo))
        self.slug = max(names, key=lambda n: n.count("/"))

    # -- presence of snippets in commits -----------------------------------------------

    def shares(self, commit: str, paths: Sequence[str]) -> dict[str, float]:
        """Return, per snippet found in ``paths`` at ``commit``, the largest share of its lines."""
        out: dict[str, float] = {}
        for path in paths:
            text = self.git.blob(commit, path)
            if text is None:
                continue
            for snippet, (common, total, _) in self.index.matches(
                hashes_of(lines_of(text))
            ).items():
                share = common / max(total, 1)
                out[snippet] = max(out.get(snippet, 0.0), share)
        return out

    def new_in(self, head: str, base: str, paths: Sequence[str]) -> list[str]:
        """Snippets present at ``head`` and not at ``base`` (in ``paths``)."""
        at_head = self.shares(head, paths)
        at_base = self.shares(base, paths)
        return sorted(
            s for s, share in at_head.items() if share >= PRESENT and at_base.get(s, 0.0) < PRESENT
        )

    # -- events --------------------------------------------------------------------------

    def _event(
        self,
        delivery: Delivery,
        *,
        ident: str,
        snippet: str,
        outcome: str,
        reviewer: str,
        at: str | None,
        reason: str | None = None,
        path: str = "",
    ) -> Event:
        info = self.index.info(snippet) if snippet else None
        return Event(
            id=ident,
            ts=at or utc_now(),
            kind=Kind.REVIEWED,
            snippet=snippet,
            tool=info.tool if info else "unknown",
            source=Source.REVIEW,
            user=info.user if info else "",
            repo=self.repo,
            path=path or (info.path if info else ""),
            language=info.language if info else "",
            lines=info.lines if info else 0,
            findings=info.findings if info else (),
            reason=reason,
            outcome=outcome,
            reviewer=reviewer or None,
            pr=delivery.pr,
        )

    def ingest(self, delivery: Delivery) -> Result:
        """Match and record one delivery (one transaction); say what came of it."""
        pr = delivery.pr
        if self.store.has_delivery(delivery.key):
            return Result(delivery.key, "duplicate", pr, message="already ingested: nothing new")
        if delivery.repo_urls and not any(same_repo(u, self.expected) for u in delivery.repo_urls):
            return Result(
                delivery.key,
                "error",
                pr,
                message=f"is for {clean(delivery.repo_urls[0], 200)}, not for this checkout "
                f"({clean(self.expected, 200)}); nothing recorded",
            )
        item = delivery.item
        events: list[Event] = []
        state: tuple[str, str] | None = None
        comments: list[tuple[str, str, str]] = []
        hunk = None
        note = delivery.skip
        if item is not None and getattr(item, "bot", False) and not self.options.include_bots:
            item, note = None, f"by a bot ({clean(getattr(item, 'author', ''), 80)}): not recorded"
        try:
            if isinstance(item, Comment):
                hunk = hashlib.sha256(item.hunk.encode()).hexdigest() if item.hunk else None
                events, comments, note = self._comment(delivery, item)
            elif isinstance(item, Review):
                events, note = self._review(delivery, item)
                state = (f"{delivery.platform}:{item.id}", item.state)
            elif isinstance(item, Closed):
                events, note = self._closed(delivery, item)
        except _Skip as skip:
            return Result(delivery.key, "error", pr, message=str(skip))
        matched = sum(1 for e in events if e.snippet)
        record = {
            "delivery": delivery.key,
            "platform": delivery.platform,
            "event": delivery.event,
            "action": delivery.action,
            "repo": self.repo,
            "pr": pr,
            "received_at": utc_now(),
            "matched": matched,
            "hunk": hunk,
            "note": note,
        }
        new = self.store.record_review(record, events, review_state=state, review_comments=comments)
        if new is None:
            return Result(delivery.key, "duplicate", pr, message="already ingested: nothing new")
        status = "recorded" if events else "skipped"
        return Result(delivery.key, status, pr, new, matched, note)

    def _comment(
        self, delivery: Delivery, c: Comment
    ) -> tuple[list[Event], list[tuple[str, str, str]], str]:
        lines, where, above, below = self._comment_lines(c)
        hashes = hashes_of(lines)
        snippet = (
            self._pick(self.index.matches(hashes), c.path, [*above, *lines, *below])
            if hashes
            else None
        )
        if snippet is None and above and below:
            # An edited line (a fixup) is in no snippet: it is inside one when the lines
            # right above it and right below it are both that snippet's.
            up, down = self.index.matches(hashes_of(above)), self.index.matches(hashes_of(below))
            snippet = best({s: up[s] for s in up.keys() & down.keys()})
            if snippet:
                where = f"{where} (an edited line, inside the snippet)"
        reason = reason_of(c.body, self.options)
        base = (delivery.platform, self.slug, "comment", c.id)
        events = [
            self._event(
                delivery,
                ident=stable_id(*base, snippet or NO_SNIPPET),
                snippet=snippet or NO_SNIPPET,
                outcome="commented",
                reviewer=c.author,
                at=c.at,
                reason=reason,
                path=c.path,
            )
        ]
        comments: list[tuple[str, str, str]] = []
        if snippet and c.review_id:
            review_key = f"{delivery.platform}:{c.review_id}"
            comments.append((review_key, snippet, events[0].id))
            if self.store.review_state(review_key) == "changes_requested":
                events.append(
                    self._changes_requested(delivery, review_key, snippet, c.author, c.at, reason)
                )
        line = c.line or c.original_line
        target = f"{c.path}:{line}" if line else c.path
        if snippet:
            note = (
                f"comment on {target} matched snippet {snippet.removeprefix('sha256:')[:8]}{where}"
            )
        else:
            note = f"comment on {target} matched no snippet{where}"
        return events, comments, note

    def _pick(
        self, matches: dict[str, tuple[int, int, int]], path: str, around: list[str]
    ) -> str | None:
        """Return the snippet the commented lines are from (see :func:`best`), ties settled.

        Lines shared by several snippets (``except:``, a common call) tie: then the
        snippets the lines around the comment also match win, then those recorded in the
        commented file, then the newest.
        """
        if not matches:
            return None

        def rank(s: str) -> tuple[int, float]:
            return matches[s][0], matches[s][0] / max(matches[s][1], 1)

        top = max(rank(s) for s in matches)
        tied = [s for s in matches if rank(s) == top]
        if len(tied) > 1 and around:
            wider = self.index.matches(hashes_of(around))
            common = {s: wider[s][0] for s in tied if s in wider}
            if common:
                most = max(common.values())
                tied = [s for s, n in common.items() if n == most]
        if len(tied) > 1:
            here = [
                s for s in tied if (info := self.index.info(s)) is not None and info.path == path
            ]
            tied = here or tied
        return max(tied, key=lambda s: matches[s][2])

    def _changes_requested(
        self,
        delivery: Delivery,
        review_key: str,
        snippet: str,
        who: str,
        at: str | None,
        reason: str | None,
    ) -> Event:
        return self._event(
            delivery,
            ident=stable_id(self.slug, "changes_requested", review_key, snippet),
            snippet=snippet,
            outcome="changes_requested",
            reviewer=who,
            at=at,
            reason=reason,
        )

    def _comment_lines(self, c: Comment) -> tuple[list[str], str, list[str], list[str]]:
        """Return the commented lines, where they came from, and their neighbours.

        The lines are widened over trivial ones; the neighbours are the non-trivial lines
        right above and below them (up to :data:`WIDEN` each).
        """
        tries: list[tuple[str | None, int | None, int | None]] = []
        if c.side == "LEFT":
            tries.append((c.base, c.line or c.original_line, c.start_line or c.original_start_line))
        else:
            tries.append((c.commit, c.line, c.start_line))
            tries.append((c.original_commit, c.original_line, c.original_start_line))
        for commit, line, start in tries:
            if not commit or not line:
                continue
            text = self.git.blob(commit, c.path)
            if text is None:
                continue
            first = start if start and start <= line else line
            lines = list(window(text, first, line))
            if not hashes_of(lines):
                lines = list(window(text, max(1, first - WIDEN), line))
            every = lines_of(text)
            above = _nontrivial(reversed(every[: max(first - 1, 0)]))
            below = _nontrivial(every[line:])
            return lines, "", above, below
        shallow = self._shallow()
        missing = c.commit or c.original_commit or "?"
        if c.hunk:
            start = c.start_line or c.original_start_line
            count = (c.line or c.original_line or 0) - (start or 0) + 1 if start else 1
            lines = hunk_tail(c.hunk, max(count, 1), c.side)
            if not hashes_of(lines):
                lines = hunk_tail(c.hunk, max(count, 1) + WIDEN, c.side)
            return (
                lines,
                (
                    f" (commit {missing[:12]} is not in the checkout{shallow}; "
                    "matched from the comment's diff hunk)"
                ),
                [],
                [],
            )
        return [], f" (commit {missing[:12]} or {c.path} is not in the checkout{shallow})", [], []

    def _shallow(self) -> str:
        return ", a shallow clone: fetch with fetch-depth: 0" if self.git.is_shallow() else ""

    def _missing(self, what: str, sha: str | None) -> _Skip:
        return _Skip(
            f"{what} {(sha or 'unknown')[:12]} is not in the checkout{self._shallow()}; "
            "nothing recorded (fetch it and ingest again)"
        )

    def _pr_snippets(self, head: str | None, base: str | None, what: str) -> list[str]:
        if not head or not self.git.has_commit(head):
            raise self._missing(what, head)
        if not base or not self.git.has_commit(base):
            raise self._missing("the base commit", base)
        paths = self.git.changed_files(base, head) or []
        return self.new_in(head, base, paths)

    def _review(self, delivery: Delivery, r: Review) -> tuple[list[Event], str]:
        review_key = f"{delivery.platform}:{r.id}"
        reason = reason_of(r.body, self.options)
        slug = self.slug
        if r.state == "approved":
            snippets = self._pr_snippets(r.commit, r.base, "the reviewed commit")
        elif r.state == "changes_requested":
            snippets = [s for s, _ in self.store.review_comment_snippets(review_key)]
        else:
            snippets = []
        if snippets:
            events = [
                self._changes_requested(delivery, review_key, s, r.author, r.at, reason)
                if r.state == "changes_requested"
                else self._event(
                    delivery,
                    ident=stable_id(slug, r.state, review_key, s),
                    snippet=s,
                    outcome=r.state,
                    reviewer=r.author,
                    at=r.at,
                    reason=reason,
                )
                for s in snippets
            ]
            return events, f"review {r.state.replace('_', ' ')}: {len(snippets)} snippets"
        if r.state == "commented" and not r.body.strip():
            return [], "a review with line comments only: they are recorded one by one"
        event = self._event(
            delivery,
            ident=stable_id(slug, r.state, review_key, NO_SNIPPET),
            snippet=NO_SNIPPET,
            outcome=r.state,
            reviewer=r.author,
            at=r.at,
            reason=reason,
        )
        return [event], f"review {r.state.replace('_', ' ')}: kept at PR level (no snippet matched)"

    def _closed(self, delivery: Delivery, c: Closed) -> tuple[list[Event], str]:
        slug = self.slug
        outcomes: list[tuple[str, str]] = []
        if c.merged:
            merge = c.merge_commit or c.head
            if not merge or not self.git.has_commit(merge):
                raise self._missing("the merge commit", merge)
            base = (
                c.base if c.base and self.git.has_commit(c.base) else self.git.first_parent(merge)
            )
            if base is None:
                raise self._missing("the base commit", c.base)
            paths = self.git.changed_files(base, merge, merge_base=False) or []
            at_merge = self.shares(merge, paths)
            at_base = self.shares(base, paths)
            for s in sorted(at_merge.keys() | at_base.keys()):
                now, before = at_merge.get(s, 0.0), at_base.get(s, 0.0)
                if now >= PRESENT and before < PRESENT:
                    outcomes.append((s, "merged"))
                elif before >= PRESENT and now < GONE:
                    outcomes.append((s, "reverted"))
            fallback = "merged"
        else:
            outcomes = [(s, "closed") for s in self._pr_snippets(c.head, c.base, "the head commit")]
            fallback = "closed"
        if not outcomes:
            outcomes = [(NO_SNIPPET, fallback)]
        events = [
            self._event(
                delivery,
                ident=stable_id(slug, "pr", delivery.pr_number, outcome, s),
                snippet=s,
                outcome=outcome,
                reviewer=c.author,
                at=c.at,
            )
            for s, outcome in outcomes
        ]
        counts: dict[str, int] = {}
        for s, outcome in outcomes:
            if s:
                counts[outcome] = counts.get(outcome, 0) + 1
        said = ", ".join(f"{n} {o}" for o, n in counts.items()) or f"{fallback}, no snippet matched"
        return events, f"pull request {'merged' if c.merged else 'closed'}: {said}"


class _Skip(Exception):
    """The delivery cannot be matched now (a commit is missing); nothing is recorded."""


def describe(result: Result, source: str) -> str:
    """One line about a delivery's result, for the terminal."""
    pr = f"PR {clean(result.pr, 200)}" if result.pr else "no PR"
    if result.status == "recorded":
        return f"{source}: {pr}: recorded {result.recorded} events ({result.message})"
    if result.status == "duplicate":
        return f"{source}: {pr}: {result.message}"
    if result.status == "skipped":
        return f"{source}: {pr}: {result.message or 'nothing to record'}"
    return f"{source}: {pr}: {result.message}"


def summary(results: Sequence[Result]) -> dict[str, Any]:
    """Return the counts over a run of results."""
    out: dict[str, Any] = {"deliveries": len(results)}
    for status in ("recorded", "duplicate", "skipped", "error"):
        out[status] = sum(1 for r in results if r.status == status)
    out["events"] = sum(r.recorded for r in results)
    out["matched"] = sum(r.matched for r in results)
    return out


class TeamIndex:
    """The team store's snippets (their ``line_hashes``), for a CI job with no local events."""

    def __init__(self, conn: Any, checkout_repo: str, key: str) -> None:
        self.conn = conn
        self.repo = checkout_repo
        self.key = key  # the team's key: the shared line index is keyed with it
        self._info: dict[str, Event] = {}

    def matches(self, hashes: Collection[str]) -> dict[str, tuple[int, int, int]]:
        """Return the team's snippets of this repository that hold any of ``hashes``."""
        from ailoop.store.shared import keyed_line_hashes, team_line_matches

        out: dict[str, tuple[int, int, int]] = {}
        wanted = keyed_line_hashes(hashes, self.key)
        for start in range(0, len(wanted), 5000):
            for snippet, repo, common, total, event in team_line_matches(
                self.conn, wanted[start : start + 5000]
            ):
                if not same_repo(repo, self.repo):
                    continue
                self._info.setdefault(snippet, event)
                old = out.get(snippet, (0, total, 0))
                out[snippet] = (old[0] + common, max(old[1], total), 0)
        return out

    def info(self, snippet: str) -> Event | None:
        """Return the snippet's team ``generated`` event, as last looked up."""
        return self._info.get(snippet)
