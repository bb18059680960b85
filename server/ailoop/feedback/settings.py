r"""Feedback settings: which engines run, how fast, and the command engines a team adds.

Read from the ``feedback`` table of ailoop's configuration, e.g. in ``pyproject.toml``::

    [tool.ailoop.feedback]
    scope = "snippet"                 # or "file": show findings outside AI snippets too
    debounce_ms = 150
    request_timeout_ms = 5000

    [tool.ailoop.feedback.ruff]
    extra_select = ["BLE", "S"]      # rules for AI code only, on top of the workspace's

    [tool.ailoop.feedback.ty]
    enabled = true

    [[tool.ailoop.engines]]           # a language server, kept running like ruff and ty
    name = "gopls"
    kind = "language-server"
    command = ["gopls"]
    languages = ["go"]
    findings = "types"                # or "lint" (the default): lint engines answer first

    [[tool.ailoop.engines]]           # or [[tool.ailoop.feedback.engines]]
    name = "shellcheck"
    command = ["shellcheck", "--format=gcc", "-"]
    languages = ["shellscript"]
    output = "regex"
    pattern = ':(?P<line>\d+):(?P<col>\d+): (?P<message>.*) \[(?P<rule>SC\d+)\]'

Keys may be snake_case or camelCase (editor settings). :func:`parse_feedback_settings`
never raises: every unknown key or bad value becomes one message and falls back to its
default, so a typo costs one setting, not the others.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field, replace
from typing import Any, Literal

#: Regex group names a command engine's ``pattern`` may use; ``line`` and ``message`` are required.
PATTERN_GROUPS = frozenset(
    {
        "line",
        "col",
        "column",
        "end_line",
        "end_col",
        "end_column",
        "rule",
        "code",
        "message",
        "severity",
    }
)

#: Engine names ailoop provides itself; configured engines may not reuse them.
BUILTIN_ENGINES = ("ruff", "ty")

#: The presets ailoop starts when a workspace has them (see :mod:`ailoop.feedback.presets`):
#: a ``language-server`` engine of the same name takes the preset's place.
PRESET_ENGINES = ("biome", "ts", "oxlint", "eslint")

OutputFormat = Literal["sarif", "regex"]
#: What a language server's findings are: lint engines are asked first, types after.
FindingsKind = Literal["lint", "types"]


@dataclass(frozen=True)
class CommandEngineSettings:
    """A checker run as a command per check: the buffer on stdin (or in a file), findings out.

    ``command`` may contain ``{path}`` (the document's path) and, with ``stdin = false``,
    must contain ``{file}`` (a temporary file holding the unsaved buffer).
    """

    name: str
    command: tuple[str, ...]
    languages: frozenset[str]
    output: OutputFormat
    pattern: re.Pattern[str] | None = None
    stdin: bool = True
    #: Severity for regex findings without a ``severity`` group (LSP 1..4).
    severity: int = 2
    #: Per-run timeout; ``None`` uses :attr:`FeedbackSettings.request_timeout_ms`.
    timeout_ms: int | None = None


@dataclass(frozen=True)
class LanguageServerSettings:
    """A language server run as a persistent child engine, like ruff and ty.

    ``command`` is its argv (a bare name is looked up in a trusted workspace's
    ``node_modules/.bin``, then on ``PATH``); ``initialization_options`` go in
    ``initialize``; ``settings`` answer its ``workspace/configuration`` requests (the
    value under the requested section, the whole table for none).
    """

    name: str
    command: tuple[str, ...]
    languages: frozenset[str]
    findings: FindingsKind = "lint"
    initialization_options: Mapping[str, Any] = field(default_factory=dict)
    settings: Mapping[str, Any] = field(default_factory=dict)


@dataclass(frozen=True)
class FeedbackSettings:
    """Everything the feedback engines need to know; defaults work without configuration."""

    #: Where findings are shown: inside AI snippets only, or in the whole file.
    scope: str = "snippet"
    ruff: bool = True
    ty: bool = True
    #: Ruff rule selectors added for AI code only, on top of the workspace's ruff config.
    ruff_extra_select: tuple[str, ...] = ()
    #: Explicit engine commands (argv); empty means "find the executable".
    ruff_command: tuple[str, ...] = ()
    ty_command: tuple[str, ...] = ()
    #: Quiet time after an edit before a document is checked again (the first edit after a
    #: quiet period is checked at once).
    debounce_ms: int = 150
    #: Timeout of every request to an engine (a check); a child that misses it is restarted.
    request_timeout_ms: int = 5000
    #: Timeout for an engine to start and complete ``initialize``.
    start_timeout_ms: int = 20000
    #: First delay before restarting a failed engine; doubles per failure up to the maximum.
    restart_backoff_ms: int = 500
    restart_backoff_max_ms: int = 60000
    commands: tuple[CommandEngineSettings, ...] = field(default_factory=tuple)
    #: Configured language servers (``kind = "language-server"``).
    language_servers: tuple[LanguageServerSettings, ...] = field(default_factory=tuple)
    #: The TS/JS presets, each on when the workspace has it (``feedback.biome = false``).
    biome: bool = True
    typescript: bool = True
    oxlint: bool = True
    eslint: bool = True
    #: Whether executables in the workspace's virtual environment may run (a trusted
    #: workspace, see :mod:`ailoop.trust`); else ruff and ty come from ailoop's own install
    #: or ``PATH``.
    workspace_executables: bool = False


_SEVERITY_NAMES = {"error": 1, "warning": 2, "information": 3, "info": 3, "hint": 4}
_SCOPES = ("snippet", "file")
_TOP_KEYS = {
    "scope",
    "debounce_ms",
    "request_timeout_ms",
    "start_timeout_ms",
    "restart_backoff_ms",
    "restart_backoff_max_ms",
    "ruff",
    "ty",
    "biome",
    "typescript",
    "oxlint",
    "eslint",
    "engines",
}
_PRESET_KEYS = {"enabled"}
_RUFF_KEYS = {"enabled", "extra_select", "command"}
_TY_KEYS = {"enabled", "command"}
_COMMAND_KEYS = {
    "kind",
    "name",
    "command",
    "languages",
    "stdin",
    "output",
    "pattern",
    "severity",
    "timeout_ms",
}
_LANGUAGE_SERVER_KEYS = {
    "kind",
    "name",
    "command",
    "languages",
    "findings",
    "initialization_options",
    "settings",
}
_KINDS = ("command", "language-server")
#: A command engine's name: the source part of its pattern keys (``ailoop.patterns.model.KEY``).
_IDENTIFIER = re.compile(r"[a-z][a-z0-9_-]{0,31}")


def snake_case(key: str) -> str:
    """``"debounceMs"`` -> ``"debounce_ms"``; snake_case keys are returned unchanged."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", key).lower()


def severity_from_name(name: str) -> int | None:
    """Map a tool's severity word (error, warning, note, info, style, …) to LSP 1..4."""
    word = name.strip().lower()
    if word in _SEVERITY_NAMES:
        return _SEVERITY_NAMES[word]
    if word in {"fatal", "err", "e"}:
        return 1
    if word in {"warn", "w"}:
        return 2
    if word in {"note", "style", "convention", "refactor", "i", "c", "r"}:
        return 3
    return None


class _Reader:
    """Reads one table, recording a message per problem; the values fall back to defaults."""

    def __init__(self, where: str, raw: Mapping[str, Any], known: set[str], problems: list[str]):
        self.where = where
        self.problems = problems
        self.values: dict[str, Any] = {}
        for key, value in raw.items():
            name = snake_case(str(key))
            if name in known:
                self.values[name] = value
            else:
                problems.append(f"{where}: unknown setting {key!r} (ignored)")

    def _bad(self, key: str, expected: str) -> None:
        self.problems.append(
            f"{self.where}.{key}: expected {expected}, got {self.values[key]!r} (using the default)"
        )

    def has(self, key: str) -> bool:
        return key in self.values

    def boolean(self, key: str, default: bool) -> bool:
        value = self.values.get(key, default)
        if isinstance(value, bool):
            return value
        self._bad(key, "true or false")
        return default

    def milliseconds(self, key: str, default: int, minimum: int = 0) -> int:
        value = self.values.get(key, default)
        if isinstance(value, int) and not isinstance(value, bool) and value >= minimum:
            return value
        self._bad(key, f"a whole number of milliseconds >= {minimum}")
        return default

    def strings(self, key: str, default: tuple[str, ...]) -> tuple[str, ...]:
        value = self.values.get(key, default)
        if (
            isinstance(value, Sequence)
            and not isinstance(value, str)
            and all(isinstance(item, str) and item for item in value)
        ):
            return tuple(value)
        self._bad(key, "a list of non-empty strings")
        return default


def _engine_table(where: str, value: Any, known: set[str], problems: list[str]) -> _Reader | None:
    """Accept ``ruff = false`` as well as a ``[ruff]`` table."""
    if isinstance(value, bool):
        return _Reader(where, {"enabled": value}, known, problems)
    if isinstance(value, Mapping):
        return _Reader(where, value, known, problems)
    problems.append(f"{where}: expected true, false or a table, got {value!r} (using the default)")
    return None


def _parse_engine(
    where: str, raw: Any, taken: set[str], problems: list[str]
) -> CommandEngineSettings | LanguageServerSettings | None:
    """Read one ``[[engines]]`` table: a command engine, or a language server."""
    if not isinstance(raw, Mapping):
        problems.append(f"{where}: expected a table, got {raw!r} (engine skipped)")
        return None
    kind = raw.get("kind", "command")
    if kind not in _KINDS:
        problems.append(
            f"{where}.kind: expected {' or '.join(map(repr, _KINDS))}, got {kind!r} "
            "(engine skipped)"
        )
        return None
    table = _Reader(
        where, raw, _COMMAND_KEYS if kind == "command" else _LANGUAGE_SERVER_KEYS, problems
    )
    name = table.values.get("name")
    if not isinstance(name, str) or not _IDENTIFIER.fullmatch(name):
        problems.append(
            f"{where}.name: expected a name like 'shellcheck' (lower-case letters, digits, "
            f"'-' and '_', at most 32), got {repr(name)[:60]} (engine skipped)"
        )
        return None
    where = f"{where} ({name})"
    if name in taken:
        problems.append(f"{where}: the name {name!r} is already used (engine skipped)")
        return None
    command = table.values.get("command")
    if (
        not isinstance(command, Sequence)
        or isinstance(command, str)
        or not command
        or not all(isinstance(arg, str) for arg in command)
    ):
        problems.append(
            f"{where}.command: expected a list of arguments like ['shellcheck', '-'], "
            f"got {command!r} (engine skipped)"
        )
        return None
    languages = table.values.get("languages")
    if (
        not isinstance(languages, Sequence)
        or isinstance(languages, str)
        or not languages
        or not all(isinstance(lang, str) and lang for lang in languages)
    ):
        problems.append(
            f"{where}.languages: expected a list of language ids like ['shellscript'], "
            f"got {languages!r} (engine skipped)"
        )
        return None
    if kind == "language-server":
        return _language_server(where, table, name, tuple(command), frozenset(languages), taken)
    output = table.values.get("output", "regex")
    if output not in ("sarif", "regex"):
        problems.append(
            f"{where}.output: expected 'sarif' or 'regex', got {output!r} (engine skipped)"
        )
        return None
    stdin = table.boolean("stdin", True)
    if not stdin and not any("{file}" in arg for arg in command):
        problems.append(
            f"{where}.command: with stdin = false, the command needs {{file}} (engine skipped)"
        )
        return None
    pattern: re.Pattern[str] | None = None
    if output == "regex":
        source = table.values.get("pattern")
        if not isinstance(source, str) or not source:
            problems.append(f"{where}.pattern: output = 'regex' needs a pattern (engine skipped)")
            return None
        try:
            pattern = re.compile(source)
        except re.error as error:
            problems.append(f"{where}.pattern: not a valid regex: {error} (engine skipped)")
            return None
        groups = set(pattern.groupindex)
        missing = {"line", "message"} - groups
        if missing:
            problems.append(
                f"{where}.pattern: needs the named groups {sorted(missing)} (engine skipped)"
            )
            return None
        unknown = groups - PATTERN_GROUPS
        if unknown:
            problems.append(
                f"{where}.pattern: unknown group names {sorted(unknown)} (ignored); "
                f"known: {sorted(PATTERN_GROUPS)}"
            )
    severity = 2
    if table.has("severity"):
        raw_severity = table.values["severity"]
        named = severity_from_name(raw_severity) if isinstance(raw_severity, str) else None
        if (
            isinstance(raw_severity, int)
            and not isinstance(raw_severity, bool)
            and 1 <= raw_severity <= 4
        ):
            severity = raw_severity
        elif named is not None:
            severity = named
        else:
            problems.append(
                f"{where}.severity: expected error, warning, information or hint, "
                f"got {raw_severity!r} (using warning)"
            )
    timeout_ms = table.milliseconds("timeout_ms", 0, minimum=1) if table.has("timeout_ms") else 0
    taken.add(name)
    return CommandEngineSettings(
        name=name,
        command=tuple(command),
        languages=frozenset(languages),
        output=output,
        pattern=pattern,
        stdin=stdin,
        severity=severity,
        timeout_ms=timeout_ms or None,
    )


def _language_server(
    where: str,
    table: _Reader,
    name: str,
    command: tuple[str, ...],
    languages: frozenset[str],
    taken: set[str],
) -> LanguageServerSettings | None:
    findings = table.values.get("findings", "lint")
    if findings not in ("lint", "types"):
        table.problems.append(
            f"{where}.findings: expected 'lint' or 'types', got {findings!r} (using 'lint')"
        )
        findings = "lint"
    tables: dict[str, Mapping[str, Any]] = {}
    for key in ("initialization_options", "settings"):
        value = table.values.get(key, {})
        if not isinstance(value, Mapping):
            table.problems.append(
                f"{where}.{key}: expected a table, got {value!r} (engine skipped)"
            )
            return None
        tables[key] = dict(value)
    taken.add(name)
    return LanguageServerSettings(
        name=name,
        command=command,
        languages=languages,
        findings=findings,
        initialization_options=tables["initialization_options"],
        settings=tables["settings"],
    )


def parse_feedback_settings(
    raw: Mapping[str, Any], engines: Sequence[Any] = ()
) -> tuple[FeedbackSettings, list[str]]:
    """Read the ``feedback`` settings table; return the settings and one message per problem.

    Command engines and language servers come from ``engines`` (the top-level
    ``[[tool.ailoop.engines]]`` list)
    and from ``raw["engines"]`` (``[[tool.ailoop.feedback.engines]]``); names must be
    unique across both. Never raises: bad values fall back to their defaults, bad command
    engines are skipped.
    """
    problems: list[str] = []
    if not isinstance(raw, Mapping):
        return FeedbackSettings(), [f"feedback: expected a table, got {raw!r} (using the defaults)"]
    top = _Reader("feedback", raw, _TOP_KEYS, problems)
    settings = FeedbackSettings()
    scope = top.values.get("scope", settings.scope)
    if scope not in _SCOPES:
        problems.append(
            f"feedback.scope: expected one of {', '.join(map(repr, _SCOPES))}, got {scope!r} "
            f"(using {settings.scope!r})"
        )
        scope = settings.scope
    settings = replace(
        settings,
        scope=scope,
        debounce_ms=top.milliseconds("debounce_ms", settings.debounce_ms),
        request_timeout_ms=top.milliseconds("request_timeout_ms", settings.request_timeout_ms, 1),
        start_timeout_ms=top.milliseconds("start_timeout_ms", settings.start_timeout_ms, 1),
        restart_backoff_ms=top.milliseconds("restart_backoff_ms", settings.restart_backoff_ms, 1),
        restart_backoff_max_ms=top.milliseconds(
            "restart_backoff_max_ms", settings.restart_backoff_max_ms, 1
        ),
    )
    if top.has("ruff"):
        ruff = _engine_table("feedback.ruff", top.values["ruff"], _RUFF_KEYS, problems)
        if ruff is not None:
            settings = replace(
                settings,
                ruff=ruff.boolean("enabled", True),
                ruff_extra_select=tuple(
                    selector.strip().upper() for selector in ruff.strings("extra_select", ())
                ),
                ruff_command=ruff.strings("command", ()),
            )
    if top.has("ty"):
        ty = _engine_table("feedback.ty", top.values["ty"], _TY_KEYS, problems)
        if ty is not None:
            settings = replace(
                settings, ty=ty.boolean("enabled", True), ty_command=ty.strings("command", ())
            )
    presets: dict[str, bool] = {}
    for preset in ("biome", "typescript", "oxlint", "eslint"):
        if top.has(preset):
            table = _engine_table(f"feedback.{preset}", top.values[preset], _PRESET_KEYS, problems)
            if table is not None:
                presets[preset] = table.boolean("enabled", True)
    settings = replace(
        settings,
        biome=presets.get("biome", True),
        typescript=presets.get("typescript", True),
        oxlint=presets.get("oxlint", True),
        eslint=presets.get("eslint", True),
    )
    taken = set(BUILTIN_ENGINES)
    commands: list[CommandEngineSettings] = []
    language_servers: list[LanguageServerSettings] = []
    sources: list[tuple[str, Any]] = [("engines", engines)]
    if top.has("engines"):
        sources.append(("feedback.engines", top.values["engines"]))
    for where, entries in sources:
        if not isinstance(entries, Sequence) or isinstance(entries, str):
            problems.append(f"{where}: expected a list of tables, got {entries!r} (ignored)")
            continue
        for index, entry in enumerate(entries):
            engine = _parse_engine(f"{where}[{index}]", entry, taken, problems)
            if isinstance(engine, LanguageServerSettings):
                language_servers.append(engine)
            elif engine is not None:
                commands.append(engine)
    return (
        replace(settings, commands=tuple(commands), language_servers=tuple(language_servers)),
        problems,
    )
