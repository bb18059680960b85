"""Edit-time feedback latency: ailoop's EngineHub beside `ruff server` and `ty server` alone.

The workload: `_pytest/python.py` from the installed pytest (MIT license; ~1,900 lines of a
well-known project), copied into a temporary workspace at run time, and a 15-line
AI-style snippet with lint and type problems inserted before a top-level function near
the middle. Each round inserts the snippet with one `didChange` and times the findings,
then removes it again; subjects are interleaved round by round. The changes are ranged
(incremental sync, as VS Code and Neovim send them); `--full-text` sends the whole new
text instead.

Printed: p50/p90 of didChange -> findings per engine, time to ready, resident memory,
and the ratios against the engines alone (targets: lint within 1.2x, types within 1.1x).
Then start-up: spawn -> `initialize` result of `ailoop serve` beside a bare pygls server
(target: within 1.1x),
`ruff server` and `ty server`, each started --starts times, interleaved, after one
unmeasured start (the Python servers run from cached bytecode, as installed packages do).

    PYTHONPATH=server python bench/feedback_bench.py [--rounds 30] [--full-text]
"""

from __future__ import annotations

import argparse
import asyncio
import importlib.util
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
    measure_startup,
    run_interleaved,
    summarize,
)

import ailoop
from ailoop.feedback import FeedbackSettings, Finding
from ailoop.feedback.locate import find_executable

MARKER = "fetch_with_backoff"
BARE_PYGLS_SERVER = Path(__file__).resolve().parent / "feedback" / "bare_pygls_server.py"
#: Where ``ailoop`` is imported from, for the servers the benchmark starts.
PACKAGE_ROOT = str(Path(ailoop.__file__).resolve().parent.parent)

#: Time to findings through ailoop over the engine alone (p50): lint, types.
FINDINGS_TARGETS = {"ruff": 1.2, "ty": 1.1}
#: Start-up of ``ailoop serve`` over a bare pygls server (p50).
READY_TARGET = 1.1

SNIPPET = f'''

def load_remote_config(url, retries=3):
    """Fetch the remote configuration, retrying on failure."""
    import json, hashlib
    last_error = None
    for attempt in range(retries):
        try:
            response = {MARKER}(url, timeout=10)
            payload = json.loads(response)
            return payload["config"]
        except:
            pass
    fallback: int = "no config"
    eval("print('giving up')")
    digest = hashlib.md5(url.encode()).hexdigest()
    return fallback

'''


def source_file() -> Path:
    """The benchmark file: `_pytest/python.py` of the installed pytest."""
    spec = importlib.util.find_spec("_pytest.python")
    if spec is None or spec.origin is None:
        raise SystemExit("pytest is not installed: pip install pytest")
    return Path(spec.origin)


def make_workload(root: Path, source: Path) -> Workload:
    """Copy the source into ``root`` and build the insertion near its middle."""
    target = root / source.name
    shutil.copyfile(source, target)
    (root / "pyproject.toml").write_text('[project]\nname = "bench"\nversion = "0"\n')
    base = target.read_text(encoding="utf-8")
    lines = base.splitlines(keepends=True)
    middle = len(lines) // 2
    tops = [i for i, line in enumerate(lines) if line.startswith(("def ", "class "))]
    at = min(tops, key=lambda i: abs(i - middle))
    while at > 0 and lines[at - 1].startswith("@"):
        at -= 1
    snippet = SNIPPET.lstrip("\n") + "\n"
    inserted = "".join(lines[:at]) + snippet + "".join(lines[at:])
    return Workload(target.as_uri(), base, inserted, MARKER, snippet, at)


def carried_codes(item: dict[str, Any]) -> set[str]:
    """A diagnostic's code, and every code ailoop merged into it (``data.codes``)."""
    data = item.get("data")
    merged = data.get("codes", []) if isinstance(data, dict) else []
    return {str(item.get("code")), *(str(code) for code in merged)}


def has_code(*codes: str) -> Any:
    """A probe: some pushed diagnostic carries one of ``codes`` and mentions the marker.

    ailoop shows ruff's F821 and ty's unresolved-reference on one name as one diagnostic,
    with both codes in ``data.codes``.
    """
    return lambda diagnostics: any(
        carried_codes(item) & set(codes) and MARKER in str(item.get("message", ""))
        for item in diagnostics
    )


def has_finding(rule: str) -> Any:
    """A probe on hub findings: the rule fires on the snippet's undefined name."""
    return lambda findings: any(
        f.rule == rule and MARKER in f.message for f in findings if isinstance(f, Finding)
    )


def row(measurement: Measurement, label: str) -> tuple[float, float]:
    """(p50, p90) in milliseconds for one label."""
    p50, p90 = summarize(measurement.samples[label])
    return p50 * 1000, p90 * 1000


async def compare_startup(
    root: Path, workload: Workload, starts: int, ruff: str, ty: str
) -> list[Measurement]:
    """Start-up of each server, interleaved one start at a time."""
    env = {
        "AILOOP_DATA_DIR": str(root / "ailoop-data"),  # not the user's own event store
        "PYTHONPATH": os.pathsep.join(filter(None, [PACKAGE_ROOT, os.environ.get("PYTHONPATH")])),
    }
    commands = {
        "bare pygls server": [sys.executable, str(BARE_PYGLS_SERVER)],
        "ailoop serve": [sys.executable, "-m", "ailoop", "serve"],
        "ruff server": [ruff, "server"],
        "ty server": [ty, "server"],
    }
    per_start = [
        [
            await measure_startup(name, argv, root, workload, 1, env=env)
            for name, argv in commands.items()
        ]
        for _ in range(starts + 1)
    ][1:]  # the first start of each fills the bytecode cache
    merged = []
    for index, name in enumerate(commands):
        samples = [run[index].samples["ready"][0] for run in per_start]
        merged.append(
            Measurement(
                name, summarize(samples)[0], per_start[-1][index].rss_kib, {"ready": samples}
            )
        )
    return merged


def print_startup(startups: list[Measurement], starts: int) -> None:
    """Print the start-up table and ailoop's ratio to the bare pygls server."""
    print()
    print(f"start-up: spawn -> initialize result, {starts} starts each (RSS after didOpen)")
    print(f"{'server':<24}{'p50 ms':>9}{'p90 ms':>9}{'RSS MiB':>9}")
    for measurement in startups:
        p50, p90 = summarize(measurement.samples["ready"])
        print(
            f"{measurement.name:<24}{p50 * 1000:>9.0f}{p90 * 1000:>9.0f}"
            f"{measurement.rss_kib / 1024:>9.1f}"
        )
    by_name = {m.name: m for m in startups}
    ratio = by_name["ailoop serve"].ready_s / by_name["bare pygls server"].ready_s
    verdict = "ok" if ratio <= READY_TARGET else "MISSED"
    print(f"{'ailoop serve / bare pygls':<34}{ratio:>8.2f}{f'<= {READY_TARGET}':>9}  {verdict}")


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=30, help="measured insertions (>= 30)")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--starts", type=int, default=20, help="start-ups per server")
    parser.add_argument(
        "--full-text",
        action="store_true",
        help="send the whole new text in each didChange instead of the ranged change editors send",
    )
    args = parser.parse_args()
    ruff, ty = find_executable("ruff", None), find_executable("ty", None)
    if ruff is None or ty is None:
        raise SystemExit("ruff and ty must be installed (pip install ruff ty)")
    source = source_file()
    incremental = not args.full_text
    with tempfile.TemporaryDirectory(prefix="ailoop-bench-") as directory:
        root = Path(directory)
        # The Python servers load their modules from cached bytecode, as installed
        # packages do, even where the environment says not to write it.
        os.environ.pop("PYTHONDONTWRITEBYTECODE", None)
        os.environ["PYTHONPYCACHEPREFIX"] = str(root / "pycache")
        workload = make_workload(root, source)
        subjects: list[Subject] = [
            LspServerSubject(
                "ruff server alone",
                [str(ruff), "server"],
                root,
                {"ruff": has_code("F821")},
                incremental=incremental,
            ),
            LspServerSubject(
                "ty server alone",
                [str(ty), "server"],
                root,
                {"ty": has_code("unresolved-reference")},
                incremental=incremental,
            ),
            LspServerSubject(
                "ailoop serve",
                [sys.executable, "-m", "ailoop", "serve"],
                root,
                {"ruff": has_code("ruff:F821"), "ty": has_code("ty:unresolved-reference")},
                env={"AILOOP_DATA_DIR": str(root / ".ailoop-data")},
                vary=lambda text, n: text.replace(
                    "last_error = None", f"last_error = None  # attempt plan {n}"
                ),
                settle="ailoop/settle",
                incremental=incremental,
            ),
            HubSubject(
                root,
                FeedbackSettings(),
                {
                    "ruff": has_finding("F821"),
                    "ty": has_finding("unresolved-reference"),
                },
                incremental=incremental,
            ),
        ]
        results = await run_interleaved(subjects, workload, args.rounds, args.warmup)
        startups = await compare_startup(root, workload, args.starts, str(ruff), str(ty))
    lines = len(workload.base_text.splitlines())
    print(
        f"file: {source} ({lines} lines), snippet: {len(SNIPPET.strip().splitlines())} lines, "
        f"{args.rounds} insertions (+{args.warmup} warm-up), python {sys.version.split()[0]}"
    )
    sync = "the whole new text" if args.full_text else "a ranged change, as editors send"
    print(f"each insertion and removal is one didChange with {sync}")
    print()
    print("ready: spawn -> initialize result for a server; start -> every engine's first")
    print("findings for the EngineHub (it starts ruff and ty). RSS: the process tree.")
    print()
    print(
        f"{'subject':<24}{'findings':<10}{'p50 ms':>9}{'p90 ms':>9}{'ready ms':>10}{'RSS MiB':>9}"
    )
    by_name = {m.name: m for m in results}
    for measurement in results:
        for label in measurement.samples:
            p50, p90 = row(measurement, label)
            print(
                f"{measurement.name:<24}{label:<10}{p50:>9.2f}{p90:>9.2f}"
                f"{measurement.ready_s * 1000:>10.0f}{measurement.rss_kib / 1024:>9.1f}"
            )
    print()
    print(f"{'ratio (p50)':<44}{'value':>8}{'target':>9}")
    for subject in ("ailoop serve", "ailoop EngineHub"):
        for label, alone in (("ruff", "ruff server alone"), ("ty", "ty server alone")):
            ratio = row(by_name[subject], label)[0] / row(by_name[alone], label)[0]
            target = FINDINGS_TARGETS[label]
            verdict = "ok" if ratio <= target else "MISSED"
            name = f"{subject} {label} / {alone}"
            print(f"{name:<44}{ratio:>8.2f}{f'<= {target}':>9}  {verdict}")
    print_startup(startups, args.starts)


if __name__ == "__main__":
    asyncio.run(main())
