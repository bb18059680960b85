"""Keystroke path: what ailoop's server does per single-character edit.

Replays 10,000 single-character edits (typing, newlines, backspaces, some inside AI
snippets) on a 5,000-line document with 20 live snippets, through ailoop's real
``didChange`` handler, and prints the per-edit time (p50, p99). Beside it, in the same
run and on the same edits: pygls's own ``TextDocument.apply_change`` (what any pygls
server pays per keystroke to keep the text) and cattrs structuring of the message (what
pygls pays before any handler runs). Then the same edits go to a real ``ailoop serve`` over
stdio, and its resident memory is read from /proc.

Run: python bench/keystroke_bench.py [--edits N]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import queue
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path

from lsprotocol import types
from pygls.protocol import default_converter
from pygls.workspace import TextDocument

from ailoop.capture.identity import snippet_id
from ailoop.lsp import create_server
from ailoop.lsp.documents import did_change, did_open

LINES = 5_000
SNIPPETS = 20
TARGET_P50_MS = 0.2


def make_document() -> tuple[str, list[tuple[int, str]]]:
    """A 5,000-line Python file and 20 snippets to insert at spread-out lines."""
    body = [f"value_{i} = compute({i}, factor=3)  # line {i}\n" for i in range(LINES)]
    snippets = [
        (i * (LINES // SNIPPETS) + 10, f"def helper_{i}(x):\n    y = x * {i}\n    return y + {i}\n")
        for i in range(SNIPPETS)
    ]
    return "".join(body), snippets


def make_edits(n: int, seed: int = 7) -> list[tuple[int, int, int, int, str]]:
    """Single-character edits at a cursor that wanders like a developer's."""
    rng = random.Random(seed)
    edits = []
    line, col = 100, 0
    for _ in range(n):
        if rng.random() < 0.02:
            line, col = rng.randrange(0, LINES), 0
        roll = rng.random()
        if roll < 0.05:
            edits.append((line, col, line, col, "\n"))
            line, col = line + 1, 0
        elif roll < 0.15 and col > 0:
            edits.append((line, col - 1, line, col, ""))
            col -= 1
        else:
            edits.append((line, col, line, col, rng.choice("abcdefghij _=()")))
            col += 1
    return edits


def change_params(
    uri: str, version: int, edit: tuple[int, int, int, int, str]
) -> types.DidChangeTextDocumentParams:
    sl, sc, el, ec, text = edit
    return types.DidChangeTextDocumentParams(
        text_document=types.VersionedTextDocumentIdentifier(uri=uri, version=version),
        content_changes=[
            types.TextDocumentContentChangePartial(
                range=types.Range(types.Position(sl, sc), types.Position(el, ec)), text=text
            )
        ],
    )


def raw_change(uri: str, version: int, edit: tuple[int, int, int, int, str]) -> dict:
    """The didChange notification an editor sends for one edit, as JSON."""
    sl, sc, el, ec, text = edit
    return {
        "jsonrpc": "2.0",
        "method": "textDocument/didChange",
        "params": {
            "textDocument": {"uri": uri, "version": version},
            "contentChanges": [
                {
                    "range": {
                        "start": {"line": sl, "character": sc},
                        "end": {"line": el, "character": ec},
                    },
                    "text": text,
                }
            ],
        },
    }


def percentiles(samples_ns: list[int]) -> tuple[float, float]:
    ordered = sorted(samples_ns)
    p50 = statistics.median(ordered) / 1e6
    p99 = ordered[int(len(ordered) * 0.99) - 1] / 1e6
    return p50, p99


async def time_ailoop(
    text: str, snippets: list[tuple[int, str]], edits: list
) -> tuple[list[int], int]:
    data = Path(tempfile.mkdtemp(prefix="ailoop-bench-"))
    server = create_server(data)
    from ailoop.lsp import lifecycle

    server.protocol.client_capabilities = types.ClientCapabilities()  # type: ignore[assignment]
    lifecycle.initialize(server, types.InitializeParams(capabilities=types.ClientCapabilities()))
    uri = "file:///bench/big.py"
    server.text_document_publish_diagnostics = lambda params: None  # type: ignore[method-assign]
    server.window_log_message = lambda params: None  # type: ignore[method-assign]
    did_open(
        server, types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "python", 1, text))
    )
    version = 1
    for line, code in reversed(snippets):
        version += 1
        did_change(server, change_params(uri, version, (line, 0, line, 0, code)))
    await asyncio.sleep(0)
    doc = server.session.documents[uri]
    assert len(doc.tracked.snippets) == SNIPPETS, len(doc.tracked.snippets)
    samples = []
    for edit in edits:
        version += 1
        params = change_params(uri, version, edit)
        start = time.perf_counter_ns()
        did_change(server, params)
        samples.append(time.perf_counter_ns() - start)
    live = len(doc.tracked.snippets)
    for task in list(server.tasks):
        await task
    await server.tear_down()
    return samples, live


def time_pygls(text: str, edits: list) -> list[int]:
    doc = TextDocument("file:///bench/big.py", text)
    samples = []
    for sl, sc, el, ec, new in edits:
        change = types.TextDocumentContentChangePartial(
            range=types.Range(types.Position(sl, sc), types.Position(el, ec)), text=new
        )
        start = time.perf_counter_ns()
        doc.apply_change(change)
        samples.append(time.perf_counter_ns() - start)
    return samples


def time_structuring(edits: list) -> list[int]:
    converter = default_converter()
    samples = []
    for version, edit in enumerate(edits, start=2):
        raw = raw_change("file:///bench/big.py", version, edit)
        start = time.perf_counter_ns()
        converter.structure(raw, types.DidChangeTextDocumentNotification)
        samples.append(time.perf_counter_ns() - start)
    return samples


def server_memory(text: str, snippets: list[tuple[int, str]], edits: list) -> tuple[int, float]:
    """Send everything to a real `ailoop serve`; return its RSS (kB) and wall time (s)."""
    data = tempfile.mkdtemp(prefix="ailoop-bench-")
    proc = subprocess.Popen(
        [sys.executable, "-m", "ailoop", "serve"],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        env={**os.environ, "AILOOP_DATA_DIR": data},
    )
    assert proc.stdin is not None
    assert proc.stdout is not None

    def send(message: dict) -> None:
        body = json.dumps(message).encode()
        proc.stdin.write(b"Content-Length: %d\r\n\r\n%s" % (len(body), body))  # type: ignore[union-attr]
        if "id" in message:
            proc.stdin.flush()  # type: ignore[union-attr]

    responses: queue.Queue[dict] = queue.Queue()

    def drain() -> None:  # the server's output must be read, or its pipe fills and it stalls
        while True:
            length = 0
            while header := proc.stdout.readline().strip():  # type: ignore[union-attr]
                if header.lower().startswith(b"content-length"):
                    length = int(header.split(b":")[1])
            if not length:
                return
            message = json.loads(proc.stdout.read(length))  # type: ignore[union-attr]
            if "id" in message and "method" not in message:
                responses.put(message)

    threading.Thread(target=drain, daemon=True).start()

    def read_response(msg_id: int) -> dict:
        while True:
            message = responses.get(timeout=120)
            if message.get("id") == msg_id:
                return message

    uri = "file:///bench/big.py"
    send(
        {
            "jsonrpc": "2.0",
            "id": 1,
            "method": "initialize",
            "params": {"processId": None, "rootUri": None, "capabilities": {}},
        }
    )
    read_response(1)
    send({"jsonrpc": "2.0", "method": "initialized", "params": {}})
    send(
        {
            "jsonrpc": "2.0",
            "method": "textDocument/didOpen",
            "params": {
                "textDocument": {"uri": uri, "languageId": "python", "version": 1, "text": text}
            },
        }
    )
    version = 1
    start = time.perf_counter()
    for line, code in reversed(snippets):
        version += 1
        send(raw_change(uri, version, (line, 0, line, 0, code)))
    for edit in edits:
        version += 1
        send(raw_change(uri, version, edit))
    send({"jsonrpc": "2.0", "id": 2, "method": "ailoop/settle", "params": {}})
    proc.stdin.flush()
    read_response(2)
    wall = time.perf_counter() - start
    status = Path(f"/proc/{proc.pid}/status").read_text()
    rss = int(next(line.split()[1] for line in status.splitlines() if line.startswith("VmRSS")))
    send({"jsonrpc": "2.0", "id": 3, "method": "shutdown", "params": None})
    proc.stdin.flush()
    read_response(3)
    send({"jsonrpc": "2.0", "method": "exit", "params": None})
    proc.stdin.close()
    proc.wait(timeout=30)
    return rss, wall


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--edits", type=int, default=10_000)
    args = parser.parse_args()
    text, snippets = make_document()
    edits = make_edits(args.edits)
    ailoop_ns, live = asyncio.run(time_ailoop(text, snippets, edits))
    pygls_ns = time_pygls(text + "".join(code for _, code in snippets), edits)
    cattrs_ns = time_structuring(edits)
    rss, wall = server_memory(text, snippets, edits)
    a50, a99 = percentiles(ailoop_ns)
    p50, p99 = percentiles(pygls_ns)
    c50, c99 = percentiles(cattrs_ns)
    print(
        f"Keystroke path: {len(edits):,} single-character edits, {LINES:,}-line document, "
        f"{SNIPPETS} snippets ({live} still live after the edits; the rest were edited away)\n"
    )
    print(f"{'per edit':<52} {'p50 ms':>8} {'p99 ms':>8}")
    print(f"{'ailoop didChange handling (detect + track)':<52} {a50:>8.4f} {a99:>8.4f}")
    print(f"{'pygls TextDocument.apply_change (reference)':<52} {p50:>8.4f} {p99:>8.4f}")
    print(f"{'pygls/cattrs structuring of the message (reference)':<52} {c50:>8.4f} {c99:>8.4f}")
    print(f"\nratio ailoop / pygls apply_change (p50): {a50 / p50:.2f}x")
    print(
        f"target: ailoop p50 under {TARGET_P50_MS} ms -> {'met' if a50 < TARGET_P50_MS else 'NOT met'}"
    )
    print(
        f"\nreal `ailoop serve` over stdio: {len(edits):,} edits handled in {wall:.2f} s "
        f"({wall / len(edits) * 1e3:.3f} ms each, message parsing included); resident memory {rss / 1024:.1f} MiB"
    )
    print(
        f"document size {len(text) / 1e6:.2f} MB; snippet id of the first snippet {snippet_id(snippets[0][1])[:19]}…"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
