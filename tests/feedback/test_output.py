"""Parsing command engine output and LSP diagnostics into findings (pure functions)."""

from __future__ import annotations

import json
import re

import pytest
from hypothesis import given
from hypothesis import strategies as st

from ailoop.feedback.findings import Finding, finding_from_diagnostic, reencode
from ailoop.feedback.output import OutputError, parse_regex_output, parse_sarif_output
from ailoop.positions import column_of, convert_column, index_of

TEXT = "x = 1\ns = '😀'; y = undefined\n"


def test_columns_in_each_encoding() -> None:
    line = "é😀x"
    assert [column_of(line, 2, encoding) for encoding in ("utf-8", "utf-16", "utf-32")] == [
        6,
        3,
        2,
    ]
    assert index_of(line, 3, "utf-16") == 2
    assert index_of(line, 1, "utf-8") == 1  # inside "é": the character after it
    assert index_of(line, 99, "utf-8") == 3
    assert convert_column(line, 6, "utf-8", "utf-16") == 3


@given(st.text(max_size=30), st.integers(min_value=0, max_value=40))
def test_conversion_round_trips_at_character_boundaries(line: str, index: int) -> None:
    index = min(index, len(line))
    for source in ("utf-8", "utf-16", "utf-32"):
        column = column_of(line, index, source)
        assert index_of(line, column, source) == index
        for target in ("utf-8", "utf-16", "utf-32"):
            assert convert_column(line, column, source, target) == column_of(line, index, target)


def test_regex_output_in_utf8_units() -> None:
    pattern = re.compile(r"(?P<line>\d+):(?P<col>\d+): (?P<message>.*)")
    (finding,) = parse_regex_output("lint", pattern, "2:14: m", TEXT, encoding="utf-8")
    assert (finding.start, finding.end) == ((1, 16), (1, 17))


def test_regex_output_with_all_groups() -> None:
    pattern = re.compile(
        r"^-:(?P<line>\d+):(?P<col>\d+): (?P<severity>\w+) (?P<rule>\S+) (?P<message>.*)$"
    )
    output = "noise line\n-:2:14: error E1 undefined name\n-:1:1: note N2 fine\n"
    findings = parse_regex_output("lint", pattern, output, TEXT)
    assert findings == [
        Finding("lint", "E1", "undefined name", 1, (1, 14), (1, 15)),
        Finding("lint", "N2", "fine", 3, (0, 0), (0, 1)),
    ]


def test_regex_output_without_column_marks_the_line_and_uses_default_severity() -> None:
    pattern = re.compile(r"line (?P<line>\d+): (?P<message>.*)")
    (finding,) = parse_regex_output("lint", pattern, "line 1: bad\n", TEXT, default_severity=3)
    assert (finding.rule, finding.severity, finding.start, finding.end) == (
        "unnamed",
        3,
        (0, 0),
        (0, 5),
    )


def test_regex_output_clamps_lines_past_the_end() -> None:
    pattern = re.compile(r"(?P<line>\d+):(?P<message>.*)")
    (finding,) = parse_regex_output("lint", pattern, "99:gone", TEXT)
    assert finding.start[0] == 1


def _sarif(results: list[dict[str, object]], **run: object) -> str:
    return json.dumps({"version": "2.1.0", "runs": [{"results": results, **run}]})


def test_sarif_regions_levels_and_rules() -> None:
    region = {"startLine": 2, "startColumn": 15, "endLine": 2, "endColumn": 24}
    output = _sarif(
        [
            {
                "ruleId": "no-undef",
                "level": "error",
                "message": {"text": "'undefined' is not defined"},
                "locations": [{"physicalLocation": {"region": region}}],
            },
            {"message": {"text": "file-level note"}, "level": "note"},
        ]
    )
    assert parse_sarif_output("eslint", output, TEXT) == [
        Finding("eslint", "no-undef", "'undefined' is not defined", 1, (1, 14), (1, 23)),
        Finding("eslint", "unnamed", "file-level note", 3, (0, 0), (0, 5)),
    ]


def test_sarif_code_point_columns_are_converted() -> None:
    region = {"startLine": 2, "startColumn": 6, "endColumn": 7}  # the emoji
    output = _sarif(
        [{"message": {"text": "m"}, "locations": [{"physicalLocation": {"region": region}}]}],
        columnKind="unicodeCodePoints",
    )
    (finding,) = parse_sarif_output("tool", output, TEXT)
    assert (finding.start, finding.end) == ((1, 5), (1, 7))
    (in_utf8,) = parse_sarif_output("tool", output, TEXT, encoding="utf-8")
    assert (in_utf8.start, in_utf8.end) == ((1, 5), (1, 9))


@pytest.mark.parametrize("output", ["not json", "[]", '{"runs": 3}'])
def test_non_sarif_output_is_an_error(output: str) -> None:
    with pytest.raises(OutputError):
        parse_sarif_output("tool", output, TEXT)


def test_diagnostic_conversion() -> None:
    diagnostic = {
        "range": {"start": {"line": 3, "character": 4}, "end": {"line": 3, "character": 9}},
        "severity": 1,
        "code": "F401",
        "message": "`os` imported but unused",
    }
    assert finding_from_diagnostic("ruff", diagnostic, ["F4"]) == Finding(
        "ruff", "F401", "`os` imported but unused", 1, (3, 4), (3, 9), extra=True
    )
    assert finding_from_diagnostic("ruff", diagnostic, ["BLE"]).extra is False  # type: ignore[union-attr]


def test_codeless_unused_hints_are_dropped_and_malformed_diagnostics_skipped() -> None:
    position = {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 1}}
    fading = {"range": position, "severity": 4, "tags": [1], "message": "`x` is unused"}
    assert finding_from_diagnostic("ty", fading) is None
    assert finding_from_diagnostic("ty", {"range": position}) is None
    assert finding_from_diagnostic("ty", {"message": "no range"}) is None
    plain = finding_from_diagnostic("ty", {"range": position, "message": "m", "severity": 9})
    assert plain is not None
    assert (plain.rule, plain.severity) == ("unnamed", 2)


def test_reencode_converts_findings_from_a_child_that_kept_its_encoding() -> None:
    findings = [Finding("ty", "r", "m", 1, (1, 14), (1, 23))]  # UTF-16 columns on line 2
    (converted,) = reencode(findings, TEXT, "utf-16", "utf-8")
    assert (converted.start, converted.end) == ((1, 16), (1, 25))
    assert reencode(findings, TEXT, "utf-16", "utf-16") is findings
