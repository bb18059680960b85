"""``ailoop store``: set up the shared PostgreSQL store (``init``, ``role-sql``, ``status``)."""

from __future__ import annotations

import argparse
import os
import sys
from typing import Any


def add_url_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--url`` (default: ``AILOOP_STORE_URL``) to ``parser``."""
    parser.add_argument(
        "--url",
        help="shared store URL (default: $AILOOP_STORE_URL); put the password in ~/.pgpass or "
        "PGPASSWORD, not here",
    )


def resolve_url(args: argparse.Namespace) -> str | None:
    """Return the URL from ``--url`` or the environment; print a message and None if absent."""
    from ailoop.store.sync import URL_ENV

    url: str | None = args.url or os.environ.get(URL_ENV)
    if not url:
        print(f"ailoop: no shared store configured; pass --url or set {URL_ENV}", file=sys.stderr)
        return None
    return url


def register(subparsers: Any) -> None:
    """Add the ``store`` subcommand and its actions."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "store", help="set up the shared team store (PostgreSQL)"
    )
    actions = parser.add_subparsers(dest="action", metavar="ACTION", required=True)

    init = actions.add_parser("init", help="create or upgrade the schema (needs an owner role)")
    add_url_argument(init)
    init.set_defaults(func=run_init)

    role = actions.add_parser(
        "role-sql", help="print SQL for a least-privilege client role (insert and read only)"
    )
    role.add_argument("--role", default="ailoop_client", help="role name (default: %(default)s)")
    role.add_argument("--database", default="ailoop", help="database name (default: %(default)s)")
    role.set_defaults(func=run_role_sql)

    status = actions.add_parser("status", help="check the connection and the schema version")
    add_url_argument(status)
    status.set_defaults(func=run_status)


def run_init(args: argparse.Namespace) -> int:
    """Apply the schema migrations."""
    from ailoop.store import shared

    url = resolve_url(args)
    if url is None:
        return 2
    try:
        before, after = shared.apply_migrations(url)
    except shared.SharedStoreError as exc:
        print(f"ailoop: {exc}", file=sys.stderr)
        return 1
    target = shared.describe_target(url)
    if before == after:
        print(f"shared store {target}: schema is up to date (version {after})")
    else:
        print(f"shared store {target}: schema upgraded from version {before} to {after}")
    return 0


def run_role_sql(args: argparse.Namespace) -> int:
    """Print the least-privilege role SQL."""
    from ailoop.store import shared

    try:
        sys.stdout.write(shared.role_sql(args.role, args.database))
    except ValueError as exc:
        print(f"ailoop: {exc}", file=sys.stderr)
        return 2
    return 0


def run_status(args: argparse.Namespace) -> int:
    """Connect, check the schema and print how many events the store holds."""
    from ailoop.store import shared
    from ailoop.store.pg_migrations import SCHEMA

    url = resolve_url(args)
    if url is None:
        return 2
    try:
        conn = shared.connect(url, shared.Timeouts())
        try:
            row = conn.execute(f"SELECT count(*) FROM {SCHEMA}.events").fetchone()  # noqa: S608
        finally:
            conn.close()
    except shared.SharedStoreError as exc:
        print(f"ailoop: {exc}", file=sys.stderr)
        return 1
    except Exception as exc:  # noqa: BLE001 - reported, redacted
        print(f"ailoop: {shared.classify_error(exc, url)}", file=sys.stderr)
        return 1
    count = int(row[0]) if row else 0
    print(f"shared store {shared.describe_target(url)}: schema ok, {count} events")
    return 0
