"""The engines of one workspace: documents in, findings out, failures contained.

:class:`EngineHub` is what the LSP layer calls. It keeps the open documents, forwards them
to the engines that hold buffers, checks each document after edits (the first edit after
a quiet period at once, later ones debounced), reports findings only for the document
version they were computed from, and keeps every engine independent: an engine that is
missing, crashes or hangs gives one message per failure and is restarted with exponential
backoff while the others go on. A language server that asks to be asked again
(``workspace/diagnostic/refresh``, as a type checker does once its project has loaded)
gets the open documents checked again.

Every method is non-blocking for the caller; all work runs as tasks on the event loop.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Awaitable, Callable, Coroutine, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal, TypeVar

from ailoop.feedback.command import CommandEngine
from ailoop.feedback.engine import (
    CheckOutdated,
    Document,
    Engine,
    EngineError,
    EngineHung,
    TextSource,
    failed_check,
)
from ailoop.feedback.findings import Finding
from ailoop.feedback.language_servers import (
    make_language_server_engine,
    make_ruff_engine,
    make_ty_engine,
)
from ailoop.feedback.presets import preset_engines
from ailoop.feedback.settings import FeedbackSettings
from ailoop.positions import ENCODINGS, TextChange

#: Called with ``(uri, version, engine, findings)``: every finding of that engine for the
#: whole document at that version (an empty list clears the engine's earlier findings).
FindingsCallback = Callable[[str, int, str, list[Finding]], None]
#: Called with one clear, user-facing message per engine failure.
ProblemCallback = Callable[[str], None]

_T = TypeVar("_T")

#: The longest a higher-priority check waits for the lower ones (a hung lint engine must
#: not hold up the type checker). An engine whose checks typically take longer than this
#: (Biome on a large file) is not waited for at all.
_PRIORITY_WAIT_CAP = 0.1
#: Weight of the newest check in an engine's typical check time.
_TYPICAL_WEIGHT = 0.3

EngineState = Literal["starting", "ready", "waiting", "stopped"]


def build_engines(
    settings: FeedbackSettings, root: Path | None, position_encoding: str = "utf-16"
) -> list[Engine]:
    """Return the engines ``settings`` turn on, in reporting order."""
    engines: list[Engine] = []
    if settings.ruff:
        engines.append(make_ruff_engine(settings, root, position_encoding))
    if settings.ty:
        engines.append(make_ty_engine(settings, root, position_encoding))
    configured = {spec.name for spec in settings.language_servers}
    configured |= {command.name for command in settings.commands}
    engines.extend(preset_engines(settings, root, position_encoding, taken=configured))
    engines.extend(
        make_language_server_engine(spec, settings, root, position_encoding)
        for spec in settings.language_servers
    )
    engines.extend(CommandEngine(command, root, position_encoding) for command in settings.commands)
    return engines


def backoff_delay(failures: int, first_ms: int, max_ms: int) -> float:
    """Seconds to wait before the next attempt after ``failures`` failures in a row (>= 1)."""
    return float(min(first_ms * 2 ** max(failures - 1, 0), max_ms)) / 1000


def _format_delay(seconds: float) -> str:
    return f"{seconds * 1000:.0f} ms" if seconds < 1 else f"{seconds:g} s"


@dataclass
class _EngineSlot:
    """An engine and its lifecycle state inside the hub."""

    engine: Engine
    state: EngineState = "stopped"
    #: Failures in a row; reset by a successful check.
    failures: int = 0
    #: Whether the current run of failures was already reported.
    reported: bool = False
    #: Increases with every (re)start, so events from an old process are ignored.
    generation: int = 0
    running: dict[str, asyncio.Task[None]] = field(default_factory=dict)
    rerun: set[str] = field(default_factory=set)
    #: Documents whose running check answers for what the engine knew before it asked to
    #: be asked again (``workspace/diagnostic/refresh``): checked once more after it.
    stale: set[str] = field(default_factory=set)
    #: Seconds a check typically takes (a moving average), once one has answered.
    typical: float | None = None

    def quick(self) -> bool:
        """Whether this engine's checks are worth waiting for before starting the next."""
        return self.typical is None or self.typical <= _PRIORITY_WAIT_CAP


class EngineHub:
    """Owns the feedback engines of one workspace (see the module docstring)."""

    def __init__(
        self,
        root: Path | None,
        settings: FeedbackSettings,
        on_findings: FindingsCallback,
        on_problem: ProblemCallback,
        engines: list[Engine] | None = None,
        position_encoding: str = "utf-16",
    ) -> None:
        """Prepare the hub; nothing runs until :meth:`start`.

        ``position_encoding`` is the one negotiated with the editor (``utf-16``, ``utf-8``
        or ``utf-32``): findings' columns are given in it. ``engines`` replaces the engines
        built from ``settings`` (for embedding other engines); by default ruff, ty, the
        presets the workspace has (:mod:`ailoop.feedback.presets`) and the configured
        language servers and command engines are used.
        """
        if position_encoding not in ENCODINGS:
            raise ValueError(f"unknown position encoding {position_encoding!r}")
        self._position_encoding = position_encoding
        self.root = root
        self.settings = settings
        self._on_findings = on_findings
        self._on_problem = on_problem
        self._slots = [
            _EngineSlot(engine)
            for engine in (
                engines if engines is not None else build_engines(settings, root, position_encoding)
            )
        ]
        self._documents: dict[str, Document] = {}
        self._latest: dict[str, dict[str, tuple[int, list[Finding]]]] = {}
        self._debounce: dict[str, asyncio.TimerHandle] = {}
        self._last_change: dict[str, float] = {}
        self._tasks: set[asyncio.Task[Any]] = set()
        #: Checks waiting for the higher-priority engines of the same edit (see _check_later).
        self._later: set[asyncio.Task[Any]] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._stopping = False

    @property
    def engines(self) -> dict[str, Engine]:
        """The hub's engines by name."""
        return {slot.engine.name: slot.engine for slot in self._slots}

    def engine_state(self, name: str) -> EngineState:
        """Return the lifecycle state of the engine ``name`` (KeyError if there is none)."""
        for slot in self._slots:
            if slot.engine.name == name:
                return slot.state
        raise KeyError(name)

    def engine_failures(self, name: str) -> int:
        """Return how many times in a row the engine ``name`` failed (0 once it works)."""
        for slot in self._slots:
            if slot.engine.name == name:
                return slot.failures
        raise KeyError(name)

    def latest_findings(self, uri: str) -> dict[str, tuple[int, list[Finding]]]:
        """Return the last findings reported for ``uri``: ``{engine: (version, findings)}``.

        Only results for the version that was current when they arrived are kept; an
        engine whose findings are older than the document's version has not caught up
        with the latest edit yet.
        """
        return dict(self._latest.get(uri, {}))

    async def reconfigure(self, settings: FeedbackSettings) -> None:
        """Replace the settings: restart the engines with them and re-check open documents."""
        await self.stop()
        self.settings = settings
        self._slots = [
            _EngineSlot(engine)
            for engine in build_engines(settings, self.root, self._position_encoding)
        ]
        self._latest.clear()
        await self.start()

    async def start(self) -> None:
        """Start every engine in the background and return at once."""
        self._loop = asyncio.get_running_loop()
        self._stopping = False
        for slot in self._slots:
            if slot.state == "stopped":
                self._launch(slot)

    def open(self, uri: str, language_id: str, version: int, text: TextSource) -> None:
        """Track an opened document: send it to its engines and check it now."""
        if uri in self._documents:
            self.close(uri)  # opened again (e.g. with another language id): start afresh
        document = Document(uri, language_id, version, text)
        self._documents[uri] = document
        for slot in self._ready_slots(document):
            self._guard(slot, slot.engine.open, document)
        self._schedule(uri, immediate=True)

    def change(
        self,
        uri: str,
        version: int,
        text: TextSource,
        immediate: bool = False,
        changes: Sequence[TextChange] | None = None,
    ) -> None:
        """Take a document's new text: forward it and check it.

        ``changes``, when given, are the editor's changes from the previous version (ranges
        in the hub's position encoding): engines that hold the document forward them
        instead of the whole text. The check runs at once when the document was quiet for
        the debounce time before this edit, or when ``immediate`` is true (e.g. the edit
        inserted an AI snippet); otherwise it waits until edits pause for the debounce time.
        """
        previous = self._documents.get(uri)
        if previous is None:
            return
        document = Document(uri, previous.language_id, version, text, changes)
        self._documents[uri] = document
        for slot in self._ready_slots(document):
            self._guard(slot, slot.engine.change, document)
        self._schedule(uri, immediate)

    def expedite(self, uri: str) -> None:
        """Check now a change that waits for the edits to pause (it turned out to matter)."""
        handle = self._debounce.pop(uri, None)
        if handle is not None:
            handle.cancel()
            self._check_document(uri)

    async def first_answers(self, uri: str) -> None:
        """Wait until the fastest engines now checking ``uri`` have answered (capped).

        The caller's own work on an edit (storing its event) waits for them, so that it
        does not take CPU from the engine whose answer the editor is waiting for.
        """
        running = [
            (slot.engine.priority, slot.running[uri]) for slot in self._slots if uri in slot.running
        ]
        if running:
            first = min(priority for priority, _ in running)
            tasks = [task for priority, task in running if priority == first]
            await asyncio.wait(tasks, timeout=_PRIORITY_WAIT_CAP)

    def close(self, uri: str) -> None:
        """Forget a closed document; late results for it are dropped."""
        document = self._documents.pop(uri, None)
        self._latest.pop(uri, None)
        handle = self._debounce.pop(uri, None)
        if handle is not None:
            handle.cancel()
        self._last_change.pop(uri, None)
        if document is None:
            return
        for slot in self._ready_slots(document):
            self._guard(slot, slot.engine.close, uri)
            slot.rerun.discard(uri)
            slot.stale.discard(uri)

    async def settle(self, timeout: float = 10.0, first_restart: bool = False) -> None:
        """Check now what waits for a pause in the edits, and wait until every check is done.

        Engines that are starting are waited for too (their first checks follow); engines
        waiting to be restarted are not, unless ``first_restart`` and it is their first
        failure (a one-shot caller such as an agent hook: Biome's proxy sometimes exits at
        once when it reaches a daemon that is shutting down, and its restart answers).
        At most ``timeout`` seconds. For tools that replay a session and must show every
        finding of one edit before the next.
        """
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        for uri, handle in list(self._debounce.items()):
            handle.cancel()
            self._check_document(uri)
        while loop.time() < deadline:
            busy = [task for slot in self._slots for task in slot.running.values()]
            busy += list(self._later)
            starting = any(
                slot.state == "starting"
                or (first_restart and slot.state == "waiting" and slot.failures == 1)
                for slot in self._slots
            )
            if not busy and not starting and not self._debounce:
                return
            if busy:
                await asyncio.wait(busy, timeout=max(deadline - loop.time(), 0))
            else:
                await asyncio.sleep(0.02)  # an engine is starting: no task to wait on

    async def stop(self) -> None:
        """Stop every engine and cancel pending work."""
        self._stopping = True
        for handle in self._debounce.values():
            handle.cancel()
        self._debounce.clear()
        tasks = list(self._tasks)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        for slot in self._slots:
            slot.state = "stopped"
            slot.generation += 1
        await asyncio.gather(*(self._stop_engine(slot) for slot in self._slots))

    # -- lifecycle -----------------------------------------------------------------------

    def _spawn(self, coroutine: Coroutine[Any, Any, Any]) -> asyncio.Task[Any]:
        assert self._loop is not None
        task = self._loop.create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._task_done)
        return task

    def _task_done(self, task: asyncio.Task[Any]) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None and not self._stopping:
            self._problem(f"feedback: internal error: {task.exception()!r}")

    def _launch(self, slot: _EngineSlot, delay: float = 0.0) -> None:
        slot.state = "waiting" if delay else "starting"
        slot.generation += 1
        self._spawn(self._start_engine(slot, slot.generation, delay))

    async def _start_engine(self, slot: _EngineSlot, generation: int, delay: float) -> None:
        if delay:
            await self._stop_engine(slot)
            await asyncio.sleep(delay)  # the backoff itself, not a wait for an event
            if generation != slot.generation or self._stopping:
                return
            slot.state = "starting"
        try:
            await slot.engine.start()
        except Exception as error:  # noqa: BLE001 - any start failure is the engine's failure
            if generation == slot.generation and not self._stopping:
                reason = (
                    str(error) if isinstance(error, EngineError) else f"failed to start: {error!r}"
                )
                self._fail(slot, reason)
            return
        if generation != slot.generation or self._stopping:
            return
        slot.state = "ready"
        slot.engine.on_refresh = lambda: self._refresh(slot, generation)
        exited = slot.engine.exited
        if exited is not None:
            exited.add_done_callback(lambda future: self._on_exit(slot, generation, future))
        for document in list(self._documents.values()):
            if slot.engine.accepts(document.language_id):
                self._guard(slot, slot.engine.open, document)
                self._start_check(slot, document.uri)

    def _refresh(self, slot: _EngineSlot, generation: int) -> None:
        """Check the open documents again: the engine said its answers may have changed."""
        if generation != slot.generation or slot.state != "ready" or self._stopping:
            return
        for document in list(self._documents.values()):
            if slot.engine.accepts(document.language_id):
                if document.uri in slot.running:
                    slot.stale.add(document.uri)
                else:
                    self._start_check(slot, document.uri)

    async def _stop_engine(self, slot: _EngineSlot) -> None:
        if slot.state != "ready":
            slot.engine.kill()
        with contextlib.suppress(Exception):
            await slot.engine.stop()

    def _on_exit(
        self, slot: _EngineSlot, generation: int, future: asyncio.Future[int | None]
    ) -> None:
        if generation != slot.generation or self._stopping or slot.state == "stopped":
            return
        code = None if future.cancelled() or future.exception() else future.result()
        detail = getattr(slot.engine, "crash_detail", lambda: "")()
        reason = f"exited unexpectedly (exit code {code})"
        if detail:
            reason += f"; its last output: {detail}"
        self._fail(slot, reason)

    def _fail(self, slot: _EngineSlot, reason: str) -> None:
        """Record a failure: one message per run of failures, then restart with backoff."""
        slot.failures += 1
        delay = backoff_delay(
            slot.failures, self.settings.restart_backoff_ms, self.settings.restart_backoff_max_ms
        )
        if not slot.reported:
            slot.reported = True
            again = "restarting it" if slot.engine.exited is not None else "trying it again"
            self._problem(
                f"{slot.engine.name} engine: {reason}. The other engines keep working; "
                f"{again} in {_format_delay(delay)}."
            )
        slot.engine.kill()
        self._launch(slot, delay)

    def _guard(self, slot: _EngineSlot, forward: Callable[[_T], None], argument: _T) -> None:
        """Forward a document event; a broken pipe means the engine died."""
        try:
            forward(argument)
        except Exception:  # noqa: BLE001 - a broken engine must not break the caller
            if isinstance(slot.engine, CommandEngine):
                return
            exited = slot.engine.exited
            if exited is None or not exited.done():
                self._fail(slot, "its input pipe broke")

    # -- checking ------------------------------------------------------------------------

    def _ready_slots(self, document: Document) -> list[_EngineSlot]:
        return [
            slot
            for slot in self._slots
            if slot.state == "ready" and slot.engine.accepts(document.language_id)
        ]

    def _schedule(self, uri: str, immediate: bool = False) -> None:
        """Check now if the document was quiet for the debounce time, else when edits pause."""
        if self._loop is None or self._stopping:
            return
        debounce = self.settings.debounce_ms / 1000
        now = self._loop.time()
        pending = self._debounce.pop(uri, None)
        if pending is not None:
            pending.cancel()
        last = self._last_change.get(uri)
        self._last_change[uri] = now
        if immediate or (pending is None and (last is None or now - last >= debounce)):
            self._check_document(uri)
        else:
            self._debounce[uri] = self._loop.call_later(debounce, self._check_document, uri)

    def _check_document(self, uri: str) -> None:
        """Check with every ready engine, the lowest priority first (see Engine.priority)."""
        self._debounce.pop(uri, None)
        document = self._documents.get(uri)
        if document is None or self._loop is None:
            return
        slots = self._ready_slots(document)
        if not slots:
            return
        first = min(slot.engine.priority for slot in slots)
        for slot in slots:
            if slot.engine.priority == first:
                self._start_check(slot, uri)
        earlier = [slot.running[uri] for slot in slots if uri in slot.running and slot.quick()]
        later = [slot for slot in slots if slot.engine.priority != first]
        if later and not earlier:  # nothing quick to wait for: sharing the CPU costs less
            for slot in sorted(later, key=lambda slot: slot.engine.priority):
                self._start_check(slot, uri)
        elif later:
            task = self._spawn(self._check_later(uri, document.version, earlier, later))
            self._later.add(task)
            task.add_done_callback(self._later.discard)

    async def _check_later(
        self,
        uri: str,
        version: int,
        earlier: list[asyncio.Task[None]],
        later: list[_EngineSlot],
    ) -> None:
        if earlier:
            await asyncio.wait(earlier, timeout=_PRIORITY_WAIT_CAP)
        current = self._documents.get(uri)
        if current is None or current.version != version:
            return  # a newer edit scheduled its own checks
        for slot in sorted(later, key=lambda slot: slot.engine.priority):
            if slot.state == "ready":
                self._start_check(slot, uri)

    def _start_check(self, slot: _EngineSlot, uri: str) -> None:
        """Check ``uri`` with one engine; one check per engine and document at a time."""
        if uri in slot.running:
            slot.rerun.add(uri)
            return
        document = self._documents.get(uri)
        if document is None:
            return
        timeout = self.settings.request_timeout_ms / 1000
        try:
            answer = slot.engine.check(document, timeout)  # may send its request right now
        except Exception as error:  # noqa: BLE001 - handled by _check like a failed await
            answer = failed_check(error)
        started = self._loop.time() if self._loop is not None else 0.0
        slot.running[uri] = self._spawn(
            self._check(slot, slot.generation, document, answer, started)
        )

    async def _check(
        self,
        slot: _EngineSlot,
        generation: int,
        document: Document,
        answer: Awaitable[list[Finding]],
        started: float,
    ) -> None:
        findings: list[Finding] | None = None
        try:
            findings = await answer
            if self._loop is not None:
                took = self._loop.time() - started
                slot.typical = (
                    took
                    if slot.typical is None
                    else (1 - _TYPICAL_WEIGHT) * slot.typical + _TYPICAL_WEIGHT * took
                )
        except CheckOutdated:
            slot.rerun.add(document.uri)
        except EngineHung as error:
            if generation == slot.generation and slot.state == "ready":
                self._fail(slot, str(error))
        except Exception as error:  # noqa: BLE001 - an engine's failure must not escape the hub
            if generation == slot.generation and slot.state == "ready":
                exited = slot.engine.exited
                if exited is None or not exited.done():
                    reason = str(error) if isinstance(error, EngineError) else f"failed: {error!r}"
                    self._fail(slot, reason)
        else:
            slot.failures = 0
            slot.reported = False
        finally:
            slot.running.pop(document.uri, None)
        current = self._documents.get(document.uri)
        if current is None:
            return
        if findings is not None and current.version == document.version:
            self._report(document.uri, document.version, slot.engine.name, findings)
        stale = document.uri in slot.stale
        slot.stale.discard(document.uri)
        if document.uri in slot.rerun or stale:
            slot.rerun.discard(document.uri)
            outdated = findings is None or current.version != document.version
            if slot.state == "ready" and (outdated or stale):
                self._start_check(slot, document.uri)

    def _report(self, uri: str, version: int, engine: str, findings: list[Finding]) -> None:
        self._latest.setdefault(uri, {})[engine] = (version, findings)
        try:
            self._on_findings(uri, version, engine, findings)
        except Exception as error:  # noqa: BLE001 - a caller's bug must not stop the engines
            self._problem(f"feedback: publishing {engine} findings failed: {error!r}")

    def _problem(self, message: str) -> None:
        with contextlib.suppress(Exception):
            self._on_problem(message)
