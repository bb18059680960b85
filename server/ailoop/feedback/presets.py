"""The TS/JS language servers ailoop starts on its own when a workspace has them.

Each preset is a :class:`~ailoop.feedback.language_servers.LanguageServerEngine` like ruff
and ty, on when the workspace configures the tool and its executable is found: in the
workspace's ``node_modules/.bin`` when the workspace is trusted (it is the repository's
program), else on ``PATH``.

- **biome** (lint): ``biome lsp-proxy``, when ``biome.json`` or ``biome.jsonc`` exists.
- **ts** (types), when ``tsconfig.json``, ``jsconfig.json`` or ``package.json`` exists,
  the first of: TypeScript 7's own ``tsc --lsp --stdio`` (the workspace's
  ``node_modules/typescript`` at version 7 or later, trusted only); ``tsgo --lsp --stdio``
  where the workspace has ``@typescript/native-preview``; ``typescript-language-server
  --stdio`` over TypeScript 5's tsserver. In an untrusted workspace
  typescript-language-server is given the tsserver installed beside it, never the
  workspace's ``node_modules/typescript``.
- **oxlint** (lint): ``oxlint --lsp``, when ``.oxlintrc.json`` exists, in a trusted
  workspace only (its ``jsPlugins`` are JavaScript from the repository).
- **eslint** (lint): ``vscode-eslint-language-server --stdio`` (``vscode-langservers-extracted``),
  when a flat config (``eslint.config.js`` and the like) exists and the workspace has its own
  ``node_modules/eslint``, in a trusted workspace only: the server loads the workspace's
  ESLint, which runs its config and plugins (JavaScript from the repository).

A configured engine of the same name (``biome``, ``ts``, ``oxlint``, ``eslint``) takes the
preset's place. Detection reads a few files; nothing here runs a program.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Collection, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ailoop.feedback.locate import find_node_executable, node_bin, which

if TYPE_CHECKING:
    from ailoop.feedback.engine import Engine
    from ailoop.feedback.settings import FeedbackSettings, FindingsKind

#: The language ids the TS/JS presets check.
JS_LANGUAGES = frozenset({"typescript", "typescriptreact", "javascript", "javascriptreact"})
BIOME_CONFIGS = ("biome.json", "biome.jsonc")
OXLINT_CONFIGS = (".oxlintrc.json",)
ESLINT_CONFIGS = tuple(f"eslint.config.{ext}" for ext in ("js", "mjs", "cjs", "ts", "mts", "cts"))
ESLINT_SERVER = "vscode-eslint-language-server"
TS_MARKERS = ("tsconfig.json", "jsconfig.json", "package.json")
NATIVE_PREVIEW = "@typescript/native-preview"
#: Every preset, by the setting that turns it off (``feedback.<setting> = false``).
PRESET_SETTINGS = {"biome": "biome", "ts": "typescript", "oxlint": "oxlint", "eslint": "eslint"}


@dataclass(frozen=True)
class Preset:
    """A preset the workspace has: the engine's name and the argv that starts it."""

    name: str
    argv: tuple[str, ...]
    findings: FindingsKind
    initialization_options: Mapping[str, Any] = field(default_factory=dict)
    #: Drop hint-severity diagnostics (TypeScript's suggestions).
    skip_hints: bool = False
    #: What the server's ``workspace/configuration`` requests are answered from.
    settings: Mapping[str, Any] = field(default_factory=dict)


def _any_file(root: Path, names: Collection[str]) -> bool:
    return any((root / name).is_file() for name in names)


def _read_json(path: Path) -> Any:
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None


def declares(root: Path, package: str) -> bool:
    """Whether the workspace depends on ``package`` (package.json) or has it installed."""
    if (root / "node_modules" / package / "package.json").is_file():
        return True
    manifest = _read_json(root / "package.json")
    if not isinstance(manifest, dict):
        return False
    return any(
        isinstance(manifest.get(key), dict) and package in manifest[key]
        for key in ("dependencies", "devDependencies", "optionalDependencies")
    )


def typescript_major(root: Path) -> int | None:
    """Return the major version of the workspace's installed ``typescript``, if any."""
    manifest = _read_json(root / "node_modules" / "typescript" / "package.json")
    version = manifest.get("version") if isinstance(manifest, dict) else None
    if not isinstance(version, str):
        return None
    head = version.split(".", 1)[0]
    return int(head) if head.isdigit() else None


def bundled_tsserver(executable: Path, root: Path) -> Path | None:
    """Return the tsserver installed beside ``typescript-language-server``, outside ``root``.

    ``typescript-language-server`` prefers the workspace's ``node_modules/typescript``;
    an untrusted workspace gets this one instead (or no TypeScript engine).
    """
    real = executable.resolve()
    workspace = root.resolve()
    for parent in real.parents:
        if parent.name != "node_modules":
            continue
        candidate = parent / "typescript" / "lib" / "tsserver.js"
        if candidate.is_file() and not candidate.resolve().is_relative_to(workspace):
            return candidate.resolve()
    return None


def _typescript(root: Path, trusted: bool) -> Preset | None:
    if not _any_file(root, TS_MARKERS):
        return None
    where = root if trusted else None
    major = typescript_major(root)
    tsc = node_bin(root) / "tsc"
    if trusted and major is not None and major >= 7 and which("tsc", str(tsc.parent)):
        return Preset("ts", (str(tsc), "--lsp", "--stdio"), "types", skip_hints=True)
    if declares(root, NATIVE_PREVIEW):
        tsgo = find_node_executable("tsgo", where)
        if tsgo is not None:
            return Preset("ts", (str(tsgo), "--lsp", "--stdio"), "types", skip_hints=True)
    server = find_node_executable("typescript-language-server", where)
    if server is None:
        return None
    # Typing acquisition runs npm to install @types packages: not for a feedback engine.
    options: dict[str, Any] = {"disableAutomaticTypingAcquisition": True}
    if not trusted:
        tsserver = bundled_tsserver(server, root)
        if tsserver is None:
            return None  # it would load the workspace's TypeScript
        options["tsserver"] = {"path": str(tsserver)}
    return Preset("ts", (str(server), "--stdio"), "types", options, skip_hints=True)


def eslint_settings(root: Path) -> dict[str, Any]:
    """Return the settings ESLint's server asks for (``workspace/configuration``).

    As the editors' ESLint clients send them (nvim-lspconfig's ``eslint``): lint as you
    type with the workspace's flat config and its own ``eslint``; no formatting, fixes on
    save or messages about ignored files. ``experimental.useFlatConfig`` is the switch of
    ESLint 8.21-8.56 (``FlatESLint``, gone in ESLint 10): off, as ``useFlatConfig`` is the
    one ESLint 8.57 and later read.
    """
    return {
        "validate": "on",
        "packageManager": None,
        "useESLintClass": False,
        "useFlatConfig": True,
        "experimental": {"useFlatConfig": False},
        "codeAction": {
            "disableRuleComment": {"enable": False, "location": "separateLine"},
            "showDocumentation": {"enable": False},
        },
        "codeActionOnSave": {"enable": False, "mode": "all"},
        "format": False,
        "quiet": False,
        "onIgnoredFiles": "off",
        "options": {},
        "rulesCustomizations": [],
        "run": "onType",
        "problems": {"shortenToSingleLine": False},
        "nodePath": "",  # the workspace folder: its own node_modules/eslint
        "workingDirectory": {"mode": "auto"},
        "workspaceFolder": {"uri": root.as_uri(), "name": root.name or "root"},
    }


def _eslint(root: Path) -> Preset | None:
    """ESLint's server, for a trusted workspace with a flat config and its own eslint."""
    if not _any_file(root, ESLINT_CONFIGS):
        return None
    if not (root / "node_modules" / "eslint" / "package.json").is_file():
        return None  # the server would find no ESLint to run (or a global one)
    server = find_node_executable(ESLINT_SERVER, root)
    if server is None:
        return None
    return Preset(
        "eslint", (str(server), "--stdio"), "lint", settings=eslint_settings(root.resolve())
    )


def detect(root: Path | None, trusted: bool, enabled: Collection[str]) -> list[Preset]:
    """Return the presets the workspace at ``root`` has, among the ``enabled`` names."""
    if root is None or not root.is_dir():
        return []
    where = root if trusted else None
    found: list[Preset] = []
    if "biome" in enabled and _any_file(root, BIOME_CONFIGS):
        biome = find_node_executable("biome", where)
        if biome is not None:
            found.append(Preset("biome", (str(biome), "lsp-proxy"), "lint"))
    if "oxlint" in enabled and trusted and _any_file(root, OXLINT_CONFIGS):
        oxlint = find_node_executable("oxlint", root)
        if oxlint is not None:
            found.append(Preset("oxlint", (str(oxlint), "--lsp"), "lint"))
    if "eslint" in enabled and trusted:
        eslint = _eslint(root)
        if eslint is not None:
            found.append(eslint)
    if "ts" in enabled:
        typescript = _typescript(root, trusted)
        if typescript is not None:
            found.append(typescript)
    return found


def workspace_executables(root: Path) -> tuple[str, ...]:
    """Return the workspace's own executables the presets would run once it is trusted."""
    inside = node_bin(root)
    return tuple(
        Path(preset.argv[0]).relative_to(root).as_posix()
        for preset in detect(root, True, PRESET_SETTINGS)
        if Path(preset.argv[0]).parent == inside
    )


def preset_engines(
    settings: FeedbackSettings,
    root: Path | None,
    position_encoding: str = "utf-16",
    taken: Collection[str] = (),
) -> list[Engine]:
    """Build the engines of the presets the workspace has, but those named in ``taken``."""
    from ailoop.feedback.language_servers import make_language_server_engine
    from ailoop.feedback.settings import LanguageServerSettings

    enabled = [
        name
        for name, setting in PRESET_SETTINGS.items()
        if getattr(settings, setting) and name not in taken
    ]
    engines: list[Engine] = []
    for preset in detect(root, settings.workspace_executables, enabled):
        spec = LanguageServerSettings(
            preset.name,
            preset.argv,
            JS_LANGUAGES,
            preset.findings,
            initialization_options=preset.initialization_options,
            settings=preset.settings,
        )
        engines.append(
            make_language_server_engine(
                spec,
                settings,
                root,
                position_encoding,
                command=_fixed(preset.argv),
                skip_hints=preset.skip_hints,
            )
        )
    return engines


def _fixed(argv: Sequence[str]) -> Callable[[], Sequence[str]]:
    """Return an engine's command that was found already (when the engines were built)."""
    found = list(argv)
    return lambda: found
