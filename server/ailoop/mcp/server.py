"""The MCP server: the team's findings and patterns for code an agent is about to write.

Tools:

- ``check_code(code, path)``: the answer an edit hook gives on that code (team patterns
  with the team's numbers, the engines' findings), without writing any file; the same
  code runs (:func:`ailoop.hooks.run.check_code`), and language servers stay warm
  between calls as in the hook worker.
- ``team_patterns(language)``: the supported rules for that language, as constraints.

Resource ``ailoop://context``: the learned context an agent gets at a session's start.

The workspace is the git repository around the server's working directory (or
``--root``). Text from the store and the patterns file is data, quoted and bounded.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from mcp.server.mcpserver import MCPServer

    from ailoop.hooks.engines import EngineSessions
    from ailoop.hooks.session import Rules

#: Languages an engine rule belongs to, by its engine (a key ``ruff:E722``).
ENGINE_LANGUAGES = {
    "ruff": ("python",),
    "ty": ("python",),
    "biome": ("typescript", "typescriptreact", "javascript", "javascriptreact"),
    "eslint": ("typescript", "typescriptreact", "javascript", "javascriptreact"),
    "oxlint": ("typescript", "typescriptreact", "javascript", "javascriptreact"),
    "ts": ("typescript", "typescriptreact", "javascript", "javascriptreact"),
}


def format_findings(path: str, findings: list[tuple[int, str, str, str]]) -> str:
    """Return the answer of ``check_code``: one line per finding, or that there is none."""
    if not findings:
        return f"ailoop: no findings in the code for {path}."
    lines = [f"ailoop: findings in the code for {path} (fix them before writing it):"]
    for line, code, message, fix in findings:
        text = f"- line {line}: [{code}] {message}"
        if fix:
            text += f"; fix: {fix}"
        lines.append(text)
    return "\n".join(lines)


def rules_for_language(rules: Rules, language: str) -> list[str]:
    """Return the supported rules that apply to ``language``, one constraint line each."""
    from ailoop.hooks.session import rule_line
    from ailoop.patterns.languages import canonical_language
    from ailoop.patterns.model import TEAM_PREFIX

    wanted = language.strip().lower()
    canonical = canonical_language(wanted)
    lines = []
    for entry in rules.entries:
        if entry.key.startswith(TEAM_PREFIX) and rules.patterns is not None:
            pattern = rules.patterns.get(entry.key)
            languages = pattern.languages if pattern is not None else ()
            applies = not languages or canonical in languages or wanted in languages
        else:
            engine = entry.key.partition(":")[0]
            languages = ENGINE_LANGUAGES.get(engine, ())
            applies = not languages or wanted in languages
        if applies:
            lines.append(rule_line(entry))
    return lines


def create_server(root: Path, data_dir: Path | None, engines: EngineSessions) -> MCPServer:
    """Build the MCP server for the workspace at ``root``."""
    import anyio.to_thread
    from mcp.server.mcpserver import MCPServer

    from ailoop import __version__

    server = MCPServer(
        "ailoop",
        version=__version__,
        instructions=(
            "ailoop knows which code this team rejects. Call check_code with code you are "
            "about to write (and the file's path) to get the team's findings on it; "
            "team_patterns lists the rules for a language."
        ),
    )

    def check(code: str, path: str) -> str:
        from ailoop.hooks.run import check_code as run_check

        target = Path(path)
        if not target.is_absolute():
            target = root / target
        found, _problems = run_check(code, target, data_dir, engines)
        return format_findings(path, [(f.line, f.code, f.message, f.fix) for f in found])

    @server.tool()
    async def check_code(code: str, path: str) -> str:
        """Check code before writing it to ``path`` (relative to the workspace or absolute).

        Returns the team's known rejection patterns and the linters' and type checkers'
        findings on it, with line numbers in ``code`` and the team's numbers.
        """
        return await anyio.to_thread.run_sync(check, code, path)

    def patterns(language: str) -> str:
        from ailoop.hooks.session import supported_rules

        lines = rules_for_language(supported_rules(root, data_dir), language)
        if not lines:
            return f"ailoop: no supported rejection patterns for {language} yet."
        return "\n".join(lines)

    @server.tool()
    async def team_patterns(language: str) -> str:
        """List the team's supported rejection patterns for a language, as constraints.

        ``language`` is an editor language id: python, typescript, typescriptreact, ...
        """
        return await anyio.to_thread.run_sync(patterns, language)

    def context() -> str:
        from ailoop.hooks.session import learned_context

        text = learned_context(root, data_dir).text
        return text or "No known rejection patterns yet."

    @server.resource(
        "ailoop://context",
        name="learned-context",
        description="The team's known rejection patterns, as delivered at a session's start",
        mime_type="text/plain",
    )
    async def learned() -> str:
        return await anyio.to_thread.run_sync(context)

    return server


def serve(root: Path, data_dir: Path | None) -> int:
    """Serve MCP on stdio until the client closes it; return the exit code."""
    from ailoop.hooks.engines import EngineSessions

    engines = EngineSessions()
    try:
        create_server(root, data_dir, engines).run("stdio")
    finally:
        engines.close()
    return 0
