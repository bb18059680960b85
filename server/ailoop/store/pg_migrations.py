"""Versioned schema of the shared PostgreSQL store.

``MIGRATIONS[n - 1]`` brings the schema from version ``n - 1`` to ``n``; the table
``ailoop.schema_version`` records the version reached. ``ailoop store init`` applies what
is missing; every connection checks the version (see ``ailoop.store.shared``). Append new
steps; never edit a released one.

Everything lives in the ``ailoop`` schema so the store can share a database with other
applications. ``pattern_daily`` holds per-rule daily counts for the team statistics. The
indexes serve the team queries: time ranges (``ts``), per-tool
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
    # 2: per-rule daily counts, kept by a statement trigger from the rows really inserted
    # (``ON CONFLICT DO NOTHING`` skips are not in the transition table), so the team
    # statistics read a few thousand rows instead of every event. Rule '' counts all events.
    # Keys follow ``ailoop.patterns.model.normalize_key``: findings as they are, a picked
    # pattern without a prefix as ``pattern:<id>``; an event counts once per key.
    """
    CREATE TABLE ailoop.pattern_daily (
        rule      text        NOT NULL,
        day       date        NOT NULL,
        rejected  bigint      NOT NULL,
        accepted  bigint      NOT NULL,
        total     bigint      NOT NULL,
        last_seen timestamptz NOT NULL,
        PRIMARY KEY (rule, day)
    );
    -- the key of a picked pattern: 'bare-except' is the team pattern 'pattern:bare-except'
    CREATE FUNCTION ailoop.pattern_key(value text) RETURNS text
    LANGUAGE sql IMMUTABLE AS $$
        SELECT CASE WHEN btrim(value) = '' THEN NULL
                    WHEN strpos(value, ':') > 0 THEN btrim(value)
                    ELSE 'pattern:' || btrim(value) END
    $$;
    CREATE FUNCTION ailoop.count_patterns() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    BEGIN
        INSERT INTO ailoop.pattern_daily AS d (rule, day, rejected, accepted, total, last_seen)
        SELECT r.rule, (n.ts AT TIME ZONE 'UTC')::date,
               count(*) FILTER (WHERE n.kind = 'rejected'),
               count(*) FILTER (WHERE n.kind IN ('accepted', 'kept')),
               count(*), max(n.ts)
        FROM new_events AS n
        CROSS JOIN LATERAL (
            SELECT DISTINCT u.rule FROM unnest(n.findings || ailoop.pattern_key(n.pattern)
                                              || ''::text) AS u(rule)
            WHERE u.rule IS NOT NULL
        ) AS r
        GROUP BY 1, 2
        ORDER BY 1, 2
        ON CONFLICT (rule, day) DO UPDATE SET
            rejected = d.rejected + excluded.rejected,
            accepted = d.accepted + excluded.accepted,
            total = d.total + excluded.total,
            last_seen = greatest(d.last_seen, excluded.last_seen);
        RETURN NULL;
    END
    $$;
    REVOKE ALL ON FUNCTION ailoop.count_patterns() FROM PUBLIC;
    CREATE TRIGGER events_count_patterns AFTER INSERT ON ailoop.events
        REFERENCING NEW TABLE AS new_events
        FOR EACH STATEMENT EXECUTE FUNCTION ailoop.count_patterns();
    INSERT INTO ailoop.pattern_daily (rule, day, rejected, accepted, total, last_seen)
    SELECT r.rule, (e.ts AT TIME ZONE 'UTC')::date,
           count(*) FILTER (WHERE e.kind = 'rejected'),
           count(*) FILTER (WHERE e.kind IN ('accepted', 'kept')),
           count(*), max(e.ts)
    FROM ailoop.events AS e
    CROSS JOIN LATERAL (
        SELECT DISTINCT u.rule FROM unnest(e.findings || ailoop.pattern_key(e.pattern)
                                          || ''::text) AS u(rule)
        WHERE u.rule IS NOT NULL
    ) AS r
    GROUP BY 1, 2;
    """,
)

#: The schema version this ailoop writes and reads.
CURRENT_VERSION = len(MIGRATIONS)
