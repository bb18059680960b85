"""EngineHub end to end with the real engines (ruff server, ty server, real commands)."""

from __future__ import annotations

import os
import signal
import sys
from collections.abc import AsyncIterator, Callable
from pathlib import Path

import pytest

from ailoop.feedback import EngineHub, FeedbackSettings, parse_feedback_settings
from ailoop.feedback.language_servers import LanguageServerEngine

from .support import Recorder, Report, require_engine, silent_server_command

SNIPPET = """\
import os


def load(path):
    try:
        return open(path).read()
    except Exception:
        return undefined_helper(path)
"""

HubFactory = Callable[..., EngineHub]


@pytest.fixture
async def make_hub(project: Path, recorder: Recorder) -> AsyncIterator[HubFactory]:
    hubs: list[EngineHub] = []

    def make(settings: FeedbackSettings | None = None) -> EngineHub:
        hub = EngineHub(
            project,
            settings or FeedbackSettings(),
            recorder.on_findings,
            recorder.on_problem,
        )
        hubs.append(hub)
        return hub

    yield make
    for hub in hubs:
        await hub.stop()


def by(engine: str, version: int | None = None) -> Callable[[Report], bool]:
    return lambda report: report.engine == engine and (version is None or report.version == version)


async def test_ruff_reports_unused_import_with_workspace_config_and_extra_rules(
    make_hub: HubFactory, recorder: Recorder, project: Path
) -> None:
    require_engine("ruff")
    hub = make_hub(FeedbackSettings(ty=False, ruff_extra_select=("BLE",)))
    await hub.start()
    uri = (project / "app.py").as_uri()
    hub.open(uri, "python", 1, SNIPPET)
    report = await recorder.wait_report(by("ruff", 1))
    assert {"ruff:F401", "ruff:F821", "ruff:BLE001"} <= report.codes
    # the project selects only F and E: rules outside them stay quiet
    assert not any(code.startswith("ruff:SIM") for code in report.codes)
    f401 = next(finding for finding in report.findings if finding.rule == "F401")
    assert f401.start == (0, 7)
    assert f401.end == (0, 9)
    assert not f401.extra
    assert next(f for f in report.findings if f.rule == "BLE001").extra


async def test_ty_reports_call_to_undefined_name(
    make_hub: HubFactory, recorder: Recorder, project: Path
) -> None:
    require_engine("ty")
    hub = make_hub(FeedbackSettings(ruff=False))
    await hub.start()
    uri = (project / "app.py").as_uri()
    hub.open(uri, "python", 1, SNIPPET)
    report = await recorder.wait_report(by("ty", 1))
    unresolved = [f for f in report.findings if f.rule == "unresolved-reference"]
    assert len(unresolved) == 1
    assert unresolved[0].start[0] == 7
    assert unresolved[0].code == "ty:unresolved-reference"


async def test_outdated_versions_are_never_reported(
    make_hub: HubFactory, recorder: Recorder, project: Path
) -> None:
    require_engine("ruff")
    require_engine("ty")
    hub = make_hub(FeedbackSettings(debounce_ms=0))
    await hub.start()
    uri = (project / "app.py").as_uri()
    hub.open(uri, "python", 1, "x = 1\n")
    await recorder.wait_report(by("ruff", 1))
    await recorder.wait_report(by("ty", 1))
    start = len(recorder.reports)
    # three edits in one go: checks of versions 2 and 3 finish after version 4 exists
    hub.change(uri, 2, "import os\n")
    hub.change(uri, 3, "import sys\n")
    hub.change(uri, 4, "import json\n")
    ruff = await recorder.wait_report(by("ruff", 4), after=start)
    await recorder.wait_report(by("ty", 4), after=start)
    assert [report.version for report in recorder.reports[start:]] == [4, 4]
    messages = [f.message for f in ruff.findings if f.rule == "F401"]
    assert len(messages) == 1
    assert messages[0].startswith("`json` imported but unused")


@pytest.mark.parametrize("engine", ["ruff", "ty"])
async def test_the_editors_changes_are_forwarded_as_ranges(
    make_hub: HubFactory, recorder: Recorder, project: Path, engine: str
) -> None:
    """The engines apply the editor's ranged changes, in UTF-16 columns, without the text.

    The text source given with the changes is wrong on purpose: findings that follow the
    changes show that the engine got the ranges, not the whole text.
    """
    require_engine(engine)
    hub = make_hub(FeedbackSettings(ruff=engine == "ruff", ty=engine == "ty", debounce_ms=60_000))
    await hub.start()
    uri = (project / "app.py").as_uri()
    hub.open(uri, "python", 1, 'label = "é😀"; count = 1\n')
    await recorder.wait_report(by(engine, 1))
    wrong = "x = 1\n"
    # typing waits for a pause (60 s here): the changes of versions 2 and 3 are held and
    # sent together with the check of version 4
    hub.change(uri, 2, wrong, changes=[(((0, 0), (0, 0)), "import os\n")])
    # after the emoji (two UTF-16 units): `count = 1` becomes `count = missing_name`
    hub.change(uri, 3, wrong, changes=[(((1, 23), (1, 24)), "missing_name")])
    hub.change(uri, 4, wrong, immediate=True, changes=[(((2, 0), (2, 0)), "print(label)\n")])
    report = await recorder.wait_report(by(engine, 4))
    undefined = "F821" if engine == "ruff" else "unresolved-reference"
    found = {(f.rule, f.start) for f in report.findings}
    assert (undefined, (1, 23)) in found
    if engine == "ruff":
        assert ("F401", (0, 7)) in found
    # without changes the whole text is sent, and replaces what the engine held
    hub.change(uri, 5, "import json\n", immediate=True)
    report = await recorder.wait_report(by(engine, 5))
    assert not any(f.rule == undefined for f in report.findings)
    if engine == "ruff":
        assert report.findings[0].message.startswith("`json` imported but unused")


async def test_killed_engine_is_restarted_and_findings_resume(
    make_hub: HubFactory, recorder: Recorder, project: Path
) -> None:
    require_engine("ruff")
    hub = make_hub(FeedbackSettings(ty=False, restart_backoff_ms=50))
    await hub.start()
    uri = (project / "app.py").as_uri()
    hub.open(uri, "python", 1, SNIPPET)
    await recorder.wait_report(by("ruff", 1))
    engine = hub.engines["ruff"]
    assert isinstance(engine, LanguageServerEngine)
    first_pid = engine.pid
    assert first_pid is not None
    os.kill(first_pid, signal.SIGKILL)
    problem = await recorder.wait_problem(lambda text: text.startswith("ruff engine:"))
    assert "exited unexpectedly" in problem
    assert "restarting" in problem
    after_crash = len(recorder.reports)
    # the restarted engine is given the document again and reports it without a new edit
    await recorder.wait_report(by("ruff", 1), after=after_crash)
    assert engine.pid not in (None, first_pid)
    hub.change(uri, 2, "import json\n")
    resumed = await recorder.wait_report(by("ruff", 2))
    assert resumed.codes == {"ruff:F401"}
    assert len(recorder.problems) == 1


async def test_hung_engine_does_not_block_the_other(
    make_hub: HubFactory, recorder: Recorder, project: Path
) -> None:
    require_engine("ruff")
    settings = FeedbackSettings(
        ty_command=tuple(silent_server_command()), request_timeout_ms=1500, restart_backoff_ms=50
    )
    hub = make_hub(settings)
    await hub.start()
    uri = (project / "app.py").as_uri()
    hub.open(uri, "python", 1, SNIPPET)
    report = await recorder.wait_report(by("ruff", 1))
    assert "ruff:F401" in report.codes
    assert recorder.problems == []  # ruff answered while ty was still silent
    problem = await recorder.wait_problem(lambda text: text.startswith("ty engine:"))
    assert "no answer within 1.5 s" in problem
    hub.change(uri, 2, "import json\n")
    resumed = await recorder.wait_report(by("ruff", 2))
    assert resumed.codes == {"ruff:F401"}
    assert not any(report.engine == "ty" for report in recorder.reports)


async def test_missing_engine_gives_one_message_and_others_work(
    make_hub: HubFactory, recorder: Recorder, project: Path
) -> None:
    require_engine("ty")
    hub = make_hub(
        FeedbackSettings(
            ruff_command=(str(project / "no-such-ruff"), "server"),
            restart_backoff_ms=1,
            restart_backoff_max_ms=2,
        )
    )
    await hub.start()
    uri = (project / "app.py").as_uri()
    hub.open(uri, "python", 1, SNIPPET)
    problem = await recorder.wait_problem(lambda text: text.startswith("ruff engine:"))
    assert "cannot run" in problem
    assert "no-such-ruff" in problem
    report = await recorder.wait_report(by("ty", 1))
    assert "ty:unresolved-reference" in report.codes
    hub.change(uri, 2, "import json\n", immediate=True)
    await recorder.wait_report(by("ty", 2))
    assert hub.engine_failures("ruff") > 1  # it was retried meanwhile ...
    assert len(recorder.problems) == 1  # ... without a message per retry


def ruff_command_engine(name: str, output: str) -> dict[str, object]:
    ruff = str(require_engine("ruff"))
    if output == "sarif":
        return {
            "name": name,
            "command": [
                ruff,
                "check",
                "--isolated",
                "--output-format",
                "sarif",
                "--stdin-filename",
                "{path}",
                "-",
            ],
            "languages": ["python"],
            "output": "sarif",
        }
    return {
        "name": name,
        "command": [ruff, "check", "--isolated", "--output-format", "concise", "-"],
        "languages": ["python"],
        "output": "regex",
        "pattern": (
            r"^-:(?P<line>\d+):(?P<col>\d+): (?P<rule>[A-Z]+\d+) (?:\[\*\] )?(?P<message>.*)$"
        ),
    }


@pytest.mark.parametrize("output", ["sarif", "regex"])
async def test_command_engine_reports_findings(
    make_hub: HubFactory, recorder: Recorder, project: Path, output: str
) -> None:
    settings, problems = parse_feedback_settings(
        {"ruff": False, "ty": False, "engines": [ruff_command_engine("checker", output)]}
    )
    assert problems == []
    hub = make_hub(settings)
    await hub.start()
    uri = (project / "app.py").as_uri()
    hub.open(uri, "python", 1, "x = 1\nimport os\n")
    report = await recorder.wait_report(by("checker", 1))
    f401 = [finding for finding in report.findings if finding.rule == "F401"]
    assert len(f401) == 1
    assert f401[0].start == (1, 7)
    assert "`os` imported but unused" in f401[0].message
    assert f401[0].code == "checker:F401"


async def test_hanging_command_engine_times_out_without_blocking_ruff(
    make_hub: HubFactory, recorder: Recorder, project: Path
) -> None:
    require_engine("ruff")
    settings, problems = parse_feedback_settings(
        {
            "ty": False,
            "restartBackoffMs": 50,
            "engines": [
                {
                    "name": "sleeper",
                    "command": [sys.executable, "-c", "import time; time.sleep(60)"],
                    "languages": ["python"],
                    "output": "sarif",
                    "timeout_ms": 1000,
                }
            ],
        }
    )
    assert problems == []
    hub = make_hub(settings)
    await hub.start()
    uri = (project / "app.py").as_uri()
    hub.open(uri, "python", 1, SNIPPET)
    await recorder.wait_report(by("ruff", 1))
    assert recorder.problems == []
    problem = await recorder.wait_problem(lambda text: text.startswith("sleeper engine:"))
    assert "did not finish within 1 s" in problem
    hub.change(uri, 2, "import json\n")
    assert (await recorder.wait_report(by("ruff", 2))).codes == {"ruff:F401"}


async def test_closed_document_gets_no_late_findings(
    make_hub: HubFactory, recorder: Recorder, project: Path
) -> None:
    require_engine("ruff")
    hub = make_hub(FeedbackSettings(ty=False))
    await hub.start()
    closed = (project / "closed.py").as_uri()
    kept = (project / "kept.py").as_uri()
    hub.open(kept, "python", 1, "x = 1\n")
    await recorder.wait_report(by("ruff", 1))
    hub.open(closed, "python", 1, SNIPPET)
    hub.close(closed)
    hub.change(kept, 2, "import json\n")
    await recorder.wait_report(lambda report: report.uri == kept and report.version == 2)
    assert all(report.uri != closed for report in recorder.reports)


async def test_start_returns_before_engines_are_ready(
    make_hub: HubFactory, recorder: Recorder, project: Path
) -> None:
    require_engine("ruff")
    hub = make_hub(FeedbackSettings(ty=False))
    await hub.start()
    assert hub.engine_state("ruff") == "starting"
    # a document opened before the engine is ready is sent once it is
    uri = (project / "app.py").as_uri()
    hub.open(uri, "python", 1, "import os\n")
    assert (await recorder.wait_report(by("ruff", 1))).codes == {"ruff:F401"}


async def test_edits_are_debounced_but_immediate_or_expedited_ones_are_checked_at_once(
    make_hub: HubFactory, recorder: Recorder, project: Path
) -> None:
    require_engine("ruff")
    hub = make_hub(FeedbackSettings(ty=False, debounce_ms=60_000))
    await hub.start()
    first = (project / "first.py").as_uri()
    second = (project / "second.py").as_uri()
    hub.open(first, "python", 1, "x = 1\n")
    await recorder.wait_report(by("ruff", 1))
    hub.change(first, 2, "import os\n")  # typing: waits for a pause of 60 s
    hub.open(second, "python", 1, "import sys\n")
    await recorder.wait_report(lambda report: report.uri == second)
    hub.change(first, 3, "import json\n", immediate=True)  # an AI insertion: checked now
    report = await recorder.wait_report(lambda report: report.uri == first and report.version == 3)
    assert report.codes == {"ruff:F401"}
    hub.change(first, 4, "import re\n")  # typing again: waits ...
    hub.expedite(first)  # ... until the edit turns out to hold an AI snippet
    report = await recorder.wait_report(lambda report: report.uri == first and report.version == 4)
    assert report.codes == {"ruff:F401"}
    hub.expedite(first)  # nothing waits: no second check
    await hub.settle()
    assert [r.version for r in recorder.reports if r.uri == first] == [1, 3, 4]


async def test_command_engine_with_a_temporary_file(
    make_hub: HubFactory, recorder: Recorder, project: Path
) -> None:
    ruff = str(require_engine("ruff"))
    settings, problems = parse_feedback_settings(
        {
            "ruff": False,
            "ty": False,
            "engines": [
                {
                    "name": "filecheck",
                    "command": [
                        ruff,
                        "check",
                        "--isolated",
                        "--output-format",
                        "concise",
                        "{file}",
                    ],
                    "languages": ["python"],
                    "stdin": False,
                    "pattern": r":(?P<line>\d+):(?P<col>\d+): (?P<rule>[A-Z]+\d+) (?P<message>.*)$",
                }
            ],
        }
    )
    assert problems == []
    hub = make_hub(settings)
    await hub.start()
    uri = (project / "app.py").as_uri()
    hub.open(uri, "python", 1, "import os\n")  # unsaved: the file on disk does not exist
    report = await recorder.wait_report(by("filecheck", 1))
    assert report.codes == {"filecheck:F401"}


async def test_command_engine_with_unreadable_output_gives_one_message(
    make_hub: HubFactory, recorder: Recorder, project: Path
) -> None:
    require_engine("ruff")
    settings, problems = parse_feedback_settings(
        {
            "ty": False,
            "engines": [
                {
                    "name": "garbled",
                    "command": [sys.executable, "-c", "print('this is not SARIF')"],
                    "languages": ["python"],
                    "output": "sarif",
                }
            ],
        }
    )
    assert problems == []
    hub = make_hub(settings)
    await hub.start()
    uri = (project / "app.py").as_uri()
    hub.open(uri, "python", 1, "import os\n")
    problem = await recorder.wait_problem(lambda text: text.startswith("garbled engine:"))
    assert "output is not JSON" in problem
    assert (await recorder.wait_report(by("ruff", 1))).codes == {"ruff:F401"}
    assert len(recorder.problems) == 1


async def test_hung_lint_engine_does_not_hold_up_the_type_checker(
    make_hub: HubFactory, recorder: Recorder, project: Path
) -> None:
    require_engine("ty")
    settings = FeedbackSettings(
        ruff_command=tuple(silent_server_command()), request_timeout_ms=3000
    )
    hub = make_hub(settings)
    await hub.start()
    uri = (project / "app.py").as_uri()
    hub.open(uri, "python", 1, "x = 1\n")
    await recorder.wait_report(by("ty", 1))  # both engines are running now
    hub.change(uri, 2, SNIPPET, immediate=True)  # type checks wait for lint checks first ...
    report = await recorder.wait_report(by("ty", 2))
    assert "ty:unresolved-reference" in report.codes
    assert recorder.problems == []  # ... but not for a lint engine that does not answer
    problem = await recorder.wait_problem(lambda text: text.startswith("ruff engine:"))
    assert "no answer within 3 s" in problem


# "undefined_name" starts at character 14, after "é" (2 UTF-8 bytes) and an emoji (4 UTF-8
# bytes, 2 UTF-16 units)
@pytest.mark.parametrize(("encoding", "column"), [("utf-16", 15), ("utf-8", 18), ("utf-32", 14)])
async def test_findings_use_the_editors_position_encoding(
    project: Path, recorder: Recorder, encoding: str, column: int
) -> None:
    require_engine("ruff")
    require_engine("ty")
    hub = EngineHub(
        project,
        FeedbackSettings(),
        recorder.on_findings,
        recorder.on_problem,
        position_encoding=encoding,
    )
    await hub.start()
    try:
        uri = (project / "app.py").as_uri()
        hub.open(uri, "python", 1, 'x = "é😀"; y = undefined_name\n')
        for engine, rule in (("ruff", "F821"), ("ty", "unresolved-reference")):
            report = await recorder.wait_report(by(engine, 1))
            (finding,) = [f for f in report.findings if f.rule == rule]
            assert finding.start == (0, column)
    finally:
        await hub.stop()


async def test_reconfigure_restarts_engines_and_rechecks_open_documents(
    make_hub: HubFactory, recorder: Recorder, project: Path
) -> None:
    require_engine("ruff")
    hub = make_hub(FeedbackSettings(ty=False))
    await hub.start()
    uri = (project / "app.py").as_uri()
    hub.open(uri, "python", 1, SNIPPET)
    before = await recorder.wait_report(by("ruff", 1))
    assert "ruff:BLE001" not in before.codes
    assert hub.latest_findings(uri)["ruff"] == (1, before.findings)
    mark = len(recorder.reports)
    await hub.reconfigure(FeedbackSettings(ty=False, ruff_extra_select=("BLE",)))
    after = await recorder.wait_report(by("ruff", 1), after=mark)
    assert "ruff:BLE001" in after.codes
    assert hub.latest_findings(uri)["ruff"] == (1, after.findings)
    hub.close(uri)
    assert hub.latest_findings(uri) == {}


async def test_first_answers_waits_for_the_lint_check_only(
    make_hub: HubFactory, recorder: Recorder, project: Path
) -> None:
    require_engine("ruff")
    require_engine("ty")
    hub = make_hub(FeedbackSettings())
    await hub.start()
    uri = (project / "app.py").as_uri()
    hub.open(uri, "python", 1, "x = 1\n")
    await recorder.wait_report(by("ty", 1))
    await hub.first_answers(uri)  # nothing is being checked: returns at once
    hub.change(uri, 2, SNIPPET, immediate=True)
    await hub.first_answers(uri)
    assert [r.version for r in recorder.reports if r.engine == "ruff"] == [1, 2]
    assert [r.version for r in recorder.reports if r.engine == "ty"] == [1]  # checks after
    assert "ty:unresolved-reference" in (await recorder.wait_report(by("ty", 2))).codes


@pytest.mark.parametrize("lint", ["ruff", "slowlint"])
async def test_type_checks_wait_for_quick_lint_checks_only(
    make_hub: HubFactory, recorder: Recorder, project: Path, lint: str
) -> None:
    """Type checks wait (briefly) for a quick linter's answer, not for a slow linter's.

    ruff answers in milliseconds, and a type check started after it has the CPU to itself.
    Biome on a large file takes a few hundred milliseconds and TypeScript tens: waiting
    for the linter would only delay the type checker's answer.
    """
    require_engine("ty")
    engines: list[dict[str, object]] = []
    if lint == "slowlint":  # answers (nothing) half a second after it read the text
        engines.append(
            {
                "name": "slowlint",
                "command": [
                    sys.executable,
                    "-c",
                    "import sys, time; sys.stdin.read(); time.sleep(0.5)",
                ],
                "languages": ["python"],
                "output": "regex",
                "pattern": r"^(?P<line>\d+):(?P<col>\d+): (?P<rule>\S+) (?P<message>.*)$",
            }
        )
    else:
        require_engine("ruff")
    settings, problems = parse_feedback_settings({"ruff": lint == "ruff", "engines": engines})
    assert problems == []
    hub = make_hub(settings)
    await hub.start()
    uri = (project / "app.py").as_uri()
    types_slot = next(slot for slot in hub._slots if slot.engine.name == "ty")
    hub.open(uri, "python", 1, "x = 1\n")
    await recorder.wait_report(by(lint, 1))  # each engine's typical check time is known now
    await recorder.wait_report(by("ty", 1))
    hub.change(uri, 2, SNIPPET, immediate=True)
    assert (uri in types_slot.running) is (lint == "slowlint")
    report = await recorder.wait_report(by("ty", 2))
    assert "ty:unresolved-reference" in report.codes
    await recorder.wait_report(by(lint, 2))
