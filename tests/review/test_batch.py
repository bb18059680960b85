"""Many deliveries are written in batches: one commit for many, each delivery its own unit."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from ailoop.review.batch import BatchingStore
from ailoop.store.events import Event, Kind, Source
from ailoop.store.local import LocalStore
from tests.review.support import ingest, make_repo, review, save

BASE = "9049f1265b7d61be4a8904a9a27120d2064dab3b"


def _record(store: LocalStore, n: int) -> int | None:
    event = Event(kind=Kind.REVIEWED, snippet="", tool="unknown", source=Source.REVIEW,
                  repo="github.com/acme/shop", outcome="commented", pr=str(n))  # fmt: skip
    delivery = {"delivery": f"d{n}", "platform": "github", "event": "pull_request_review",
                "action": "submitted", "repo": "github.com/acme/shop", "pr": str(n),
                "received_at": "2026-03-02T16:00:00.000Z", "matched": 0, "hunk": None,
                "note": ""}  # fmt: skip
    return store.record_review(delivery, [event])


def _committed(data_dir: Path) -> int:
    """Deliveries another connection (another process) sees: committed ones only."""
    other = LocalStore.open(data_dir)
    try:
        return len(other.review_deliveries())
    finally:
        other.close()


def test_a_batch_commits_when_full_and_its_reads_see_its_writes(data_dir: Path) -> None:
    store = BatchingStore.open(data_dir)
    try:
        with store.batches(size=2, seconds=60) as batch:
            assert _record(store, 1) == 1
            assert store.has_delivery("d1")  # the batch reads what it wrote
            assert _committed(data_dir) == 0  # not committed yet
            assert batch.due() is False
            assert _record(store, 1) is None  # the same delivery again: nothing new
            assert batch.due() is True  # two units: committed
            assert _committed(data_dir) == 1
            assert _record(store, 2) == 1
            assert _committed(data_dir) == 1
        assert _committed(data_dir) == 2  # the rest, at the end
        assert batch.commits == 2

        def stopped_batch() -> None:
            with store.batches():
                _record(store, 3)
                raise RuntimeError("stopped")

        with pytest.raises(RuntimeError):
            stopped_batch()
        assert _committed(data_dir) == 2  # the unfinished batch: nothing of it
        assert _record(store, 4) == 1  # outside a batch: a transaction of its own
        assert _committed(data_dir) == 3
    finally:
        store.close()


def test_a_directory_of_deliveries_is_ingested_in_batches(tmp_path: Path, data_dir: Path) -> None:
    root = make_repo(tmp_path / "repo")
    head = BASE  # not in the checkout: a commented review with a body is kept at PR level
    folder = tmp_path / "d"
    for n in range(1, 41):
        save(folder, f"{n:03}.json", review(n, 500 + n, head, head, "commented", "please split"),
             **{"X-GitHub-Event": "pull_request_review", "X-GitHub-Delivery": f"uuid-{n}"})  # fmt: skip
    (folder / "999.json").write_text('{"action": "submitted", "review": ')  # truncated
    code, out, err = ingest(root, data_dir, folder, extra=("--format", "json"))
    assert code == 1
    report = json.loads(out)
    assert report["recorded"] == 40
    assert report["unreadable"] == 1
    assert "999.json" in err
    assert _committed(data_dir) == 40
