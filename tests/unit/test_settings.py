"""Settings: files, editor overrides, and clear problems for bad input."""

from __future__ import annotations

from pathlib import Path

from ailoop.settings import DetectSettings, load, snake_case


def test_files_then_editor_overrides(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        "[tool.ailoop.detect]\nmin_lines = 4\nmin_chars = 50\n[tool.ailoop.store]\nurl = 'x'\n"
    )
    (tmp_path / ".ailoop.toml").write_text("[detect]\nmin_chars = 60\n")
    settings, problems = load(
        tmp_path,
        ("initializationOptions", {"detect": {"minLines": 6, "tinyChars": 10}}),
        ("workspace/configuration", None),
    )
    assert settings.detect == DetectSettings(min_lines=6, min_chars=60, tiny_chars=10)
    assert settings.store == {}  # a repository never chooses the shared store
    [problem] = problems
    assert "store.url ignored: a repository cannot choose where ailoop sends data" in problem


def test_bad_values_and_unknown_keys_are_reported_and_defaulted(tmp_path: Path) -> None:
    settings, problems = load(
        tmp_path,
        (
            "initializationOptions",
            {"detect": {"minLines": True, "minChars": -1, "speed": 1}, "x": 1},
        ),
        ("workspace/configuration", ["not", "an", "object"]),
    )
    assert settings.detect == DetectSettings()
    assert len(problems) == 5
    assert any("unknown setting 'x'" in p for p in problems)
    assert any("unknown setting 'detect.speed'" in p for p in problems)
    assert any("workspace/configuration: expected an object" in p for p in problems)


def test_unreadable_file_is_named(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text("[tool.ailoop\n")
    _, problems = load(tmp_path)
    assert problems
    assert "pyproject.toml: cannot be read" in problems[0]


def test_snake_case() -> None:
    assert snake_case("minLines") == "min_lines"
    assert snake_case("shareCode") == "share_code"
    assert snake_case("min_chars") == "min_chars"
