"""The rule experiment: each supported rule withheld from a random share of agent sessions.

When the learned context is delivered at an agent's session start, each supported rule
(its pattern key) is left out of a share of sessions (default 20 %). The choice is a pure
function of the session id and the key (:func:`context_for_session`), so the hook that
delivers the context and the hooks that record the session's edits agree without sharing
any state. Every event of such a session carries ``context`` (``ailoop.store.events.Context``:
the session, the keys shown and the keys withheld).

:func:`evaluate` then compares, per rule, the rejection rate of the snippets the rule
targets (snippets whose findings, or the pattern picked on their rejection, include its
key) in sessions that were shown the rule and in sessions it was withheld from: the odds
ratio of rejection shown vs withheld, with its interval (the same formula as the pattern
statistics, :func:`ailoop.patterns.stats.odds_ratio_of_cells`). Snippets of one session
are not independent (one agent, one task), so each arm's count is its effective count
under clustering by session (the design effect of a ratio estimator), never more than its
raw count. The verdict: ``helps`` when the interval lies below 1, ``hurts`` above 1,
otherwise ``no effect yet``, and ``no effect`` flagged once the rule was in
``flag_after_sessions`` sessions. A rule that hurts is withdrawn: recorded in
``.ailoop/context-withdrawn.json`` (:func:`save_withdrawn`), which ``ailoop context`` and the
session-start hook read to leave it out.

Everything but the two file functions is pure.
"""

from __future__ import annotations

import dataclasses
import hashlib
import json
import math
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path, PurePath
from typing import Any

from ailoop.patterns.model import is_valid_key, valid_key
from ailoop.patterns.stats import odds_ratio_of_cells
from ailoop.store.events import REVIEW_ACCEPTING, REVIEW_REJECTING, Context, Event, Kind

#: Where withdrawn rules are recorded, relative to the workspace root.
WITHDRAWN_FILE = PurePath(".ailoop") / "context-withdrawn.json"

HELPS = "helps"
HURTS = "hurts"
NO_EFFECT_YET = "no effect yet"
NO_EFFECT = "no effect"
WITHDRAWN = "withdrawn"


@dataclasses.dataclass(frozen=True)
class ExperimentSettings:
    """``[context.experiment]``: whether rules are withheld, how often, and when to judge.

    ``enabled``: the team's off switch (false: every supported rule is shown to every
    session, nothing is withheld). ``withhold``: the share of sessions each rule is
    withheld from (0 to 0.5). ``flag_after_sessions``: a rule with no clear effect after
    this many sessions (both arms together) is flagged ``no effect``. ``min_sessions``:
    sessions each arm needs before any verdict. ``confidence``: of the interval.
    """

    enabled: bool = True
    withhold: float = 0.2
    flag_after_sessions: int = 400
    min_sessions: int = 10
    confidence: float = 0.95

    @classmethod
    def from_mapping(cls, values: Mapping[str, Any]) -> tuple[ExperimentSettings, list[str]]:
        """Read the settings from a table; one message per unknown key or bad value."""
        problems: list[str] = []
        chosen: dict[str, Any] = {}
        names = {f.name for f in dataclasses.fields(cls)}
        for raw_key, value in values.items():
            key = "".join("_" + c.lower() if c.isupper() else c for c in str(raw_key))
            if key not in names:
                problems.append(f"context.experiment setting {raw_key!r} is unknown (ignored)")
                continue
            number = isinstance(value, int | float) and not isinstance(value, bool)
            if key == "enabled":
                ok = isinstance(value, bool)
                expected = "true or false"
            elif key == "withhold":
                ok = number and 0 <= value <= 0.5
                expected = "a share between 0 and 0.5, such as 0.2"
            elif key == "confidence":
                ok = number and 0 < value < 1
                expected = "a number between 0 and 1, such as 0.95"
            else:
                ok = number and float(value).is_integer() and value >= 1
                expected = "a whole number of at least 1"
            if not ok:
                problems.append(
                    f"context.experiment setting {raw_key!r} must be {expected} "
                    f"(got {value!r}); using {getattr(cls, key)!r}"
                )
                continue
            chosen[key] = int(value) if key.endswith("sessions") else value
        return cls(**chosen), problems

    @classmethod
    def from_context_settings(
        cls, context: Mapping[str, Any]
    ) -> tuple[ExperimentSettings, list[str]]:
        """Read them from the ``[context]`` settings table (its ``experiment`` table)."""
        table = context.get("experiment", {})
        if not isinstance(table, Mapping):
            return cls(), ["context.experiment must be a table; using the defaults"]
        return cls.from_mapping(table)


def read_settings(root: Path) -> tuple[ExperimentSettings, list[str]]:
    """Read the experiment settings of the workspace at ``root``; never raises."""
    from ailoop import settings as ailoop_settings

    loaded, problems = ailoop_settings.load(root)
    found, more = ExperimentSettings.from_context_settings(loaded.context)
    return found, problems + more


def withheld_fraction(session_id: str, key: str) -> float:
    """Return a number in [0, 1) fixed by the session and the rule key (SHA-256 of both)."""
    digest = hashlib.sha256(f"ailoop-experiment\0{session_id}\0{key}".encode()).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def context_for_session(
    session_id: str, rules: Sequence[str], settings: ExperimentSettings
) -> tuple[tuple[str, ...], tuple[str, ...]]:
    """Split ``rules`` (supported rule keys, in context order) into (shown, withheld).

    Deterministic: the same session id and key always give the same answer (a key is
    withheld when :func:`withheld_fraction` is below ``settings.withhold``), whichever
    other rules are in the list and in whatever order; each list keeps the order of
    ``rules``, without repeats. Nothing is withheld when the experiment is off, the share
    is 0 or the session id is empty (an agent that gives none cannot be measured).
    """
    ordered = tuple(dict.fromkeys(rules))
    if not settings.enabled or settings.withhold <= 0 or not session_id:
        return ordered, ()
    shown: list[str] = []
    withheld: list[str] = []
    for key in ordered:
        (withheld if withheld_fraction(session_id, key) < settings.withhold else shown).append(key)
    return tuple(shown), tuple(withheld)


def session_context(
    session_id: str, rules: Sequence[str], settings: ExperimentSettings
) -> Context | None:
    """Return the ``context`` the events of this session carry (None: no session id).

    Only valid keys are kept (an event refuses any other), at most
    ``ailoop.store.events.CONTEXT_KEYS_LIMIT`` of them.
    """
    from ailoop.store.events import CONTEXT_KEYS_LIMIT, CONTEXT_SESSION_LIMIT

    if not session_id or len(session_id) > CONTEXT_SESSION_LIMIT or not session_id.isprintable():
        return None
    keys = [k for k in rules if is_valid_key(k)][:CONTEXT_KEYS_LIMIT]
    shown, withheld = context_for_session(session_id, keys, settings)
    return Context(session_id, shown, withheld)


# --- measuring ---------------------------------------------------------------------------


@dataclasses.dataclass(frozen=True)
class Arm:
    """One side of a rule's comparison: sessions, judged snippets, rejections."""

    sessions: int
    snippets: int
    rejected: int
    effective: float  # the snippets' effective count under clustering by session

    @property
    def rate(self) -> float | None:
        """The rejection rate (None without snippets)."""
        return self.rejected / self.snippets if self.snippets else None

    def to_json(self) -> dict[str, Any]:
        """Return the arm as a JSON-ready dict."""
        return {**dataclasses.asdict(self), "rate": self.rate}


@dataclasses.dataclass(frozen=True)
class RuleEffect:
    """What the experiment says about one rule."""

    key: str
    shown: Arm
    withheld: Arm
    odds_ratio: float  # of rejection, shown vs withheld: below 1 the rule helps
    low: float
    high: float
    verdict: str  # HELPS, HURTS, NO_EFFECT_YET, NO_EFFECT (flagged)
    withdrawn: bool = False

    @property
    def sessions(self) -> int:
        """Sessions the rule was part of (shown or withheld)."""
        return self.shown.sessions + self.withheld.sessions

    def to_json(self) -> dict[str, Any]:
        """Return the effect as a JSON-ready dict."""
        return {
            "key": self.key,
            "verdict": self.verdict,
            "withdrawn": self.withdrawn,
            "odds_ratio": self.odds_ratio,
            "interval": [self.low, self.high],
            "sessions": self.sessions,
            "shown": self.shown.to_json(),
            "withheld": self.withheld.to_json(),
        }


def _verdict(event: Event) -> bool | None:
    """Return True for a rejection, False for an acceptance, None for anything else."""
    if event.kind is Kind.REJECTED:
        return True
    if event.kind in (Kind.ACCEPTED, Kind.KEPT):
        return False
    if event.kind is Kind.REVIEWED and event.snippet:
        if event.outcome in REVIEW_REJECTING:
            return True
        if event.outcome in REVIEW_ACCEPTING:
            return False
    return None


@dataclasses.dataclass
class _Snippet:
    context: Context
    keys: set[str]
    rejected: bool | None = None


def judged_snippets(events: Iterable[Event]) -> list[_Snippet]:
    """Return the snippets generated in an agent session with context, with their verdicts.

    A snippet (by repository and id) belongs to the session of its newest ``generated``
    event that carries a context; its keys are the findings of its events and the pattern
    picked on its rejection; its verdict is its last outcome (rejected, accepted or kept,
    or a review's verdict). Snippets without a verdict are left out.
    """
    snippets: dict[tuple[str, str], _Snippet] = {}
    for event in events:
        ident = (event.repo, event.snippet)
        if event.kind is Kind.GENERATED and event.context is not None:
            snippets[ident] = _Snippet(event.context, set(event.findings))
            continue
        found = snippets.get(ident)
        if found is None:
            continue
        found.keys.update(event.findings)
        if event.pattern and (key := valid_key(event.pattern)):
            found.keys.add(key)
        verdict = _verdict(event)
        if verdict is not None:
            found.rejected = verdict
    return [s for s in snippets.values() if s.rejected is not None]


def _arm(per_session: Mapping[str, tuple[int, int]]) -> Arm:
    """Sum one arm's (rejected, snippets) per session; effective count under clustering.

    The variance of the pooled rate as a ratio estimator over sessions,
    ``k/(k-1) · Σ (r_i - p·n_i)² / N²``, against the binomial ``p(1-p)/N``: their ratio is
    the design effect, and ``N / max(1, design effect)`` the effective count.
    """
    k = len(per_session)
    rejected = sum(r for r, _ in per_session.values())
    total = sum(n for _, n in per_session.values())
    effective = float(total)
    if k > 1 and total:
        p = rejected / total
        spread = sum((r - p * n) ** 2 for r, n in per_session.values())
        cluster = k / (k - 1) * spread / total**2
        binomial = p * (1 - p) / total
        if cluster > binomial > 0:
            effective = total * binomial / cluster
    return Arm(k, total, rejected, effective)


def evaluate(
    events: Iterable[Event],
    settings: ExperimentSettings,
    withdrawn: Mapping[str, Any] | None = None,
) -> list[RuleEffect]:
    """Measure each rule that was part of the experiment, by key.

    ``withdrawn``: the rules withdrawn before (their effect is still measured, and marked).
    """
    arms: dict[str, tuple[dict[str, list[int]], dict[str, list[int]]]] = {}
    for snippet in judged_snippets(events):
        context = snippet.context
        for key in (*context.shown, *context.withheld):
            pair = arms.setdefault(key, ({}, {}))
            side = pair[0] if key in context.shown else pair[1]
            counts = side.setdefault(context.session, [0, 0])
            if key in snippet.keys:
                counts[0] += int(bool(snippet.rejected))
                counts[1] += 1
    # a session with no snippet the rule targets still counts as a session of its arm
    effects: list[RuleEffect] = []
    for key in sorted(arms):
        shown_sessions, withheld_sessions = arms[key]
        shown = _arm({s: (r, n) for s, (r, n) in shown_sessions.items()})
        withheld = _arm({s: (r, n) for s, (r, n) in withheld_sessions.items()})
        ratio, low, high = _compare(shown, withheld, settings.confidence)
        verdict = NO_EFFECT_YET
        enough = (
            min(shown.sessions, withheld.sessions) >= settings.min_sessions
            and shown.snippets
            and withheld.snippets
        )
        if enough and high < 1:
            verdict = HELPS
        elif enough and low > 1:
            verdict = HURTS
        elif shown.sessions + withheld.sessions >= settings.flag_after_sessions:
            verdict = NO_EFFECT
        effects.append(
            RuleEffect(
                key,
                shown,
                withheld,
                ratio,
                low,
                high,
                verdict,
                withdrawn=bool(withdrawn and key in withdrawn) or verdict == HURTS,
            )
        )
    return effects


def _compare(shown: Arm, withheld: Arm, confidence: float) -> tuple[float, float, float]:
    """Return the odds ratio of rejection shown vs withheld, on effective counts."""
    if not shown.snippets or not withheld.snippets:  # nothing to compare: no interval
        return 1.0, 0.0, math.inf
    a, b = _cells(shown)
    c, d = _cells(withheld)
    return odds_ratio_of_cells(a, b, c, d, confidence)


def _cells(arm: Arm) -> tuple[float, float]:
    """Return an arm's (rejected, accepted) as effective counts."""
    rate = arm.rejected / arm.snippets
    return rate * arm.effective, (1 - rate) * arm.effective


# --- withdrawn rules ---------------------------------------------------------------------


def load_withdrawn(root: Path) -> tuple[dict[str, dict[str, Any]], list[str]]:
    """Return the withdrawn rules of the workspace (key: why and when) and any problems.

    A missing file is no withdrawn rule; an unreadable one, or a link, gives a message
    and none. Keys that are not pattern keys are left out.
    """
    from ailoop.workspace_files import WorkspaceFileError, read_text

    try:
        text = read_text(root, WITHDRAWN_FILE)
    except WorkspaceFileError as exc:
        return {}, [f"{exc}; no rule counts as withdrawn"]
    if text is None:
        return {}, []
    try:
        data = json.loads(text)
    except ValueError as exc:
        return {}, [f"{root / WITHDRAWN_FILE}: unreadable ({exc}); no rule counts as withdrawn"]
    rules = data.get("withdrawn") if isinstance(data, dict) else None
    if not isinstance(rules, dict):
        return {}, [f"{root / WITHDRAWN_FILE}: no 'withdrawn' table; no rule counts as withdrawn"]
    return {
        k: (v if isinstance(v, dict) else {})
        for k, v in rules.items()
        if isinstance(k, str) and is_valid_key(k)
    }, []


def save_withdrawn(root: Path, rules: Mapping[str, Mapping[str, Any]]) -> None:
    """Write the withdrawn rules (pretty JSON, sorted), atomically; raises on a link."""
    from ailoop.workspace_files import write_text

    body = {"withdrawn": {k: dict(rules[k]) for k in sorted(rules)}}
    write_text(root, WITHDRAWN_FILE, json.dumps(body, indent=2, sort_keys=True) + "\n")


def without_withdrawn(keys: Iterable[str], withdrawn: Mapping[str, Any]) -> list[str]:
    """Return ``keys`` without the withdrawn ones (for the context builders)."""
    return [k for k in keys if k not in withdrawn]
