"""Agent hooks: capture Claude Code and Cursor edits where they happen, and answer the agent.

``ailoop hook claude-code`` and ``ailoop hook cursor`` read one hook payload on stdin,
record a ``generated`` event (``source = "hook"``) for each snippet the agent inserted, run
the team's patterns and the one-shot feedback engines on the inserted lines, and print
what the agent should fix. At a session's start (Claude Code, Cursor, Gemini CLI and
Codex CLI), they answer with the learned context instead (:mod:`ailoop.hooks.session`).
Nothing here imports the language server; see docs/hooks.md.
"""

#: The agents whose hooks ailoop handles, by the name their command takes.
CLAUDE_CODE = "claude-code"
CURSOR = "cursor"
GEMINI_CLI = "gemini-cli"
CODEX = "codex"
TOOLS = (CLAUDE_CODE, CURSOR, GEMINI_CLI, CODEX)
#: The agents whose hooks report edits (the others only start sessions).
EDIT_TOOLS = (CLAUDE_CODE, CURSOR)
