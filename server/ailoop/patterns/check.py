"""Checking files and diffs against the team's patterns, and the reports (text, JSON, SARIF).

Positions in reports are one-based lines and columns, columns counted in Unicode code
points (SARIF ``columnKind: unicodeCodePoints``).
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path
from typing import Any
from urllib.parse import quote

from ailoop import __version__
from ailoop.patterns.languages import language_for_path
from ailoop.patterns.model import PatternMatch
from ailoop.patterns.patternset import Pattern
from ailoop.patterns.stats import PatternStats, diagnostic_message
from ailoop.patterns.workspace import Workspace

SARIF_SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
SARIF_VERSION = "2.1.0"

#: Directory names a directory walk never enters.
SKIPPED_DIRECTORIES = frozenset(
    {".git", ".hg", ".svn", ".venv", "venv", "node_modules", "__pycache__", ".mypy_cache",
     ".ruff_cache", ".pytest_cache", ".tox", "build", "dist", ".ailoop"}
)  # fmt: skip

_HUNK = re.compile(r"^@@ -\d+(?:,\d+)? \+(\d+)(?:,(\d+))? @@")


class CheckInputError(Exception):
    """An input named on the command line cannot be checked."""


@dataclasses.dataclass(frozen=True)
class Finding:
    """A pattern match in a file, with the team's numbers and whether it fails the check."""

    path: str  # relative to the workspace root when inside it, POSIX separators
    match: PatternMatch
    stats: PatternStats | None
    supported: bool
    message: str


@dataclasses.dataclass
class CheckReport:
    """Everything one ``ailoop check`` run found."""

    workspace: Workspace
    findings: list[Finding] = dataclasses.field(default_factory=list)
    problems: list[str] = dataclasses.field(default_factory=list)
    files_checked: int = 0


def _display_path(path: Path, root: Path) -> str:
    try:
        return path.resolve().relative_to(root).as_posix()
    except ValueError:
        return path.as_posix()


def _walk(path: Path) -> Iterator[Path]:
    if path.is_dir():
        for child in sorted(path.iterdir()):
            if child.is_dir() and child.name in SKIPPED_DIRECTORIES:
                continue
            yield from _walk(child)
    elif language_for_path(path) is not None:
        yield path


def _findings_for(
    path: str,
    matches: Iterable[PatternMatch],
    workspace: Workspace,
    stats: Mapping[str, PatternStats],
    strict: bool,
) -> list[Finding]:
    findings = []
    for match in matches:
        pattern = workspace.patterns.get(match.pattern_id)
        numbers = stats.get(match.key)
        supported = (
            strict or bool(pattern and pattern.enforce) or bool(numbers and numbers.supported)
        )
        detail = "" if match.message == match.title else f". {match.message}"
        if numbers is not None:
            message = f"{diagnostic_message(numbers, match.title)}{detail}"
        else:
            message = f"{match.title}{detail} (no rejections recorded yet)"
        findings.append(Finding(path, match, numbers, supported, message))
    return findings


def check_paths(
    paths: Sequence[Path],
    workspace: Workspace,
    stats: Mapping[str, PatternStats],
    strict: bool = False,
) -> CheckReport:
    """Check files, and the source files under directories, against the workspace's patterns."""
    report = CheckReport(workspace)
    for given in paths:
        if not given.exists():
            report.problems.append(f"{given}: no such file or directory")
            continue
        for path in _walk(given) if given.is_dir() else [given]:
            language = language_for_path(path) or ""
            try:
                text = path.read_text(encoding="utf-8")
            except (OSError, UnicodeDecodeError) as exc:
                report.problems.append(f"{path}: cannot be read ({exc})")
                continue
            report.files_checked += 1
            shown = _display_path(path, workspace.root)
            matches = workspace.patterns.match(text, language, shown)
            report.findings.extend(_findings_for(shown, matches, workspace, stats, strict))
    report.problems.extend(workspace.patterns.take_timeouts())
    return report


def _diff_path(field: str) -> str:
    """Return the path of a ``+++`` line: git quotes unusual names C-style."""
    field = field.rstrip("\n")
    if field.startswith('"'):
        end = field.rfind('"')
        quoted = field[1:end] if end > 0 else field[1:]
        raw = quoted.encode("latin-1", "backslashreplace").decode("unicode_escape")
        return raw.encode("latin-1", "replace").decode("utf-8", "replace")
    return field.split("\t", 1)[0].strip()


def added_lines(diff: str) -> dict[str, set[int]]:
    """Return, per new file path of a unified diff, the zero-based lines it adds."""
    added: dict[str, set[int]] = {}
    current: set[int] | None = None
    line = 0
    for raw in diff.splitlines():
        if raw.startswith("+++ "):
            name = _diff_path(raw[4:])
            if name == "/dev/null":
                current = None
                continue
            if name.startswith("b/"):
                name = name[2:]
            current = added.setdefault(name, set())
            continue
        if raw.startswith(("--- ", "diff ", "index ")):
            continue
        hunk = _HUNK.match(raw)
        if hunk:
            line = int(hunk.group(1)) - 1
            continue
        if current is None:
            continue
        if raw.startswith("+"):
            current.add(line)
            line += 1
        elif raw.startswith(" ") or raw == "":
            line += 1
    return {name: lines for name, lines in added.items() if lines}


def check_diff(
    diff: str,
    workspace: Workspace,
    stats: Mapping[str, PatternStats],
    strict: bool = False,
) -> CheckReport:
    """Check the lines a unified diff adds.

    Each changed file is read from the workspace (paths in the diff are relative to the
    root) and matched whole, so ast-grep sees the full syntax; only matches touching an
    added line are reported.
    """
    report = CheckReport(workspace)
    for name, lines in sorted(added_lines(diff).items()):
        path = workspace.root / name
        language = language_for_path(path)
        if language is None:
            continue
        try:
            text = path.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            report.problems.append(f"{name}: in the diff but cannot be read ({exc})")
            continue
        report.files_checked += 1
        matches = [
            m
            for m in workspace.patterns.match(text, language, name)
            if any(n in lines for n in range(m.start[0], m.end[0] + 1))
        ]
        report.findings.extend(_findings_for(name, matches, workspace, stats, strict))
    report.problems.extend(workspace.patterns.take_timeouts())
    return report


def render_text(report: CheckReport) -> str:
    """Render the report as ``path:line:col: level [code] message`` lines and a summary."""
    lines = []
    for finding in report.findings:
        level = "error" if finding.supported else "note"
        line, column = finding.match.start
        lines.append(
            f"{finding.path}:{line + 1}:{column + 1}: {level} [{finding.match.key}] "
            f"{finding.message}"
        )
    failing = sum(f.supported for f in report.findings)
    lines.append(
        f"{report.files_checked} file(s) checked, {len(report.findings)} pattern match(es), "
        f"{failing} failing"
    )
    return "\n".join(lines) + "\n"


def _stats_json(stats: PatternStats | None) -> dict[str, Any] | None:
    return None if stats is None else stats.to_json()


def render_json(report: CheckReport) -> dict[str, Any]:
    """Render the report as a JSON-ready dict (``version`` 1)."""
    return {
        "version": 1,
        "files_checked": report.files_checked,
        "findings": [
            {
                "path": f.path,
                "code": f.match.key,
                "pattern": f.match.pattern_id,
                "title": f.match.title,
                "message": f.message,
                "supported": f.supported,
                "start": {"line": f.match.start[0] + 1, "column": f.match.start[1] + 1},
                "end": {"line": f.match.end[0] + 1, "column": f.match.end[1] + 1},
                "stats": _stats_json(f.stats),
            }
            for f in report.findings
        ],
        "problems": list(report.problems),
    }


def _sentence(text: str) -> str:
    """Return ``text`` as a sentence: a capital first letter and a full stop."""
    text = " ".join(text.split())
    if not text:
        return text
    text = text[0].upper() + text[1:]
    return text if text.endswith((".", "!", "?", ":")) else text + "."


def sarif_help(pattern: Pattern) -> str:
    """Return a pattern's help text for SARIF: its fix, else what it says, as sentences."""
    if pattern.fix:
        return _sentence(pattern.fix)
    if pattern.message and pattern.message != pattern.title:
        return _sentence(pattern.message)
    return (
        f"Code with {pattern.title!r} matches the team's pattern {pattern.key} "
        f"(.ailoop/patterns.toml), which marks code the team has rejected. "
        "Write it another way."
    )


def render_sarif(report: CheckReport) -> dict[str, Any]:
    """Render the report as a SARIF 2.1.0 log with one run."""
    patterns = report.workspace.patterns.patterns
    rule_index = {p.key: i for i, p in enumerate(patterns)}
    rules: list[dict[str, Any]] = [
        {
            "id": p.key,
            "name": p.id,
            "shortDescription": {"text": p.title},
            "fullDescription": {"text": p.message},
            "help": {"text": sarif_help(p)},
            "defaultConfiguration": {"level": "error" if p.enforce else "warning"},
        }
        for p in patterns
    ]
    results = []
    for finding in report.findings:
        if finding.match.key not in rule_index:  # defensive: every match comes from a pattern
            continue
        result: dict[str, Any] = {
            "ruleId": finding.match.key,
            "ruleIndex": rule_index[finding.match.key],
            "level": "error" if finding.supported else "note",
            "message": {"text": finding.message},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": {
                            "uri": quote(finding.path),
                            "uriBaseId": "%SRCROOT%",
                        },
                        "region": {
                            "startLine": finding.match.start[0] + 1,
                            "startColumn": finding.match.start[1] + 1,
                            "endLine": finding.match.end[0] + 1,
                            "endColumn": finding.match.end[1] + 1,
                        },
                    }
                }
            ],
        }
        if finding.stats is not None:
            result["properties"] = {
                "rejected": finding.stats.rejected,
                "rejectedRecent": finding.stats.rejected_recent,
                "accepted": finding.stats.accepted,
                "score": round(finding.stats.score, 4),
                "lift": round(finding.stats.lift, 4),
                "supported": finding.stats.supported,
            }
        results.append(result)
    return {
        "$schema": SARIF_SCHEMA,
        "version": SARIF_VERSION,
        "runs": [
            {
                "tool": {
                    "driver": {
                        "name": "ailoop",
                        "version": __version__,
                        "rules": rules,
                    }
                },
                "originalUriBaseIds": {"%SRCROOT%": {"uri": report.workspace.root.as_uri() + "/"}},
                "columnKind": "unicodeCodePoints",
                # incomplete when an input was unreadable or a pattern was skipped
                "invocations": [
                    {
                        "executionSuccessful": not report.problems,
                        "toolExecutionNotifications": [
                            {"level": "warning", "message": {"text": problem}}
                            for problem in report.problems
                        ],
                    }
                ],
                "results": results,
            }
        ],
    }
