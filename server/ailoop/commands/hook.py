"""``ailoop hook``: the agent hook commands, and installing them into the agents' settings.

``ailoop hook claude-code|cursor|gemini-cli|codex`` read one hook payload on stdin (see
docs/hooks.md): an edit (Claude Code, Cursor) is recorded and answered with findings, a
session's start with the learned context. They always exit 0 except when the team
blocks on a pattern found in the new code (``[tool.ailoop.hooks] block_on``), which exits
2 with the reason on stderr.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path
from typing import Any

from ailoop.commands import plain_text
from ailoop.hooks import TOOLS


def register(subparsers: Any) -> None:
    """Add the ``hook`` subcommand and its actions."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "hook",
        help="agent hooks: record edits and answer with findings; the learned context at "
        "session start (Claude Code, Cursor, Gemini CLI, Codex CLI)",
        description=plain_text(__doc__),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    actions = parser.add_subparsers(dest="hook_action", metavar="ACTION", required=True)
    for tool in TOOLS:
        run_parser = actions.add_parser(tool, help=f"handle one {tool} hook call (input on stdin)")
        run_parser.add_argument(
            "--data-dir", type=Path, help="data directory (default: AILOOP_DATA_DIR)"
        )
        run_parser.set_defaults(func=run, tool=tool)
    for action, verb in (("install", "add"), ("uninstall", "remove")):
        sub = actions.add_parser(action, help=f"{verb} the hook in an agent's settings")
        sub.add_argument("tool", choices=TOOLS, help="the agent")
        scope = sub.add_mutually_exclusive_group()
        scope.add_argument(
            "--project",
            action="store_true",
            help="the project's .claude/settings.json, .cursor/hooks.json, "
            ".gemini/settings.json or .codex/hooks.json (default)",
        )
        scope.add_argument(
            "--user", action="store_true", help="the same files under the home directory"
        )
        sub.add_argument(
            "--root",
            type=Path,
            help="the project root (default: the git repository around the current directory)",
        )
        sub.set_defaults(func=install if action == "install" else uninstall)


def run(args: argparse.Namespace) -> int:
    """Handle one hook call; return 0, or 2 when the team blocks on a finding."""
    from ailoop.hooks.entry import call

    return call(args.tool, args.data_dir)


def _root(args: argparse.Namespace) -> Path:
    if args.root is not None:
        return Path(args.root).resolve()
    from ailoop.workspace import find_repo_root

    here = Path.cwd()
    return find_repo_root(here) or here


def install(args: argparse.Namespace) -> int:
    """Install the hook; return 0, or 1 when a settings file cannot be used."""
    from ailoop.hooks.install import InstallError
    from ailoop.hooks.install import install as install_hook

    try:
        path, changed = install_hook(args.tool, user=args.user, root=_root(args))
    except InstallError as exc:
        print(f"ailoop hook install: {exc}", file=sys.stderr)
        return 1
    print(f"{'installed' if changed else 'already installed'}: {args.tool} hook in {path}")
    return 0


def uninstall(args: argparse.Namespace) -> int:
    """Remove the hook; return 0, or 1 when a settings file cannot be used."""
    from ailoop.hooks.install import InstallError
    from ailoop.hooks.install import uninstall as uninstall_hook

    try:
        path, changed = uninstall_hook(args.tool, user=args.user, root=_root(args))
    except InstallError as exc:
        print(f"ailoop hook uninstall: {exc}", file=sys.stderr)
        return 1
    print(f"{'removed' if changed else 'not installed'}: {args.tool} hook in {path}")
    return 0
