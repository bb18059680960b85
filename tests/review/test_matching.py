"""Review comments and merge outcomes reach the right snippets, by content, through a
merge commit, a squash, a rebase with a commit added before the snippet, and a fixup."""

from __future__ import annotations

import json
import os
from pathlib import Path

from ailoop.capture.identity import line_hashes, snippet_id
from ailoop.store.local import LocalStore
from tests.review.support import (
    HUMAN,
    PARSE,
    TOTAL,
    closed,
    commit,
    git,
    ingest,
    line_of,
    make_repo,
    outcomes,
    record_snippet,
    review,
    review_comment,
    reviewed,
    run,
    save,
    write,
)  # fmt: skip

T, P = snippet_id(TOTAL), snippet_id(PARSE)


def _branch(root: Path, data_dir: Path) -> tuple[str, str]:
    """Open a branch with both AI snippets (recorded as the editor would); (head, base)."""
    base = git(root, "rev-parse", "HEAD")
    git(root, "checkout", "-q", "-b", "totals")
    cart = (root / "shop/cart.py").read_text()
    write(root, "shop/cart.py", cart + "\n\n" + TOTAL)
    write(root, "shop/orders.py", "import json\n\n\n" + PARSE)
    record_snippet(data_dir, TOTAL, "shop/cart.py")
    record_snippet(data_dir, PARSE, "shop/orders.py", tool="claude-code")
    return commit(root, "cart totals and order parsing"), base


def _comments(root: Path, out: Path, head: str, base: str, tag: str) -> list[Path]:
    """Comments on each snippet and on a human line, at ``head``'s real line numbers."""
    discount = line_of(root, head, "shop/cart.py", "discount = 0.1")
    human = line_of(root, head, "shop/cart.py", 'message = "Hello')
    fields = line_of(root, head, "shop/orders.py", "fields = raw.split")
    bare = line_of(root, head, "shop/orders.py", "except:")
    return [
        save(out, f"{tag}-1.json", review_comment(7, 101, head, base, "shop/cart.py", discount,
                                                  "use Decimal for money")),
        save(out, f"{tag}-2.json", review_comment(7, 102, head, base, "shop/cart.py", human,
                                                  "typo in the greeting")),
        save(out, f"{tag}-3.json", review_comment(7, 103, head, base, "shop/orders.py", bare + 1,
                                                  "never swallow every error", start_line=fields)),
    ]  # fmt: skip


def test_comments_and_a_merge_commit_reach_the_snippets(tmp_path: Path, data_dir: Path) -> None:
    root = make_repo(tmp_path / "repo")
    head, base = _branch(root, data_dir)
    code, out, err = ingest(root, data_dir, *_comments(root, tmp_path / "d", head, base, "c"))
    assert code == 0, err
    assert outcomes(data_dir) == {("commented", T), ("commented", ""), ("commented", P)}
    human = next(e for e in reviewed(data_dir) if not e.snippet)
    assert human.path == "shop/cart.py"
    assert human.tool == "unknown"
    on_total = next(e for e in reviewed(data_dir) if e.snippet == T)
    assert (on_total.tool, on_total.user, on_total.source.value) == (
        "copilot",
        "ana@example.com",
        "review",
    )
    assert on_total.findings == ("pattern:bare-except",)
    assert on_total.reviewer == "bob"
    assert on_total.pr == "https://github.com/acme/shop/pull/7"
    assert on_total.reason is None  # texts are kept only when the team says so
    assert on_total.repo == "https://github.com/acme/shop.git"

    git(root, "checkout", "-q", "main")
    git(root, "merge", "-q", "--no-ff", "-m", "Merge pull request #7", "totals")
    merge = git(root, "rev-parse", "HEAD")
    code, out, err = ingest(
        root, data_dir, save(tmp_path / "d", "m.json", closed(7, head, base, merge))
    )
    assert code == 0, err
    assert {("merged", T), ("merged", P)} <= outcomes(data_dir)
    assert "2 merged" in out


def test_a_squash_merge(tmp_path: Path, data_dir: Path) -> None:
    root = make_repo(tmp_path / "repo")
    head, base = _branch(root, data_dir)
    git(root, "checkout", "-q", "main")
    git(root, "merge", "-q", "--squash", "totals")
    squash = commit(root, "Cart totals (#7)")
    assert git(root, "rev-list", "--count", "HEAD") == "2"  # one commit, none of the branch's
    code, _, err = ingest(
        root, data_dir, save(tmp_path / "d", "m.json", closed(7, head, base, squash))
    )
    assert code == 0, err
    assert outcomes(data_dir) == {("merged", T), ("merged", P)}


def test_a_rebase_with_a_commit_added_before_the_snippet(tmp_path: Path, data_dir: Path) -> None:
    root = make_repo(tmp_path / "repo")
    head, _base = _branch(root, data_dir)
    old_line = line_of(root, head, "shop/cart.py", "taxed = (subtotal")
    git(root, "checkout", "-q", "main")
    cart = (root / "shop/cart.py").read_text()
    write(
        root,
        "shop/cart.py",
        cart.replace("import math\n", "import math\nimport decimal\n\nRATE = 1.2\nLIMIT = 100\n"),
    )
    new_base = commit(root, "constants")
    git(root, "checkout", "-q", "totals")
    git(root, "rebase", "-q", "main")
    new_head = git(root, "rev-parse", "HEAD")
    new_line = line_of(root, new_head, "shop/cart.py", "taxed = (subtotal")
    assert new_line == old_line + 4  # the lines moved

    # a comment made on the new head's lines, and one made before the rebase (its commit
    # is still in the checkout: original_commit_id and original_line)
    d = tmp_path / "d"
    after = save(
        d,
        "after.json",
        review_comment(7, 201, new_head, new_base, "shop/cart.py", new_line, "rounding"),
    )
    before = review_comment(7, 202, new_head, new_base, "shop/cart.py", old_line, "tax rate",
                            original_commit=head, original_line=old_line)  # fmt: skip
    before["comment"]["line"] = None  # outdated by the rebase, as GitHub sends it
    code, _, err = ingest(root, data_dir, after, save(d, "before.json", before))
    assert code == 0, err
    assert [e.snippet for e in reviewed(data_dir)] == [T, T]

    git(root, "checkout", "-q", "main")
    git(root, "merge", "-q", "--ff-only", "totals")  # GitHub's "rebase and merge"
    code, _, err = ingest(
        root, data_dir, save(d, "m.json", closed(7, new_head, new_base, new_head))
    )
    assert code == 0, err
    assert {("merged", T), ("merged", P)} <= outcomes(data_dir)


def test_a_fixup_keeps_comments_and_the_merge_on_the_snippet(
    tmp_path: Path, data_dir: Path
) -> None:
    root = make_repo(tmp_path / "repo")
    _head, base = _branch(root, data_dir)
    cart = (root / "shop/cart.py").read_text()
    write(
        root,
        "shop/cart.py",
        cart.replace("discount = 0.1 * subtotal", "discount = 0.15 * subtotal"),
    )
    commit(root, "fixup! cart totals and order parsing")
    env_editor = os.environ.get("GIT_SEQUENCE_EDITOR")
    os.environ["GIT_SEQUENCE_EDITOR"] = "true"
    try:
        git(root, "rebase", "-q", "-i", "--autosquash", base)
    finally:
        if env_editor is None:
            os.environ.pop("GIT_SEQUENCE_EDITOR")
        else:
            os.environ["GIT_SEQUENCE_EDITOR"] = env_editor
    fixed = git(root, "rev-parse", "HEAD")
    assert git(root, "rev-list", "--count", f"{base}..{fixed}") == "1"
    edited = line_of(root, fixed, "shop/cart.py", "discount = 0.15")
    d = tmp_path / "d"
    code, out, err = ingest(
        root,
        data_dir,
        save(d, "c.json", review_comment(7, 301, fixed, base, "shop/cart.py", edited, "why 15%?")),
    )
    assert code == 0, err
    assert outcomes(data_dir) == {("commented", T)}
    assert "edited line" in out

    git(root, "checkout", "-q", "main")
    git(root, "merge", "-q", "--no-ff", "-m", "Merge #7", "totals")
    merge = git(root, "rev-parse", "HEAD")
    code, _, err = ingest(root, data_dir, save(d, "m.json", closed(7, fixed, base, merge)))
    assert code == 0, err
    assert {("merged", T), ("merged", P)} <= outcomes(data_dir)


def test_closed_unmerged_approved_and_changes_requested(tmp_path: Path, data_dir: Path) -> None:
    root = make_repo(tmp_path / "repo")
    head, base = _branch(root, data_dir)
    d = tmp_path / "d"
    comments = _comments(root, d, head, base, "c")
    verdict = save(
        d, "r.json", review(7, 237895671, head, base, "changes_requested", "see the comments")
    )
    code, _out, err = ingest(root, data_dir, comments[0], verdict, comments[2])
    assert code == 0, err
    assert {("changes_requested", T), ("changes_requested", P)} <= outcomes(data_dir)
    # the same review again (another delivery of it) adds nothing
    again = save(
        d, "r2.json", review(7, 237895671, head, base, "changes_requested", "see the comments")
    )
    before = len(reviewed(data_dir))
    assert ingest(root, data_dir, again)[0] == 0
    assert len(reviewed(data_dir)) == before

    approved = save(d, "a.json", review(7, 555, head, base, "approved", "LGTM", login="dan"))
    assert ingest(root, data_dir, approved)[0] == 0
    assert {("approved", T), ("approved", P)} <= outcomes(data_dir)

    code, _out, err = ingest(root, data_dir, save(d, "x.json", closed(7, head, base, None)))
    assert code == 0, err
    assert {("closed", T), ("closed", P)} <= outcomes(data_dir)


def test_a_pr_of_human_code_is_kept_at_pr_level_and_a_revert_is_seen(
    tmp_path: Path, data_dir: Path
) -> None:
    root = make_repo(tmp_path / "repo")
    base = git(root, "rev-parse", "HEAD")
    git(root, "checkout", "-q", "-b", "docs")
    write(root, "shop/notes.py", "NOTES = ['written by hand']\n")
    head = commit(root, "notes")
    git(root, "checkout", "-q", "main")
    git(root, "merge", "-q", "--no-ff", "-m", "Merge #3", "docs")
    merge = git(root, "rev-parse", "HEAD")
    assert (
        ingest(root, data_dir, save(tmp_path / "d", "h.json", closed(3, head, base, merge)))[0] == 0
    )
    assert outcomes(data_dir) == {("merged", "")}

    head, base = _branch(root, data_dir)
    git(root, "checkout", "-q", "main")
    git(root, "merge", "-q", "--no-ff", "-m", "Merge #7", "totals")
    merged = git(root, "rev-parse", "HEAD")
    git(root, "revert", "--no-edit", "-m", "1", merged)
    reverted = git(root, "rev-parse", "HEAD")
    assert (
        ingest(
            root, data_dir, save(tmp_path / "d", "v.json", closed(9, reverted, merged, reverted))
        )[0]
        == 0
    )
    assert {("reverted", T), ("reverted", P)} <= outcomes(data_dir)


def test_the_line_index_skips_trivial_lines_and_is_filled_on_write(
    tmp_path: Path, data_dir: Path
) -> None:
    hashes = line_hashes(PARSE)
    assert len(hashes) == 5  # def, fields, order_id, except:, return — not try:, pass
    assert all(len(h) == 16 for h in hashes)
    assert line_hashes("}\n  pass\n\n)\n") == ()
    record_snippet(data_dir, PARSE, "shop/orders.py")
    store = LocalStore.open(data_dir)
    try:
        assert set(store.line_matches(store.indexed_repos(), hashes)) == {P}
        assert store.line_matches(store.indexed_repos(), line_hashes(HUMAN)) == {}
    finally:
        store.close()


def test_status_per_pr(tmp_path: Path, data_dir: Path) -> None:
    root = make_repo(tmp_path / "repo")
    head, base = _branch(root, data_dir)
    ingest(root, data_dir, *_comments(root, tmp_path / "d", head, base, "c"))
    code, out, _ = run("review", "status", "--data-dir", str(data_dir), "--format", "json")
    assert code == 0
    (pr,) = json.loads(out)["prs"]
    assert (pr["deliveries"], pr["matched"], pr["unmatched"]) == (3, 2, 1)
    assert sorted(pr["snippets"]) == sorted([T, P])
    code, out, _ = run("review", "status", "--data-dir", str(data_dir))
    assert "pull/7: 3 deliveries, 2 events on 2 snippets, 1 at PR level" in out


def test_events_stored_before_the_index_are_indexed_by_the_migration(tmp_path: Path) -> None:
    import sqlite3

    from ailoop.store import local

    data_dir = tmp_path / "old"
    data_dir.mkdir()
    db = sqlite3.connect(data_dir / "events.db")
    for number, script in enumerate(local.MIGRATIONS[:2], start=1):
        for statement in local.statements(script):
            db.execute(statement)
        db.execute(f"PRAGMA user_version = {number}")
    columns = "id, ts, kind, snippet, tool, source, user, repo, path, language, lines, findings, reason, pattern, text, similarity"
    db.execute(
        f"INSERT INTO events ({columns}) VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?)",
        ("e1", "2026-03-01T10:00:00.000Z", "generated", P, "copilot", "client", "ana", "git@github.com:acme/shop.git",
         "shop/orders.py", "python", 7, "[]", None, None, PARSE, None),
    )  # fmt: skip
    db.commit()
    db.close()
    store = LocalStore.open(data_dir)
    try:
        assert set(store.line_matches(store.indexed_repos(), line_hashes(PARSE))) == {P}
        (event,) = store.events()
        assert (event.outcome, event.reviewer, event.pr) == (None, None, None)
    finally:
        store.close()
