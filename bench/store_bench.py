"""Benchmark the shared PostgreSQL store: batched push throughput and the team queries.

Fills a fresh database with N events (default 1,000,000) through the same statement the
sync uses, then times the team pattern-statistics query and prints its plan summary.
Also times the end-to-end sync (local SQLite → PostgreSQL) on a smaller set, and how
late the event loop runs a 10 ms timer while the sync waits on a frozen store (SIGSTOP),
beside the same timer with no sync running.

    eval "$(scripts/postgres.sh)"                            # the binaries: AILOOP_PG_BINDIR
    PYTHONPATH=server python bench/store_bench.py            # a private cluster of its own
    PYTHONPATH=server python bench/store_bench.py --events 200000 --batch 500
    PYTHONPATH=server python bench/store_bench.py --url postgresql://...   # an existing server

Without ``--url`` (or ``AILOOP_TEST_PG_URL``) the benchmark starts a private cluster with
the tests' own code (``tests/store/pg_cluster.py``): ``initdb`` in a new temporary
directory, listening on a UNIX socket in that directory only, stopped and removed at the
end. With a URL, its role must be allowed to create databases; the benchmark works in its
own database (``<dbname>_bench``), dropped and created again on every run, and skips the
frozen-store measurement (it cannot freeze a server it did not start).
"""

from __future__ import annotations

import argparse
import asyncio
import datetime as dt
import os
import random
import statistics
import sys
import tempfile
import time
import uuid
from pathlib import Path
from typing import Any

import psycopg
from psycopg.conninfo import conninfo_to_dict, make_conninfo

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests" / "store"))

from pg_cluster import TestCluster, find_bindir, private_cluster
from store_support import REPO, LoopLatency, StatusRecorder, local_db_with, make_events

from ailoop.store import shared
from ailoop.store.events import Event, Kind
from ailoop.store.local import DB_NAME, LocalStore
from ailoop.store.sync import SyncOptions, SyncTask, sync_once

RULES = [f"ruff:{code}" for code in ("F401", "E722", "BLE001", "S101", "B006", "SIM108")] + [
    f"ty:{name}" for name in ("unresolved-reference", "invalid-argument-type")
]
PATTERNS = [f"team-pattern-{i}" for i in range(20)]
KINDS = ["generated"] * 40 + ["accepted"] * 20 + ["kept"] * 15 + ["rejected"] * 15
KINDS += ["reverted"] * 5 + ["modified"] * 5
#: The repository the pushed events belong to (only assigned repositories are pushed).
BENCH_REPO = "https://example.com/team/shop.git"


#: The same numbers computed from every event, as a store without the rollup would.
FULL_SCAN_STATS_SQL = """
SELECT NULLIF(r.rule, ''), count(*) FILTER (WHERE kind = 'rejected'),
       count(*) FILTER (WHERE kind IN ('accepted', 'kept')),
       count(*) FILTER (WHERE kind = 'rejected' AND ts >= (now() AT TIME ZONE 'UTC')::date - 6),
       count(*) FILTER (WHERE kind IN ('accepted', 'kept')
                        AND ts >= (now() AT TIME ZONE 'UTC')::date - 6),
       count(*), max(ts)
FROM ailoop.events AS e
CROSS JOIN LATERAL (
    SELECT DISTINCT u.rule
    FROM unnest(e.findings || ailoop.pattern_key(e.pattern) || ''::text) AS u(rule)
    WHERE u.rule IS NOT NULL
) AS r
GROUP BY r.rule
"""

#: The pull's query: the rollup's rows per key and UTC day (added up on the client).
STATS_SQL = shared.TEAM_PATTERN_ROWS_SQL


def bench_url(url: str) -> tuple[str, str]:
    """Return (admin URL on the same server, URL of the benchmark database)."""
    params = conninfo_to_dict(url)
    name = f"{params.get('dbname') or 'ailoop'}_bench"
    return make_conninfo(url, dbname="postgres"), make_conninfo(url, dbname=name)


def recreate_database(admin_url: str, target_url: str) -> None:
    """Drop and create the benchmark database, then apply the schema."""
    name = str(conninfo_to_dict(target_url)["dbname"])
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}"'.encode())
        conn.execute(f'CREATE DATABASE "{name}"'.encode())
    shared.apply_migrations(target_url)


def generate_rows(count: int, rng: random.Random, now: dt.datetime) -> list[tuple[Any, ...]]:
    """Return ``count`` shared-store rows spread over the last 180 days."""
    rows = []
    for _ in range(count):
        kind = rng.choice(KINDS)
        ts = now - dt.timedelta(seconds=rng.randint(0, 180 * 86400))
        findings = rng.sample(RULES, rng.choice((0, 0, 1, 1, 2, 3)))
        pattern = rng.choice(PATTERNS) if kind == "rejected" and rng.random() < 0.4 else None
        rows.append(
            (
                str(uuid.UUID(int=rng.getrandbits(128), version=4)),
                ts,
                kind,
                f"sha256:{rng.getrandbits(256):064x}",
                rng.choice(("copilot", "cursor", "claude-code", "codex")),
                "heuristic",
                f"user{rng.randint(1, 40)}",
                f"github.com/team/repo{rng.randint(1, 8)}",
                f"src/module{rng.randint(1, 500)}.py",
                "python",
                rng.randint(1, 60),
                findings,
                "too broad" if kind == "rejected" else None,
                pattern,
            )
        )
    # the columns after ``pattern`` (text, similarity, review and later ones) stay NULL
    padding = (None,) * (len(shared.PUSH_COLUMNS) - shared.PUSH_COLUMNS.index("pattern") - 1)
    return [row + padding for row in rows]


async def fill(url: str, total: int, batch: int, seed: int) -> tuple[float, float]:
    """Push ``total`` generated events in batches; return (push seconds, wall seconds)."""
    rng = random.Random(seed)
    now = dt.datetime.now(dt.timezone.utc)
    conn = await shared.connect_async(url, shared.Timeouts(statement=600))
    pushed = 0
    push_seconds = 0.0
    wall = time.perf_counter()
    try:
        while pushed < total:
            rows = generate_rows(min(batch, total - pushed), rng, now)
            start = time.perf_counter()
            await shared.push_rows(conn, rows)
            push_seconds += time.perf_counter() - start
            pushed += len(rows)
            if sys.stderr.isatty():
                sys.stderr.write(f"\rpushed {pushed}/{total}")
        if sys.stderr.isatty():
            sys.stderr.write("\n")
    finally:
        await conn.close()
    return push_seconds, time.perf_counter() - wall


def time_query(url: str, sql: str, runs: int) -> list[float]:
    """Run ``sql`` ``runs`` times; return the durations in seconds."""
    durations = []
    with psycopg.connect(url, autocommit=True) as conn:
        for _ in range(runs):
            start = time.perf_counter()
            conn.execute(sql.encode()).fetchall()
            durations.append(time.perf_counter() - start)
    return durations


def plan_summary(url: str, sql: str) -> list[str]:
    """Return the EXPLAIN ANALYZE plan's node lines (no per-row detail) and its timings."""
    with psycopg.connect(url, autocommit=True) as conn:
        plan = conn.execute(f"EXPLAIN (ANALYZE, BUFFERS, FORMAT JSON) {sql}".encode()).fetchone()
    assert plan is not None
    root = plan[0][0]
    lines: list[str] = []

    def walk(node: dict[str, Any], depth: int) -> None:
        label = node["Node Type"]
        if "Relation Name" in node:
            label += f" on {node['Relation Name']}"
        if "Index Name" in node:
            label += f" using {node['Index Name']}"
        workers = f", {node['Workers Launched']} workers" if "Workers Launched" in node else ""
        lines.append(
            f"{'  ' * depth}{label}: {node['Actual Rows']} rows, "
            f"{node['Actual Total Time']:.0f} ms{workers}"
        )
        for child in node.get("Plans", ()):
            walk(child, depth + 1)

    walk(root["Plan"], 0)
    lines.append(
        f"planning {root['Planning Time']:.1f} ms, execution {root['Execution Time']:.0f} ms"
    )
    return lines


def table_sizes(url: str) -> list[tuple[str, str]]:
    """Return (relation, size) for the events table and each of its indexes."""
    with psycopg.connect(url) as conn:
        rows = conn.execute(
            "SELECT c.relname, pg_size_pretty(pg_relation_size(c.oid)) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = 'ailoop' "
            "AND c.relkind IN ('r', 'i') ORDER BY pg_relation_size(c.oid) DESC"
        ).fetchall()
    return [(str(name), str(size)) for name, size in rows]


def end_to_end(url: str, count: int, batch: int) -> tuple[float, int]:
    """Sync ``count`` events from a local SQLite store; return (seconds, events sent)."""
    with tempfile.TemporaryDirectory() as tmp:
        store = LocalStore.open(Path(tmp))
        rng = random.Random(7)
        events = [
            Event(
                kind=Kind(rng.choice(KINDS)),
                snippet=f"sha256:{rng.getrandbits(256):064x}",
                tool="copilot",
                user="alice",
                repo=BENCH_REPO,
                findings=tuple(rng.sample(RULES, 2)),
                text="x = 1\n",
            )
            for _ in range(count)
        ]
        store.append(events)
        store.close()
        start = time.perf_counter()
        report = sync_once(
            Path(tmp) / DB_NAME,
            url,
            SyncOptions(batch_size=batch),
            pull=False,
            repos=[BENCH_REPO],  # events go to the store their repository is assigned to
        )
        return time.perf_counter() - start, report.sent


#: The sync's options in the frozen-store measurement (tests/store/test_sync_faults.py's).
FAST_RETRY = SyncOptions(
    batch_size=50,
    connect_timeout=2.0,
    statement_timeout=1.0,
    interval=60.0,
    stats_interval=3600.0,
    backoff_initial=0.2,
    backoff_max=1.0,
)


async def frozen_store_latency(cluster: TestCluster, count: int) -> tuple[LoopLatency, ...]:
    """Time the event loop's 10 ms timer idle, then while the sync waits on a frozen store.

    Returns (idle, frozen). The sync pushes ``count`` events; once 1,000 are in, every
    server process is stopped (SIGSTOP) until the sync reports the store offline.
    """
    cluster.admin("CREATE DATABASE frozen")
    url = cluster.url("frozen")
    shared.apply_migrations(url)
    with tempfile.TemporaryDirectory() as tmp:
        local_db = local_db_with(Path(tmp), make_events(count, seed=21))
        idle = LoopLatency()  # the machine's own timer jitter, with no sync running
        await idle.measure_for(3.0)
        statuses = StatusRecorder()
        task = SyncTask(local_db, url, FAST_RETRY, statuses, repos=[REPO])
        frozen = LoopLatency()
        runner = asyncio.create_task(task.run())
        try:
            await statuses.wait_for(lambda s: s.progress is not None and s.progress[0] >= 1000, 60)
            pids = await asyncio.to_thread(cluster.freeze)
            frozen.start()
            try:
                await statuses.wait_for(lambda s: s.state == "offline", 60)
            finally:
                cluster.thaw(pids)
            await frozen.stop()
            await statuses.wait_for(lambda s: s.state == "idle" and s.pending == 0, 90)
        finally:
            await frozen.stop()
            await task.stop()
            await runner
    return idle, frozen


def print_latency(idle: LoopLatency, frozen: LoopLatency) -> None:
    """Print the event loop's timer delays, idle and with the store frozen."""
    print("\n## Event loop while the sync waits on a frozen store (10 ms timer's delay)\n")
    print("| event loop | ticks | p50 | p99 | worst |")
    print("|---|---|---|---|---|")
    for name, latency in (("idle, no sync (the machine's jitter)", idle), ("store frozen", frozen)):
        ordered = sorted(latency.delays) or [0.0]
        print(
            f"| {name} | {len(latency.delays)} | {statistics.median(ordered) * 1000:.1f} ms | "
            f"{latency.p99 * 1000:.1f} ms | {latency.worst * 1000:.1f} ms |"
        )
    within = frozen.p99 <= 2 * idle.p99 + 0.02
    print(
        f"\ntarget: p99 within 2× idle + 20 ms ({'met' if within else 'NOT met'}); "
        "the test (test_sync_faults.py) asserts a stall under 250 ms"
    )


def main() -> int:
    """Run the benchmark and print the tables."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--url", default=os.environ.get("AILOOP_TEST_PG_URL"))
    parser.add_argument("--events", type=int, default=1_000_000)
    parser.add_argument("--batch", type=int, default=1000)
    parser.add_argument("--runs", type=int, default=3)
    parser.add_argument("--e2e-events", type=int, default=50_000)
    parser.add_argument("--frozen-events", type=int, default=10_000)
    args = parser.parse_args()
    if args.url:
        return run(args, args.url, None)
    bindir = find_bindir()
    if bindir is None:
        print(
            "PostgreSQL's binaries not found: run scripts/postgres.sh (it installs them and "
            "prints AILOOP_PG_BINDIR), or pass --url of an existing server",
            file=sys.stderr,
        )
        return 2
    with private_cluster(bindir, tcp=False) as cluster:
        print(f"private cluster in {cluster.root} (PostgreSQL from {bindir})", file=sys.stderr)
        return run(args, cluster.url("ailoop"), cluster)


def run(args: argparse.Namespace, base_url: str, cluster: TestCluster | None) -> int:
    """Run the benchmark against ``base_url``'s server and print the tables."""
    admin_url, url = bench_url(base_url)
    recreate_database(admin_url, url)

    push_s, wall_s = asyncio.run(fill(url, args.events, args.batch, seed=1))
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE ailoop.events")
    e2e_s, e2e_n = end_to_end(url, args.e2e_events, 500)

    print(f"\n## Push ({args.events:,} events, batches of {args.batch})\n")
    print("| measure | value |")
    print("|---|---|")
    print(f"| insert statements only | {args.events / push_s:,.0f} events/s ({push_s:.1f} s) |")
    print(f"| with row generation | {args.events / wall_s:,.0f} events/s ({wall_s:.1f} s) |")
    print(
        f"| end to end, local SQLite → PostgreSQL ({e2e_n:,} events, batches of 500) | "
        f"{e2e_n / e2e_s:,.0f} events/s ({e2e_s:.1f} s) |"
    )

    queries = {
        "team pattern daily rows (the pull, from the rollup)": STATS_SQL,
        "pattern statistics by a full scan (no rollup)": FULL_SCAN_STATS_SQL,
        "acceptance per tool, last 30 days": (
            "SELECT tool, count(*) FILTER (WHERE kind IN ('accepted','kept')), "
            "count(*) FILTER (WHERE kind = 'rejected') FROM ailoop.events "
            "WHERE ts >= now() - interval '30 days' GROUP BY tool"
        ),
        "events of one rule (GIN)": (
            "SELECT count(*) FROM ailoop.events WHERE findings @> ARRAY['ruff:E722']"
        ),
    }
    print(f"\n## Queries at {args.events:,} events (median of {args.runs} runs)\n")
    print("| query | median | min | max |")
    print("|---|---|---|---|")
    for name, sql in queries.items():
        durations = time_query(url, sql, args.runs)
        print(
            f"| {name} | {statistics.median(durations) * 1000:,.0f} ms | "
            f"{min(durations) * 1000:,.0f} ms | {max(durations) * 1000:,.0f} ms |"
        )

    print("\n## Plan of the team pattern-statistics query\n")
    print("```")
    print("\n".join(plan_summary(url, STATS_SQL)))
    print("```")
    print("\n## Sizes\n")
    print("| relation | size |")
    print("|---|---|")
    for name, size in table_sizes(url):
        print(f"| {name} | {size} |")

    if cluster is None:
        print("\n(event loop with a frozen store: skipped, --url names a server not ours)")
    else:
        print_latency(*asyncio.run(frozen_store_latency(cluster, args.frozen_events)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
