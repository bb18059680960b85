"""Bad deliveries: a clear message each, nothing half-written; the same delivery twice
records nothing new; what is stored keeps code and texts on the machine."""

from __future__ import annotations

import json
import sqlite3
from pathlib import Path

from ailoop.capture.identity import line_hashes, snippet_id
from ailoop.store import shared
from ailoop.store.events import Event, Kind, Source
from tests.review.support import (
    TOTAL,
    _repository,
    closed,
    commit,
    git,
    ingest,
    line_of,
    make_repo,
    record_snippet,
    review_comment,
    reviewed,
    run,
    save,
    write,
)  # fmt: skip

T = snippet_id(TOTAL)


def _setup(tmp_path: Path, data_dir: Path) -> tuple[Path, str, str, int]:
    root = make_repo(tmp_path / "repo")
    base = git(root, "rev-parse", "HEAD")
    git(root, "checkout", "-q", "-b", "totals")
    write(root, "shop/cart.py", (root / "shop/cart.py").read_text() + "\n\n" + TOTAL)
    record_snippet(data_dir, TOTAL, "shop/cart.py")
    head = commit(root, "totals")
    return root, head, base, line_of(root, head, "shop/cart.py", "discount = 0.1")


def test_each_bad_delivery_gets_one_message_and_records_nothing(
    tmp_path: Path, data_dir: Path
) -> None:
    root, head, base, line = _setup(tmp_path, data_dir)
    d = tmp_path / "bad"
    good = review_comment(7, 1, head, base, "shop/cart.py", line, "x")
    d.mkdir()
    (d / "truncated.json").write_text(json.dumps(good)[:300])
    (d / "array.json").write_text("[1, 2]")
    save(d, "push.json", {"ref": "refs/heads/main"}, **{"X-GitHub-Event": "push"})
    other = json.loads(json.dumps(good))
    other["repository"] = {**_repository(), "full_name": "evil/other",
                           "html_url": "https://github.com/evil/other",
                           "clone_url": "https://github.com/evil/other.git", "ssh_url": "git@github.com:evil/other.git"}  # fmt: skip
    save(d, "other.json", other)
    gone = "0" * 40
    save(d, "missing.json", closed(7, gone, base, "1" * 40))
    code, _out, err = ingest(root, data_dir, d)
    assert code == 1
    assert "array.json: is not a JSON object" in err
    assert "truncated.json: is not valid JSON (truncated" in err
    assert "push.json: is a 'push' event, which review ingest does not read" in err
    assert "other.json" in err
    assert "is for https://github.com/evil/other, not for this checkout" in err
    assert "the merge commit 111111111111 is not in the checkout" in err
    assert reviewed(data_dir) == []
    with sqlite3.connect(data_dir / "events.db") as db:
        assert db.execute("SELECT count(*) FROM review_deliveries").fetchone() == (0,)


def test_a_comment_on_a_commit_not_in_the_checkout_matches_from_its_hunk(
    tmp_path: Path, data_dir: Path
) -> None:
    root, _head, base, _line = _setup(tmp_path, data_dir)
    hunk = "@@ -3,3 +8,6 @@ def wave(name):\n+def cart_total(items):\n+    subtotal = sum(item.price * item.quantity for item in items)\n+    discount = 0.1 * subtotal if subtotal > 100 else 0.0"
    payload = review_comment(7, 5, "a" * 40, base, "shop/cart.py", 10, "x", hunk=hunk)
    code, out, err = ingest(root, data_dir, save(tmp_path / "d", "c.json", payload))
    assert code == 0, err
    assert [e.snippet for e in reviewed(data_dir)] == [T]
    assert "aaaaaaaaaaaa is not in the checkout; matched from the comment's diff hunk" in out
    # the hunk is kept as a hash only; the comment's text not at all by default
    raw = (data_dir / "events.db").read_bytes() + b"".join(
        p.read_bytes() for p in data_dir.glob("events.db-*")
    )
    assert b"item.quantity for item" not in raw.replace(TOTAL.encode(), b"")
    with sqlite3.connect(data_dir / "events.db") as db:
        (stored,) = db.execute("SELECT hunk FROM review_deliveries").fetchone()
    assert len(stored) == 64
    assert "cart_total" not in stored


def test_the_same_delivery_twice_records_nothing_new(tmp_path: Path, data_dir: Path) -> None:
    root, head, base, line = _setup(tmp_path, data_dir)
    d = tmp_path / "d"
    payload = review_comment(7, 1, head, base, "shop/cart.py", line, "use Decimal")
    first = save(d, "1.json", payload, **{"X-GitHub-Event": "pull_request_review_comment",
                                          "X-GitHub-Delivery": "72d3162e-cc78-11e3-81ab-4c9367dc0958"})  # fmt: skip
    assert ingest(root, data_dir, first)[0] == 0
    code, out, _ = ingest(root, data_dir, first)
    assert code == 0
    assert "already ingested: nothing new" in out
    # the same comment from a bare payload (CI's event file) or another delivery: same event id
    code, out, _ = ingest(
        root, data_dir, save(d, "2.json", payload), extra=("--event", "pull_request_review_comment")
    )
    assert code == 0
    assert "recorded 0 events" in out
    assert len(reviewed(data_dir)) == 1


def test_bodies_only_when_the_settings_say_so_and_reviewers_hashed(
    tmp_path: Path, data_dir: Path
) -> None:
    root, head, base, line = _setup(tmp_path, data_dir)
    body = "Use `Decimal` here:\n```suggestion\nsecret_code_line()\n```\nfloats round money badly"
    payload = review_comment(7, 1, head, base, "shop/cart.py", line, body)
    assert (
        ingest(root, data_dir, save(tmp_path / "d", "1.json", payload), extra=("--store-bodies",))[
            0
        ]
        == 0
    )
    (event,) = reviewed(data_dir)
    assert event.reason is not None
    assert "floats round money badly" in event.reason
    assert "secret_code_line" not in event.reason  # code in a comment is not kept
    row = dict(
        zip(
            shared.PUSH_COLUMNS,
            shared.shared_row(event, shared.Privacy(user_hash_key="k")),
            strict=True,
        )
    )
    assert row["reviewer"] == shared.hash_user("bob", "k")
    assert row["outcome"] == "commented"
    assert row["text"] is None
    assert row["line_hashes"] is None
    generated = Event(kind=Kind.GENERATED, snippet=T, source=Source.CLIENT, text=TOTAL)

    def pushed_hashes(privacy: shared.Privacy) -> object:
        row = zip(shared.PUSH_COLUMNS, shared.shared_row(generated, privacy), strict=True)
        return dict(row)["line_hashes"]

    hashes = pushed_hashes(shared.Privacy(user_hash_key="k"))
    assert isinstance(hashes, list)
    assert len(hashes) == 5
    assert all(len(h) == 16 for h in hashes)
    assert not set(hashes) & set(line_hashes(TOTAL))  # keyed: no plain hash of a line
    assert pushed_hashes(shared.Privacy()) is None  # no team key, no line index


def test_gitlab_diff_notes_and_merges(tmp_path: Path, data_dir: Path) -> None:
    root, head, base, line = _setup(tmp_path, data_dir)
    project = {"id": 1, "name": "shop", "path_with_namespace": "acme/shop",
               "web_url": "https://github.com/acme/shop", "git_http_url": "https://github.com/acme/shop.git"}  # fmt: skip
    note = {
        "object_kind": "note", "event_type": "note", "user": {"id": 1, "username": "bob", "name": "Bob"},
        "project": project,
        "object_attributes": {"id": 1244, "note": "use Decimal", "noteable_type": "MergeRequest",
                              "commit_id": None, "created_at": "2026-03-02 15:20:37 UTC",
                              "position": {"base_sha": base, "start_sha": base, "head_sha": head,
                                           "old_path": "shop/cart.py", "new_path": "shop/cart.py",
                                           "position_type": "text", "old_line": None, "new_line": line}},
        "merge_request": {"id": 7, "iid": 7, "url": "https://gitlab.example.com/acme/shop/-/merge_requests/7"},
    }  # fmt: skip
    git(root, "checkout", "-q", "main")
    git(root, "merge", "-q", "--no-ff", "-m", "Merge branch 'totals'", "totals")
    merge = git(root, "rev-parse", "HEAD")
    merged = {
        "object_kind": "merge_request", "user": {"username": "carol"}, "project": project,
        "object_attributes": {"id": 99, "iid": 7, "action": "merge", "state": "merged",
                              "merge_commit_sha": merge, "last_commit": {"id": head},
                              "url": "https://gitlab.example.com/acme/shop/-/merge_requests/7",
                              "updated_at": "2026-03-03T09:00:00Z"},
    }  # fmt: skip
    d = tmp_path / "d"
    code, _out, err = ingest(root, data_dir, save(d, "1.json", note, **{"X-Gitlab-Event": "Note Hook"}),
                            save(d, "2.json", merged))  # fmt: skip
    assert code == 0, err
    assert {(e.outcome, e.snippet) for e in reviewed(data_dir)} == {("commented", T), ("merged", T)}
    assert all(e.ts.startswith("2026-03-0") for e in reviewed(data_dir))


def test_a_checkout_without_origin_asks_for_the_repository(tmp_path: Path, data_dir: Path) -> None:
    root, _head, _base, _line = _setup(tmp_path, data_dir)
    git(root, "remote", "remove", "origin")
    code, _, err = run("review", "ingest", "-", "--root", str(root), "--data-dir", str(data_dir))
    assert code == 2
    assert "pass --repo OWNER/NAME" in err
