"""The extension's own unit tests (``npm test``: ``node --test`` on the modules without ``vscode``)."""

from __future__ import annotations

import re
import subprocess

from vscode_harness import CLIENT_DIR, EditorKit


def test_node_unit_tests_pass(editor_kit: EditorKit) -> None:
    """Compile the pure modules and run their tests with Node's test runner."""
    proc = subprocess.run(
        ["npm", "test"],
        cwd=CLIENT_DIR,
        env=editor_kit.node_env(),
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert proc.returncode == 0, f"npm test failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-2000:]}"
    passed = re.search(r"^\S+ pass (\d+)$", proc.stdout, re.MULTILINE)
    assert passed is not None, proc.stdout[-2000:]
    assert int(passed.group(1)) > 0, "no unit test ran"
