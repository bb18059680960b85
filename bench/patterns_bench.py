"""Benchmarks for known rejection patterns: matching and statistics.

1. Matching 200 patterns (100 regex, 100 ast-grep) over a 200-line Python snippet, in
   two cases: a typical snippet (most patterns' literals absent, so the pre-filter skips
   them) and a worst case (every pattern's words present, so every matcher runs).
   Target: p50 under 5 ms for the typical case.
2. Pattern statistics over 1,000,000 local events (SQL aggregate over the SQLite store),
   and the pure-Python path over in-memory events for comparison. Target: under 1 s.

Usage: python bench/patterns_bench.py [--events N] [--runs N]
The 1M-event store is built once under ~/.cache/ailoop-bench/ and reused.
"""

from __future__ import annotations

import argparse
import dataclasses
import datetime as dt
import json
import os
import random
import statistics
import sys
import time
from collections.abc import Callable, Iterator
from pathlib import Path

from ailoop.patterns import PatternSet, PatternSettings, compute_pattern_stats
from ailoop.patterns.aggregate import SUMMARY_NAME, local_outcome_rows, local_pattern_stats
from ailoop.patterns.stats import recent_cutoff, stats_from_rows
from ailoop.store.events import Event, Kind, Source
from ailoop.store.local import LocalStore

CACHE = Path.home() / ".cache" / "ailoop-bench"

# realistic team patterns; the rest are generated variants of the same shapes
BASE_REGEX = [
    r"^\s*except\s*:",
    r"https?://[^\s\"']+",
    r"\bprint\(",
    r"#\s*TODO\b",
    r"(?i)password\s*=\s*[\"'][^\"']+[\"']",
    r"\btime\.sleep\(",
    r"\bimport \*",
    r"\bos\.system\(",
    r"\bsubprocess\.\w+\([^)]*shell\s*=\s*True",
    r"\bpickle\.loads?\(",
]
BASE_AST_GREP = [
    {"pattern": "eval($$$A)"},
    {"pattern": "exec($$$A)"},
    {"pattern": "assert $X"},
    {"pattern": "$X == None"},
    {"pattern": "open($F)"},
    {"pattern": "requests.get($$$A)"},
    {"pattern": "json.loads($S)"},
    {"kind": "global_statement"},
    {"kind": "lambda"},
    {"pattern": "len($X) == 0"},
]


def toml_string(value: str) -> str:
    return json.dumps(value)  # a JSON string is a valid TOML basic string


def patterns_toml() -> str:
    out = []
    for i in range(100):
        regex = BASE_REGEX[i] if i < len(BASE_REGEX) else rf"\blegacy_helper_{i}\s*\("
        out.append(f'[[pattern]]\nid = "re-{i}"\nregex = {toml_string(regex)}\n')
    for i in range(100):
        if i < len(BASE_AST_GREP):
            rule = BASE_AST_GREP[i]
        elif i % 10 == 0:
            rule = {"kind": "global_statement", "has": {"pattern": f"state_{i}"}}
        else:
            rule = {"pattern": f"$OBJ.deprecated_call_{i}($$$ARGS)"}
        body = ", ".join(
            f"{k} = {toml_string(v)}"
            if isinstance(v, str)
            else f"{k} = {{ pattern = {toml_string(v['pattern'])} }}"
            for k, v in rule.items()
        )
        out.append(f'[[pattern]]\nid = "ag-{i}"\nlanguages = ["python"]\nrule = {{ {body} }}\n')
    return "\n".join(out)


def snippet(lines: int, worst: bool) -> str:
    body: list[str] = []
    i = 0
    while len(body) < lines:
        body += [
            f"def handler_{i}(request, store):",
            f'    """Handle request {i}."""',
            f"    value = store.fetch(request.key_{i})",
            "    if value is None:",
            f"        return {{'status': 404, 'id': {i}}}",
            "    try:",
            f"        result = transform(value, factor={i})",
            "    except ValueError as exc:",
            "        raise RuntimeError(str(exc)) from exc",
            "    return result",
            "",
        ]
        if worst:
            body += [
                f"    legacy_helper_{i % 100}(value)",
                f"    value.deprecated_call_{i % 100}(1)",
                f"    global state_{i % 100}",
            ]
        i += 1
    return "\n".join(body[:lines]) + "\n"


Samples = tuple[list[float], list[float]]  # wall-clock ms, CPU ms of this thread


def timed(fn: Callable[[], object], runs: int, warm_up: bool = True) -> Samples:
    if warm_up:
        fn()  # e.g. the first parse loads the grammar
    wall, cpu = [], []
    for _ in range(runs):
        start, start_cpu = time.perf_counter(), time.thread_time()
        fn()
        cpu.append((time.thread_time() - start_cpu) * 1000)
        wall.append((time.perf_counter() - start) * 1000)
    return wall, cpu


def row(name: str, samples: Samples, extra: str = "") -> str:
    wall, cpu = sorted(samples[0]), samples[1]
    p50 = statistics.median(wall)
    p95 = wall[max(int(len(wall) * 0.95) - 1, 0)] if len(wall) >= 20 else wall[-1]
    cpu50 = statistics.median(cpu)
    return f"{name:<62} {p50:>9.2f} {p95:>9.2f} {cpu50:>9.2f} {len(wall):>6}  {extra}"


def synthetic_events(n: int, now: dt.datetime, seed: int = 7) -> Iterator[Event]:
    rng = random.Random(seed)
    rules = [f"ruff:R{i:03d}" for i in range(40)] + [f"pattern:p{i}" for i in range(20)]
    reasons = [f"reason number {i}" for i in range(150)]
    tools = ["copilot", "cursor", "claude-code", "codex"]
    kinds = (
        [Kind.GENERATED] * 4
        + [Kind.ACCEPTED] * 2
        + [Kind.KEPT, Kind.REJECTED] * 1
        + [Kind.REVERTED]
    )
    for n_ in range(n):
        kind = rng.choice(kinds)
        findings = tuple(sorted(set(rng.sample(rules, rng.choice((0, 0, 1, 1, 2, 3))))))
        rejected = kind is Kind.REJECTED
        ts = now - dt.timedelta(seconds=rng.randrange(90 * 86400))
        yield Event(
            kind=kind,
            snippet=f"sha256:{n_:064x}",
            tool=rng.choice(tools),
            source=Source.HEURISTIC,
            user=f"user{rng.randrange(12)}",
            repo="bench",
            path=f"src/m{rng.randrange(300)}.py",
            language="python",
            lines=rng.randrange(2, 60),
            findings=findings,
            reason=rng.choice(reasons) if rejected and rng.random() < 0.4 else None,
            pattern=rng.choice(rules) if rejected and rng.random() < 0.2 else None,
            id=f"{n_:032x}",
            ts=ts.isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        )


def build_store(n: int, now: dt.datetime) -> Path:
    data_dir = CACHE / f"events-{n}"
    store = LocalStore.open(data_dir)
    try:
        have = store.count()
        if have < n:
            print(f"building a store of {n} events in {data_dir} (once) ...", file=sys.stderr)
            batch: list[Event] = []
            for event in synthetic_events(n, now):
                batch.append(event)
                if len(batch) == 50_000:
                    store.append(batch)
                    batch = []
            store.append(batch)
    finally:
        store.close()
    return data_dir


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--python-events", type=int, default=200_000)
    parser.add_argument("--runs", type=int, default=200)
    args = parser.parse_args()

    patterns, problems = PatternSet.from_toml(patterns_toml(), "bench patterns")
    assert not problems, problems
    assert len(patterns) == 200

    print(f"{'case':<62} {'p50 ms':>9} {'p95 ms':>9} {'cpu p50':>9} {'runs':>6}  notes")
    print("-" * 120)
    print("(wall-clock ms; cpu = CPU time of the benchmark thread, which excludes time spent")
    print(" waiting for a core on a busy machine; p95 is the maximum below 20 runs)")
    for worst in (False, True):
        text = snippet(200, worst)
        found = len(patterns.match(text, "python"))
        label = "worst case: every matcher runs" if worst else "typical snippet"
        samples = timed(lambda text=text: patterns.match(text, "python"), args.runs)
        print(row(f"match 200 patterns, 200 lines ({label})", samples, f"{found} matches"))

    now = dt.datetime(2026, 11, 22, tzinfo=dt.timezone.utc)
    settings = PatternSettings()
    data_dir = build_store(args.events, now)
    summary = data_dir / SUMMARY_NAME

    def cold() -> object:
        for suffix in ("", "-wal", "-shm"):
            Path(f"{summary}{suffix}").unlink(missing_ok=True)
        return local_pattern_stats(settings, now, data_dir)

    cold_samples = timed(cold, 2, warm_up=False)
    n_patterns = len(local_pattern_stats(settings, now, data_dir))
    warm = timed(lambda: local_pattern_stats(settings, now, data_dir), 20)
    print(row(f"stats over {args.events:,} local events, summary warm", warm,
              f"{n_patterns} patterns"))  # fmt: skip
    extra = list(synthetic_events(1_000, now, seed=11))
    extra = [dataclasses.replace(e, id=f"extra-{e.id}-{time.time_ns()}") for e in extra]
    store = LocalStore.open(data_dir)
    try:
        store.append(extra)
    finally:
        store.close()
    after_new = timed(lambda: local_pattern_stats(settings, now, data_dir), 1, warm_up=False)
    print(row("  same, after 1,000 new events (first call adds them)", after_new))
    print(row(f"  same, summary built from scratch (cold, {args.events:,} events)", cold_samples))
    fallback = timed(
        lambda: stats_from_rows(
            local_outcome_rows(data_dir / "events.db", recent_cutoff(now, settings)), settings
        ),
        2,
        warm_up=False,
    )
    print(row("  same, one aggregate query without the summary", fallback))
    events = list(synthetic_events(args.python_events, now))
    py = timed(lambda: compute_pattern_stats(events, settings, now), 5)
    per_million = statistics.median(py[0]) * 1_000_000 / args.python_events
    print(row(f"stats over {args.python_events:,} in-memory events (Python)", py,
              f"~{per_million:.0f} ms per 1M"))  # fmt: skip
    print(f"\nload average while running: {os.getloadavg()[0]:.2f} on {os.cpu_count()} CPUs")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
