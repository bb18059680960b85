"""Running one hook call: payload in, events recorded, an answer for the agent out.

:func:`run_hook` never raises and never fails the agent: malformed input, a missing file or
a store that cannot be written give exit code 0, one line for stderr, and the raw input is
kept under ``<data dir>/hook-inputs/`` for inspection (the last :data:`KEEP_INPUTS`).
Events that cannot be written are spilled where the language server imports them at its
next start. Exit code 2 is used only when a finding's key is listed in
``[tool.ailoop.hooks] block_on``.
"""

from __future__ import annotations

import datetime as dt
import json
import os
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ailoop.capture.identity import line_count, snippet_id
from ailoop.hooks import CLAUDE_CODE, CURSOR
from ailoop.hooks.locate import Inserted, locate, unlocated
from ailoop.hooks.payload import (
    HookCall,
    PayloadError,
    SessionStart,
    TextEdit,
    parse,
    parse_session_start,
)
from ailoop.store.events import Event, Kind, Source

if TYPE_CHECKING:
    from ailoop.hooks.engines import EngineFinding, EngineSessions
    from ailoop.hooks.report import AgentFinding
    from ailoop.patterns.feedback import PatternFeedback

#: How many raw inputs are kept for inspection.
KEEP_INPUTS = 50
#: Seconds to wait for another process's lock on the store before giving up.
STORE_BUSY_TIMEOUT = 2.0
#: Files above this size are not diffed; the payload's edits are recorded as they are.
LARGE_FILE = 5_000_000

#: ``ailoop.patterns.patternset.PATTERNS_FILE``, spelled out so that a workspace without
#: patterns does not pay for importing the pattern machinery.
PATTERNS_FILE = Path(".ailoop") / "patterns.toml"

#: File extensions to the language ids editors use (what the server records).
LANGUAGE_IDS: Mapping[str, str] = {
    ".py": "python", ".pyi": "python", ".js": "javascript", ".mjs": "javascript",
    ".cjs": "javascript", ".jsx": "javascriptreact", ".ts": "typescript", ".mts": "typescript",
    ".cts": "typescript", ".tsx": "typescriptreact", ".go": "go", ".rs": "rust",
    ".java": "java", ".c": "c", ".h": "c", ".cc": "cpp", ".cpp": "cpp", ".cxx": "cpp",
    ".hpp": "cpp", ".hh": "cpp", ".cs": "csharp", ".rb": "ruby", ".sh": "shellscript",
    ".bash": "shellscript", ".zsh": "shellscript", ".kt": "kotlin", ".kts": "kotlin",
    ".lua": "lua", ".php": "php", ".swift": "swift", ".scala": "scala", ".html": "html",
    ".htm": "html", ".css": "css", ".scss": "scss", ".json": "json", ".yaml": "yaml",
    ".yml": "yaml", ".toml": "toml", ".md": "markdown", ".sql": "sql", ".hs": "haskell",
    ".ex": "elixir", ".exs": "elixir", ".nix": "nix", ".sol": "solidity", ".tf": "terraform",
    ".hcl": "hcl", ".vue": "vue", ".svelte": "svelte",
}  # fmt: skip


@dataclass
class HookOutcome:
    """What the command prints and returns."""

    exit_code: int = 0
    stdout: str = ""
    stderr: list[str] = field(default_factory=list)
    events: list[Event] = field(default_factory=list)


def language_of(path: Path) -> str:
    """Return the editor language id of ``path`` by its extension (``""`` when unknown)."""
    return LANGUAGE_IDS.get(path.suffix.lower(), "")


def save_input(
    raw: bytes, tool: str, data_dir: Path, now: dt.datetime | None = None
) -> Path | None:
    """Keep ``raw`` as ``hook-inputs/<time>-<tool>.json`` and drop all but the newest ones.

    The folder is the data dir's, else ``<temp dir>/ailoop-hook-inputs-<uid>`` while that
    is this user's private folder (:func:`ailoop.hooks.worker.private_dir`); the file is
    written atomically and readable by this user only (:func:`~ailoop.hooks.worker.write_private`).
    """
    moment = now or dt.datetime.now(dt.timezone.utc)
    import tempfile

    from ailoop.hooks.worker import private_dir, user_tag, write_private

    name = f"{moment.strftime('%Y%m%dT%H%M%S.%f')}-{os.getpid()}-{tool}.json"
    fallback = Path(tempfile.gettempdir()) / f"ailoop-hook-inputs-{user_tag()}"
    for folder, inside in ((data_dir / "hook-inputs", True), (fallback, False)):
        if private_dir(folder, tighten=inside) is not None:
            continue  # someone else's, or open to others: keep nothing there
        try:
            target = write_private(folder, name, raw)
            kept = sorted(folder.glob("*.json"))
            for old in kept[: max(0, len(kept) - KEEP_INPUTS)]:
                old.unlink(missing_ok=True)
        except OSError:
            continue
        return target
    return None


def answer(tool: str, event: str, message: str) -> str:
    """Return the hook output that puts ``message`` in front of the agent (``""`` for none)."""
    if not message:
        return ""
    if tool == CLAUDE_CODE:
        output: dict[str, Any] = {
            "hookSpecificOutput": {"hookEventName": "PostToolUse", "additionalContext": message}
        }
    elif tool == CURSOR and event == "afterFileEdit":
        output = {"additional_context": message}
    else:
        return ""  # Tab completions have no agent to tell
    return json.dumps(output, ensure_ascii=False) + "\n"


def store_events(events: Sequence[Event], data_dir: Path) -> str | None:
    """Write ``events``; on failure spill them for the server's next start and say so."""
    from ailoop.store.local import DB_NAME, LocalStore, StoreError

    try:
        store = LocalStore(data_dir / DB_NAME, busy_timeout=STORE_BUSY_TIMEOUT)
        try:
            store.append(events)
        finally:
            store.close()
    except StoreError as exc:
        return f"{exc}; {spill(events, data_dir)}"
    return None


def spill(events: Sequence[Event], data_dir: Path) -> str:
    """Save ``events`` where the language server imports them when it next opens the store."""
    from ailoop.store.writer import spill as spill_events

    target = spill_events(events, data_dir, prefix="hook-")
    if target is None:
        return "the events could not be saved anywhere and are lost"
    return f"events saved to {target} for the next start"


def _read_file(path: Path) -> str:
    with path.open("rb") as f:
        data = f.read()
    return data.decode("utf-8", errors="replace")


@dataclass(frozen=True)
class _Where:
    root: Path | None
    repo: str
    path: str
    display: str


def _where(call: HookCall) -> _Where:
    from ailoop.workspace import find_repo_root, origin_of_path

    origin = origin_of_path(call.file_path)
    root = find_repo_root(call.file_path.parent) or call.workspace
    display = origin.path if origin.repo else str(call.file_path)
    return _Where(root, origin.repo, origin.path, display)


def handle_call(
    tool: str,
    raw: bytes,
    data_dir: Path | None,
    cwd: Path | None = None,
    engines: EngineSessions | None = None,
) -> tuple[int, str, list[str]]:
    """Handle one hook call; return its exit code, standard output and stderr lines.

    ``data_dir`` ``None`` means the default (``AILOOP_DATA_DIR``, else the user's data
    directory); ``cwd`` is the caller's working directory (where git looks for the user's
    email when the file is in no repository); ``engines`` holds the language servers a
    hook worker keeps running between calls.
    """
    if data_dir is None:
        from ailoop.store.local import default_data_dir

        data_dir = default_data_dir()
    outcome = run_hook(tool, raw, data_dir, cwd, engines)
    return outcome.exit_code, outcome.stdout, outcome.stderr


def run_hook(
    tool: str,
    raw: bytes,
    data_dir: Path,
    cwd: Path | None = None,
    engines: EngineSessions | None = None,
) -> HookOutcome:
    """Handle one hook call of ``tool`` (an agent of :data:`ailoop.hooks.TOOLS`)."""
    outcome = HookOutcome()
    try:
        _run(tool, raw, data_dir, outcome, cwd, engines)
    except Exception as exc:  # noqa: BLE001 - a hook must never break the agent
        outcome.exit_code = 0
        outcome.stdout = ""
        outcome.stderr.append(f"ailoop hook: internal error ({type(exc).__name__}: {exc})")
        _keep(raw, tool, data_dir, outcome)
    return outcome


def keep_unanswered(tool: str, raw: bytes, data_dir: Path | None, reason: str) -> str:
    """Keep the input of a call the hook worker took but did not answer; return the message."""
    if data_dir is None:
        from ailoop.store.local import default_data_dir

        data_dir = default_data_dir()
    outcome = HookOutcome(stderr=[f"ailoop hook: {reason}; its findings are left out"])
    _keep(raw, tool, data_dir, outcome)
    return outcome.stderr[-1]


def _keep(raw: bytes, tool: str, data_dir: Path, outcome: HookOutcome) -> None:
    saved = save_input(raw, tool, data_dir)
    if saved is not None and outcome.stderr:
        outcome.stderr[-1] += f"; input saved to {saved}"


def _fail(message: str, raw: bytes, tool: str, data_dir: Path, outcome: HookOutcome) -> None:
    outcome.stderr.append(f"ailoop hook: {message}")
    _keep(raw, tool, data_dir, outcome)


def _run(
    tool: str,
    raw: bytes,
    data_dir: Path,
    outcome: HookOutcome,
    cwd: Path | None = None,
    engines: EngineSessions | None = None,
) -> None:
    try:
        data = json.loads(raw.decode("utf-8-sig"))
    except (UnicodeDecodeError, json.JSONDecodeError) as exc:
        _fail(f"the input is not JSON ({exc})", raw, tool, data_dir, outcome)
        return
    start = parse_session_start(tool, data)
    if start is not None:
        _start_session(start, data_dir, outcome)
        return
    try:
        call = parse(tool, data)
    except PayloadError as exc:
        _fail(f"unexpected {tool} hook input: {exc}", raw, tool, data_dir, outcome)
        return
    if call is None:
        return  # another tool or event: not ours to record
    try:
        current = _read_file(call.file_path)
    except OSError as exc:
        _fail(f"cannot read {call.file_path} ({exc.strerror or exc})", raw, tool, data_dir, outcome)
        return
    if "\x00" in current:
        return  # binary: not code to follow
    notes: list[str] = []
    if len(current) > LARGE_FILE:
        snippets = unlocated(call.edits or (TextEdit("", call.content or ""),))
    else:
        snippets, notes = locate(call, current)
    outcome.stderr += [f"ailoop hook: {call.file_path}: {note}" for note in notes]
    if not snippets:
        return
    where = _where(call)
    language = language_of(call.file_path)
    from ailoop.settings import read_settings_tables

    raw_settings, trust, setting_problems = read_settings_tables(where.root)
    outcome.stderr += [f"ailoop hook: {p}" for p in setting_problems]
    if trust.withheld:
        outcome.stderr.append(
            f"ailoop hook: {where.root} is not trusted; ignored: {'; '.join(trust.withheld)} "
            f"(`ailoop trust {where.root}` to use them)"
        )
    stored = _record_and_answer(
        call,
        current,
        snippets,
        where,
        language,
        raw_settings,
        data_dir,
        outcome,
        cwd,
        trusted=trust.trusted,
        engines=engines,
    )
    if not stored:
        _keep(raw, tool, data_dir, outcome)


def _start_session(start: SessionStart, data_dir: Path, outcome: HookOutcome) -> None:
    """Answer a session's start with the learned context, and keep what it was shown."""
    from ailoop.hooks import session
    from ailoop.workspace import find_repo_root

    where = start.workspace
    root = (find_repo_root(where) or where) if where is not None else None
    context = session.learned_context(root, data_dir, start.session)
    outcome.stderr += [f"ailoop hook: {p}" for p in context.problems]
    problem = session.remember(data_dir, start.tool, context, start.session)
    if problem is not None:
        outcome.stderr.append(f"ailoop hook: {problem}")
    outcome.stdout = session.answer(start, context.text)


def _table(raw: Mapping[str, Any], key: str) -> Mapping[str, Any]:
    value = raw.get(key)
    return value if isinstance(value, Mapping) else {}


@dataclass(frozen=True)
class _Edit:
    """Everything known about one located edit."""

    call: HookCall
    current: str
    snippets: Sequence[Inserted]
    where: _Where
    language: str
    settings: Mapping[str, Any]

    @property
    def lines(self) -> frozenset[int]:
        return frozenset(n for s in self.snippets for n in s.lines)


def _patterns(edit: _Edit, data_dir: Path, outcome: HookOutcome) -> PatternFeedback | None:
    """Load the team's patterns, or ``None`` when the workspace has no patterns file."""
    if edit.where.root is None or not (edit.where.root / PATTERNS_FILE).is_file():
        return None
    from ailoop.patterns.feedback import PatternFeedback

    feedback = PatternFeedback(edit.where.root, data_dir)
    problems = feedback.reload(_table(edit.settings, "patterns"))
    outcome.stderr += [f"ailoop hook: {p}" for p in problems]
    return feedback


def _record_and_answer(
    call: HookCall,
    current: str,
    snippets: Sequence[Inserted],
    where: _Where,
    language: str,
    raw_settings: Mapping[str, Any],
    data_dir: Path,
    outcome: HookOutcome,
    cwd: Path | None = None,
    *,
    trusted: bool = False,
    engines: EngineSessions | None = None,
) -> bool:
    """Record the snippets' events and put the answer in ``outcome``; False if not stored."""
    from ailoop.hooks.engines import read_engine_settings, start_engines
    from ailoop.workspace import UserLookup

    user_lookup = UserLookup(where.root or cwd)  # git runs while the rest is done
    edit = _Edit(call, current, snippets, where, language, raw_settings)
    engine_settings, engine_setting_problems = read_engine_settings(raw_settings, trusted, language)
    outcome.stderr += [f"ailoop hook: {p}" for p in engine_setting_problems]
    # The engines run in the background while the patterns are matched.
    pending = start_engines(
        call.file_path, current, language, edit.lines, engine_settings, where.root, engines
    )
    feedback = _patterns(edit, data_dir, outcome)
    user = user_lookup.result()
    engine_found, engine_problems = pending.result()
    outcome.stderr += [f"ailoop hook: {p}" for p in engine_problems]

    from ailoop.hooks.session import recalled

    context = recalled(data_dir, call.tool, call.session)
    events = []
    for snippet in snippets:
        keys = set(feedback.keys_in(snippet.text, language)) if feedback else set()
        keys.update(f.code for f in engine_found if f.line in snippet.lines)
        events.append(
            Event(
                kind=Kind.GENERATED,
                snippet=snippet_id(snippet.text),
                tool=call.tool,
                source=Source.HOOK,
                user=user,
                repo=where.repo,
                path=where.path,
                language=language,
                lines=line_count(snippet.text),
                findings=tuple(sorted(keys)),
                text=snippet.text,
                context=context,
            )
        )
    failure = store_events(events, data_dir)
    if failure is not None:
        outcome.stderr.append(f"ailoop hook: {failure}")
    outcome.events = events
    outcome.stdout = _answer_agent(edit, feedback, engine_found, data_dir, outcome)
    return failure is None


def _answer_agent(
    edit: _Edit,
    feedback: PatternFeedback | None,
    engine_found: Sequence[EngineFinding],
    data_dir: Path,
    outcome: HookOutcome,
) -> str:
    """Return the hook output for the agent; set exit code 2 when the team blocks."""
    from ailoop.hooks import report

    block_on, block_problems = report.block_keys(_table(edit.settings, "hooks"))
    outcome.stderr += [f"ailoop hook: {p}" for p in block_problems]
    found = agent_findings(edit, feedback, engine_found, data_dir, block_on, outcome.stderr)
    if not found:
        return ""
    message = report.render(found, edit.where.display)
    blocked = report.blocking(found, block_on)
    if blocked:
        keys = ", ".join(sorted({f.code for f in blocked}))
        outcome.exit_code = 2
        outcome.stderr.append(f"{message}\n(blocked by the team's setting hooks.block_on: {keys})")
        return ""
    return answer(edit.call.tool, edit.call.event, message)


def agent_findings(
    edit: _Edit,
    feedback: PatternFeedback | None,
    engine_found: Sequence[EngineFinding],
    data_dir: Path,
    block_on: frozenset[str],
    problems: list[str],
) -> list[AgentFinding]:
    """Return what the agent should fix on the edit's lines, with the team's numbers."""
    from ailoop.hooks import report

    matches = (
        report.pattern_matches(feedback, edit.current, edit.language, edit.lines)
        if feedback
        else []
    )
    if feedback is not None:
        problems += [f"ailoop hook: {m}" for m in feedback.patterns.take_timeouts()]
    if not matches and not engine_found:
        return []
    if feedback is None and edit.where.root is not None:
        from ailoop.patterns.feedback import PatternFeedback

        feedback = PatternFeedback(edit.where.root, data_dir)  # for the rules' numbers
        feedback.reload(_table(edit.settings, "patterns"))
    found: list[AgentFinding] = []
    if feedback is not None:
        from ailoop.store.local import StoreError

        try:
            feedback.refresh_stats()
        except StoreError as exc:
            problems.append(f"ailoop hook: pattern statistics unavailable ({exc})")
        found += report.pattern_findings(feedback, matches, feedback.stats, block_on)
        found += report.engine_agent_findings(engine_found, feedback.rule_note)
    else:
        found += report.engine_agent_findings(engine_found, lambda _rule: None)
    return found


def check_code(
    code: str, path: Path, data_dir: Path | None, engines: EngineSessions | None = None
) -> tuple[list[AgentFinding], list[str]]:
    """Check ``code`` as if it were the whole of ``path``, writing nothing; for ``ailoop mcp``.

    The same checks as an edit hook's on every line of ``code``: the team's patterns (those
    it reports), the engines and the team's numbers. Returns the findings and problems.
    """
    from ailoop.capture.document import split_lines
    from ailoop.hooks.engines import read_engine_settings, start_engines
    from ailoop.settings import read_settings_tables

    if data_dir is None:
        from ailoop.store.local import default_data_dir

        data_dir = default_data_dir()
    call = HookCall("mcp", "check_code", path)
    where = _where(call)
    raw_settings, trust, problems = read_settings_tables(where.root)
    problems = [f"ailoop hook: {p}" for p in problems]
    lines = range(len(split_lines(code)))
    snippets = [Inserted(code, 0, max(len(lines) - 1, 0))]
    edit = _Edit(call, code, snippets, where, language_of(path), raw_settings)
    engine_settings, setting_problems = read_engine_settings(
        raw_settings, trust.trusted, edit.language
    )
    problems += [f"ailoop hook: {p}" for p in setting_problems]
    pending = start_engines(
        path, code, edit.language, edit.lines, engine_settings, where.root, engines
    )
    outcome = HookOutcome(stderr=problems)
    feedback = _patterns(edit, data_dir, outcome)
    engine_found, engine_problems = pending.result()
    problems += [f"ailoop hook: {p}" for p in engine_problems]
    found = agent_findings(edit, feedback, engine_found, data_dir, frozenset(), problems)
    return sorted(found, key=lambda f: (f.line, f.code)), problems
