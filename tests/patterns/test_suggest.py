"""``ailoop patterns suggest``: candidates mined from the snippets' code, checked on a time split.

The store is a real local store with generated histories: a called name (``eval``), an
import (``pickle``) and a ruff rule (a bare ``except:``, E722) are planted in snippets that
are mostly rejected, and other calls and imports are noise, as often in rejected snippets
as in accepted ones. Ruff is the real one of the test environment.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import random
import textwrap
from pathlib import Path

import pytest
from conftest import RunAiloop
from pattern_testkit import store_events, ts

from ailoop.feedback.locate import find_executable
from ailoop.patterns.aggregate import local_outcome_texts
from ailoop.patterns.evaluate import MIN_OUTCOMES
from ailoop.patterns.patternset import PatternSet
from ailoop.patterns.stats import PatternSettings
from ailoop.patterns.suggest import (
    TextOutcome,
    matcher_for,
    mine,
    parse_snippet,
    promote_hint,
    ruff_rules,
    suggest,
    syntax_keys,
)
from ailoop.store.events import Event, Kind

START = dt.datetime(2026, 9, 1, 9, 0, tzinfo=dt.timezone.utc)
PLANTED = ("call:eval", "import:pickle", "ruff:E722")
NOISE_CALLS = ("call:helper_a", "call:helper_b", "call:helper_c", "call:json.dumps")
NOISE_IMPORTS = ("import:json", "import:re", "import:os.path", "import:math")

PLANTS = {
    "eval": "    result = eval(expression)\n",
    "pickle": "    import pickle\n    blob = data\n",
    "bare": "    try:\n        value = table[key]\n    except:\n        value = None\n",
}
NOISE_LINES = (
    "    helper_a(value)\n",
    "    helper_b(value, 2)\n",
    "    helper_c()\n",
    "    text = json.dumps(value)\n",
    "    import json\n",
    "    import re\n",
    "    from os.path import join\n",
    "    import math\n",
)


def snippet_text(rng: random.Random, plant: str | None) -> str:
    """A small function: some noise lines, the planted line if any (indented: a fragment)."""
    body = [line for line in NOISE_LINES if rng.random() < 0.3]
    if plant:
        body.insert(rng.randrange(len(body) + 1), PLANTS[plant])
    body.append(f"    return {rng.randrange(1000)}\n")
    head = f"def handle_{rng.randrange(10**6)}(value, expression, table, key, data):\n"
    return textwrap.indent(head + "".join(body), "    ")


def history(seed: int = 11, count: int = 700) -> list[Event]:
    """Outcomes two hours apart; half carry their code, half only their generated event does."""
    rng = random.Random(seed)
    events: list[Event] = []
    for i in range(count):
        at = START + dt.timedelta(hours=i)
        roll = rng.random()
        plant = "eval" if roll < 0.1 else "pickle" if roll < 0.2 else "bare" if roll < 0.3 else None
        rejected = rng.random() < (0.85 if plant else 0.35)
        text = snippet_text(rng, plant)
        snippet = f"sha256:{os.urandom(8).hex()}"
        common = {"snippet": snippet, "language": "python", "path": "app/handlers.py"}
        kind = Kind.REJECTED if rejected else Kind.ACCEPTED
        if i % 2:
            events.append(Event(kind=kind, text=text, ts=ts(at), **common))
        else:  # the code is on the generated event only
            events.append(
                Event(Kind.GENERATED, text=text, ts=ts(at - dt.timedelta(minutes=5)), **common)
            )
            events.append(Event(kind=kind, ts=ts(at), **common))
    # what is not mined: no code at all, another language, code that does not parse
    for i, (text, language) in enumerate(
        [(None, "python"), ("eval(x)\n", "javascript"), ("def broken(:\n", "python")] * 5
    ):
        at = START + dt.timedelta(hours=2 * i + 1)
        events.append(
            Event(
                Kind.REJECTED,
                snippet=f"sha256:{os.urandom(8).hex()}",
                language=language,
                text=text,
                ts=ts(at),
            )
        )
    return events


def ruff_path() -> str:
    found = find_executable("ruff", None)
    assert found is not None, "the test environment has ruff"
    return str(found)


@pytest.fixture
def stored(data_dir: Path) -> Path:
    store_events(data_dir, history())
    return data_dir


def test_the_planted_candidates_are_suggested_and_the_noise_is_not(stored: Path) -> None:
    total, outcomes = local_outcome_texts(stored)
    assert total == 715
    by_code = sum(o.text is not None for o in outcomes)
    assert by_code == 710  # the joined generated texts count; 5 have no code anywhere
    mined = mine(outcomes, ruff_path())
    assert mined.ruff_problem is None
    assert (mined.without_code, mined.not_python, mined.not_parsed) == (5, 5, 5)
    assert len(mined.outcomes) == 700
    result = suggest(total, mined, PatternSettings(), holdout=0.3)
    assert result.problem is None
    assert (result.training, result.held_out) == (490, 210)
    keys = [c.key for c in result.candidates]
    for planted in PLANTED:
        assert planted in keys
    for noise in NOISE_CALLS + NOISE_IMPORTS + ("ruff:T201", "ruff:F401"):
        assert noise not in keys
    assert result.keys_seen > 20  # the noise was there to be found
    for candidate in result.candidates:
        t, h = candidate.training, candidate.held_out
        assert t.supported
        assert t.lift_low <= t.lift <= t.lift_high
        assert t.lift_low >= PatternSettings().min_lift
        assert h.lift is not None
        assert h.lift_low is not None
        assert h.lift_high is not None
        assert 1 <= h.lift_low <= h.lift <= h.lift_high
        assert h.rejected + h.accepted == 210
        assert h.rejected_flagged + h.accepted_flagged >= 5
    eval_candidate = next(c for c in result.candidates if c.key == "call:eval")
    assert eval_candidate.training.rejected > 3 * eval_candidate.training.accepted
    report = result.to_json()
    assert json.loads(json.dumps(report)) == report
    assert report["candidates"][0]["held_out"]["lift_low"] >= 1
    assert all(d["why_not"] for d in report["dropped"])


def test_without_ruff_calls_and_imports_are_still_mined(stored: Path) -> None:
    total, outcomes = local_outcome_texts(stored)
    result = suggest(total, mine(outcomes, None), PatternSettings())
    keys = [c.key for c in result.candidates]
    assert "call:eval" in keys
    assert "import:pickle" in keys
    assert not any(k.startswith("ruff:") for k in keys)
    broken = mine(outcomes, "/nonexistent/ruff")
    assert broken.ruff_problem is not None
    assert "could not be started" in broken.ruff_problem


def test_keys_already_warning_are_not_suggested_again(stored: Path) -> None:
    total, outcomes = local_outcome_texts(stored)
    mined = mine(outcomes, None)
    result = suggest(total, mined, PatternSettings(), warning={"call:eval"})
    assert "call:eval" not in [c.key for c in result.candidates]
    assert result.already_warning == ("call:eval",)


def test_syntax_keys_and_ruff_on_snippets() -> None:
    parsed = parse_snippet(
        "    import pickle, os.path as p\n    from json import dumps\n    from . import x\n"
        "    os.system(cmd)\n    obj.method()()\n    \uff45val(x)\n"
    )
    assert parsed is not None
    # Python reads identifiers in NFKC: eval with a full-width e is eval, and counts as it.
    assert syntax_keys(parsed[1]) == {
        "call:eval",
        "import:pickle",
        "import:os.path",
        "import:json",
        "call:os.system",
        "call:obj.method",
    }
    assert parse_snippet("else:\n    pass\n") is None
    run = ruff_rules(ruff_path(), ["try:\n    x = 1\nexcept:\n    pass\n", "x = 1\n"])
    assert run.problem is None
    assert "ruff:E722" in run.rules[0]
    assert not ({"ruff:CPY001", "ruff:D100", "ruff:INP001"} & run.rules[0])
    assert 1 not in run.rules


def test_suggested_matchers_match_what_the_key_names() -> None:
    call = matcher_for("call:os.system")
    assert call is not None
    assert (call.kind, call.matcher) == ("ast_grep", "os.system($$$ARGS)")
    imported = matcher_for("import:os.path")
    assert imported is not None
    assert imported.kind == "regex"
    assert matcher_for("ruff:E722") is None
    assert matcher_for("call:x;y") is None
    assert promote_hint("call:eval") == "patterns promote --suggestion call:eval --id eval-call"
    assert promote_hint("ruff:E722") == '[tool.ailoop.feedback.ruff] extra_select = ["E722"]'


def test_small_stores_and_stores_without_code_say_why(data_dir: Path) -> None:
    few = [TextOutcome(START + dt.timedelta(hours=i), i % 2 == 0, "eval(x)\n") for i in range(10)]
    result = suggest(10, mine(few, None), PatternSettings())
    assert result.problem is not None
    assert "the store has 10 outcome(s)" in result.problem
    no_code = [TextOutcome(START + dt.timedelta(hours=i), i % 2 == 0, None) for i in range(40)]
    result = suggest(40, mine(no_code, None), PatternSettings())
    assert result.problem is not None
    assert "none of the 40 outcome(s) read has the code of its snippet" in result.problem
    broken = [
        TextOutcome(START + dt.timedelta(hours=i), i % 2 == 0, "def f(:\n" if i else "x()\n")
        for i in range(MIN_OUTCOMES + 5)
    ]
    result = suggest(len(broken), mine(broken, None), PatternSettings())
    assert result.problem is not None
    assert "1 of the 35 outcome(s) read have Python code that parses" in result.problem
    assert "34 not parsing as Python" in result.problem


def test_suggest_end_to_end(stored: Path, tmp_path: Path, run_ailoop: RunAiloop) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    result = run_ailoop("patterns", "suggest", "--format", "json", cwd=root)
    assert result.returncode == 0, result.stderr
    report = json.loads(result.stdout)
    assert report["problem"] is None
    assert (report["outcomes"], report["mined"]) == (715, 700)
    assert report["ruff"]
    keys = [c["key"] for c in report["candidates"]]
    assert set(PLANTED) <= set(keys)
    assert not set(keys) & set(NOISE_CALLS + NOISE_IMPORTS)
    first = report["candidates"][0]
    assert first["training"]["supported"]
    assert first["held_out"]["lift_low"] >= 1
    assert first["promote"]
    text = run_ailoop("patterns", "suggest", "--limit", "2", cwd=root)
    assert text.returncode == 0, text.stderr
    assert "Mined the Python code of 700 of the 715 outcome(s)" in text.stdout
    assert "5 without code, 5 not Python, 5 not parsing" in text.stdout
    assert "checked on the newest 210 (30% held out)" in text.stdout
    assert "held-out lift (90%)" in text.stdout
    assert "How to read it: the odds ratio compares" in text.stdout
    assert "1 = it predicts nothing" in text.stdout
    table = text.stdout.split("Suggested patterns\n", 1)[1].split("\n\n", 1)[0]
    assert len(table.strip().splitlines()) == 4  # header, rule, two candidates
    small = run_ailoop("patterns", "suggest", "--data-dir", str(tmp_path / "empty"), cwd=root)
    assert small.returncode == 1
    assert small.stdout == ""
    assert "the store has 0 outcome(s)" in small.stderr
    bad = run_ailoop("patterns", "suggest", "--holdout", "0", cwd=root)
    assert bad.returncode == 2
    assert "expected a number between 0 and 1" in bad.stderr


def test_promote_a_suggestion(data_dir: Path, tmp_path: Path, run_ailoop: RunAiloop) -> None:
    root = tmp_path / "repo"
    root.mkdir()
    done = run_ailoop("patterns", "promote", "--suggestion", "call:eval", "--id", "ev", cwd=root)
    assert done.returncode == 0, done.stderr
    assert "promoted suggestion call:eval to pattern:ev" in done.stdout
    imported = run_ailoop(
        "patterns", "promote", "--suggestion", "import:pickle", "--id", "pickle-import", cwd=root
    )
    assert imported.returncode == 0, imported.stderr
    written = (root / ".ailoop" / "patterns.toml").read_text(encoding="utf-8")
    assert 'ast_grep = "eval($$$ARGS)"' in written
    assert 'languages = ["python"]' in written
    patterns, problems = PatternSet.load(root)
    assert problems == []
    code = (
        "import os, pickle\nfrom pickle import loads\nimport pickled\nx = eval(s)\ny = o.eval(s)\n"
    )
    found = [(m.key, m.start[0]) for m in patterns.match(code, "python")]
    assert sorted(found) == [
        ("pattern:ev", 3),
        ("pattern:pickle-import", 0),
        ("pattern:pickle-import", 1),
    ]
    again = run_ailoop("patterns", "promote", "--suggestion", "call:eval", "--id", "ev", cwd=root)
    assert again.returncode == 2
    assert "exists already" in again.stderr
    rule = run_ailoop("patterns", "promote", "--suggestion", "ruff:E722", "--id", "x", cwd=root)
    assert rule.returncode == 0, rule.stderr
    assert 'extra_select = ["E722"]' in rule.stdout
    assert "Nothing written" in rule.stdout
    assert (root / ".ailoop" / "patterns.toml").read_text(encoding="utf-8") == written
    unknown = run_ailoop("patterns", "promote", "--suggestion", "ty:foo", "--id", "y", cwd=root)
    assert unknown.returncode == 2
    assert "no matcher can be derived" in unknown.stderr
    bare = run_ailoop("patterns", "promote", "--id", "z", cwd=root)
    assert bare.returncode == 2
    assert "give the REASON" in bare.stderr
    no_matcher = run_ailoop("patterns", "promote", "some reason", "--id", "z", cwd=root)
    assert no_matcher.returncode == 2
    assert "needs a matcher" in no_matcher.stderr
