"""Ingesting many deliveries: one transaction per batch, not one commit per delivery.

The local store commits with ``synchronous=FULL``: an fsync per commit, which dominates a
backfill of thousands of deliveries. :class:`BatchingStore` keeps one ``BEGIN IMMEDIATE``
transaction open over a batch; inside it each delivery is still its own unit (a
``SAVEPOINT``, rolled back alone when it fails), and its reads (``has_delivery``, the
states and comments of reviews) see what the batch wrote before. A batch ends after
``size`` deliveries or ``seconds`` seconds, whichever comes first, so the write lock is
never held long enough to make an editor's server wait past its busy timeout.

The store owns its transactions (``LocalStore._transaction``, which every write goes
through); this subclass only nests them. A public ``transaction()`` on the store would
let it go (see docs/review.md).
"""

from __future__ import annotations

import contextlib
import sqlite3
import time
from collections.abc import Iterator
from pathlib import Path

from ailoop.store.local import DB_NAME, LocalStore, StoreError, default_data_dir, describe_failure

#: Deliveries per batch, and the longest a batch holds the write lock (seconds).
BATCH_SIZE = 500
BATCH_SECONDS = 0.5


class BatchingStore(LocalStore):
    """A local store whose writes can be grouped into batches (:meth:`batches`).

    In a batch the transaction begins at the first write and ends at :meth:`Batch.due`
    (full or old) or :meth:`Batch.flush` (call it before waiting on anything slow, such
    as the network: the write lock is never held while waiting).
    """

    _batching = False
    _in_transaction = False
    _batch_started = 0.0
    _batch_count = 0

    @classmethod
    def open(cls, data_dir: Path | None = None) -> BatchingStore:
        """Open (creating if needed) the store in ``data_dir`` or the default data dir."""
        return cls((data_dir or default_data_dir()) / DB_NAME)

    @contextlib.contextmanager
    def _transaction(self) -> Iterator[None]:
        if not self._batching:
            with super()._transaction():
                yield
            return
        if not self._in_transaction:
            self._db.execute("BEGIN IMMEDIATE")
            self._in_transaction = True
            self._batch_started = time.monotonic()
            self._batch_count = 0
        self._db.execute("SAVEPOINT review_delivery")
        try:
            yield
        except BaseException:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK TO review_delivery")
                self._db.execute("RELEASE review_delivery")
            raise
        self._db.execute("RELEASE review_delivery")
        self._batch_count += 1

    def _commit(self) -> bool:
        if not self._in_transaction:
            return False
        self._in_transaction = False
        try:
            self._db.execute("COMMIT")
        except sqlite3.Error as exc:
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")
            raise StoreError(describe_failure(self.path, exc)) from exc
        return True

    def _rollback(self) -> None:
        if self._in_transaction:
            self._in_transaction = False
            with contextlib.suppress(sqlite3.Error):
                self._db.execute("ROLLBACK")

    @contextlib.contextmanager
    def batches(self, size: int = BATCH_SIZE, seconds: float = BATCH_SECONDS) -> Iterator[Batch]:
        """Group the writes made inside into batches; commit what is left at the end.

        On an error the open batch is rolled back (nothing of it is written) and the
        error raised.
        """
        batch = Batch(self, size, seconds)
        self._batching = True
        try:
            yield batch
            batch.flush()
        except BaseException:
            self._rollback()
            raise
        finally:
            self._batching = False


class Batch:
    """The batch in progress of a :class:`BatchingStore`; ``commits`` counts its commits."""

    def __init__(self, store: BatchingStore, size: int, seconds: float) -> None:
        self.store = store
        self.size = size
        self.seconds = seconds
        self.commits = 0

    def due(self) -> bool:
        """Commit the batch if it is full or old; return whether it did (all is durable)."""
        store = self.store
        if not store._in_transaction:
            return True
        if (
            store._batch_count < self.size
            and time.monotonic() - store._batch_started < self.seconds
        ):
            return False
        return self.flush()

    def flush(self) -> bool:
        """Commit what the batch wrote so far; return True (all written is durable)."""
        if self.store._commit():
            self.commits += 1
        return True
