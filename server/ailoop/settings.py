"""Typed settings: defaults, then the workspace's files, then the editor's overrides.

Sources, later ones winning: ``[tool.ailoop]`` in the workspace's ``pyproject.toml``,
``.ailoop.toml`` at the workspace root, the editor's ``initializationOptions`` and the
``ailoop`` section of ``workspace/configuration``. Editors may spell keys in camelCase
(``minLines``); files use snake_case. Unknown keys and bad values never raise: they are
reported as problems (one message each) and the default is used.

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

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on 3.10 only
    import tomli as tomllib  # type: ignore[import-not-found, unused-ignore]

#: Top-level sections; each is a table.
SECTIONS = ("detect", "feedback", "engines", "store", "patterns", "context", "hooks")


@dataclass(frozen=True)
class DetectSettings:
    """Thresholds of the heuristic: one change this big is an AI insertion."""

    min_lines: int = 3
    min_chars: int = 100


@dataclass(frozen=True)
class Settings:
    """Everything the server reads from configuration."""

    detect: DetectSettings = DetectSettings()
    feedback: Mapping[str, Any] = field(default_factory=dict)
    engines: tuple[Mapping[str, Any], ...] = ()
    store: Mapping[str, Any] = field(default_factory=dict)
    patterns: Mapping[str, Any] = field(default_factory=dict)
    context: Mapping[str, Any] = field(default_factory=dict)
    hooks: Mapping[str, Any] = field(default_factory=dict)


def snake_case(key: str) -> str:
    """Return ``key`` in snake_case (``minLines`` -> ``min_lines``)."""
    return re.sub(r"(?<=[a-z0-9])([A-Z])", r"_\1", key).lower()


def _snake_keys(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {snake_case(str(k)): _snake_keys(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_snake_keys(v) for v in value]
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


def read_workspace_files(root: Path | None) -> tuple[dict[str, Any], list[str]]:
    """Read ``[tool.ailoop]`` from pyproject.toml, then ``.ailoop.toml``, under ``root``."""
    raw: dict[str, Any] = {}
    problems: list[str] = []
    if root is None:
        return raw, problems
    for path, table_path in (
        (root / "pyproject.toml", ("tool", "ailoop")),
        (root / ".ailoop.toml", ()),
    ):
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


def _int(value: Any, *, minimum: int) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int) or value < minimum:
        return None
    return value


def parse(raw: Mapping[str, Any], origin: str) -> tuple[Settings, list[str]]:
    """Build :class:`Settings` from a raw table; report each bad or unknown key."""
    problems: list[str] = []
    raw = _snake_keys(raw)
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
        elif key == "feedback":
            settings = replace(settings, feedback=dict(value))
        elif key == "store":
            settings = replace(settings, store=dict(value))
        elif key == "patterns":
            settings = replace(settings, patterns=dict(value))
        elif key == "hooks":
            settings = replace(settings, hooks=dict(value))
        else:
            settings = replace(settings, context=dict(value))
    return settings, problems


def _parse_detect(value: Mapping[str, Any], origin: str, problems: list[str]) -> DetectSettings:
    detect = DetectSettings()
    known = {f.name for f in fields(DetectSettings)}
    for key, item in value.items():
        if key not in known:
            problems.append(
                f"{origin}: unknown setting 'detect.{key}' (known: {', '.join(sorted(known))})"
            )
            continue
        number = _int(item, minimum=1)
        if number is None:
            problems.append(
                f"{origin}: 'detect.{key}' must be a whole number of at least 1, not {item!r}; "
                f"using {getattr(detect, key)}"
            )
            continue
        detect = replace(detect, **{key: number})
    return detect


def load(
    root: Path | None, *overrides: tuple[str, Mapping[str, Any] | None]
) -> tuple[Settings, list[str]]:
    """Load the settings for a workspace, applying editor overrides in order.

    ``overrides`` are ``(origin, table)`` pairs such as ``("initializationOptions", {...})``.
    """
    raw, problems = read_workspace_files(root)
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
    return settings, problems + parse_problems
