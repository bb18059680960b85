"""``ailoop store``: set up the shared PostgreSQL store (``init``, ``role-sql``, ``status``)."""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ailoop.store.sync import StoreChoice


def add_url_argument(parser: argparse.ArgumentParser) -> None:
    """Add ``--url`` and ``--root`` (where the store comes from) to ``parser``."""
    parser.add_argument(
        "--url",
        help="shared store URL (default: $AILOOP_STORE_URL, else the store the settings of "
        "--root name); put the password in ~/.pgpass or PGPASSWORD, not here",
    )
    parser.add_argument(
        "--root",
        type=Path,
        help="the repository whose settings name the store (default: the current directory)",
    )


def resolve(args: argparse.Namespace) -> StoreChoice | None:
    """Return where the events go: ``--url``, else as the server decides for ``--root``.

    The privacy settings (hashed users, shared code) are the user's either way.

    That is ``AILOOP_STORE_URL``, else ``store.url`` from the user's config, else the
    user's ``[stores.<team>]`` for the ``store.team`` the repository names (never a URL from
    the repository's files). Prints the settings' problems, and a message and returns None
    when there is no store.
    """
    from ailoop import settings as settings_module
    from ailoop.store.sync import URL_ENV, StoreChoice, resolve_store

    root = (getattr(args, "root", None) or Path.cwd()).resolve()
    settings, problems = settings_module.load(root)
    choice = resolve_store(settings.store, settings.stores, "store settings", os.environ)
    for problem in [*problems, *choice.problems]:
        print(f"ailoop: {problem}", file=sys.stderr)
    if args.url:  # another store, the same privacy settings (hashed users, shared code)
        return StoreChoice(url=args.url, options=choice.options, source="--url")
    if not choice.url:
        if choice.team is None:
            print(
                f"ailoop: no shared store configured; pass --url, set {URL_ENV}, or set "
                f"[store] url (or [stores.<team>] url with store.team in the repository) in "
                f"{settings_module.user_config_path()}",
                file=sys.stderr,
            )
        return None
    return choice


def resolve_url(args: argparse.Namespace) -> str | None:
    """Return the store's URL as :func:`resolve` finds it, or None (a message was printed)."""
    choice = resolve(args)
    return choice.url if choice is not None else None


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

    choice = resolve(args)
    if choice is None:
        return 2
    url = choice.url
    try:
        before, after = shared.apply_migrations(url, tls=choice.options.tls)
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

    choice = resolve(args)
    if choice is None:
        return 2
    url = choice.url
    try:
        conn = shared.connect(url, shared.Timeouts(), tls=choice.options.tls)
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
