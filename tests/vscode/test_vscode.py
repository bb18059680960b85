"""The ailoop extension in a real VS Code: code-server + headless Chromium driven by Playwright.

Each test packages the extension (``npm run package``), installs the .vsix into a fresh
code-server profile, drives the editor with ``drive.mjs`` and checks what ailoop recorded.
Screenshots, the driver's observations and the editor logs go to ``test-artifacts/vscode/``.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
import venv
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from vscode_harness import REPO, TEST_SETTINGS, TRUST_SETTINGS, CodeServer, EditorKit

from ailoop.capture.identity import snippet_id
from tests.e2e.test_trust import engine_config
from tests.e2e.test_typescript_lsp import HUMAN, node_engines, react_workspace

__all__ = ["node_engines"]  # a fixture, used by name

pytestmark = pytest.mark.editors

DRIVER = Path(__file__).with_name("drive.mjs")
INLINE_PROVIDER = Path(__file__).with_name("inline-provider")

SAMPLE = '"""A small module the test edits."""\n\n\ndef existing() -> int:\n    return 1\n\n\n'
# Inserted in one edit each: the first is rejected from the lightbulb, the second with a note.
SNIPPET_LIGHTBULB = (
    "def parse_port(value):\n"
    "    try:\n"
    "        return int(value)\n"
    "    except:\n"
    "        return 8080\n"
)
SNIPPET_NOTE = (
    "\n\n"
    "def read_config(path):\n"
    "    import json\n"
    "    with open(path) as handle:\n"
    "        return json.load(handle)\n"
)
REASON = "opens files without an encoding; use load_settings()"
# A team pattern that the second snippet repeats: "Reject with a Note…" offers it.
PATTERNS_TOML = """\
[[pattern]]
id = "open-without-encoding"
title = "open() without an encoding"
languages = ["python"]
regex = '\\bopen\\([^)]*\\)'
"""


def server_env(data_dir: Path) -> dict[str, str]:
    """Environment for the language server: ailoop from this checkout, a private data dir."""
    pythonpath = os.pathsep.join(
        p for p in (str(REPO / "server"), os.environ.get("PYTHONPATH", "")) if p
    )
    return {"PYTHONPATH": pythonpath, "AILOOP_DATA_DIR": str(data_dir)}


def ailoop_events(env: dict[str, str]) -> list[dict[str, Any]]:
    """Every local event, via ``ailoop events --format jsonl``."""
    proc = subprocess.run(
        [sys.executable, "-m", "ailoop", "events", "--format", "jsonl"],
        env={**os.environ, **env},
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, f"ailoop events failed: {proc.stderr}"
    return [json.loads(line) for line in proc.stdout.splitlines() if line.strip()]


def wait_for_events(
    env: dict[str, str], predicate: Callable[[list[dict[str, Any]]], bool], timeout: float = 30.0
) -> list[dict[str, Any]]:
    """Poll the local store until ``predicate(events)`` holds; return the events."""
    deadline = time.monotonic() + timeout
    while True:
        events = ailoop_events(env)
        if predicate(events) or time.monotonic() > deadline:
            return events
        time.sleep(0.5)  # polling the store, bounded by the deadline


def drive(
    kit: EditorKit, server: CodeServer, artifacts: Path, plan: dict[str, Any]
) -> dict[str, Any]:
    """Run drive.mjs against ``server`` with ``plan``; return its observations."""
    plan_file = artifacts / "plan.json"
    plan_file.write_text(json.dumps(plan, indent=2))
    started = time.monotonic()
    proc = subprocess.run(
        [
            str(kit.node),
            str(DRIVER),
            "--url",
            server.url,
            "--out",
            str(artifacts),
            "--playwright",
            str(kit.playwright_dir),
            "--plan",
            str(plan_file),
            "--chromium",
            str(kit.chromium),
        ],
        env={**os.environ, "TMPDIR": str(server.state / "tmp")},
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    (artifacts / "drive.log").write_text(proc.stdout + proc.stderr)
    print(f"browser scenario {plan['scenario']}: {time.monotonic() - started:.1f}s\n{proc.stdout}")
    assert proc.returncode == 0, (
        f"the browser scenario failed:\n{proc.stdout[-4000:]}\n{proc.stderr[-4000:]}"
    )
    result: dict[str, Any] = json.loads((artifacts / "result.json").read_text())
    return result


def test_reject_from_lightbulb_and_with_a_note(
    editor_kit: EditorKit,
    vsix: Path,
    code_server_factory: Callable[[Path, dict[str, str]], CodeServer],
    artifacts: Path,
    tmp_path: Path,
) -> None:
    """An inserted snippet is marked, hovered, rejected from the lightbulb and with a note."""
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    (workspace / "sample.py").write_text(SAMPLE)
    (workspace / ".ailoop").mkdir()
    (workspace / ".ailoop" / "patterns.toml").write_text(PATTERNS_TOML)
    env = server_env(artifacts / "data")
    server = code_server_factory(workspace, env)
    server.install_extension(vsix)
    serve = [
        sys.executable,
        "-m",
        "ailoop",
        "serve",
        "--log-file",
        str(artifacts / "server.log"),
        "--log-level",
        "DEBUG",
    ]
    server.write_settings({**TEST_SETTINGS, "ailoop.serverCommand": serve})
    server.start()

    seen = drive(
        editor_kit,
        server,
        artifacts,
        {
            "scenario": "reject",
            "file": "sample.py",
            "snippets": [SNIPPET_LIGHTBULB, SNIPPET_NOTE],
            "reason": REASON,
            "pattern": "open() without an encoding",
            "stats": True,
        },
    )["seen"]

    assert "ailoop(ai-snippet)" in seen["hover"], seen["hover"]
    assert "AI snippet" in seen["hover"], seen["hover"]
    assert "Reject" in seen["codeLens"], seen["codeLens"]
    assert any(item.startswith("Reject") for item in seen["lightbulbMenu"]), seen["lightbulbMenu"]
    assert "1 AI snippet pending review" in seen["statusAfterInsert"]["label"], seen[
        "statusAfterInsert"
    ]
    assert "0 AI snippets pending review" in seen["statusAfterReject"]["label"], seen[
        "statusAfterReject"
    ]
    assert (artifacts / "reject.png").is_file()
    assert (artifacts / "reject-hover.png").is_file()

    def rejected(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [e for e in events if e["kind"] == "rejected"]

    events = wait_for_events(env, lambda evs: len(rejected(evs)) >= 2)
    (artifacts / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    generated = [e for e in events if e["kind"] == "generated"]
    assert len(generated) >= 2, events
    by_snippet = {e["snippet"]: e for e in rejected(events)}
    assert len(by_snippet) == 2, rejected(events)
    with_note = [e for e in by_snippet.values() if e.get("reason") == REASON]
    assert len(with_note) == 1, rejected(events)
    assert with_note[0]["pattern"] == "pattern:open-without-encoding", with_note
    assert not [e for e in by_snippet.values() if e.get("pattern") and e is not with_note[0]], (
        events
    )
    assert {e["snippet"] for e in generated} >= set(by_snippet), (
        "a rejected snippet was never generated"
    )

    # "ailoop: Show Stats" shows `ailoop report` of this store (too few outcomes for
    # charts: the page says so), in a webview without scripts
    report = seen["report"]
    assert report["title"] == "ailoop report", report
    assert report["scripts"] == 0, report
    assert "script-src 'none'" in (report["csp"] or ""), report
    assert report["events"] is not None, report
    assert report["events"] >= 4, report
    assert "charts appear after" in seen["stats"], seen["stats"]


def test_every_folder_of_a_multi_root_workspace_has_its_own_settings(
    editor_kit: EditorKit,
    vsix: Path,
    code_server_factory: Callable[[Path, dict[str, str]], CodeServer],
    artifacts: Path,
    tmp_path: Path,
) -> None:
    """Three folders: one takes a 5-line paste for AI code, the others' settings need 20 lines.

    beta says so in its own .vscode/settings.json (a resource setting VS Code hands over
    for that folder only; its .ailoop.toml asks for fewer, and loses to it). gamma says so
    in its .ailoop.toml alone: VS Code's defaults do not override it.
    """
    alpha, beta, gamma = tmp_path / "alpha", tmp_path / "beta", tmp_path / "gamma"
    for folder, name in ((alpha, "one.py"), (beta, "two.py"), (gamma, "three.py")):
        folder.mkdir()
        (folder / name).write_text(SAMPLE)
        subprocess.run(["git", "init", "-q", str(folder)], check=True, timeout=30)
    (beta / ".vscode").mkdir()
    (beta / ".vscode" / "settings.json").write_text(
        json.dumps({"ailoop.detect.minLines": 20, "ailoop.detect.minChars": 5000})
    )
    (beta / ".ailoop.toml").write_text("[detect]\nmin_lines = 2\n")
    (gamma / ".ailoop.toml").write_text("[detect]\nmin_lines = 20\nmin_chars = 5000\n")
    workspace = tmp_path / "two-folders.code-workspace"
    folders = [{"path": str(folder)} for folder in (alpha, beta, gamma)]
    workspace.write_text(json.dumps({"folders": folders}))
    env = server_env(artifacts / "data")
    server = code_server_factory(workspace, env)
    server.install_extension(vsix)
    serve = [sys.executable, "-m", "ailoop", "serve", "--log-file", str(artifacts / "server.log")]
    server.write_settings({**TEST_SETTINGS, "ailoop.serverCommand": serve})
    server.start()

    # alpha's file last: when its event is in, the others' would have been long before
    seen = drive(
        editor_kit,
        server,
        artifacts,
        {
            "scenario": "multi-root",
            "files": ["three.py", "two.py", "one.py"],
            "snippet": SNIPPET_LIGHTBULB,
        },
    )["seen"]
    assert seen["pasted"] == ["three.py", "two.py", "one.py"], seen

    def generated(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [e for e in events if e["kind"] == "generated"]

    events = wait_for_events(env, lambda evs: bool(generated(evs)))
    (artifacts / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    assert [(e["repo"], e["path"]) for e in generated(events)] == [("alpha", "one.py")], events


def test_tab_accepted_inline_suggestion_is_reported(
    editor_kit: EditorKit,
    vsix: Path,
    code_server_factory: Callable[[Path, dict[str, str]], CodeServer],
    artifacts: Path,
    tmp_path: Path,
) -> None:
    """Tab on ghost text sends ailoop/generated first: the small insertion becomes a snippet.

    The suggestion (one line) is below the heuristic's thresholds, so only the
    announcement from the Tab keybinding can make it a snippet.
    """
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    (workspace / "sample.py").write_text(SAMPLE)
    env = server_env(artifacts / "data")
    server = code_server_factory(workspace, env)
    server.install_unpacked(INLINE_PROVIDER)  # before the .vsix: its install lists both
    server.install_extension(vsix)
    server.write_settings({**TEST_SETTINGS, "ailoop.interpreter": [sys.executable]})
    server.start()

    seen = drive(
        editor_kit,
        server,
        artifacts,
        {
            "scenario": "inline",
            "file": "sample.py",
            "trigger": "def double(x):",
            "expectText": "    return 2 * x",
        },
    )["seen"]

    assert "def double(x):\n    return 2 * x" in seen["editorText"], seen["editorText"]
    assert "ailoop(ai-snippet)" in seen["hover"], seen["hover"]

    def from_client(events: list[dict[str, Any]]) -> list[dict[str, Any]]:
        return [e for e in events if e["kind"] == "generated" and e["source"] == "client"]

    events = wait_for_events(env, lambda evs: bool(from_client(evs)))
    (artifacts / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    generated = [e for e in events if e["kind"] == "generated"]
    assert len(generated) == 1, events
    assert generated[0]["source"] == "client", generated
    assert generated[0]["tool"] == "unknown", generated


def test_missing_ailoop_gives_a_notification_then_a_settings_change_starts_it(
    editor_kit: EditorKit,
    vsix: Path,
    code_server_factory: Callable[[Path, dict[str, str]], CodeServer],
    artifacts: Path,
    tmp_path: Path,
) -> None:
    """``fromEnvironment`` with an interpreter without ailoop: a notification with the fixes.

    The fixes it offers work as written today: the bundled server, or the wheel the
    extension carries (ailoop is not on PyPI). Fixing the setting starts the server.
    """
    bare = tmp_path / "bare-venv"
    venv.create(bare, with_pip=False)
    python = bare / "bin" / "python"
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    (workspace / "sample.py").write_text(SAMPLE)
    server = code_server_factory(workspace, server_env(artifacts / "data"))
    server.install_extension(vsix)
    # -I: ignore PYTHONPATH, which points at this checkout's ailoop
    own = {"ailoop.importStrategy": "fromEnvironment"}
    server.write_settings({**TEST_SETTINGS, **own, "ailoop.interpreter": [str(python), "-I"]})
    server.start()

    fixed = {**TEST_SETTINGS, **own, "ailoop.interpreter": [sys.executable]}
    # the Machine settings override the User ones, and code-server follows changes to
    # them while the window is open (a change to User/settings.json may go unseen)
    settings_files = [str(server.user_data / "Machine" / "settings.json")]
    seen = drive(
        editor_kit,
        server,
        artifacts,
        {
            "scenario": "missing-ailoop",
            "file": "sample.py",
            "expectNotification": "ailoop is not installed",
            "fix": {"settingsFiles": settings_files, "settings": fixed},
        },
    )["seen"]

    assert str(python) in seen["notification"], seen["notification"]
    note = seen["notification"]
    assert "-m pip install " in note, note
    assert "bundled/wheels/ailoop-" in note, note
    assert "not on PyPI" in note, note
    assert "Install ailoop" in note, note
    assert "Use Bundled ailoop" in note, note
    assert "not running" in seen["statusWithoutAiloop"][0]["label"], seen["statusWithoutAiloop"]
    assert "pending review" in seen["statusAfterFix"]["label"], seen["statusAfterFix"]


def test_an_untrusted_workspace_runs_nothing_it_names_until_trusted(
    editor_kit: EditorKit,
    vsix: Path,
    code_server_factory: Callable[[Path, dict[str, str]], CodeServer],
    artifacts: Path,
    tmp_path: Path,
) -> None:
    """Restricted Mode: markers work, but nothing the workspace names runs until it is trusted.

    The folder names three programs, each of which leaves a file behind when it runs: a
    command engine in ``.ailoop.toml``, a server command in ``.vscode/settings.json``
    (a restricted setting), and an ``ailoop`` package at its root that ``python -m ailoop``
    would import if the server ran in that directory. Trusted in the Manage Workspace Trust
    editor, the extension restarts the server with the workspace's settings in force.
    """
    markers = tmp_path / "markers"
    markers.mkdir()
    engine_ran, command_ran, shadow_imported = (
        markers / "engine-ran",
        markers / "workspace-server-command-ran",
        markers / "workspace-ailoop-imported",
    )
    workspace = tmp_path / "shop"
    workspace.mkdir()
    subprocess.run(["git", "init", "-q", str(workspace)], check=True, timeout=30)
    (workspace / "sample.py").write_text(SAMPLE)
    (workspace / ".ailoop.toml").write_text(engine_config(engine_ran))
    (workspace / "ailoop").mkdir()
    (workspace / "ailoop" / "__init__.py").write_text(
        f"import pathlib\npathlib.Path({str(shadow_imported)!r}).write_text('imported')\n"
        "raise SystemExit(3)\n"
    )
    wrapper = workspace / "tools" / "serve.sh"
    wrapper.parent.mkdir()
    wrapper.write_text(
        "#!/bin/sh\n"
        f"echo ran > '{command_ran}'\n"
        'cd "$(dirname "$0")"\n'
        f"exec '{sys.executable}' -m ailoop serve --log-file '{artifacts / 'server-trusted.log'}'"
        ' "$@"\n'
    )
    wrapper.chmod(0o755)
    (workspace / ".vscode").mkdir()
    (workspace / ".vscode" / "settings.json").write_text(
        json.dumps({"ailoop.serverCommand": ["${workspaceFolder}/tools/serve.sh"]})
    )
    env = server_env(artifacts / "data")
    server = code_server_factory(workspace, env)
    server.workspace_trust = True
    server.install_extension(vsix)
    serve = [sys.executable, "-m", "ailoop", "serve", "--log-file", str(artifacts / "server.log")]
    server.write_settings({**TEST_SETTINGS, **TRUST_SETTINGS, "ailoop.serverCommand": serve})
    server.start()

    seen = drive(
        editor_kit,
        server,
        artifacts,
        {
            "scenario": "untrusted",
            "file": "sample.py",
            "snippet": SNIPPET_LIGHTBULB,
            "markers": {
                "engine": str(engine_ran),
                "serverCommand": str(command_ran),
                "shadow": str(shadow_imported),
            },
            "settleMs": 3000,
            "expectAfterTrust": ["engine", "serverCommand"],
        },
    )["seen"]

    # untrusted: the user's server command ran, in a directory of the extension's own
    assert "restricted" in seen["statusUntrusted"]["text"], seen["statusUntrusted"]
    assert "Restricted Mode" in seen["statusUntrusted"]["label"], seen["statusUntrusted"]
    assert "ailoop(ai-snippet)" in seen["hover"], seen["hover"]
    assert seen["markersUntrusted"] == {"engine": False, "serverCommand": False, "shadow": False}
    told = [n for n in seen["notifications"] if "does not trust this workspace" in n]
    assert len(told) == 1, seen["notifications"]
    assert "engines" in told[0], told
    # trusted: the workspace's server command (a restricted setting) and its engine ran
    assert "restricted" not in seen["statusTrusted"]["text"], seen["statusTrusted"]
    assert seen["markersTrusted"]["engine"], seen["markersTrusted"]
    assert seen["markersTrusted"]["serverCommand"], seen["markersTrusted"]
    assert not shadow_imported.exists(), "python -m ailoop imported the workspace's ailoop package"
    # the output channel said once what Restricted Mode means, and why the server restarted
    [log] = (server.user_data / "logs").glob("*/exthost*/ailoop.ailoop/ailoop.log")
    text = log.read_text()
    assert text.count("Restricted Mode: this workspace is not trusted") == 1, text[-3000:]
    assert "(re)starting the server: workspace trusted" in text, text[-3000:]
    generated = [e for e in ailoop_events(env) if e["kind"] == "generated"]
    assert len(generated) == 1, generated


SNIPPET_LATER = "\n\ndef later(a):\n    b = a * 2\n    return b\n"


def start_editor(
    vsix: Path,
    code_server_factory: Callable[[Path, dict[str, str]], CodeServer],
    artifacts: Path,
    tmp_path: Path,
) -> tuple[CodeServer, dict[str, str]]:
    """Start code-server on a workspace with sample.py and ailoop; return it and its env."""
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    (workspace / "sample.py").write_text(SAMPLE)
    env = server_env(artifacts / "data")
    server = code_server_factory(workspace, env)
    server.install_extension(vsix)
    serve = [sys.executable, "-m", "ailoop", "serve", "--log-file", str(artifacts / "server.log")]
    server.write_settings({**TEST_SETTINGS, "ailoop.serverCommand": serve})
    server.start()
    return server, env


def test_ctrl_dot_then_enter_does_not_accept(
    editor_kit: EditorKit,
    vsix: Path,
    code_server_factory: Callable[[Path, dict[str, str]], CodeServer],
    artifacts: Path,
    tmp_path: Path,
) -> None:
    """Enter on the quick-fix menu, by reflex: nothing is preferred, Reject comes first."""
    server, env = start_editor(vsix, code_server_factory, artifacts, tmp_path)
    seen = drive(
        editor_kit,
        server,
        artifacts,
        {"scenario": "ctrl-dot-enter", "file": "sample.py", "snippet": SNIPPET_LIGHTBULB},
    )["seen"]
    actions = [item for item in seen["menu"] if item != "Quick Fix"]  # the group's header
    assert actions[0].startswith("Reject AI snippet"), seen["menu"]
    assert actions[-1].startswith("Accept AI snippet"), seen["menu"]
    assert seen["focused"] == [actions[0]], seen["focused"]  # what Enter runs
    events = wait_for_events(env, lambda evs: any(e["kind"] == "rejected" for e in evs))
    (artifacts / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    kinds = [e["kind"] for e in events]
    assert "accepted" not in kinds, events
    assert kinds.count("rejected") == 1, events
    assert "def parse_port(value):" in seen["editorText"], "the plain Reject keeps the code"


def test_reject_and_remove_deletes_the_snippet_and_undo_restores_it(
    editor_kit: EditorKit,
    vsix: Path,
    code_server_factory: Callable[[Path, dict[str, str]], CodeServer],
    artifacts: Path,
    tmp_path: Path,
) -> None:
    """The server's workspace edit removes the code; Ctrl+Z brings it back, not as a snippet."""
    server, env = start_editor(vsix, code_server_factory, artifacts, tmp_path)
    seen = drive(
        editor_kit,
        server,
        artifacts,
        {
            "scenario": "reject-and-remove",
            "file": "sample.py",
            "snippet": SNIPPET_LIGHTBULB,
            "later": SNIPPET_LATER,
        },
    )["seen"]
    assert "Reject and remove" in " ".join(seen["menu"]), seen["menu"]
    assert "parse_port" not in seen["textAfterRemove"], seen["textAfterRemove"]
    assert seen["textAfterRemove"].rstrip() == seen["textBefore"].rstrip()
    assert "def parse_port(value):" in seen["textAfterUndo"], seen["textAfterUndo"]
    assert "1 AI snippet pending review" in seen["statusAfterLater"]["label"], seen
    assert seen["lensesAfterLater"] == 1, "the undone removal came back as a snippet"

    removed = snippet_id(SNIPPET_LIGHTBULB)

    def done(events: list[dict[str, Any]]) -> bool:
        return snippet_id(SNIPPET_LATER) in {e["snippet"] for e in events}

    events = wait_for_events(env, done)
    (artifacts / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    generated = [e["snippet"] for e in events if e["kind"] == "generated"]
    assert generated == [removed, snippet_id(SNIPPET_LATER)], events
    assert [e["snippet"] for e in events if e["kind"] == "rejected"] == [removed], events
    assert not [e for e in events if e["kind"] == "reverted" and e["snippet"] == removed], events


#: An AI insertion into a .tsx file: an explicit `any` (Biome) and a string given to a
#: number (TypeScript 2322).
TSX_SNIPPET = (
    "export function Total(props: { items: any[] }) {\n"
    '  const count: number = "none";\n'
    "  return <p>{props.items.length + count}</p>;\n"
    "}\n"
)


def test_a_tsx_snippet_gets_biome_and_typescript_findings_and_reject_by_rule(
    editor_kit: EditorKit,
    vsix: Path,
    code_server_factory: Callable[[Path, dict[str, str]], CodeServer],
    artifacts: Path,
    tmp_path: Path,
    node_engines: Path,
) -> None:
    """TS/React in VS Code: the snippet's lint and type findings, rejected from the lightbulb."""
    workspace = react_workspace(tmp_path / "shop", node_engines)
    (workspace / "src" / "Total.tsx").write_text(HUMAN + "\n", encoding="utf-8")
    env = server_env(artifacts / "data")
    server = code_server_factory(workspace, env)
    server.install_extension(vsix)
    serve = [sys.executable, "-m", "ailoop", "serve", "--log-file", str(artifacts / "server.log")]
    # VS Code's own workspace trust is off here: the folder counts as trusted, so the
    # workspace's node_modules/.bin (Biome, tsgo) may run
    server.write_settings({**TEST_SETTINGS, "ailoop.serverCommand": serve})
    server.start()

    seen = drive(
        editor_kit,
        server,
        artifacts,
        {
            "scenario": "reject",
            "file": "src/Total.tsx",
            "snippets": [TSX_SNIPPET],
            "lightbulbPick": r"^\s*Reject: .*noExplicitAny",
        },
    )["seen"]

    assert "ailoop(ai-snippet)" in seen["hover"], seen["hover"]
    rule_actions = [item for item in seen["lightbulbMenu"] if item.startswith("Reject:")]
    assert rule_actions, seen["lightbulbMenu"]
    events = wait_for_events(env, lambda evs: any(e["kind"] == "rejected" for e in evs))
    (artifacts / "events.jsonl").write_text("".join(json.dumps(e) + "\n" for e in events))
    (rejected,) = [e for e in events if e["kind"] == "rejected"]
    assert rejected["path"] == "src/Total.tsx"
    assert {"biome:lint/suspicious/noExplicitAny", "ts:2322"} <= set(rejected["findings"])
    assert rejected["pattern"] == "biome:lint/suspicious/noExplicitAny", rejected
