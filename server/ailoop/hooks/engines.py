"""One-shot feedback engines for a hook: findings on the lines an agent just wrote.

The language server keeps ruff and ty running as servers; a hook lives for one edit, so
it runs ``ruff check`` once on the file's text instead (a few tens of milliseconds), and
the team's command engines (``[[tool.ailoop.engines]]``) once each, through the same
:class:`ailoop.feedback.command.CommandEngine` the editor uses. ty is left to the editor:
it needs a warm server to be fast. TS/JS files (and any language a configured language
server serves) go to the editor's language-server engines: the TS/JS presets (Biome,
oxlint, ESLint, TypeScript) and ``kind = "language-server"`` engines, kept running between
calls by :class:`EngineSessions` in the hook worker (and in ``ailoop mcp``); a call without
a worker starts them and stops them again. The seam is :func:`engine_findings`: the
file's text and the inserted lines in, findings on those lines out.

Settings are the editor's (``[tool.ailoop.feedback]``, see docs/feedback.md): ``ruff =
false`` or ``[tool.ailoop.feedback.ruff] enabled = false`` turns ruff off,
``extra_select`` adds rules, ``command`` names the ruff executable as its first word.
"""

from __future__ import annotations

import contextlib
import json
import subprocess
import threading
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass, replace
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    import asyncio

    from ailoop.feedback.hub import EngineHub
    from ailoop.feedback.settings import CommandEngineSettings, FeedbackSettings

#: Seconds one engine run may take before its findings are given up.
ENGINE_TIMEOUT = 3.0
#: Languages ``ruff check`` reads.
RUFF_LANGUAGES = frozenset({"python"})
#: Seconds a language server may take for its first answer (it starts and loads the
#: project: TypeScript's server takes a second or two) and for later ones.
SERVER_FIRST_TIMEOUT = 15.0
SERVER_TIMEOUT = ENGINE_TIMEOUT


@dataclass(frozen=True)
class EngineFinding:
    """One engine finding: ``line`` is zero-based, ``code`` is ``"<engine>:<rule>"``."""

    line: int
    code: str
    message: str


@dataclass(frozen=True)
class HookEngineSettings:
    """Which engines a hook runs, read from the editor's feedback settings."""

    ruff: bool = True
    ruff_extra_select: tuple[str, ...] = ()
    ruff_executable: str | None = None
    commands: tuple[CommandEngineSettings, ...] = ()
    #: The workspace is trusted: its virtual environment's ruff may run.
    workspace_executables: bool = False
    #: The editor's feedback settings, for the language-server engines (TS/JS presets and
    #: configured ones); read only for files such a server may serve.
    servers: FeedbackSettings | None = None


def _cheap_ruff_settings(feedback: Mapping[str, Any]) -> HookEngineSettings:
    value = feedback.get("ruff", True)
    if value is False:
        return HookEngineSettings(ruff=False)
    if not isinstance(value, Mapping):
        return HookEngineSettings()
    extra = value.get("extra_select", ())
    command = value.get("command", ())
    return HookEngineSettings(
        ruff=value.get("enabled", True) is not False,
        ruff_extra_select=tuple(str(r).strip().upper() for r in extra)
        if isinstance(extra, list)
        else (),
        ruff_executable=str(command[0]) if isinstance(command, list) and command else None,
    )


def _preset_language(language: str) -> bool:
    """Return whether a TS/JS preset may serve ``language`` (Python needs no look)."""
    if language in RUFF_LANGUAGES:
        return False
    from ailoop.feedback.presets import JS_LANGUAGES

    return language in JS_LANGUAGES


def read_engine_settings(
    settings: Mapping[str, Any], trusted: bool = False, language: str = "python"
) -> tuple[HookEngineSettings, list[str]]:
    """Read the engines from the workspace's raw settings; return them and any problems.

    ``settings`` are what trust allows (:func:`ailoop.settings.read_settings_tables`);
    ``trusted`` also lets the workspace's own ruff and executables run. Without configured
    engines, for a file no TS/JS preset serves, only the ruff keys are read, so a hook does
    not pay for loading the editor's feedback machinery; otherwise the editor's own
    parser reads everything (``language`` is the edited file's).
    """
    feedback = settings.get("feedback")
    feedback = feedback if isinstance(feedback, Mapping) else {}
    engines = settings.get("engines", ())
    if not engines and not feedback.get("engines") and not _preset_language(language):
        return replace(_cheap_ruff_settings(feedback), workspace_executables=trusted), []
    from ailoop.feedback.settings import parse_feedback_settings

    parsed, problems = parse_feedback_settings(feedback, engines)
    parsed = replace(parsed, workspace_executables=trusted)
    return HookEngineSettings(
        ruff=parsed.ruff,
        ruff_extra_select=parsed.ruff_extra_select,
        ruff_executable=parsed.ruff_command[0] if parsed.ruff_command else None,
        commands=parsed.commands,
        workspace_executables=trusted,
        servers=parsed,
    ), problems


def find_ruff(root: Path | None) -> str | None:
    """Return the ruff the language server would run (see feedback.locate).

    ``root``: a trusted workspace, whose virtual environment is searched first; or None.
    """
    from ailoop.feedback.locate import find_executable

    found = find_executable("ruff", root)
    return str(found) if found is not None else None


def parse_ruff_json(output: str, lines: Collection[int]) -> list[EngineFinding]:
    """Turn ``ruff check --output-format json`` output into findings on ``lines``."""
    try:
        items = json.loads(output or "[]")
    except json.JSONDecodeError as exc:
        raise ValueError(f"ruff printed something that is not JSON ({exc})") from exc
    found = []
    for item in items if isinstance(items, list) else ():
        try:
            line = int(item["location"]["row"]) - 1
            message = str(item["message"])
        except (KeyError, TypeError, ValueError):
            continue
        if line in lines:
            rule = item.get("code") or "invalid-syntax"
            found.append(EngineFinding(line, f"ruff:{rule}", message))
    return found


class EngineRun:
    """An engine process started on a text; :meth:`result` waits for its output."""

    def __init__(self, name: str, command: list[str], text: str, cwd: Path | None) -> None:
        self.name = name
        self._text = text.encode("utf-8")
        self._output: tuple[bytes, bytes, int] | None = None
        self._problem: str | None = None
        try:
            self._process: subprocess.Popen[bytes] | None = subprocess.Popen(
                command,
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.PIPE,
                cwd=cwd,
            )
        except OSError as exc:
            self._process = None
            self._problem = f"{name} could not be started ({exc.strerror or exc})"
            return
        self._thread = threading.Thread(target=self._communicate, daemon=True)
        self._thread.start()

    def _communicate(self) -> None:
        assert self._process is not None
        try:
            out, err = self._process.communicate(self._text, timeout=ENGINE_TIMEOUT)
        except subprocess.TimeoutExpired:
            self._process.kill()
            self._process.communicate()
            self._problem = (
                f"{self.name} took longer than {ENGINE_TIMEOUT:g} s; its findings are left out"
            )
            return
        except OSError as exc:
            self._problem = f"{self.name} failed ({exc})"
            return
        self._output = (out, err, self._process.returncode)

    def result(self) -> tuple[bytes, str | None]:
        """Wait for the engine; return its standard output, or the problem it had."""
        if self._process is not None:
            self._thread.join()
        if self._output is None:
            return b"", self._problem or f"{self.name} gave no output"
        out, err, code = self._output
        if code not in (0, 1):
            lines = err.decode("utf-8", "replace").strip().splitlines()
            return b"", f"{self.name} failed: {lines[-1] if lines else f'exit code {code}'}"
        return out, None


def start_ruff(
    path: Path, text: str, settings: HookEngineSettings, cwd: Path | None
) -> EngineRun | None:
    """Start ``ruff check`` on ``text`` as if it were ``path`` (None when ruff is missing)."""
    ruff = settings.ruff_executable or find_ruff(cwd if settings.workspace_executables else None)
    if ruff is None:
        return None  # no ruff installed: nothing to say about it on every edit
    command = [ruff, "check", "--no-fix", "--quiet", "--output-format", "json"]
    if settings.ruff_extra_select:
        command += ["--extend-select", ",".join(settings.ruff_extra_select)]
    command += ["--stdin-filename", str(path), "-"]
    return EngineRun("ruff", command, text, cwd)


class CommandRuns:
    """The team's command engines, run once each on a thread of their own."""

    def __init__(
        self,
        commands: Sequence[CommandEngineSettings],
        path: Path,
        language: str,
        text: str,
        cwd: Path | None,
    ) -> None:
        self._findings: list[EngineFinding] = []
        self._problems: list[str] = []
        self._thread = threading.Thread(
            target=lambda: self._run(commands, path.as_uri(), language, text, cwd), daemon=True
        )
        self._thread.start()

    def _run(
        self,
        commands: Sequence[CommandEngineSettings],
        uri: str,
        language: str,
        text: str,
        cwd: Path | None,
    ) -> None:
        import asyncio

        from ailoop.feedback.command import CommandEngine
        from ailoop.feedback.engine import Document, EngineError

        document = Document(uri, language, 1, text)

        async def check(settings: CommandEngineSettings) -> None:
            engine = CommandEngine(settings, cwd, "utf-32")
            try:
                found = await engine.check(document, ENGINE_TIMEOUT)
            except EngineError as exc:
                self._problems.append(f"engine {settings.name}: {exc}")
                return
            self._findings += [EngineFinding(f.start[0], f.code, f.message) for f in found]

        async def check_all() -> None:
            await asyncio.gather(*(check(c) for c in commands))

        try:
            asyncio.run(check_all())
        except Exception as exc:  # noqa: BLE001 - an engine must never break the hook
            self._problems.append(f"command engines failed ({type(exc).__name__}: {exc})")

    def result(self) -> tuple[list[EngineFinding], list[str]]:
        """Wait for every command; return all their findings and problems."""
        self._thread.join()
        return self._findings, self._problems


class PendingFindings:
    """Engines running on the inserted lines; :meth:`result` collects their findings."""

    def __init__(
        self,
        ruff: EngineRun | None,
        commands: CommandRuns | None,
        lines: Collection[int],
        servers: ServerRun | None = None,
    ) -> None:
        self._ruff = ruff
        self._commands = commands
        self._lines = lines
        self._servers = servers

    def result(self) -> tuple[list[EngineFinding], list[str]]:
        """Wait for every engine; return the findings on the lines and the problems."""
        found: list[EngineFinding] = []
        problems: list[str] = []
        if self._ruff is not None:
            output, problem = self._ruff.result()
            if problem is not None:
                problems.append(problem)
            else:
                try:
                    found += parse_ruff_json(output.decode("utf-8", "replace"), self._lines)
                except ValueError as exc:
                    problems.append(str(exc))
        if self._commands is not None:
            command_found, command_problems = self._commands.result()
            found += [f for f in command_found if f.line in self._lines]
            problems += command_problems
        if self._servers is not None:
            server_found, server_problems = self._servers.result()
            found += [f for f in server_found if f.line in self._lines]
            problems += server_problems
        return found, problems


def start_engines(
    path: Path,
    text: str,
    language: str,
    lines: Collection[int],
    settings: HookEngineSettings,
    cwd: Path | None = None,
    sessions: EngineSessions | None = None,
) -> PendingFindings:
    """Start the engines that apply to ``language`` on ``text``; they run in the background.

    Language servers run in ``sessions`` (kept warm by the caller), else in sessions of
    this call's own that stop once they answered.
    """
    if not lines:
        return PendingFindings(None, None, lines)
    ruff = None
    if settings.ruff and language in RUFF_LANGUAGES:
        ruff = start_ruff(path, text, settings, cwd)
    commands = [c for c in settings.commands if language in c.languages]
    runs = CommandRuns(commands, path, language, text, cwd) if commands else None
    servers = None
    if settings.servers is not None and serves(settings.servers, language):
        servers = ServerRun(sessions, settings.servers, cwd, path, language, text)
    return PendingFindings(ruff, runs, lines, servers)


def serves(settings: FeedbackSettings, language: str) -> bool:
    """Return whether a language-server engine (a TS/JS preset, a configured one) may serve."""
    from ailoop.feedback.presets import JS_LANGUAGES

    if language in JS_LANGUAGES:
        return True
    return any(language in spec.languages for spec in settings.language_servers)


class EngineSessions:
    """The editor's language-server engines, kept running between hook calls.

    One :class:`~ailoop.feedback.hub.EngineHub` per workspace root and settings, holding
    only the language-server engines (the TS/JS presets and ``kind = "language-server"``
    engines; ruff runs as ``ruff check``), on an event loop of its own thread. A check
    opens the file's text in the hub, waits for every engine's answer to that version
    and closes it again. Thread-safe: the hook worker answers calls on several threads.
    """

    def __init__(self) -> None:
        import threading

        self._lock = threading.Lock()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._hubs: dict[tuple[str, str], EngineHub] = {}
        self._checks = 0

    def _running_loop(self) -> asyncio.AbstractEventLoop:
        import asyncio
        import threading

        with self._lock:
            if self._loop is None:
                loop = asyncio.new_event_loop()
                threading.Thread(target=loop.run_forever, daemon=True).start()
                self._loop = loop
            return self._loop

    def check(
        self, settings: FeedbackSettings, root: Path | None, path: Path, language: str, text: str
    ) -> tuple[list[EngineFinding], list[str]]:
        """Return every language-server finding on ``text`` (as ``path``), and problems."""
        import asyncio

        loop = self._running_loop()
        future = asyncio.run_coroutine_threadsafe(
            self._check(settings, root, path, language, text), loop
        )
        try:
            return future.result(SERVER_FIRST_TIMEOUT + 5)
        except TimeoutError:
            future.cancel()
            return [], ["the language servers gave no answer in time; their findings are left out"]

    async def _check(
        self, settings: FeedbackSettings, root: Path | None, path: Path, language: str, text: str
    ) -> tuple[list[EngineFinding], list[str]]:
        problems: list[str] = []
        hub, fresh = await self._hub(settings, root, problems)
        if not any(engine.accepts(language) for engine in hub.engines.values()):
            return [], problems
        self._checks += 1
        version = self._checks
        uri = path.as_uri()
        hub.open(uri, language, version, text)
        # a child that exited at its first start is restarted within a second: waited for
        await hub.settle(SERVER_FIRST_TIMEOUT if fresh else SERVER_TIMEOUT, first_restart=True)
        latest = hub.latest_findings(uri)
        hub.close(uri)
        found = [
            EngineFinding(f.start[0], f.code, f.message)
            for found_version, findings in latest.values()
            if found_version == version
            for f in findings
        ]
        return found, problems

    async def _hub(
        self, settings: FeedbackSettings, root: Path | None, problems: list[str]
    ) -> tuple[EngineHub, bool]:
        from ailoop.feedback.hub import EngineHub
        from ailoop.feedback.language_servers import make_language_server_engine
        from ailoop.feedback.presets import preset_engines

        key = (str(root), repr(settings))
        hub = self._hubs.get(key)
        if hub is not None:
            return hub, False
        for old_key in [k for k in self._hubs if k[0] == key[0]]:
            await self._hubs.pop(old_key).stop()  # the settings changed: start afresh
        taken = {spec.name for spec in settings.language_servers}
        engines = preset_engines(settings, root, "utf-32", taken=taken)
        engines += [
            make_language_server_engine(spec, settings, root, "utf-32")
            for spec in settings.language_servers
        ]
        hub = EngineHub(
            root,
            settings,
            lambda _uri, _version, _engine, _findings: None,
            problems.append,
            engines=engines,
            position_encoding="utf-32",
        )
        await hub.start()
        self._hubs[key] = hub
        return hub, True

    def close(self, timeout: float = 5.0) -> None:
        """Stop every engine (at most ``timeout`` seconds) and the loop."""
        import asyncio

        loop = self._loop
        if loop is None:
            return

        async def stop_all() -> None:
            await asyncio.gather(*(hub.stop() for hub in self._hubs.values()))
            self._hubs.clear()

        future = asyncio.run_coroutine_threadsafe(stop_all(), loop)
        with contextlib.suppress(Exception):  # stopping must not fail the caller
            future.result(timeout)
        loop.call_soon_threadsafe(loop.stop)
        self._loop = None


class ServerRun:
    """One check by the language-server engines, on a thread of its own."""

    def __init__(
        self,
        sessions: EngineSessions | None,
        settings: FeedbackSettings,
        root: Path | None,
        path: Path,
        language: str,
        text: str,
    ) -> None:
        import threading

        self._found: list[EngineFinding] = []
        self._problems: list[str] = []
        own = sessions is None
        engines = sessions if sessions is not None else EngineSessions()

        def run() -> None:
            try:
                self._found, self._problems = engines.check(settings, root, path, language, text)
            except Exception as exc:  # noqa: BLE001 - an engine must never break the hook
                self._problems = [f"language servers failed ({type(exc).__name__}: {exc})"]
            finally:
                if own:
                    engines.close()

        self._thread = threading.Thread(target=run, daemon=True)
        self._thread.start()

    def result(self) -> tuple[list[EngineFinding], list[str]]:
        """Wait for the check; return its findings and problems."""
        self._thread.join()
        return self._found, self._problems


def engine_findings(
    path: Path,
    text: str,
    language: str,
    lines: Collection[int],
    settings: Mapping[str, Any],
    cwd: Path | None = None,
) -> tuple[list[EngineFinding], list[str]]:
    """Return the engines' findings on ``lines`` (zero-based) of ``text``, and any problems.

    ``settings`` are the workspace's raw settings (``[tool.ailoop]``). Never raises.
    """
    engines, problems = read_engine_settings(settings)
    found, run_problems = start_engines(path, text, language, lines, engines, cwd).result()
    return found, problems + run_problems
