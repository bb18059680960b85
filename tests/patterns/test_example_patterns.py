"""The TS/React example patterns (examples/patterns/typescript-react.toml) on real TSX.

The example app under examples/patterns/react-app has one instance of each of the five
patterns in App.tsx and main.tsx, and the same code written the way the team wants it in
Fixed.tsx and OrderList.tsx. ``ailoop check`` (the real CLI) must find exactly the five,
and TypeScript's own parser must accept every file (so the rules are tested on TSX that
compiles, not on fragments ast-grep happens to tolerate).
"""

from __future__ import annotations

import json
import os
import re
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from ailoop.patterns.patternset import PatternSet
from tests.conftest import require
from tests.e2e.test_typescript_lsp import ENGINES, NODE_BIN

EXAMPLES = Path(__file__).parents[2] / "examples" / "patterns"
PATTERNS = EXAMPLES / "typescript-react.toml"
APP = EXAMPLES / "react-app" / "src"

#: (file, 1-based line, pattern id) of every finding the example app must give.
EXPECTED = {
    ("src/App.tsx", 10, "then-chain"),
    ("src/App.tsx", 10, "hardcoded-url"),
    ("src/App.tsx", 12, "any-type"),
    ("src/App.tsx", 20, "inline-handler-prop"),
    ("src/main.tsx", 6, "root-without-error-boundary"),
}


@pytest.fixture
def workspace(tmp_path: Path) -> Path:
    """A workspace with the example patterns as its patterns file and the example app."""
    (tmp_path / ".ailoop").mkdir()
    shutil.copy(PATTERNS, tmp_path / ".ailoop" / "patterns.toml")
    shutil.copytree(APP, tmp_path / "src")
    return tmp_path


def check(workspace: Path, *paths: str) -> tuple[int, dict[str, object]]:
    """Run ``ailoop check --strict --format json`` in ``workspace``."""
    result = subprocess.run(
        [sys.executable, "-m", "ailoop", "check", "--strict", "--format", "json", *paths],
        cwd=workspace,
        env={**os.environ, "AILOOP_DATA_DIR": str(workspace / ".data")},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert result.stderr == "", result.stderr
    report: dict[str, object] = json.loads(result.stdout)
    return result.returncode, report


def test_the_example_app_has_exactly_the_five_patterns(workspace: Path) -> None:
    code, report = check(workspace, "src")
    assert report["files_checked"] == 5
    findings = report["findings"]
    assert isinstance(findings, list)
    found = {(f["path"], f["start"]["line"], f["pattern"]) for f in findings}
    assert found == EXPECTED
    assert code == 1  # --strict: every match fails the check


@pytest.mark.parametrize("name", ["Fixed.tsx", "OrderList.tsx", "config.ts"])
def test_the_code_written_the_teams_way_has_none(workspace: Path, name: str) -> None:
    code, report = check(workspace, f"src/{name}")
    assert report["findings"] == []
    assert code == 0


def test_the_file_loads_cleanly_and_each_pattern_says_what_to_do_instead() -> None:
    patterns, problems = PatternSet.from_toml(PATTERNS.read_text(encoding="utf-8"), str(PATTERNS))
    assert problems == []
    ids = {pattern_id for _, _, pattern_id in EXPECTED}
    assert {p for p in ids if patterns.get(p) is not None} == ids
    assert len(patterns) == len(ids)
    for pattern_id in ids:
        pattern = patterns.get(pattern_id)
        assert pattern is not None
        assert pattern.message, pattern_id
        assert pattern.fix, pattern_id


#: TypeScript's syntax errors: the parser's (1000-1199) and JSX's (17000-17999). Missing
#: modules and JSX types (2307, 7026, ...) are expected: the example has no node_modules.
SYNTAX_ERROR = re.compile(r"error TS(1[01]\d\d|17\d\d\d):")


@pytest.mark.node
def test_typescripts_parser_accepts_every_example_file() -> None:
    tsgo = ENGINES / "node_modules" / ".bin" / "tsgo"
    require(tsgo.exists(), f"{tsgo} (run scripts/setup-node-engines.sh)")
    require((NODE_BIN / "node").exists(), f"Node 24 at {NODE_BIN} (run scripts/setup-vscode.sh)")
    files = sorted(str(path) for path in APP.iterdir())
    options = ["--noEmit", "--pretty", "false", "--jsx", "preserve", "--strict", "--target"]
    options += ["es2022", "--module", "esnext", "--moduleResolution", "bundler"]
    result = subprocess.run(
        [str(tsgo), *options, *files],
        env={**os.environ, "PATH": f"{NODE_BIN}{os.pathsep}{os.environ.get('PATH', '')}"},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert "error TS" in result.stdout  # it ran and reported (the missing react module)
    assert SYNTAX_ERROR.findall(result.stdout) == [], result.stdout
