"""The learned context at an agent's session start, within a budget of characters.

``ailoop context`` writes the "Known rejection patterns" section into instruction files;
agents whose hooks can add context at a session's start get the same rules from here
instead, short: at most ``[tool.ailoop.context] budget`` characters (default
:data:`DEFAULT_BUDGET`), one "Do not …" line per supported rule with its numbers, the
rules the rule experiment withheld from this session left out
(:mod:`ailoop.patterns.experiment`) and so are the withdrawn ones. Every key is a
validated pattern key and every title and fix a bounded, escaped code span
(:func:`ailoop.patterns.context.inline_code`): the store's and reviews' text is data.

What a session was shown is kept under ``<data dir>/hook-sessions/`` so that the edit
hooks of the same session put it on their events (``context``).
"""

from __future__ import annotations

import datetime as dt
import hashlib
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ailoop.hooks import CURSOR
from ailoop.hooks.payload import SessionStart

if TYPE_CHECKING:
    from ailoop.patterns.context import ContextEntry
    from ailoop.patterns.patternset import PatternSet
    from ailoop.store.events import Context

#: Characters of context delivered at a session start, unless the team sets another.
DEFAULT_BUDGET = 1500
#: The smallest and largest budget a team can set.
BUDGET_RANGE = (200, 20_000)
#: Most rules considered before the budget is applied.
MAX_RULES = 20
#: Where the sessions' contexts are kept, under the data directory; how many are kept.
SESSIONS_DIR = "hook-sessions"
KEEP_SESSIONS = 200

HEADER = (
    "Known rejection patterns (ailoop: learned from this team's accept/reject of "
    "AI-written code; each entry is quoted data with the counts behind it):"
)


@dataclass(frozen=True)
class LearnedContext:
    """The context text (``""`` when there is nothing to say) and what it showed."""

    text: str
    shown: tuple[str, ...] = ()
    withheld: tuple[str, ...] = ()
    problems: tuple[str, ...] = ()


def read_budget(context_settings: Mapping[str, Any]) -> tuple[int, list[str]]:
    """Read ``budget`` from the ``[context]`` settings table; return it and any problem."""
    value = context_settings.get("budget", DEFAULT_BUDGET)
    low, high = BUDGET_RANGE
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        return DEFAULT_BUDGET, [
            f"context.budget must be a whole number of characters from {low} to {high} "
            f"(got {value!r}); using {DEFAULT_BUDGET}"
        ]
    return value, []


def rule_line(entry: ContextEntry) -> str:
    """One rule as a constraint with its numbers; every text in it is a code span."""
    from ailoop.patterns.context import inline_code

    title = "" if entry.title == entry.key else f" {inline_code(entry.title)}"
    return (
        f"- Do not write code with {inline_code(entry.key)}{title}: rejected "
        f"{entry.rejected}× ({entry.rejected_recent} in the last {entry.recent_days} days), "
        f"accepted or kept {entry.accepted}×. Fix: {inline_code(entry.hint)}"
    )


def render_within(entries: Sequence[ContextEntry], budget: int) -> tuple[str, tuple[str, ...]]:
    """Render the rules that fit in ``budget`` characters, in order; return text and keys.

    A rule that does not fit is left out and the next ones are tried; with no rule at all
    the text is empty.
    """
    from ailoop.patterns.model import is_valid_key

    lines = [HEADER]
    size = len(HEADER)
    keys: list[str] = []
    for entry in entries:
        if not is_valid_key(entry.key):
            continue
        line = rule_line(entry)
        if size + 1 + len(line) > budget:
            continue
        lines.append(line)
        size += 1 + len(line)
        keys.append(entry.key)
    return ("\n".join(lines) if keys else ""), tuple(keys)


@dataclass(frozen=True)
class Rules:
    """The workspace's supported rules, as ``ailoop context`` would show them."""

    entries: tuple[ContextEntry, ...]
    patterns: PatternSet | None
    context_settings: Mapping[str, Any]
    problems: tuple[str, ...]


def supported_rules(root: Path, data_dir: Path | None) -> Rules:
    """Return the rules ``ailoop context`` shows for ``root``.

    Supported, ranked, without the withdrawn ones, as many as its step-back state allows.
    Never raises for a store or file problem: it is in ``problems`` and there are no rules.
    """
    from ailoop import settings as ailoop_settings
    from ailoop.patterns.context import context_entries, load_state
    from ailoop.patterns.experiment import load_withdrawn
    from ailoop.patterns.stats import top_patterns
    from ailoop.patterns.workspace import Workspace
    from ailoop.store.local import StoreError
    from ailoop.workspace import find_repo_root, repo_identity

    loaded, problems = ailoop_settings.load(root)
    context_table = loaded.context if isinstance(loaded.context, Mapping) else {}
    workspace = Workspace.load(root)
    problems += list(workspace.problems)
    repo_root = find_repo_root(root)
    repo = repo_identity(repo_root) if repo_root is not None else ""
    try:
        ranked = top_patterns(
            workspace.local_stats(dt.datetime.now(dt.timezone.utc), data_dir, repo)
        )
    except StoreError as exc:
        problems.append(f"pattern statistics unavailable ({exc})")
        return Rules((), workspace.patterns, context_table, tuple(problems))
    withdrawn, withdrawn_problems = load_withdrawn(root)
    problems += withdrawn_problems
    ranked = [s for s in ranked if s.pattern not in withdrawn]
    state, state_problems = load_state(root)
    problems += state_problems
    limit = min(state.shown if state.shown is not None else MAX_RULES, MAX_RULES)
    entries = context_entries(ranked, workspace.patterns, limit)
    return Rules(tuple(entries), workspace.patterns, context_table, tuple(problems))


def learned_context(
    root: Path | None, data_dir: Path | None, session: str = "", budget: int | None = None
) -> LearnedContext:
    """Build the learned context of the workspace at ``root`` for one session.

    The rules are :func:`supported_rules`; with a ``session`` id the rule experiment
    withholds some of them from it. ``budget`` overrides ``[context] budget``.
    """
    if root is None:
        return LearnedContext("")
    from ailoop.patterns.experiment import ExperimentSettings, context_for_session

    rules = supported_rules(root, data_dir)
    problems = list(rules.problems)
    chosen_budget, budget_problems = read_budget(rules.context_settings)
    problems += budget_problems
    experiment, experiment_problems = ExperimentSettings.from_context_settings(
        rules.context_settings
    )
    problems += experiment_problems
    shown, withheld = context_for_session(session, [e.key for e in rules.entries], experiment)
    kept = [e for e in rules.entries if e.key in set(shown)]
    text, fitted = render_within(kept, budget if budget is not None else chosen_budget)
    return LearnedContext(text, fitted, withheld, tuple(problems))


def answer(start: SessionStart, text: str) -> str:
    """Return the hook output that adds ``text`` to the new session (``""`` for none).

    Claude Code, Gemini CLI and Codex CLI read ``hookSpecificOutput.additionalContext``;
    Cursor's ``sessionStart`` reads ``additional_context``.
    """
    if not text:
        return ""
    output: dict[str, Any]
    if start.tool == CURSOR:
        output = {"additional_context": text}
    else:
        output = {"hookSpecificOutput": {"hookEventName": start.event, "additionalContext": text}}
    return json.dumps(output, ensure_ascii=False) + "\n"


def _session_file(tool: str, session: str) -> str:
    digest = hashlib.sha256(f"{tool}\0{session}".encode()).hexdigest()[:32]
    return f"{digest}.json"


def remember(data_dir: Path, tool: str, context: LearnedContext, session: str) -> str | None:
    """Keep what ``session`` was shown for its edit hooks; return a problem, if any."""
    if not session:
        return None
    from ailoop.hooks.worker import private_dir, write_private

    folder = data_dir / SESSIONS_DIR
    problem = private_dir(folder, tighten=True)
    if problem is not None:
        return f"{folder}: {problem}; this session's context is not recorded on its events"
    body = {"session": session, "shown": list(context.shown), "withheld": list(context.withheld)}
    try:
        write_private(folder, _session_file(tool, session), json.dumps(body).encode("utf-8"))
        kept = sorted(folder.glob("*.json"), key=lambda p: p.stat().st_mtime)
        for old in kept[: max(0, len(kept) - KEEP_SESSIONS)]:
            old.unlink(missing_ok=True)
    except OSError as exc:
        return f"cannot keep this session's context ({exc.strerror or exc})"
    return None


def recalled(data_dir: Path, tool: str, session: str) -> Context | None:
    """Return the context a session was shown at its start, if it was recorded."""
    if not session:
        return None
    from ailoop.store.events import Context

    path = data_dir / SESSIONS_DIR / _session_file(tool, session)
    try:
        return Context.from_json(json.loads(path.read_text(encoding="utf-8")))
    except (OSError, ValueError):
        return None
