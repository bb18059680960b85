"""Loading .ailoop/patterns.toml and matching texts: regex and ast-grep, bad input."""

from __future__ import annotations

import json
import re
import threading
import time
from pathlib import Path

import pytest
from conftest import RunAiloop
from hypothesis import given, settings
from hypothesis import strategies as st
from pattern_testkit import BACKTRACKING, BARE_EXCEPT_SNIPPET, PATTERNS_TOML

from ailoop.patterns import PatternSet
from ailoop.patterns.matchers import AST_GREP_MAX_CHARS, RegexMatcher, required_words


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


#: Lines on which ``^(\s*a+)+$`` backtracks: Python's re never finishes even 40 short
#: ones; the regex module copes with short lines, and takes seconds over these.
SLOW_FOR_REDOS = ("a" * 4000 + "!\n") * 3


def test_a_backtracking_regex_is_stopped_and_disabled(tmp_path: Path) -> None:
    patterns, problems, path = load(tmp_path, BACKTRACKING)
    assert problems == []
    text = ("a" * 40 + "!\n") * 40 + SLOW_FOR_REDOS + "# TODO\n"
    started = time.perf_counter()
    found = [m.pattern_id for m in patterns.match(text, "python", "big.py")]
    first = time.perf_counter() - started
    assert found == ["todo"]  # the other patterns still ran
    assert 0.1 <= first < 1.0  # stopped at the deadline, not after the seconds it needs
    [message] = patterns.take_timeouts()
    assert message == (
        f"pattern 'redos-classic' in {path} took longer than 100 ms on big.py; it is "
        "disabled until the patterns file changes (a regex that backtracks: rewrite it "
        "without nested repetition)"
    )
    assert patterns.take_timeouts() == []  # said once
    started = time.perf_counter()
    assert [m.pattern_id for m in patterns.match(text, "python", "big.py")] == ["todo"]
    assert time.perf_counter() - started < 0.05  # not run again
    assert patterns.take_timeouts() == []
    assert patterns.disabled == {"redos-classic"}


def test_a_timed_out_pattern_stays_disabled_until_the_file_changes(tmp_path: Path) -> None:
    """The hook worker loads the patterns file on every call: the same text stays disabled."""
    patterns, _, path = load(tmp_path, BACKTRACKING)
    patterns.match(SLOW_FOR_REDOS, "python", "a.py")
    assert len(patterns.take_timeouts()) == 1
    again, problems = PatternSet.load(tmp_path)  # the same file, loaded again
    assert problems == []
    assert again.disabled == {"redos-classic"}
    started = time.perf_counter()
    assert again.match(SLOW_FOR_REDOS + "aaa\n", "python", "b.py") == []
    assert time.perf_counter() - started < 0.05
    assert again.take_timeouts() == []  # already said
    path.write_text(BACKTRACKING + "# a comment\n", encoding="utf-8")  # the file changed
    changed, _ = PatternSet.load(tmp_path)
    assert changed.disabled == frozenset()
    assert [m.pattern_id for m in changed.match("aaa\n", "python")] == ["redos-classic"]
    changed.match(SLOW_FOR_REDOS, "python", "c.py")
    [message] = changed.take_timeouts()
    assert message.startswith("pattern 'redos-classic'")
    assert " on c.py;" in message
    other = tmp_path / "other"  # the same text in another workspace: its own state
    other_set, _, _ = load(other, BACKTRACKING)
    assert other_set.disabled == frozenset()


def test_concurrent_timeouts_of_one_pattern_are_said_once(tmp_path: Path) -> None:
    patterns, _, _ = load(tmp_path, BACKTRACKING)
    threads = [
        threading.Thread(target=patterns.match, args=(SLOW_FOR_REDOS, "python", f"{n}.py"))
        for n in range(3)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    [message] = patterns.take_timeouts()
    assert message.startswith("pattern 'redos-classic'")


def test_ast_grep_rules_are_not_given_texts_over_the_limit(tmp_path: Path) -> None:
    patterns, _, path = load(tmp_path, PATTERNS_TOML)
    big = BARE_EXCEPT_SNIPPET + "x = eval(data)\n" + "y = 1\n" * (AST_GREP_MAX_CHARS // 6)
    assert len(big) > AST_GREP_MAX_CHARS
    found = [m.pattern_id for m in patterns.match(big, "python", "big.py")]
    assert found == ["bare-except"]  # the regex still ran; the ast-grep rule did not
    [message] = patterns.take_timeouts()
    assert message == (
        f"the ast-grep patterns in {path} were not run on big.py: {len(big):,} characters, "
        f"more than the {AST_GREP_MAX_CHARS:,} they are given (the regex patterns were)"
    )
    patterns.match(big, "python", "big.py")
    assert patterns.take_timeouts() == []  # once per file
    small = BARE_EXCEPT_SNIPPET + "x = eval(data)\n"
    found = [m.pattern_id for m in patterns.match(small, "python", "small.py", tree_limit=50)]
    assert found == ["bare-except"]
    assert [m.pattern_id for m in patterns.match(small, "python")] == ["bare-except", "eval-call"]
    assert patterns.disabled == frozenset()  # nothing disabled: only that text was skipped


def test_check_reports_the_slow_pattern_and_exits_incomplete(
    tmp_path: Path, run_ailoop: RunAiloop
) -> None:
    root = tmp_path / "ws"
    load(root, BACKTRACKING)
    for name in ("a.py", "b.py"):
        (root / name).write_text(SLOW_FOR_REDOS + "# TODO\n", encoding="utf-8")
    started = time.perf_counter()
    result = run_ailoop("check", "--format", "json", ".", cwd=root)
    took = time.perf_counter() - started
    assert result.returncode == 2, result.stderr  # incomplete: a pattern was skipped
    assert took < 20
    report = json.loads(result.stdout)
    assert [(f["path"], f["pattern"]) for f in report["findings"]] == [
        ("a.py", "todo"),
        ("b.py", "todo"),
    ]
    [problem] = report["problems"]
    assert problem.startswith("pattern 'redos-classic' in ")
    assert "took longer than 100 ms on a.py; it is disabled" in problem
    assert result.stderr.count("pattern 'redos-classic'") == 1
    sarif = json.loads(run_ailoop("check", "--format", "sarif", ".", cwd=root).stdout)
    [invocation] = sarif["runs"][0]["invocations"]
    assert invocation["executionSuccessful"] is False
    assert "redos-classic" in invocation["toolExecutionNotifications"][0]["message"]["text"]
    result = run_ailoop("check", "--strict", ".", cwd=root)
    assert result.returncode == 1  # a failing finding still says so


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
