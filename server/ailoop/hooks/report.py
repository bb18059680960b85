"""What a hook tells the agent: findings on the lines it just wrote, with the team's numbers.

Team patterns are reported when the statistics support them (the same as in the editor),
when they are marked ``enforce = true``, or when the team blocks on them
(``[tool.ailoop.hooks] block_on``). Engine findings are all reported, with the team's
numbers when the rule has support. Nothing found: no message at all.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Iterable, Mapping, Sequence
from dataclasses import dataclass

from ailoop.capture.document import split_lines
from ailoop.hooks.engines import EngineFinding
from ailoop.patterns.feedback import PatternFeedback
from ailoop.patterns.model import PatternMatch, normalize_key
from ailoop.patterns.stats import PatternStats, diagnostic_message

#: Files above this size are matched only around the inserted lines, not whole.
WHOLE_FILE_LIMIT = 1_000_000
#: At most this many findings are listed; the rest are counted.
MAX_LISTED = 20


@dataclass(frozen=True)
class AgentFinding:
    """One thing for the agent to fix: ``line`` is one-based, ``code`` the rule or pattern key."""

    line: int
    code: str
    message: str
    fix: str = ""


def block_keys(hooks_table: Mapping[str, object]) -> tuple[frozenset[str], list[str]]:
    """Read ``block_on`` from the ``hooks`` settings table; return the keys and problems."""
    raw = hooks_table.get("block_on", [])
    if not isinstance(raw, list) or not all(isinstance(k, str) and k.strip() for k in raw):
        return frozenset(), [
            f"hooks.block_on must be a list of pattern keys such as 'pattern:bare-except', "
            f"not {raw!r}; nothing blocks"
        ]
    return frozenset(normalize_key(k) for k in raw), []


def _window(text: str, lines: Collection[int]) -> tuple[str, int]:
    """Return the part of ``text`` from the first to the last of ``lines``, and its first line."""
    first, last = min(lines), max(lines)
    all_lines = split_lines(text)
    return "".join(all_lines[first : last + 1]), first


def pattern_matches(
    feedback: PatternFeedback, text: str, language: str, lines: Collection[int]
) -> list[tuple[int, PatternMatch]]:
    """Return ``(zero-based file line, match)`` for the team patterns on ``lines``.

    The whole file is matched (so ast-grep sees the full syntax) unless it is very large;
    only matches that touch an inserted line are kept.
    """
    if not lines or not len(feedback.patterns):
        return []
    offset = 0
    if len(text) > WHOLE_FILE_LIMIT:
        text, offset = _window(text, lines)
    found = []
    for match in feedback.patterns.match(text, language):
        touched = [
            offset + n for n in range(match.start[0], match.end[0] + 1) if offset + n in lines
        ]
        if touched:
            found.append((touched[0], match))
    return found


def pattern_findings(
    feedback: PatternFeedback,
    matches: Sequence[tuple[int, PatternMatch]],
    stats: Mapping[str, PatternStats],
    block_on: Collection[str],
) -> list[AgentFinding]:
    """Return the matches worth telling the agent about, with numbers and a fix each."""
    out = []
    for line, match in matches:
        pattern = feedback.patterns.get(match.pattern_id)
        numbers = stats.get(match.key)
        supported = numbers is not None and numbers.supported
        enforced = pattern is not None and pattern.enforce
        if not (supported or enforced or match.key in block_on):
            continue
        if numbers is not None and supported:
            message = diagnostic_message(numbers, match.title)
        else:
            message = f"team pattern: {match.title}"
        out.append(AgentFinding(line + 1, match.key, message, pattern.hint if pattern else ""))
    return out


def engine_agent_findings(
    found: Iterable[EngineFinding], rule_note: Callable[[str], str | None]
) -> list[AgentFinding]:
    """Turn engine findings into agent findings, adding the team's numbers where supported."""
    out = []
    for finding in found:
        message = f"{finding.code.removeprefix('ruff:')} {finding.message}"
        if finding.code.startswith("ruff:"):
            message = f"ruff {message}"
        note = rule_note(finding.code)
        if note:
            message += f" ({note})"
        out.append(AgentFinding(finding.line + 1, finding.code, message))
    return out


def render(findings: Sequence[AgentFinding], display_path: str) -> str:
    """Return the message for the agent, or ``""`` when there is nothing to fix."""
    if not findings:
        return ""
    ordered = sorted(findings, key=lambda f: (f.line, f.code))
    lines = [f"ailoop: please fix in the code you just wrote to {display_path}:"]
    for finding in ordered[:MAX_LISTED]:
        text = f"- line {finding.line}: {finding.message}"
        if finding.fix:
            text += f"; fix: {finding.fix}"
        lines.append(text)
    if len(ordered) > MAX_LISTED:
        lines.append(f"- and {len(ordered) - MAX_LISTED} more")
    return "\n".join(lines)


def blocking(findings: Iterable[AgentFinding], block_on: Collection[str]) -> list[AgentFinding]:
    """Return the findings the team blocks on."""
    return [f for f in findings if f.code in block_on]
