"""Benchmark ``ailoop report`` over 1,000,000 events: time and file size (targets 5 s, 2 MB).

Fills a fresh local SQLite store (through the store API, in batches) with a mix of
generated, modified, outcome and review events over the last 20 weeks, then builds the
report as the command does (the statistics, the chart data, the Vega-Lite charts rendered
to SVG, the page), twice: the first run also builds the pattern summary the statistics
keep next to the store, the second is what every later report costs.

With a PostgreSQL URL (``--url`` or ``AILOOP_TEST_PG_URL``, as ``bench/store_bench.py``),
the same for the team: the events are pushed into its own database (``<dbname>_bench``,
dropped and created again) through the sync's statement, and the report is built with
``--team``.

    PYTHONPATH=server python bench/report_bench.py
    PYTHONPATH=server python bench/report_bench.py --events 200000
    PYTHONPATH=server python bench/report_bench.py --url postgresql://...
    eval "$(scripts/postgres.sh)" && PYTHONPATH=server python bench/report_bench.py --pg

``--pg`` starts a private cluster with the tests' own code (``tests/store/pg_cluster.py``),
as ``bench/store_bench.py`` does without a URL.
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import hashlib
import os
import random
import sys
import tempfile
import time
from pathlib import Path

from ailoop.analytics.numbers import collect
from ailoop.report.data import chart_data
from ailoop.report.page import render_html
from ailoop.store.events import Event, Kind, Source
from ailoop.store.local import DB_NAME, LocalStore

TOOLS = ("copilot", "claude-code", "cursor", "codex", "unknown")
LANGUAGES = ("python", "typescript", "go", "rust")
USERS = tuple(f"dev{i}@example.com" for i in range(25))
RULES = ("ruff:E722", "ruff:BLE001", "ruff:F401", "ty:unresolved-reference", "pattern:bare-except")
OUTCOMES = (Kind.ACCEPTED, Kind.KEPT, Kind.REJECTED, Kind.REVERTED)
#: The model each tool says wrote its snippets (the others say none).
MODELS = {"claude-code": "anthropic/claude-sonnet-4-5", "codex": "openai/gpt-5-codex"}


def _ts(moment: dt.datetime) -> str:
    return moment.isoformat(timespec="milliseconds").replace("+00:00", "Z")


def events_of(count: int, seed: int, now: dt.datetime) -> list[Event]:
    """Return ``count`` events: per snippet, generated, sometimes modified, an outcome, reviews."""
    rng = random.Random(seed)
    out: list[Event] = []
    n = 0
    while len(out) < count:
        n += 1
        at = now - dt.timedelta(seconds=rng.randrange(140 * 86400))
        findings = tuple(r for r in RULES if rng.random() < 0.12)
        tool = TOOLS[rng.randrange(len(TOOLS))]
        common = {
            "snippet": "sha256:" + hashlib.sha256(f"{seed}:{n}".encode()).hexdigest(),
            "tool": tool,
            "model": MODELS.get(tool),
            "user": USERS[rng.randrange(len(USERS))],
            "repo": "github.com/acme/shop",
            "path": f"src/m{n % 50}.py",
            "language": LANGUAGES[rng.randrange(len(LANGUAGES))],
            "lines": rng.randint(2, 40),
            "findings": findings,
        }
        out.append(Event(kind=Kind.GENERATED, source=Source.CLIENT, ts=_ts(at), **common))
        if rng.random() < 0.3:
            out.append(Event(kind=Kind.MODIFIED, similarity=0.7, ts=_ts(at), **common))
        rejected = 0.7 if "ruff:E722" in findings else 0.25
        roll = rng.random()
        kind = Kind.REJECTED if roll < rejected else OUTCOMES[rng.randrange(4)]
        out.append(Event(kind=kind, ts=_ts(at + dt.timedelta(minutes=3)), **common))
        if kind in (Kind.ACCEPTED, Kind.KEPT) and rng.random() < 0.4:
            outcome = ("approved", "commented", "changes_requested")[rng.randrange(3)]
            for result in (outcome, "merged"):
                out.append(
                    Event(
                        kind=Kind.REVIEWED,
                        source=Source.REVIEW,
                        outcome=result,
                        reviewer="rev",
                        pr=f"https://github.com/acme/shop/pull/{n // 10}",
                        ts=_ts(min(at + dt.timedelta(hours=6), now)),
                        **common,
                    )
                )
    return out[:count]


def fill_local(data_dir: Path, total: int, batch: int = 50_000) -> float:
    """Write ``total`` events into a local store; return the seconds it took."""
    now = dt.datetime.now(dt.timezone.utc)
    start = time.perf_counter()
    store = LocalStore(data_dir / DB_NAME)
    try:
        written = 0
        seed = 0
        while written < total:
            events = events_of(min(batch, total - written), seed, now)
            store.append(events)
            written += len(events)
            seed += 1
            if sys.stderr.isatty():
                sys.stderr.write(f"\rwrote {written:,}/{total:,}")
    finally:
        store.close()
    if sys.stderr.isatty():
        sys.stderr.write("\n")
    return time.perf_counter() - start


def build(root: Path, data_dir: Path | None, team: bool) -> tuple[float, int, int]:
    """Build the report as ``ailoop report`` does; return (seconds, bytes, events)."""
    start = time.perf_counter()
    numbers, _ = collect(root, data_dir=data_dir, team=team)
    page = render_html(chart_data(numbers))
    return time.perf_counter() - start, len(page.encode("utf-8")), numbers.stages.events


def report_rows(label: str, root: Path, data_dir: Path | None, team: bool) -> None:
    for run in ("first", "second"):
        seconds, size, events = build(root, data_dir, team)
        verdict = "ok" if seconds < 5 and size < 2_000_000 else "OVER TARGET"
        print(
            f"| {label}, {run} run | {events:,} | {seconds:.2f} s | {size / 1e6:.2f} MB | "
            f"{verdict} |"
        )


def team_fill(url: str, total: int) -> str:
    """Push ``total`` events into a fresh bench database; return its URL."""
    sys.path.insert(0, str(Path(__file__).resolve().parent))
    from store_bench import bench_url, fill, recreate_database

    admin_url, bench = bench_url(url)
    recreate_database(admin_url, bench)
    push_s, _ = asyncio.run(fill(bench, total, 1000, seed=1))
    print(f"pushed {total:,} events to the team store in {push_s:.0f} s", file=sys.stderr)
    return bench


def main() -> int:
    """Fill the stores, build the reports, print the table."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--url", default=os.environ.get("AILOOP_TEST_PG_URL"))
    parser.add_argument("--pg", action="store_true", help="team too, on a private cluster")
    args = parser.parse_args()
    if args.pg and not args.url:
        sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "store"))
        from pg_cluster import find_bindir, private_cluster

        bindir = find_bindir()
        if bindir is None:
            print("PostgreSQL's binaries not found: run scripts/postgres.sh", file=sys.stderr)
            return 2
        with private_cluster(bindir, tcp=False) as cluster:
            args.url = cluster.url("ailoop")
            return bench(args)
    return bench(args)


def bench(args: argparse.Namespace) -> int:
    """Run the benchmark with the parsed arguments."""
    with tempfile.TemporaryDirectory(prefix="ailoop-report-bench-") as tmp:
        root = Path(tmp)
        data_dir = root / "data"
        data_dir.mkdir()
        fill_s = fill_local(data_dir, args.events)
        print(f"wrote {args.events:,} events to the local store in {fill_s:.0f} s", file=sys.stderr)
        print(f"\n## ailoop report ({args.events:,} events; targets: under 5 s, under 2 MB)\n")
        print("| store | events | time | file size | |")
        print("|---|---|---|---|---|")
        report_rows("local (SQLite)", root, data_dir, team=False)
        if args.url:
            os.environ["AILOOP_STORE_URL"] = team_fill(args.url, args.events)
            os.environ["AILOOP_CONFIG_DIR"] = str(root / "config")
            report_rows("team (PostgreSQL)", root, None, team=True)
        else:
            print("\n(team: no PostgreSQL URL given; pass --url or set AILOOP_TEST_PG_URL)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
