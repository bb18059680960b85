"""Wall time of one agent hook call, process start included.

A 30-line Claude Code ``Edit`` on a 2,000-line Python file, in a temporary git repository
with a temporary data directory. Each variant's command is spawned N times (the file is
restored before each call), round by round with the other variants and with
``python -c pass``, the floor of any Python hook, so that a slow spell of the machine hits
them all alike; p50/p90 are printed side by side. "warm worker" is the common case: an
earlier call started a hook worker (see ``ailoop.hooks.worker``) that answers this one;
"no worker" is what the first call of a session costs (``AILOOP_HOOK_WORKER=0``). The CPU
column (user + system time of the hook process and the ruff it runs) is what a call costs
whatever else the machine is doing. Bytecode is cached (in a temporary
``PYTHONPYCACHEPREFIX``) as in an installed package, and one warm-up call per variant fills
that cache.

    PYTHONPATH=server python bench/hook_bench.py [-n 40]
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

SERVER = Path(__file__).resolve().parent.parent / "server"

PATTERNS = (
    "\n".join(
        f"""[[pattern]]
id = "rule-{n}"
title = "rule {n}"
languages = ["python"]
regex = 'forbidden_call_{n}\\('
"""
        for n in range(20)
    )
    + """
[[pattern]]
id = "bare-except"
title = "bare except"
languages = ["python"]
regex = '^\\s*except\\s*:'
"""
)


def base_file(lines: int = 2000) -> str:
    out = ["import os", ""]
    n = 0
    while len(out) < lines - 4:
        out += [f"def function_{n}(value):", f"    total = value + {n}", "    return total", ""]
        n += 1
    return "\n".join(out) + "\n"


def inserted_block() -> str:
    body = ["def generated(values):", "    results = []"]
    for n in range(26):
        body.append(f"    results.append(values[{n}] * {n})")
    body += ["    return results", ""]
    return "\n".join(body) + "\n"  # 30 lines


def make_repo(root: Path, patterns: bool) -> tuple[Path, str, str, bytes]:
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    if patterns:
        (root / ".ailoop").mkdir()
        (root / ".ailoop" / "patterns.toml").write_text(PATTERNS, encoding="utf-8")
    path = root / "module.py"
    before = base_file()
    anchor = "def function_250(value):\n"
    after = before.replace(anchor, inserted_block() + anchor, 1)
    payload = {
        "session_id": "bench",
        "transcript_path": str(root / "transcript.jsonl"),
        "cwd": str(root),
        "permission_mode": "default",
        "hook_event_name": "PostToolUse",
        "tool_name": "Edit",
        "tool_input": {
            "file_path": str(path),
            "old_string": anchor,
            "new_string": inserted_block() + anchor,
            "replace_all": False,
        },
        "tool_response": {"filePath": str(path), "success": True},
        "tool_use_id": "toolu_bench",
    }
    return path, before, after, json.dumps(payload).encode()


def cpu_of_children() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return (usage.ru_utime + usage.ru_stime) * 1000


def timed(
    command: list[str], stdin: bytes, env: dict[str, str], cwd: Path, cpu: list[float] | None = None
) -> float:
    cpu_before = cpu_of_children()
    start = time.perf_counter()
    done = subprocess.run(command, input=stdin, env=env, cwd=cwd, capture_output=True, check=False)
    elapsed = (time.perf_counter() - start) * 1000
    if done.returncode not in (0, 2):
        raise SystemExit(f"{command} failed: {done.stderr.decode()}")
    if cpu is not None:
        cpu.append(cpu_of_children() - cpu_before)  # the hook and ruff, user + system
    return elapsed


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("-n", type=int, default=40, help="calls per variant")
    args = parser.parse_args()
    python = sys.executable
    lean = ["-m", "ailoop.hooks", "claude-code"]
    full = ["-m", "ailoop", "hook", "claude-code"]
    variants = [
        ("warm worker, patterns, ruff", lean, True, True, True),
        ("warm worker, ailoop hook, patterns, ruff", full, True, True, True),
        ("no worker, no patterns, ruff", lean, False, True, False),
        ("no worker, patterns, ruff", lean, True, True, False),
        ("no worker, patterns, no ruff", lean, True, False, False),
    ]
    with tempfile.TemporaryDirectory(prefix="ailoop-hook-bench-") as tmp:
        env = dict(
            os.environ,
            PYTHONPATH=str(SERVER),
            AILOOP_DATA_DIR=str(Path(tmp) / "data"),
            PYTHONPYCACHEPREFIX=str(Path(tmp) / "pycache"),
            XDG_RUNTIME_DIR=tmp,
            AILOOP_HOOK_WORKER_IDLE="10",
        )
        env.pop("PYTHONDONTWRITEBYTECODE", None)
        setups = []
        for number, (_name, module, patterns, ruff, worker) in enumerate(variants):
            root = Path(tmp) / f"repo{number}"
            root.mkdir()
            path, before, after, payload = make_repo(root, patterns)
            if not ruff:
                (root / ".ailoop.toml").write_text("[feedback]\nruff = false\n", encoding="utf-8")
            command = [python, *module]
            variant_env = dict(env, AILOOP_HOOK_WORKER="1" if worker else "0")
            path.write_text(after, encoding="utf-8")
            timed(command, payload, variant_env, root)  # fills the bytecode cache, starts a worker
            if worker:
                time.sleep(1)  # the worker is listening by now
            setups.append((root, path, before, after, payload, command, variant_env))
        rows: list[tuple[str, list[float], list[float]]] = [
            (name, [], []) for name in ["python -c pass (floor)", *(v[0] for v in variants)]
        ]
        # Round by round, every variant once per round: a slow spell of the machine hits
        # them all alike.
        for _ in range(args.n):
            rows[0][1].append(timed([python, "-c", "pass"], b"", env, Path(tmp), rows[0][2]))
            for (root, path, before, after, payload, command, variant_env), row in zip(
                setups, rows[1:], strict=True
            ):
                path.write_text(before, encoding="utf-8")
                path.write_text(after, encoding="utf-8")
                row[1].append(timed(command, payload, variant_env, root, row[2]))
    print(f"hook wall time, 30-line Edit on a 2,000-line file, {args.n} calls per variant")
    print(f"load average at the end: {' '.join(f'{x:.2f}' for x in os.getloadavg())}")
    print("cpu: the hook process and the ruff it starts (a warm worker's own work is not in it)")
    print(f"{'variant':<42} {'p50 ms':>8} {'p90 ms':>8} {'p50 - floor':>12} {'cpu p50 ms':>11}")
    floor_p50 = statistics.median(rows[0][1])
    for name, times, cpu in rows:
        p50 = statistics.median(times)
        p90 = statistics.quantiles(times, n=10)[-1]
        print(
            f"{name:<42} {p50:>8.1f} {p90:>8.1f} {p50 - floor_p50:>12.1f} "
            f"{statistics.median(cpu):>11.1f}"
        )


if __name__ == "__main__":
    main()
