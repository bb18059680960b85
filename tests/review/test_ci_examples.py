"""The CI examples (examples/ci/, shown in docs/review.md) parse, run on the documented
events, keep secrets in secrets, and run only commands and options the CLI has."""

from __future__ import annotations

import re
import shlex
import subprocess
import sys
from pathlib import Path
from typing import Any

import yaml  # PyYAML, in the dev extra

ROOT = Path(__file__).resolve().parents[2]
GITHUB = ROOT / "examples" / "ci" / "github-ailoop-review.yml"
GITLAB = ROOT / "examples" / "ci" / "gitlab-ci.yml"
DOCS = ROOT / "docs" / "review.md"


def _commands(scripts: list[str]) -> list[list[str]]:
    """Return the ``ailoop …`` command lines of shell scripts, split as the shell would."""
    out = []
    for script in scripts:
        for line in script.splitlines():
            line = line.split(" #", 1)[0].strip()
            if line.startswith("ailoop "):
                out.append(shlex.split(line))
    return out


def _check_cli(argv: list[str]) -> None:
    """The subcommand exists (its ``--help`` runs) and has every option the line passes."""
    words: list[str] = []
    for word in argv[1:]:
        if word.startswith("-") or "$" in word or "/" in word:
            break
        words.append(word)
    done = subprocess.run(
        [sys.executable, "-m", "ailoop", *words, "--help"],
        capture_output=True, text=True, timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, (argv, done.stderr)
    for option in (w.split("=", 1)[0] for w in argv if w.startswith("--")):
        assert re.search(rf"(^|[\s\[]){re.escape(option)}\b", done.stdout), (option, argv)


def _secrets_only(env: dict[str, Any]) -> None:
    for name, value in env.items():
        if any(word in name for word in ("PASSWORD", "KEY", "TOKEN", "STORE_URL")):
            assert re.fullmatch(r"\$\{\{ secrets\.[A-Z_]+ \}\}", str(value)), (name, value)


def test_the_github_workflow() -> None:
    workflow = yaml.safe_load(GITHUB.read_text(encoding="utf-8"))
    # YAML 1.1 reads a bare ``on`` key as true; GitHub reads it as "on"
    events = workflow.get("on", workflow.get(True))
    assert events == {
        "pull_request_review": {"types": ["submitted", "edited"]},
        "pull_request_review_comment": {"types": ["created", "edited"]},
        "pull_request": {"types": ["closed"]},
    }
    assert workflow["permissions"] == {"contents": "read", "pull-requests": "read"}
    (job,) = workflow["jobs"].values()
    steps = job["steps"]
    checkout = next(s for s in steps if str(s.get("uses", "")).startswith("actions/checkout@"))
    assert checkout["with"]["fetch-depth"] == 0
    text = GITHUB.read_text(encoding="utf-8")
    for step in steps:
        _secrets_only(step.get("env", {}))
        # payload values reach scripts through env, never pasted into the script
        assert "${{" not in step.get("run", ""), step
    assert text.count("${{ secrets.") == 3
    commands = _commands([s["run"] for s in steps if "run" in s])
    assert [c[:3] for c in commands] == [
        ["ailoop", "review", "ingest"],
        ["ailoop", "sync", "--no-pull"],
    ]
    for argv in commands:
        _check_cli(argv)
    # the documented workflow is this file
    body = text[text.index("name: ailoop review") :]
    assert body in DOCS.read_text(encoding="utf-8")


def test_the_gitlab_job() -> None:
    config = yaml.safe_load(GITLAB.read_text(encoding="utf-8"))
    job = config["ailoop-review"]
    assert job["variables"]["GIT_DEPTH"] == "0"
    assert job["rules"] == [{"if": '$CI_PIPELINE_SOURCE == "schedule"'}]
    text = GITLAB.read_text(encoding="utf-8")
    assert not re.search(r"(TOKEN|PASSWORD|KEY)\s*[:=]\s*['\"]?\w", text.split("script:")[1])
    commands = _commands(job["script"])
    assert [c[:3] for c in commands] == [
        ["ailoop", "review", "backfill"],
        ["ailoop", "sync", "--no-pull"],
    ]
    for argv in commands:
        _check_cli(argv)
    body = text[text.index("ailoop-review:") :]
    assert body in DOCS.read_text(encoding="utf-8")
