"""A real git repository, snippets recorded through the real store, payloads shaped as
GitHub sends them (octokit/webhooks ``payload-examples``) from the real SHAs and lines."""

from __future__ import annotations

import contextlib
import io
import json
import os
import subprocess
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from ailoop.capture.identity import snippet_id
from ailoop.cli import main
from ailoop.store.events import Event, Kind, Source
from ailoop.store.local import LocalStore

ORIGIN = "https://github.com/acme/shop.git"
HTML = "https://github.com/acme/shop"
#: What the developer's editor named the repository (another spelling of the same one).
REPO = "git@github.com:acme/shop.git"

#: AI snippets: distinctive lines, as an assistant would insert them.
TOTAL = """\
def cart_total(items):
    subtotal = sum(item.price * item.quantity for item in items)
    discount = 0.1 * subtotal if subtotal > 100 else 0.0
    taxed = (subtotal - discount) * 1.2
    return round(taxed, 2)
"""
PARSE = """\
def parse_order(raw):
    try:
        fields = raw.split(";")
        order_id = int(fields[0])
    except:
        pass
    return {"id": order_id, "lines": fields[1:]}
"""
#: Human-written code, in no snippet.
HUMAN = """\
def greet(name):
    message = "Hello, " + name + "!"
    print(message)
"""


def git(root: Path, *args: str) -> str:
    """Run git in ``root`` (a test's own repository); return its output."""
    env = {
        **os.environ,
        "GIT_AUTHOR_NAME": "Ana", "GIT_AUTHOR_EMAIL": "ana@example.com",
        "GIT_COMMITTER_NAME": "Ana", "GIT_COMMITTER_EMAIL": "ana@example.com",
        "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1",
    }  # fmt: skip
    done = subprocess.run(
        ["git", "-C", str(root), *args], capture_output=True, text=True, env=env, check=True
    )
    return done.stdout.strip()


def make_repo(root: Path) -> Path:
    """Create a repository with a main branch holding the human code."""
    root.mkdir(parents=True)
    git(root, "init", "-q", "-b", "main")
    git(root, "remote", "add", "origin", ORIGIN)
    (root / "shop").mkdir()
    write(root, "shop/greet.py", HUMAN)
    write(root, "shop/cart.py", "import math\n\n\n" + HUMAN.replace("greet", "wave"))
    commit(root, "human code")
    return root


def write(root: Path, path: str, text: str) -> None:
    """Write a file of the repository."""
    (root / path).write_text(text, encoding="utf-8")


def commit(root: Path, message: str) -> str:
    """Commit everything; return the new commit's sha."""
    git(root, "add", "-A")
    git(root, "commit", "-q", "-m", message)
    return git(root, "rev-parse", "HEAD")


def line_of(root: Path, sha: str, path: str, text: str) -> int:
    """Return the 1-based line of ``path`` at ``sha`` that contains ``text``."""
    lines = git(root, "show", f"{sha}:{path}").split("\n")
    return next(i for i, line in enumerate(lines, 1) if text in line)


def record_snippet(data_dir: Path, text: str, path: str, *, tool: str = "copilot") -> str:
    """Record a ``generated`` event with its text, as the server writes it; return its id."""
    store = LocalStore.open(data_dir)
    try:
        snippet = snippet_id(text)
        store.append([
            Event(kind=Kind.GENERATED, snippet=snippet, tool=tool, source=Source.CLIENT,
                  user="ana@example.com", repo=REPO, path=path, language="python",
                  lines=text.count("\n"), findings=("pattern:bare-except",), text=text)
        ])  # fmt: skip
    finally:
        store.close()
    return snippet


def _user(login: str) -> dict[str, Any]:
    return {"login": login, "id": 21031067, "type": "User", "site_admin": False,
            "html_url": f"https://github.com/{login}"}  # fmt: skip


def _repository() -> dict[str, Any]:
    return {"id": 186853002, "name": "shop", "full_name": "acme/shop", "private": False,
            "owner": _user("acme"), "html_url": HTML, "clone_url": ORIGIN,
            "ssh_url": "git@github.com:acme/shop.git", "default_branch": "main"}  # fmt: skip


def pull(number: int, head: str, base: str, **extra: Any) -> dict[str, Any]:
    """A ``pull_request`` object as GitHub sends it (the fields review matching reads)."""
    return {
        "url": f"https://api.github.com/repos/acme/shop/pulls/{number}",
        "html_url": f"{HTML}/pull/{number}", "number": number, "state": "open",
        "title": "Cart totals", "user": _user("ana"), "body": "Adds cart totals.",
        "merged": False, "merged_at": None, "closed_at": None, "merge_commit_sha": None,
        "head": {"label": "ana:totals", "ref": "totals", "sha": head, "repo": _repository()},
        "base": {"label": "acme:main", "ref": "main", "sha": base, "repo": _repository()},
        **extra,
    }  # fmt: skip


def review_comment(
    number: int, comment_id: int, head: str, base: str, path: str, line: int, body: str,
    *, start_line: int | None = None, original_commit: str | None = None,
    original_line: int | None = None, review_id: int = 237895671, hunk: str = "@@ -1 +1 @@",
    login: str = "bob",
) -> dict[str, Any]:  # fmt: skip
    """A ``pull_request_review_comment`` (created) payload, shaped as octokit's example."""
    comment = {
        "url": f"https://api.github.com/repos/acme/shop/pulls/comments/{comment_id}",
        "pull_request_review_id": review_id, "id": comment_id,
        "node_id": "MDI0OlB1bGxSZXF1ZXN0UmV2aWV3Q29tbWVudDI4NDMxMjYzMA==",
        "diff_hunk": hunk, "path": path, "position": 1, "original_position": 1,
        "commit_id": head, "original_commit_id": original_commit or head,
        "user": _user(login), "body": body,
        "created_at": "2026-03-02T15:20:37Z", "updated_at": "2026-03-02T15:20:38Z",
        "html_url": f"{HTML}/pull/{number}#discussion_r{comment_id}",
        "pull_request_url": f"https://api.github.com/repos/acme/shop/pulls/{number}",
        "author_association": "MEMBER",
        "start_line": start_line, "original_start_line": start_line,
        "start_side": "RIGHT" if start_line else None,
        "line": line, "original_line": original_line or line, "side": "RIGHT",
    }  # fmt: skip
    return {"action": "created", "comment": comment, "pull_request": pull(number, head, base),
            "repository": _repository(), "sender": _user(login)}  # fmt: skip


def review(number: int, review_id: int, head: str, base: str, state: str, body: str = "",
           *, login: str = "bob") -> dict[str, Any]:  # fmt: skip
    """A ``pull_request_review`` (submitted) payload."""
    return {
        "action": "submitted",
        "review": {"id": review_id, "node_id": "PRR_kwDOAA==", "user": _user(login),
                   "body": body, "commit_id": head, "submitted_at": "2026-03-02T16:00:00Z",
                   "state": state, "html_url": f"{HTML}/pull/{number}#pullrequestreview-1",
                   "author_association": "MEMBER"},
        "pull_request": pull(number, head, base), "repository": _repository(),
        "sender": _user(login),
    }  # fmt: skip


def closed(number: int, head: str, base: str, merge: str | None) -> dict[str, Any]:
    """A ``pull_request`` closed payload: merged when ``merge`` (its merge commit) is given."""
    extra: dict[str, Any] = {"state": "closed", "closed_at": "2026-03-03T09:00:00Z"}
    if merge:
        extra.update(merged=True, merged_at="2026-03-03T09:00:00Z", merge_commit_sha=merge,
                     merged_by=_user("carol"))  # fmt: skip
    return {"action": "closed", "number": number, "pull_request": pull(number, head, base, **extra),
            "repository": _repository(), "sender": _user("carol")}  # fmt: skip


def save(directory: Path, name: str, payload: dict[str, Any], **headers: str) -> Path:
    """Write a delivery file: the bare payload, or a ``{headers, payload}`` record."""
    directory.mkdir(parents=True, exist_ok=True)
    path = directory / name
    value: dict[str, Any] = {"headers": headers, "payload": payload} if headers else payload
    path.write_text(json.dumps(value), encoding="utf-8")
    return path


def run(*argv: str) -> tuple[int, str, str]:
    """Run the real command line in this process; return (exit code, stdout, stderr)."""
    out, err = io.StringIO(), io.StringIO()
    with contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


def ingest(
    root: Path, data_dir: Path, *sources: Path | str, extra: tuple[str, ...] = ()
) -> tuple[int, str, str]:
    """``ailoop review ingest`` on ``sources`` in the checkout ``root``."""
    return run("review", "ingest", *map(str, sources), "--root", str(root),
               "--data-dir", str(data_dir), *extra)  # fmt: skip


def reviewed(data_dir: Path) -> list[Event]:
    """Return the ``reviewed`` events stored, oldest first."""
    store = LocalStore.open(data_dir)
    try:
        return store.review_events()
    finally:
        store.close()


def outcomes(data_dir: Path) -> set[tuple[str, str]]:
    """Return the (outcome, snippet) pairs of the ``reviewed`` events."""
    return {(e.outcome or "", e.snippet) for e in reviewed(data_dir)}


@contextlib.contextmanager
def cwd(path: Path) -> Iterator[None]:
    """Work in ``path`` for a while."""
    old = Path.cwd()
    os.chdir(path)
    try:
        yield
    finally:
        os.chdir(old)
