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

From version 3 the store checks what it is given (``ailoop.check_event``, a ``BEFORE
INSERT`` trigger that the client role cannot disable): a finite ``ts`` within the last
:data:`RETENTION_DAYS` days and at most :data:`FUTURE_LIMIT_DAYS` ahead of the store's
clock, pattern keys in the shape of ``ailoop.patterns.model.KEY``, and every text column
bounded and free of control characters (see :data:`LIMITS`). It also records who really
inserted each row (``received_by``, the ``session_user``) beside the user the row claims,
and the time it arrived (``received_at``), both set by the trigger whatever the client
sends. Rows stored before version 3 are not checked again; the client skips the bad ones
when it reads (``ailoop.store.shared``).

From version 5 ``pattern_daily`` counts the verdicts of ``reviewed`` events about a snippet
as the local statistics do (``ailoop.verdict``: changes requested or closed reject the
snippet's keys, approved or merged accept them).

From version 6 an event from an agent session carries its ``context`` (the rule
experiment, ``ailoop.patterns.experiment``) in three columns: ``context_session`` (the
agent's session id), ``context_shown`` and ``context_withheld`` (the rule keys that
session's learned context showed and withheld); all three NULL for other events. Events
also carry the ``model`` that wrote a snippet when its tool said, and ``source`` may be
``trace`` (imported from an Agent Trace record).

From version 7 the team's numbers (``ailoop.analytics.team``) come from a second rollup,
kept like ``pattern_daily`` by a statement trigger (``ailoop.count_events``) and filled from
the rows already stored by the migration: ``event_daily`` counts the events and sums their
``lines`` per UTC day, repository, tool, model, language, user, kind, review outcome and
``pr_level`` (a ``reviewed`` event that matched no snippet), a NULL ``model`` or
``outcome`` counted as ``''``; ``modified_days`` holds each (repository, snippet, UTC day)
with a ``modified`` event, for the distinct modified snippets of a range. Only events with
a sane ``ts`` (finite, from 1970 on, at most a day ahead of the store's clock) are counted.
A new event's key columns (repo, tool, language, user, model) must fit in one index entry
of the rollup: at most 2,000 bytes together (``events_names_indexable``; the
:data:`LIMITS` allow 1,698 characters, so only long names in multi-byte characters reach
it); older rows beyond it are left out of the rollup. The roles that may read ``events``
may read both tables.
"""

from __future__ import annotations

#: The PostgreSQL schema (namespace) that holds ailoop's tables.
SCHEMA = "ailoop"

#: How old an event the store takes (days before the store's clock). Older local events
#: stay on the machine that recorded them. A year and a month: a year of history for the
#: statistics and a laptop that was offline for weeks still syncs.
RETENTION_DAYS = 400
#: How far ahead of the store's clock an event may be dated (clock skew; days).
FUTURE_LIMIT_DAYS = 1

#: The longest value, in characters, each bounded column takes (version 3 on).
LIMITS = {
    "id": 64,
    "tool": 64,
    "language": 64,
    "user": 320,
    "repo": 1000,
    "path": 4096,
    "reason": 4000,
    "pattern": 200,
    "text": 1_048_576,
    "findings": 500,  # keys per event
    "lines": 10_000_000,  # the largest line count
    "reviewer": 320,
    "pr": 1000,
    "line_hashes": 5000,  # hashes per event (ailoop.capture.identity.MAX_INDEXED_LINES)
    "context_session": 200,  # ailoop.store.events.CONTEXT_SESSION_LIMIT
    "context_keys": 100,  # keys per list (ailoop.store.events.CONTEXT_KEYS_LIMIT)
    "model": 250,  # ailoop.store.events.MODEL_LIMIT
}

#: What a pattern key looks like, as ``ailoop.patterns.model.KEY`` (a test keeps them equal).
KEY_SQL = "^[a-z0-9_-]{1,32}:[A-Za-z0-9_.:/@-]{1,100}$"
#: What an event id looks like (a UUID, or another short token).
ID_SQL = "^[A-Za-z0-9][A-Za-z0-9._:-]{0,63}$"
#: What a snippet id looks like: ``sha256:`` and 64 lower-case hex digits.
SNIPPET_SQL = "^sha256:[0-9a-f]{64}$"
#: Characters no one-line value may contain: C0 and C1 controls (tab and line breaks too),
#: and the format characters that reorder or hide text (as ``ailoop.text`` removes them).
HIDDEN_SQL = r"\u061c\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff"
LINE_CONTROLS_SQL = rf"[\x01-\x1f\x7f-\x9f{HIDDEN_SQL}]"
#: The same for free text (``reason``): tab and line breaks are allowed there.
TEXT_CONTROLS_SQL = rf"[\x01-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{HIDDEN_SQL}]"

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
    # 3: the store checks what it is given. CHECK constraints bound every text column and
    # give keys, ids and kinds their shape (evaluated by the server itself, with what they
    # call resolved when they were made, so no search_path can change them; NOT VALID:
    # rows stored before are not checked again, the readers skip the bad ones). A small row
    # trigger (run as the inserting role, with a fixed search_path) refuses an event whose
    # time is not finite or outside [now - 400 days, now + 1 day], and sets received_at and
    # received_by (session_user: the login role, which SET ROLE does not change) whatever
    # the client sent. Only the table's owner or a superuser can drop or disable either.
    # A refused row fails its statement with check_violation; the client then sets that
    # one event aside and sends the rest.
    r"""
    ALTER TABLE ailoop.events ADD COLUMN received_by text;
    -- Whether ``keys`` is ``n`` pattern keys (ailoop.patterns.model.KEY: a source of 1-32 of
    -- [a-z0-9_-], a colon, 1-100 of [A-Za-z0-9_.:/@-]) joined by single spaces. Written with
    -- unbounded patterns and negative checks, which PostgreSQL's regex engine runs some ten
    -- times faster than the bounded {1,100}: the shape; n - 1 spaces (no key holds one); no
    -- source of 33 characters; no colon followed by 101 characters without a space. A
    -- SQL-standard body: resolved when it is created, so no caller's search_path changes
    -- what it calls, and still inlined into the checks.
    CREATE FUNCTION ailoop.are_keys(keys text, n integer) RETURNS boolean
    LANGUAGE sql IMMUTABLE
    RETURN keys ~ '^[a-z0-9_-]+:[A-Za-z0-9_.:/@-]+( [a-z0-9_-]+:[A-Za-z0-9_.:/@-]+)*$'
        AND length(keys) - length(replace(keys, ' ', '')) = n - 1
        AND keys !~ '(^| )[a-z0-9_-]{33}'
        AND (length(keys) <= 101 OR keys !~ ':[^ ]{101}');
    ALTER TABLE ailoop.events
        ADD CONSTRAINT events_id_shape
            CHECK (length(id) <= 64 AND id ~ '^[A-Za-z0-9][A-Za-z0-9._:-]*$') NOT VALID,
        ADD CONSTRAINT events_kind_known CHECK (kind IN
            ('generated', 'modified', 'accepted', 'rejected', 'reverted', 'kept', 'reviewed'))
            NOT VALID,
        ADD CONSTRAINT events_source_known
            CHECK (source IN ('heuristic', 'client', 'hook')) NOT VALID,
        ADD CONSTRAINT events_snippet_shape
            CHECK (length(snippet) = 71 AND snippet ~ '^sha256:[0-9a-f]+$') NOT VALID,
        ADD CONSTRAINT events_tool_plain CHECK (length(tool) BETWEEN 1 AND 64
            AND tool !~ '[\x01-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]')
            NOT VALID,
        ADD CONSTRAINT events_user_plain CHECK (length("user") <= 320
            AND "user" !~ '[\x01-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]')
            NOT VALID,
        ADD CONSTRAINT events_repo_plain CHECK (length(repo) <= 1000
            AND repo !~ '[\x01-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]')
            NOT VALID,
        ADD CONSTRAINT events_path_plain CHECK (length(path) <= 4096
            AND path !~ '[\x01-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]')
            NOT VALID,
        ADD CONSTRAINT events_language_plain CHECK (length(language) <= 64
            AND language !~ '[\x01-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]')
            NOT VALID,
        ADD CONSTRAINT events_lines_range CHECK (lines BETWEEN 0 AND 10000000) NOT VALID,
        ADD CONSTRAINT events_findings_keys CHECK (CASE
            WHEN coalesce(array_ndims(findings), 1) <> 1 OR cardinality(findings) > 500 THEN false
            WHEN cardinality(findings) = 0 THEN true
            WHEN array_position(findings, NULL) IS NOT NULL THEN false
            ELSE ailoop.are_keys(array_to_string(findings, ' '), cardinality(findings))
            END) NOT VALID,
        ADD CONSTRAINT events_pattern_key CHECK (pattern IS NULL OR btrim(pattern) = ''
            OR (length(pattern) <= 200 AND ailoop.are_keys(CASE
                WHEN strpos(pattern, ':') > 0 THEN btrim(pattern)
                ELSE 'pattern:' || btrim(pattern) END, 1)))
            NOT VALID,
        ADD CONSTRAINT events_reason_plain CHECK (reason IS NULL OR (length(reason) <= 4000
            AND reason !~ '[\x01-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]'))
            NOT VALID,
        ADD CONSTRAINT events_text_bounded
            CHECK (text IS NULL OR length(text) <= 1048576) NOT VALID,
        ADD CONSTRAINT events_similarity_range
            CHECK (similarity IS NULL OR (similarity >= 0 AND similarity <= 1)) NOT VALID;
    CREATE FUNCTION ailoop.check_event() RETURNS trigger
    LANGUAGE plpgsql SET search_path = pg_catalog, pg_temp AS $$
    BEGIN
        IF NEW.ts IS NULL OR NOT isfinite(NEW.ts) THEN
            RAISE EXCEPTION 'ailoop.events refuses event %: ts is not a finite time',
                left(NEW.id, 64) USING ERRCODE = 'check_violation';
        ELSIF NEW.ts < now() - interval '400 days' THEN
            RAISE EXCEPTION 'ailoop.events refuses event %: ts is more than 400 days before '
                'the store''s clock', left(NEW.id, 64) USING ERRCODE = 'check_violation';
        ELSIF NEW.ts > now() + interval '1 day' THEN
            RAISE EXCEPTION 'ailoop.events refuses event %: ts is more than 1 day after the '
                'store''s clock', left(NEW.id, 64) USING ERRCODE = 'check_violation';
        END IF;
        NEW.received_at := now();
        NEW.received_by := session_user;
        RETURN NEW;
    END
    $$;
    REVOKE ALL ON FUNCTION ailoop.check_event() FROM PUBLIC;
    CREATE TRIGGER events_check BEFORE INSERT ON ailoop.events
        FOR EACH ROW EXECUTE FUNCTION ailoop.check_event();
    """,
    # 4: code review (docs/review.md). ``reviewed`` events carry ``outcome``, ``reviewer``
    # (hashed like ``user`` when the team hashes users) and ``pr``, with ``source = 'review'``;
    # one that matched no snippet is kept at PR level with ``snippet = ''``. ``generated``
    # events carry ``line_hashes``: 16 hex digits of SHA-256 per non-trivial normalized line
    # of the snippet (never the code), so a CI job with an empty local store matches review
    # comments against the team's snippets (GIN index). The old source and snippet checks
    # are replaced by wider ones; NOT VALID as in version 3.
    r"""
    ALTER TABLE ailoop.events
        ADD COLUMN outcome text,
        ADD COLUMN reviewer text,
        ADD COLUMN pr text,
        ADD COLUMN line_hashes text[];
    ALTER TABLE ailoop.events
        DROP CONSTRAINT events_source_known,
        DROP CONSTRAINT events_snippet_shape;
    ALTER TABLE ailoop.events
        ADD CONSTRAINT events_source_known
            CHECK (source IN ('heuristic', 'client', 'hook', 'review')) NOT VALID,
        ADD CONSTRAINT events_snippet_shape CHECK (
            (length(snippet) = 71 AND snippet ~ '^sha256:[0-9a-f]+$')
            OR (snippet = '' AND kind = 'reviewed')) NOT VALID,
        ADD CONSTRAINT events_outcome_known CHECK (
            CASE WHEN kind = 'reviewed' THEN coalesce(outcome IN ('approved',
                'changes_requested', 'commented', 'merged', 'closed', 'reverted'), false)
            ELSE outcome IS NULL END) NOT VALID,
        ADD CONSTRAINT events_reviewer_plain CHECK (reviewer IS NULL OR (length(reviewer) <= 320
            AND reviewer !~ '[\x01-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]'))
            NOT VALID,
        ADD CONSTRAINT events_pr_plain CHECK (pr IS NULL OR (length(pr) <= 1000
            AND pr !~ '[\x01-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]'))
            NOT VALID,
        ADD CONSTRAINT events_line_hashes_shape CHECK (line_hashes IS NULL OR CASE
            WHEN coalesce(array_ndims(line_hashes), 1) <> 1 OR cardinality(line_hashes) > 5000
                THEN false
            WHEN cardinality(line_hashes) = 0 THEN true
            WHEN array_position(line_hashes, NULL) IS NOT NULL THEN false
            ELSE length(array_to_string(line_hashes, '')) = 16 * cardinality(line_hashes)
                AND array_to_string(line_hashes, ' ') ~ '^[0-9a-f]{16}( [0-9a-f]{16})*$'
            END) NOT VALID;
    CREATE INDEX events_line_hashes ON ailoop.events USING gin (line_hashes)
        WHERE line_hashes IS NOT NULL;
    CREATE INDEX events_pr ON ailoop.events (pr) WHERE pr IS NOT NULL;
    """,
    # 5: review verdicts count in the team statistics as in the local ones
    # (``ailoop.patterns.stats.outcome_rows``): a ``reviewed`` event about a snippet
    # (``snippet <> ''``) is a rejection of its keys when changes were requested or the PR
    # was closed, an acceptance when it was approved or merged; other outcomes and PR-level
    # events count only in ``total``, as before. ``ailoop.verdict`` says which, for the
    # rollup trigger (replaced, same owner, privileges and attributes) and for the backfill:
    # reviewed rows already stored are in ``total`` but in neither count, so their
    # verdicts are added to the (rule, day) rows they were counted in. Inserts wait for the
    # migration (SHARE lock), so every row is counted once: by the backfill or by the new
    # trigger.
    """
    LOCK TABLE ailoop.events IN SHARE MODE;
    -- 'rejected', 'accepted' or NULL (not an outcome of the pattern statistics)
    CREATE FUNCTION ailoop.verdict(kind text, snippet text, outcome text) RETURNS text
    LANGUAGE sql IMMUTABLE
    RETURN CASE
        WHEN kind = 'rejected' THEN 'rejected'
        WHEN kind IN ('accepted', 'kept') THEN 'accepted'
        WHEN kind <> 'reviewed' OR snippet = '' THEN NULL
        WHEN outcome IN ('changes_requested', 'closed') THEN 'rejected'
        WHEN outcome IN ('approved', 'merged') THEN 'accepted'
        END;
    CREATE OR REPLACE FUNCTION ailoop.count_patterns() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    BEGIN
        INSERT INTO ailoop.pattern_daily AS d (rule, day, rejected, accepted, total, last_seen)
        SELECT r.rule, (n.ts AT TIME ZONE 'UTC')::date,
               count(*) FILTER (WHERE ailoop.verdict(n.kind, n.snippet, n.outcome) = 'rejected'),
               count(*) FILTER (WHERE ailoop.verdict(n.kind, n.snippet, n.outcome) = 'accepted'),
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
    -- a (rule, day) row missing (an owner deleted it) is made with these events as its total
    INSERT INTO ailoop.pattern_daily AS d (rule, day, rejected, accepted, total, last_seen)
    SELECT r.rule, (e.ts AT TIME ZONE 'UTC')::date,
           count(*) FILTER (WHERE v.verdict = 'rejected'),
           count(*) FILTER (WHERE v.verdict = 'accepted'),
           count(*), max(e.ts)
    FROM ailoop.events AS e
    CROSS JOIN LATERAL (SELECT ailoop.verdict(e.kind, e.snippet, e.outcome)) AS v(verdict)
    CROSS JOIN LATERAL (
        SELECT DISTINCT u.rule FROM unnest(e.findings || ailoop.pattern_key(e.pattern)
                                          || ''::text) AS u(rule)
        WHERE u.rule IS NOT NULL
    ) AS r
    WHERE e.kind = 'reviewed' AND v.verdict IS NOT NULL
    GROUP BY 1, 2
    ORDER BY 1, 2
    ON CONFLICT (rule, day) DO UPDATE SET
        rejected = d.rejected + excluded.rejected,
        accepted = d.accepted + excluded.accepted,
        last_seen = greatest(d.last_seen, excluded.last_seen);
    """,
    # 6: the rule experiment (docs/patterns.md). An event from an agent session whose
    # learned context ailoop delivered carries the session id and the rule keys shown and
    # withheld (``context`` in the event's JSON); other events have all three NULL. Checked
    # like ``findings`` (pattern keys, at most 100 a list) and the one-line texts; NOT VALID
    # as in version 3 (no stored row has them). GIN indexes serve "sessions that had rule K".
    # ``model`` (up to 250 characters, one line) is the model that wrote the snippet, and
    # ``source`` may be ``trace``: imported from an Agent Trace record (docs/agent-trace.md).
    r"""
    ALTER TABLE ailoop.events
        ADD COLUMN context_session text,
        ADD COLUMN context_shown text[],
        ADD COLUMN context_withheld text[],
        ADD COLUMN model text;
    ALTER TABLE ailoop.events DROP CONSTRAINT events_source_known;
    ALTER TABLE ailoop.events
        ADD CONSTRAINT events_source_known
            CHECK (source IN ('heuristic', 'client', 'hook', 'review', 'trace')) NOT VALID,
        ADD CONSTRAINT events_model_plain CHECK (model IS NULL OR (length(model) <= 250
            AND model !~ '[--؜​-‏‪-‮⁠⁦-⁩﻿]'))
            NOT VALID,
        ADD CONSTRAINT events_context_whole CHECK (
            (context_session IS NULL AND context_shown IS NULL AND context_withheld IS NULL)
            OR (context_session IS NOT NULL AND context_shown IS NOT NULL
                AND context_withheld IS NOT NULL)) NOT VALID,
        ADD CONSTRAINT events_context_session_plain CHECK (context_session IS NULL
            OR (length(context_session) BETWEEN 1 AND 200
                AND context_session !~ '[\x01-\x1f\x7f-\x9f\u061c\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff]'))
            NOT VALID,
        ADD CONSTRAINT events_context_shown_keys CHECK (context_shown IS NULL OR CASE
            WHEN coalesce(array_ndims(context_shown), 1) <> 1 OR cardinality(context_shown) > 100
                THEN false
            WHEN cardinality(context_shown) = 0 THEN true
            WHEN array_position(context_shown, NULL) IS NOT NULL THEN false
            ELSE ailoop.are_keys(array_to_string(context_shown, ' '), cardinality(context_shown))
            END) NOT VALID,
        ADD CONSTRAINT events_context_withheld_keys CHECK (context_withheld IS NULL OR CASE
            WHEN coalesce(array_ndims(context_withheld), 1) <> 1
                OR cardinality(context_withheld) > 100 THEN false
            WHEN cardinality(context_withheld) = 0 THEN true
            WHEN array_position(context_withheld, NULL) IS NOT NULL THEN false
            ELSE ailoop.are_keys(array_to_string(context_withheld, ' '),
                                 cardinality(context_withheld))
            END) NOT VALID;
    CREATE INDEX events_context_shown ON ailoop.events USING gin (context_shown)
        WHERE context_shown IS NOT NULL;
    CREATE INDEX events_context_withheld ON ailoop.events USING gin (context_withheld)
        WHERE context_withheld IS NOT NULL;
    """,
    # 7: per-day event counts for ``ailoop stats --team`` and ``ailoop report --team``
    # (``ailoop.analytics.team``), kept like ``pattern_daily`` by a statement trigger from
    # the rows really inserted (``ON CONFLICT DO NOTHING`` skips are not in the transition
    # table), so the team's numbers read the rollup instead of every event. ``event_daily``:
    # events and their lines per UTC day and (repo, tool, model, language, user, kind,
    # outcome, pr_level), NULL model and outcome as ''; ``modified_days``: which snippets
    # were modified on which day and in which repo, for the distinct modified snippets of a
    # range. Only rows with a sane ``ts`` (finite, from 1970 on, at most a day ahead) are
    # counted. The key columns of a row must fit in one index entry (at most 2,000 bytes
    # together; a CHECK on new rows, NOT VALID as in version 3; the backfill leaves out
    # the older rows that do not fit). The ALTER TABLE holds an ACCESS EXCLUSIVE lock on
    # events until the migration commits, so pushes wait and every row is counted once,
    # by the backfill or by the trigger. The roles that may read the events get SELECT on
    # both tables (what ``ailoop store role-sql`` made before gets it too).
    """
    ALTER TABLE ailoop.events
        ADD CONSTRAINT events_names_indexable CHECK (octet_length(repo) + octet_length(tool)
            + octet_length(language) + octet_length("user")
            + coalesce(octet_length(model), 0) <= 2000) NOT VALID;
    CREATE TABLE ailoop.event_daily (
        day      date    NOT NULL,
        repo     text    NOT NULL,
        tool     text    NOT NULL,
        model    text    NOT NULL,
        language text    NOT NULL,
        "user"   text    NOT NULL,
        kind     text    NOT NULL,
        outcome  text    NOT NULL,
        pr_level boolean NOT NULL,
        n        bigint  NOT NULL,
        lines    bigint  NOT NULL,
        PRIMARY KEY (day, repo, tool, model, language, "user", kind, outcome, pr_level)
    );
    CREATE TABLE ailoop.modified_days (
        repo    text NOT NULL,
        snippet text NOT NULL,
        day     date NOT NULL,
        PRIMARY KEY (repo, snippet, day)
    );
    -- rows are upserted in key order, so concurrent pushes lock them in one order
    CREATE FUNCTION ailoop.count_events() RETURNS trigger
    LANGUAGE plpgsql SECURITY DEFINER SET search_path = pg_catalog, pg_temp AS $$
    BEGIN
        INSERT INTO ailoop.event_daily AS d
            (day, repo, tool, model, language, "user", kind, outcome, pr_level, n, lines)
        SELECT (e.ts AT TIME ZONE 'UTC')::date, e.repo, e.tool, coalesce(e.model, ''),
               e.language, e."user", e.kind, coalesce(e.outcome, ''),
               e.kind = 'reviewed' AND e.snippet = '', count(*), coalesce(sum(e.lines), 0)
        FROM new_events AS e
        WHERE e.ts BETWEEN TIMESTAMPTZ '1970-01-01 00:00:00+00' AND now() + interval '1 day'
        GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9
        ORDER BY 1, 2, 3, 4, 5, 6, 7, 8, 9
        ON CONFLICT (day, repo, tool, model, language, "user", kind, outcome, pr_level)
        DO UPDATE SET n = d.n + excluded.n, lines = d.lines + excluded.lines;
        INSERT INTO ailoop.modified_days (repo, snippet, day)
        SELECT e.repo, e.snippet, (e.ts AT TIME ZONE 'UTC')::date
        FROM new_events AS e
        WHERE e.kind = 'modified'
          AND e.ts BETWEEN TIMESTAMPTZ '1970-01-01 00:00:00+00' AND now() + interval '1 day'
        GROUP BY 1, 2, 3
        ORDER BY 1, 2, 3
        ON CONFLICT DO NOTHING;
        RETURN NULL;
    END
    $$;
    REVOKE ALL ON FUNCTION ailoop.count_events() FROM PUBLIC;
    CREATE TRIGGER events_count_events AFTER INSERT ON ailoop.events
        REFERENCING NEW TABLE AS new_events
        FOR EACH STATEMENT EXECUTE FUNCTION ailoop.count_events();
    SET LOCAL work_mem = '64MB';
    INSERT INTO ailoop.event_daily
        (day, repo, tool, model, language, "user", kind, outcome, pr_level, n, lines)
    SELECT (e.ts AT TIME ZONE 'UTC')::date, e.repo, e.tool, coalesce(e.model, ''),
           e.language, e."user", e.kind, coalesce(e.outcome, ''),
           e.kind = 'reviewed' AND e.snippet = '', count(*), coalesce(sum(e.lines), 0)
    FROM ailoop.events AS e
    WHERE e.ts BETWEEN TIMESTAMPTZ '1970-01-01 00:00:00+00' AND now() + interval '1 day'
      AND octet_length(e.repo) + octet_length(e.tool) + octet_length(e.language)
          + octet_length(e."user") + coalesce(octet_length(e.model), 0) <= 2000
    GROUP BY 1, 2, 3, 4, 5, 6, 7, 8, 9;
    INSERT INTO ailoop.modified_days (repo, snippet, day)
    SELECT DISTINCT e.repo, e.snippet, (e.ts AT TIME ZONE 'UTC')::date
    FROM ailoop.events AS e
    WHERE e.kind = 'modified'
      AND e.ts BETWEEN TIMESTAMPTZ '1970-01-01 00:00:00+00' AND now() + interval '1 day'
      AND octet_length(e.repo) + octet_length(e.snippet) <= 2000;
    -- whoever may read the events may read their counts (PUBLIC included)
    DO $$
    DECLARE
        reader text;
    BEGIN
        FOR reader IN
            SELECT DISTINCT CASE WHEN a.grantee = 0 THEN 'PUBLIC'
                                 ELSE quote_ident(pg_get_userbyid(a.grantee)) END
            FROM pg_class AS c CROSS JOIN LATERAL aclexplode(c.relacl) AS a
            WHERE c.oid = 'ailoop.events'::regclass AND a.privilege_type = 'SELECT'
              AND a.grantee <> c.relowner
        LOOP
            EXECUTE 'GRANT SELECT ON ailoop.event_daily, ailoop.modified_days TO ' || reader;
        END LOOP;
    END
    $$;
    """,
)

#: The schema version this ailoop writes and reads.
CURRENT_VERSION = len(MIGRATIONS)
