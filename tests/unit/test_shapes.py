"""The shape keys' pure readings: comments and strings, tiny code, repeated lines, syntax."""

from __future__ import annotations

import pytest

from ailoop.patterns import shapes
from ailoop.patterns.model import is_valid_key


def test_every_key_is_a_valid_pattern_key_with_a_title() -> None:
    for key in shapes.TITLES:
        assert is_valid_key(key), key
        assert key in shapes.CONSTRAINTS
    assert shapes.is_shape_or_history("history:rejected-before")
    assert not shapes.is_shape_or_history("ruff:E722")


@pytest.mark.parametrize(
    ("prefix", "language", "state"),
    [
        ("x = 1  # note: ", "python", "comment"),
        ("# ", "python", "comment"),
        ("s = 'a # not a comment ", "python", "string"),
        ("s = 'a # b' + ", "python", None),
        ('s = "it\\"s ', "python", "string"),
        ('doc = """one ', "python", "string"),
        ('doc = """one""" ', "python", None),
        ("const a = 1; // ", "typescript", "comment"),
        ("const a = /* inline */ ", "typescript", None),
        ("const a = /* open ", "typescript", "comment"),
        ("const s = `tpl ", "typescript", "string"),
        ("const url = 'http://x' + ", "javascript", None),
        ("x = 1  # ", "plaintext", None),
        ("value = 2 ", "python", None),
    ],
)
def test_prefix_state(prefix: str, language: str, state: str | None) -> None:
    assert shapes.prefix_state(prefix, language) == state


def test_a_line_too_long_to_read_says_nothing() -> None:
    assert shapes.prefix_state("#" + "x" * shapes.MAX_PREFIX, "python") is None


def test_tiny_counts_code_characters_only() -> None:
    assert shapes.is_tiny("x = 1\n")
    assert shapes.is_tiny("   \n\n" + "a" * (shapes.TINY_CHARS - 1) + "\n   ")
    assert not shapes.is_tiny("a" * shapes.TINY_CHARS)
    assert not shapes.is_tiny("def handler(event):\n    return event\n")


def test_repeats_file_needs_the_lines_in_order_elsewhere() -> None:
    body = ["    total = sum(values)\n", "    return total / len(values)\n"]
    lines = ["def a(values):\n", *body, "\n", "def b(values):\n", *body]
    assert shapes.repeats_file(lines, 5, 6)  # b's body is a's
    assert shapes.repeats_file(lines, 1, 2)
    assert not shapes.repeats_file(lines, 4, 6)  # "def b" is new
    swapped = ["def a(values):\n", *reversed(body), "\n", "def b(values):\n", *body]
    assert not shapes.repeats_file(swapped, 5, 6)


def test_repeats_file_ignores_indentation_and_blank_lines_but_not_small_snippets() -> None:
    lines = ["if ok:\n", "    run_the_long_named_job(now)\n", "\n", "    report_the_result(now)\n"]
    lines += ["run_the_long_named_job(now)\n", "report_the_result(now)\n"]
    assert shapes.repeats_file(lines, 4, 5)
    short = ["x = 1\n", "y = 2\n", "x = 1\n", "y = 2\n"]
    assert not shapes.repeats_file(short, 2, 3)  # under DUPLICATE_MIN_CHARS


def test_repeats_file_in_a_large_file() -> None:
    lines = [f"value_{n} = compute({n})\n" for n in range(20_000)]
    assert not shapes.repeats_file(lines, 19_000, 19_400)
    assert shapes.repeats_file([*lines, *lines[100:200]], 20_000, 20_099)


def test_breaks_syntax_needs_a_clean_report_before() -> None:
    assert shapes.breaks_syntax(set(), {"ruff:invalid-syntax"})
    assert shapes.breaks_syntax({"ruff:F401"}, {"ty:invalid-syntax", "ruff:F401"})
    assert not shapes.breaks_syntax({"ruff:invalid-syntax"}, {"ruff:invalid-syntax"})
    assert not shapes.breaks_syntax(set(), {"ruff:F401"})
    assert not shapes.breaks_syntax(None, {"ruff:invalid-syntax"})
    assert not shapes.breaks_syntax(set(), None)


def test_syntax_errors_of_typescript_and_biome_count() -> None:
    assert shapes.breaks_syntax({"ts:2322"}, {"ts:2322", "ts:1005"})  # "';' expected"
    assert shapes.breaks_syntax(set(), {"biome:parse"})
    assert not shapes.breaks_syntax(set(), {"ts:2322", "ts:7006"})  # type errors only
    assert not shapes.is_syntax_error("ts:x1005")
