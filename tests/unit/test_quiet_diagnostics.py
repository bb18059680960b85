"""Pure logic of quiet diagnostics: merging findings, action titles, names, the setting."""

from __future__ import annotations

from typing import Any

import pytest
from lsprotocol import types

from ailoop.feedback.findings import finding_from_diagnostic
from ailoop.lsp.diagnostics import merge_findings
from ailoop.lsp.review import key_title
from ailoop.settings import parse


def finding(
    code: str,
    line: int,
    start: int,
    end: int,
    message: str = "m",
    severity: int = 2,
    **data: Any,
) -> types.Diagnostic:
    return types.Diagnostic(
        range=types.Range(types.Position(line, start), types.Position(line, end)),
        message=message,
        severity=types.DiagnosticSeverity(severity),
        code=code,
        source="ailoop",
        data={"snippet": "sha256:s", **data},
    )


def test_a_rule_and_the_team_pattern_named_after_it_merge() -> None:
    rule = finding("ruff:E722", 3, 4, 10, "Do not use bare `except` (in an AI snippet)", 2)
    rule.data["name"] = "bare-except"  # type: ignore[index]
    team = finding(
        "pattern:bare-except",
        3,
        0,
        11,
        "known rejection pattern: bare except — rejected 3× (3 in the last 7 days)"
        " (in an AI snippet)",
        1,
        title="bare except",
    )
    (one,) = merge_findings([team, rule])
    assert one.code == "ruff:E722"
    assert one.range == rule.range
    assert one.severity == types.DiagnosticSeverity.Error  # the most severe of the two
    assert one.data["codes"] == ["ruff:E722", "pattern:bare-except"]
    assert one.data["names"] == {"ruff:E722": "bare-except", "pattern:bare-except": "bare except"}
    assert one.message == (
        "Do not use bare `except` (in an AI snippet); "
        "known rejection pattern: bare except — rejected 3× (3 in the last 7 days)"
    )


def test_a_pattern_naming_the_rule_by_its_code_merges_too() -> None:
    rule = finding("ruff:E722", 3, 4, 10)
    (one,) = merge_findings([rule, finding("pattern:E722", 3, 0, 11)])
    assert one.data["codes"] == ["ruff:E722", "pattern:E722"]


def test_ruff_undefined_name_and_ty_unresolved_reference_merge_on_one_range() -> None:
    ruff = finding("ruff:F821", 4, 11, 20, "Undefined name `read_file`", 2, name="undefined-name")
    ty = finding("ty:unresolved-reference", 4, 11, 20, "Name `read_file` used", 1)
    (one,) = merge_findings([ruff, ty])
    assert one.code == "ty:unresolved-reference"  # the error leads
    assert set(one.data["codes"]) == {"ruff:F821", "ty:unresolved-reference"}


@pytest.mark.parametrize(
    "items",
    [
        # the same rule on two names of one line
        [finding("ruff:F821", 4, 0, 3), finding("ruff:F821", 4, 6, 9)],
        # F821 and ty's rule on different ranges of the line
        [finding("ruff:F821", 4, 0, 3), finding("ty:unresolved-reference", 4, 6, 9)],
        # a team pattern that names another rule than the one on its line
        [
            finding("ruff:S307", 2, 15, 24, name="suspicious-eval-usage"),
            finding("pattern:eval", 2, 15, 24),
        ],
        # the same problem in two snippets
        [finding("ruff:E722", 3, 4, 10), finding("ruff:E722", 3, 4, 10, snippet="sha256:t")],
        # on different lines
        [
            finding("ruff:E722", 3, 4, 10, name="bare-except"),
            finding("pattern:bare-except", 4, 0, 5),
        ],
    ],
)
def test_different_problems_stay_apart(items: list[types.Diagnostic]) -> None:
    merged = merge_findings(items)
    assert [d.data["codes"] for d in merged] == [[str(d.code)] for d in items]


def test_a_rejected_snippets_finding_and_the_same_unowned_finding_are_one() -> None:
    kept = finding("ruff:E722", 3, 4, 10, "Do not use bare `except` (rejected AI snippet)")
    kept.data = {"rejected": "sha256:s", "codes": ["ruff:E722"]}
    plain = finding("ruff:E722", 3, 4, 10, "Do not use bare `except`")
    plain.data = {"name": "bare-except"}
    (one,) = merge_findings([plain, kept])
    assert one.message.endswith("(rejected AI snippet)")
    assert one.data["rejected"] == "sha256:s"


@pytest.mark.parametrize(
    ("key", "name", "title"),
    [
        ("ruff:E722", "bare-except", "bare except (ruff E722)"),
        ("ty:unresolved-reference", "unresolved-reference", "unresolved reference (ty)"),
        ("pattern:bare-except", "bare except", "bare except (team pattern)"),
        (
            "pattern:open-no-encoding",
            "open() without an encoding",
            "open() without an encoding (team pattern open-no-encoding)",
        ),
        ("probe:unnamed", "", "probe unnamed"),
        ("ruff:E722", "bare\x1b-except\n", "bare except (ruff E722)"),  # cleaned
    ],
)
def test_reject_titles_say_each_thing_once(key: str, name: str, title: str) -> None:
    assert key_title(key, name) == title


@pytest.mark.parametrize(
    ("code", "description", "name"),
    [
        ("E722", {"href": "https://docs.astral.sh/ruff/rules/bare-except"}, "bare-except"),
        ("E722", {"href": "https://docs.astral.sh/ruff/rules/bare-except/"}, "bare-except"),
        (
            "unresolved-reference",
            {"href": "https://ty.dev/rules#unresolved-reference"},
            "unresolved-reference",
        ),
        ("unresolved-reference", None, "unresolved-reference"),  # the rule is a name already
        ("E722", None, ""),
        ("E722", {"href": "https://x/rules/Not A Name"}, ""),
        ("E722", {"href": 42}, ""),
        ("E722", "https://docs.astral.sh/ruff/rules/bare-except", ""),
    ],
)
def test_a_findings_name_comes_from_its_documentation_link(
    code: str, description: object, name: str
) -> None:
    diagnostic: dict[str, Any] = {
        "range": {"start": {"line": 0, "character": 0}, "end": {"line": 0, "character": 1}},
        "message": "m",
        "code": code,
    }
    if description is not None:
        diagnostic["codeDescription"] = description
    found = finding_from_diagnostic("ruff", diagnostic)
    assert found is not None
    assert found.name == name


def test_detect_marker_takes_line_or_full_and_reports_anything_else() -> None:
    settings, problems = parse({"detect": {"marker": "full"}}, "test")
    assert (settings.detect.marker, problems) == ("full", [])
    settings, problems = parse({"detect": {"marker": "loud", "minLines": 4}}, "test")
    assert (settings.detect.marker, settings.detect.min_lines) == ("line", 4)
    assert problems == ["test: 'detect.marker' must be one of line, full, not 'loud'; using 'line'"]
