"""Candidate patterns mined from the code of the store's AI snippets (``ailoop patterns suggest``).

The local store keeps the code of each AI snippet (an outcome's ``text``, else the text
of its snippet's newest ``generated`` or ``modified`` event before it). For every outcome
whose code is Python that parses, the *candidate keys* present in it are:

- ``call:NAME``: a called name, as written (``eval``, ``os.system``, ``self.save``);
- ``import:MODULE``: an imported module (``import pickle``, ``from os.path import join``
  give ``import:pickle`` and ``import:os.path``; relative imports are left out);
- ``ruff:CODE``: a rule of the ruff installed with ailoop run with ``--select ALL`` on
  the snippets' texts alone (``--isolated``: no configuration the repository has), once
  over all of them, written to files in a temporary folder. Rules about a file rather than
  a snippet (:data:`RUFF_IGNORED`) are left out.

Each candidate is then checked as ``ailoop patterns evaluate`` checks the learned
patterns (:mod:`ailoop.patterns.evaluate`): the outcomes with code are split by time, the
statistics (:func:`ailoop.patterns.stats.stats_from_rows`, the workspace's settings) are
learned on the older part with the candidate keys as findings, and every key *supported*
there is measured on the newest ``holdout`` share: the share of held-out rejections with
the key over the share of held-out acceptances with it (the held-out lift, Katz interval).
A candidate is suggested when its held-out interval does not go below 1 and at least
:data:`MIN_HELD_OUT` held-out outcomes have it; keys that already warn (supported in the
store's statistics from its findings) are not suggested again.

Everything read from the store is data: texts are parsed (never run), bounded in size
(:data:`MAX_TEXT_CHARS` each, :data:`MAX_TOTAL_CHARS` over all, :data:`MAX_OUTCOMES`
newest outcomes), and only well-formed keys (:data:`ailoop.patterns.model.KEY`) come out.
"""

from __future__ import annotations

import ast
import dataclasses
import datetime as dt
import json
import re
import subprocess
import tempfile
import textwrap
from collections.abc import Collection, Iterable, Sequence
from pathlib import Path, PurePath
from typing import Any

from ailoop.patterns.evaluate import (
    MIN_OUTCOMES,
    FlagShares,
    Outcome,
    comparable_split,
    rate_ratio,
    training_rows,
)
from ailoop.patterns.languages import canonical_language, language_for_path
from ailoop.patterns.model import is_valid_key
from ailoop.patterns.stats import (
    PatternSettings,
    PatternStats,
    iso_utc,
    recent_cutoff,
    stats_from_rows,
)

#: A snippet longer than this (in characters) is not mined.
MAX_TEXT_CHARS = 20_000
#: At most this many characters of distinct snippet code are mined (newest first).
MAX_TOTAL_CHARS = 20_000_000
#: At most this many outcomes (the newest) are read from the store.
MAX_OUTCOMES = 50_000
#: At most this many candidate keys are taken from one snippet.
MAX_KEYS_PER_SNIPPET = 200
#: Seconds ruff may take over all the snippets; bytes of output read from it.
RUFF_TIMEOUT = 120.0
MAX_RUFF_OUTPUT = 256 * 2**20
#: Held-out outcomes that must have a candidate for its held-out figure to count.
MIN_HELD_OUT = 5
#: Dotted names longer than this many parts are not candidates.
MAX_NAME_PARTS = 5

#: Ruff rules about a file, not a snippet (a copyright line, a module docstring, a
#: package's ``__init__.py``), and one of each pair of conflicting docstring rules.
RUFF_IGNORED = ("CPY001", "D100", "D203", "D213", "INP001")

_RUFF_CODE = re.compile(r"[A-Z]{1,4}[0-9]{1,4}")
_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]*(?:\.[A-Za-z_][A-Za-z0-9_]*){0,4}")


@dataclasses.dataclass(frozen=True)
class TextOutcome:
    """One outcome of an AI snippet, with its time and its code (None: none stored)."""

    at: dt.datetime
    rejected: bool
    text: str | None
    language: str = ""
    path: str = ""
    findings: tuple[str, ...] = ()


def is_python(language: str, path: str) -> bool:
    """Return whether a snippet of ``language`` in ``path`` is Python (unknown: maybe)."""
    if language:
        return canonical_language(language) == "python"
    if path:
        found = language_for_path(PurePath(path))
        return found in (None, "python")
    return True


def parse_snippet(text: str) -> tuple[str, ast.Module] | None:
    """Return a snippet's code (dedented) and its syntax tree, or None if it is not Python."""
    code = textwrap.dedent(text)
    if not code.endswith("\n"):
        code += "\n"
    try:
        return code, ast.parse(code)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None


def _dotted(node: ast.expr) -> str | None:
    parts: list[str] = []
    while isinstance(node, ast.Attribute) and len(parts) < MAX_NAME_PARTS:
        parts.append(node.attr)
        node = node.value
    if not isinstance(node, ast.Name):
        return None
    parts.append(node.id)
    return ".".join(reversed(parts))


def syntax_keys(tree: ast.AST) -> set[str]:
    """Return the ``call:`` and ``import:`` candidate keys of a parsed snippet."""
    keys: set[str] = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Call):
            name = _dotted(node.func)
            if name:
                keys.add("call:" + name)
        elif isinstance(node, ast.Import):
            keys.update("import:" + alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom) and node.level == 0 and node.module:
            keys.add("import:" + node.module)
    return {k for k in keys if is_valid_key(k)}


@dataclasses.dataclass(frozen=True)
class RuffRun:
    """What ruff said about the snippets: rule codes per snippet, or why it could not."""

    rules: dict[int, set[str]]
    problem: str | None = None


def ruff_rules(ruff: str, texts: Sequence[str], timeout: float = RUFF_TIMEOUT) -> RuffRun:
    """Run ``ruff check --select ALL`` once over ``texts``; return the rules of each (by index).

    The texts are written to ``s<index>.py`` in a temporary folder, checked with no
    configuration (``--isolated``), no cache and no fixes, within ``timeout`` seconds; the
    output is read only up to :data:`MAX_RUFF_OUTPUT` bytes.
    """
    if not texts:
        return RuffRun({})
    with tempfile.TemporaryDirectory(prefix="ailoop-suggest-") as tmp:
        folder = Path(tmp) / "snippets"
        folder.mkdir()
        for index, text in enumerate(texts):
            (folder / f"s{index}.py").write_text(text, encoding="utf-8", errors="replace")
        argv = [
            ruff, "check", "--isolated", "--no-cache", "--no-fix", "--exit-zero",
            "--no-respect-gitignore", "--quiet", "--select", "ALL",
            "--ignore", ",".join(RUFF_IGNORED), "--output-format", "json", str(folder),
        ]  # fmt: skip
        out_path, err_path = Path(tmp) / "out.json", Path(tmp) / "err.txt"
        try:
            with out_path.open("wb") as out, err_path.open("wb") as err:
                code = subprocess.run(
                    argv, stdout=out, stderr=err, stdin=subprocess.DEVNULL,
                    cwd=tmp, timeout=timeout, check=False,
                ).returncode  # fmt: skip
        except subprocess.TimeoutExpired:
            return RuffRun({}, f"ruff took longer than {timeout:g} s")
        except OSError as exc:
            return RuffRun({}, f"ruff could not be started ({exc.strerror or exc})")
        if code != 0:
            with err_path.open("rb") as err:
                lines = err.read(4000).decode("utf-8", "replace").strip().splitlines()
            return RuffRun({}, f"ruff failed: {lines[-1] if lines else f'exit code {code}'}")
        if out_path.stat().st_size > MAX_RUFF_OUTPUT:
            return RuffRun({}, f"ruff printed over {MAX_RUFF_OUTPUT // 2**20} MiB")
        try:
            items = json.loads(out_path.read_bytes() or b"[]")
        except ValueError as exc:
            return RuffRun({}, f"ruff printed something that is not JSON ({exc})")
    rules: dict[int, set[str]] = {}
    for item in items if isinstance(items, list) else ():
        if not isinstance(item, dict):
            continue
        code_text, filename = item.get("code"), item.get("filename")
        if not isinstance(code_text, str) or not isinstance(filename, str):
            continue  # a syntax error has no code
        stem = PurePath(filename).stem
        if not _RUFF_CODE.fullmatch(code_text) or not stem[1:].isdigit():
            continue
        index = int(stem[1:])
        if 0 <= index < len(texts):
            rules.setdefault(index, set()).add("ruff:" + code_text)
    return RuffRun(rules)


@dataclasses.dataclass(frozen=True)
class Mined:
    """The outcomes with their candidate keys, and what was left out and why."""

    outcomes: tuple[Outcome, ...]  # ``findings`` holds the candidate keys
    read: int  # outcomes read
    without_code: int
    not_python: int
    too_large: int
    not_parsed: int
    snippets: int  # distinct snippet texts mined
    ruff: str | None  # the ruff run, None when none was found
    ruff_problem: str | None = None


def mine(outcomes: Iterable[TextOutcome], ruff: str | None, timeout: float = RUFF_TIMEOUT) -> Mined:
    """Find the candidate keys of each outcome in its code (newest outcomes first)."""
    read = without_code = not_python = too_large = not_parsed = 0
    budget = MAX_TOTAL_CHARS
    keys_of: dict[str, int] = {}  # code → index of its distinct snippet
    codes: list[str] = []
    syntax: list[set[str]] = []
    failed: set[str] = set()
    kept: list[tuple[TextOutcome, int]] = []
    for o in sorted(outcomes, key=lambda o: o.at, reverse=True):
        read += 1
        if not o.text or not o.text.strip():
            without_code += 1
            continue
        if not is_python(o.language, o.path):
            not_python += 1
            continue
        if len(o.text) > MAX_TEXT_CHARS:
            too_large += 1
            continue
        index = keys_of.get(o.text)
        if index is None:
            if o.text in failed:
                not_parsed += 1
                continue
            if len(o.text) > budget:
                too_large += 1
                continue
            budget -= len(o.text)
            parsed = parse_snippet(o.text)
            if parsed is None:
                failed.add(o.text)
                not_parsed += 1
                continue
            index = keys_of[o.text] = len(codes)
            codes.append(parsed[0])
            syntax.append(syntax_keys(parsed[1]))
        kept.append((o, index))
    run = ruff_rules(ruff, codes, timeout) if ruff is not None and codes else RuffRun({})
    mined = []
    for o, index in kept:
        found = sorted(syntax[index] | run.rules.get(index, set()))[:MAX_KEYS_PER_SNIPPET]
        mined.append(Outcome(o.at, tuple(found), o.rejected))
    mined.reverse()  # oldest first
    return Mined(
        tuple(mined),
        read,
        without_code,
        not_python,
        too_large,
        not_parsed,
        len(codes),
        ruff,
        run.problem,
    )


def candidate_kind(key: str) -> str:
    """Return what a candidate key is: ``call``, ``import`` or ``ruff``."""
    return key.partition(":")[0]


@dataclasses.dataclass(frozen=True)
class Candidate:
    """A key supported on the older outcomes, with its figures on the newer ones."""

    key: str
    training: PatternStats
    held_out: FlagShares
    holds: bool
    why_not: str | None = None  # why it is not suggested

    def to_json(self) -> dict[str, Any]:
        """Return the candidate as a JSON-ready dict."""
        return {
            "key": self.key,
            "kind": candidate_kind(self.key),
            "holds": self.holds,
            "why_not": self.why_not,
            "training": self.training.to_json(),
            "held_out": self.held_out.to_json(),
            "promote": promote_hint(self.key),
        }


@dataclasses.dataclass(frozen=True)
class Suggestions:
    """The result of ``ailoop patterns suggest`` (``problem`` set when there is none)."""

    holdout: float
    confidence: float
    outcomes: int  # outcomes in the store
    mined: Mined | None = None
    training: int = 0
    held_out: int = 0
    split: str = ""
    candidates: tuple[Candidate, ...] = ()  # suggested, best first (at most ``limit``)
    dropped: tuple[Candidate, ...] = ()  # supported in training, not holding
    already_warning: tuple[str, ...] = ()  # supported in training and already a warning
    keys_seen: int = 0  # distinct candidate keys in the training part
    problem: str | None = None

    def to_json(self) -> dict[str, Any]:
        """Return everything as a JSON-ready dict."""
        mined = self.mined
        return {
            "holdout": self.holdout,
            "confidence": self.confidence,
            "min_held_out": MIN_HELD_OUT,
            "outcomes": self.outcomes,
            "read": mined.read if mined else 0,
            "mined": len(mined.outcomes) if mined else 0,
            "snippets": mined.snippets if mined else 0,
            "skipped": {
                "without_code": mined.without_code if mined else 0,
                "not_python": mined.not_python if mined else 0,
                "too_large": mined.too_large if mined else 0,
                "not_parsed": mined.not_parsed if mined else 0,
            },
            "ruff": mined.ruff if mined else None,
            "ruff_problem": mined.ruff_problem if mined else None,
            "training": self.training,
            "held_out": self.held_out,
            "split": self.split,
            "keys_seen": self.keys_seen,
            "candidates": [c.to_json() for c in self.candidates],
            "dropped": [c.to_json() for c in self.dropped],
            "already_warning": list(self.already_warning),
            "problem": self.problem,
        }


def _held_out_shares(key: str, held: Sequence[Outcome], confidence: float) -> FlagShares:
    rejected = sum(o.rejected for o in held)
    rejected_with = sum(1 for o in held if o.rejected and key in o.findings)
    accepted = len(held) - rejected
    accepted_with = sum(1 for o in held if not o.rejected and key in o.findings)
    ratio = rate_ratio(rejected_with, rejected, accepted_with, accepted, confidence)
    point, low, high = ratio if ratio is not None else (None, None, None)
    return FlagShares(key, True, rejected, rejected_with, accepted, accepted_with, point, low, high)


def _skipped_text(mined: Mined) -> str:
    parts = [
        f"{n} {what}"
        for n, what in (
            (mined.without_code, "without code"),
            (mined.not_python, "not Python"),
            (mined.not_parsed, "not parsing as Python"),
            (mined.too_large, "too large"),
        )
        if n
    ]
    return ", ".join(parts) if parts else "none left out"


def suggest(
    outcomes: int,
    mined: Mined,
    settings: PatternSettings,
    holdout: float = 0.3,
    limit: int | None = 20,
    warning: Collection[str] = (),
) -> Suggestions:
    """Learn the candidate keys on the older mined outcomes, keep those that hold on the newest.

    ``outcomes``: how many outcomes the store has; ``warning``: keys that already warn.
    """
    if not 0 < holdout < 1:
        raise ValueError(f"holdout must be between 0 and 1, not {holdout!r}")
    result = Suggestions(holdout, settings.confidence, outcomes, mined)
    found = len(mined.outcomes)
    if outcomes < MIN_OUTCOMES:
        problem = (
            f"the store has {outcomes} outcome(s) of AI snippets (accepted, kept or rejected); "
            f"suggesting needs at least {MIN_OUTCOMES}"
        )
    elif mined.read and mined.without_code == mined.read:
        problem = (
            f"none of the {mined.read} outcome(s) read has the code of its snippet (events "
            "imported or synced without their text carry none): there is nothing to mine"
        )
    elif found < MIN_OUTCOMES:
        problem = (
            f"{found} of the {mined.read} outcome(s) read have Python code that parses "
            f"({_skipped_text(mined)}); suggesting needs at least {MIN_OUTCOMES}"
        )
    else:
        problem = None
    if problem:
        return dataclasses.replace(result, problem=problem)
    training, held_out, split, problem = comparable_split(mined.outcomes, holdout)
    result = dataclasses.replace(
        result, training=len(training), held_out=len(held_out), split=iso_utc(split)
    )
    if problem:
        return dataclasses.replace(result, problem=problem)
    stats = stats_from_rows(training_rows(training, recent_cutoff(split, settings)), settings)
    supported = sorted(k for k, s in stats.items() if s.supported)
    already = tuple(k for k in supported if k in warning)
    shown: list[Candidate] = []
    dropped: list[Candidate] = []
    for key in supported:
        if key in warning:
            continue
        shares = _held_out_shares(key, held_out, settings.confidence)
        with_key = shares.rejected_flagged + shares.accepted_flagged
        if with_key < MIN_HELD_OUT:
            why = f"only {with_key} held-out outcome(s) have it (at least {MIN_HELD_OUT} needed)"
        elif shares.lift_low is None or shares.lift_low < 1:
            why = "its held-out interval goes below 1"
        else:
            why = None
        candidate = Candidate(key, stats[key], shares, why is None, why)
        (shown if why is None else dropped).append(candidate)
    shown.sort(key=lambda c: (-(c.held_out.lift_low or 0.0), -c.training.lift_low, c.key))
    dropped.sort(key=lambda c: c.key)
    return dataclasses.replace(
        result,
        candidates=tuple(shown if limit is None else shown[: max(limit, 0)]),
        dropped=tuple(dropped),
        already_warning=already,
        keys_seen=len(stats),
    )


# -- promoting a suggestion -------------------------------------------------------------


def _import_regex(module: str) -> str:
    name = re.escape(module)
    return (
        rf"^\s*(?:from\s+{name}\s+import\b"
        rf"|import\s+(?:[\w.]+(?:\s+as\s+\w+)?\s*,\s*)*{name}(?![\w.]))"
    )


@dataclasses.dataclass(frozen=True)
class SuggestedMatcher:
    """The matcher a suggestion is promoted with: ``regex`` or ``ast_grep``, and a title."""

    kind: str
    matcher: str
    title: str


def matcher_for(key: str) -> SuggestedMatcher | None:
    """Return the team-pattern matcher of a ``call:`` or ``import:`` candidate, else None.

    ``call:os.system`` becomes the ast-grep pattern ``os.system($$$ARGS)``,
    ``import:pickle`` a regex for ``import pickle`` and ``from pickle import …``.
    """
    kind, _, name = key.partition(":")
    if not _NAME.fullmatch(name):
        return None
    if kind == "call":
        return SuggestedMatcher("ast_grep", f"{name}($$$ARGS)", f"call to {name}()")
    if kind == "import":
        return SuggestedMatcher("regex", _import_regex(name), f"import of {name}")
    return None


def ruff_rule_of(key: str) -> str | None:
    """Return the ruff rule code of a ``ruff:`` candidate (``ruff:S307`` → ``S307``)."""
    kind, _, code = key.partition(":")
    return code if kind == "ruff" and _RUFF_CODE.fullmatch(code) else None


def ruff_rule_advice(code: str) -> str:
    """Return how to have ailoop check AI code with the ruff rule ``code``."""
    return (
        f"ruff:{code} is a ruff rule, not a pattern a matcher can stand for: add it to the "
        "rules ailoop runs on AI code only, in pyproject.toml:\n\n"
        "    [tool.ailoop.feedback.ruff]\n"
        f'    extra_select = ["{code}"]\n\n'
        f"(or `[feedback.ruff]` in .ailoop.toml). Its findings then carry ruff:{code}, "
        "and its statistics are learned like any rule's."
    )


def promote_hint(key: str) -> str:
    """Return the ``ailoop patterns promote`` arguments for a candidate (or the config)."""
    code = ruff_rule_of(key)
    if code is not None:
        return f'[tool.ailoop.feedback.ruff] extra_select = ["{code}"]'
    name = key.partition(":")[2]
    default_id = re.sub(r"[^A-Za-z0-9_.-]+", "-", f"{name}-{candidate_kind(key)}").lstrip("_.-")
    return f"patterns promote --suggestion {key} --id {default_id}"
