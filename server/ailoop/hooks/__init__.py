"""Agent hooks: capture Claude Code and Cursor edits where they happen, and answer the agent.

``ailoop hook claude-code`` and ``ailoop hook cursor`` read one hook payload on stdin,
record a ``generated`` event (``source = "hook"``) for each snippet the agent inserted, run
the team's patterns and the one-shot feedback engines on the inserted lines, and print
what the agent should fix. Nothing here imports the language server; see docs/hooks.md.
"""

#: The agents whose hooks ailoop handles, by the name their command takes.
CLAUDE_CODE = "claude-code"
CURSOR = "cursor"
TOOLS = (CLAUDE_CODE, CURSOR)
