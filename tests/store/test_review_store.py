"""Code review in the shared store: line hashes travel with generated events (never the
code), review events with no snippet are taken, and a CI job with an empty local store
matches a review comment against the team's snippets."""

from __future__ import annotations

from pathlib import Path

import pytest

from ailoop.capture.identity import line_hashes, snippet_id
from ailoop.store import shared
from ailoop.store.events import Event, Kind, Source
from ailoop.store.sync import SyncOptions, sync_once
from tests.review.support import (
    REPO,
    TOTAL,
    commit,
    git,
    ingest,
    line_of,
    make_repo,
    record_snippet,
    review_comment,
    reviewed,
    save,
    write,
)  # fmt: skip

pytestmark = pytest.mark.postgres


def test_a_ci_job_matches_against_the_team_store(
    store_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import psycopg

    key = "team-key"
    monkeypatch.setenv("AILOOP_USER_HASH_KEY", key)
    config = tmp_path / "config"
    config.mkdir()
    (config / "config.toml").write_text("[store]\nhash_users = true\n", encoding="utf-8")
    monkeypatch.setenv("AILOOP_CONFIG_DIR", str(config))
    developer = tmp_path / "developer"
    root = make_repo(tmp_path / "repo")
    base = git(root, "rev-parse", "HEAD")
    git(root, "checkout", "-q", "-b", "totals")
    write(root, "shop/cart.py", (root / "shop/cart.py").read_text() + "\n\n" + TOTAL)
    record_snippet(developer, TOTAL, "shop/cart.py")
    head = commit(root, "totals")
    # the developer's machine pushes its events, without the code: the line index is
    # keyed with the team's key
    options = SyncOptions(user_hash_key=key)
    report = sync_once(developer / "events.db", store_url, options, repos=[REPO])
    assert report.sent == 1
    with psycopg.connect(store_url) as conn:
        text, hashes = conn.execute("SELECT text, line_hashes FROM ailoop.events").fetchone()
    assert text is None
    assert hashes == shared.keyed_line_hashes(line_hashes(TOTAL), key)
    assert not set(hashes) & set(line_hashes(TOTAL))

    # CI: a fresh local store, the checkout, and the team store
    ci = tmp_path / "ci"
    line = line_of(root, head, "shop/cart.py", "taxed = (subtotal")
    delivery = save(
        tmp_path / "d", "c.json", review_comment(7, 1, head, base, "shop/cart.py", line, "x")
    )
    code, _out, err = ingest(root, ci, delivery, extra=("--team", "--url", store_url))
    assert code == 0, err
    (event,) = reviewed(ci)
    assert (event.snippet, event.tool, event.user) == (
        snippet_id(TOTAL),
        "copilot",
        shared.hash_user("ana@example.com", key),  # as the team store has it
    )
    # and pushes it: the store takes a review event (and one kept at PR level)
    pr_level = Event(kind=Kind.REVIEWED, snippet="", source=Source.REVIEW, repo=event.repo,
                     outcome="merged", reviewer="carol", pr=event.pr)  # fmt: skip
    from ailoop.store.local import LocalStore

    store = LocalStore.open(ci)
    store.append([pr_level])
    store.close()
    report = sync_once(
        ci / "events.db", store_url, SyncOptions(user_hash_key=key), repos=[event.repo]
    )
    assert (report.sent, report.refused) == (2, 0), report.messages
    with psycopg.connect(store_url) as conn:
        rows = conn.execute(
            "SELECT snippet, outcome, reviewer, source FROM ailoop.events WHERE kind = 'reviewed' ORDER BY outcome"
        ).fetchall()
    assert rows == [
        (snippet_id(TOTAL), "commented", shared.hash_user("bob", key), "review"),
        ("", "merged", shared.hash_user("carol", key), "review"),
    ]
    events = list(shared.iter_team_events(store_url))
    assert {e.outcome for e in events if e.kind is Kind.REVIEWED} == {"commented", "merged"}


def test_the_store_refuses_malformed_review_events(store_url: str) -> None:
    import psycopg

    columns = ", ".join(f'"{c}"' for c in shared.PUSH_COLUMNS)
    placeholders = ", ".join(["%s"] * len(shared.PUSH_COLUMNS))
    sql = f"INSERT INTO ailoop.events ({columns}) VALUES ({placeholders})"
    good = Event(kind=Kind.REVIEWED, snippet="", source=Source.REVIEW, outcome="closed", pr="7")
    bad = [
        Event(kind=Kind.ACCEPTED, snippet="", source=Source.CLIENT),  # no snippet: review only
        Event(kind=Kind.REVIEWED, snippet="", source=Source.REVIEW),  # no outcome
        Event(kind=Kind.ACCEPTED, snippet=snippet_id("x"), outcome="merged"),  # outcome not review
        Event(
            kind=Kind.REVIEWED,
            snippet="",
            source=Source.REVIEW,
            outcome="merged",
            reviewer="a\x1b[2J",
        ),
    ]
    with psycopg.connect(store_url, autocommit=True) as conn:
        conn.execute(sql, shared.shared_row(good, shared.Privacy()))
        for event in bad:
            with pytest.raises(psycopg.errors.CheckViolation):
                conn.execute(sql, shared.shared_row(event, shared.Privacy()))
        row = list(
            shared.shared_row(
                Event(kind=Kind.GENERATED, snippet=snippet_id("x"), text="x = 1"), shared.Privacy()
            )
        )
        row[shared.PUSH_COLUMNS.index("line_hashes")] = ["zz" * 8]
        with pytest.raises(psycopg.errors.CheckViolation):
            conn.execute(sql, row)
