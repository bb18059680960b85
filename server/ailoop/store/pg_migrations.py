"""Versioned schema of the shared PostgreSQL store.

``MIGRATIONS[n - 1]`` brings the schema from version ``n - 1`` to ``n``; the table
``ailoop.schema_version`` records the version reached. ``ailoop store init`` applies what
is missing; every connection checks the version (see ``ailoop.store.shared``). Append new
steps; never edit a released one.

Everything lives in the ``ailoop`` schema so the store can share a database with other
applications. The indexes serve the team queries: time ranges (``ts``), per-tool
acceptance (``tool, ts``), pattern statistics (GIN on ``findings``, ``pattern``) and
per-snippet outcomes (``snippet``).
"""

from __future__ import annotations

#: The PostgreSQL schema (namespace) that holds ailoop's tables.
SCHEMA = "ailoop"

MIGRATIONS: tuple[str, ...] = (
    """
    CREATE SCHEMA IF NOT EXISTS ailoop;
    CREATE TABLE ailoop.schema_version (
        version    integer     NOT NULL,
        applied_at timestamptz NOT NULL DEFAULT now()
    );
    CREATE TABLE ailoop.events (
        id          text             PRIMARY KEY,
        ts          timestamptz      NOT NULL,
        kind        text             NOT NULL,
        snippet     text             NOT NULL,
        tool        text             NOT NULL,
        source      text             NOT NULL,
        "user"      text             NOT NULL,
        repo        text             NOT NULL,
        path        text             NOT NULL,
        language    text             NOT NULL,
        lines       integer          NOT NULL,
        findings    text[]           NOT NULL,
        reason      text,
        pattern     text,
        text        text,
        similarity  double precision,
        received_at timestamptz      NOT NULL DEFAULT now()
    );
    CREATE INDEX events_ts ON ailoop.events (ts);
    CREATE INDEX events_tool_ts ON ailoop.events (tool, ts);
    CREATE INDEX events_snippet ON ailoop.events (snippet);
    CREATE INDEX events_findings ON ailoop.events USING gin (findings);
    CREATE INDEX events_pattern ON ailoop.events (pattern) WHERE pattern IS NOT NULL;
    """,
)

#: The schema version this ailoop writes and reads.
CURRENT_VERSION = len(MIGRATIONS)
