"""Loading .ailoop/patterns.toml and matching texts: regex and ast-grep, bad input."""

from __future__ import annotations

import re
import threading
import time
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pattern_testkit import BACKTRACKING, BARE_EXCEPT_SNIPPET, PATTERNS_TOML

from ailoop.patterns import PatternSet
from ailoop.patterns.matchers import RegexMatcher, required_words


def load(tmp_path: Path, text: str) -> tuple[PatternSet, list[str], Path]:
    path = tmp_path / ".ailoop" / "patterns.toml"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(text, encoding="utf-8")
    patterns, problems = PatternSet.load(tmp_path)
    return patterns, problems, path


def test_regex_and_ast_grep_patterns_both_fire(tmp_path: Path) -> None:
    patterns, problems, _ = load(tmp_path, PATTERNS_TOML)
    assert problems == []
    text = BARE_EXCEPT_SNIPPET + "x = eval(data)\n"
    found = [(m.pattern_id, m.start, m.end) for m in patterns.match(text, "python")]
    assert found == [("bare-except", (3, 0), (3, 11)), ("eval-call", (5, 4), (5, 14))]


def test_columns_are_code_points(tmp_path: Path) -> None:
    patterns, _, _ = load(tmp_path, PATTERNS_TOML)
    # the emoji is one code point (two UTF-16 units, four UTF-8 bytes)
    [match] = patterns.match("s = '😀é'; eval(s)\n", "python")
    assert match.start == (0, 10)
    assert match.end == (0, 17)


def test_language_ids_and_aliases(tmp_path: Path) -> None:
    patterns, _, _ = load(tmp_path, PATTERNS_TOML)
    assert [m.pattern_id for m in patterns.match("eval(x)", "javascriptreact")] == ["eval-call"]
    assert patterns.match("eval(x)", "go") == []
    assert patterns.match("eval(x)", "plaintext") == []


def test_missing_file_is_an_empty_set(tmp_path: Path) -> None:
    patterns, problems = PatternSet.load(tmp_path)
    assert len(patterns) == 0
    assert problems == []


def test_malformed_toml_names_the_file(tmp_path: Path) -> None:
    patterns, problems, path = load(tmp_path, "[[pattern]\nid = 1\n")
    assert len(patterns) == 0
    [problem] = problems
    assert str(path) in problem
    assert "not valid TOML" in problem


BROKEN = (
    PATTERNS_TOML
    + r"""
[[pattern]]
id = "bad-regex"
regex = "(unclosed"

[[pattern]]
id = "bad-rule"
languages = ["python"]
rule = { kind = "no_such_node_kind" }

[[pattern]]
id = "bad-ast-grep-pattern"
languages = ["python"]
ast_grep = "def ("

[[pattern]]
id = "bad-language"
languages = ["klingon"]
regex = "qapla"

[[pattern]]
id = "partly-known"
languages = ["python", "klingon"]
regex = "todo_later"
"""
)


@pytest.mark.parametrize(
    ("pattern_id", "problem"),
    [
        ("bad-regex", "invalid regex '(unclosed'"),
        ("bad-rule", "no_such_node_kind"),
        ("bad-ast-grep-pattern", "does not parse as python"),
        ("bad-language", "unknown language 'klingon'"),
        ("partly-known", "unknown language 'klingon'"),
    ],
)
def test_bad_patterns_name_file_pattern_and_problem(
    tmp_path: Path, pattern_id: str, problem: str
) -> None:
    _, problems, path = load(tmp_path, BROKEN)
    mine = [p for p in problems if f"pattern {pattern_id!r}" in p]
    assert mine, problems
    assert all(p.startswith(f"{path}: ") for p in mine)
    assert any(problem in p for p in mine), mine


def test_the_other_patterns_keep_working(tmp_path: Path) -> None:
    patterns, _, _ = load(tmp_path, BROKEN)
    assert sorted(p.id for p in patterns.patterns) == ["bare-except", "eval-call", "partly-known"]
    text = BARE_EXCEPT_SNIPPET + "eval(x)  # todo_later\n"
    ids = [m.pattern_id for m in patterns.match(text, "python")]
    assert ids == ["bare-except", "eval-call", "partly-known"]


@pytest.mark.parametrize(
    ("entry", "problem"),
    [
        ('title = "no id"\nregex = "x+"', "needs an id"),
        (
            'id = "two"\nregex = "x+"\nast_grep = "y"\nlanguages = ["python"]',
            "more than one matcher",
        ),
        ('id = "none"', "needs a matcher"),
        ('id = "empty"\nregex = "x*"', "matches the empty string"),
        ('id = "astnolang"\nast_grep = "eval($A)"', "needs at least one known language"),
        ('id = "typo"\nregexp = "x+"', "unknown key 'regexp'"),
    ],
)
def test_entry_problems(tmp_path: Path, entry: str, problem: str) -> None:
    _, problems, _ = load(tmp_path, f"[[pattern]]\n{entry}\n")
    assert any(problem in p for p in problems), problems


def test_duplicate_id_keeps_the_first(tmp_path: Path) -> None:
    text = '[[pattern]]\nid = "a"\nregex = "first"\n[[pattern]]\nid = "a"\nregex = "second"\n'
    patterns, problems, _ = load(tmp_path, text)
    assert [m.pattern_id for m in patterns.match("first second", "python")] == ["a"]
    assert any("duplicate id" in p for p in problems)


REGEXES = [r"\bfoo\s*\(", r"(?i)select \* from", r"except\s*:", r"a|bcd", r"x{3,}", r"print\(\w+\)"]


@settings(max_examples=300, deadline=None)
@given(text=st.text(alphabet="fooSELECTselect *xprintabcd()\n :except", max_size=80))
def test_regex_prefilter_never_hides_a_match(text: str) -> None:
    for expression in REGEXES:
        matcher = RegexMatcher.compile(expression)
        has_match = re.search(expression, text, re.MULTILINE) is not None
        if has_match:
            assert matcher.may_match(text, text.lower()), (expression, text)


def test_ast_grep_prefilter_words() -> None:
    rule = {"pattern": "$X.get($$$ARGS) + 1", "has": {"pattern": "foo"}, "not": {"pattern": "bar"}}
    assert required_words(rule) == {"get", "1", "foo"}
    assert required_words({"any": [{"pattern": "a"}, {"pattern": "b"}]}) == frozenset()


@settings(max_examples=200, deadline=None)
@given(
    text=st.text(max_size=200),
    language=st.sampled_from(["python", "typescriptreact", "go", "", "plaintext", "PYTHON"]),
)
def test_matching_never_raises_and_positions_are_inside_the_text(text: str, language: str) -> None:
    patterns, _ = PatternSet.from_toml(PATTERNS_TOML, "patterns.toml")
    lines = text.splitlines(keepends=True) or [""]
    for match in patterns.match(text, language):
        assert match.start <= match.end
        assert 0 <= match.start[0] < len(lines)
        assert 0 <= match.end[1] <= len(lines[min(match.end[0], len(lines) - 1)]) + 1


def test_crlf_and_nul_texts(tmp_path: Path) -> None:
    patterns, _, _ = load(tmp_path, PATTERNS_TOML)
    text = "try:\r\n    x = eval(y)\r\nexcept:\r\n    pass\x00\r\n"
    found = [(m.pattern_id, m.start) for m in patterns.match(text, "python")]
    assert found == [("eval-call", (1, 8)), ("bare-except", (2, 0))]


@pytest.mark.parametrize(
    ("language", "pattern", "code"),
    [
        ("java", "foo($A)", "class A { void m() { foo(1); } }"),
        ("csharp", "Foo($A)", "class A { void M() { Foo(1); } }"),
        ("php", "eval($X)", "<?php\neval($x);\n"),
        ("rust", "$X.unwrap()", "fn main() { let a = x.unwrap(); }"),
        ("typescript", "$A as any", "const y = x as any;"),
    ],
)
def test_valid_patterns_that_are_no_valid_file_still_load(
    tmp_path: Path, language: str, pattern: str, code: str
) -> None:
    toml = f'[[pattern]]\nid = "p"\nlanguages = ["{language}"]\nast_grep = "{pattern}"\n'
    patterns, problems, _ = load(tmp_path, toml)
    assert problems == []
    assert [m.pattern_id for m in patterns.match(code, language)] == ["p"]


def test_a_backtracking_regex_is_stopped_and_disabled(tmp_path: Path) -> None:
    patterns, problems, path = load(tmp_path, BACKTRACKING)
    assert problems == []
    text = "x" * 5000 + "\n" + ("a" * 40 + "!\n") * 50 + "# TODO\n"
    started = time.perf_counter()
    found = [m.pattern_id for m in patterns.match(text, "python", "big.py")]
    first = time.perf_counter() - started
    assert found == ["todo"]  # the other patterns still ran
    [message] = patterns.take_timeouts()
    assert message.startswith(
        f"pattern 'nested-repeat' in {path} took longer than 100 ms on big.py"
    )
    assert "disabled until the patterns file changes" in message
    assert patterns.take_timeouts() == []  # said once
    started = time.perf_counter()
    assert [m.pattern_id for m in patterns.match(text, "python")] == ["todo"]
    assert time.perf_counter() - started < first  # not run again
    assert patterns.take_timeouts() == []
    reloaded, _ = PatternSet.load(tmp_path)  # the file loaded again: enabled again
    assert [m.pattern_id for m in reloaded.match("x" * 50 + "y", "python")] == ["nested-repeat"]


def test_matching_releases_the_gil(tmp_path: Path) -> None:
    patterns, _, _ = load(tmp_path, BACKTRACKING)
    ticks = 0
    done = threading.Event()

    def count() -> None:
        nonlocal ticks
        while not done.is_set():
            ticks += 1
            time.sleep(0.001)

    counter = threading.Thread(target=count)
    counter.start()
    try:
        patterns.match("x" * 5000, "python")
    finally:
        done.set()
        counter.join()
    assert ticks >= 20  # the other thread ran throughout the 100 ms search
