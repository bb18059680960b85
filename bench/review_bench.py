"""Benchmark review ingest: a backfill of N pull requests × M review comments.

Generates a git repository of C commits with ``git fast-import`` (one commit in ten adds
an AI snippet: a pull request), records each snippet's ``generated`` event with its text
(so its lines are indexed), writes the review-comment deliveries (GitHub's shapes, on real
SHAs and lines; most on the snippet's lines, some on human lines) and each pull request's
merge, then times:

- ingest through the real CLI (``ailoop review ingest DIR``: read, match, record, in
  batches), with its peak memory;
- matching alone (blob reads, normalizing, hashing, index lookups; nothing recorded);
- the reference in the same run: ``git cat-file --batch`` reading the same blobs alone,
  and the first deliveries ingested with one commit each beside the same in batches.

    PYTHONPATH=server python bench/review_bench.py                    # 1,000 × 20, 10,000 commits
    PYTHONPATH=server python bench/review_bench.py --prs 200 --commits 2000
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from ailoop.capture.identity import snippet_id
from ailoop.cli import main
from ailoop.review.batch import BatchingStore
from ailoop.review.git import Git
from ailoop.review.ingest import Ingester
from ailoop.review.payloads import Comment, load
from ailoop.store.events import Event, Kind, Source
from ailoop.store.local import DB_NAME, LocalStore
from tests.review.support import closed, review_comment

ORIGIN = "https://github.com/acme/shop.git"
FILES = 200
HUMAN_LINES = 40
SNIPPET_LINES = 12


def snippet(p: int) -> str:
    """An AI snippet of distinctive lines (one per pull request)."""
    return "".join(
        [f"def handle_{p}(request_{p}, retries_{p}=3):\n"]
        + [f"    value_{p}_{i} = request_{p}.get('field_{i}', {p * 31 + i})\n" for i in range(SNIPPET_LINES - 2)]
        + [f"    return value_{p}_0\n"]
    )  # fmt: skip


def make_repo(root: Path, commits: int, prs: int) -> list[dict[str, Any]]:
    """Write the repository with fast-import; return each pull request's facts."""
    root.mkdir(parents=True)
    env = {**os.environ, "GIT_CONFIG_GLOBAL": os.devnull, "GIT_CONFIG_NOSYSTEM": "1"}
    subprocess.run(["git", "init", "-q", "-b", "main", str(root)], check=True, env=env)
    subprocess.run(["git", "-C", str(root), "remote", "add", "origin", ORIGIN], check=True, env=env)
    files = {
        f"pkg/mod_{f}.py": [f"def human_{f}_{i}(x):  # line {i}\n" for i in range(HUMAN_LINES)]
        for f in range(FILES)
    }
    every = max(commits // prs, 1)
    stream = io.BytesIO()
    facts: list[dict[str, Any]] = []
    when = 1_767_225_600  # 2026-01-01
    for k in range(1, commits + 1):
        stream.write(b"commit refs/heads/main\n")
        stream.write(f"mark :{k}\n".encode())
        stream.write(f"committer Ana <ana@example.com> {when + k * 60} +0000\n".encode())
        message = f"change {k}\n".encode()
        stream.write(b"data %d\n%s" % (len(message), message))
        if k > 1:
            stream.write(f"from :{k - 1}\n".encode())
        if k == 1:
            changed = list(files)
        elif k % every == 0 and len(facts) < prs:
            p = len(facts) + 1
            path = f"pkg/mod_{p % FILES}.py"
            first = len(files[path]) + 2
            text = snippet(p)
            files[path] += ["\n", *text.splitlines(keepends=True)]
            facts.append({"pr": p, "mark": k, "path": path, "first": first, "text": text})
            changed = [path]
        else:
            path = f"pkg/mod_{k % FILES}.py"
            files[path].append(f"def filler_{k}(x):\n")
            changed = [path]
        for path in changed:
            data = "".join(files[path]).encode()
            stream.write(f"M 100644 inline {path}\n".encode())
            stream.write(b"data %d\n%s\n" % (len(data), data))
    marks = root / "marks"
    subprocess.run(
        ["git", "-C", str(root), "fast-import", "--quiet", f"--export-marks={marks}"],
        input=stream.getvalue(), check=True, env=env,
    )  # fmt: skip
    sha = dict(line.split() for line in marks.read_text().splitlines())
    for fact in facts:
        fact["head"] = sha[f":{fact['mark']}"]
        fact["base"] = sha[f":{fact['mark'] - 1}"]
    return facts


def deliveries(out: Path, facts: list[dict[str, Any]], per_pr: int) -> int:
    """Write each PR's review comments and its merge as delivery files; return how many."""
    out.mkdir()
    n = 0
    for fact in facts:
        p, head, base = fact["pr"], fact["head"], fact["base"]
        for c in range(per_pr):
            human = c % 5 == 4  # one comment in five on a human line
            line = 1 + c % HUMAN_LINES if human else fact["first"] + 1 + c % (SNIPPET_LINES - 1)
            payload = review_comment(p, p * 100 + c, head, base, fact["path"], line,
                                     "please use a named constant", review_id=p)  # fmt: skip
            n += 1
            (out / f"{n:07}.json").write_text(json.dumps(payload))
        n += 1
        (out / f"{n:07}.json").write_text(json.dumps(closed(p, head, base, head)))
    return n


def record_snippets(data_dir: Path, facts: list[dict[str, Any]]) -> None:
    store = LocalStore.open(data_dir)
    try:
        store.append([
            Event(kind=Kind.GENERATED, snippet=snippet_id(f["text"]), tool="copilot",
                  source=Source.CLIENT, user="ana", repo=ORIGIN, path=f["path"],
                  language="python", lines=SNIPPET_LINES, text=f["text"])
            for f in facts
        ])  # fmt: skip
    finally:
        store.close()


def peak_mb() -> float:
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def main_bench() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--prs", type=int, default=1000)
    parser.add_argument("--comments", type=int, default=20)
    parser.add_argument("--commits", type=int, default=10_000)
    parser.add_argument("--unbatched", type=int, default=1000, help="deliveries of the reference")
    args = parser.parse_args()
    work = Path(tempfile.mkdtemp(prefix="ailoop-review-bench-"))
    os.environ["AILOOP_CONFIG_DIR"] = str(work / "config")
    try:
        started = time.perf_counter()
        facts = make_repo(work / "repo", args.commits, args.prs)
        built = time.perf_counter() - started
        print(f"repository: {args.commits} commits, {len(facts)} pull requests, {FILES} files: "
              f"generated with git fast-import in {built:.2f} s")  # fmt: skip
        data = work / "data"
        record_snippets(data, facts)
        shutil.copytree(data, work / "data-unbatched")
        count = deliveries(work / "d", facts, args.comments)
        comments = len(facts) * args.comments
        print(f"deliveries: {comments} review comments + {len(facts)} merges = {count}")

        # reference: git cat-file --batch reading the same blobs, alone
        wanted = "".join(f"{f['head']}:{f['path']}\n" for f in facts for _ in range(args.comments))
        wanted += "".join(f"{f['head']}:{f['path']}\n{f['base']}:{f['path']}\n" for f in facts)
        started = time.perf_counter()
        subprocess.run(["git", "-C", str(work / "repo"), "cat-file", "--batch"],
                       input=wanted.encode(), stdout=subprocess.DEVNULL, check=True)  # fmt: skip
        cat_file = time.perf_counter() - started

        # matching alone: blobs, hashes, index lookups; nothing recorded
        store = LocalStore.open(data)
        git = Git(work / "repo")
        try:
            ingester = Ingester(store, git, ORIGIN)
            items = []
            for path in sorted((work / "d").iterdir()):
                delivery = load(path.read_bytes())
                if isinstance(delivery.item, Comment):
                    items.append((delivery, delivery.item))
            started = time.perf_counter()
            hits = 0
            for delivery, item in items:
                events, _, _ = ingester._comment(delivery, item)
                hits += sum(1 for e in events if e.snippet)
            matching = time.perf_counter() - started
        finally:
            git.close()
            store.close()
        expected = sum(1 for c in range(args.comments) if c % 5 != 4) * len(facts)
        assert hits == expected, (hits, expected)

        # ingest through the real CLI, in batches
        before = peak_mb()
        started = time.perf_counter()
        with contextlib.redirect_stdout(io.StringIO()):
            code = main(["review", "ingest", str(work / "d"), "--root", str(work / "repo"),
                         "--data-dir", str(data)])  # fmt: skip
        ingest = time.perf_counter() - started
        assert code == 0, code
        store = LocalStore.open(data)
        try:
            events = store.review_events()
        finally:
            store.close()
        matched = sum(1 for e in events if e.snippet)

        # reference: the first deliveries ingested with one commit each, and in batches
        loaded = [load(p.read_bytes()) for p in sorted((work / "d").iterdir())[: args.unbatched]]
        timings = {}
        for name, batched in (("one commit each", False), ("in batches", True)):
            copy = work / f"data-{name.replace(' ', '-')}"
            shutil.copytree(work / "data-unbatched", copy)
            store = BatchingStore.open(copy)
            git = Git(work / "repo")
            try:
                ingester = Ingester(store, git, ORIGIN)
                started = time.perf_counter()
                with store.batches() if batched else contextlib.nullcontext() as batch:
                    for delivery in loaded:
                        ingester.ingest(delivery)
                        if batch is not None:
                            batch.due()
                timings[name] = time.perf_counter() - started
            finally:
                git.close()
                store.close()
        size = (data / DB_NAME).stat().st_size / 2**20

        per = ingest / count * 1000
        print(f"ingest (CLI, batched):   {ingest:7.2f} s   {per:.3f} ms a delivery, "
              f"{len(events)} events ({matched} on a snippet), peak RSS {peak_mb():.0f} MB "
              f"(before: {before:.0f} MB), store {size:.1f} MB")  # fmt: skip
        print(f"matching alone:          {matching:7.2f} s   {matching / len(items) * 1000:.3f} ms "
              f"a comment ({hits} matched)")  # fmt: skip
        print(f"reference: git cat-file --batch, the same {wanted.count(chr(10))} blob reads: "
              f"{cat_file:.2f} s")  # fmt: skip
        each, batched = timings["one commit each"], timings["in batches"]
        print(f"reference: {len(loaded)} deliveries (read before), one commit each: {each:.2f} s "
              f"({each / len(loaded) * 1000:.3f} ms a delivery); in batches: {batched:.2f} s "
              f"({batched / len(loaded) * 1000:.3f} ms)")  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    main_bench()
