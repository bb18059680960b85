"""Typed settings: defaults, the user's config, the workspace's files, the editor's overrides.

Sources, later ones winning: the user's ``config.toml`` (in ailoop's config directory, see
:func:`ailoop.trust.config_dir`), ``[tool.ailoop]`` in the workspace's ``pyproject.toml``,
``.ailoop.toml`` at the workspace root, the editor's ``initializationOptions`` and the
``ailoop`` section of ``workspace/configuration``. Editors may spell keys in camelCase
(``minLines``); files use snake_case. Unknown keys and bad values never raise: they are
reported as problems (one message each) and the default is used.

A repository's files are data: what in them would run a program or send data somewhere
is used only in a trusted workspace, and where the shared store is never comes from them
(see :mod:`ailoop.trust`). :attr:`Settings.trust` says what was decided.

Sections other than ``detect`` belong to the stages that read them (feedback, store,
patterns); they arrive here as plain tables and are checked by those stages.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field, fields, replace
from pathlib import Path
from typing import Any

from ailoop import trust as trust_module

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

#: Top-level sections; each is a table.
SECTIONS = (
    "detect", "feedback", "engines", "store", "stores", "patterns", "context", "hooks", "review",
)  # fmt: skip

#: The user's config file, in ailoop's config directory.
USER_CONFIG = "config.toml"


@dataclass(frozen=True)
class DetectSettings:
    """Thresholds of the heuristic: one change this big is an AI insertion."""

    min_lines: int = 3
    min_chars: int = 100
    #: A snippet with fewer characters of code than this gets the ``shape:tiny`` key.
    tiny_chars: int = 24
    #: How a snippet's marker is drawn: ``line`` (a hint on its first line) or ``full``
    #: (an information diagnostic over the whole snippet).
    marker: str = "line"


#: The values ``detect.marker`` takes.
MARKER_STYLES = ("line", "full")


@dataclass(frozen=True)
class WorkspaceTrust:
    """What was decided about a workspace's trust, and what its files set that needs it.

    ``state``: ``trusted`` (by ailoop's trust store or the editor), ``changed`` (trusted
    once, with other settings), or ``untrusted``. ``decided_by``: ``store`` or ``editor``.
    ``withheld``: what trust would allow, described for a message (empty when trusted).
    """

    trusted: bool = False
    state: trust_module.TrustState = "untrusted"
    decided_by: str = "store"
    fingerprint: str = ""
    withheld: tuple[str, ...] = ()


@dataclass(frozen=True)
class Settings:
    """Everything the server reads from configuration."""

    detect: DetectSettings = DetectSettings()
    feedback: Mapping[str, Any] = field(default_factory=dict)
    engines: tuple[Mapping[str, Any], ...] = ()
    store: Mapping[str, Any] = field(default_factory=dict)
    #: Named team stores (``[stores.<name>] url = …``), from the user's config or editor only.
    stores: Mapping[str, Mapping[str, Any]] = field(default_factory=dict)
    patterns: Mapping[str, Any] = field(default_factory=dict)
    context: Mapping[str, Any] = field(default_factory=dict)
    hooks: Mapping[str, Any] = field(default_factory=dict)
    #: Code review ingest (``ailoop review``): ``store_bodies``, ``include_bots``.
    review: Mapping[str, Any] = field(default_factory=dict)
    trust: WorkspaceTrust = WorkspaceTrust()


def snake_case(key: str) -> str:
    """Return ``key`` in snake_case (``minLines`` -> ``min_lines``)."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", key).lower()


#: Tables passed verbatim to another program (a language server engine's
#: ``initialization_options`` and ``settings``): their own keys keep their case.
VERBATIM_TABLES = frozenset({"initialization_options", "settings"})


def snake_keys(value: Any) -> Any:
    """Return ``value`` with every table key in snake_case (not inside :data:`VERBATIM_TABLES`)."""
    if isinstance(value, Mapping):
        out = {}
        for key, item in value.items():
            name = snake_case(str(key))
            out[name] = item if name in VERBATIM_TABLES else snake_keys(item)
        return out
    if isinstance(value, list):
        return [snake_keys(v) for v in value]
    return value


def merge(base: Mapping[str, Any], override: Mapping[str, Any]) -> dict[str, Any]:
    """Merge two settings tables: tables merge key by key, other values are replaced."""
    out = dict(base)
    for key, value in override.items():
        if isinstance(value, Mapping) and isinstance(out.get(key), Mapping):
            out[key] = merge(out[key], value)
        else:
            out[key] = value
    return out


def user_config_path() -> Path:
    """Return the user's config file (which may not exist)."""
    return trust_module.config_dir() / USER_CONFIG


def read_user_config() -> tuple[dict[str, Any], list[str]]:
    """Read the user's config file: ailoop settings at its top level."""
    return _read_tables(((user_config_path(), ()),))


def read_workspace_files(root: Path | None) -> tuple[dict[str, Any], list[str]]:
    """Read ``[tool.ailoop]`` from pyproject.toml, then ``.ailoop.toml``, under ``root``.

    This is what the files say, trusted or not: use :func:`read_settings_tables`.
    """
    if root is None:
        return {}, []
    return _read_tables(
        ((root / "pyproject.toml", ("tool", "ailoop")), (root / ".ailoop.toml", ()))
    )


def _read_tables(
    sources: tuple[tuple[Path, tuple[str, ...]], ...],
) -> tuple[dict[str, Any], list[str]]:
    raw: dict[str, Any] = {}
    problems: list[str] = []
    for path, table_path in sources:
        if not path.is_file():
            continue
        try:
            with path.open("rb") as f:
                table: Any = tomllib.load(f)
        except (OSError, tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
            problems.append(f"{path}: cannot be read ({exc}); its ailoop settings are ignored")
            continue
        for key in table_path:
            table = table.get(key, {}) if isinstance(table, Mapping) else {}
        if not isinstance(table, Mapping):
            problems.append(f"{path}: [{'.'.join(table_path)}] is not a table; ignored")
            continue
        raw = merge(raw, table)
    return raw, problems


def read_settings_tables(
    root: Path | None, editor_trust: bool | None = None
) -> tuple[dict[str, Any], WorkspaceTrust, list[str]]:
    """Return the user's config and the workspace's files merged, as trust allows.

    ``editor_trust``: the editor's own workspace trust decision, when it has one (VS Code);
    otherwise ailoop's trust store decides. Settings that are never taken from a
    repository are dropped with a message.
    """
    user, problems = read_user_config()
    files, file_problems = read_workspace_files(root)
    problems += file_problems
    repo = trust_module.split(snake_keys(files), root)
    if repo.refused:
        origin = str(root / ".ailoop.toml") if root else "settings"
        problems.append(trust_module.refused_message(origin, repo.refused))
    fingerprint = repo.fingerprint
    if editor_trust is not None:
        state: trust_module.TrustState = "trusted" if editor_trust else "untrusted"
        decided_by = "editor"
    else:
        decided_by = "store"
        state = trust_module.TrustStore().state(root, fingerprint) if root else "untrusted"
    trusted = state == "trusted"
    workspace = WorkspaceTrust(
        trusted=trusted,
        state=state,
        decided_by=decided_by,
        fingerprint=fingerprint,
        withheld=() if trusted else tuple(repo.describe()),
    )
    raw = merge(snake_keys(user), repo.with_privileged() if trusted else repo.data)
    return raw, workspace, problems


def _int(value: Any, *, minimum: int) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        return None
    return value


def parse(raw: Mapping[str, Any], origin: str) -> tuple[Settings, list[str]]:
    """Build :class:`Settings` from a raw table; report each bad or unknown key."""
    problems: list[str] = []
    raw = snake_keys(raw)
    settings = Settings()
    for key, value in raw.items():
        if key not in SECTIONS:
            problems.append(f"{origin}: unknown setting '{key}' (known: {', '.join(SECTIONS)})")
            continue
        if key == "engines":
            if isinstance(value, list) and all(isinstance(v, Mapping) for v in value):
                settings = replace(settings, engines=tuple(value))
            else:
                problems.append(f"{origin}: 'engines' must be a list of tables; ignored")
            continue
        if not isinstance(value, Mapping):
            problems.append(f"{origin}: '{key}' must be a table; ignored")
            continue
        if key == "detect":
            settings = replace(settings, detect=_parse_detect(value, origin, problems))
        elif key == "stores":
            settings = replace(settings, stores=_parse_stores(value, origin, problems))
        elif key == "feedback":
            settings = replace(settings, feedback=dict(value))
        elif key == "store":
            settings = replace(settings, store=dict(value))
        elif key == "patterns":
            settings = replace(settings, patterns=dict(value))
        elif key == "hooks":
            settings = replace(settings, hooks=dict(value))
        elif key == "review":
            settings = replace(settings, review=dict(value))
        else:
            settings = replace(settings, context=dict(value))
    return settings, problems


def _parse_stores(
    value: Mapping[str, Any], origin: str, problems: list[str]
) -> dict[str, Mapping[str, Any]]:
    stores: dict[str, Mapping[str, Any]] = {}
    for name, table in value.items():
        if isinstance(table, Mapping):
            stores[str(name)] = dict(table)
        else:
            problems.append(f"{origin}: 'stores.{name}' must be a table; ignored")
    return stores


def _parse_detect(value: Mapping[str, Any], origin: str, problems: list[str]) -> DetectSettings:
    detect = DetectSettings()
    known = {f.name for f in fields(DetectSettings)}
    for key, item in value.items():
        if key not in known:
            problems.append(
                f"{origin}: unknown setting 'detect.{key}' (known: {', '.join(sorted(known))})"
            )
            continue
        if key == "marker":
            if item in MARKER_STYLES:
                detect = replace(detect, marker=item)
            else:
                problems.append(
                    f"{origin}: 'detect.marker' must be one of {', '.join(MARKER_STYLES)}, "
                    f"not {item!r}; using {detect.marker!r}"
                )
            continue
        number = _int(item, minimum=1)
        if number is None:
            problems.append(
                f"{origin}: 'detect.{key}' must be a whole number of at least 1, not {item!r}; "
                f"using {getattr(detect, key)}"
            )
            continue
        if key == "min_lines":
            detect = replace(detect, min_lines=number)
        elif key == "min_chars":
            detect = replace(detect, min_chars=number)
        else:
            detect = replace(detect, tiny_chars=number)
    return detect


def load(
    root: Path | None,
    *overrides: tuple[str, Mapping[str, Any] | None],
    editor_trust: bool | None = None,
) -> tuple[Settings, list[str]]:
    """Load the settings for a workspace, applying editor overrides in order.

    ``overrides`` are ``(origin, table)`` pairs such as ``("initializationOptions", {...})``;
    ``editor_trust`` is the editor's workspace trust decision, if it has one.
    """
    raw, workspace, problems = read_settings_tables(root, editor_trust)
    origin = str(root / "pyproject.toml / .ailoop.toml") if root else "settings"
    for name, table in overrides:
        if table is None:
            continue
        if not isinstance(table, Mapping):
            problems.append(
                f"{name}: expected an object of ailoop settings, got {type(table).__name__}"
            )
            continue
        raw = merge(raw, table)
        origin = f"{origin} + {name}"
    settings, parse_problems = parse(raw, origin)
    return replace(settings, trust=workspace), problems + parse_problems
