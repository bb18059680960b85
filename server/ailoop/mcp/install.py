"""Registering ``ailoop mcp`` in an agent's MCP configuration.

Claude Code reads a project's servers from ``.mcp.json`` at its root, Cursor from
``.cursor/mcp.json`` (and ``~/.cursor/mcp.json``); both keep them under ``mcpServers`` by
name. Installing merges one server named ``ailoop`` into what is there and leaves every
other server and key alone; installing twice changes nothing the second time. The
command is the absolute path of the Python running ailoop, as for the hooks.
"""

from __future__ import annotations

import sys
from pathlib import Path
from typing import Any

from ailoop.hooks import CLAUDE_CODE, CURSOR
from ailoop.hooks.install import InstallError, _change, _object

#: The agents whose MCP configuration ``ailoop mcp install`` writes.
AGENTS = (CLAUDE_CODE, CURSOR)
#: The name the server is registered under.
SERVER_NAME = "ailoop"


def server_entry(agent: str, python: str | None = None) -> dict[str, Any]:
    """Return the ``mcpServers`` entry that starts ``ailoop mcp`` over stdio."""
    entry: dict[str, Any] = {"command": python or sys.executable, "args": ["-m", "ailoop", "mcp"]}
    if agent == CLAUDE_CODE:
        entry = {"type": "stdio", **entry}
    return entry


def merge(config: dict[str, Any], entry: dict[str, Any]) -> dict[str, Any]:
    """Add (or update) our server in an MCP configuration; returns it."""
    servers = _object(config.get("mcpServers"), "mcpServers")
    current = _object(servers.get(SERVER_NAME), f"mcpServers.{SERVER_NAME}")
    servers[SERVER_NAME] = {**current, **entry}
    config["mcpServers"] = servers
    return config


def config_path(agent: str, *, user: bool, root: Path) -> Path:
    """Return the MCP configuration file of ``agent``: the project's or the user's."""
    if agent == CLAUDE_CODE:
        if user:
            raise InstallError(
                "Claude Code keeps user-scope MCP servers in ~/.claude.json; "
                "use `claude mcp add --scope user` for that"
            )
        return root / ".mcp.json"
    if agent == CURSOR:
        return (Path.home() if user else root) / ".cursor" / "mcp.json"
    raise InstallError(f"unknown agent {agent!r} (known: {', '.join(AGENTS)})")


def install(agent: str, *, user: bool, root: Path, python: str | None = None) -> tuple[Path, bool]:
    """Register the server for ``agent``; return the file and whether it changed."""
    path = config_path(agent, user=user, root=root)
    entry = server_entry(agent, python)
    return path, _change(path, lambda data: merge(data, entry))
