"""Agent Trace in and out through the real CLI: export validates against the spec's schema,
export then import round-trips, records in the reference implementation's shape import,
importing twice adds nothing, and bad records are reported one by one."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest

from ailoop.capture.identity import snippet_id
from ailoop.store.events import Context, Event, Kind, Source
from ailoop.store.local import LocalStore

SCHEMA = Path(__file__).resolve().parents[1] / "fixtures" / "agent-trace-record.schema.json"
SERVER = Path(__file__).resolve().parents[2] / "server"
ORIGIN = "https://github.com/acme/shop.git"
REPO = ORIGIN  # the repository identity: its origin URL

TOTAL = """\
def total(items):
    try:
        return sum(i.price for i in items)
    except:
        return 0
"""
HELPER = """\
def tax(amount):
    return round(amount * 0.2, 2)
"""
CART = f"import math\n\n\n{TOTAL}\n\n{HELPER}"


def run(*args: str, cwd: Path, data_dir: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "AILOOP_DATA_DIR": str(data_dir), "PYTHONPATH": str(SERVER)}
    return subprocess.run(
        [sys.executable, "-m", "ailoop", *args],
        cwd=cwd,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def git(root: Path, *args: str) -> str:
    done = subprocess.run(
        ["git", *args], cwd=root, capture_output=True, text=True, check=True, timeout=30
    )
    return done.stdout.strip()


@pytest.fixture
def repo(tmp_path: Path) -> Path:
    root = tmp_path / "shop"
    (root / "shop").mkdir(parents=True)
    (root / "shop" / "cart.py").write_text(CART, encoding="utf-8")
    git(root, "init", "-q")
    git(root, "config", "user.email", "ana@example.com")
    git(root, "config", "user.name", "Ana")
    git(root, "remote", "add", "origin", ORIGIN)
    git(root, "add", ".")
    git(root, "commit", "-q", "-m", "cart")
    return root


def validator() -> jsonschema.protocols.Validator:
    schema = json.loads(SCHEMA.read_text(encoding="utf-8"))
    cls = jsonschema.validators.validator_for(schema)
    cls.check_schema(schema)
    return cls(schema, format_checker=cls.FORMAT_CHECKER)


def stored(data_dir: Path) -> list[Event]:
    store = LocalStore.open(data_dir)
    try:
        return list(store.events())
    finally:
        store.close()


def store(data_dir: Path, events: list[Event]) -> None:
    db = LocalStore.open(data_dir)
    try:
        db.append(events)
    finally:
        db.close()


def history() -> list[Event]:
    """A Claude Code session that wrote two snippets (one rejected), and a Copilot one."""
    context = Context("cc-session-1", ("ruff:E722",), ("pattern:bare-except",))
    total, helper = snippet_id(TOTAL), snippet_id(HELPER)
    common = {"repo": REPO, "path": "shop/cart.py", "language": "python", "user": "ana@x"}
    return [
        Event(kind=Kind.GENERATED, snippet=total, tool="claude-code", source=Source.HOOK,
              lines=5, findings=("ruff:E722",), text=TOTAL, context=context,
              model="anthropic/claude-sonnet-4-5", ts="2026-12-01T10:00:00.000Z", **common),
        Event(kind=Kind.REJECTED, snippet=total, tool="claude-code", findings=("ruff:E722",),
              reason="swallows errors", pattern="bare-except", ts="2026-12-01T10:05:00.000Z",
              **common),
        Event(kind=Kind.GENERATED, snippet=helper, tool="copilot", source=Source.CLIENT,
              lines=2, text=HELPER, ts="2026-12-02T09:00:00.000Z", **common),
        Event(kind=Kind.ACCEPTED, snippet=helper, tool="copilot", ts="2026-12-02T09:01:00.000Z",
              **common),
        # a snippet whose text is no longer in the file: listed, without a range
        Event(kind=Kind.GENERATED, snippet=snippet_id("x = 1\n"), tool="copilot", lines=1,
              text="x = 1\n", ts="2026-12-02T09:30:00.000Z", **common),
    ]  # fmt: skip


def test_export_validates_and_round_trips_through_import(repo: Path, tmp_path: Path) -> None:
    source, target = tmp_path / "a", tmp_path / "b"
    events = history()
    store(source, events)
    out = tmp_path / "traces.jsonl"
    done = run("export", "--format", "agent-trace", "-o", str(out), cwd=repo, data_dir=source)
    assert done.returncode == 0, done.stderr
    records = [json.loads(line) for line in out.read_text(encoding="utf-8").splitlines()]
    check = validator()
    for record in records:
        check.validate(record)
    assert len(records) == 2  # the session, and copilot's day
    session = next(r for r in records if r["tool"]["name"] == "claude-code")
    assert session["vcs"] == {"type": "git", "revision": git(repo, "rev-parse", "HEAD")}
    [file] = session["files"]
    assert file["path"] == "shop/cart.py"
    [conversation] = file["conversations"]
    assert conversation["contributor"] == {"type": "ai", "model_id": "anthropic/claude-sonnet-4-5"}
    start = CART.splitlines().index("def total(items):") + 1
    assert conversation["ranges"] == [
        {"start_line": start, "end_line": start + 4, "content_hash": snippet_id(TOTAL)}
    ]
    meta = session["metadata"]["dev.ailoop"]
    assert meta["context"] == events[0].context.to_json()  # type: ignore[union-attr]
    [listed] = meta["snippets"]
    assert (listed["outcome"], listed["pattern"], listed["findings"]) == (
        "rejected",
        "bare-except",
        ["ruff:E722"],
    )
    copilot = next(r for r in records if r["tool"]["name"] == "copilot")
    located = {s["snippet"]: s["located"] for s in copilot["metadata"]["dev.ailoop"]["snippets"]}
    assert located == {snippet_id(HELPER): True, snippet_id("x = 1\n"): False}
    [range_] = copilot["files"][0]["conversations"][0]["ranges"]
    assert range_["content_hash"] == snippet_id(HELPER)

    imported = run("import", "--format", "agent-trace", str(out), cwd=repo, data_dir=target)
    assert imported.returncode == 0, imported.stderr
    assert "2 new snippet event(s)" in imported.stdout
    got = {e.snippet: e for e in stored(target)}
    assert set(got) == {snippet_id(TOTAL), snippet_id(HELPER)}
    for original in (events[0], events[2]):
        copy = got[original.snippet]
        assert copy.kind is Kind.GENERATED
        assert copy.source is Source.TRACE
        assert (copy.id, copy.tool, copy.model, copy.context) == (
            original.id,
            original.tool,
            original.model,
            original.context,
        )
        assert (copy.repo, copy.path, copy.language, copy.lines) == (
            REPO,
            "shop/cart.py",
            "python",
            original.lines,
        )
        assert copy.text is not None
        assert snippet_id(copy.text) == original.snippet

    again = run("import", "--format", "agent-trace", str(out), cwd=repo, data_dir=target)
    assert again.returncode == 0, again.stderr
    assert "0 new snippet event(s) (2 already there)" in again.stdout
    assert len(stored(target)) == 2
    # the source store has these events already: importing its own export adds nothing
    own = run("import", "--format", "agent-trace", str(out), cwd=repo, data_dir=source)
    assert "0 new snippet event(s)" in own.stdout
    assert len(stored(source)) == len(events)


def reference_records(repo: Path) -> list[dict[str, object]]:
    """Records as the reference implementation (reference/trace-store.ts) writes them."""
    start = CART.splitlines().index("def tax(amount):") + 1
    return [
        {  # createTrace("ai", ".sessions", …) on SessionStart
            "version": "1.0",
            "id": "6f1c2e0a-5a8e-4d6b-9f57-0c1de2b3a4f5",
            "timestamp": "2026-12-01T10:00:00.000Z",
            "vcs": {"type": "git", "revision": git(repo, "rev-parse", "HEAD")},
            "tool": {"name": "claude-code"},
            "files": [{"path": ".sessions", "conversations": [
                {"contributor": {"type": "ai"}, "ranges": [{"start_line": 1, "end_line": 1}]}]}],
            "metadata": {"event": "session_start", "session_id": "abc", "source": "startup"},
        },
        {  # PostToolUse on Write: computeRangePositions found the new text in the file
            "version": "1.0",
            "id": "0b7e43c6-2f9a-4f5e-8d3c-1a2b3c4d5e6f",
            "timestamp": "2026-12-01T10:01:00.000Z",
            "tool": {"name": "claude-code"},
            "files": [{"path": "shop/cart.py", "conversations": [{
                "url": "file:///home/ana/.claude/projects/shop/abc.jsonl",
                "contributor": {"type": "ai", "model_id": "anthropic/claude-opus-4-5-20251101"},
                "ranges": [{"start_line": start, "end_line": start + 1}],
            }]}],
            "metadata": {"session_id": "abc", "tool_name": "Write", "tool_use_id": "t1"},
        },
        {  # the spec's own example form: three-part version, a foreign content hash
            "version": "0.1.0",
            "id": "550e8400-e29b-41d4-a716-446655440000",
            "timestamp": "2026-12-01T14:30:00Z",
            "tool": {"name": "cursor", "version": "2.4.0"},
            "files": [
                {"path": "shop/cart.py", "conversations": [{
                    "contributor": {"type": "ai", "model_id": "openai/gpt-4o"},
                    "ranges": [{"start_line": 1, "end_line": 1, "content_hash": "murmur3:9f2e8a1b"},
                               {"start_line": 3, "end_line": 3,
                                "contributor": {"type": "human"}}],
                    "related": [{"type": "session", "url": "https://api.cursor.com/v1/s/6789"}],
                }]},
            ],
            "metadata": {"confidence": 0.95, "dev.cursor": {"workspace_id": "ws-abc123"}},
        },
    ]  # fmt: skip


def test_records_of_the_reference_implementation_import(repo: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    folder = repo / ".agent-trace"
    folder.mkdir()
    records = reference_records(repo)
    (folder / "traces.jsonl").write_text(
        "".join(json.dumps(r) + "\n" for r in records), encoding="utf-8"
    )
    done = run("import", "--format", "agent-trace", str(folder), cwd=repo, data_dir=data)
    assert done.returncode == 0, done.stderr
    assert "3 record(s), 2 new snippet event(s)" in done.stdout
    got = {e.tool: e for e in stored(data)}
    assert set(got) == {"claude-code", "cursor"}
    claude = got["claude-code"]
    assert claude.snippet == snippet_id(HELPER)
    assert claude.model == "anthropic/claude-opus-4-5-20251101"
    assert (claude.kind, claude.source, claude.repo) == (Kind.GENERATED, Source.TRACE, REPO)
    assert claude.ts == "2026-12-01T10:01:00.000Z"
    cursor = got["cursor"]
    assert cursor.text == "import math"
    assert cursor.model == "openai/gpt-4o"
    assert cursor.ts == "2026-12-01T14:30:00.000Z"
    again = run("import", "--format", "agent-trace", str(folder), cwd=repo, data_dir=data)
    assert "0 new snippet event(s)" in again.stdout
    assert len(stored(data)) == 2


def test_bad_records_are_reported_and_the_others_import(repo: Path, tmp_path: Path) -> None:
    data = tmp_path / "data"
    good = reference_records(repo)[1]

    def variant(**fields: object) -> str:
        return json.dumps({**good, "id": f"id-{len(fields)}-{sorted(fields)}", **fields})

    lines = [
        "{not json",
        variant(version="2.0"),
        variant(version="0.1.0.0"),
        variant(timestamp="yesterday"),
        variant(files="shop/cart.py"),
        variant(files=[{"path": "shop/cart.py", "conversations": [
            {"ranges": [{"start_line": 0, "end_line": 2}]}]}]),
        variant(files=[{"path": "x" * 5000, "conversations": []}]),
        variant(tool={"name": "t" * 65}),
        variant(files=[{"path": "shop/cart.py", "conversations": [
            {"contributor": {"type": "ai", "model_id": "m" * 251},
             "ranges": [{"start_line": 1, "end_line": 1}]}]}]),
        # paths outside the workspace: that file is skipped, the record's others import
        variant(files=[
            {"path": "../outside.py", "conversations": [
                {"contributor": {"type": "ai"}, "ranges": [{"start_line": 1, "end_line": 1}]}]},
            {"path": "/etc/passwd", "conversations": [
                {"contributor": {"type": "ai"}, "ranges": [{"start_line": 1, "end_line": 1}]}]},
            {"path": "shop/cart.py", "conversations": [
                {"contributor": {"type": "ai"}, "ranges": [{"start_line": 1, "end_line": 1}]}]},
        ]),
        variant(files=[{"path": "shop/missing.py", "conversations": [
            {"contributor": {"type": "ai"}, "ranges": [{"start_line": 1, "end_line": 3}]}]}]),
        json.dumps(good),
    ]  # fmt: skip
    outside = tmp_path / "outside.py"
    outside.write_text("secret = 1\n", encoding="utf-8")
    (repo / "shop" / "link.py").symlink_to(outside)
    lines.append(
        variant(files=[{"path": "shop/link.py", "conversations": [
            {"contributor": {"type": "ai"}, "ranges": [{"start_line": 1, "end_line": 1}]}]}])
    )  # fmt: skip
    file = tmp_path / "traces.jsonl"
    file.write_text("\n".join(lines) + "\n", encoding="utf-8")
    done = run("import", "--format", "agent-trace", str(file), cwd=repo, data_dir=data)
    assert done.returncode == 1
    errors = done.stderr.splitlines()
    bad = [e for e in errors if e.endswith("; skipped")]
    assert [e.split(":")[2] for e in bad] == ["1", "2", "3", "4", "5", "6", "7", "8", "9"]
    assert "not JSON" in bad[0]
    assert "version '2.0' is not 0.x or 1.x" in bad[1]
    assert "timestamp is not an RFC 3339 time" in bad[3]
    assert "files is not a list" in bad[4]
    assert "not a 1-based range" in bad[5]
    assert "longer than 4096" in bad[6]
    assert "longer than 64" in bad[7]
    assert "longer than 250" in bad[8]
    skipped = [e for e in errors if e.endswith("range skipped")]
    assert any("../outside.py" in e and "outside the workspace" in e for e in skipped)
    assert any("/etc/passwd" in e and "outside the workspace" in e for e in skipped)
    assert any("shop/missing.py" in e and "no ailoop content hash" in e for e in skipped)
    assert any("shop/link.py" in e and "link" in e for e in skipped)
    assert "secret" not in done.stdout + done.stderr
    assert "9 bad record(s)" in done.stdout
    texts = sorted(e.text or "" for e in stored(data))
    assert texts == sorted(["import math", HELPER.rstrip("\n")])
