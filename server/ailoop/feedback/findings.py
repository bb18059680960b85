"""What an engine found in a document, and the conversion from LSP diagnostics."""

from __future__ import annotations

import re
from collections.abc import Collection, Mapping
from dataclasses import dataclass, replace
from typing import Any

from ailoop.positions import convert_column

#: LSP ``DiagnosticSeverity`` values.
ERROR, WARNING, INFORMATION, HINT = 1, 2, 3, 4

#: LSP ``DiagnosticTag.Unnecessary``: editors fade such code (unused names), not a finding.
_TAG_UNNECESSARY = 1


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem an engine reported, with an LSP range (0-based).

    Columns are in the hub's position encoding: UTF-16 code units unless the hub was
    created with another (the one the editor negotiated).
    """

    engine: str
    rule: str
    message: str
    severity: int
    start: tuple[int, int]
    end: tuple[int, int]
    #: True when the rule is one of the extra rules ailoop enables for AI code only (not
    #: selected by the workspace's own configuration as far as ailoop can tell).
    extra: bool = False
    #: The rule's name (``bare-except`` for ruff's E722), from the link to its
    #: documentation the engine sent (``codeDescription.href``), or the rule itself when it
    #: is a name already (ty's ``unresolved-reference``); "" when unknown.
    name: str = ""

    @property
    def code(self) -> str:
        """The diagnostic code ailoop publishes: ``<engine>:<rule>``."""
        return f"{self.engine}:{self.rule}"


#: What an engine's rule name may look like: the part of a pattern key after the engine
#: (see :data:`ailoop.patterns.model.KEY`). Anything else is ``unnamed``.
_RULE = re.compile(r"[A-Za-z0-9_.:/@-]{1,100}")


#: A rule named ``plugin(rule)``, as oxlint names them (``eslint(no-unused-vars)``).
_PLUGIN_RULE = re.compile(r"([A-Za-z0-9_@/-]{1,50})\(([A-Za-z0-9_/-]{1,100})\)")


def rule_name(value: object) -> str:
    """Return ``value`` as a rule name when it is one, else ``"unnamed"``.

    ``plugin(rule)`` becomes ``plugin/rule``.
    """
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        text = str(value).strip()
        plugin = _PLUGIN_RULE.fullmatch(text)
        if plugin is not None:
            text = f"{plugin[1]}/{plugin[2]}"
        if _RULE.fullmatch(text):
            return text
    return "unnamed"


#: What a rule name looks like: lower-case words joined by ``-`` (``bare-except``).
_NAME = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)+")


def documented_name(rule: str, code_description: object) -> str:
    """Return a rule's name: the last part of its documentation link, else the rule.

    ruff links ``E722`` to ``https://docs.astral.sh/ruff/rules/bare-except``, ty links
    ``unresolved-reference`` to ``…/rules#unresolved-reference``. Only a name of the
    shape of :data:`_NAME` (at most 100 characters) is kept: it is shown to the user.
    """
    href = code_description.get("href") if isinstance(code_description, Mapping) else None
    if isinstance(href, str) and len(href) <= 2000:
        last = re.split(r"[/#]", href.rstrip("/"))[-1].lower()
        if len(last) <= 100 and _NAME.fullmatch(last):
            return last
    return rule if len(rule) <= 100 and _NAME.fullmatch(rule) else ""


def _position(value: Any) -> tuple[int, int] | None:
    if not isinstance(value, Mapping):
        return None
    line, character = value.get("line"), value.get("character")
    if isinstance(line, int) and isinstance(character, int) and line >= 0 and character >= 0:
        return (line, character)
    return None


def finding_from_diagnostic(
    engine: str, diagnostic: Mapping[str, Any], extra_prefixes: Collection[str] = ()
) -> Finding | None:
    """Turn one LSP ``Diagnostic`` (as decoded JSON) into a :class:`Finding`.

    Returns ``None`` for malformed diagnostics and for code-less hints that only mark code
    as unused for fading (they carry no rule a team could accept or reject).
    ``extra_prefixes`` are rule selectors (``"BLE"``, ``"S110"``) whose findings are
    marked :attr:`Finding.extra`.
    """
    range_ = diagnostic.get("range")
    if not isinstance(range_, Mapping):
        return None
    start, end = _position(range_.get("start")), _position(range_.get("end"))
    message = diagnostic.get("message")
    if start is None or end is None or not isinstance(message, str):
        return None
    severity = diagnostic.get("severity")
    if not isinstance(severity, int) or not ERROR <= severity <= HINT:
        severity = WARNING
    code = diagnostic.get("code")
    if isinstance(code, (str, int)) and not isinstance(code, bool) and str(code):
        rule = rule_name(code)
    else:
        tags = diagnostic.get("tags")
        if severity == HINT and isinstance(tags, list) and _TAG_UNNECESSARY in tags:
            return None
        rule = "unnamed"
    return Finding(
        engine=engine,
        rule=rule,
        message=message,
        severity=severity,
        start=start,
        end=end,
        extra=any(prefix == "ALL" or rule.startswith(prefix) for prefix in extra_prefixes),
        name=documented_name(rule, diagnostic.get("codeDescription")),
    )


def findings_from_diagnostics(
    engine: str, diagnostics: Collection[Mapping[str, Any]], extra_prefixes: Collection[str] = ()
) -> list[Finding]:
    """Convert LSP diagnostics, skipping the ones :func:`finding_from_diagnostic` drops."""
    findings = []
    for diagnostic in diagnostics:
        finding = finding_from_diagnostic(engine, diagnostic, extra_prefixes)
        if finding is not None:
            findings.append(finding)
    return findings


def reencode(findings: list[Finding], text: str, source: str, target: str) -> list[Finding]:
    """Convert the findings' columns from ``source`` to ``target`` encoding units."""
    if source == target:
        return findings
    lines = text.splitlines()

    def convert(position: tuple[int, int]) -> tuple[int, int]:
        line, column = position
        line_text = lines[line] if line < len(lines) else ""
        return (line, convert_column(line_text, column, source, target))

    return [
        replace(finding, start=convert(finding.start), end=convert(finding.end))
        for finding in findings
    ]
