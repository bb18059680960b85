"""The live backfill: GitHub's and GitLab's REST APIs, read page by page (stdlib ``urllib``).

GitHub: ``repos/O/N/pulls?state=all`` (newest update first, so ``--since`` stops early),
then per pull request its ``comments``, ``reviews`` and ``files``, each followed through
the ``Link: <…>; rel="next"`` header. GitLab: ``projects/:id/merge_requests?state=all``,
per merge request its ``notes`` (diff notes carry a ``position``) and ``approvals``,
followed through ``X-Next-Page`` (``X-Total-Pages`` bounds it). Each item becomes the
webhook payload it would have been (:mod:`ailoop.review.backfill`), so events get the
same ids as from a webhook and nothing is recorded twice.

Rate limits: a response with ``X-RateLimit-Remaining: 0`` (GitLab: ``RateLimit-Remaining``)
makes the next request wait for ``X-RateLimit-Reset``; a 403 or 429 that says the limit is
used up, or carries ``Retry-After`` (GitHub's secondary limits), waits as asked, else a
minute, doubling; server errors are retried a few times. Every wait is said on stderr and
bounded (``max_wait``); past the bound, or after :data:`RETRIES` tries, the backfill stops
with a message (what was ingested stays, and a run again records nothing twice).

GitHub's ``files`` endpoint lists at most :data:`FILES_CAP` files and leaves ``patch`` out
for large diffs (about 20,000 lines) and binary files: both are detected and said. The
matching never relies on them: it reads the changed files and their lines from git.

The token (``GITHUB_TOKEN``, else ``gh auth token`` when ``gh`` is on PATH; GitLab:
``GITLAB_TOKEN``) is sent only to the API's own host (never on a redirect or a "next"
link elsewhere) and never printed.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import email.utils
import json
import os
import re
import shutil
import subprocess
import time
import urllib.error
import urllib.parse
import urllib.request
from collections.abc import Callable, Iterator, Mapping
from typing import Any

from ailoop import __version__
from ailoop.review.backfill import BackfillError, pull_deliveries
from ailoop.review.payloads import MAX_BYTES, Delivery, PayloadError, parse
from ailoop.text import clean

GITHUB_API = "https://api.github.com"
GITLAB_API = "https://gitlab.com/api/v4"
#: Items per page (both APIs allow 100 at most).
PER_PAGE = 100
#: The most files GitHub's ``pulls/N/files`` lists.
FILES_CAP = 3000
#: Tries of one request (rate limited or failing) before the backfill stops.
RETRIES = 5
#: Longest single wait for a rate limit, in seconds, unless told otherwise.
MAX_WAIT = 900.0
#: GitHub's advice for a secondary rate limit without ``Retry-After``: wait a minute.
SECONDARY_WAIT = 60.0

_LINK = re.compile(r'<([^>]*)>\s*;\s*rel="?([^";]+)"?')


class ApiError(BackfillError):
    """The API cannot be read (refused, not found, limited too long); the message says why."""


@dataclasses.dataclass(frozen=True)
class Limits:
    """How long to wait and how often to try: ``max_wait`` seconds a wait at most."""

    max_wait: float = MAX_WAIT
    retries: int = RETRIES
    timeout: float = 30.0


def _header(headers: Mapping[str, str], name: str) -> str:
    for key, value in headers.items():
        if key.lower() == name:
            return str(value).strip()
    return ""


def next_link(headers: Mapping[str, str]) -> str | None:
    """Return the ``rel="next"`` URL of a ``Link`` header (None: the last page)."""
    for url, rel in _LINK.findall(_header(headers, "link")):
        if "next" in rel.split():
            return str(url)
    return None


def _seconds(value: str, now: float) -> float | None:
    """Return the seconds a ``Retry-After`` asks for (a number, or an HTTP date)."""
    if not value:
        return None
    try:
        return max(float(value), 0.0)
    except ValueError:
        pass
    try:
        moment = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError):
        return None
    return max(moment.timestamp() - now, 0.0)


def _clock(epoch: float) -> str:
    return dt.datetime.fromtimestamp(epoch, dt.timezone.utc).strftime("%H:%M:%S UTC")


class Client:
    """Reads one API's JSON pages; ``say`` tells the user about waits (stderr)."""

    def __init__(
        self,
        base: str,
        headers: Mapping[str, str],
        *,
        name: str = "GitHub",
        say: Callable[[str], None] = lambda _: None,
        limits: Limits = Limits(),
        sleep: Callable[[float], None] = time.sleep,
        clock: Callable[[], float] = time.time,
    ) -> None:
        parts = urllib.parse.urlsplit(base)
        if parts.scheme not in ("http", "https") or not parts.netloc:
            raise ApiError(f"--api-url must be an http(s) URL, not {clean(base, 200)!r}")
        self.base = base.rstrip("/")
        self.origin = (parts.scheme, parts.netloc.lower())
        self.name = name
        self.say = say
        self.limits = limits
        self.sleep = sleep
        self.clock = clock
        self.requests = 0
        self._secret = dict(headers)  # the token: sent to this origin only, never shown
        self._reset_at = 0.0  # the limit is used up until then
        self._opener = urllib.request.build_opener(_SameOrigin(self.origin))

    def url(self, path: str, params: Mapping[str, object] | None = None) -> str:
        """Return the URL of ``path`` under the API, with ``params``."""
        query = urllib.parse.urlencode({k: str(v) for k, v in (params or {}).items()})
        return f"{self.base}/{path.lstrip('/')}" + (f"?{query}" if query else "")

    def _check(self, url: str) -> None:
        parts = urllib.parse.urlsplit(url)
        if (parts.scheme, parts.netloc.lower()) != self.origin:
            raise ApiError(
                f"{self.name} pointed to another host ({clean(parts.netloc, 100)}); not "
                "followed, so the token goes nowhere else"
            )

    def get(self, url: str) -> tuple[Any, dict[str, str]]:
        """Return the JSON of ``url`` and the response headers, waiting out rate limits."""
        self._check(url)
        attempt = 0
        while True:
            self._wait_for_reset()
            request = urllib.request.Request(url, headers={  # noqa: S310 - checked above
                "Accept": "application/json",
                "User-Agent": f"ailoop/{__version__}",
            })  # fmt: skip
            for key, value in self._secret.items():
                request.add_unredirected_header(key, value)
            self.requests += 1
            try:
                with self._opener.open(request, timeout=self.limits.timeout) as response:
                    headers = {k.lower(): v for k, v in response.headers.items()}
                    body = response.read(MAX_BYTES + 1)
            except urllib.error.HTTPError as exc:
                headers = {k.lower(): v for k, v in (exc.headers or {}).items()}
                text = exc.read(65536).decode("utf-8", "replace") if exc.fp else ""
                self._note(headers)
                attempt += 1
                wait, why = self._retry_after(exc.code, headers, text, attempt)
                if wait is None:
                    raise ApiError(self._refused(exc.code, text, url)) from None
                self._pause(wait, why, attempt)
                continue
            except (urllib.error.URLError, TimeoutError, OSError) as exc:
                attempt += 1
                reason = getattr(exc, "reason", exc)
                if attempt >= min(self.limits.retries, 3):
                    raise ApiError(
                        f"{self.name} cannot be reached at {clean(self.base, 200)} "
                        f"({clean(reason, 200)})"
                    ) from None
                self._pause(
                    2.0**attempt, f"{self.name} did not answer ({clean(reason, 100)})", attempt
                )
                continue
            self._note(headers)
            if len(body) > MAX_BYTES:
                raise ApiError(
                    f"{self.name} answered more than {MAX_BYTES // 2**20} MB for one page"
                )
            try:
                return json.loads(body), headers
            except (UnicodeDecodeError, json.JSONDecodeError):
                raise ApiError(
                    f"{self.name} answered something that is not JSON ({clean(url, 200)})"
                ) from None

    def _note(self, headers: Mapping[str, str]) -> None:
        """Remember when the limit resets if this response used it up."""
        remaining = headers.get("x-ratelimit-remaining") or headers.get("ratelimit-remaining")
        reset = headers.get("x-ratelimit-reset") or headers.get("ratelimit-reset")
        if remaining == "0" and reset:
            try:
                self._reset_at = float(reset) + 1.0
            except ValueError:
                self._reset_at = self.clock() + SECONDARY_WAIT

    def _wait_for_reset(self) -> None:
        left = self._reset_at - self.clock()
        if left > 0:
            self._pause(
                left, f"{self.name}'s rate limit is used up until {_clock(self._reset_at)}", 0
            )
        self._reset_at = 0.0

    def _retry_after(
        self, code: int, headers: Mapping[str, str], text: str, attempt: int
    ) -> tuple[float | None, str]:
        """Return how long to wait before trying again (None: do not) and why."""
        if attempt >= self.limits.retries:
            if code in (403, 429, 500, 502, 503, 504):
                raise ApiError(
                    f"{self.name} still answers {code} after {attempt} tries; stopped (run the "
                    "backfill again later: nothing is recorded twice)"
                )
            return None, ""
        now = self.clock()
        asked = _seconds(headers.get("retry-after", ""), now)
        secondary = "secondary rate limit" in text.lower()
        remaining = headers.get("x-ratelimit-remaining") or headers.get("ratelimit-remaining")
        if code in (403, 429):
            if asked is not None:
                kind = "secondary rate limit" if secondary or code == 403 else "rate limit"
                return asked, f"{self.name}'s {kind} (Retry-After: {asked:.0f} s)"
            if remaining == "0" and self._reset_at:
                left = max(self._reset_at - now, 0.0)
                self._reset_at = 0.0
                return left, f"{self.name}'s rate limit is used up until {_clock(now + left)}"
            if secondary or code == 429 or "rate limit" in text.lower():
                return SECONDARY_WAIT * 2 ** (attempt - 1), f"{self.name}'s secondary rate limit"
            return None, ""
        if code in (500, 502, 503, 504):
            return asked if asked is not None else 2.0**attempt, f"{self.name} answered {code}"
        return None, ""

    def _pause(self, seconds: float, why: str, attempt: int) -> None:
        if seconds > self.limits.max_wait:
            raise ApiError(
                f"{why}: the next try would be in {seconds:.0f} s, more than --max-wait "
                f"{self.limits.max_wait:.0f} s; stopped (run the backfill again then: what was "
                "ingested stays, nothing is recorded twice)"
            )
        tries = f" (try {attempt + 1} of {self.limits.retries})" if attempt else ""
        self.say(f"{why}: waiting {seconds:.0f} s{tries}")
        self.sleep(seconds)

    def _refused(self, code: int, text: str, url: str) -> str:
        try:
            message = json.loads(text).get("message", "")
        except (json.JSONDecodeError, AttributeError):
            message = ""
        detail = f": {clean(message, 200)}" if message else ""
        path = clean(urllib.parse.urlsplit(url).path, 200)
        if code == 401:
            return f"{self.name} refused the token (401{detail}); check the token's variable"
        if code == 404:
            return (
                f"{self.name} has no {path} (404{detail}): the repository does not exist, or "
                "the token cannot read it"
            )
        return f"{self.name} answered {code} for {path}{detail}"

    def pages(self, path: str, params: Mapping[str, object] | None = None) -> Iterator[list[Any]]:
        """Yield each page (a JSON array) of ``path``, following ``Link`` or ``X-Next-Page``."""
        url: str | None = self.url(path, {"per_page": PER_PAGE, **(params or {})})
        seen = 0
        while url is not None:
            value, headers = self.get(url)
            if not isinstance(value, list):
                raise ApiError(f"{self.name} answered {clean(path, 100)} with no list")
            yield value
            seen += 1
            url = next_link(headers)
            following = headers.get("x-next-page", "").strip()
            if url is None and following.isdigit():
                total = headers.get("x-total-pages", "").strip()
                if not (total.isdigit() and int(following) > int(total)):
                    url = self.url(
                        path, {"per_page": PER_PAGE, **(params or {}), "page": following}
                    )
            if seen > 100_000:
                raise ApiError(f"{self.name} kept giving pages of {clean(path, 100)}")


class _SameOrigin(urllib.request.HTTPRedirectHandler):
    """Follow redirects only within the API's origin (the token is re-sent only there)."""

    def __init__(self, origin: tuple[str, str]) -> None:
        self.origin = origin

    def redirect_request(
        self,
        req: urllib.request.Request,
        fp: Any,
        code: int,
        msg: str,
        headers: Any,
        newurl: str,
    ) -> urllib.request.Request | None:
        parts = urllib.parse.urlsplit(newurl)
        if (parts.scheme, parts.netloc.lower()) != self.origin:
            raise ApiError(
                f"the API redirected to another host ({clean(parts.netloc, 100)}); not followed"
            )
        new = super().redirect_request(req, fp, code, msg, headers, newurl)
        if new is not None:
            for key, value in req.unredirected_hdrs.items():
                new.add_unredirected_header(key, value)
        return new


# --------------------------------------------------------------------------- tokens


def github_token(api_url: str, say: Callable[[str], None]) -> str | None:
    """Return ``GITHUB_TOKEN``, else ``gh auth token`` (when ``gh`` is on PATH), else None."""
    token = os.environ.get("GITHUB_TOKEN", "").strip()
    if token:
        return token
    gh = shutil.which("gh")
    if gh is None:
        return None
    host = urllib.parse.urlsplit(api_url).hostname or "github.com"
    argv = [gh, "auth", "token"]
    if host not in ("api.github.com", "github.com"):
        argv += ["--hostname", host]
    try:
        done = subprocess.run(argv, capture_output=True, text=True, timeout=20, check=False)
    except (OSError, subprocess.TimeoutExpired):
        say("gh auth token did not answer; going on without a token")
        return None
    token = done.stdout.strip()
    if done.returncode != 0 or not token or any(c.isspace() for c in token):
        say("gh has no token for this host (gh auth login); going on without a token")
        return None
    return token


# --------------------------------------------------------------------------- GitHub


def _updated(item: Mapping[str, Any]) -> str:
    value = item.get("updated_at")
    return value if isinstance(value, str) else ""


def since_value(text: str) -> str:
    """Return ``--since`` as an ISO 8601 UTC time (a date is its midnight UTC)."""
    from ailoop.review.payloads import iso

    value = text.strip()
    if re.fullmatch(r"\d{4}-\d{2}-\d{2}", value):
        value += "T00:00:00Z"
    moment = iso(value)
    if moment is None:
        raise ApiError(
            f"--since takes a date (2026-01-31) or an ISO 8601 time, not {clean(text, 60)!r}"
        )
    return moment


def _after(item: Mapping[str, Any], since: str | None) -> bool:
    from ailoop.review.payloads import iso

    if since is None:
        return True
    moment = iso(_updated(item))
    return moment is None or moment >= since


def _all(client: Client, path: str, params: Mapping[str, object] | None = None) -> list[Any]:
    return [item for page in client.pages(path, params) for item in page]


def check_files(files: list[Any], number: int) -> list[str]:
    """Return what is missing from a pull request's ``files`` listing (said to the user)."""
    notes: list[str] = []
    if len(files) >= FILES_CAP:
        notes.append(
            f"#{number}: GitHub lists at most {FILES_CAP} files of a pull request and this one "
            "has that many: the rest are not listed (matching reads the change from git)"
        )
    no_patch = [
        str(f.get("filename"))
        for f in files
        if isinstance(f, dict) and f.get("changes") and not f.get("patch")
    ]
    if no_patch:
        shown = ", ".join(clean(p, 100) for p in no_patch[:3]) + (" …" if len(no_patch) > 3 else "")
        notes.append(
            f"#{number}: GitHub gives no patch text for {len(no_patch)} changed files (too "
            f"large a diff, or binary: {shown}); their lines are read from git"
        )
    return notes


def github_deliveries(
    client: Client, repo: str, since: str | None, say: Callable[[str], None]
) -> Iterator[list[tuple[str, Delivery]]]:
    """Yield the deliveries of each pull request of ``repo`` updated since ``since``.

    One list per pull request, newest update first (so ``since`` ends the listing early):
    its comments, then reviews, then its closing, as :func:`pull_deliveries` orders them.
    """
    owner_name = repo.strip("/")
    base = f"repos/{urllib.parse.quote(owner_name, safe='/')}"
    params = {"state": "all", "sort": "updated", "direction": "desc"}
    for page in client.pages(f"{base}/pulls", params):
        stop = False
        for pull in page:
            if not isinstance(pull, dict) or not isinstance(pull.get("number"), int):
                continue
            if not _after(pull, since):
                stop = True
                break
            number = int(pull["number"])
            comments = _all(client, f"{base}/pulls/{number}/comments")
            reviews = _all(client, f"{base}/pulls/{number}/reviews")
            for note in check_files(_all(client, f"{base}/pulls/{number}/files"), number):
                say(note)
            for review in reviews:
                if isinstance(review, dict) and "pull_request_url" not in review:
                    review["pull_request_url"] = pull.get("url") or f"/pulls/{number}"
            try:
                yield pull_deliveries([pull], reviews, comments, owner_name)
            except BackfillError as exc:  # one malformed item: say it, go on with the next PR
                say(f"#{number}: {exc}; this pull request is skipped")
        if stop:
            return


# --------------------------------------------------------------------------- GitLab


def _gitlab_user(user: object) -> dict[str, Any]:
    return dict(user) if isinstance(user, dict) else {}


def gitlab_deliveries(
    client: Client, project: str, since: str | None, say: Callable[[str], None]
) -> Iterator[list[tuple[str, Delivery]]]:
    """Yield the deliveries of each merge request of ``project`` (``group/name``), a list each.

    Diff notes (with a ``position``) become Note Hook payloads, approvals and the merge or
    close Merge Request Hook payloads, as GitLab's webhooks would have sent them.
    """
    ident = urllib.parse.quote(project.strip("/"), safe="")
    base = f"projects/{ident}"
    params: dict[str, object] = {"state": "all", "order_by": "updated_at", "sort": "desc"}
    if since is not None:
        params["updated_after"] = since
    repository = {"path_with_namespace": project.strip("/")}
    for page in client.pages(f"{base}/merge_requests", params):
        for mr in page:
            if not isinstance(mr, dict) or not isinstance(mr.get("iid"), int):
                continue
            if not _after(mr, since):
                continue
            try:
                yield _merge_request(client, base, mr, repository)
            except BackfillError as exc:  # one malformed item: say it, go on with the next MR
                say(f"!{mr['iid']}: {exc}; this merge request is skipped")


def _merge_request(
    client: Client, base: str, mr: dict[str, Any], repository: dict[str, str]
) -> list[tuple[str, Delivery]]:
    """Return the deliveries of one merge request: its diff notes, approvals and closing."""
    iid = int(mr["iid"])
    group: list[tuple[str, Delivery]] = []
    request = {"iid": iid, "url": mr.get("web_url"), "title": mr.get("title")}
    refs = mr.get("diff_refs") if isinstance(mr.get("diff_refs"), dict) else {}
    for note in _all(client, f"{base}/merge_requests/{iid}/notes", {"sort": "asc"}):
        if not isinstance(note, dict) or note.get("system"):
            continue
        if not isinstance(note.get("position"), dict):
            continue  # a note on the merge request, not on a line: nothing to match
        attributes = {
            "id": note.get("id"), "note": note.get("body"), "noteable_type": "MergeRequest",
            "position": note["position"], "created_at": note.get("created_at"),
            "action": "create",
        }  # fmt: skip
        payload = {"object_kind": "note", "object_attributes": attributes,
                   "merge_request": request, "user": _gitlab_user(note.get("author")),
                   "project": repository}  # fmt: skip
        group.append(
            _delivery(f"note {note.get('id')} on !{iid}", payload, f"note-{note.get('id')}")
        )
    head = mr.get("sha")
    attributes = {"id": mr.get("id"), "iid": iid, "url": mr.get("web_url"),
                  "last_commit": {"id": head}, "diff_refs": refs}  # fmt: skip
    approvals = client.get(client.url(f"{base}/merge_requests/{iid}/approvals"))[0]
    approvers = approvals.get("approved_by") if isinstance(approvals, dict) else None
    for entry in approvers if isinstance(approvers, list) else []:
        user = _gitlab_user(entry.get("user") if isinstance(entry, dict) else None)
        payload = {"object_kind": "merge_request", "user": user, "project": repository,
                   "object_attributes": {**attributes, "action": "approved",
                                         "updated_at": mr.get("updated_at")}}  # fmt: skip
        group.append(_delivery(f"approval of !{iid} by {clean(user.get('username'), 80)}",
                               payload, f"approval-{iid}-{user.get('id')}"))  # fmt: skip
    state = mr.get("state")
    if state not in ("merged", "closed"):
        return group
    merged = state == "merged"
    who = mr.get("merged_by") if merged else mr.get("closed_by")
    at = mr.get("merged_at") if merged else mr.get("closed_at")
    closing = {**attributes, "action": "merge" if merged else "close", "updated_at": at,
               "merge_commit_sha": mr.get("merge_commit_sha") or mr.get("squash_commit_sha")}  # fmt: skip
    payload = {"object_kind": "merge_request", "user": _gitlab_user(who),
               "project": repository, "object_attributes": closing}  # fmt: skip
    group.append(_delivery(f"merge request !{iid} {state}", payload, f"mr-{iid}-{state}"))
    return group


def _delivery(where: str, payload: dict[str, Any], key: str) -> tuple[str, Delivery]:
    try:
        return where, parse(payload, headers={"x-gitlab-event-uuid": f"backfill-{key}"})
    except PayloadError as exc:
        raise BackfillError(f"{where} {exc}") from None
