"""``ailoop trust``: let a workspace's files name programs for ailoop to run.

``ailoop trust [PATH]`` shows what the workspace's ailoop settings would run and trusts
exactly that (a changed command needs trust again); ``--revoke`` takes trust back;
``--list`` shows the trusted workspaces.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path
from typing import Any

from ailoop.text import clean


def register(subparsers: Any) -> None:
    """Add the ``trust`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "trust",
        help="let a workspace's ailoop settings run its commands and executables",
        description=(
            "A repository's ailoop settings may name commands (engines, ruff or ty commands) "
            "and hold executables (.venv/bin/ruff); ailoop runs them only in a workspace you "
            "trust. Trust covers exactly what is shown: when it changes, trust it again."
        ),
    )
    parser.add_argument(
        "path", nargs="?", type=Path, default=Path(), help="the workspace (default: here)"
    )
    action = parser.add_mutually_exclusive_group()
    action.add_argument("--revoke", action="store_true", help="stop trusting the workspace")
    action.add_argument("--list", action="store_true", help="list the trusted workspaces")
    parser.set_defaults(func=run)


def _show(value: Any) -> str:
    return clean(json.dumps(value, ensure_ascii=False, default=str), 300)


def run(args: argparse.Namespace) -> int:
    """Trust, revoke or list; return the exit code."""
    from ailoop import settings, trust

    store = trust.TrustStore()
    try:
        if args.list:
            entries = list(store.entries())
            for path, when in entries:
                print(f"{clean(path, 1000)}  (since {clean(when, 40)})")
            if not entries:
                print(f"no trusted workspaces ({store.path})")
            return 0
        root = args.path.resolve()
        if not root.is_dir():
            print(f"ailoop trust: {root} is not a directory", file=sys.stderr)
            return 2
        if args.revoke:
            if store.revoke(root):
                print(f"{root} is no longer trusted")
            else:
                print(f"{root} was not trusted")
            return 0
        files, problems = settings.read_workspace_files(root)
        for problem in problems:
            print(f"ailoop trust: {clean(problem, 1000)}", file=sys.stderr)
        repo = trust.split(settings.snake_keys(files), root)
        store.trust(root, repo.fingerprint)
    except (OSError, trust.TrustError) as exc:
        print(f"ailoop trust: {exc}", file=sys.stderr)
        return 1
    print(f"{root} is trusted.")
    if repo.needs_trust:
        print("ailoop may now run what it names:")
        for path, value in repo.privileged.items():
            print(f"  {path} = {_show(value)}")
        for executable in repo.executables:
            print(f"  {executable}")
    else:
        print(
            "Nothing in it needs trust now; if its settings come to name commands, trust it again."
        )
    if repo.refused:
        print(
            f"Still ignored, whatever the trust: {', '.join(repo.refused)} (the shared store is "
            f"set in {settings.user_config_path()} or AILOOP_STORE_URL)."
        )
    print("Running editors apply it when they next read the settings (or after a restart).")
    return 0
