"""The shared team store on PostgreSQL (psycopg 3, the optional extra ``ailoop[postgres]``).

What lives here: connecting (with timeouts, the schema check and error messages that never
contain the password), the schema migrations runner, the idempotent batched push, the team
pattern-statistics query and the team event reader. The background loop that drives the
push and pull is ``ailoop.store.sync``.

The connection string is a libpq URL or key/value string (``AILOOP_STORE_URL`` or the
config). The password should come from ``PGPASSWORD`` or ``~/.pgpass``, which libpq reads
itself; TLS settings (``sslmode``, ``sslrootcert``, …) in the URL go straight to libpq.
psycopg is imported lazily, so solo users and ``ailoop serve`` start-up never pay for it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import hashlib
import hmac
import os
import re
import urllib.parse
from collections.abc import Iterator, Sequence
from typing import TYPE_CHECKING, Any

from ailoop.store.events import Event
from ailoop.store.pg_migrations import CURRENT_VERSION, MIGRATIONS, SCHEMA

if TYPE_CHECKING:
    import psycopg

#: What a user sees when psycopg is not installed.
INSTALL_HINT = "the shared store needs psycopg: pip install 'ailoop[postgres]'"

#: Key for the advisory lock that serialises concurrent ``ailoop store init`` runs.
_MIGRATION_LOCK = 0x61696C6F6F70  # "ailoop"

_REDACTED = "***"


class SharedStoreError(Exception):
    """The shared store cannot be used right now; the message is safe to show and log.

    ``retryable`` is true when waiting may fix it (server down, network, timeout), false
    when a person has to act (wrong password, schema mismatch, missing psycopg).
    """

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.retryable = retryable


# --------------------------------------------------------------------------- secrets


def _secrets_in(url: str) -> list[str]:
    """Return the password values written in ``url`` (raw and percent-decoded) and PGPASSWORD."""
    found: list[str] = []
    for match in re.finditer(r"://[^/@?#]*?:([^@/?#]*)@", url):
        found.append(match.group(1))
    for match in re.finditer(r"password\s*=\s*('(?:[^'\\]|\\.)*'|[^\s&]+)", url, re.IGNORECASE):
        value = match.group(1)
        found.append(value)
        if value.startswith("'") and value.endswith("'") and len(value) >= 2:
            found.append(value[1:-1].replace("\\'", "'").replace("\\\\", "\\"))
    if env := os.environ.get("PGPASSWORD"):
        found.append(env)
    decoded = [urllib.parse.unquote(s) for s in found]
    return sorted({s for s in found + decoded if s}, key=len, reverse=True)


def redact(text: str, url: str = "") -> str:
    """Remove every password from ``text``.

    That is: the passwords written in ``url``, ``PGPASSWORD``, and any URL or ``password=``
    pair that ``text`` itself contains. Used on every message, log line and error that may
    mention the connection.
    """
    text = re.sub(r"(://[^/@?#\s:]*):[^@/?#\s]*@", rf"\1:{_REDACTED}@", text)
    text = re.sub(
        r"(password\s*=\s*)('(?:[^'\\]|\\.)*'|[^\s&\"]+)",
        rf"\1{_REDACTED}",
        text,
        flags=re.IGNORECASE,
    )
    for secret in _secrets_in(url):
        if len(secret) >= 4:
            text = text.replace(secret, _REDACTED)
        else:  # too short to replace everywhere without mangling the message
            text = text.replace(f'"{secret}"', f'"{_REDACTED}"')
    return text


def describe_target(url: str) -> str:
    """Return ``host:port/dbname`` for messages, without user or password."""
    try:
        from psycopg.conninfo import conninfo_to_dict

        params = conninfo_to_dict(url)
    except Exception:  # noqa: BLE001 - a malformed URL is reported elsewhere
        return "the shared store"
    host = str(params.get("host") or params.get("hostaddr") or "localhost")
    port = str(params.get("port") or "5432")
    dbname = str(params.get("dbname") or params.get("user") or "")
    return f"{host}:{port}/{dbname}"


# --------------------------------------------------------------------------- errors


def import_psycopg() -> Any:
    """Import psycopg, or raise a ``SharedStoreError`` that says how to install it."""
    try:
        import psycopg
    except ImportError as exc:
        raise SharedStoreError(INSTALL_HINT, retryable=False) from exc
    return psycopg


def classify_error(exc: BaseException, url: str) -> SharedStoreError:
    """Turn a psycopg/OS/timeout error into one clear, redacted ``SharedStoreError``."""
    if isinstance(exc, SharedStoreError):
        return exc
    target = describe_target(url)
    detail = redact(" ".join(str(exc).split()), url) or type(exc).__name__
    lowered = detail.lower()
    sqlstate = getattr(exc, "sqlstate", None) or ""
    if isinstance(exc, TimeoutError) or "timeout expired" in lowered or "timed out" in lowered:
        return SharedStoreError(
            f"shared store {target} did not answer in time; events wait locally "
            f"and are retried ({detail or 'timeout'})",
            retryable=True,
        )
    if (
        "password authentication failed" in lowered
        or sqlstate == "28P01"
        or ("no password supplied" in lowered)
    ):
        return SharedStoreError(
            f"shared store {target}: authentication failed; check the user and the password "
            "in PGPASSWORD or ~/.pgpass (events wait locally)",
            retryable=False,
        )
    if sqlstate.startswith("28") or "pg_hba.conf" in lowered:
        return SharedStoreError(
            f"shared store {target} refused the connection: {detail}", retryable=False
        )
    if "resolve host" in lowered or "translate host name" in lowered:
        return SharedStoreError(
            f"shared store {target}: unknown host, check the URL or the network; "
            "events wait locally and are retried",
            retryable=True,
        )
    if sqlstate == "42501":
        return SharedStoreError(
            f"shared store {target}: permission denied; the role needs SELECT and INSERT on "
            f"{SCHEMA}.events (see `ailoop store role-sql`): {detail}",
            retryable=False,
        )
    if sqlstate == "3D000" or re.search(r'database ".*" does not exist', detail):
        return SharedStoreError(f"shared store {target}: {detail}", retryable=False)
    if _is_programming_error(exc):
        return SharedStoreError(f"shared store URL is not valid: {detail}", retryable=False)
    return SharedStoreError(
        f"shared store {target} is unavailable; events wait locally and are retried ({detail})",
        retryable=True,
    )


def _is_programming_error(exc: BaseException) -> bool:
    try:
        import psycopg
    except ImportError:
        return False
    return isinstance(exc, psycopg.ProgrammingError) and not isinstance(
        exc, psycopg.errors.InsufficientPrivilege
    )


# --------------------------------------------------------------------------- connecting


@dataclasses.dataclass(frozen=True)
class Timeouts:
    """Limits on waiting for the store; a frozen server must never hold the sync forever."""

    connect: float = 5.0
    statement: float = 15.0


def connect_kwargs(timeouts: Timeouts) -> dict[str, Any]:
    """Return the libpq parameters added to the URL: timeouts, keepalives and a name."""
    return {
        "connect_timeout": max(2, round(timeouts.connect)),
        "application_name": "ailoop",
        "options": f"-c statement_timeout={int(timeouts.statement * 1000)}",
        "keepalives": 1,
        "keepalives_idle": 30,
        "keepalives_interval": 10,
        "keepalives_count": 3,
    }


def schema_problem(version: int | None) -> str | None:
    """Return why a store with schema ``version`` cannot be used, or None if it can."""
    if version is None:
        return "has no ailoop schema yet; run `ailoop store init` with an owner role"
    if version > CURRENT_VERSION:
        return (
            f"has a newer schema (version {version}; this ailoop knows {CURRENT_VERSION}); "
            "upgrade ailoop on this machine. Events wait locally"
        )
    if version < CURRENT_VERSION:
        return (
            f"has an older schema (version {version}; this ailoop needs {CURRENT_VERSION}); "
            "run `ailoop store init` with an owner role"
        )
    return None


_HAS_SCHEMA_SQL = f"SELECT to_regclass('{SCHEMA}.schema_version') IS NOT NULL"
_VERSION_SQL = f"SELECT max(version) FROM {SCHEMA}.schema_version"  # noqa: S608 - constant


def _version_from(has_schema: tuple[Any, ...] | None, row: tuple[Any, ...] | None) -> int | None:
    if not has_schema or not has_schema[0] or row is None or row[0] is None:
        return None
    return int(row[0])


async def _schema_version_async(conn: psycopg.AsyncConnection[Any]) -> int | None:
    has_schema = await (await conn.execute(_HAS_SCHEMA_SQL)).fetchone()
    if not has_schema or not has_schema[0]:
        return None
    return _version_from(has_schema, await (await conn.execute(_VERSION_SQL)).fetchone())


def _schema_version(conn: psycopg.Connection[Any]) -> int | None:
    has_schema = conn.execute(_HAS_SCHEMA_SQL).fetchone()
    if not has_schema or not has_schema[0]:
        return None
    return _version_from(has_schema, conn.execute(_VERSION_SQL).fetchone())


async def connect_async(url: str, timeouts: Timeouts) -> psycopg.AsyncConnection[Any]:
    """Open an autocommit connection and check its schema; errors are ``SharedStoreError``."""
    import asyncio

    pg = import_psycopg()
    try:
        conn: psycopg.AsyncConnection[Any] = await asyncio.wait_for(
            pg.AsyncConnection.connect(url, autocommit=True, **connect_kwargs(timeouts)),
            timeouts.connect + 1.0,
        )
    except Exception as exc:  # noqa: BLE001 - every failure becomes one clear message
        raise classify_error(exc, url) from None
    try:
        version = await asyncio.wait_for(_schema_version_async(conn), timeouts.statement)
    except Exception as exc:  # noqa: BLE001
        await conn.close()
        raise classify_error(exc, url) from None
    if problem := schema_problem(version):
        await conn.close()
        raise SharedStoreError(f"shared store {describe_target(url)} {problem}", retryable=False)
    return conn


def connect(url: str, timeouts: Timeouts, *, check_schema: bool = True) -> psycopg.Connection[Any]:
    """Open a blocking connection (for commands, not the server); checks the schema."""
    pg = import_psycopg()
    try:
        conn: psycopg.Connection[Any] = pg.Connection.connect(
            url, autocommit=True, **connect_kwargs(timeouts)
        )
        version = _schema_version(conn)
    except Exception as exc:  # noqa: BLE001
        raise classify_error(exc, url) from None
    if check_schema and (problem := schema_problem(version)):
        conn.close()
        raise SharedStoreError(f"shared store {describe_target(url)} {problem}", retryable=False)
    return conn


@contextlib.contextmanager
def connected(
    url: str, timeouts: Timeouts, *, check_schema: bool = True
) -> Iterator[psycopg.Connection[Any]]:
    """Open a blocking connection for one piece of work, and close it after.

    Any error in the block becomes one clear, redacted ``SharedStoreError``.
    """
    conn = connect(url, timeouts, check_schema=check_schema)
    try:
        yield conn
    except Exception as exc:  # noqa: BLE001 - one clear, redacted message
        raise classify_error(exc, url) from None
    finally:
        conn.close()


def apply_migrations(url: str, timeouts: Timeouts = Timeouts()) -> tuple[int, int]:
    """Bring the store's schema to the current version; return (before, after).

    Needs a role that may create schemas and tables. Safe to run concurrently (an advisory
    lock serialises runs) and again (nothing to do). Refuses a newer schema.
    """
    with connected(url, timeouts, check_schema=False) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_MIGRATION_LOCK,))
        before = _schema_version(conn) or 0
        if before > CURRENT_VERSION:
            raise SharedStoreError(
                f"shared store {describe_target(url)} {schema_problem(before)}",
                retryable=False,
            )
        for number in range(before + 1, CURRENT_VERSION + 1):
            conn.execute(MIGRATIONS[number - 1].encode())
            conn.execute(
                f"INSERT INTO {SCHEMA}.schema_version (version) VALUES (%s)",  # noqa: S608
                (number,),
            )
    return before, CURRENT_VERSION


def role_sql(role: str, database: str) -> str:
    """Return SQL that creates a least-privilege role: read and insert events, nothing else."""
    ident = re.compile(r"^[A-Za-z_][A-Za-z0-9_]*$")
    for name in (role, database):
        if not ident.match(name):
            raise ValueError(f"not a plain SQL identifier: {name!r}")
    return f"""\
-- A role for ailoop clients: it can add events and read them, never change or delete them.
-- Run as the owner of the ailoop schema, after `ailoop store init`.
-- Set its password afterwards with \\password {role} (psql), then give each developer
-- the URL without the password and the password in ~/.pgpass.
CREATE ROLE {role} LOGIN;
GRANT CONNECT, TEMPORARY ON DATABASE {database} TO {role};
GRANT USAGE ON SCHEMA {SCHEMA} TO {role};
GRANT SELECT ON {SCHEMA}.schema_version, {SCHEMA}.pattern_daily TO {role};
GRANT SELECT, INSERT ON {SCHEMA}.events TO {role};
REVOKE UPDATE, DELETE, TRUNCATE ON {SCHEMA}.events FROM {role};
"""  # noqa: S608 - identifiers checked above


# --------------------------------------------------------------------------- pushing


@dataclasses.dataclass(frozen=True)
class Privacy:
    """What leaves the machine: code text only with ``share_code``; users hashed with a key."""

    share_code: bool = False
    user_hash_key: str | None = None


def hash_user(user: str, key: str) -> str:
    """Return the keyed hash that stands for ``user`` in the shared store (HMAC-SHA256)."""
    if not user:
        return ""
    digest = hmac.new(key.encode(), user.encode(), hashlib.sha256).hexdigest()
    return f"hmac:{digest[:32]}"


def parse_ts(ts: str) -> dt.datetime:
    """Parse an event timestamp (ISO 8601, ``Z`` allowed); naive times are taken as UTC."""
    value = dt.datetime.fromisoformat(ts.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


#: Columns in the order of ``shared_row``'s tuples.
PUSH_COLUMNS = (
    "id", "ts", "kind", "snippet", "tool", "source", "user", "repo", "path", "language",
    "lines", "findings", "reason", "pattern", "text", "similarity",
)  # fmt: skip


def shared_row(event: Event, privacy: Privacy) -> tuple[Any, ...]:
    """Return the row the shared store gets for ``event``, privacy applied.

    Raises ``ValueError`` when the event's timestamp cannot be read.
    """
    user = event.user
    if privacy.user_hash_key:
        user = hash_user(user, privacy.user_hash_key)
    return (
        event.id,
        parse_ts(event.ts),
        event.kind.value,
        event.snippet,
        event.tool,
        event.source.value,
        user,
        event.repo,
        event.path,
        event.language,
        event.lines,
        list(event.findings),
        event.reason,
        event.pattern,
        event.text if privacy.share_code else None,
        event.similarity,
    )


_COLUMN_LIST = ", ".join(f'"{c}"' for c in PUSH_COLUMNS)

#: Per-connection staging table: rows are copied in, then moved with one INSERT.
STAGING_SQL = (
    f"CREATE TEMP TABLE IF NOT EXISTS ailoop_staging "
    f"(LIKE {SCHEMA}.events INCLUDING DEFAULTS) ON COMMIT DELETE ROWS"
)
COPY_SQL = f"COPY ailoop_staging ({_COLUMN_LIST}) FROM STDIN"
#: Ordered by id so that concurrent pushes of overlapping batches take row locks in one
#: order, waiting for each other instead of deadlocking.
MOVE_SQL = (
    f"INSERT INTO {SCHEMA}.events ({_COLUMN_LIST}) "  # noqa: S608 - constants only
    f"SELECT {_COLUMN_LIST} FROM ailoop_staging ORDER BY id "
    "ON CONFLICT (id) DO NOTHING"
)


async def push_rows(conn: psycopg.AsyncConnection[Any], rows: Sequence[tuple[Any, ...]]) -> int:
    """Insert ``rows`` (from ``shared_row``) in one transaction; ids already there are skipped.

    The rows are streamed with COPY into a temporary staging table and moved into the
    events table with ``INSERT … ON CONFLICT (id) DO NOTHING``. When this returns, the
    transaction has committed and the rows are durable. Returns how many were new.
    """
    if not rows:
        return 0
    async with conn.transaction():
        await conn.execute(STAGING_SQL)
        async with conn.cursor().copy(COPY_SQL) as copy:
            for row in rows:
                await copy.write_row(row)
        cursor = await conn.execute(MOVE_SQL)
        return max(cursor.rowcount, 0)


# --------------------------------------------------------------------------- team statistics


@dataclasses.dataclass(frozen=True)
class PatternCounts:
    """Raw team numbers for one pattern key.

    A key is a finding like ``ruff:F401`` or ``pattern:<id>``; a picked pattern without a
    prefix is read as ``pattern:<id>``. ``accepted`` counts ``accepted`` and ``kept`` events; ``total`` counts every event that
    carries the key, of any kind; ``*_recent`` count the last ``recent_days`` UTC calendar
    days, today included (the window of ``ailoop.patterns.stats.recent_cutoff``);
    ``last_seen`` is the newest such event's time (ISO).
    """

    rule: str
    rejected: int
    accepted: int
    rejected_recent: int
    accepted_recent: int
    total: int
    last_seen: str


@dataclasses.dataclass(frozen=True)
class PatternDay:
    """Team numbers for one pattern key on one UTC day (``day``: ``YYYY-MM-DD``)."""

    rule: str
    day: str
    rejected: int
    accepted: int
    total: int


#: Per pattern key: rejections, acceptances (accepted or kept), both again for the recent
#: days (from ``%(recent_from)s``, a UTC date, on), events in all, newest event. The row
#: with rule NULL holds the same counts over all events (the baseline for lift). Read from
#: the ``pattern_daily`` rollup, so its cost does not grow with the number of events.
TEAM_PATTERN_STATS_SQL = f"""
SELECT NULLIF(rule, ''),
       sum(rejected), sum(accepted),
       coalesce(sum(rejected) FILTER (WHERE day >= %(recent_from)s), 0),
       coalesce(sum(accepted) FILTER (WHERE day >= %(recent_from)s), 0),
       sum(total), max(last_seen)
FROM {SCHEMA}.pattern_daily
GROUP BY rule
"""  # noqa: S608 - constants only

#: Every (key, day) row of the rollup; rule '' is all events.
TEAM_PATTERN_DAYS_SQL = f"SELECT rule, day, rejected, accepted, total FROM {SCHEMA}.pattern_daily"  # noqa: S608


def recent_from(now: dt.datetime, recent_days: int) -> dt.date:
    """Return the first UTC day of the last ``recent_days`` calendar days, today included."""
    moment = now if now.tzinfo else now.replace(tzinfo=dt.timezone.utc)
    return moment.astimezone(dt.timezone.utc).date() - dt.timedelta(days=recent_days - 1)


def _iso(value: dt.datetime | None) -> str:
    if value is None:
        return ""
    return (
        value.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def pattern_counts_from_rows(
    rows: Sequence[tuple[Any, ...]],
) -> tuple[list[PatternCounts], PatternCounts]:
    """Split the rows of ``TEAM_PATTERN_STATS_SQL`` into per-key counts and the baseline."""
    keys: list[PatternCounts] = []
    baseline = PatternCounts("", 0, 0, 0, 0, 0, "")
    for rule, rejected, accepted, rejected_recent, accepted_recent, total, last_seen in rows:
        counts = PatternCounts(
            rule or "",
            int(rejected),
            int(accepted),
            int(rejected_recent),
            int(accepted_recent),
            int(total),
            _iso(last_seen),
        )
        if rule is None:
            baseline = counts
        else:
            keys.append(counts)
    keys.sort(key=lambda c: c.rule)
    return keys, baseline


def pattern_days_from_rows(rows: Sequence[tuple[Any, ...]]) -> list[PatternDay]:
    """Turn the rows of ``TEAM_PATTERN_DAYS_SQL`` into ``PatternDay`` records, sorted."""
    days = [
        PatternDay(str(rule), day.isoformat(), int(rejected), int(accepted), int(total))
        for rule, day, rejected, accepted, total in rows
    ]
    days.sort(key=lambda d: (d.rule, d.day))
    return days


@dataclasses.dataclass(frozen=True)
class TeamPatternStats:
    """What the pull fetches: per-key counts, the baseline and the daily rows."""

    keys: list[PatternCounts]
    baseline: PatternCounts
    days: list[PatternDay]
    recent_days: int


async def fetch_team_pattern_stats(
    conn: psycopg.AsyncConnection[Any], recent_days: int = 7, now: dt.datetime | None = None
) -> TeamPatternStats:
    """Run the team pattern-statistics queries in one snapshot."""
    params = {"recent_from": recent_from(now or dt.datetime.now(dt.timezone.utc), recent_days)}
    async with conn.transaction():
        await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        summary = await (await conn.execute(TEAM_PATTERN_STATS_SQL, params)).fetchall()
        days = await (await conn.execute(TEAM_PATTERN_DAYS_SQL)).fetchall()
    keys, baseline = pattern_counts_from_rows(summary)
    return TeamPatternStats(keys, baseline, pattern_days_from_rows(days), recent_days)


def team_pattern_stats(
    url: str,
    recent_days: int = 7,
    timeouts: Timeouts = Timeouts(),
    now: dt.datetime | None = None,
) -> TeamPatternStats:
    """Run the team pattern-statistics queries (blocking, for commands)."""
    params = {"recent_from": recent_from(now or dt.datetime.now(dt.timezone.utc), recent_days)}
    with connected(url, timeouts) as conn, conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        summary = conn.execute(TEAM_PATTERN_STATS_SQL, params).fetchall()
        days = conn.execute(TEAM_PATTERN_DAYS_SQL).fetchall()
    keys, baseline = pattern_counts_from_rows(summary)
    return TeamPatternStats(keys, baseline, pattern_days_from_rows(days), recent_days)


#: Outcome counts of one key: [accepted recent, rejected recent, accepted older, rejected
#: older], the shape ``ailoop.patterns.stats.stats_from_counts`` takes.
Buckets = list[int]


def buckets_from_days(
    days: Sequence[PatternDay], recent_from: str
) -> tuple[dict[str, Buckets], Buckets]:
    """Sum daily rows into per-key and overall buckets; days from ``recent_from`` are recent.

    ``recent_from`` is a UTC day (``YYYY-MM-DD``), e.g. ``ailoop.patterns.stats.recent_cutoff``.
    Rule ``''`` is the overall row.
    """
    per_key: dict[str, Buckets] = {}
    overall: Buckets = [0, 0, 0, 0]
    for day in days:
        counts = overall if day.rule == "" else per_key.setdefault(day.rule, [0, 0, 0, 0])
        offset = 0 if day.day >= recent_from else 2
        counts[offset] += day.accepted
        counts[offset + 1] += day.rejected
    return per_key, overall


#: Outcome events (accepted, kept, rejected, reverted) counted by tool, language, user,
#: UTC day and kind: what ``ailoop stats`` groups, computed by the database.
TEAM_OUTCOME_COUNTS_SQL = f"""
SELECT tool, language, "user", to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD'), kind, count(*)
FROM {SCHEMA}.events
WHERE kind IN ('accepted', 'kept', 'rejected', 'reverted')
  AND (%(since)s::timestamptz IS NULL OR ts >= %(since)s::timestamptz)
  AND (%(repo)s::text IS NULL OR repo = %(repo)s::text)
GROUP BY 1, 2, 3, 4, 5
"""  # noqa: S608 - constants only


def team_outcome_counts(
    url: str,
    *,
    since: dt.datetime | None = None,
    repo: str | None = None,
    timeouts: Timeouts = Timeouts(statement=120.0),
) -> list[tuple[str, str, str, str, str, int]]:
    """Return (tool, language, user, UTC day, kind, count) over the team's outcome events.

    For ``ailoop stats --team``: one aggregate query instead of reading every event.
    """
    with connected(url, timeouts) as conn:
        rows = conn.execute(TEAM_OUTCOME_COUNTS_SQL, {"since": since, "repo": repo}).fetchall()
    return [
        (str(tool), str(language), str(user), str(day), str(kind), int(count))
        for tool, language, user, day, kind, count in rows
    ]


# --------------------------------------------------------------------------- reading events


def _event_from_shared(row: dict[str, Any]) -> Event:
    row = dict(row)
    row["ts"] = _iso(row["ts"])
    row["findings"] = list(row["findings"] or ())
    return Event.from_json(row)


def iter_team_events(
    url: str,
    *,
    since: dt.datetime | None = None,
    repo: str | None = None,
    timeouts: Timeouts = Timeouts(),
    batch_size: int = 5000,
) -> Iterator[Event]:
    """Yield the team's events from the shared store, oldest first, streaming.

    ``since`` and ``repo`` narrow the range. Raises ``SharedStoreError`` (redacted) when the
    store cannot be read. Texts are present only for teams that share code.
    """
    from psycopg.rows import dict_row

    conditions = ["TRUE"]
    params: list[Any] = []
    if since is not None:
        conditions.append("ts >= %s")
        params.append(since if since.tzinfo else since.replace(tzinfo=dt.timezone.utc))
    if repo is not None:
        conditions.append("repo = %s")
        params.append(repo)
    columns = ", ".join(f'"{c}"' for c in PUSH_COLUMNS)
    sql = (
        f"SELECT {columns} FROM {SCHEMA}.events "  # noqa: S608 - constants only
        f"WHERE {' AND '.join(conditions)} ORDER BY ts, id"
    )
    with (
        connected(url, timeouts) as conn,
        conn.transaction(),
        conn.cursor("ailoop_team_events", row_factory=dict_row) as cur,
    ):
        cur.itersize = batch_size
        cur.execute(sql.encode(), params)
        for row in cur:
            yield _event_from_shared(row)
