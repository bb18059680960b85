"""The pre-commit hook definition, run by the real pre-commit against this repository."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest
from pattern_testkit import BARE_EXCEPT_SNIPPET, PATTERNS_TOML

REPO = Path(__file__).resolve().parents[2]


def pre_commit_command() -> list[str]:
    probe = subprocess.run(
        [sys.executable, "-m", "pre_commit", "--version"], capture_output=True, check=False
    )
    if probe.returncode == 0:
        return [sys.executable, "-m", "pre_commit"]
    found = shutil.which("pre-commit")
    if found:
        return [found]
    message = "pre-commit is not installed (scripts/patterns-deps.sh installs it)"
    if os.environ.get("CI") == "true":
        pytest.fail(message)
    pytest.skip(message)


def test_hook_fails_a_commit_with_an_enforced_pattern(tmp_path: Path) -> None:
    command = pre_commit_command()
    repo = tmp_path / "project"
    (repo / ".ailoop").mkdir(parents=True)
    enforced = PATTERNS_TOML.replace(
        'title = "bare except"', 'title = "bare except"\nenforce = true'
    )
    (repo / ".ailoop" / "patterns.toml").write_text(enforced, encoding="utf-8")
    (repo / "bad.py").write_text(BARE_EXCEPT_SNIPPET, encoding="utf-8")
    (repo / "good.py").write_text("def f():\n    return 1\n", encoding="utf-8")
    subprocess.run(["git", "init", "-q"], cwd=repo, check=True)
    subprocess.run(["git", "add", "-A"], cwd=repo, check=True)
    env = dict(os.environ)
    env["PRE_COMMIT_HOME"] = str(Path.home() / ".cache" / "ailoop-precommit")
    env["AILOOP_DATA_DIR"] = str(tmp_path / "data")
    env.pop("PYTHONPATH", None)  # the hook runs ailoop from its own environment
    result = subprocess.run(
        [*command, "try-repo", str(REPO), "ailoop-check", "--files", "bad.py", "good.py"],
        cwd=repo,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
        check=False,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 1, output
    assert "bad.py:4:1: error [pattern:bare-except]" in output
    assert "good.py" not in output.split("- exit code: 1", 1)[-1]
