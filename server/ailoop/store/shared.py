"""The shared team store on PostgreSQL (psycopg 3, the optional extra ``ailoop[postgres]``).

What lives here: connecting (with timeouts, the schema check and error messages that never
contain the password), the schema migrations runner, the idempotent batched push, the team
pattern-statistics query and the team event reader. The background loop that drives the
push and pull is ``ailoop.store.sync``.

The connection string is a libpq URL or key/value string (``AILOOP_STORE_URL``, the
user's config or the editor's settings; never a repository's files). The password should
come from ``PGPASSWORD`` or ``~/.pgpass``, which libpq reads itself; TLS settings
(``sslmode``, ``sslrootcert``, …) in the URL go straight to libpq. A remote host (anything
but ``localhost``, a loopback address or a UNIX socket) is reached with
``sslmode=verify-full`` unless the URL, the user's config or ``PGSSLMODE`` say otherwise
(:func:`tls_params`), so a password never goes to a server in clear text unless the user
lowered ``sslmode``; a lowered one gives a warning, once. A store is known locally by an
id made of its user, host, port and database (:func:`store_id`), never its password.

What the store sends back is data: rows are read one at a time, and a row that is not
valid (a time that is not finite or lies in the future, a key that is not a pattern key,
control characters) is skipped and counted, never shown or used.
psycopg is imported lazily, so solo users and ``ailoop serve`` start-up never pay for it.
"""

from __future__ import annotations

import contextlib
import dataclasses
import datetime as dt
import functools
import hashlib
import hmac
import ipaddress
import logging
import os
import re
import threading
import urllib.parse
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ailoop.capture.identity import line_hashes
from ailoop.extras import install_hint
from ailoop.store.events import REVIEW_OUTCOMES, Event, Kind, Source
from ailoop.store.pg_migrations import CURRENT_VERSION, LIMITS, MIGRATIONS, SCHEMA
from ailoop.text import clean

if TYPE_CHECKING:
    import psycopg

logger = logging.getLogger(__name__)

#: The ``postgres`` extra's requirement (pyproject.toml).
PSYCOPG_REQUIREMENT = "psycopg[binary]>=3.2"

#: What a user sees when psycopg is not installed.
INSTALL_HINT = install_hint("the shared store needs psycopg", PSYCOPG_REQUIREMENT)

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


class RowsRefused(Exception):
    """The store refused the rows of one push for their data; the connection is fine.

    ``reason`` is the store's message, cleaned (safe to show). Nothing was stored.
    """

    def __init__(self, reason: str) -> None:
        super().__init__(reason)
        self.reason = reason


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


def _conninfo(url: str) -> dict[str, str]:
    """Return the parameters written in ``url`` (libpq's own parser); raises on a bad URL."""
    from psycopg.conninfo import conninfo_to_dict

    return {k: str(v) for k, v in conninfo_to_dict(url).items() if v is not None}


def describe_target(url: str) -> str:
    """Return ``host:port/dbname`` for messages, without user or password."""
    try:
        params = _conninfo(url)
    except Exception:  # noqa: BLE001 - a malformed URL is reported elsewhere
        return "the shared store"
    host = params.get("host") or params.get("hostaddr") or "localhost"
    port = params.get("port") or "5432"
    dbname = params.get("dbname") or params.get("user") or ""
    return clean(f"{host}:{port}/{dbname}", 200)


def _os_user() -> str:
    import getpass

    try:
        return getpass.getuser()
    except (OSError, KeyError):
        return ""


def store_id(url: str, environ: Mapping[str, str] | None = None) -> str:
    """Return the stable id the local store knows a shared store by.

    It is ``postgresql://user@host:port/dbname`` as libpq would connect (the URL's values,
    else ``PGUSER``, ``PGHOST``, ``PGPORT``, ``PGDATABASE`` and their defaults), with no
    password or other parameters: the same store under another password or ``sslmode``
    is the same store. A URL libpq cannot read gets an id from a hash of it, redacted.
    """
    env = os.environ if environ is None else environ
    try:
        params = _conninfo(url)
    except Exception:  # noqa: BLE001 - the URL's own error is reported when connecting
        digest = hashlib.sha256(redact(url, url).encode()).hexdigest()[:16]
        return f"invalid:{digest}"
    user = params.get("user") or env.get("PGUSER") or _os_user()
    host = (params.get("host") or params.get("hostaddr") or env.get("PGHOST") or "").lower()
    port = params.get("port") or env.get("PGPORT") or "5432"
    dbname = params.get("dbname") or env.get("PGDATABASE") or user
    quote = functools.partial(urllib.parse.quote, safe="")
    ident = f"postgresql://{quote(user)}@{quote(host)}:{quote(port)}/{quote(dbname)}"
    service = params.get("service") or env.get("PGSERVICE")
    if service and not params.get("host"):
        ident += f"?service={quote(service)}"
    return ident


# --------------------------------------------------------------------------- TLS

#: libpq's ``sslmode`` values, weakest first.
SSL_MODES = ("disable", "allow", "prefer", "require", "verify-ca", "verify-full")
#: What a remote host gets when neither the URL nor the user's config name an ``sslmode``.
REMOTE_SSLMODE = "verify-full"


@dataclasses.dataclass(frozen=True)
class Tls:
    """TLS settings from the user's config (``sslmode``, ``sslrootcert``); the URL's win."""

    sslmode: str | None = None
    sslrootcert: str | None = None


def is_local_host(host: str) -> bool:
    """Return whether ``host`` is this machine: a UNIX socket, ``localhost`` or loopback."""
    host = host.strip()
    if not host or host.startswith(("/", "@")):
        return True  # no host: libpq's default socket; '/dir' and '@name': UNIX sockets
    if host.lower() in ("localhost", "localhost."):
        return True
    try:
        return ipaddress.ip_address(host.strip("[]")).is_loopback
    except ValueError:
        return False


def _hosts(params: Mapping[str, str], environ: Mapping[str, str]) -> list[str]:
    """Every host the connection may reach: ``host`` and ``hostaddr`` lists, else PGHOST."""
    written = [params.get("host", ""), params.get("hostaddr", "")]
    if not any(written):
        written = [environ.get("PGHOST", ""), environ.get("PGHOSTADDR", "")]
    hosts = [h for value in written if value for h in value.split(",")]
    return hosts or [""]


def _default_root_cert(environ: Mapping[str, str]) -> Path:
    if os.name == "nt":  # pragma: no cover - Windows
        return Path(environ.get("APPDATA", "")) / "postgresql" / "root.crt"
    return Path.home() / ".postgresql" / "root.crt"


def _libpq_version() -> int:
    try:
        import psycopg

        return int(psycopg.pq.version())
    except Exception:  # noqa: BLE001 - an unknown libpq is taken as an old one
        return 0


def tls_params(
    url: str, tls: Tls = Tls(), environ: Mapping[str, str] | None = None
) -> tuple[dict[str, str], str | None]:
    """Return the TLS parameters to add to ``url``, and a warning if TLS was lowered.

    Precedence: the URL's ``sslmode``, then the user's config (``tls``), then
    ``PGSSLMODE``; with none of them, a remote host gets ``sslmode=verify-full`` (and
    ``sslrootcert=system``, the system's CAs, when no CA file is set or in libpq's default
    place and libpq is 16 or newer). A host on this machine keeps libpq's defaults. A
    service file (``service=``) without a host decides for itself. The warning is for an
    ``sslmode`` below ``verify-full`` towards a remote host. Raises psycopg's
    ``ProgrammingError`` when libpq cannot read the URL.
    """
    env = os.environ if environ is None else environ
    params = _conninfo(url)
    added: dict[str, str] = {}
    if tls.sslmode and "sslmode" not in params:
        added["sslmode"] = tls.sslmode
    if tls.sslrootcert and "sslrootcert" not in params:
        added["sslrootcert"] = tls.sslrootcert
    if "service" in params and "host" not in params and "hostaddr" not in params:
        return added, None
    remote = [h for h in _hosts(params, env) if not is_local_host(h)]
    if not remote:
        return added, None
    mode = params.get("sslmode") or tls.sslmode or env.get("PGSSLMODE")
    if not mode:
        added["sslmode"] = REMOTE_SSLMODE
        has_ca = (
            "sslrootcert" in params
            or tls.sslrootcert
            or env.get("PGSSLROOTCERT")
            or _default_root_cert(env).exists()
        )
        if not has_ca and _libpq_version() >= 160000:
            added["sslrootcert"] = "system"
        return added, None
    if mode == REMOTE_SSLMODE:
        return added, None
    host = clean(remote[0], 120)
    if mode in ("disable", "allow", "prefer"):
        risk = "the connection may not be encrypted, and a password may go in clear text"
    else:
        risk = "it is encrypted, but who answers is not checked, so a password can be intercepted"
    warning = (
        f"shared store {describe_target(url)}: sslmode={clean(mode, 20)} for the remote host "
        f"{host}: {risk}; use sslmode=verify-full with the team's CA (sslrootcert)"
    )
    return added, warning


_warned: set[tuple[str, str]] = set()
_warned_lock = threading.Lock()


def tls_warning_once(url: str, tls: Tls = Tls()) -> str | None:
    """Return the warning of :func:`tls_params` the first time this process asks, else None."""
    try:
        _, warning = tls_params(url, tls)
    except Exception:  # noqa: BLE001 - the URL's error is reported when connecting
        return None
    if warning is None:
        return None
    key = (store_id(url), warning)
    with _warned_lock:
        if key in _warned:
            return None
        _warned.add(key)
    return warning


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
    if "server does not support ssl" in lowered:
        return SharedStoreError(
            f"shared store {target} does not offer SSL/TLS, which its sslmode requires (a "
            "remote host gets sslmode=verify-full unless you set sslmode yourself); nothing "
            "was sent. Events wait locally",
            retryable=False,
        )
    if "root certificate" in lowered or "certificate verify failed" in lowered:
        return SharedStoreError(
            f"shared store {target}: its TLS certificate cannot be checked ({detail}); set "
            "sslrootcert to the team's CA certificate in the store's settings, or "
            "sslrootcert=system for a public CA. Events wait locally",
            retryable=False,
        )
    if "does not match host name" in lowered:
        return SharedStoreError(
            f"shared store {target}: its TLS certificate is for another host ({detail}); "
            "use the host name the certificate names. Events wait locally",
            retryable=False,
        )
    if is_data_error(exc):
        return SharedStoreError(
            f"shared store {target} refused the data ({clean(detail, 300)}); the events "
            "stay in the local store",
            retryable=False,
        )
    if _is_programming_error(exc):
        return SharedStoreError(f"shared store URL is not valid: {detail}", retryable=False)
    return SharedStoreError(
        f"shared store {target} is unavailable; events wait locally and are retried ({detail})",
        retryable=True,
    )


#: SQLSTATEs that mean "this data", not "this store": data exceptions (22), integrity
#: constraint violations (23, also what the schema's trigger raises) and a value too large
#: for an index (54000).
_DATA_SQLSTATES = ("22", "23", "54000")


def is_data_error(exc: BaseException) -> bool:
    """Return whether ``exc`` says the store refused the data rather than failed itself."""
    try:
        import psycopg
    except ImportError:
        return False
    if not isinstance(exc, psycopg.Error):
        return False
    if isinstance(exc, psycopg.DataError | psycopg.IntegrityError):
        return True
    sqlstate = exc.sqlstate or ""
    return bool(sqlstate) and sqlstate.startswith(_DATA_SQLSTATES)


def refusal_reason(exc: BaseException) -> str:
    """Return the store's own words for a refused row, cleaned and bounded."""
    diag = getattr(exc, "diag", None)
    primary = getattr(diag, "message_primary", None) if diag is not None else None
    return clean(primary or str(exc) or type(exc).__name__, 300)


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


def connect_kwargs(timeouts: Timeouts, url: str | None = None, tls: Tls = Tls()) -> dict[str, Any]:
    """Return the libpq parameters added to the URL: timeouts, keepalives, a name and TLS.

    With ``url``, the TLS parameters of :func:`tls_params` are added too.
    """
    kwargs: dict[str, Any] = {
        "connect_timeout": max(2, round(timeouts.connect)),
        "application_name": "ailoop",
        "options": f"-c statement_timeout={int(timeouts.statement * 1000)}",
        "keepalives": 1,
        "keepalives_idle": 30,
        "keepalives_interval": 10,
        "keepalives_count": 3,
    }
    if url is not None:
        added, _ = tls_params(url, tls)
        kwargs.update(added)
    return kwargs


def _warn_tls(url: str, tls: Tls) -> None:
    if warning := tls_warning_once(url, tls):
        logger.warning("%s", warning)


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


async def connect_async(
    url: str, timeouts: Timeouts, *, tls: Tls = Tls()
) -> psycopg.AsyncConnection[Any]:
    """Open an autocommit connection and check its schema; errors are ``SharedStoreError``.

    ``tls``: the user's TLS settings; a remote host gets ``verify-full`` by default.
    """
    import asyncio

    pg = import_psycopg()
    try:
        _warn_tls(url, tls)
        conn: psycopg.AsyncConnection[Any] = await asyncio.wait_for(
            pg.AsyncConnection.connect(url, autocommit=True, **connect_kwargs(timeouts, url, tls)),
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


def connect(
    url: str, timeouts: Timeouts, *, check_schema: bool = True, tls: Tls = Tls()
) -> psycopg.Connection[Any]:
    """Open a blocking connection (for commands, not the server); checks the schema."""
    pg = import_psycopg()
    try:
        _warn_tls(url, tls)
        conn: psycopg.Connection[Any] = pg.Connection.connect(
            url, autocommit=True, **connect_kwargs(timeouts, url, tls)
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
    url: str, timeouts: Timeouts, *, check_schema: bool = True, tls: Tls = Tls()
) -> Iterator[psycopg.Connection[Any]]:
    """Open a blocking connection for one piece of work, and close it after.

    Any error in the block becomes one clear, redacted ``SharedStoreError``.
    """
    conn = connect(url, timeouts, check_schema=check_schema, tls=tls)
    try:
        yield conn
    except Exception as exc:  # noqa: BLE001 - one clear, redacted message
        raise classify_error(exc, url) from None
    finally:
        conn.close()


def apply_migrations(
    url: str, timeouts: Timeouts = Timeouts(), *, tls: Tls = Tls()
) -> tuple[int, int]:
    """Bring the store's schema to the current version; return (before, after).

    Needs a role that may create schemas and tables. Safe to run concurrently (an advisory
    lock serialises runs) and again (nothing to do). Refuses a newer schema.
    """
    with connected(url, timeouts, check_schema=False, tls=tls) as conn, conn.transaction():
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
GRANT SELECT ON {SCHEMA}.schema_version, {SCHEMA}.pattern_daily, {SCHEMA}.event_daily,
    {SCHEMA}.modified_days TO {role};
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


def keyed_line_hashes(hashes: Iterable[str], key: str) -> list[str]:
    """Return the line index as the shared store keeps it: each hash keyed with ``key``.

    A line's plain hash could be matched against guessed code; keyed with the team's key
    (the one users are hashed with) only those who hold the key can look lines up. No key:
    no line index leaves the machine.
    """
    secret = key.encode()
    return [hmac.new(secret, h.encode(), hashlib.sha256).hexdigest()[: len(h)] for h in hashes]


def parse_ts(ts: str) -> dt.datetime:
    """Parse an event timestamp (ISO 8601, ``Z`` allowed); naive times are taken as UTC."""
    value = dt.datetime.fromisoformat(ts.strip().replace("Z", "+00:00").replace("z", "+00:00"))
    return value if value.tzinfo else value.replace(tzinfo=dt.timezone.utc)


#: Columns in the order of ``shared_row``'s tuples.
PUSH_COLUMNS = (
    "id", "ts", "kind", "snippet", "tool", "source", "user", "repo", "path", "language",
    "lines", "findings", "reason", "pattern", "text", "similarity", "outcome", "reviewer",
    "pr", "line_hashes", "context_session", "context_shown", "context_withheld",
    "model",
)  # fmt: skip


def shared_row(event: Event, privacy: Privacy) -> tuple[Any, ...]:
    """Return the row the shared store gets for ``event``, privacy applied.

    Raises ``ValueError`` when the event's timestamp cannot be read.
    """
    user = event.user
    reviewer = event.reviewer
    if privacy.user_hash_key:
        user = hash_user(user, privacy.user_hash_key)
        reviewer = None if reviewer is None else hash_user(reviewer, privacy.user_hash_key)
    hashes = None
    if event.kind is Kind.GENERATED and event.text and privacy.user_hash_key:
        hashes = keyed_line_hashes(line_hashes(event.text), privacy.user_hash_key)
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
        event.outcome,
        reviewer,
        event.pr,
        hashes,
        None if event.context is None else event.context.session,
        None if event.context is None else list(event.context.shown),
        None if event.context is None else list(event.context.withheld),
        event.model,
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
    Raises :class:`RowsRefused` when the store refuses the data (nothing is stored then).
    """
    if not rows:
        return 0
    try:
        async with conn.transaction():
            await conn.execute(STAGING_SQL)
            async with conn.cursor().copy(COPY_SQL) as copy:
                for row in rows:
                    await copy.write_row(row)
            cursor = await conn.execute(MOVE_SQL)
            return max(cursor.rowcount, 0)
    except Exception as exc:
        if is_data_error(exc) and not conn.closed:
            raise RowsRefused(refusal_reason(exc)) from None
        raise


# --------------------------------------------------------------------------- team statistics


@dataclasses.dataclass(frozen=True)
class PatternCounts:
    """Raw team numbers for one pattern key.

    A key is a finding like ``ruff:F401`` or ``pattern:<id>``; a picked pattern without a
    prefix is read as ``pattern:<id>``. ``rejected`` counts ``rejected`` events and, from
    schema version 5, ``reviewed`` events about a snippet whose outcome is
    ``changes_requested`` or ``closed``; ``accepted`` counts ``accepted`` and ``kept`` events
    and reviewed ones ``approved`` or ``merged`` (as ``ailoop.patterns.stats.outcome_rows``);
    ``total`` counts every event that carries the key, of any kind; ``*_recent`` count the last ``recent_days`` UTC calendar
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


#: Every (key, day) row of the ``pattern_daily`` rollup (rule ``''`` is all events), read
#: so that no row can fail to load: a day or time that is not finite, or outside what a
#: client can represent, comes back NULL and the row is skipped (:func:`team_stats_from_rows`).
#: The summary per key is computed from these rows, so one bad row cannot spoil it.
TEAM_PATTERN_ROWS_SQL = f"""
SELECT rule,
       CASE WHEN day BETWEEN DATE '1970-01-01' AND DATE '9999-12-30' THEN day END,
       rejected, accepted, total,
       CASE WHEN last_seen BETWEEN TIMESTAMPTZ '1970-01-01 00:00:00+00'
                               AND TIMESTAMPTZ '9999-12-30 00:00:00+00' THEN last_seen END
FROM {SCHEMA}.pattern_daily
"""  # noqa: S608 - constants only

#: How far ahead of this machine's clock a team row may be dated (the schema's own limit).
FUTURE_SLACK = dt.timedelta(days=1)


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


def _utc(now: dt.datetime | None) -> dt.datetime:
    moment = now or dt.datetime.now(dt.timezone.utc)
    return moment if moment.tzinfo else moment.replace(tzinfo=dt.timezone.utc)


def pattern_row_problem(row: Sequence[Any], now: dt.datetime | None = None) -> str | None:
    """Return why a row of ``TEAM_PATTERN_ROWS_SQL`` is not valid, or None if it is."""
    from ailoop.patterns.model import is_valid_key

    rule, day, rejected, accepted, total, last_seen = row
    latest = _utc(now) + FUTURE_SLACK
    if not isinstance(rule, str) or (rule != "" and not is_valid_key(rule)):
        return f"the key {clean(repr(rule), 80)} is not a pattern key"
    if not isinstance(day, dt.date):
        return f"{rule or 'all events'}: its day is not a date"
    if day > latest.date():
        return f"{rule or 'all events'}: its day {day.isoformat()} is in the future"
    counts = (rejected, accepted, total)
    if not all(isinstance(n, int) and n >= 0 for n in counts) or rejected + accepted > total:
        return f"{rule or 'all events'} on {day.isoformat()}: its counts do not add up"
    if not isinstance(last_seen, dt.datetime) or last_seen > latest:
        return f"{rule or 'all events'} on {day.isoformat()}: its newest event is not a past time"
    return None


@dataclasses.dataclass(frozen=True)
class TeamPatternStats:
    """What the pull fetches: per-key counts, the baseline and the daily rows.

    ``skipped`` rows of the store were not valid and are left out; ``skip_reason`` says why
    the first was (cleaned, safe to show).
    """

    keys: list[PatternCounts]
    baseline: PatternCounts
    days: list[PatternDay]
    recent_days: int
    skipped: int = 0
    skip_reason: str = ""


def team_stats_from_rows(
    rows: Iterator[Sequence[Any]] | Sequence[Sequence[Any]],
    recent_days: int = 7,
    now: dt.datetime | None = None,
) -> TeamPatternStats:
    """Check the rows of ``TEAM_PATTERN_ROWS_SQL`` one at a time; sum the valid ones.

    Returns per-key counts (all time and the last ``recent_days`` UTC days), the baseline
    (rule ``''``) and the daily rows; invalid rows are counted in ``skipped``.
    """
    moment = _utc(now)
    first_recent = recent_from(moment, recent_days)
    sums: dict[str, list[int]] = {}
    newest: dict[str, dt.datetime] = {}
    days: list[PatternDay] = []
    skipped = 0
    skip_reason = ""
    for row in rows:
        problem = pattern_row_problem(row, moment)
        if problem is not None:
            skipped += 1
            skip_reason = skip_reason or problem
            continue
        rule, day, rejected, accepted, total, last_seen = row
        days.append(PatternDay(rule, day.isoformat(), rejected, accepted, total))
        counts = sums.setdefault(rule, [0, 0, 0, 0, 0])
        recent = day >= first_recent
        counts[0] += rejected
        counts[1] += accepted
        counts[2] += rejected if recent else 0
        counts[3] += accepted if recent else 0
        counts[4] += total
        if rule not in newest or last_seen > newest[rule]:
            newest[rule] = last_seen
    keys: list[PatternCounts] = []
    baseline = PatternCounts("", 0, 0, 0, 0, 0, "")
    for rule, (rejected, accepted, rejected_recent, accepted_recent, total) in sums.items():
        numbers = PatternCounts(
            rule, rejected, accepted, rejected_recent, accepted_recent, total, _iso(newest[rule])
        )
        if rule == "":
            baseline = numbers
        else:
            keys.append(numbers)
    keys.sort(key=lambda c: c.rule)
    days.sort(key=lambda d: (d.rule, d.day))
    return TeamPatternStats(keys, baseline, days, recent_days, skipped, skip_reason)


async def fetch_team_pattern_stats(
    conn: psycopg.AsyncConnection[Any], recent_days: int = 7, now: dt.datetime | None = None
) -> TeamPatternStats:
    """Read the team pattern statistics (the rollup's rows, checked one at a time)."""
    async with conn.transaction():
        await conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        cursor = await conn.execute(TEAM_PATTERN_ROWS_SQL)
        rows = [row async for row in cursor]
    return team_stats_from_rows(rows, recent_days, now)


def team_pattern_stats(
    url: str,
    recent_days: int = 7,
    timeouts: Timeouts = Timeouts(),
    now: dt.datetime | None = None,
    *,
    tls: Tls = Tls(),
) -> TeamPatternStats:
    """Read the team pattern statistics (blocking, for commands); bad rows are reported."""
    with connected(url, timeouts, tls=tls) as conn, conn.transaction():
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ READ ONLY")
        stats = team_stats_from_rows(conn.execute(TEAM_PATTERN_ROWS_SQL), recent_days, now)
    if stats.skipped:
        _report_skipped(url, stats.skipped, "team statistics row", stats.skip_reason)
    return stats


def _report_skipped(url: str, count: int, what: str, reason: str) -> None:
    noun = what if count == 1 else f"{what}s"
    logger.warning(
        "shared store %s: skipped %d %s that %s not valid (the first: %s)",
        describe_target(url),
        count,
        noun,
        "is" if count == 1 else "are",
        clean(reason, 200),
    )


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


#: A time the events may have, as SQL: finite, from 1970 and at most a day ahead of the
#: store's clock. Others are read as NULL, and the row is skipped.
_SANE_TS_SQL = "ts BETWEEN TIMESTAMPTZ '1970-01-01 00:00:00+00' AND now() + interval '1 day'"

#: Outcome events (accepted, kept, rejected, reverted) counted by tool, language, user,
#: UTC day and kind: what ``ailoop stats`` groups, computed by the database. The day is
#: NULL for a time that is not valid (the group is skipped). ``reviewed`` events are left
#: out, as the local acceptance report leaves them out (``ailoop.analytics.local``): they
#: are code review's verdicts, not the editor's, and count in the pattern statistics only.
TEAM_OUTCOME_COUNTS_SQL = f"""
SELECT tool, language, "user",
       CASE WHEN {_SANE_TS_SQL} THEN to_char(ts AT TIME ZONE 'UTC', 'YYYY-MM-DD') END,
       kind, count(*)
FROM {SCHEMA}.events
WHERE kind IN ('accepted', 'kept', 'rejected', 'reverted')
  AND (%(since)s::timestamptz IS NULL OR ts >= %(since)s::timestamptz)
  AND (%(repo)s::text IS NULL OR repo = %(repo)s::text)
GROUP BY 1, 2, 3, 4, 5
"""  # noqa: S608 - constants only

_HIDDEN = "\u061c\u200b-\u200f\u202a-\u202e\u2060\u2066-\u2069\ufeff"
#: Characters no one-line value from the store may contain (as the schema's trigger).
_LINE_CONTROLS = re.compile(f"[\x00-\x1f\x7f-\x9f{_HIDDEN}]")
#: The same for free text: tab and line breaks are allowed there.
_TEXT_CONTROLS = re.compile(f"[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f{_HIDDEN}]")
_EVENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
_SNIPPET = re.compile(r"sha256:[0-9a-f]{64}")
_OUTCOME_KINDS = frozenset({"accepted", "kept", "rejected", "reverted"})


def _plain(value: object, limit: int, *, required: bool = False) -> bool:
    """Return whether ``value`` is one line of at most ``limit`` characters, no controls."""
    return (
        isinstance(value, str)
        and (bool(value) or not required)
        and len(value) <= limit
        and _LINE_CONTROLS.search(value) is None
    )


def event_problem(row: Mapping[str, Any], now: dt.datetime | None = None) -> str | None:
    """Return why an event row read from the store is not valid, or None if it is.

    The same rules as the schema's trigger (``ailoop.check_event``), except that old
    events are fine to read; rows stored before the schema checked them may break them.
    """
    from ailoop.patterns.model import is_valid_key, valid_key

    ident = row.get("id")
    if not isinstance(ident, str) or not _EVENT_ID.fullmatch(ident):
        return f"the id {clean(repr(ident), 80)} is not an event id"
    name = f"event {ident}"
    ts = row.get("ts")
    if not isinstance(ts, dt.datetime) or ts > _utc(now) + FUTURE_SLACK:
        return f"{name}: its time is not finite or lies in the future"
    if row.get("kind") not in {k.value for k in Kind}:
        return f"{name}: its kind is not an event kind"
    if row.get("source") not in {s.value for s in Source}:
        return f"{name}: its source is not heuristic, client, hook, review or trace"
    snippet = row.get("snippet")
    reviewed = row.get("kind") == Kind.REVIEWED.value
    if not isinstance(snippet, str) or not (
        _SNIPPET.fullmatch(snippet) or (reviewed and snippet == "")
    ):
        return f"{name}: its snippet is not a snippet id"
    outcome = row.get("outcome")
    if (outcome is not None or reviewed) and (not reviewed or outcome not in REVIEW_OUTCOMES):
        return f"{name}: its review outcome is not valid"
    for field in ("reviewer", "pr", "model"):
        if row.get(field) is not None and not _plain(row.get(field), LIMITS[field]):
            return f"{name}: its {field} is too long or has control characters"
    if not _plain(row.get("tool"), LIMITS["tool"], required=True):
        return f"{name}: its tool is empty, too long or has control characters"
    for field in ("user", "repo", "path", "language"):
        if not _plain(row.get(field), LIMITS[field]):
            return f"{name}: its {field} is too long or has control characters"
    lines = row.get("lines")
    if not isinstance(lines, int) or not 0 <= lines <= LIMITS["lines"]:
        return f"{name}: its line count is not valid"
    findings = row.get("findings")
    if not isinstance(findings, list | tuple) or len(findings) > LIMITS["findings"]:
        return f"{name}: its findings are not a list of pattern keys"
    if not all(isinstance(f, str) and is_valid_key(f) for f in findings):
        return f"{name}: one of its findings is not a pattern key"
    pattern = row.get("pattern")
    if pattern is not None and (
        not isinstance(pattern, str) or (pattern.strip() and valid_key(pattern) is None)
    ):
        return f"{name}: its pattern is not a pattern key"
    reason = row.get("reason")
    if reason is not None and (
        not isinstance(reason, str)
        or len(reason) > LIMITS["reason"]
        or _TEXT_CONTROLS.search(reason) is not None
    ):
        return f"{name}: its reason is too long or has control characters"
    text = row.get("text")
    if text is not None and (not isinstance(text, str) or len(text) > LIMITS["text"]):
        return f"{name}: its text is too long"
    similarity = row.get("similarity")
    if similarity is not None and not (
        isinstance(similarity, int | float) and 0.0 <= similarity <= 1.0
    ):
        return f"{name}: its similarity is not between 0 and 1"
    session = row.get("context_session")
    if session is not None and not _plain(session, LIMITS["context_session"], required=True):
        return f"{name}: its context session is too long or has control characters"
    for field in ("context_shown", "context_withheld"):
        keys = row.get(field)
        if keys is not None and (
            not isinstance(keys, list | tuple)
            or len(keys) > LIMITS["context_keys"]
            or not all(isinstance(k, str) and is_valid_key(k) for k in keys)
        ):
            return f"{name}: its {field.replace('_', ' ')} keys are not pattern keys"
    return None


def outcome_row_problem(row: Sequence[Any]) -> str | None:
    """Return why a row of ``TEAM_OUTCOME_COUNTS_SQL`` is not valid, or None if it is."""
    tool, language, user, day, kind, count = row
    if day is None:
        return "events dated in the future or at a time that is not finite"
    if not _plain(tool, LIMITS["tool"], required=True):
        return f"the tool {clean(repr(tool), 80)} is empty, too long or has control characters"
    if not _plain(language, LIMITS["language"]):
        return f"the language {clean(repr(language), 80)} is too long or has control characters"
    if not _plain(user, LIMITS["user"]):
        return f"the user {clean(repr(user), 80)} is too long or has control characters"
    if kind not in _OUTCOME_KINDS or not isinstance(count, int):
        return "a kind that is not an outcome"
    return None


def team_outcome_counts(
    url: str,
    *,
    since: dt.datetime | None = None,
    repo: str | None = None,
    timeouts: Timeouts = Timeouts(statement=120.0),
    tls: Tls = Tls(),
) -> list[tuple[str, str, str, str, str, int]]:
    """Return (tool, language, user, UTC day, kind, count) over the team's outcome events.

    For ``ailoop stats --team``: one aggregate query instead of reading every event. Rows
    that are not valid (a future or infinite time, control characters in a name) are
    skipped, and their number is logged once as a warning.
    """
    out: list[tuple[str, str, str, str, str, int]] = []
    skipped = 0
    reason = ""
    with connected(url, timeouts, tls=tls) as conn:
        cursor = conn.execute(TEAM_OUTCOME_COUNTS_SQL, {"since": since, "repo": repo})
        for row in cursor:
            problem = outcome_row_problem(row)
            if problem is not None:
                skipped += int(row[5]) if isinstance(row[5], int) else 1
                reason = reason or problem
                continue
            tool, language, user, day, kind, count = row
            out.append((tool, language, user, str(day), kind, int(count)))
    if skipped:
        _report_skipped(url, skipped, "team event", reason)
    return out


# --------------------------------------------------------------------------- reading events


def _event_from_shared(row: dict[str, Any]) -> Event:
    row = dict(row)
    row["ts"] = _iso(row["ts"])
    row["findings"] = list(row["findings"] or ())
    session = row.pop("context_session", None)
    shown = row.pop("context_shown", None)
    withheld = row.pop("context_withheld", None)
    if session is not None:
        row["context"] = {"session": session, "shown": shown or [], "withheld": withheld or []}
    return Event.from_json(row)


def iter_team_events(
    url: str,
    *,
    since: dt.datetime | None = None,
    repo: str | None = None,
    timeouts: Timeouts = Timeouts(),
    batch_size: int = 5000,
    tls: Tls = Tls(),
) -> Iterator[Event]:
    """Yield the team's events from the shared store, oldest first, streaming.

    ``since`` and ``repo`` narrow the range. Raises ``SharedStoreError`` (redacted) when the
    store cannot be read. Texts are present only for teams that share code. Rows that are
    not valid events (:func:`event_problem`) are skipped; their number is logged once.
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
    columns = ", ".join(
        f"CASE WHEN {_SANE_TS_SQL} THEN ts END AS ts" if c == "ts" else f'"{c}"'
        for c in PUSH_COLUMNS
        if c != "line_hashes"
    )
    sql = (
        f"SELECT {columns} FROM {SCHEMA}.events "  # noqa: S608 - constants only
        f"WHERE {' AND '.join(conditions)} ORDER BY {SCHEMA}.events.ts, id"
    )
    skipped = 0
    reason = ""
    now = _utc(None)
    try:
        with (
            connected(url, timeouts, tls=tls) as conn,
            conn.transaction(),
            conn.cursor("ailoop_team_events", row_factory=dict_row) as cur,
        ):
            cur.itersize = batch_size
            cur.execute(sql.encode(), params)
            for row in cur:
                problem = event_problem(row, now)
                if problem is None:
                    try:
                        event = _event_from_shared(row)
                    except ValueError as exc:
                        problem = clean(str(exc), 200)
                    else:
                        yield event
                        continue
                skipped += 1
                reason = reason or problem
    finally:
        if skipped:
            _report_skipped(url, skipped, "team event", reason)


# --------------------------------------------------------------------------- review matching

#: The team's snippets that hold any of the given line hashes (``generated`` events of
#: every repository: the caller keeps those of its own): snippet, repo, how many of the
#: hashes, how many it has, its newest event, and that event's fields for the review event.
TEAM_LINE_MATCHES_SQL = f"""
SELECT DISTINCT ON (snippet, repo) snippet, repo,
       cardinality(ARRAY(SELECT unnest(line_hashes) INTERSECT SELECT unnest(%(hashes)s::text[]))),
       cardinality(line_hashes), tool, "user", path, language, lines, findings
FROM {SCHEMA}.events
WHERE kind = 'generated' AND line_hashes IS NOT NULL AND line_hashes && %(hashes)s::text[]
  AND {_SANE_TS_SQL}
ORDER BY snippet, repo, ts DESC
"""  # noqa: S608 - constants only


def team_line_matches(
    conn: psycopg.Connection[Any], hashes: Sequence[str]
) -> list[tuple[str, str, int, int, Event]]:
    """Return (snippet, repo, lines in common, lines indexed, its generated event) per match.

    Rows that are not valid snippets are skipped. The events carry no text.
    """
    if not hashes:
        return []
    out: list[tuple[str, str, int, int, Event]] = []
    for row in conn.execute(TEAM_LINE_MATCHES_SQL, {"hashes": list(hashes)}):
        snippet, repo, common, total, tool, user, path, language, lines, findings = row
        if not isinstance(snippet, str) or not _SNIPPET.fullmatch(snippet):
            continue
        if not all(_plain(v, 4096) for v in (repo, tool, user, path, language)):
            continue
        event = Event(
            kind=Kind.GENERATED,
            snippet=snippet,
            tool=tool or "unknown",
            user=user,
            repo=repo,
            path=path,
            language=language,
            lines=int(lines or 0),
            findings=tuple(f for f in findings or () if isinstance(f, str)),
        )
        out.append((snippet, repo, int(common or 0), int(total or 0), event))
    return out
