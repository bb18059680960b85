"""``ailoop mcp``: an MCP server agents can ask before they write (see docs/mcp.md).

:mod:`ailoop.mcp.server` serves the tools over stdio with the official ``mcp`` SDK (the
``ailoop[mcp]`` extra); :mod:`ailoop.mcp.install` registers it in an agent's MCP config.
"""
