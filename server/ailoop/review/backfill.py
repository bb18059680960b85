"""Past pull requests from the JSON ``gh api --paginate`` prints, as deliveries.

``gh api --paginate repos/O/N/pulls?state=all``, ``…/pulls/N/reviews`` and
``…/pulls/N/comments`` print one JSON array per page, one after another; any number of
such outputs, in one file or several, are read here. Each element is recognised by its
shape (a pull request, a review, a review comment) and turned into the webhook payload it
would have been, with a delivery key of its own (``backfill-<kind>-<id>``). Events get the
same ids as from a webhook, so what was already ingested is not recorded twice. Review
comments come first, then reviews (so a review that requested changes finds the snippets
its comments matched), then the closed pull requests.

The live REST client (pagination, rate limits, tokens, GitLab) is :mod:`ailoop.review.api`;
it hands each pull request's items to :func:`pull_deliveries` too.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Sequence
from pathlib import Path
from typing import Any

from ailoop.review.payloads import MAX_BYTES, Delivery, PayloadError, parse
from ailoop.text import clean

_PULL_URL = re.compile(r"/pulls/(\d+)$")


class BackfillError(Exception):
    """The backfill input cannot be read; the message says why."""


def json_values(text: str) -> Iterator[Any]:
    """Yield the JSON values of ``text``, written one after another (``gh --paginate``)."""
    decoder = json.JSONDecoder()
    position = 0
    end = len(text)
    while True:
        while position < end and text[position].isspace():
            position += 1
        if position >= end:
            return
        try:
            value, position = decoder.raw_decode(text, position)
        except json.JSONDecodeError as exc:
            raise BackfillError(f"is not JSON at character {exc.pos} ({exc.msg})") from None
        yield value


def _number(item: dict[str, Any]) -> int | None:
    url = item.get("pull_request_url")
    match = _PULL_URL.search(url) if isinstance(url, str) else None
    return int(match.group(1)) if match else None


def deliveries_from_gh(files: Sequence[Path], repo: str) -> list[tuple[str, Delivery]]:
    """Return the deliveries in ``gh api`` output files, in the order they are ingested."""
    pulls: dict[int, dict[str, Any]] = {}
    reviews: list[dict[str, Any]] = []
    comments: list[dict[str, Any]] = []
    for path in files:
        try:
            if path.stat().st_size > 20 * MAX_BYTES:
                raise BackfillError(f"{path} is larger than {20 * MAX_BYTES // 2**20} MB")
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise BackfillError(f"{path} cannot be read ({clean(exc, 200)})") from None
        try:
            values = list(json_values(text))
        except BackfillError as exc:
            raise BackfillError(f"{path} {exc}") from None
        for value in values:
            for item in value if isinstance(value, list) else [value]:
                if not isinstance(item, dict):
                    continue
                if "diff_hunk" in item:
                    comments.append(item)
                elif "submitted_at" in item or ("state" in item and "pull_request_url" in item):
                    reviews.append(item)
                elif isinstance(item.get("number"), int) and isinstance(item.get("head"), dict):
                    pulls[item["number"]] = item
    return pull_deliveries(list(pulls.values()), reviews, comments, repo)


def pull_deliveries(
    pulls: Sequence[dict[str, Any]],
    reviews: Sequence[dict[str, Any]],
    comments: Sequence[dict[str, Any]],
    repo: str,
) -> list[tuple[str, Delivery]]:
    """Return the deliveries of REST items: comments first, then reviews, then closings.

    ``pulls`` are pull requests as ``pulls?state=all`` lists them; ``reviews`` and
    ``comments`` as ``pulls/N/reviews`` and ``pulls/N/comments`` list them (each with its
    ``pull_request_url``).
    """
    by_number = {int(p["number"]): p for p in pulls if isinstance(p.get("number"), int)}
    repository = {"full_name": repo}
    out: list[tuple[str, Delivery]] = []

    def add(where: str, kind: str, ident: object, payload: dict[str, Any]) -> None:
        headers = {"x-github-delivery": f"backfill-{kind}-{ident}"}
        try:
            out.append((where, parse(payload, event=kind, headers=headers)))
        except PayloadError as exc:
            raise BackfillError(f"{where} {exc}") from None

    def pull_of(number: int) -> dict[str, Any]:
        return by_number.get(number) or {"number": number}

    for comment in comments:
        number = _number(comment)
        if number is not None:
            add(f"comment {comment.get('id')} on #{number}", "pull_request_review_comment",
                comment.get("id"), {"action": "created", "comment": comment,
                                    "pull_request": pull_of(number), "repository": repository})  # fmt: skip
    for review in reviews:
        number = _number(review)
        state = str(review.get("state") or "").lower()
        if number is None or state == "pending":
            continue
        add(f"review {review.get('id')} on #{number}", "pull_request_review", review.get("id"),
            {"action": "submitted", "review": {**review, "state": state},
             "pull_request": pull_of(number), "repository": repository})  # fmt: skip
    for number, pull in sorted(by_number.items()):
        if pull.get("state") != "closed" and not pull.get("merged_at"):
            continue
        merged = bool(pull.get("merged_at"))
        add(f"pull request #{number}", "pull_request", f"{number}-closed",
            {"action": "closed", "number": number, "pull_request": {**pull, "merged": merged},
             "repository": repository})  # fmt: skip
    return out
