"""Webhook deliveries from GitHub and GitLab, read into what review matching needs.

A delivery is a payload (bytes of JSON) and, when known, its headers. A file may hold the
bare payload (the event type then comes from ``--event`` or from its shape) or a record
``{"headers": {...}, "payload": {...} or "<raw body>"}``. Payload shapes are GitHub's
(``pull_request``, ``pull_request_review``, ``pull_request_review_comment``, as in
octokit/webhooks' ``payload-examples``) and GitLab's (``Note Hook`` on a merge request
diff, ``Merge Request Hook``). Everything read is data: ids are checked, texts bounded.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
from collections.abc import Mapping
from typing import Any

from ailoop.text import clean

#: The largest delivery read (GitHub caps webhook payloads at 25 MB).
MAX_BYTES = 25 * 1024 * 1024

#: Event names ``--event`` takes, with the kind each is read as.
EVENT_NAMES = {
    "pull_request": "pull_request",
    "pull_request_target": "pull_request",
    "pull_request_review": "pull_request_review",
    "pull_request_review_comment": "pull_request_review_comment",
    "ping": "ping",
    "note": "gitlab_note",
    "note hook": "gitlab_note",
    "merge_request": "gitlab_merge_request",
    "merge request hook": "gitlab_merge_request",
}


class PayloadError(Exception):
    """A delivery that cannot be read; the message says what is wrong with it."""


@dataclasses.dataclass(frozen=True)
class Comment:
    """A comment on lines of a change (GitHub review comment, GitLab diff note)."""

    id: str
    review_id: str | None
    path: str
    commit: str | None
    original_commit: str | None
    line: int | None
    original_line: int | None
    start_line: int | None
    original_start_line: int | None
    side: str  # RIGHT (the new file) or LEFT (the old one)
    hunk: str
    body: str
    author: str
    bot: bool
    base: str | None
    at: str | None


@dataclasses.dataclass(frozen=True)
class Review:
    """A review's verdict: approved, changes_requested, commented or dismissed."""

    id: str
    state: str
    body: str
    author: str
    bot: bool
    commit: str | None
    base: str | None
    at: str | None


@dataclasses.dataclass(frozen=True)
class Closed:
    """A pull/merge request closed: merged (with its merge commit) or not."""

    merged: bool
    merge_commit: str | None
    head: str | None
    base: str | None
    author: str
    at: str | None


Item = Comment | Review | Closed


@dataclasses.dataclass(frozen=True)
class Delivery:
    """One delivery, read. ``item`` is None when it records nothing (``skip`` says why)."""

    platform: str
    event: str
    action: str
    key: str
    repo_urls: tuple[str, ...]
    pr: str
    pr_number: str
    item: Item | None
    skip: str = ""


def _lower_headers(headers: Mapping[str, Any] | None) -> dict[str, str]:
    out: dict[str, str] = {}
    for name, value in (headers or {}).items():
        if isinstance(value, list) and value:  # {"X-Github-Event": ["push"]}
            value = value[0]
        if isinstance(name, str) and isinstance(value, str | int):
            out[name.lower()] = str(value)
    return out


def load(
    raw: bytes, *, event: str | None = None, headers: Mapping[str, Any] | None = None
) -> Delivery:
    """Read one delivery from its bytes: a bare payload or a ``{headers, payload}`` record."""
    if len(raw) > MAX_BYTES:
        raise PayloadError(f"is larger than {MAX_BYTES // (1024 * 1024)} MB")
    try:
        data = json.loads(raw)
    except UnicodeDecodeError:
        raise PayloadError("is not UTF-8 JSON") from None
    except json.JSONDecodeError as exc:
        where = "truncated" if exc.pos >= len(raw.rstrip()) else f"at byte {exc.pos}"
        raise PayloadError(f"is not valid JSON ({where}: {clean(exc.msg, 80)})") from None
    if not isinstance(data, dict):
        raise PayloadError("is not a JSON object (a webhook payload)")
    all_headers = _lower_headers(headers)
    if "payload" in data and set(data) <= {"headers", "payload", "event"}:
        if not isinstance(data.get("headers", {}), dict):
            raise PayloadError("has 'headers' that are not an object")
        all_headers = {**_lower_headers(data.get("headers")), **all_headers}
        payload = data["payload"]
        if isinstance(payload, str):
            body = payload.encode()
            try:
                payload = json.loads(payload)
            except json.JSONDecodeError:
                raise PayloadError("has a 'payload' string that is not JSON") from None
        else:
            body = None
        if not isinstance(payload, dict):
            raise PayloadError("has a 'payload' that is not a JSON object")
        if event is None and isinstance(data.get("event"), str):
            event = data["event"]
        return parse(payload, event=event, headers=all_headers, body=body)
    return parse(data, event=event, headers=all_headers, body=raw)


def _kind(payload: Mapping[str, Any], event: str | None, headers: Mapping[str, str]) -> str:
    name = event or headers.get("x-github-event") or headers.get("x-gitlab-event")
    if name:
        kind = EVENT_NAMES.get(name.strip().lower())
        if kind is None:
            raise PayloadError(
                f"is a {clean(name, 60)!r} event, which review ingest does not read (it reads "
                "pull_request, pull_request_review, pull_request_review_comment, and GitLab "
                "Note Hook and Merge Request Hook)"
            )
        return kind
    kind_of = payload.get("object_kind")
    if kind_of == "note":
        return "gitlab_note"
    if kind_of == "merge_request":
        return "gitlab_merge_request"
    if isinstance(payload.get("comment"), dict) and isinstance(payload.get("pull_request"), dict):
        return "pull_request_review_comment"
    if isinstance(payload.get("review"), dict) and isinstance(payload.get("pull_request"), dict):
        return "pull_request_review"
    if isinstance(payload.get("pull_request"), dict) and "number" in payload:
        return "pull_request"
    if "zen" in payload and "hook_id" in payload:
        return "ping"
    raise PayloadError(
        "is not a pull request, review, review comment or merge request event (give its "
        "type with --event)"
    )


def _text(value: object, limit: int = 1000) -> str:
    if isinstance(value, str) and len(value) <= limit and value.isascii() and value.isprintable():
        return value  # what clean() would return, without its per-character walk
    return (
        clean(value, limit) if isinstance(value, str | int) and not isinstance(value, bool) else ""
    )


def _raw(value: object, limit: int = 65536) -> str:
    """Return a free text of the payload as it is (bounded); not shown before ``clean``."""
    return value[:limit] if isinstance(value, str) else ""


def _int(value: object) -> int | None:
    if isinstance(value, int) and not isinstance(value, bool) and 0 < value < 10_000_000:
        return value
    return None


def _sha(value: object) -> str | None:
    from ailoop.review.git import is_sha

    return value.lower() if isinstance(value, str) and is_sha(value) else None


def _login(user: object) -> tuple[str, bool]:
    if not isinstance(user, dict):
        return "", False
    name = _text(user.get("login") or user.get("username"), 320)
    return name, user.get("type") == "Bot" or user.get("bot") is True or name.endswith("[bot]")


def iso(value: object) -> str | None:
    """Return a payload time as an event time (ISO 8601 UTC, milliseconds, ``Z``)."""
    if not isinstance(value, str) or not value.strip():
        return None
    text = value.strip().replace(" UTC", "+00:00").replace("Z", "+00:00")
    try:
        moment = dt.datetime.fromisoformat(text.replace(" ", "T", 1) if "T" not in text else text)
    except ValueError:
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    moment = moment.astimezone(dt.timezone.utc)
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _key(
    headers: Mapping[str, str], kind: str, payload: Mapping[str, Any], body: bytes | None
) -> str:
    for header in ("x-github-delivery", "x-gitlab-event-uuid"):
        value = headers.get(header, "").strip()
        if value:
            return f"{header.removeprefix('x-').split('-')[0]}:{clean(value, 100)}"
    canonical = json.dumps(payload, sort_keys=True, separators=(",", ":"), ensure_ascii=False)
    digest = hashlib.sha256(f"{kind}\0{canonical}".encode()).hexdigest()
    return f"payload:{digest}"


def parse(
    payload: Mapping[str, Any],
    *,
    event: str | None = None,
    headers: Mapping[str, str] | None = None,
    body: bytes | None = None,
) -> Delivery:
    """Read a payload (a JSON object) into a :class:`Delivery`; raises :class:`PayloadError`."""
    heads = dict(headers or {})
    kind = _kind(payload, event, heads)
    key = _key(heads, kind, payload, body)
    if kind == "ping":
        return Delivery("github", "ping", "", key, _github_repo(payload), "", "", None, "a ping")
    if kind.startswith("gitlab_"):
        return _gitlab(payload, kind, key)
    return _github(payload, kind, key)


def _github_repo(payload: Mapping[str, Any]) -> tuple[str, ...]:
    repo = payload.get("repository")
    if not isinstance(repo, dict):
        return ()
    names = (repo.get(k) for k in ("html_url", "clone_url", "ssh_url", "full_name"))
    return tuple(_text(n) for n in names if isinstance(n, str) and n)


def _github(payload: Mapping[str, Any], kind: str, key: str) -> Delivery:
    pull = payload.get("pull_request")
    if not isinstance(pull, dict):
        raise PayloadError(f"is a {kind} event without a pull_request object")
    number = _int(pull.get("number") or payload.get("number"))
    if number is None:
        raise PayloadError(f"is a {kind} event whose pull request has no number")
    pr = _text(pull.get("html_url")) or str(number)
    base = _sha((pull.get("base") or {}).get("sha")) if isinstance(pull.get("base"), dict) else None
    head = _sha((pull.get("head") or {}).get("sha")) if isinstance(pull.get("head"), dict) else None
    action = _text(payload.get("action"), 60)
    repos = _github_repo(payload)

    def skip(why: str) -> Delivery:
        return Delivery("github", kind, action, key, repos, pr, str(number), None, why)

    if kind == "pull_request_review_comment":
        comment = payload.get("comment")
        if not isinstance(comment, dict):
            raise PayloadError("is a pull_request_review_comment event without a comment")
        if action not in ("created", "edited", ""):
            return skip(f"a review comment {action}: nothing to record")
        path = comment.get("path")
        ident = _int(comment.get("id")) or comment.get("id")
        if not isinstance(path, str) or not path or ident is None:
            raise PayloadError("is a review comment without a path or an id")
        author, bot = _login(comment.get("user"))
        review_id = comment.get("pull_request_review_id")
        item: Item = Comment(
            id=_text(ident, 64),
            review_id=None if review_id is None else _text(review_id, 64),
            path=path,
            commit=_sha(comment.get("commit_id")),
            original_commit=_sha(comment.get("original_commit_id")),
            line=_int(comment.get("line")),
            original_line=_int(comment.get("original_line")),
            start_line=_int(comment.get("start_line")),
            original_start_line=_int(comment.get("original_start_line")),
            side="LEFT" if comment.get("side") == "LEFT" else "RIGHT",
            hunk=_raw(comment.get("diff_hunk")),
            body=_raw(comment.get("body")),
            author=author,
            bot=bot,
            base=base,
            at=iso(comment.get("created_at")),
        )
    elif kind == "pull_request_review":
        review = payload.get("review")
        if not isinstance(review, dict):
            raise PayloadError("is a pull_request_review event without a review")
        state = _text(review.get("state"), 40).lower()
        if action == "dismissed" or state == "dismissed":
            return skip("a dismissed review: nothing to record")
        if action not in ("submitted", "edited", ""):
            return skip(f"a review {action}: nothing to record")
        if state not in ("approved", "changes_requested", "commented"):
            return skip(f"a review in state {state or 'unknown'}: nothing to record")
        author, bot = _login(review.get("user"))
        item = Review(
            id=_text(review.get("id"), 64),
            state=state,
            body=_raw(review.get("body")),
            author=author,
            bot=bot,
            commit=_sha(review.get("commit_id")) or head,
            base=base,
            at=iso(review.get("submitted_at")),
        )
    else:
        if action != "closed":
            return skip(f"a pull request {action or 'event'}: nothing to record until it closes")
        merged = pull.get("merged") is True or bool(pull.get("merged_at"))
        who = pull.get("merged_by") if merged and isinstance(pull.get("merged_by"), dict) else None
        author, _ = _login(who or payload.get("sender"))
        item = Closed(
            merged=merged,
            merge_commit=_sha(pull.get("merge_commit_sha")) if merged else None,
            head=head,
            base=base,
            author=author,
            at=iso(pull.get("merged_at") if merged else pull.get("closed_at")),
        )
    return Delivery("github", kind, action, key, repos, pr, str(number), item)


def _gitlab_repo(payload: Mapping[str, Any]) -> tuple[str, ...]:
    project = payload.get("project")
    if not isinstance(project, dict):
        return ()
    names = (
        project.get(k) for k in ("web_url", "git_http_url", "git_ssh_url", "path_with_namespace")
    )
    return tuple(_text(n) for n in names if isinstance(n, str) and n)


def _gitlab(payload: Mapping[str, Any], kind: str, key: str) -> Delivery:
    attributes = payload.get("object_attributes")
    if not isinstance(attributes, dict):
        raise PayloadError("is a GitLab event without object_attributes")
    repos = _gitlab_repo(payload)
    author, bot = _login(payload.get("user"))
    if kind == "gitlab_note":
        request = payload.get("merge_request")
        action = _text(attributes.get("action"), 60) or "create"
        if attributes.get("noteable_type") != "MergeRequest" or not isinstance(request, dict):
            return Delivery(
                "gitlab", "note", action, key, repos, "", "", None, "a note not on a merge request"
            )
        number = _int(request.get("iid"))
        if number is None:
            raise PayloadError("is a GitLab note on a merge request without an iid")
        pr = _text(request.get("url")) or str(number)
        position = attributes.get("position")
        if not isinstance(position, dict):
            return Delivery("gitlab", "note", action, key, repos, pr, str(number), None,
                            "a note not on a diff line: nothing to record")  # fmt: skip
        new_line, old_line = _int(position.get("new_line")), _int(position.get("old_line"))
        left = new_line is None and old_line is not None
        path = position.get("old_path" if left else "new_path") or position.get("new_path")
        if not isinstance(path, str) or not path:
            raise PayloadError("is a GitLab diff note without a path")
        start = None
        line_range = position.get("line_range")
        if isinstance(line_range, dict) and isinstance(line_range.get("start"), dict):
            start = _int(line_range["start"].get("old_line" if left else "new_line"))
        item: Item = Comment(
            id=_text(attributes.get("id"), 64),
            review_id=None,
            path=path,
            commit=_sha(position.get("head_sha")),
            original_commit=_sha(attributes.get("commit_id")),
            line=old_line if left else new_line,
            original_line=None,
            start_line=start,
            original_start_line=None,
            side="LEFT" if left else "RIGHT",
            hunk="",
            body=_raw(attributes.get("note")),
            author=author,
            bot=bot,
            base=_sha(position.get("base_sha")),
            at=iso(attributes.get("created_at")),
        )
        return Delivery("gitlab", "note", action, key, repos, pr, str(number), item)
    number = _int(attributes.get("iid"))
    if number is None:
        raise PayloadError("is a GitLab merge request event without an iid")
    pr = _text(attributes.get("url")) or str(number)
    action = _text(attributes.get("action"), 60)
    last = attributes.get("last_commit")
    head = _sha(last.get("id")) if isinstance(last, dict) else None
    refs = attributes.get("diff_refs")
    base = _sha(refs.get("base_sha")) if isinstance(refs, dict) else None
    at = iso(attributes.get("updated_at"))
    if action in ("approved", "approval"):
        item = Review(_text(attributes.get("id"), 64) + f":{author}", "approved", "", author, bot,
                      head, base, at)  # fmt: skip
    elif action == "merge":
        item = Closed(True, _sha(attributes.get("merge_commit_sha")), head, base, author, at)
    elif action == "close":
        item = Closed(False, None, head, base, author, at)
    else:
        return Delivery("gitlab", "merge_request", action, key, repos, pr, str(number), None,
                        f"a merge request {action or 'event'}: nothing to record")  # fmt: skip
    return Delivery("gitlab", "merge_request", action, key, repos, pr, str(number), item)
