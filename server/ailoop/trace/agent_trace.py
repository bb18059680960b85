"""Agent Trace records (the ``cursor/agent-trace`` RFC, version 0.1.0) in and out.

Out (:func:`export_records`): one record per agent session (events with a ``context``),
and for the other snippets one per repository, tool and UTC day, each with the snippets'
current places in the workspace as ``files[].conversations[].ranges[]`` (1-based lines),
``content_hash`` = the snippet id (``sha256:…``), ``contributor {type: "ai", model_id}``,
``vcs`` (the workspace's git ``HEAD``), ``tool``, and ailoop's outcomes under
``metadata["dev.ailoop"]``.

In (:func:`events_from_record`): each AI range of a record becomes a ``generated`` event
(source ``trace``) with its tool and model. Its text is read from the workspace file at
those lines; a ``content_hash`` in ailoop's form names the snippet when the lines moved.
Records are data: sizes are bounded, paths must stay inside the workspace (read with
:mod:`ailoop.workspace_files`: no links, no ``..``), and a bad record is reported by
itself. Event ids are derived from the record, so importing twice adds nothing.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import hashlib
import json
import re
from collections.abc import Iterable, Iterator, Mapping, Sequence
from pathlib import Path, PurePosixPath
from typing import Any

from ailoop.capture.identity import normalize, snippet_id
from ailoop.store.events import (
    MODEL_LIMIT,
    OUTCOMES,
    Context,
    Event,
    Kind,
    Source,
)
from ailoop.text import clean

#: The version records are written with: the spec's 0.1.0 in the two-part form its JSON
#: schema's ``version`` pattern takes. Both forms are read.
WRITE_VERSION = "0.1"
#: Two-part (the schema's, the reference implementation's ``1.0``) or three-part (the
#: spec text's ``0.1.0``) versions of major version 0 or 1.
VERSION = re.compile(r"(0|1)\.[0-9]{1,4}(\.[0-9]{1,4})?")
#: The ``metadata`` key of ailoop's own data (reverse-domain, as the spec suggests).
METADATA_KEY = "dev.ailoop"

#: Bounds on what one record may hold.
MAX_LINE = 4 * 1024 * 1024  # characters of one JSON line (one record)
MAX_FILES = 1000  # files per record
MAX_CONVERSATIONS = 1000  # conversations per file
MAX_RANGES = 10_000  # ranges per conversation
MAX_PATH = 4096
MAX_TOOL = 64
MAX_ID = 64
MAX_LINES = 10_000  # lines of one range
MAX_FILE_CHARS = 4 * 1024 * 1024  # a workspace file read to find a range's text
#: Files the reference implementation writes records for that hold no code.
PSEUDO_FILES = frozenset({".sessions", ".shell-history", ".unknown"})

_SNIPPET = re.compile(r"sha256:[0-9a-f]{64}")
_EVENT_ID = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:-]{0,63}")
_TIMESTAMP = re.compile(r"\d{4}-\d\d-\d\dT\d\d:\d\d(:\d\d(\.\d+)?)?(Z|[+-]\d\d:\d\d)")


def derived_uuid(*parts: str) -> str:
    """Return a UUID (version-4 shape) fixed by ``parts``: the same input, the same id."""
    raw = bytearray(hashlib.sha256("\0".join(parts).encode()).digest()[:16])
    raw[6] = (raw[6] & 0x0F) | 0x40
    raw[8] = (raw[8] & 0x3F) | 0x80
    h = raw.hex()
    return f"{h[:8]}-{h[8:12]}-{h[12:16]}-{h[16:20]}-{h[20:]}"


def _timestamp(ts: str) -> str:
    """Return an event time as the schema's RFC 3339 UTC form (``…T…Z``)."""
    moment = dt.datetime.fromisoformat(ts.replace("Z", "+00:00"))
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=dt.timezone.utc)
    utc = moment.astimezone(dt.timezone.utc)
    return utc.isoformat(timespec="milliseconds").replace("+00:00", "Z")


# --- locating a snippet in a file ----------------------------------------------------------


def locate(snippet: str, text: str | None, file_text: str) -> tuple[int, int] | None:
    """Return the 1-based (start, end) lines of the snippet ``snippet`` in ``file_text``.

    Any window of lines whose normalized text has the snippet's id matches (the same code
    at another indentation too). ``text`` (the snippet's text, when known) narrows the
    search to windows of its line count that start with its first line.
    """
    lines = file_text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    if text is None:
        return None
    wanted = normalize(text).split("\n")
    if not wanted or not wanted[0].strip():
        return None
    first = wanted[0].strip()
    size = len(wanted)
    for start in range(len(lines) - size + 1):
        if lines[start].strip() != first:
            continue
        if snippet_id("\n".join(lines[start : start + size])) == snippet:
            return start + 1, start + size
    return None


def lines_of(file_text: str, start: int, end: int) -> str:
    """Return lines ``start`` to ``end`` (1-based, inclusive) of ``file_text``."""
    lines = file_text.replace("\r\n", "\n").replace("\r", "\n").split("\n")
    return "\n".join(lines[start - 1 : end])


def read_workspace_file(root: Path, path: str) -> tuple[str | None, str | None]:
    """Return (text, problem) of the workspace file ``path`` (repo-relative, POSIX).

    Refused (a problem, no text): an absolute path, ``..``, a path through a link or to
    something that is not a regular file, a file too large. A missing file: neither.
    """
    from ailoop.workspace_files import WorkspaceFileError, read_text

    problem = relative_path_problem(path)
    if problem:
        return None, problem
    try:
        found = read_text(root, PurePosixPath(path))
    except WorkspaceFileError as exc:
        return None, clean(str(exc), 300)
    if found is not None and len(found) > MAX_FILE_CHARS:
        return None, f"{clean(path, 200)} is larger than {MAX_FILE_CHARS} characters"
    return found, None


def relative_path_problem(path: str) -> str | None:
    """Return why ``path`` is not a plain path inside the workspace, or None."""
    if not path or len(path) > MAX_PATH or not path.isprintable():
        return "the path is empty, too long or has control characters"
    pure = PurePosixPath(path.replace("\\", "/"))
    if pure.is_absolute() or re.match(r"[A-Za-z]:", path) or ".." in pure.parts:
        return f"the path {clean(path, 200)!r} is outside the workspace"
    return None


# --- out ---------------------------------------------------------------------------------


@dataclasses.dataclass
class _Snippet:
    generated: Event
    outcome: str | None = None
    reviews: list[str] = dataclasses.field(default_factory=list)
    findings: dict[str, None] = dataclasses.field(default_factory=dict)
    pattern: str | None = None


def _group(event: Event) -> str:
    if event.context is not None:
        return f"session\0{event.repo}\0{event.context.session}"
    return f"day\0{event.repo}\0{event.tool}\0{event.ts[:10]}"


def export_records(
    events: Iterable[Event],
    root: Path | None,
    *,
    revision: str | None = None,
    tool_version: str = "unknown",
) -> Iterator[dict[str, Any]]:
    """Yield one Agent Trace record per agent session, or per repository, tool and day.

    ``root``: the workspace whose files the ranges are found in (None: no ranges, the
    snippets are listed in the metadata only). ``revision``: its git ``HEAD`` for ``vcs``.
    A snippet whose text is not (or no longer) in its file has no range; the metadata
    lists it with ``"located": false`` and its outcome.
    """
    snippets: dict[tuple[str, str], _Snippet] = {}
    for event in events:
        ident = (event.repo, event.snippet)
        if event.kind is Kind.GENERATED:
            snippets[ident] = _Snippet(event, findings=dict.fromkeys(event.findings))
            continue
        found = snippets.get(ident)
        if found is None:
            continue
        found.findings.update(dict.fromkeys(event.findings))
        if event.kind in OUTCOMES:
            found.outcome = event.kind.value
            if event.pattern:
                found.pattern = event.pattern
        elif event.kind is Kind.REVIEWED and event.outcome:
            found.reviews.append(event.outcome)
    groups: dict[str, list[_Snippet]] = {}
    for item in snippets.values():
        groups.setdefault(_group(item.generated), []).append(item)
    files: dict[str, str | None] = {}
    for key in sorted(groups, key=lambda k: min(s.generated.ts for s in groups[k])):
        members = sorted(groups[key], key=lambda s: (s.generated.ts, s.generated.id))
        first = members[0].generated
        record_files: dict[str, dict[str | None, list[dict[str, Any]]]] = {}
        listed = []
        for item in members:
            event = item.generated
            where = None
            if root is not None:
                if event.path not in files:
                    files[event.path] = read_workspace_file(root, event.path)[0]
                file_text = files[event.path]
                if file_text is not None:
                    where = locate(event.snippet, event.text, file_text)
            if where is not None:
                conversation = record_files.setdefault(event.path, {}).setdefault(event.model, [])
                conversation.append(
                    {"start_line": where[0], "end_line": where[1], "content_hash": event.snippet}
                )
            listed.append(
                {
                    "snippet": event.snippet,
                    "event": event.id,
                    "ts": event.ts,
                    "path": event.path,
                    "language": event.language,
                    "lines": event.lines,
                    "tool": event.tool,
                    "model": event.model,
                    "located": where is not None,
                    "findings": list(item.findings),
                    "outcome": item.outcome,
                    "pattern": item.pattern,
                    "reviews": item.reviews,
                }
            )
        record: dict[str, Any] = {
            "version": WRITE_VERSION,
            "id": derived_uuid("ailoop-export", key),
            "timestamp": _timestamp(max(s.generated.ts for s in members)),
        }
        if revision:
            record["vcs"] = {"type": "git", "revision": revision}
        record["tool"] = {"name": first.tool, "version": tool_version}
        record["files"] = [
            {
                "path": path,
                "conversations": [
                    {
                        "contributor": {"type": "ai", **({"model_id": model} if model else {})},
                        "ranges": ranges,
                    }
                    for model, ranges in conversations.items()
                ],
            }
            for path, conversations in record_files.items()
        ]
        record["metadata"] = {
            METADATA_KEY: {
                "repo": first.repo,
                "session": first.context.session if first.context else None,
                "context": first.context.to_json() if first.context else None,
                "snippets": listed,
            }
        }
        yield record


# --- in ----------------------------------------------------------------------------------


class RecordError(ValueError):
    """A record that cannot be imported; the message says why."""


@dataclasses.dataclass(frozen=True)
class Workspace:
    """Where imported snippets belong: the workspace root, its repository, the user."""

    root: Path
    repo: str
    user: str


def _text(value: object, limit: int, what: str, *, required: bool = False) -> str | None:
    if value is None and not required:
        return None
    if not isinstance(value, str) or (required and not value):
        raise RecordError(f"{what} is not a text")
    if len(value) > limit or not value.isprintable():
        raise RecordError(f"{what} is longer than {limit} characters or has control characters")
    return value


def _list(value: object, limit: int, what: str) -> list[Any]:
    if not isinstance(value, list):
        raise RecordError(f"{what} is not a list")
    if len(value) > limit:
        raise RecordError(f"{what} has more than {limit} entries")
    return value


def _contributor(value: object, what: str) -> tuple[str, str | None] | None:
    if value is None:
        return None
    if not isinstance(value, dict):
        raise RecordError(f"{what} is not an object")
    kind = value.get("type")
    if kind not in ("human", "ai", "mixed", "unknown"):
        raise RecordError(f"{what}.type is not human, ai, mixed or unknown")
    return str(kind), _text(value.get("model_id"), MODEL_LIMIT, f"{what}.model_id")


def _language(path: str) -> str:
    try:
        from ailoop.hooks.run import language_of
    except ImportError:  # pragma: no cover - the hooks package is part of ailoop
        return ""
    return language_of(Path(path))


def _dev_ailoop(record: Mapping[str, Any]) -> tuple[dict[tuple[str, str], str], Context | None]:
    """Read ailoop's own metadata of a record: event ids by (path, snippet), the context."""
    metadata = record.get("metadata")
    data = metadata.get(METADATA_KEY) if isinstance(metadata, dict) else None
    if not isinstance(data, dict):
        return {}, None
    ids: dict[tuple[str, str], str] = {}
    listed = data.get("snippets")
    if isinstance(listed, list):
        for entry in listed[: MAX_FILES * 10]:
            if not isinstance(entry, dict):
                continue
            ident, path, snip = entry.get("event"), entry.get("path"), entry.get("snippet")
            if (
                isinstance(ident, str)
                and _EVENT_ID.fullmatch(ident)
                and isinstance(path, str)
                and isinstance(snip, str)
            ):
                ids[(path, snip)] = ident
    try:
        context = Context.from_json(data.get("context"))
    except ValueError:
        context = None
    return ids, context


@dataclasses.dataclass
class Imported:
    """What one record gave: its events, the ranges skipped and why."""

    events: list[Event] = dataclasses.field(default_factory=list)
    skipped: list[str] = dataclasses.field(default_factory=list)


def events_from_record(record: object, workspace: Workspace) -> Imported:
    """Turn one record's AI ranges into ``generated`` events; raises :class:`RecordError`.

    A record that is not well-formed (the schema's required fields, bounded sizes) is
    refused whole. A range that cannot be imported (its file outside the workspace or
    missing, its lines not there and no ailoop content hash) is skipped with a reason;
    human and unknown ranges, and the reference implementation's ``.sessions`` and
    ``.shell-history`` entries, are not AI code and are left out silently.
    """
    if not isinstance(record, dict):
        raise RecordError("not a JSON object")
    version = record.get("version")
    if not isinstance(version, str) or not VERSION.fullmatch(version):
        raise RecordError(
            f"version {clean(repr(version), 40)} is not 0.x or 1.x (two or three parts)"
        )
    record_id = _text(record.get("id"), MAX_ID, "id", required=True)
    assert record_id is not None
    stamp = record.get("timestamp")
    if not isinstance(stamp, str) or len(stamp) > 40 or not _TIMESTAMP.fullmatch(stamp):
        raise RecordError("timestamp is not an RFC 3339 time")
    try:
        ts = _timestamp(stamp)
    except ValueError as exc:
        raise RecordError(f"timestamp is not an RFC 3339 time ({exc})") from None
    tool_name = "unknown"
    tool = record.get("tool")
    if tool is not None:
        if not isinstance(tool, dict):
            raise RecordError("tool is not an object")
        name = _text(tool.get("name"), MAX_TOOL, "tool.name")
        tool_name = name.strip().lower() if name and name.strip() else "unknown"
    files = _list(record.get("files"), MAX_FILES, "files")
    known_ids, context = _dev_ailoop(record)
    out = Imported()
    for fi, entry in enumerate(files):
        if not isinstance(entry, dict):
            raise RecordError(f"files[{fi}] is not an object")
        path = _text(entry.get("path"), MAX_PATH, f"files[{fi}].path", required=True)
        assert path is not None
        conversations = _list(
            entry.get("conversations"), MAX_CONVERSATIONS, f"files[{fi}].conversations"
        )
        parsed = []
        for ci, conversation in enumerate(conversations):
            where = f"files[{fi}].conversations[{ci}]"
            if not isinstance(conversation, dict):
                raise RecordError(f"{where} is not an object")
            default = _contributor(conversation.get("contributor"), f"{where}.contributor")
            ranges = _list(conversation.get("ranges"), MAX_RANGES, f"{where}.ranges")
            for ri, item in enumerate(ranges):
                spot = f"{where}.ranges[{ri}]"
                if not isinstance(item, dict):
                    raise RecordError(f"{spot} is not an object")
                start, end = item.get("start_line"), item.get("end_line")
                if (
                    not isinstance(start, int)
                    or not isinstance(end, int)
                    or isinstance(start, bool)
                    or isinstance(end, bool)
                ):
                    raise RecordError(f"{spot} needs whole start_line and end_line")
                if start < 1 or end < start:
                    raise RecordError(f"{spot}: lines {start}-{end} are not a 1-based range")
                content_hash = _text(item.get("content_hash"), 200, f"{spot}.content_hash")
                who = _contributor(item.get("contributor"), f"{spot}.contributor") or default
                parsed.append((ci, ri, start, end, content_hash, who))
        if path.strip("/") in PSEUDO_FILES:
            continue
        problem = relative_path_problem(path)
        if problem:
            out.skipped.append(f"{clean(path, 200)}: {problem}")
            continue
        relative = PurePosixPath(path.replace("\\", "/")).as_posix()
        file_text: str | None = None
        file_problem: str | None = None
        read = False
        for ci, ri, start, end, content_hash, who in parsed:
            if who is None or who[0] != "ai":
                continue
            if not read:
                file_text, file_problem = read_workspace_file(workspace.root, relative)
                read = True
            if file_problem:
                out.skipped.append(f"{clean(relative, 200)}: {file_problem}")
                break
            event = _range_event(
                record_id, ts, tool_name, relative, (ci, ri, start, end), content_hash, who[1],
                file_text, workspace, known_ids, context,
            )  # fmt: skip
            if isinstance(event, str):
                out.skipped.append(f"{clean(relative, 200)}:{start}-{end}: {event}")
            else:
                out.events.append(event)
    return out


def _range_event(
    record_id: str,
    ts: str,
    tool: str,
    path: str,
    spot: tuple[int, int, int, int],
    content_hash: str | None,
    model: str | None,
    file_text: str | None,
    workspace: Workspace,
    known_ids: Mapping[tuple[str, str], str],
    context: Context | None,
) -> Event | str:
    """Return the ``generated`` event of one range, or why it cannot be imported."""
    ci, ri, start, end = spot
    ailoop_hash = content_hash if content_hash and _SNIPPET.fullmatch(content_hash) else None
    text: str | None = None
    if end - start + 1 > MAX_LINES:
        return f"more than {MAX_LINES} lines"
    if file_text is not None:
        text = lines_of(file_text, start, end)
        if not normalize(text).strip():
            text = None
    snippet = snippet_id(text) if text is not None else None
    if ailoop_hash and snippet != ailoop_hash:
        # the lines changed since: look for the snippet elsewhere in the file
        moved = None
        if file_text is not None:
            for begin in range(1, file_text.count("\n") + 2):
                window = lines_of(file_text, begin, begin + (end - start))
                if snippet_id(window) == ailoop_hash:
                    moved = window
                    break
        text, snippet = moved, ailoop_hash
    if snippet is None:
        return "no such lines in the workspace file and no ailoop content hash"
    ident = known_ids.get((path, snippet)) or derived_uuid(
        "agent-trace", record_id, path, str(ci), str(ri)
    )
    lines = len(normalize(text).split("\n")) if text is not None else end - start + 1
    return Event(
        kind=Kind.GENERATED,
        snippet=snippet,
        tool=tool,
        source=Source.TRACE,
        user=workspace.user,
        repo=workspace.repo,
        path=path,
        language=_language(path),
        lines=lines,
        text=text,
        model=model,
        context=context,
        id=ident,
        ts=ts,
    )


def read_records(path: Path) -> Iterator[tuple[str, object]]:
    """Yield (where, record) from a JSONL or JSON file, or from every such file in a folder.

    ``where`` is ``file:line``. A line that is not JSON yields a :class:`RecordError` as its
    record. A folder is searched for ``*.jsonl`` and ``*.json`` files (not through links).
    """
    if path.is_dir():
        found = sorted(
            p
            for pattern in ("*.jsonl", "*.json")
            for p in path.rglob(pattern)
            if p.is_file() and not p.is_symlink()
        )
        for file in found[:10_000]:
            yield from _read_file(file)
        return
    yield from _read_file(path)


def _read_file(path: Path) -> Iterator[tuple[str, object]]:
    try:
        handle = path.open(encoding="utf-8", errors="replace", newline="")
    except OSError as exc:
        yield str(path), RecordError(f"cannot be read: {exc.strerror or exc}")
        return
    with handle:
        if path.suffix == ".json":
            text = handle.read(MAX_LINE + 1)
            if len(text) > MAX_LINE:
                yield str(path), RecordError(f"larger than {MAX_LINE} characters")
                return
            try:
                data = json.loads(text)
            except ValueError as exc:
                yield str(path), RecordError(f"not JSON ({exc})")
                return
            items: Sequence[object] = data if isinstance(data, list) else [data]
            for number, item in enumerate(items, start=1):
                yield f"{path}[{number}]", item
            return
        number = 0
        while True:
            line = handle.readline(MAX_LINE + 1)
            if not line:
                break
            number += 1
            where = f"{path}:{number}"
            if len(line) > MAX_LINE and not line.endswith("\n"):
                while line and not line.endswith("\n"):  # skip the rest of this line
                    line = handle.readline(MAX_LINE + 1)
                yield where, RecordError(f"longer than {MAX_LINE} characters")
                continue
            if not line.strip():
                continue
            try:
                yield where, json.loads(line)
            except ValueError as exc:
                yield where, RecordError(f"not JSON ({exc})")
