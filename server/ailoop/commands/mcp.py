"""``ailoop mcp``: an MCP server on stdio that agents can ask before they write.

Tools: ``check_code(code, path)`` (the team's findings and known rejection patterns on
that code, as the edit hook reports them) and ``team_patterns(language)``; the learned
context is the resource ``ailoop://context``. ``ailoop mcp install claude-code|cursor``
registers it in the agent's MCP configuration. Needs the ``mcp`` package
(the ``mcp`` extra); see docs/mcp.md.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ailoop.commands import plain_text
from ailoop.extras import install_hint

MISSING = "ailoop mcp: " + install_hint(
    "the MCP server needs the `mcp` package, which is not installed", "mcp>=2.3"
)


def register(subparsers: Any) -> None:
    """Add the ``mcp`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "mcp",
        help="an MCP server agents can ask before they write (check_code, team_patterns)",
        description=plain_text(__doc__),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--root",
        type=Path,
        help="the workspace (default: the git repository around the current directory)",
    )
    parser.add_argument("--data-dir", type=Path, help="data directory (default: AILOOP_DATA_DIR)")
    parser.set_defaults(func=run)
    actions = parser.add_subparsers(dest="mcp_action", metavar="ACTION")
    from ailoop.mcp.install import AGENTS

    sub = actions.add_parser("install", help="register the server in an agent's MCP config")
    sub.add_argument("agent", choices=AGENTS, help="the agent")
    scope = sub.add_mutually_exclusive_group()
    scope.add_argument(
        "--project",
        action="store_true",
        help="the project's .mcp.json or .cursor/mcp.json (default)",
    )
    scope.add_argument("--user", action="store_true", help="~/.cursor/mcp.json (Cursor only)")
    sub.add_argument(
        "--root",
        type=Path,
        help="the project root (default: the git repository around the current directory)",
    )
    sub.set_defaults(func=install)


def _root(args: argparse.Namespace) -> Path:
    if args.root is not None:
        return Path(args.root).resolve()
    from ailoop.workspace import find_repo_root

    here = Path.cwd()
    return find_repo_root(here) or here


def run(args: argparse.Namespace) -> int:
    """Serve MCP on stdio; 1 when the ``mcp`` package is missing."""
    try:
        import mcp  # noqa: F401 - only to say clearly that it is missing
    except ImportError:
        print(MISSING, file=sys.stderr)
        return 1
    from ailoop.mcp.server import serve

    return serve(_root(args), args.data_dir)


def install(args: argparse.Namespace) -> int:
    """Register the server; 1 when the configuration file cannot be used."""
    from ailoop.hooks.install import InstallError
    from ailoop.mcp.install import install as install_server

    try:
        path, changed = install_server(args.agent, user=args.user, root=_root(args))
    except InstallError as exc:
        print(f"ailoop mcp install: {exc}", file=sys.stderr)
        return 1
    print(f"{'registered' if changed else 'already registered'}: ailoop MCP server in {path}")
    return 0
