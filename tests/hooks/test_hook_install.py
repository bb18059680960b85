"""``ailoop hook install|uninstall``: merge into the agents' settings, idempotent, reversible."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.hooks.hook_testkit import apply_tool, env_for, events, load_payload

CLAUDE_SETTINGS: dict[str, Any] = {
    "permissions": {"allow": ["Bash(npm run lint)"]},
    "hooks": {
        "PostToolUse": [
            {"matcher": "Bash", "hooks": [{"type": "command", "command": "echo after-bash"}]}
        ],
        "PreToolUse": [
            {"matcher": "Write", "hooks": [{"type": "command", "command": "./check.sh"}]}
        ],
    },
}
CURSOR_HOOKS: dict[str, Any] = {
    "version": 1,
    "hooks": {"afterFileEdit": [{"command": "./hooks/format.sh"}], "stop": [{"command": "./s"}]},
}


def hook(*args: str, cwd: Path, data_dir: Path, home: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "ailoop", "hook", *args],
        cwd=cwd,
        env=env_for(data_dir, home=home),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def write_json(path: Path, data: dict[str, Any]) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(data, indent=2) + "\n", encoding="utf-8")


def read_json(path: Path) -> dict[str, Any]:
    data: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    return data


def test_claude_code_project_install_merges_idempotently_and_uninstalls_cleanly(
    project: Path, data_dir: Path, tmp_path: Path
) -> None:
    settings = project / ".claude" / "settings.json"
    write_json(settings, CLAUDE_SETTINGS)
    done = hook("install", "claude-code", cwd=project / "shop", data_dir=data_dir, home=tmp_path)
    assert done.returncode == 0, done.stderr
    assert f"installed: claude-code hook in {settings}" in done.stdout
    installed = read_json(settings)
    assert installed["permissions"] == CLAUDE_SETTINGS["permissions"]
    assert installed["hooks"]["PreToolUse"] == CLAUDE_SETTINGS["hooks"]["PreToolUse"]
    bash, ours = installed["hooks"]["PostToolUse"]
    assert bash == CLAUDE_SETTINGS["hooks"]["PostToolUse"][0]
    assert ours["matcher"] == "Edit|Write|MultiEdit"
    assert ours["hooks"] == [
        {"type": "command", "command": f"{sys.executable} -m ailoop.hooks claude-code"}
    ]
    first = settings.read_bytes()
    again = hook(
        "install", "claude-code", "--project", cwd=project, data_dir=data_dir, home=tmp_path
    )
    assert "already installed" in again.stdout
    assert settings.read_bytes() == first
    removed = hook("uninstall", "claude-code", cwd=project, data_dir=data_dir, home=tmp_path)
    assert "removed" in removed.stdout
    assert read_json(settings) == CLAUDE_SETTINGS
    twice = hook("uninstall", "claude-code", cwd=project, data_dir=data_dir, home=tmp_path)
    assert "not installed" in twice.stdout


def test_an_older_entry_of_ours_is_updated_not_duplicated(
    project: Path, data_dir: Path, tmp_path: Path
) -> None:
    settings = project / ".claude" / "settings.json"
    old = {"type": "command", "command": "ailoop hook claude-code", "timeout": 30}
    write_json(settings, {"hooks": {"PostToolUse": [{"matcher": "Edit", "hooks": [old]}]}})
    hook("install", "claude-code", cwd=project, data_dir=data_dir, home=tmp_path)
    [group] = read_json(settings)["hooks"]["PostToolUse"]
    assert group["matcher"] == "Edit|Write|MultiEdit"
    assert group["hooks"] == [
        {
            "type": "command",
            "command": f"{sys.executable} -m ailoop.hooks claude-code",
            "timeout": 30,
        }
    ]


def test_cursor_project_install_and_uninstall(
    project: Path, data_dir: Path, tmp_path: Path
) -> None:
    config = project / ".cursor" / "hooks.json"
    write_json(config, CURSOR_HOOKS)
    done = hook("install", "cursor", cwd=project, data_dir=data_dir, home=tmp_path)
    assert done.returncode == 0, done.stderr
    hooks = read_json(config)["hooks"]
    command = f"{sys.executable} -m ailoop.hooks cursor"
    assert hooks["afterFileEdit"] == [{"command": "./hooks/format.sh"}, {"command": command}]
    assert hooks["afterTabFileEdit"] == [{"command": command}]
    assert hooks["stop"] == [{"command": "./s"}]
    first = config.read_bytes()
    hook("install", "cursor", cwd=project, data_dir=data_dir, home=tmp_path)
    assert config.read_bytes() == first
    hook("uninstall", "cursor", cwd=project, data_dir=data_dir, home=tmp_path)
    assert read_json(config) == CURSOR_HOOKS


def test_user_install_goes_to_the_home_directory(
    project: Path, data_dir: Path, tmp_path: Path
) -> None:
    home = tmp_path / "home"
    home.mkdir()
    for tool, path in (
        ("claude-code", home / ".claude" / "settings.json"),
        ("cursor", home / ".cursor" / "hooks.json"),
    ):
        done = hook("install", tool, "--user", cwd=project, data_dir=data_dir, home=home)
        assert done.returncode == 0, done.stderr
        assert path.is_file()
        assert not (project / path.relative_to(home)).exists()
        hook("uninstall", tool, "--user", cwd=project, data_dir=data_dir, home=home)
    assert read_json(home / ".claude" / "settings.json") == {}
    assert read_json(home / ".cursor" / "hooks.json") == {"version": 1}


def test_a_broken_settings_file_is_left_alone(
    project: Path, data_dir: Path, tmp_path: Path
) -> None:
    settings = project / ".claude" / "settings.json"
    settings.parent.mkdir()
    settings.write_text('{"hooks": {,}}\n', encoding="utf-8")
    done = hook("install", "claude-code", cwd=project, data_dir=data_dir, home=tmp_path)
    assert done.returncode == 1
    assert str(settings) in done.stderr
    assert "not valid JSON (line 1, column 12" in done.stderr
    assert settings.read_text(encoding="utf-8") == '{"hooks": {,}}\n'


def test_the_installed_command_records_edits(project: Path, data_dir: Path, tmp_path: Path) -> None:
    hook("install", "claude-code", cwd=project, data_dir=data_dir, home=tmp_path)
    [command] = [
        h["command"]
        for group in read_json(project / ".claude" / "settings.json")["hooks"]["PostToolUse"]
        for h in group["hooks"]
    ]
    payload = load_payload("claude-code-edit.json", project)
    apply_tool(payload, project)
    done = subprocess.run(
        command,
        shell=True,
        input=json.dumps(payload).encode(),
        cwd=project,
        env=env_for(data_dir),
        capture_output=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert [e["tool"] for e in events(data_dir)] == ["claude-code"]
