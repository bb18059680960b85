"""Settings of the generic language-server engine, and which TS/JS presets a workspace has."""

from __future__ import annotations

import json
import os
from dataclasses import replace
from pathlib import Path

import pytest

from ailoop.feedback.findings import rule_name
from ailoop.feedback.hub import build_engines
from ailoop.feedback.language_servers import LanguageServerEngine, section_value
from ailoop.feedback.presets import detect
from ailoop.feedback.settings import LanguageServerSettings, parse_feedback_settings
from ailoop.settings import snake_keys
from ailoop.trust import workspace_executables

GOPLS = {
    "name": "gopls",
    "kind": "language-server",
    "command": ["gopls"],
    "languages": ["go"],
    "findings": "types",
    "initializationOptions": {"staticcheck": True},
    "settings": {"gopls": {"usePlaceholders": False}},
}


def test_a_language_server_engine_is_read_with_its_options_verbatim() -> None:
    settings, problems = parse_feedback_settings({}, snake_keys([GOPLS]))
    assert problems == []
    (gopls,) = settings.language_servers
    assert gopls == LanguageServerSettings(
        "gopls",
        ("gopls",),
        frozenset({"go"}),
        "types",
        initialization_options={"staticcheck": True},
        settings={"gopls": {"usePlaceholders": False}},
    )
    assert section_value(gopls.settings, "gopls.usePlaceholders") is False
    assert section_value(gopls.settings, "other") is None
    (engine,) = [e for e in build_engines(settings, None) if e.name == "gopls"]
    assert isinstance(engine, LanguageServerEngine)
    assert engine.priority == 1  # types answer after lint


def test_bad_language_server_settings_give_one_message_each() -> None:
    entries = [
        {**GOPLS, "kind": "daemon"},
        {**GOPLS, "name": "a", "findings": "style"},
        {**GOPLS, "name": "b", "initialization_options": "x"},
        {**GOPLS, "name": "ruff"},
    ]
    settings, problems = parse_feedback_settings({}, entries)
    assert [s.name for s in settings.language_servers] == ["a"]
    assert settings.language_servers[0].findings == "lint"
    assert len(problems) == 4, problems
    assert "kind: expected 'command' or 'language-server'" in problems[0]


def test_oxlint_rule_names_become_paths() -> None:
    assert rule_name("eslint(no-unused-vars)") == "eslint/no-unused-vars"
    assert rule_name(2322) == "2322"
    assert rule_name("lint/suspicious/noExplicitAny") == "lint/suspicious/noExplicitAny"


def executable(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text("#!/bin/sh\nexit 1\n", encoding="utf-8")
    path.chmod(0o755)
    return path


@pytest.fixture
def web(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Path:
    """A workspace with biome.json, tsconfig.json and its own node_modules/.bin."""
    root = tmp_path / "web"
    (root / "node_modules" / ".bin").mkdir(parents=True)
    for name in ("biome.json", "tsconfig.json", ".oxlintrc.json"):
        (root / name).write_text("{}", encoding="utf-8")
    for name in ("biome", "tsgo", "oxlint", "tsc"):
        executable(root / "node_modules" / ".bin" / name)
    monkeypatch.setenv("PATH", str(tmp_path / "empty"))
    return root


def argv(root: Path, trusted: bool) -> dict[str, tuple[str, ...]]:
    return {p.name: p.argv for p in detect(root, trusted, ("biome", "ts", "oxlint"))}


def test_an_untrusted_workspace_runs_none_of_its_node_modules(web: Path, tmp_path: Path) -> None:
    (web / "package.json").write_text(
        json.dumps({"devDependencies": {"@typescript/native-preview": "7"}}), encoding="utf-8"
    )
    assert argv(web, trusted=False) == {}
    trusted = argv(web, trusted=True)
    bin_dir = web / "node_modules" / ".bin"
    assert trusted == {
        "biome": (str(bin_dir / "biome"), "lsp-proxy"),
        "oxlint": (str(bin_dir / "oxlint"), "--lsp"),
        "ts": (str(bin_dir / "tsgo"), "--lsp", "--stdio"),
    }
    assert set(workspace_executables(web)) == {
        "node_modules/.bin/biome",
        "node_modules/.bin/oxlint",
        "node_modules/.bin/tsgo",
    }
    on_path = executable(tmp_path / "tools" / "tsgo")
    os.environ["PATH"] = str(on_path.parent)
    assert argv(web, trusted=False) == {"ts": (str(on_path), "--lsp", "--stdio")}


def test_typescript_7_runs_its_own_tsc_as_the_server(web: Path) -> None:
    manifest = web / "node_modules" / "typescript" / "package.json"
    manifest.parent.mkdir()
    manifest.write_text(json.dumps({"version": "7.0.2"}), encoding="utf-8")
    tsc = str(web / "node_modules" / ".bin" / "tsc")
    assert argv(web, trusted=True)["ts"] == (tsc, "--lsp", "--stdio")
    assert "ts" not in argv(web, trusted=False)


def test_untrusted_typescript_language_server_gets_its_own_tsserver(
    web: Path, tmp_path: Path
) -> None:
    install = tmp_path / "install" / "node_modules"
    server = executable(install / "typescript-language-server" / "lib" / "cli.mjs")
    tsserver = install / "typescript" / "lib" / "tsserver.js"
    tsserver.parent.mkdir(parents=True)
    tsserver.write_text("", encoding="utf-8")
    (install / ".bin").mkdir()
    (install / ".bin" / "typescript-language-server").symlink_to(server)
    os.environ["PATH"] = str(install / ".bin")
    (preset,) = detect(web, False, ("ts",))
    assert preset.argv == (str(install / ".bin" / "typescript-language-server"), "--stdio")
    assert preset.initialization_options == {
        "disableAutomaticTypingAcquisition": True,
        "tsserver": {"path": str(tsserver.resolve())},
    }


def test_presets_can_be_turned_off_or_replaced(web: Path) -> None:
    settings, problems = parse_feedback_settings(
        {"biome": False, "oxlint": {"enabled": False}},
        [{**GOPLS, "name": "ts", "languages": ["typescript"]}],
    )
    assert problems == []
    names = [e.name for e in build_engines(replace(settings, workspace_executables=True), web)]
    assert names == ["ruff", "ty", "ts"]  # the configured ts, no preset


@pytest.mark.parametrize("config", ["eslint.config.mjs", "eslint.config.ts"])
def test_eslint_runs_in_a_trusted_workspace_with_a_flat_config_and_its_eslint(
    web: Path, tmp_path: Path, config: str
) -> None:
    server = executable(tmp_path / "tools" / "vscode-eslint-language-server")
    os.environ["PATH"] = str(server.parent)  # even on PATH: it loads the workspace's eslint
    assert detect(web, True, ("eslint",)) == []  # no flat config
    (web / config).write_text("export default [];\n", encoding="utf-8")
    assert detect(web, True, ("eslint",)) == []  # no eslint of its own
    manifest = web / "node_modules" / "eslint" / "package.json"
    manifest.parent.mkdir()
    manifest.write_text(json.dumps({"version": "10.16.0"}), encoding="utf-8")
    assert detect(web, False, ("eslint",)) == []
    assert "eslint" not in {e.name for e in build_engines(parse_feedback_settings({}, [])[0], web)}
    (preset,) = detect(web, True, ("eslint",))
    assert preset.argv == (str(server), "--stdio")
    assert preset.findings == "lint"
    folder = web.resolve()
    assert section_value(preset.settings, "") == preset.settings
    assert preset.settings["useFlatConfig"] is True
    assert preset.settings["workingDirectory"] == {"mode": "auto"}
    assert preset.settings["workspaceFolder"] == {"uri": folder.as_uri(), "name": "web"}
    assert preset.settings["format"] is False
    # the workspace's own server comes first once trusted
    own = executable(web / "node_modules" / ".bin" / "vscode-eslint-language-server")
    (preset,) = detect(web, True, ("eslint",))
    assert preset.argv == (str(own), "--stdio")
    assert "node_modules/.bin/vscode-eslint-language-server" in workspace_executables(web)
    trusted, problems = parse_feedback_settings({"eslint": False}, [])
    assert problems == []
    trusted = replace(trusted, workspace_executables=True)
    assert "eslint" not in {e.name for e in build_engines(trusted, web)}
    trusted = replace(trusted, eslint=True)
    (engine,) = [e for e in build_engines(trusted, web) if e.name == "eslint"]
    assert isinstance(engine, LanguageServerEngine)
