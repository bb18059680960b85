"""``ailoop review backfill --repo``: the real CLI reads a local HTTP server through
``--api-url`` that answers with recorded pages, shaped as GitHub's REST docs and GitLab's
API docs show them: ``Link`` and ``X-Next-Page`` pagination, rate-limit answers, a files
listing at its cap and without patch text. No network, nothing of ours replaced."""

from __future__ import annotations

import json
import os
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from ailoop.capture.identity import snippet_id
from tests.review.support import (
    PARSE,
    TOTAL,
    commit,
    git,
    line_of,
    make_repo,
    outcomes,
    pull,
    record_snippet,
    review,
    review_comment,
    reviewed,
    run,
    write,
)  # fmt: skip

TOKEN = "ghp_recordedTestToken0123456789abcdef"
T, P = snippet_id(TOTAL), snippet_id(PARSE)

Answer = tuple[int, dict[str, str], Any]


class Recorded:
    """A local API: each path (with its query) answers its recorded responses in turn."""

    def __init__(self) -> None:
        self.routes: dict[str, list[Answer]] = {}
        self.requests: list[tuple[str, dict[str, str], float]] = []
        recorded = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                headers = {k.lower(): v for k, v in self.headers.items()}
                recorded.requests.append((self.path, headers, time.monotonic()))
                answers = recorded.routes.get(self.path)
                if not answers:
                    status, headers, body = 404, {}, {"message": "Not Found"}
                else:
                    status, headers, body = answers.pop(0) if len(answers) > 1 else answers[0]
                data = json.dumps(body).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json; charset=utf-8")
                self.send_header("Content-Length", str(len(data)))
                for name, value in headers.items():
                    self.send_header(name, value.replace("{base}", recorded.base))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.base = f"http://127.0.0.1:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def add(self, path: str, *answers: Answer) -> None:
        self.routes[path] = list(answers)

    def paths(self) -> list[str]:
        return [p for p, _, _ in self.requests]

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def api() -> Iterator[Recorded]:
    recorded = Recorded()
    yield recorded
    recorded.close()


@pytest.fixture(autouse=True)
def _no_gh(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """No real ``gh`` and no real token: only what a test sets."""
    bin_dir = tmp_path / "bin"
    bin_dir.mkdir()
    monkeypatch.setenv("PATH", f"{bin_dir}{os.pathsep}/usr/bin{os.pathsep}/bin")
    for name in ("GITHUB_TOKEN", "GH_TOKEN", "GITLAB_TOKEN"):
        monkeypatch.delenv(name, raising=False)


def _branch(root: Path, data_dir: Path) -> tuple[str, str, str]:
    """A merged branch with both AI snippets; (head, base, merge commit)."""
    base = git(root, "rev-parse", "HEAD")
    git(root, "checkout", "-q", "-b", "totals")
    write(root, "shop/cart.py", (root / "shop/cart.py").read_text() + "\n\n" + TOTAL)
    write(root, "shop/orders.py", "import json\n\n\n" + PARSE)
    record_snippet(data_dir, TOTAL, "shop/cart.py")
    record_snippet(data_dir, PARSE, "shop/orders.py", tool="claude-code")
    head = commit(root, "cart totals and order parsing")
    git(root, "checkout", "-q", "main")
    git(root, "merge", "-q", "--no-ff", "-m", "Merge #7", "totals")
    return head, base, git(root, "rev-parse", "HEAD")


def _rest_pull(number: int, head: str, base: str, updated: str, **extra: Any) -> dict[str, Any]:
    """A ``pulls?state=all`` entry: as the REST docs show it (``merged_at``, no ``merged``)."""
    item = pull(number, head, base, updated_at=updated, **extra)
    del item["merged"]
    return item


def _rest_review(number: int, review_id: int, head: str, base: str, state: str) -> dict[str, Any]:
    """A ``pulls/N/reviews`` entry: upper-case state, ``pull_request_url``."""
    item = review(number, review_id, head, base, state)["review"]
    item["pull_request_url"] = f"https://api.github.com/repos/acme/shop/pulls/{number}"
    return item


def _file(name: str, patch: str | None, changes: int = 5) -> dict[str, Any]:
    item: dict[str, Any] = {
        "sha": "bbcd538c8e72b8c175046e27cc8f907076331401", "filename": name,
        "status": "modified", "additions": changes, "deletions": 0, "changes": changes,
        "blob_url": f"https://github.com/acme/shop/blob/main/{name}",
        "raw_url": f"https://github.com/acme/shop/raw/main/{name}",
        "contents_url": f"https://api.github.com/repos/acme/shop/contents/{name}",
    }  # fmt: skip
    if patch is not None:
        item["patch"] = patch
    return item


PULLS = "/repos/acme/shop/pulls?per_page=100&state=all&sort=updated&direction=desc"


def _github_api(api: Recorded, root: Path, head: str, base: str, merge: str) -> None:
    discount = line_of(root, head, "shop/cart.py", "discount = 0.1")
    bare = line_of(root, head, "shop/orders.py", "except:")
    merged = _rest_pull(7, head, base, "2026-03-03T09:00:00Z", state="closed",
                        merged_at="2026-03-03T09:00:00Z", closed_at="2026-03-03T09:00:00Z",
                        merge_commit_sha=merge)  # fmt: skip
    still_open = _rest_pull(8, head, base, "2026-03-05T10:00:00Z")
    old = _rest_pull(3, head, base, "2025-01-01T00:00:00Z", state="closed",
                     closed_at="2025-01-01T00:00:00Z")  # fmt: skip
    c1 = review_comment(7, 101, head, base, "shop/cart.py", discount, "use Decimal", review_id=12)
    c2 = review_comment(7, 102, head, base, "shop/orders.py", bare, "never swallow errors",
                        review_id=12)  # fmt: skip
    page2 = "{base}" + PULLS + "&page=2"
    api.add(PULLS, (200, {"Link": f'<{page2}>; rel="next", <{page2}>; rel="last"'},
                    [still_open, merged]))  # fmt: skip
    api.add(PULLS + "&page=2", (200, {}, [old]))
    for n in (7, 8):
        comments = f"/repos/acme/shop/pulls/{n}/comments?per_page=100"
        reviews = f"/repos/acme/shop/pulls/{n}/reviews?per_page=100"
        files = f"/repos/acme/shop/pulls/{n}/files?per_page=100"
        if n == 8:
            api.add(comments, (200, {}, []))
            api.add(reviews, (200, {}, []))
            # 3,000 files over 30 pages: the endpoint's cap
            for page in range(1, 31):
                path = files + (f"&page={page}" if page > 1 else "")
                link = (
                    {"Link": f'<{{base}}{files}&page={page + 1}>; rel="next"'} if page < 30 else {}
                )
                api.add(path, (200, link, [_file(f"gen/f{page}_{i}.py", "@@ -0,0 +1 @@\n+x = 1")
                                           for i in range(100)]))  # fmt: skip
            continue
        # the first answer: GitHub's secondary rate limit, with Retry-After
        secondary = (403, {"Retry-After": "1", "X-RateLimit-Remaining": "4000"},
                     {"message": "You have exceeded a secondary rate limit. Please wait a few "
                      "minutes before you try again.",
                      "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"})  # fmt: skip
        api.add(comments, secondary,
                (200, {"Link": f'<{{base}}{comments}&page=2>; rel="next"'}, [c1["comment"]]))  # fmt: skip
        api.add(comments + "&page=2", (200, {}, [c2["comment"]]))
        # this page uses the primary limit up: the next request waits for the reset
        reset = str(int(time.time()) + 2)  # after the secondary limit's 1 s wait
        api.add(reviews, (200, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset},
                          [_rest_review(7, 12, head, base, "CHANGES_REQUESTED"),
                           _rest_review(7, 13, head, base, "PENDING")]))  # fmt: skip
        api.add(files, (200, {}, [_file("shop/cart.py", "@@ -3,0 +4,6 @@\n+def cart_total(items):"),
                                  _file("shop/orders.py", None, changes=25000)]))  # fmt: skip


def _backfill(root: Path, data_dir: Path, *extra: str) -> tuple[int, str, str]:
    return run("review", "backfill", "--root", str(root), "--data-dir", str(data_dir), *extra)


def test_a_live_backfill_from_github(
    tmp_path: Path, data_dir: Path, api: Recorded, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_repo(tmp_path / "repo")
    head, base, merge = _branch(root, data_dir)
    _github_api(api, root, head, base, merge)
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    argv = ("--repo", "acme/shop", "--api-url", api.base, "--since", "2026-01-01")
    code, out, err = _backfill(root, data_dir, *argv)
    assert code == 0, err
    assert outcomes(data_dir) == {
        ("commented", T), ("commented", P), ("changes_requested", T), ("changes_requested", P),
        ("merged", T), ("merged", P),
    }  # fmt: skip
    # the waits, said; the token never shown
    assert "GitHub's secondary rate limit (Retry-After: 1 s): waiting 1 s" in err
    assert "GitHub's rate limit is used up until" in err
    assert "#7: GitHub gives no patch text for 1 changed files" in err
    assert "shop/orders.py" in err
    assert "#8: GitHub lists at most 3000 files" in err
    assert TOKEN not in out + err
    paths = api.paths()
    # --since: the page of older pull requests is read, #3's items are not
    assert PULLS + "&page=2" in paths
    assert not any("/pulls/3/" in p for p in paths)
    assert paths.count("/repos/acme/shop/pulls/7/comments?per_page=100") == 2  # retried once
    assert "/repos/acme/shop/pulls/7/comments?per_page=100&page=2" in paths
    assert "/repos/acme/shop/pulls/8/files?per_page=100&page=30" in paths
    # the request after the used-up page waited for the reset
    times = {p: t for p, _, t in api.requests}
    after = paths[paths.index("/repos/acme/shop/pulls/7/reviews?per_page=100") + 1]
    assert times[after] - times["/repos/acme/shop/pulls/7/reviews?per_page=100"] >= 0.5
    headers = [h for _, h, _ in api.requests]
    assert all(h.get("authorization") == f"Bearer {TOKEN}" for h in headers)
    assert all(h.get("x-github-api-version") == "2022-11-28" for h in headers)

    # run again (a webhook would give the same ids): nothing new
    count = len(reviewed(data_dir))
    _github_api(api, root, head, base, merge)
    code, out, err = _backfill(root, data_dir, *argv)
    assert code == 0, err
    assert len(reviewed(data_dir)) == count


def test_the_token_from_gh_and_a_rate_limit_too_long_to_wait(
    tmp_path: Path, data_dir: Path, api: Recorded
) -> None:
    root = make_repo(tmp_path / "repo")
    gh = tmp_path / "bin" / "gh"
    gh.write_text(f"#!/bin/sh\n[ \"$1 $2\" = 'auth token' ] && echo {TOKEN}\n")
    gh.chmod(0o755)
    reset = str(int(time.time()) + 3600)
    api.add(PULLS, (403, {"X-RateLimit-Remaining": "0", "X-RateLimit-Reset": reset,
                          "X-RateLimit-Limit": "5000"},
                    {"message": "API rate limit exceeded for user ID 1.",
                     "documentation_url": "https://docs.github.com/rest/overview/rate-limits-for-the-rest-api"}))  # fmt: skip
    started = time.monotonic()
    code, out, err = _backfill(root, data_dir, "--repo", "acme/shop", "--api-url", api.base,
                               "--max-wait", "5")  # fmt: skip
    assert time.monotonic() - started < 5  # did not wait an hour, nor the 5 s
    assert code == 1
    assert "rate limit is used up until" in err
    assert "more than --max-wait 5 s; stopped" in err
    assert TOKEN not in out + err
    assert api.requests[0][1].get("authorization") == f"Bearer {TOKEN}"


def test_errors_and_the_token_kept_to_the_api_host(
    tmp_path: Path, data_dir: Path, api: Recorded, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_repo(tmp_path / "repo")
    monkeypatch.setenv("GITHUB_TOKEN", TOKEN)
    elsewhere = "http://localhost:9/repos/acme/shop/pulls?page=2"
    api.add(PULLS, (200, {"Link": f'<{elsewhere}>; rel="next"'}, []))
    code, _, err = _backfill(root, data_dir, "--repo", "acme/shop", "--api-url", api.base)
    assert code == 1
    assert "pointed to another host (localhost:9); not followed" in err
    api.add(PULLS, (401, {}, {"message": "Bad credentials"}))
    code, _, err = _backfill(root, data_dir, "--repo", "acme/shop", "--api-url", api.base)
    assert code == 1
    assert "GitHub refused the token (401: Bad credentials)" in err
    assert TOKEN not in err
    code, _, err = _backfill(root, data_dir, "--since", "last week", "--api-url", api.base)
    assert code == 2
    assert "--since takes a date" in err


def test_a_live_backfill_from_gitlab(
    tmp_path: Path, data_dir: Path, api: Recorded, monkeypatch: pytest.MonkeyPatch
) -> None:
    root = make_repo(tmp_path / "repo")
    head, base, merge = _branch(root, data_dir)
    monkeypatch.setenv("GITLAB_TOKEN", "glpat-recordedTestToken")
    bare = line_of(root, head, "shop/orders.py", "except:")
    project = "/projects/acme%2Fshop"
    mrs = f"{project}/merge_requests?per_page=100&state=all&order_by=updated_at&sort=desc"
    user = {"id": 1, "username": "bob", "name": "Bob", "state": "active"}
    mr = {
        "id": 84, "iid": 7, "project_id": 3, "title": "Cart totals", "state": "merged",
        "merged_by": {"id": 2, "username": "carol"}, "merged_at": "2026-03-03T09:00:00.000Z",
        "closed_at": None, "sha": head, "merge_commit_sha": merge, "squash_commit_sha": None,
        "diff_refs": {"base_sha": base, "head_sha": head, "start_sha": base},
        "web_url": "https://gitlab.example.com/acme/shop/-/merge_requests/7",
        "updated_at": "2026-03-03T09:00:00.000Z", "author": {"id": 3, "username": "ana"},
    }  # fmt: skip
    diff_note = {
        "id": 302, "type": "DiffNote", "body": "never swallow every error", "author": user,
        "created_at": "2026-03-02T15:20:37.000Z", "system": False, "noteable_id": 84,
        "noteable_type": "MergeRequest", "noteable_iid": 7,
        "position": {"base_sha": base, "start_sha": base, "head_sha": head,
                     "old_path": "shop/orders.py", "new_path": "shop/orders.py",
                     "position_type": "text", "old_line": None, "new_line": bare},
    }  # fmt: skip
    system = {"id": 303, "body": "approved this merge request", "system": True, "author": user}
    general = {"id": 304, "type": None, "body": "Looks good", "system": False, "author": user}
    api.add(mrs, (200, {"X-Next-Page": "2", "X-Total-Pages": "2", "X-Page": "1"}, [mr]))
    api.add(mrs + "&page=2", (200, {"X-Next-Page": "", "X-Total-Pages": "2", "X-Page": "2"}, []))
    notes = f"{project}/merge_requests/7/notes?per_page=100&sort=asc"
    api.add(notes, (429, {"Retry-After": "1", "RateLimit-Remaining": "0"},
                    {"message": "Retry later"}),
            (200, {"X-Next-Page": "2", "X-Total-Pages": "2"}, [system, general]))  # fmt: skip
    api.add(notes + "&page=2", (200, {"X-Next-Page": ""}, [diff_note]))
    api.add(f"{project}/merge_requests/7/approvals",
            (200, {}, {"approved": True, "approved_by": [{"user": user}]}))  # fmt: skip
    code, out, err = _backfill(root, data_dir, "--gitlab", "--repo", "acme/shop",
                               "--api-url", api.base)  # fmt: skip
    assert code == 0, err
    assert "GitLab's rate limit (Retry-After: 1 s): waiting 1 s" in err
    assert outcomes(data_dir) == {("commented", P), ("approved", T), ("approved", P),
                                  ("merged", T), ("merged", P)}  # fmt: skip
    assert {e.pr for e in reviewed(data_dir)} == {mr["web_url"]}
    assert all(h.get("private-token") == "glpat-recordedTestToken" for _, h, _ in api.requests)
    assert "glpat-recordedTestToken" not in out + err
