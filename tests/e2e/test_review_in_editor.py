"""A pattern rejected in code review shows in the editor on the next AI snippet with it.

The real server over stdio records four AI snippets with a bare ``except:`` (the team's
pattern and ruff's E722); they are committed on a branch of a real git repository; a
reviewer requests changes with a line comment on each (GitHub's payload shapes, on the
real SHAs and lines), ingested with the real ``ailoop review ingest``; the developer then
takes the snippets out. A new session, a fifth such snippet: the team's finding carries
the four review rejections.
"""

from __future__ import annotations

import datetime as dt
import os
import subprocess
from pathlib import Path

from lsprotocol import types

from ailoop.capture.identity import snippet_id
from tests.conftest import ailoop, events
from tests.e2e.lsp import (
    change,
    codes_of,
    diagnostics_where,
    markers,
    open_doc,
    session,
    settle,
    with_code,
)
from tests.review.support import ORIGIN, review, review_comment, save

PATTERNS = """
[[pattern]]
id = "bare-except"
title = "bare except"
message = "Catch the exceptions you expect."
languages = ["python"]
regex = '^\\s*except\\s*:'
"""


def loader(n: int) -> str:
    return (
        f"def load_{n}(path):\n    try:\n        return open(path).read()\n"
        f"    except:\n        return '{n}'\n"
    )


def git(root: Path, *args: str) -> str:
    env = {**os.environ, "GIT_AUTHOR_NAME": "Ana", "GIT_AUTHOR_EMAIL": "ana@example.com",
           "GIT_COMMITTER_NAME": "Ana", "GIT_COMMITTER_EMAIL": "ana@example.com",
           "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}  # fmt: skip
    done = subprocess.run(["git", "-C", str(root), *args], capture_output=True, text=True,
                          env=env, check=True)  # fmt: skip
    return done.stdout.strip()


async def test_a_pattern_rejected_four_times_in_review_shows_in_the_editor(
    data_dir: Path, workspace: Path, tmp_path: Path
) -> None:
    git(workspace, "remote", "set-url", "origin", ORIGIN)
    (workspace / ".ailoop").mkdir()
    (workspace / ".ailoop" / "patterns.toml").write_text(PATTERNS, encoding="utf-8")
    (workspace / "shop" / "__init__.py").write_text("", encoding="utf-8")
    git(workspace, "checkout", "-q", "-b", "main")
    git(workspace, "add", "-A")
    git(workspace, "commit", "-q", "-m", "the team's patterns")
    base = git(workspace, "rev-parse", "HEAD")
    git(workspace, "checkout", "-q", "-b", "loaders")

    # the developer takes four AI snippets in the editor and commits them
    async with session("visual_studio_code", data_dir, workspace) as client:
        uris = []
        for n in range(4):
            path = workspace / "shop" / f"load_{n}.py"
            uri = open_doc(client, path, "")
            change(client, uri, 2, (0, 0), (0, 0), loader(n))
            await diagnostics_where(client, uri, lambda d: bool(with_code(d, "ruff:E722")))
            path.write_text(loader(n), encoding="utf-8")  # saved
            client.text_document_did_save(
                types.DidSaveTextDocumentParams(types.TextDocumentIdentifier(uri))
            )
            uris.append(uri)
        await settle(client)
        head_commit = git(workspace, "add", "-A") or git(workspace, "commit", "-q", "-m", "loaders")
        assert head_commit == ""
        head = git(workspace, "rev-parse", "HEAD")

        # review: changes requested, a line comment on each bare except
        now = dt.datetime.now(dt.timezone.utc).strftime("%Y-%m-%dT%H:%M:%SZ")
        deliveries = tmp_path / "deliveries"
        for n in range(4):
            path = f"shop/load_{n}.py"
            payload = review_comment(7, 900 + n, head, base, path, 4, "catch what you expect",
                                     review_id=77)  # fmt: skip
            payload["comment"]["created_at"] = now
            save(deliveries, f"{n}-comment.json", payload)
        verdict = review(7, 77, head, base, "changes_requested", "no bare excepts, please")
        verdict["review"]["submitted_at"] = now
        save(deliveries, "9-review.json", verdict)
        done = ailoop("review", "ingest", str(deliveries), "--root", str(workspace),
                      data_dir=data_dir)  # fmt: skip
        assert "0 not read" in done.stdout, done.stdout + done.stderr

        # the developer takes them out again (reverted: not an editor outcome)
        for n, uri in enumerate(uris):
            change(client, uri, 3, (0, 0), (5, 0), "")
            await diagnostics_where(client, uri, lambda d: not markers(d))
            (workspace / "shop" / f"load_{n}.py").write_text("", encoding="utf-8")
            client.text_document_did_save(
                types.DidSaveTextDocumentParams(types.TextDocumentIdentifier(uri))
            )
        await settle(client)

    recorded = events(data_dir)
    ids = {snippet_id(loader(n)) for n in range(4)}
    requested = [
        e for e in recorded if e["kind"] == "reviewed" and e["outcome"] == "changes_requested"
    ]
    assert {e["snippet"] for e in requested} == ids
    assert all("pattern:bare-except" in e["findings"] for e in requested)
    assert all(e["source"] == "review" for e in requested)
    editor = {e["kind"] for e in recorded if e["snippet"] in ids and e["source"] != "review"}
    assert editor == {"generated", "reverted"}  # no accept, reject or kept in the editor

    # a new session: a fifth AI snippet with the pattern
    async with session("visual_studio_code", data_dir, workspace) as client:
        uri = open_doc(client, workspace / "shop" / "load_new.py", "")
        change(client, uri, 2, (0, 0), (0, 0), loader(9))
        # the pattern's diagnostic, once ruff's E722 on the same line joined it
        found = await diagnostics_where(
            client,
            uri,
            lambda d: any({"pattern:bare-except", "ruff:E722"} <= set(codes_of(x)) for x in d),
        )
        (bare,) = with_code(found, "pattern:bare-except")
        assert "known rejection pattern: bare except — rejected 4× (4 in the last 7 days)" in (
            bare.message
        )
        # the same four rejections on ruff's E722, the rule the pattern's diagnostic joins
        assert "rejected 4× before (4 in the last 7 days), accepted 0×" in bare.message
        assert bare.code == "ruff:E722"
        assert bare.data["snippet"] == snippet_id(loader(9))
        assert bare.range.start == types.Position(3, 4)
        await settle(client)
