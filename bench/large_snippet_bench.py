"""Agent-sized snippets: requests while editing inside them, whole-file rewrites, huge files.

What an agent does to a file and what the editor asks meanwhile, against a real
``ailoop serve`` over stdio (with its engines, as a user runs it):

1. A function of 10, 100, 300 and 1,000 lines of real code (the Python standard library's,
   not repeated lines) is inserted into a 2,000-line file; then 200 single-character edits
   inside it, each followed by ``codeAction`` and ``codeLens`` at the cursor, as VS Code
   sends them. ailoop advertises no hover, so none is sent. p50/p99 of each request per
   snippet size, and the time from the insertion to its marker.
2. A 5,000-line file rewritten by an agent: 20 functions added in 20 places, sent as one
   whole-document replacement (what an editor sends when it reloads the file): the time
   to the 20 new markers, and how long a request sent right behind it waits.
3. A 100 MB document opened and replaced: how long a request sent right behind each waits.

Targets: p99 at 1,000 lines within 2x of p99 at 10 lines, no request over
50 ms; markers of the rewrite within 50 ms; nothing waits over 100 ms behind a 100 MB
document. Run: python bench/large_snippet_bench.py [--edits N]
"""

from __future__ import annotations

import argparse
import asyncio
import os
import random
import sys
import sysconfig
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from feedback.lsp_timing import editor_answer

from ailoop.feedback.jsonrpc import JsonRpcConnection

SIZES = (10, 100, 300, 1_000)
FILE_LINES = 2_000
REWRITE_LINES = 5_000
REWRITE_HUNKS = 20
HUGE_BYTES = 100_000_000
TIMEOUT = 120.0


def library_lines() -> list[str]:
    """Real Python code: the standard library's largest modules, line by line."""
    stdlib = Path(sysconfig.get_paths()["stdlib"])
    lines: list[str] = []
    for name in ("typing.py", "argparse.py", "inspect.py", "difflib.py", "tarfile.py"):
        lines += (stdlib / name).read_text(encoding="utf-8").splitlines(keepends=True)
    return lines


def function_of(lines: list[str], size: int, start: int) -> str:
    """``size`` lines of real code, as one function body (indented, so it parses)."""
    body = [("    " + line) if line.strip() else "\n" for line in lines[start : start + size - 1]]
    return f"def generated_{size}_{start}(self):\n" + "".join(body)


class Editor:
    """A minimal editor on one ``ailoop serve``: it opens, edits and asks, and keeps time."""

    def __init__(self, root: Path, data: Path) -> None:
        self.root = root
        self.data = data
        self.published: dict[str, list[dict[str, Any]]] = {}
        self.changed = asyncio.Event()
        self.versions: dict[str, int] = {}
        self.process: asyncio.subprocess.Process | None = None
        self.rpc: JsonRpcConnection | None = None

    async def start(self) -> None:
        self.process = await asyncio.create_subprocess_exec(
            sys.executable, "-m", "ailoop", "serve",
            stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL, cwd=str(self.root),
            env={**os.environ, "AILOOP_DATA_DIR": str(self.data)},
        )  # fmt: skip
        assert self.process.stdout is not None
        assert self.process.stdin is not None
        self.rpc = JsonRpcConnection(
            self.process.stdout, self.process.stdin, self._notified, self._asked
        )
        self.rpc.start()
        await self.rpc.request(
            "initialize",
            {
                "processId": os.getpid(),
                "rootUri": self.root.as_uri(),
                "workspaceFolders": [{"uri": self.root.as_uri(), "name": self.root.name}],
                "capabilities": {
                    "textDocument": {
                        "publishDiagnostics": {"versionSupport": True},
                        "codeAction": {
                            "codeActionLiteralSupport": {
                                "codeActionKind": {"valueSet": ["quickfix", "source"]}
                            }
                        },
                    },
                    "workspace": {"configuration": True, "codeLens": {"refreshSupport": True}},
                },
            },
            timeout=TIMEOUT,
        )
        self.rpc.notify("initialized", {})

    async def stop(self) -> None:
        assert self.rpc is not None
        assert self.process is not None
        await self.rpc.request("shutdown", None, timeout=TIMEOUT)
        self.rpc.notify("exit")
        await asyncio.wait_for(self.process.wait(), 30)
        self.rpc.close()

    def open(self, uri: str, text: str) -> None:
        assert self.rpc is not None
        self.versions[uri] = 1
        self.rpc.notify(
            "textDocument/didOpen",
            {"textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}},
        )

    def change(self, uri: str, text: str, at: tuple[int, int] | None = None) -> None:
        assert self.rpc is not None
        self.versions[uri] += 1
        change: dict[str, Any] = {"text": text}
        if at is not None:
            point = {"line": at[0], "character": at[1]}
            change["range"] = {"start": point, "end": point}
        self.rpc.notify(
            "textDocument/didChange",
            {
                "textDocument": {"uri": uri, "version": self.versions[uri]},
                "contentChanges": [change],
            },
        )

    async def timed(self, method: str, params: Any) -> float:
        """Send a request; return its round trip in milliseconds."""
        assert self.rpc is not None
        started = time.perf_counter()
        await self.rpc.request(method, params, timeout=TIMEOUT)
        return (time.perf_counter() - started) * 1e3

    async def ask_at(self, uri: str, line: int) -> tuple[float, float]:
        """codeAction at a cursor and codeLens, as VS Code sends them after an edit."""
        point = {"line": line, "character": 0}
        action = self.timed(
            "textDocument/codeAction",
            {
                "textDocument": {"uri": uri},
                "range": {"start": point, "end": point},
                "context": {"diagnostics": [], "triggerKind": 2},
            },
        )
        lens = self.timed("textDocument/codeLens", {"textDocument": {"uri": uri}})
        action_ms, lens_ms = await asyncio.gather(action, lens)
        return action_ms, lens_ms

    async def until(self, uri: str, probe: Callable[[list[dict[str, Any]]], bool]) -> float:
        """Wait until the document's published diagnostics satisfy ``probe``; return when."""

        async def wait() -> float:
            while not probe(self.published.get(uri, [])):
                self.changed.clear()
                await self.changed.wait()
            return time.perf_counter()

        return await asyncio.wait_for(wait(), TIMEOUT)

    async def settle(self) -> None:
        assert self.rpc is not None
        await self.rpc.request("ailoop/settle", {}, timeout=TIMEOUT)

    def _notified(self, method: str, params: Any) -> None:
        if method == "textDocument/publishDiagnostics" and isinstance(params, dict):
            self.published[str(params["uri"])] = list(params.get("diagnostics", []))
            self.changed.set()

    async def _asked(self, method: str, params: Any) -> Any:
        return editor_answer(method, params)


def markers(diagnostics: list[dict[str, Any]]) -> int:
    return sum(1 for d in diagnostics if d.get("code") == "ai-snippet")


def p(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(fraction * (len(ordered) - 1)))]


async def edit_inside(root: Path, lines: list[str], edits: int) -> dict[int, dict[str, Any]]:
    """Part 1: per snippet size, the requests' latency while editing inside the snippet."""
    results: dict[int, dict[str, Any]] = {}
    base = "".join(lines[5_000 : 5_000 + FILE_LINES])
    rng = random.Random(13)
    for size in SIZES:
        editor = Editor(root, Path(tempfile.mkdtemp(prefix="ailoop-bench-")))
        await editor.start()
        uri = (root / f"module_{size}.py").as_uri()
        editor.open(uri, base)
        await editor.settle()
        snippet = function_of(lines, size, 1_000 + size)
        at = FILE_LINES // 2
        sent = time.perf_counter()
        editor.change(uri, snippet, (at, 0))
        marked = await editor.until(uri, lambda d: markers(d) == 1)
        await editor.settle()
        actions, lenses = [], []
        for _ in range(edits):
            line = at + 1 + rng.randrange(size - 1)
            editor.change(uri, "x", (line, 4))
            action_ms, lens_ms = await editor.ask_at(uri, line)
            actions.append(action_ms)
            lenses.append(lens_ms)
            await asyncio.sleep(0.03)  # typing speed: about 30 characters a second
        await editor.stop()
        results[size] = {
            "marker_ms": (marked - sent) * 1e3,
            "action": (p(actions, 0.5), p(actions, 0.99), max(actions)),
            "lens": (p(lenses, 0.5), p(lenses, 0.99), max(lenses)),
        }
    return results


async def rewrite(root: Path, lines: list[str]) -> tuple[float, float, int]:
    """Part 2: a 5,000-line file rewritten with 20 new functions, as one replacement."""
    editor = Editor(root, Path(tempfile.mkdtemp(prefix="ailoop-bench-")))
    await editor.start()
    uri = (root / "rewritten.py").as_uri()
    old = lines[:REWRITE_LINES]
    editor.open(uri, "".join(old))
    await editor.settle()
    new: list[str] = []
    step = REWRITE_LINES // REWRITE_HUNKS
    for hunk in range(REWRITE_HUNKS):
        new += old[hunk * step : (hunk + 1) * step]
        new.append("\n" + function_of(lines, 12, 9_000 + hunk * 40) + "\n")
    sent = time.perf_counter()
    editor.change(uri, "".join(new))
    behind = await editor.timed("textDocument/codeLens", {"textDocument": {"uri": uri}})
    marked = await editor.until(uri, lambda d: markers(d) >= REWRITE_HUNKS)
    found = markers(editor.published[uri])
    await editor.stop()
    return (marked - sent) * 1e3, behind, found


async def huge(root: Path) -> tuple[float, float]:
    """Part 3: a 100 MB document opened, then replaced; a request sent right behind each."""
    editor = Editor(root, Path(tempfile.mkdtemp(prefix="ailoop-bench-")))
    await editor.start()
    small = (root / "small.py").as_uri()
    editor.open(small, "x = 1\n")
    await editor.settle()
    text = "value = compute(1, 2, 3)  # a long generated data file\n" * (HUGE_BYTES // 55)
    uri = (root / "huge.py").as_uri()
    editor.open(uri, text)
    after_open = await editor.timed("textDocument/codeLens", {"textDocument": {"uri": small}})
    editor.change(uri, text.replace("compute(1", "compute(2", 1))
    after_change = await editor.timed("textDocument/codeLens", {"textDocument": {"uri": small}})
    await editor.stop()
    return after_open, after_change


async def pipe_floor() -> float:
    """The same 100 MB written by this process into a pipe to ``cat`` that discards it (ms)."""
    cat = await asyncio.create_subprocess_exec(
        "cat", stdin=asyncio.subprocess.PIPE, stdout=asyncio.subprocess.DEVNULL
    )
    assert cat.stdin is not None
    data = b"x" * HUGE_BYTES
    started = time.perf_counter()
    cat.stdin.write(data)
    await cat.stdin.drain()
    cat.stdin.close()
    await cat.wait()
    return (time.perf_counter() - started) * 1e3


async def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--edits", type=int, default=200)
    args = parser.parse_args()
    lines = library_lines()
    root = Path(tempfile.mkdtemp(prefix="ailoop-bench-workspace-"))
    (root / "pyproject.toml").write_text("[project]\nname = 'bench'\nversion = '0'\n")

    inside = await edit_inside(root, lines, args.edits)
    print(
        f"Editing inside an AI snippet: {args.edits} single-character edits in a "
        f"{FILE_LINES:,}-line file, each followed by codeAction + codeLens (ms)\n"
    )
    print(
        f"{'snippet lines':>13} {'to marker':>10} {'action p50':>11} {'action p99':>11} "
        f"{'lens p50':>9} {'lens p99':>9} {'max':>7}"
    )
    for size, row in inside.items():
        a50, a99, amax = row["action"]
        l50, l99, lmax = row["lens"]
        print(
            f"{size:>13,} {row['marker_ms']:>10.1f} {a50:>11.2f} {a99:>11.2f} "
            f"{l50:>9.2f} {l99:>9.2f} {max(amax, lmax):>7.1f}"
        )
    small, large = inside[SIZES[0]], inside[SIZES[-1]]
    ratio = max(large["action"][1], large["lens"][1]) / max(small["action"][1], small["lens"][1])
    worst = max(max(r["action"][2], r["lens"][2]) for r in inside.values())
    print(
        f"\np99 at {SIZES[-1]:,} lines / p99 at {SIZES[0]} lines: {ratio:.2f}x (target within "
        f"2x: {'met' if ratio <= 2 else 'NOT met'}); slowest request {worst:.1f} ms (target "
        f"under 50 ms: {'met' if worst < 50 else 'NOT met'})"
    )

    to_markers, behind, found = await rewrite(root, lines)
    print(
        f"\nAgent rewrite of a {REWRITE_LINES:,}-line file ({REWRITE_HUNKS} new functions, one "
        f"whole-document replacement): {found} markers after {to_markers:.1f} ms (target under "
        f"50 ms: {'met' if to_markers < 50 else 'NOT met'}); a request right behind it waited "
        f"{behind:.1f} ms"
    )

    after_open, after_change = await huge(root)
    floor = await pipe_floor()
    worst_huge = max(after_open, after_change)
    print(
        f"\n{HUGE_BYTES // 1_000_000} MB document: a request right behind its didOpen waited "
        f"{after_open:.1f} ms, behind its whole-document change {after_change:.1f} ms (target "
        f"under 100 ms: {'met' if worst_huge < 100 else 'NOT met'}); reference: the same "
        f"bytes written into a pipe to `cat` take {floor:.1f} ms"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(asyncio.run(main()))
