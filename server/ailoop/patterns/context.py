"""The learned context: a "Known rejection patterns" section for the files AI tools read.

The top patterns are rendered as a Markdown section and written between markers into
``CLAUDE.md``, ``AGENTS.md``, ``.github/copilot-instructions.md`` and
``.cursor/rules/ailoop.mdc``; the step-back logic decides how many patterns it shows.
Writing is idempotent and touches nothing outside the markers; files are read and
written only as regular files inside the workspace (:mod:`ailoop.workspace_files`).
Every key, title and fix is quoted data (:func:`inline_code`). When the acceptance rate
falls after the section changed, :func:`decide_shown` steps back to half as many patterns
and then reintroduces them one by one while the rate holds (the "reset" of a feedback
loop that would otherwise amplify a bad change).
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import json
import re
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path, PurePath
from typing import Any

from ailoop.patterns import shapes
from ailoop.patterns.model import TEAM_PREFIX, display_title, is_valid_key
from ailoop.patterns.patternset import PatternSet
from ailoop.patterns.stats import PatternStats, parse_ts
from ailoop.text import clean
from ailoop.workspace_files import WorkspaceFileError, read_text, write_text

BEGIN_MARKER = "<!-- ailoop:known-rejection-patterns:begin -->"
END_MARKER = "<!-- ailoop:known-rejection-patterns:end -->"

#: The files AI tools read their project instructions from, relative to the workspace root.
CONTEXT_FILES = (
    "CLAUDE.md",
    "AGENTS.md",
    ".github/copilot-instructions.md",
    ".cursor/rules/ailoop.mdc",
)

#: Front matter for a Cursor rule file ailoop creates (Cursor needs it to apply the rule).
CURSOR_FRONT_MATTER = (
    "---\n"
    "description: Known rejection patterns learned from the team's reviews of AI-written code\n"
    "alwaysApply: true\n"
    "---\n\n"
)

#: Where the step-back state of a workspace is kept, relative to its root.
STATE_FILE = Path(".ailoop") / "context-state.json"


class ContextFileError(Exception):
    """A context file cannot be updated; the message names the file and the problem."""


@dataclasses.dataclass(frozen=True)
class ContextEntry:
    """One line of the section: a pattern, its numbers and how to avoid it."""

    key: str
    title: str
    hint: str
    rejected: int
    rejected_recent: int
    accepted: int
    recent_days: int


@dataclasses.dataclass(frozen=True)
class RuleHelp:
    """What an engine rule is called and a line on how to avoid it, from the engine itself."""

    title: str
    fix: str


#: What a rule name looks like: lower-case words joined by ``-`` (``bare-except``).
_RULE_NAME = re.compile(r"[a-z][a-z0-9]*(?:-[a-z0-9]+)*")
#: How a rule's message starts when it already says what to do.
_IMPERATIVE = ("Do not ", "Avoid ", "Use ", "Remove ", "Replace ", "Prefer ", "Add ", "Move ")
#: Seconds an engine may take to describe one rule.
DESCRIBE_TIMEOUT = 10.0


def _engine_json(argv: list[str]) -> Any:
    """Run one of ailoop's own engines to describe a rule; its JSON answer, or None."""
    import subprocess

    try:
        done = subprocess.run(argv, capture_output=True, timeout=DESCRIBE_TIMEOUT, check=False)
        return json.loads(done.stdout) if done.returncode == 0 else None
    except (OSError, subprocess.TimeoutExpired, ValueError):
        return None


def _plain(template: str) -> str:
    """Return a message template with its placeholders (``{name}``) as ``…``."""
    return " ".join(re.sub(r"\{[a-z_]*\}", "…", template).split())


def rule_help_from_ruff(answer: Any) -> RuleHelp | None:
    """Read ``ruff rule CODE --output-format json``: its name, and its plainest message.

    ``E722`` is "bare except", fixed by "Do not use bare `except`"; of a rule with several
    messages the shortest is the fix line (placeholders shown as ``…``), and one that
    only describes the problem says to avoid it ("avoid: Undefined name `…`").
    """
    if not isinstance(answer, Mapping):
        return None
    name, summary = answer.get("name"), answer.get("summary")
    if not isinstance(name, str) or not _RULE_NAME.fullmatch(name):
        return None
    formats = [f for f in answer.get("message_formats") or () if isinstance(f, str)]
    candidates = [f for f in (*formats, summary) if isinstance(f, str) and f.strip()]
    fix = _plain(min(candidates, key=len)) if candidates else ""
    if fix and not fix.startswith(_IMPERATIVE):
        fix = f"avoid: {fix}"  # "avoid: Undefined name `…`"
    return RuleHelp(name.replace("-", " "), fix)


def rule_help_from_ty(answer: Any) -> RuleHelp | None:
    """Read ``ty explain rule NAME --output-format json``: "detects X" becomes "avoid X"."""
    if isinstance(answer, list) and len(answer) == 1:
        answer = answer[0]
    if not isinstance(answer, Mapping):
        return None
    name, summary = answer.get("name"), answer.get("summary")
    if not isinstance(name, str) or not _RULE_NAME.fullmatch(name):
        return None
    fix = " ".join(summary.split()) if isinstance(summary, str) else ""
    if fix.startswith("detects "):
        fix = "avoid " + fix.removeprefix("detects ")
    return RuleHelp(name.replace("-", " "), fix)


def describe_rule(key: str) -> RuleHelp | None:
    """Return the real name and a fix line of an engine rule (``ruff:E722``), if known.

    Asked of the ruff and ty that ailoop installs with itself, never of a program the
    repository names; one short call per rule shown. ``None`` for team patterns, other
    engines, and when the engine cannot say.
    """
    from ailoop.feedback.locate import find_executable

    engine, _, rule = key.partition(":")
    if engine == "ruff" and re.fullmatch(r"[A-Z]+[0-9]+", rule):
        ruff = find_executable("ruff", None)
        if ruff is not None:
            return rule_help_from_ruff(
                _engine_json([str(ruff), "rule", rule, "--output-format", "json"])
            )
    elif engine == "ty" and _RULE_NAME.fullmatch(rule):
        ty = find_executable("ty", None)
        found = None
        if ty is not None:
            argv = [str(ty), "explain", "rule", rule, "--output-format", "json"]
            found = rule_help_from_ty(_engine_json(argv))
        return found or RuleHelp(rule.replace("-", " "), "")
    return None


def default_hint(key: str) -> str:
    """Return a fix hint for a feedback rule its engine could not describe."""
    engine, _, rule = key.partition(":")
    if engine == "ruff":
        return f"see `ruff rule {rule}`"
    if engine == "ty":
        return f"see `ty explain rule {rule}`"
    return f"avoid what {key} reports"


def context_entries(
    ranked: Sequence[PatternStats],
    patterns: PatternSet,
    limit: int,
    describe: Callable[[str], RuleHelp | None] = describe_rule,
) -> list[ContextEntry]:
    """Return the section's entries for the first ``limit`` of the ``ranked`` patterns.

    A team pattern has its own title and fix; an engine rule gets the name and fix line
    its engine gives (``describe``), else its key and a pointer to the engine's help; a
    shape key its fixed constraint. Keys an agent cannot act on (``history:…``, a tiny
    completion) are left out.
    """
    entries = []
    usable = [s for s in ranked if shapes.CONSTRAINTS.get(s.pattern, "") is not None]
    for stats in usable[: max(limit, 0)]:
        team = patterns.get(stats.pattern) if stats.pattern.startswith(TEAM_PREFIX) else None
        constraint = shapes.CONSTRAINTS.get(stats.pattern)
        if team is not None:
            title, hint = display_title(stats.pattern, team.title), team.hint
        elif constraint is not None:
            title, hint = shapes.TITLES[stats.pattern], constraint
        else:
            found = describe(stats.pattern) if not stats.pattern.startswith(TEAM_PREFIX) else None
            title = found.title if found and found.title else display_title(stats.pattern)
            hint = found.fix if found and found.fix else default_hint(stats.pattern)
        entries.append(
            ContextEntry(
                key=stats.pattern,
                title=title,
                hint=hint,
                rejected=stats.rejected,
                rejected_recent=stats.rejected_recent,
                accepted=stats.accepted,
                recent_days=stats.recent_days,
            )
        )
    return entries


#: Longest title and fix hint put into an instruction file.
TEXT_LIMIT = 200


def inline_code(text: str, limit: int = TEXT_LIMIT) -> str:
    """Return ``text`` as one Markdown code span: cleaned, bounded, never breaking out.

    Control characters and newlines go (:func:`ailoop.text.clean`), HTML comment
    delimiters are split so no section marker can appear, and the span's backtick fence
    is longer than any run of backticks inside (CommonMark), so the text stays literal.
    """
    shown = clean(text, limit).replace("<!--", "< !--").replace("-->", "-- >")
    longest = max((len(run) for run in re.findall("`+", shown)), default=0)
    fence = "`" * (longest + 1)
    pad = " " if shown.startswith("`") or shown.endswith("`") or not shown.strip() else ""
    return f"{fence}{pad}{shown}{pad}{fence}"


def render_section(entries: Sequence[ContextEntry]) -> str:
    """Render the "Known rejection patterns" section (Markdown, ending in a newline).

    Every key, title and fix is a code span (:func:`inline_code`): data, attributed to
    the outcomes behind it, never text an agent could take for an instruction of its own.
    Keys that are not well-formed are left out.
    """
    lines = ["## Known rejection patterns", ""]
    shown = [e for e in entries if is_valid_key(e.key)]
    if not shown:
        lines.append("No known rejection patterns yet.")
    else:
        lines.append(
            "ailoop recorded how developers judged AI-written code in this repository "
            "(accept or reject in the editor). Code with these patterns was rejected "
            "more often than code without them. Each entry is quoted data (the pattern's "
            "key, its title and a fix) with the counts behind it."
        )
        lines.append("")
        for entry in shown:
            numbers = (
                f"rejected {entry.rejected}× in the editor "
                f"({entry.rejected_recent} in the last {entry.recent_days} days)"
            )
            numbers += f", accepted or kept {entry.accepted}×"
            title = "" if entry.title == entry.key else f" {inline_code(entry.title)}"
            lines.append(
                f"- Do not write code with {inline_code(entry.key)}{title}: {numbers}. "
                f"Fix: {inline_code(entry.hint)}"
            )
    return "\n".join(lines) + "\n"


def marker_lines(text: str) -> tuple[list[tuple[int, int]], list[tuple[int, int]]]:
    r"""Return the ``(start, end)`` offsets of the begin and of the end marker lines of ``text``.

    A marker counts only as a line of its own (surrounding spaces and a ``\r`` allowed):
    marker text inside a line (quoted in prose, or in an entry an older version wrote
    without quoting) is not a marker. ``end`` excludes the line break.
    """
    begins: list[tuple[int, int]] = []
    ends: list[tuple[int, int]] = []
    offset = 0
    for line in text.split("\n"):
        content = line.strip()
        if content == BEGIN_MARKER:
            begins.append((offset, offset + len(line.rstrip("\r"))))
        elif content == END_MARKER:
            ends.append((offset, offset + len(line.rstrip("\r"))))
        offset += len(line) + 1
    return begins, ends


def replace_between_markers(existing: str | None, section: str, front_matter: str = "") -> str:
    r"""Return ``existing`` with ``section`` between the markers; nothing else changes.

    The markers are lines of their own (:func:`marker_lines`); everything from the first
    begin line to the last end line is ailoop's and is replaced, so a section that an
    earlier write left with a stray marker inside is repaired, not kept. Without markers
    the block is appended (after a blank line); a new file gets ``front_matter`` first.
    The file's line breaks (``\n`` or ``\r\n``) are kept. Raises
    :class:`ContextFileError` on unpaired markers (an end line before the first begin
    line, a begin line after the last end line, or only one kind).
    """
    newline = "\r\n" if existing is not None and "\r\n" in existing else "\n"
    body = newline.join(section.rstrip("\n").split("\n"))
    block = f"{BEGIN_MARKER}{newline}{body}{newline}{END_MARKER}"
    if existing is None:
        return f"{front_matter}{block}\n"
    begins, ends = marker_lines(existing)
    if not begins and not ends:
        if not existing or existing.endswith(newline * 2):
            separator = ""
        elif existing.endswith(newline):
            separator = newline
        else:
            separator = newline * 2
        return f"{existing}{separator}{block}{newline}"
    if not begins or not ends or ends[0][0] < begins[0][0] or begins[-1][0] > ends[-1][0]:
        raise ContextFileError(
            f"unpaired markers: {BEGIN_MARKER} and {END_MARKER} must each stand on a line of "
            f"their own, the begin marker first (found {len(begins)} begin and {len(ends)} "
            "end marker line(s)); fix the file by hand"
        )
    return existing[: begins[0][0]] + block + existing[ends[-1][1] :]


def write_context_file(root: Path, relative: str | PurePath, section: str) -> bool:
    """Write ``section`` between the markers of ``root/relative``; return True when it changed.

    The file, and every folder on the way to it, must be a real file or folder inside
    ``root``, not a symbolic link (:mod:`ailoop.workspace_files`). The file is replaced
    atomically, keeping its mode. Raises :class:`ContextFileError` naming the file.
    """
    path = root / relative
    try:
        existing = read_text(root, relative)
    except WorkspaceFileError as exc:
        raise ContextFileError(f"{exc}; not written") from exc
    front = CURSOR_FRONT_MATTER if path.suffix == ".mdc" else ""
    try:
        updated = replace_between_markers(existing, section, front)
    except ContextFileError as exc:
        raise ContextFileError(f"{path}: {exc}") from exc
    if updated == existing:
        return False
    try:
        write_text(root, relative, updated)
    except WorkspaceFileError as exc:
        raise ContextFileError(str(exc)) from exc
    return True


# --- step back and reintroduce ---------------------------------------------------------


#: How many changes of the section the state remembers (the report charts them).
HISTORY_LIMIT = 100
#: Most rule keys remembered per change.
HISTORY_RULES = 50


def _utc_time(value: object) -> str | None:
    """Return ``value`` if it is an ISO 8601 time with a zone (``...Z``), else None."""
    if not isinstance(value, str) or len(value) > 40:
        return None
    try:
        moment = dt.datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        return None
    return value if moment.tzinfo is not None else None


@dataclasses.dataclass(frozen=True)
class ContextChange:
    """One change of the written section: when, and the rules it showed from then on."""

    at: str  # ISO 8601 UTC, as event timestamps
    rules: tuple[str, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """Return the change as a JSON-ready dict."""
        return {"at": self.at, "rules": list(self.rules)}

    @classmethod
    def from_json(cls, data: object) -> ContextChange | None:
        """Read a change; None when its time is not one (the file is data, maybe edited)."""
        if not isinstance(data, Mapping) or (at := _utc_time(data.get("at"))) is None:
            return None
        rules = data.get("rules")
        keys = (
            [r for r in rules if isinstance(r, str) and is_valid_key(r)]
            if isinstance(rules, list)
            else []
        )
        return cls(at, tuple(keys[:HISTORY_RULES]))


@dataclasses.dataclass(frozen=True)
class ContextState:
    """What the last written section looked like and how acceptance stood before it."""

    shown: int | None = None  # patterns in the section; None before the first write
    digest: str = ""  # the section text's fingerprint, to notice any change
    changed_at: str | None = None  # when the section last changed (ISO 8601 UTC)
    rate_before: float | None = None  # acceptance rate in the window before that change
    recovering: bool = False  # stepping back up after a fall
    #: Every change of the section, oldest first, at most :data:`HISTORY_LIMIT`.
    history: tuple[ContextChange, ...] = ()

    def to_json(self) -> dict[str, Any]:
        """Return the state as a JSON-ready dict."""
        return {
            **{f.name: getattr(self, f.name) for f in dataclasses.fields(self)},
            "history": [change.to_json() for change in self.history],
        }

    @classmethod
    def from_json(cls, data: Mapping[str, Any]) -> ContextState:
        """Build a state from its JSON dict; unknown or mistyped fields fall back.

        A state written before the history was kept has its last change as its history.
        """
        shown = data.get("shown")
        rate = data.get("rate_before")
        changed_at = _utc_time(data.get("changed_at"))
        raw = data.get("history")
        read = [ContextChange.from_json(item) for item in raw] if isinstance(raw, list) else []
        history = sorted((c for c in read if c is not None), key=lambda c: parse_ts(c.at))
        if not history and changed_at is not None:
            history = [ContextChange(changed_at)]
        return cls(
            shown=shown if isinstance(shown, int) and shown >= 0 else None,
            digest=str(data.get("digest") or ""),
            changed_at=changed_at,
            rate_before=float(rate) if isinstance(rate, (int, float)) else None,
            recovering=data.get("recovering") is True,
            history=tuple(history[-HISTORY_LIMIT:]),
        )

    def changed(self, at: str, rules: Sequence[str]) -> tuple[ContextChange, ...]:
        """Return the history with a change at ``at`` showing ``rules`` added."""
        change = ContextChange(at, tuple(rules[:HISTORY_RULES]))
        return (*self.history, change)[-HISTORY_LIMIT:]


@dataclasses.dataclass(frozen=True)
class Decision:
    """How many patterns to show, whether the loop is recovering, and why."""

    shown: int
    recovering: bool
    reason: str


def decide_shown(
    state: ContextState,
    target: int,
    rate_since_change: float | None,
    outcomes_since_change: int,
    min_outcomes: int = 20,
    tolerance: float = 0.02,
) -> Decision:
    """Decide how many of the top patterns the section shows.

    ``target`` is how many it would show with no history (the limit, or fewer when fewer
    patterns are supported). The rate since the last change is compared with the rate
    before it once at least ``min_outcomes`` outcomes were seen: a fall of more than
    ``tolerance`` halves the count; while recovering, each window that holds adds one
    pattern back until the target is reached.
    """
    target = max(target, 0)
    if state.shown is None:
        return Decision(target, False, "first learned context")
    evidence = (
        outcomes_since_change >= min_outcomes
        and rate_since_change is not None
        and state.rate_before is not None
    )
    if not evidence:
        if state.recovering:
            shown = min(state.shown, target)
            return Decision(
                shown,
                shown < target,
                f"waiting for {min_outcomes} outcomes since the last change "
                f"({outcomes_since_change} so far) before reintroducing a pattern",
            )
        return Decision(target, False, "not enough outcomes since the last change to judge it")
    assert rate_since_change is not None
    assert state.rate_before is not None
    if rate_since_change < state.rate_before - tolerance:
        shown = min(state.shown, target) // 2
        return Decision(
            shown,
            True,
            f"acceptance fell from {state.rate_before:.0%} to {rate_since_change:.0%} after "
            f"the last change: stepping back to {shown} pattern(s)",
        )
    if state.recovering:
        shown = min(state.shown + 1, target)
        return Decision(
            shown,
            shown < target,
            f"acceptance held at {rate_since_change:.0%}: reintroducing pattern {shown}",
        )
    return Decision(target, False, f"acceptance held at {rate_since_change:.0%}")


def load_state(root: Path, relative: str | PurePath = STATE_FILE) -> tuple[ContextState, list[str]]:
    """Read the step-back state; a missing or unreadable file is a fresh state (with a message).

    A state file reached through a symbolic link, or that is no regular file, is not read.
    """
    path = root / relative
    try:
        text = read_text(root, relative)
        if text is None:
            return ContextState(), []
        data = json.loads(text)
    except WorkspaceFileError as exc:
        return ContextState(), [f"{exc}; starting the context history afresh"]
    except ValueError as exc:
        return ContextState(), [f"{path}: unreadable ({exc}); starting the context history afresh"]
    if not isinstance(data, dict):
        return ContextState(), [f"{path}: not a JSON object; starting the context history afresh"]
    return ContextState.from_json(data), []


def save_state(root: Path, state: ContextState, relative: str | PurePath = STATE_FILE) -> None:
    """Write the step-back state (pretty JSON, stable key order), atomically.

    Refuses a symbolic link on the way or at the file (:class:`ContextFileError`).
    """
    try:
        write_text(root, relative, json.dumps(state.to_json(), indent=2, sort_keys=True) + "\n")
    except WorkspaceFileError as exc:
        raise ContextFileError(str(exc)) from exc
