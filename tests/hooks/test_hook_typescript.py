"""TS/JS edits through the agent hooks: the editor's language servers, warm in the worker.

The engines are the real ones ``scripts/setup-node-engines.sh`` installs (Biome and
TypeScript's native server), in a TS/React workspace built as the editor tests build it.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from tests.conftest import trust
from tests.e2e.test_typescript_lsp import node_engines, react_workspace  # noqa: F401
from tests.hooks.hook_testkit import RunHook, apply_tool, events

pytestmark = pytest.mark.node

#: An explicit `any` (Biome's noExplicitAny) and a string assigned to a number (TS 2322).
TOTAL = (
    "export function Total(props: { items: any[] }) {\n"
    '  const count: number = "none";\n'
    "  return <p>{props.items.length + count}</p>;\n"
    "}\n"
)


def write(root: Path, name: str, content: str) -> dict[str, Any]:
    """Claude Code's PostToolUse of a Write that created ``src/<name>``."""
    path = root / "src" / name
    return {
        "session_id": "ts-session",
        "transcript_path": "/home/dev/.claude/projects/shop/t.jsonl",
        "cwd": str(root),
        "permission_mode": "default",
        "hook_event_name": "PostToolUse",
        "tool_name": "Write",
        "tool_input": {"file_path": str(path), "content": content},
        "tool_response": {"type": "create", "filePath": str(path), "content": content},
        "tool_use_id": "toolu_ts",
    }


def test_a_tsx_write_gets_biome_and_typescript_findings(
    node_engines: Path,  # noqa: F811 - first: the worker starts with Node on its PATH
    tmp_path: Path,
    data_dir: Path,
    run_hook: RunHook,
) -> None:
    root = react_workspace(tmp_path / "shop", node_engines)
    trust(root)  # the workspace's own node_modules/.bin
    for name in ("total.tsx", "again.tsx"):  # the second call finds the servers warm
        payload = write(root, name, TOTAL)
        apply_tool(payload, root)
        done = run_hook("claude-code", payload, root)
        assert done.returncode == 0, done.stderr
        output = json.loads(done.stdout)
        context = output["hookSpecificOutput"]["additionalContext"]
        assert context.startswith(f"ailoop: please fix in the code you just wrote to src/{name}:")
        assert "- line 1: biome:lint/suspicious/noExplicitAny" in context, context
        assert "- line 2: ts:2322 " in context, context
    findings = [e["findings"] for e in events(data_dir) if e["kind"] == "generated"]
    assert findings
    assert all(
        "biome:lint/suspicious/noExplicitAny" in keys and "ts:2322" in keys for keys in findings
    )
