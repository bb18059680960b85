"""The ``ailoop`` command line without rough edges, run as a user runs it (a subprocess)."""

from __future__ import annotations

import datetime as dt
import json
import os
import re
import shlex
import subprocess
import sys
from pathlib import Path

import pytest

from ailoop.patterns.stats import iso_utc
from ailoop.store.events import Event, Kind
from ailoop.store.local import LocalStore

REPO = Path(__file__).resolve().parents[2]
SERVER_DIR = REPO / "server"
EXAMPLE = REPO / "examples" / "session.jsonl"


def run(
    *args: str, cwd: Path, data_dir: Path, argv0: list[str] | None = None, path: str | None = None
) -> subprocess.CompletedProcess[str]:
    """Run ``python -m ailoop ARGS`` (or ``argv0 ARGS``) as a user would."""
    env = {**os.environ, "AILOOP_DATA_DIR": str(data_dir)}
    env["PYTHONPATH"] = os.pathsep.join(filter(None, [str(SERVER_DIR), env.get("PYTHONPATH")]))
    if path is not None:
        env["PATH"] = path
    return subprocess.run(
        [*(argv0 or [sys.executable, "-m", "ailoop"]), *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def store(data_dir: Path, events: list[Event]) -> None:
    local = LocalStore.open(data_dir)
    try:
        local.append(events)
    finally:
        local.close()


def days_ago(n: float) -> str:
    return iso_utc(dt.datetime.now(dt.timezone.utc) - dt.timedelta(days=n))


# -- usage and values ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("args", "command"),
    [
        (["stats", "--bogus"], "ailoop stats"),
        (["events", "--bogus"], "ailoop events"),
        (
            ["patterns", "promote", "r", "--id", "x", "--regex", "y", "--bogus"],
            "ailoop patterns promote",
        ),
        (["store", "status", "--bogus"], "ailoop store status"),
    ],
)
def test_a_bad_flag_prints_the_usage_of_its_own_command(
    tmp_path: Path, data_dir: Path, args: list[str], command: str
) -> None:
    result = run(*args, cwd=tmp_path, data_dir=data_dir)
    assert result.returncode == 2
    assert result.stderr.startswith(f"usage: {command} ")
    assert result.stderr.splitlines()[-1] == f"{command}: error: unrecognized arguments: --bogus"


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (
            ["stats", "--since", "-3"],
            "argument --since: expected a positive whole number, not '-3'",
        ),
        (["stats", "--since", "0"], "argument --since: expected a positive whole number, not '0'"),
        (["stats", "--top", "ten"], "argument --top: expected a positive whole number, not 'ten'"),
        (["events", "--since", "-1"], "argument --since: expected a positive whole number"),
        (["context", "--limit", "-1"], "argument --limit: expected a whole number of at least 0"),
        (["context", "--min-outcomes", "0"], "argument --min-outcomes: expected a positive whole"),
        (["patterns", "--min-count", "0"], "argument --min-count: expected a positive whole"),
        (["sync", "--batch-size", "0"], "argument --batch-size: expected a positive whole number"),
        (["sync", "--timeout", "-5"], "argument --timeout: expected a number of seconds above 0"),
        (["sync", "--timeout", "nan"], "argument --timeout: expected a number of seconds above 0"),
    ],
)
def test_a_bad_value_is_refused_with_one_line(
    tmp_path: Path, data_dir: Path, args: list[str], expected: str
) -> None:
    result = run(*args, cwd=tmp_path, data_dir=data_dir)
    assert result.returncode == 2
    errors = [line for line in result.stderr.splitlines() if ": error: " in line]
    assert len(errors) == 1
    assert errors[0].startswith(f"ailoop {args[0]}: error: {expected}")
    assert "Traceback" not in result.stderr


def test_help_texts_are_plain_text(tmp_path: Path, data_dir: Path) -> None:
    commands = [
        [],
        ["serve"],
        ["events"],
        ["replay"],
        ["check"],
        ["patterns"],
        ["patterns", "promote"],
        ["stats"],
        ["context"],
        ["store"],
        ["sync"],
        ["trust"],
        ["hook"],
    ]
    for command in commands:
        result = run(*command, "--help", cwd=tmp_path, data_dir=data_dir)
        assert result.returncode == 0, result.stderr
        assert "`" not in result.stdout, (command, result.stdout)
        assert ":mod:" not in result.stdout


# -- informational messages ------------------------------------------------------------------


def test_context_says_what_it_decided_only_with_verbose(tmp_path: Path, data_dir: Path) -> None:
    quiet = run("context", cwd=tmp_path, data_dir=data_dir)
    assert quiet.returncode == 0, quiet.stderr
    assert quiet.stderr == ""
    assert "Known rejection patterns" in quiet.stdout
    verbose = run("context", "-v", cwd=tmp_path, data_dir=data_dir)
    assert verbose.returncode == 0
    assert verbose.stderr.startswith("ailoop context: first learned context")


# -- events ---------------------------------------------------------------------------------

LONG_REASON = "swallows every exception, including KeyboardInterrupt; catch ValueError instead"


@pytest.fixture
def recorded(data_dir: Path) -> Path:
    """Events of three snippets from two tools, one of them ten days old."""
    store(
        data_dir,
        [
            Event(kind=Kind.GENERATED, snippet="sha256:aaaa1111", tool="copilot", ts=days_ago(10)),
            Event(kind=Kind.ACCEPTED, snippet="sha256:aaaa1111", tool="copilot", ts=days_ago(9)),
            Event(kind=Kind.GENERATED, snippet="sha256:bbbb2222", tool="cursor", ts=days_ago(1)),
            Event(
                kind=Kind.REJECTED,
                snippet="sha256:bbbb2222",
                tool="cursor",
                reason=LONG_REASON,
                path="shop/cart.py",
                ts=days_ago(0.5),
            ),
        ],
    )
    return data_dir


def kinds_and_snippets(out: str) -> list[tuple[str, str]]:
    return [(e["kind"], e["snippet"]) for e in map(json.loads, out.splitlines())]


def test_events_filters(tmp_path: Path, recorded: Path) -> None:
    def jsonl(*args: str) -> list[tuple[str, str]]:
        result = run("events", "--format", "jsonl", *args, cwd=tmp_path, data_dir=recorded)
        assert result.returncode == 0, result.stderr
        return kinds_and_snippets(result.stdout)

    assert len(jsonl()) == 4
    assert jsonl("--kind", "rejected") == [("rejected", "sha256:bbbb2222")]
    assert jsonl("--kind", "generated", "--kind", "accepted") == [
        ("generated", "sha256:aaaa1111"),
        ("accepted", "sha256:aaaa1111"),
        ("generated", "sha256:bbbb2222"),
    ]
    assert [k for k, _ in jsonl("--tool", "copilot")] == ["generated", "accepted"]
    assert jsonl("--since", "3") == [
        ("generated", "sha256:bbbb2222"),
        ("rejected", "sha256:bbbb2222"),
    ]
    assert jsonl("--snippet", "aaaa") == jsonl("--snippet", "sha256:aaaa11")
    assert len(jsonl("--snippet", "aaaa")) == 2
    assert jsonl("--tool", "copilot", "--kind", "rejected") == []


def test_events_table_has_a_reason_column_cut_short_and_jsonl_has_it_all(
    tmp_path: Path, recorded: Path
) -> None:
    table = run("events", "--kind", "rejected", cwd=tmp_path, data_dir=recorded)
    assert table.returncode == 0, table.stderr
    header, row = table.stdout.splitlines()
    assert header.split() == ["time", "kind", "tool", "snippet", "lines", "path", "reason"]
    assert "shop/cart.py" in row
    shown = row[header.index("reason") :]
    assert shown.endswith("…")
    assert LONG_REASON.startswith(shown[:-1])
    assert len(shown) == 40
    full = run("events", "--kind", "rejected", "--format", "jsonl", cwd=tmp_path, data_dir=recorded)
    assert json.loads(full.stdout)["reason"] == LONG_REASON


# -- missing files and broken patterns ---------------------------------------------------------


def test_missing_files_are_named_in_plain_words(tmp_path: Path, data_dir: Path) -> None:
    diff = run("check", "--diff", "nothere.diff", cwd=tmp_path, data_dir=data_dir)
    assert (diff.returncode, diff.stderr) == (
        2,
        "ailoop check: the diff nothere.diff does not exist\n",
    )
    replay = run("replay", "nothere.jsonl", cwd=tmp_path, data_dir=data_dir)
    assert replay.returncode == 2
    assert replay.stderr == "ailoop replay: the session nothere.jsonl does not exist\n"
    (tmp_path / "a.py").write_text("x = 1\n", encoding="utf-8")
    output = run("check", "a.py", "-o", "no/such/dir/report.txt", cwd=tmp_path, data_dir=data_dir)
    assert output.returncode == 2
    assert output.stderr == (
        "ailoop check: cannot write the report to no/such/dir/report.txt: "
        "No such file or directory\n"
    )
    for result in (diff, replay, output):
        assert "Errno" not in result.stderr
        assert "Traceback" not in result.stderr


BROKEN = """
[[pattern]]
id = "unclosed"
title = "unclosed group"
regex = '('
"""


def test_a_broken_patterns_file_fails_the_check_unless_allowed(
    tmp_path: Path, data_dir: Path
) -> None:
    (tmp_path / ".ailoop").mkdir()
    (tmp_path / ".ailoop" / "patterns.toml").write_text(BROKEN, encoding="utf-8")
    (tmp_path / "a.py").write_text("x = 1\n", encoding="utf-8")
    broken = run("check", "a.py", cwd=tmp_path, data_dir=data_dir)
    assert broken.returncode == 2
    assert "pattern 'unclosed': invalid regex '('" in broken.stderr
    assert "--allow-broken" in broken.stderr
    allowed = run("check", "--allow-broken", "a.py", cwd=tmp_path, data_dir=data_dir)
    assert allowed.returncode == 0
    assert "pattern 'unclosed': invalid regex '('" in allowed.stderr  # still said


# -- titles and help texts ----------------------------------------------------------------


def test_stats_shows_titles_for_engine_rules(tmp_path: Path, data_dir: Path) -> None:
    events = []
    for n, findings in enumerate([("ruff:E722",), ("ty:unresolved-reference",)] * 3):
        events.append(Event(kind=Kind.REJECTED, snippet=f"sha256:{n:04}", findings=findings))
    store(data_dir, events)
    table = run("stats", cwd=tmp_path, data_dir=data_dir)
    assert table.returncode == 0, table.stderr
    rows = {
        line.split()[0]: line
        for line in table.stdout.splitlines()
        if line.startswith(("ruff:", "ty:"))
    }
    assert re.search(r"ruff:E722\s+bare except\s+3", rows["ruff:E722"])
    assert re.search(r"unresolved reference\s+3", rows["ty:unresolved-reference"])
    as_json = json.loads(run("stats", "--format", "json", cwd=tmp_path, data_dir=data_dir).stdout)
    titles = {p["pattern"]: p["title"] for p in as_json["top_patterns"]}
    assert titles == {"ruff:E722": "bare except", "ty:unresolved-reference": "unresolved reference"}


SARIF_PATTERNS = """
[[pattern]]
id = "ok-result"
title = "ok"
regex = 'return "ok"'

[[pattern]]
id = "bare-except"
title = "bare except"
fix = "name the exception, e.g. except ValueError:"
regex = '^\\s*except\\s*:'
"""


def test_sarif_help_texts_are_sentences(tmp_path: Path, data_dir: Path) -> None:
    (tmp_path / ".ailoop").mkdir()
    (tmp_path / ".ailoop" / "patterns.toml").write_text(SARIF_PATTERNS, encoding="utf-8")
    (tmp_path / "a.py").write_text('def f():\n    return "ok"\n', encoding="utf-8")
    result = run("check", "--format", "sarif", "a.py", cwd=tmp_path, data_dir=data_dir)
    assert result.returncode == 0, result.stderr
    rules = json.loads(result.stdout)["runs"][0]["tool"]["driver"]["rules"]
    helps = {rule["id"]: rule["help"]["text"] for rule in rules}
    assert helps["pattern:bare-except"] == "Name the exception, e.g. except ValueError:"
    ok = helps["pattern:ok-result"]
    assert ok[0].isupper()
    assert ok.endswith(".")
    assert "do not write" not in ok
    assert "'ok'" in ok
    assert "pattern:ok-result" in ok


# -- the replay and the README ----------------------------------------------------------------


def test_the_replays_closing_hint_runs_as_printed(tmp_path: Path, data_dir: Path) -> None:
    """ailoop only in a virtual environment's bin: the hint names that ailoop by its path."""
    bin_dir = tmp_path / "venv" / "bin"
    bin_dir.mkdir(parents=True)
    script = bin_dir / "ailoop"
    script.write_text(
        f"#!{sys.executable}\nimport sys\nfrom ailoop.cli import main\nsys.exit(main())\n",
        encoding="utf-8",
    )
    script.chmod(0o755)
    path_without_ailoop = os.pathsep.join(["/usr/bin", "/bin"])
    replay = run(
        "replay",
        str(EXAMPLE),
        cwd=tmp_path,
        data_dir=data_dir,
        argv0=[str(script)],
        path=path_without_ailoop,
    )
    assert replay.returncode == 0, replay.stderr
    hint = replay.stdout.splitlines()[-1]
    prefix = "See them again with: "
    assert hint.startswith(prefix)
    command = hint.removeprefix(prefix)
    assert shlex.split(command)[1] == str(script)
    env = {k: v for k, v in os.environ.items() if k != "AILOOP_DATA_DIR"}
    env["PYTHONPATH"] = str(SERVER_DIR)
    env["PATH"] = path_without_ailoop
    again = subprocess.run(
        command, shell=True, env=env, capture_output=True, text=True, timeout=60, check=False
    )
    assert again.returncode == 0, again.stderr
    assert len(again.stdout.splitlines()) == 1 + 4  # the header and the session's events


def test_python_dash_m_gives_a_hint_with_this_interpreter(tmp_path: Path, data_dir: Path) -> None:
    replay = run("replay", str(EXAMPLE), cwd=tmp_path, data_dir=data_dir)
    assert replay.returncode == 0, replay.stderr
    command = replay.stdout.splitlines()[-1].removeprefix("See them again with: ")
    assert shlex.split(command)[1:] == [sys.executable, "-m", "ailoop", "events"]


def test_the_readme_tells_the_shipped_session_as_it_plays(tmp_path: Path, data_dir: Path) -> None:
    replay = run(
        "replay", str(EXAMPLE), "--data-dir", str(data_dir), cwd=tmp_path, data_dir=data_dir
    )
    assert replay.returncode == 0, replay.stderr
    local = LocalStore.open(data_dir)
    try:
        played = [(e.kind.value, e.tool) for e in local.events()]
    finally:
        local.close()
    assert played == [
        ("generated", "copilot"),
        ("generated", "unknown"),
        ("accepted", "copilot"),
        ("rejected", "unknown"),
    ]
    readme = " ".join((REPO / "README.md").read_text(encoding="utf-8").split())
    assert "its tool is `copilot`" in readme
    assert "its tool is `unknown`" in readme
    assert "an agent inserts" not in readme
    assert "The first snippet is accepted and the second rejected with a note" in readme
