"""Parsing a command engine's output (SARIF or lines matched by a regex) into findings.

Pure functions: output text and the document text in, findings out. Tools count lines and
columns from 1 (columns in characters, or UTF-16 units in SARIF); LSP counts from 0 and
measures columns in the negotiated encoding (UTF-16 unless the editor chose otherwise), so
columns are converted with the document's text.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from typing import Any

from ailoop.feedback.findings import Finding, rule_name
from ailoop.feedback.settings import severity_from_name
from ailoop.positions import column_of, convert_column, index_of

#: SARIF ``level`` -> LSP severity.
_SARIF_LEVELS = {"error": 1, "warning": 2, "note": 3, "none": 4}


class OutputError(ValueError):
    """The command's output is not in the format its settings say."""


def _line_text(lines: Sequence[str], line: int) -> str:
    return lines[line] if 0 <= line < len(lines) else ""


def _clamp_line(lines: Sequence[str], line: int) -> int:
    return min(max(line, 0), max(len(lines) - 1, 0))


def _range_from_one_based(
    lines: Sequence[str],
    line: int,
    column: int | None,
    end_line: int | None,
    end_column: int | None,
    source: str,
    target: str,
) -> tuple[tuple[int, int], tuple[int, int]]:
    """Convert 1-based tool positions to a 0-based LSP range; a missing column means the line.

    ``source`` is the unit of the tool's columns (``"utf-32"`` for characters), ``target``
    the unit of the finding's.
    """
    start_line = _clamp_line(lines, line - 1)
    text = _line_text(lines, start_line)
    if column is None:
        start_char = 0
        if end_line is None and end_column is None:
            return (start_line, 0), (start_line, column_of(text, len(text), target))
    else:
        start_char = convert_column(text, column - 1, source, target)
    stop_line = _clamp_line(lines, end_line - 1) if end_line is not None else start_line
    stop_text = _line_text(lines, stop_line)
    if end_column is not None:
        stop_char = convert_column(stop_text, end_column - 1, source, target)
    elif end_line is not None:
        stop_char = column_of(stop_text, len(stop_text), target)
    else:  # a point: mark the character there
        index = index_of(text, start_char, target)
        stop_char = column_of(text, index + 1, target) if index < len(text) else start_char + 1
    start = (start_line, max(start_char, 0))
    end = (stop_line, max(stop_char, 0))
    return start, max(start, end)


def _optional_int(value: str | None) -> int | None:
    if value is None or not value.strip():
        return None
    try:
        return int(value)
    except ValueError:
        return None


def parse_regex_output(
    engine: str,
    pattern: re.Pattern[str],
    output: str,
    text: str,
    default_severity: int = 2,
    encoding: str = "utf-16",
) -> list[Finding]:
    """Match ``pattern`` against every output line; each match is one finding.

    Groups: ``line`` and ``message`` (required); ``col``/``column``, ``end_line``,
    ``end_col``/``end_column`` (1-based, columns in characters); ``rule``/``code``;
    ``severity`` (a word such as error, warning, note). Lines that do not match are ignored.
    Finding positions are in ``encoding`` units.
    """
    lines = text.splitlines()
    findings = []
    for output_line in output.splitlines():
        match = pattern.search(output_line)
        if match is None:
            continue
        groups = match.groupdict()
        line = _optional_int(groups.get("line"))
        message = groups.get("message")
        if line is None or not message:
            continue
        column = _optional_int(groups.get("col") or groups.get("column"))
        end_line = _optional_int(groups.get("end_line"))
        end_column = _optional_int(groups.get("end_col") or groups.get("end_column"))
        start, end = _range_from_one_based(
            lines, line, column, end_line, end_column, "utf-32", encoding
        )
        severity_word = groups.get("severity")
        severity = severity_from_name(severity_word) if severity_word else None
        rule = groups.get("rule") or groups.get("code") or "unnamed"
        findings.append(
            Finding(
                engine=engine,
                rule=rule_name(rule),
                message=message.strip(),
                severity=severity or default_severity,
                start=start,
                end=end,
            )
        )
    return findings


def _dict(value: Any) -> Mapping[str, Any]:
    return value if isinstance(value, Mapping) else {}


def _int_field(region: Mapping[str, Any], key: str) -> int | None:
    value = region.get(key)
    return value if isinstance(value, int) and not isinstance(value, bool) else None


def parse_sarif_output(
    engine: str, output: str, text: str, encoding: str = "utf-16"
) -> list[Finding]:
    """Read a SARIF 2.1 log; every result with a region becomes a finding.

    Columns are UTF-16 code units unless the run declares ``columnKind: unicodeCodePoints``;
    finding positions are in ``encoding`` units.
    Results without a location mark the first line. Raises :class:`OutputError` when the
    output is not a SARIF log.
    """
    try:
        log = json.loads(output)
    except ValueError as error:
        raise OutputError(f"output is not JSON: {error}") from None
    if not isinstance(log, Mapping) or not isinstance(log.get("runs"), list):
        raise OutputError("output is not a SARIF log (no 'runs' list)")
    lines = text.splitlines()
    findings = []
    for run in log["runs"]:
        run = _dict(run)
        source = "utf-32" if run.get("columnKind") == "unicodeCodePoints" else "utf-16"
        results = run.get("results")
        for result in results if isinstance(results, list) else []:
            result = _dict(result)
            message = _dict(result.get("message")).get("text")
            if not isinstance(message, str) or not message:
                continue
            rule = result.get("ruleId")
            level = result.get("level")
            severity = _SARIF_LEVELS.get(level, 2) if isinstance(level, str) else 2
            locations = result.get("locations")
            location = _dict(locations[0]) if isinstance(locations, list) and locations else {}
            region = _dict(_dict(location.get("physicalLocation")).get("region"))
            line = _int_field(region, "startLine") or 1
            start, end = _range_from_one_based(
                lines,
                line,
                _int_field(region, "startColumn"),
                _int_field(region, "endLine"),
                _int_field(region, "endColumn"),
                source,
                encoding,
            )
            findings.append(
                Finding(
                    engine=engine,
                    rule=rule_name(rule),
                    message=message,
                    severity=severity,
                    start=start,
                    end=end,
                )
            )
    return findings
