"""Timing edit-time feedback: any LSP server over stdio, or an in-process EngineHub.

A *subject* is something that can be started, given one snippet insertion per round, and
asked how long each kind of finding took. Subjects are run round by round, interleaved, so
that load on a shared machine affects them alike.

- :class:`LspServerSubject` drives any language server command with one minimal client
  (push diagnostics only, UTF-16 positions). It times ``didChange`` -> the first
  ``publishDiagnostics`` whose diagnostics satisfy a probe (a predicate per label, e.g.
  "contains ruff's F821 in the snippet"). It also measures spawn -> ``initialize`` result
  and the resident memory of the server's process tree.
- :class:`HubSubject` drives :class:`ailoop.feedback.EngineHub` directly: ``change`` ->
  ``on_findings`` per engine.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import statistics
import time
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Protocol

from ailoop.feedback import EngineHub, FeedbackSettings, Finding
from ailoop.feedback.jsonrpc import JsonRpcConnection, MethodNotFound

#: A predicate over one ``publishDiagnostics`` list (decoded JSON diagnostics).
DiagnosticsProbe = Callable[[list[dict[str, Any]]], bool]


@dataclass(frozen=True)
class Workload:
    """A document and the snippet inserted into it, every round at the same place."""

    uri: str
    base_text: str
    inserted_text: str
    #: A name that appears in the snippet's findings' messages and nowhere else.
    marker: str
    #: The inserted text alone, and the line it is inserted at (for incremental changes).
    snippet: str = ""
    line: int = 0
    #: The document's LSP language id.
    language: str = "python"


#: Server-to-client requests a plain editor answers with ``null``.
_NULL_ANSWERS = frozenset(
    {
        "client/registerCapability",
        "window/workDoneProgress/create",
        "workspace/codeLens/refresh",
        "window/showMessageRequest",  # no choice made
    }
)


def editor_answer(method: str, params: Any) -> Any:
    """Answer a server's request as an editor with no settings of its own would."""
    if method == "workspace/configuration":
        return [None for _ in (params or {}).get("items", [])]
    if method in _NULL_ANSWERS:
        return None
    raise MethodNotFound(method)


def all_of(probes: Iterable[DiagnosticsProbe]) -> DiagnosticsProbe:
    """A probe that passes when every one of ``probes`` does."""
    chosen = list(probes)
    return lambda diagnostics: all(probe(diagnostics) for probe in chosen)


def percentile(samples: Sequence[float], fraction: float) -> float:
    """Return the ``fraction`` percentile of ``samples`` (nearest rank)."""
    ordered = sorted(samples)
    index = min(len(ordered) - 1, max(0, round(fraction * (len(ordered) - 1))))
    return ordered[index]


def summarize(samples: Sequence[float]) -> tuple[float, float]:
    """Return (p50, p90) in the samples' unit."""
    return statistics.median(samples), percentile(samples, 0.9)


def process_tree_rss_kib(pid: int) -> int:
    """Sum ``VmRSS`` over ``pid`` and its descendants (Linux ``/proc``); 0 elsewhere."""
    proc = Path("/proc")
    if not proc.is_dir():
        return 0
    children: dict[int, list[int]] = {}
    for entry in proc.iterdir():
        if not entry.name.isdigit():
            continue
        with contextlib.suppress(OSError, ValueError, IndexError):
            stat = (entry / "stat").read_text()
            parent = int(stat.rsplit(")", 1)[1].split()[1])
            children.setdefault(parent, []).append(int(entry.name))
    total, stack = 0, [pid]
    while stack:
        current = stack.pop()
        stack.extend(children.get(current, []))
        with contextlib.suppress(OSError):
            for line in (proc / str(current) / "status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
    return total


class Subject(Protocol):
    """Something whose feedback latency is measured."""

    name: str

    async def start(self, workload: Workload) -> float:
        """Start and open the document; return the seconds until the subject was ready."""
        ...

    async def round(self, workload: Workload) -> dict[str, float]:
        """Insert the snippet, time each label's findings, remove it; return seconds by label."""
        ...

    def rss_kib(self) -> int:
        """Resident memory of the subject's processes."""
        ...

    async def stop(self) -> None:
        """Stop the subject."""
        ...


class LspServerSubject:
    """Any language server started with ``argv``, driven by a minimal client.

    The client takes pushed diagnostics; with ``pull`` it also declares pull diagnostics
    and asks ``textDocument/diagnostic`` after each change, as VS Code does with a server
    that offers them (TypeScript 7's ``tsgo --lsp`` only answers pulls).
    """

    def __init__(
        self,
        name: str,
        argv: Sequence[str],
        root: Path,
        probes: Mapping[str, DiagnosticsProbe],
        initialization_options: Mapping[str, Any] | None = None,
        timeout: float = 30.0,
        env: Mapping[str, str] | None = None,
        vary: Callable[[str, int], str] | None = None,
        settle: str | None = None,
        incremental: bool = True,
        pull: bool = False,
        configuration: Any = None,
    ) -> None:
        self.name = name
        self.pull = pull
        #: The answer to every item of ``workspace/configuration`` (ESLint's server asks).
        self.configuration = configuration
        #: Send each insertion and removal as a ranged change, as editors do; else the
        #: whole new text.
        self.incremental = incremental
        #: Makes each round's inserted text unique, for a server that would otherwise take a
        #: re-insertion of text it just saw deleted for an undo (ailoop does).
        self.vary = vary
        #: A request that returns once the server is idle (its engines included), sent after
        #: each round so that every round starts from an idle server, as the engines alone do.
        self.settle = settle
        self._rounds = 0
        self.argv = list(argv)
        self.root = root
        self.probes = dict(probes)
        self.initialization_options = dict(initialization_options or {})
        self.timeout = timeout
        self.env = dict(env) if env is not None else None
        self._process: asyncio.subprocess.Process | None = None
        self._connection: JsonRpcConnection | None = None
        self._published: list[tuple[float, str, list[dict[str, Any]]]] = []
        self._arrived = asyncio.Event()
        self._version = 0

    async def start(self, workload: Workload) -> float:
        """Spawn the server, run ``initialize``; open the document and wait until it settles."""
        started = time.perf_counter()
        self._process = await asyncio.create_subprocess_exec(
            *self.argv,
            stdin=asyncio.subprocess.PIPE,
            stdout=asyncio.subprocess.PIPE,
            stderr=asyncio.subprocess.DEVNULL,
            cwd=str(self.root),
            env={**os.environ, **self.env} if self.env is not None else None,
        )
        assert self._process.stdout is not None
        assert self._process.stdin is not None
        self._connection = JsonRpcConnection(
            self._process.stdout, self._process.stdin, self._on_notification, self._on_request
        )
        self._connection.start()
        result = await self._connection.request(
            "initialize",
            {
                "processId": os.getpid(),
                "rootUri": self.root.as_uri(),
                "workspaceFolders": [{"uri": self.root.as_uri(), "name": self.root.name}],
                "capabilities": {
                    "general": {"positionEncodings": ["utf-16"]},
                    "textDocument": {
                        "publishDiagnostics": {"versionSupport": True},
                        **({"diagnostic": {"dynamicRegistration": False}} if self.pull else {}),
                    },
                    "workspace": {"configuration": True},
                },
                "initializationOptions": self.initialization_options,
            },
            timeout=self.timeout,
        )
        ready = time.perf_counter() - started
        capabilities = result.get("capabilities", {}) if isinstance(result, dict) else {}
        sync = capabilities.get("textDocumentSync")
        if isinstance(sync, dict):
            sync = sync.get("change")
        if sync != 2:  # the server takes whole texts only (oxlint, ESLint's server)
            self.incremental = False
        self._connection.notify("initialized", {})
        self._version = 1
        self._connection.notify(
            "textDocument/didOpen",
            {
                "textDocument": {
                    "uri": workload.uri,
                    "languageId": workload.language,
                    "version": self._version,
                    "text": workload.base_text,
                }
            },
        )
        return ready

    async def round(self, workload: Workload) -> dict[str, float]:
        """Insert, time every probe, then remove the snippet and wait until it is gone."""
        assert self._connection is not None
        mark = len(self._published)
        self._version += 1
        self._rounds += 1
        insertion = self._insertion(workload)
        sent = time.perf_counter()
        self._change(workload.uri, insertion)
        if self.pull:
            await self._pull_until(workload.uri, all_of(self.probes.values()))
        times = {}
        for label, probe in self.probes.items():
            arrived, _ = await self._wait(workload.uri, mark, probe)
            times[label] = arrived - sent
        mark = len(self._published)
        self._version += 1
        self._change(workload.uri, self._removal(workload))
        if self.pull:
            await self._pull_until(workload.uri, lambda _: True)
        await self._wait(
            workload.uri,
            mark,
            lambda diagnostics: (
                not any(workload.marker in str(item.get("message", "")) for item in diagnostics)
            ),
        )
        if self.settle is not None:
            await self._connection.request(self.settle, {}, timeout=self.timeout)
        return times

    def rss_kib(self) -> int:
        """Resident memory of the server and its children."""
        return process_tree_rss_kib(self._process.pid) if self._process is not None else 0

    async def stop(self) -> None:
        """Shut the server down (kill it if it does not exit)."""
        if self._process is None or self._connection is None:
            return
        with contextlib.suppress(Exception):
            await self._connection.request("shutdown", None, timeout=2)
            self._connection.notify("exit")
        try:
            await asyncio.wait_for(self._process.wait(), 2)
        except asyncio.TimeoutError:
            self._process.kill()
            await self._process.wait()
        self._connection.close()

    def _insertion(self, workload: Workload) -> dict[str, Any]:
        """The content change that inserts this round's snippet."""
        if not self.incremental:
            text = workload.inserted_text
            return {"text": self.vary(text, self._rounds) if self.vary else text}
        text = self.vary(workload.snippet, self._rounds) if self.vary else workload.snippet
        at = {"line": workload.line, "character": 0}
        return {"range": {"start": at, "end": at}, "text": text}

    def _removal(self, workload: Workload) -> dict[str, Any]:
        """The content change that takes the snippet out again."""
        if not self.incremental:
            return {"text": workload.base_text}
        end = {"line": workload.line + workload.snippet.count("\n"), "character": 0}
        start = {"line": workload.line, "character": 0}
        return {"range": {"start": start, "end": end}, "text": ""}

    async def _pull_until(self, uri: str, probe: DiagnosticsProbe) -> None:
        """Ask for the document's diagnostics until an answer passes ``probe``.

        Each answer is recorded as if it had been pushed, at the time it arrived.
        """
        assert self._connection is not None
        while True:
            report = await self._connection.request(
                "textDocument/diagnostic", {"textDocument": {"uri": uri}}, timeout=self.timeout
            )
            items = list(report.get("items", [])) if isinstance(report, dict) else []
            self._published.append((time.perf_counter(), uri, items))
            self._arrived.set()
            if probe(items):
                return

    def _change(self, uri: str, change: dict[str, Any]) -> None:
        assert self._connection is not None
        self._connection.notify(
            "textDocument/didChange",
            {"textDocument": {"uri": uri, "version": self._version}, "contentChanges": [change]},
        )

    async def _wait(
        self, uri: str, start: int, probe: DiagnosticsProbe
    ) -> tuple[float, list[dict[str, Any]]]:
        async def wait() -> tuple[float, list[dict[str, Any]]]:
            index = start
            while True:
                while index < len(self._published):
                    arrived, published_uri, diagnostics = self._published[index]
                    index += 1
                    if published_uri == uri and probe(diagnostics):
                        return arrived, diagnostics
                self._arrived.clear()
                await self._arrived.wait()

        return await asyncio.wait_for(wait(), self.timeout)

    def _on_notification(self, method: str, params: Any) -> None:
        if method == "textDocument/publishDiagnostics" and isinstance(params, dict):
            self._published.append(
                (time.perf_counter(), str(params.get("uri")), list(params.get("diagnostics", [])))
            )
            self._arrived.set()

    async def _on_request(self, method: str, params: Any) -> Any:
        if method == "workspace/configuration" and self.configuration is not None:
            return [self.configuration for _ in (params or {}).get("items", [])]
        return editor_answer(method, params)


@dataclass
class HubSubject:
    """ailoop's EngineHub in this process: ``change`` -> ``on_findings`` per engine."""

    root: Path
    settings: FeedbackSettings
    #: Which findings count, per engine label (``"ruff"``, ``"ty"``).
    probes: Mapping[str, Callable[[list[Finding]], bool]]
    name: str = "ailoop EngineHub"
    timeout: float = 30.0
    _hub: EngineHub | None = None
    _reports: list[tuple[float, int, str, list[Finding]]] = field(default_factory=list)
    _arrived: asyncio.Event = field(default_factory=asyncio.Event)
    _problems: list[str] = field(default_factory=list)
    _version: int = 0
    #: Pass the ranged changes with the new text, as the language server does.
    incremental: bool = True
    #: Resident memory per engine (its process tree), as of the last :meth:`rss_kib`.
    engine_rss_kib: dict[str, int] = field(default_factory=dict)

    async def start(self, workload: Workload) -> float:
        """Start the hub and open the document; ready means every engine reported it."""
        started = time.perf_counter()
        self._hub = EngineHub(self.root, self.settings, self._on_findings, self._problems.append)
        await self._hub.start()
        self._version = 1
        self._hub.open(workload.uri, workload.language, self._version, workload.base_text)
        for engine in self.probes:
            await self._wait(0, None, engine)
        return time.perf_counter() - started

    async def round(self, workload: Workload) -> dict[str, float]:
        """Insert (an immediate check, as for an AI insertion), time each engine, remove."""
        assert self._hub is not None
        mark = len(self._reports)
        self._version += 1
        inserted = self._version
        sent = time.perf_counter()
        at = (workload.line, 0)
        self._hub.change(
            workload.uri,
            inserted,
            workload.inserted_text,
            immediate=True,
            changes=[((at, at), workload.snippet)] if self.incremental else None,
        )
        times = {}
        for engine, probe in self.probes.items():
            arrived = await self._wait(mark, inserted, engine, probe)
            times[engine] = arrived - sent
        mark = len(self._reports)
        self._version += 1
        removed = self._version
        end = (workload.line + workload.snippet.count("\n"), 0)
        self._hub.change(
            workload.uri,
            removed,
            workload.base_text,
            immediate=True,
            changes=[((at, end), "")] if self.incremental else None,
        )
        for engine in self.probes:
            await self._wait(mark, removed, engine)
        return times

    def rss_kib(self) -> int:
        """Resident memory of the engines' child processes (not of this Python process)."""
        self.engine_rss_kib = {}
        if self._hub is not None:
            for name, engine in self._hub.engines.items():
                pid = getattr(engine, "pid", None)
                if isinstance(pid, int):
                    self.engine_rss_kib[name] = process_tree_rss_kib(pid)
        return sum(self.engine_rss_kib.values())

    async def stop(self) -> None:
        """Stop the hub and its engines."""
        if self._hub is not None:
            await self._hub.stop()

    @property
    def problems(self) -> list[str]:
        """Messages the hub reported (an engine missing or failing)."""
        return self._problems

    def _on_findings(self, uri: str, version: int, engine: str, findings: list[Finding]) -> None:
        self._reports.append((time.perf_counter(), version, engine, findings))
        self._arrived.set()

    async def _wait(
        self,
        start: int,
        version: int | None,
        engine: str,
        probe: Callable[[list[Finding]], bool] | None = None,
    ) -> float:
        """Wait for a report of ``engine`` (at ``version``) whose findings pass ``probe``."""

        async def wait() -> float:
            index = start
            while True:
                while index < len(self._reports):
                    arrived, reported, name, findings = self._reports[index]
                    index += 1
                    if (
                        name == engine
                        and version in (None, reported)
                        and (probe is None or probe(findings))
                    ):
                        return arrived
                self._arrived.clear()
                await self._arrived.wait()

        return await asyncio.wait_for(wait(), self.timeout)


@dataclass
class Measurement:
    """What one subject produced over all rounds."""

    name: str
    ready_s: float
    rss_kib: int
    samples: dict[str, list[float]]


async def run_interleaved(
    subjects: Sequence[Subject], workload: Workload, rounds: int, warmup: int = 3
) -> list[Measurement]:
    """Start every subject, then run ``rounds`` insertions on each in turn (after a warm-up).

    Subjects start one after the other (so each start-up is measured unloaded) and stay
    running; each round visits every subject once.
    """
    measurements = []
    for subject in subjects:
        ready = await subject.start(workload)
        measurements.append(Measurement(subject.name, ready, 0, {}))
    try:
        for index in range(warmup + rounds):
            for subject, measurement in zip(subjects, measurements, strict=True):
                times = await subject.round(workload)
                if index >= warmup:
                    for label, seconds in times.items():
                        measurement.samples.setdefault(label, []).append(seconds)
        for subject, measurement in zip(subjects, measurements, strict=True):
            measurement.rss_kib = subject.rss_kib()
    finally:
        for subject in subjects:
            await subject.stop()
    return measurements


async def measure_startup(
    name: str,
    argv: Sequence[str],
    root: Path,
    workload: Workload,
    runs: int,
    env: Mapping[str, str] | None = None,
) -> Measurement:
    """Spawn ``argv`` ``runs`` times; samples are spawn -> ``initialize`` result.

    The memory is the process tree's resident size after the last start (and its
    ``didOpen`` of the workload's document).
    """
    samples: list[float] = []
    rss = 0
    for index in range(runs):
        subject = LspServerSubject(name, argv, root, {}, env=env)
        try:
            samples.append(await subject.start(workload))
            if index == runs - 1:
                rss = subject.rss_kib()
        finally:
            await subject.stop()
    return Measurement(name, statistics.median(samples), rss, {"ready": samples})
