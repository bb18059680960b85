"""The .vsix alone: a fresh profile, a Python without ailoop, and the server from the bundle.

The extension is installed from its .vsix (built with ``bundled/libs`` by
client-vscode/scripts/package.py) into a fresh code-server profile, with a fresh venv of
the system's Python 3 as ``ailoop.interpreter``: nothing is pip-installed there, and the
test's PYTHONPATH and its venv are kept out of code-server's environment. The server, ruff
and vl-convert (for the report) then can only come from the bundle, which the processes
and the extension's log show.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
from test_vscode import SAMPLE, SNIPPET_LIGHTBULB, ailoop_events, drive
from vscode_harness import TEST_SETTINGS, CodeServer, EditorKit

from tests.report.report_store import fill, ten_weeks

pytestmark = pytest.mark.editors

SYSTEM_PYTHON = Path("/usr/bin/python3")


def fresh_python(where: Path) -> Path:
    """A venv of the system Python 3 without pip; checked to have no ailoop."""
    if not SYSTEM_PYTHON.is_file():
        pytest.skip("no system Python 3 at /usr/bin/python3")
    subprocess.run([str(SYSTEM_PYTHON), "-m", "venv", "--without-pip", str(where)], check=True)
    python = where / "bin" / "python"
    probe = subprocess.run(
        [str(python), "-c", "import ailoop"],
        env={"PATH": "/usr/bin:/bin"},
        capture_output=True,
        text=True,
        check=False,
    )
    assert probe.returncode != 0, "the fresh venv can import ailoop"
    return python


def command_lines(server: CodeServer) -> list[str]:
    """The full command lines of code-server's process group (``ps`` may cut them)."""
    lines = []
    for member in server.group_members():
        pid = member.split()[0]
        try:
            argv = Path(f"/proc/{pid}/cmdline").read_bytes().rstrip(b"\0").split(b"\0")
        except OSError:
            continue  # gone meanwhile
        lines.append(" ".join(a.decode(errors="replace") for a in argv))
    return lines


def test_the_vsix_alone_runs_the_bundled_server_and_applies_settings_live(
    editor_kit: EditorKit,
    vsix: Path,
    code_server_factory: Callable[[Path, dict[str, str]], CodeServer],
    artifacts: Path,
    tmp_path: Path,
) -> None:
    """Marker from the bundled server; a setting reaches it without a restart; ruff and the report from the bundle."""
    python = fresh_python(tmp_path / "fresh-venv")
    workspace = tmp_path / "workspace"
    workspace.mkdir()
    (workspace / "sample.py").write_text(SAMPLE)
    data = artifacts / "data"
    # ten weeks of history, so that the report has its charts
    fill(data, ten_weeks(dt.datetime.now(dt.timezone.utc)))
    before = len(ailoop_events({"AILOOP_DATA_DIR": str(data)}))
    env = {"AILOOP_DATA_DIR": str(data), "PATH": "/usr/bin:/bin"}
    server = code_server_factory(workspace, env)
    server.drop_env = ("PYTHONPATH", "VIRTUAL_ENV", "PYTHONHOME")
    server.install_extension(vsix)
    [installed] = server.extensions.glob("ailoop.ailoop-*")
    assert (installed / "bundled" / "libs" / "ailoop" / "__init__.py").is_file()
    base = {
        **TEST_SETTINGS,
        "ailoop.interpreter": [str(python)],
        # off at first: switching it on is the change that must reach the running server
        "ailoop.feedback.ruff.enabled": False,
        "ailoop.feedback.ty.enabled": False,
    }
    server.write_settings(base)
    server.start()

    changed = {**base, "ailoop.feedback.ruff.enabled": True}
    # code-server follows changes to the Machine settings while the window is open
    settings_files = [str(server.user_data / "Machine" / "settings.json")]
    seen = drive(
        editor_kit,
        server,
        artifacts,
        {
            "scenario": "bundled",
            "file": "sample.py",
            "snippet": SNIPPET_LIGHTBULB,
            "expectProblem": "E722",
            "change": {"settingsFiles": settings_files, "settings": changed},
            "stats": True,
        },
    )["seen"]

    # the bundled server and the bundled ruff, run by the fresh venv's Python
    processes = "\n".join(command_lines(server))
    (artifacts / "processes.txt").write_text(processes)
    launcher = installed / "bundled" / "tool" / "launch.py"
    assert f"{python} -I {launcher} serve" in processes, processes
    assert f"{installed / 'bundled' / 'libs' / 'bin' / 'ruff'} server" in processes, processes

    assert "ailoop(ai-snippet)" in seen["hover"], seen["hover"]
    assert "1 AI snippet pending review" in seen["statusAfterInsert"]["label"], seen
    assert not [r for r in seen["problemsBefore"] if "E722" in r], seen["problemsBefore"]
    assert [r for r in seen["problemsAfter"] if "E722" in r], seen["problemsAfter"]

    # the setting reached the running server: one start, then didChangeConfiguration
    [log] = (server.user_data / "logs").glob("*/exthost*/ailoop.ailoop/ailoop.log")
    shutil.copy2(log, artifacts / "ailoop.log")
    text = log.read_text()
    assert text.count("(re)starting the server") == 1, text[-3000:]
    assert text.count("server started") == 1, text[-3000:]
    assert "sending workspace/didChangeConfiguration (no restart)" in text, text[-3000:]
    assert f"bundled server: {launcher}" in text, text[-3000:]

    # Show Stats (from the status bar): the report with its charts, refreshed after an accept
    report = seen["report"]
    assert report["title"] == "ailoop report", report
    assert report["scripts"] == 0, report
    assert "script-src 'none'" in (report["csp"] or ""), report
    names = {c["name"] for c in report["charts"]}
    assert {"weekly", "funnel"} <= names, report["charts"]
    assert all(c["svgElements"] > 10 and c["width"] > 100 for c in report["charts"]), report
    assert report["events"] >= before + 1, (report, before)
    assert seen["reportAfterRefresh"]["events"] > report["events"], seen["reportAfterRefresh"]
    kinds = [e["kind"] for e in ailoop_events({"AILOOP_DATA_DIR": str(data)})[before:]]
    (artifacts / "events.jsonl").write_text(json.dumps(kinds))
    assert "generated" in kinds, kinds
    assert "accepted" in kinds, kinds
