"""Workspace trust: a repository's files are data until the user trusts the workspace.

Some settings run a program or send data somewhere. A repository's files
(``[tool.ailoop]`` in ``pyproject.toml``, ``.ailoop.toml``) may set them, but ailoop uses
them only for a workspace the user trusts:

- :data:`PRIVILEGED` settings: command engines, explicit ruff and ty commands,
  ``store.share_code`` (snippet texts leave the machine) and ``review.store_bodies``
  (review comment texts are kept and sent with the events);
- executables inside the workspace (``.venv/bin/ruff``, ``node_modules/.bin/biome`` and
  the like, see :mod:`ailoop.feedback.locate`).

Settings in :data:`NEVER_FROM_REPO` (where the shared store is and how to reach it) are
never taken from a repository, trusted or not: they come from the environment, the user's
config file or the editor's settings. A repository names its team store with
``store.team``, which the user's config maps to a URL.

Trust is kept in ``trusted.json`` in the user's config directory, keyed by the workspace's
path and a fingerprint of its privileged settings and workspace executables, so a changed
command needs trust again (as with direnv and Neovim's ``vim.secure``). An editor that has
its own workspace trust (VS Code) passes its decision instead.
"""

from __future__ import annotations

import contextlib
import datetime as dt
import hashlib
import json
import os
import tempfile
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Literal

#: Settings a repository's files may set only in a trusted workspace (dotted paths).
PRIVILEGED = (
    "engines",
    "feedback.engines",
    "feedback.ruff.command",
    "feedback.ty.command",
    "store.share_code",
    "review.store_bodies",
)

#: Settings never taken from a repository's files.
NEVER_FROM_REPO = ("store.url", "store.sslmode", "store.sslrootcert", "stores")

#: Engines ailoop would run from a workspace's virtual environment (see feedback.locate).
WORKSPACE_EXECUTABLES = ("ruff", "ty")

CONFIG_DIR_ENV = "AILOOP_CONFIG_DIR"
TRUST_FILE = "trusted.json"

TrustState = Literal["trusted", "changed", "untrusted"]


def config_dir() -> Path:
    """Return the user's ailoop config directory (``AILOOP_CONFIG_DIR`` overrides it)."""
    override = os.environ.get(CONFIG_DIR_ENV)
    if override:
        return Path(override)
    import platformdirs

    return Path(platformdirs.user_config_dir("ailoop", appauthor=False))


def _get(table: Mapping[str, Any], path: str) -> tuple[bool, Any]:
    node: Any = table
    for part in path.split("."):
        if not isinstance(node, Mapping) or part not in node:
            return False, None
        node = node[part]
    return True, node


def _without(table: Mapping[str, Any], path: str) -> dict[str, Any]:
    head, _, rest = path.partition(".")
    out = dict(table)
    if not rest:
        out.pop(head, None)
    elif isinstance(out.get(head), Mapping):
        out[head] = _without(out[head], rest)
    return out


def _with(table: Mapping[str, Any], path: str, value: Any) -> dict[str, Any]:
    head, _, rest = path.partition(".")
    out = dict(table)
    if not rest:
        out[head] = value
    else:
        inner = out.get(head)
        out[head] = _with(inner if isinstance(inner, Mapping) else {}, rest, value)
    return out


@dataclass(frozen=True)
class RepoSettings:
    """A repository's settings, split by what they may do.

    ``data``: everything that runs no program and sends nothing anywhere.
    ``privileged``: :data:`PRIVILEGED` settings that are set, by dotted path.
    ``refused``: :data:`NEVER_FROM_REPO` settings that are set (never used).
    ``executables``: workspace-relative paths of the engines in its virtual environment.
    """

    data: dict[str, Any]
    privileged: dict[str, Any]
    refused: tuple[str, ...]
    executables: tuple[str, ...]

    @property
    def fingerprint(self) -> str:
        """A hash of what trusting this workspace allows; changes when any of it changes."""
        canonical = json.dumps(
            {"settings": self.privileged, "executables": list(self.executables)},
            sort_keys=True,
            separators=(",", ":"),
            default=str,
        )
        return hashlib.sha256(canonical.encode()).hexdigest()

    @property
    def needs_trust(self) -> bool:
        """True when trusting the workspace would change what ailoop does."""
        return bool(self.privileged or self.executables)

    def with_privileged(self) -> dict[str, Any]:
        """Return the data settings with the privileged ones put back (a trusted workspace)."""
        out = self.data
        for path, value in self.privileged.items():
            out = _with(out, path, value)
        return out

    def describe(self) -> list[str]:
        """Name each setting and executable trust would allow, for a message."""
        names = [f"{path} (in the repository's ailoop settings)" for path in self.privileged]
        names += [f"{path} (an executable in the workspace)" for path in self.executables]
        return names


def split(raw: Mapping[str, Any], root: Path | None) -> RepoSettings:
    """Split a repository's raw settings (snake_case keys) by what they may do."""
    data: dict[str, Any] = dict(raw)
    privileged: dict[str, Any] = {}
    refused: list[str] = []
    for path in PRIVILEGED:
        present, value = _get(data, path)
        if present:
            privileged[path] = value
            data = _without(data, path)
    for path in NEVER_FROM_REPO:
        present, _ = _get(data, path)
        if present:
            refused.append(path)
            data = _without(data, path)
    return RepoSettings(data, privileged, tuple(refused), workspace_executables(root))


def workspace_executables(root: Path | None) -> tuple[str, ...]:
    """Return the engines ailoop would run from ``root``'s own executables, if any.

    Those of its virtual environment, and of its ``node_modules/.bin`` for the TS/JS
    presets (see :mod:`ailoop.feedback.presets`).
    """
    if root is None:
        return ()
    from ailoop.feedback.locate import workspace_candidates

    found = []
    for directory in workspace_candidates(root):
        for name in WORKSPACE_EXECUTABLES:
            candidate = directory / name
            if os.access(candidate, os.X_OK) and not candidate.is_dir():
                found.append(candidate.relative_to(root).as_posix())
    if (root / "node_modules").is_dir():
        from ailoop.feedback.presets import workspace_executables as node_executables

        found.extend(node_executables(root))
    return tuple(found)


def _key(root: Path) -> str:
    return str(root.resolve())


class TrustStore:
    """The workspaces the user trusts: ``{path: {fingerprint, trusted_at}}`` in a JSON file."""

    def __init__(self, path: Path | None = None) -> None:
        self.path = path if path is not None else config_dir() / TRUST_FILE

    def _read(self) -> dict[str, dict[str, str]]:
        try:
            text = self.path.read_text(encoding="utf-8")
        except FileNotFoundError:
            return {}
        try:
            data = json.loads(text)
        except json.JSONDecodeError as exc:
            raise TrustError(f"{self.path} is not valid JSON ({exc}); fix or delete it") from exc
        workspaces = data.get("workspaces") if isinstance(data, dict) else None
        if not isinstance(workspaces, dict):
            raise TrustError(f"{self.path} has no 'workspaces' table; fix or delete it")
        return {
            str(k): v
            for k, v in workspaces.items()
            if isinstance(v, dict) and isinstance(v.get("fingerprint"), str)
        }

    def _write(self, workspaces: Mapping[str, Mapping[str, str]]) -> None:
        self.path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        text = json.dumps({"version": 1, "workspaces": workspaces}, indent=2, sort_keys=True)
        fd, temp = tempfile.mkstemp(dir=self.path.parent, prefix=".trusted-", suffix=".json")
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as f:
                f.write(text + "\n")
                f.flush()
                os.fsync(f.fileno())
            Path(temp).replace(self.path)
        except BaseException:
            with contextlib.suppress(OSError):
                Path(temp).unlink()
            raise

    def state(self, root: Path, fingerprint: str) -> TrustState:
        """Return whether ``root`` is trusted with exactly this fingerprint."""
        try:
            entry = self._read().get(_key(root))
        except (OSError, TrustError):
            return "untrusted"
        if entry is None:
            return "untrusted"
        return "trusted" if entry.get("fingerprint") == fingerprint else "changed"

    def trust(self, root: Path, fingerprint: str) -> None:
        """Trust ``root`` with the settings this fingerprint names."""
        workspaces = self._read()
        now = dt.datetime.now(dt.timezone.utc).isoformat(timespec="seconds")
        workspaces[_key(root)] = {"fingerprint": fingerprint, "trusted_at": now}
        self._write(workspaces)

    def revoke(self, root: Path) -> bool:
        """Stop trusting ``root``; return whether it was trusted."""
        workspaces = self._read()
        if workspaces.pop(_key(root), None) is None:
            return False
        self._write(workspaces)
        return True

    def entries(self) -> Iterator[tuple[str, str]]:
        """Yield ``(path, trusted_at)`` for every trusted workspace."""
        for path, entry in sorted(self._read().items()):
            yield path, str(entry.get("trusted_at", ""))


class TrustError(Exception):
    """The trust file cannot be read; the message names it."""


def untrusted_message(root: Path, withheld: Sequence[str], state: TrustState) -> str:
    """Say what an untrusted workspace's files set that ailoop ignores, and how to trust it.

    ``withheld``: what trust would allow (:meth:`RepoSettings.describe`).
    """
    why = (
        "its ailoop settings changed since you trusted it"
        if state == "changed"
        else "it is not trusted"
    )
    return (
        f"{root}: {why}, so ailoop ignores what would run a program from it: "
        f"{'; '.join(withheld)}. Trust it (the Trust action, or `ailoop trust {root}`) "
        "to use them."
    )


def refused_message(origin: str, paths: tuple[str, ...]) -> str:
    """Say that a repository's files cannot choose the shared store."""
    return (
        f"{origin}: {', '.join(paths)} ignored: a repository cannot choose where ailoop "
        f"sends data; set it in {config_dir() / 'config.toml'} or AILOOP_STORE_URL (a "
        "repository may name its team store with store.team)"
    )
