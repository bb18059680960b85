"""``ailoop review backfill --from-file``: the pages ``gh api --paginate`` prints."""

from __future__ import annotations

import json
from pathlib import Path

from ailoop.capture.identity import snippet_id
from tests.review.support import (
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


def test_a_backfill_from_gh_api_output(tmp_path: Path, data_dir: Path) -> None:
    root = make_repo(tmp_path / "repo")
    base = git(root, "rev-parse", "HEAD")
    git(root, "checkout", "-q", "-b", "totals")
    write(root, "shop/cart.py", (root / "shop/cart.py").read_text() + "\n\n" + TOTAL)
    record_snippet(data_dir, TOTAL, "shop/cart.py")
    head = commit(root, "totals")
    git(root, "checkout", "-q", "main")
    git(root, "merge", "-q", "--no-ff", "-m", "Merge #7", "totals")
    merge = git(root, "rev-parse", "HEAD")
    line = line_of(root, head, "shop/cart.py", "discount = 0.1")
    # REST shapes: a pulls list entry (merged_at, no "merged"), reviews with upper-case states
    pr = pull(
        7, head, base, state="closed", merged_at="2026-03-03T09:00:00Z", merge_commit_sha=merge
    )
    del pr["merged"]
    comment = review_comment(7, 11, head, base, "shop/cart.py", line, "use Decimal", review_id=12)[
        "comment"
    ]
    verdict = {**review(7, 12, head, base, "CHANGES_REQUESTED")["review"],
               "pull_request_url": "https://api.github.com/repos/acme/shop/pulls/7"}  # fmt: skip
    pages = tmp_path / "gh.json"
    # two pages of pulls, then reviews, then comments, one after another as gh prints them
    pages.write_text(
        json.dumps([pr]) + json.dumps([]) + "\n" + json.dumps([verdict]) + json.dumps([comment])
    )
    argv = (
        "review",
        "backfill",
        "--from-file",
        str(pages),
        "--root",
        str(root),
        "--data-dir",
        str(data_dir),
    )
    code, out, err = run(*argv)
    assert code == 0, err
    t = snippet_id(TOTAL)
    assert outcomes(data_dir) == {("commented", t), ("changes_requested", t), ("merged", t)}
    count = len(reviewed(data_dir))
    code, out, _ = run(*argv)  # again: nothing new
    assert code == 0
    assert len(reviewed(data_dir)) == count
    assert "already ingested" in out

    (tmp_path / "bad.json").write_text(json.dumps([pr])[:-5])
    code, _, err = run("review", "backfill", "--from-file", str(tmp_path / "bad.json"), "--root", str(root),
                       "--data-dir", str(data_dir))  # fmt: skip
    assert code == 1
    assert "is not JSON at character" in err
