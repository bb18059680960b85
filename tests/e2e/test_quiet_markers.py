"""Quiet by default, through the real server: a hint per snippet, one diagnostic per problem."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

from lsprotocol import types

from ailoop.capture.identity import snippet_id
from ailoop.store.events import Kind
from tests.e2e.lsp import change, diagnostics_where, markers, open_doc, session, with_code
from tests.patterns.pattern_testkit import outcome, store_events

BASE = "import os\n\n\n"
SNIPPET = "def port(raw):\n    try:\n        return int(raw)\n    except:\n        return 8080\n"
UNDEFINED = "def load(path):\n    data = read_file(path)\n    return data\n"
PATTERNS = """
[[pattern]]
id = "bare-except"
title = "bare except"
languages = ["python"]
regex = '^\\s*except\\s*:'
"""


def whole(line: int, end: tuple[int, int]) -> dict[str, dict[str, int]]:
    return {"start": {"line": line, "character": 0}, "end": {"line": end[0], "character": end[1]}}


async def test_the_marker_is_a_hint_on_the_snippets_first_line(
    data_dir: Path, workspace: Path
) -> None:
    async with session("visual_studio_code", data_dir, workspace) as client:
        uri = open_doc(client, workspace / "shop" / "net.py", BASE)
        change(client, uri, 2, (3, 0), (3, 0), SNIPPET)
        (marker,) = markers(await diagnostics_where(client, uri, lambda d: bool(markers(d))))
        assert marker.severity == types.DiagnosticSeverity.Hint
        assert marker.range == types.Range(types.Position(3, 0), types.Position(3, 14))
        assert marker.data["snippet"] == snippet_id(SNIPPET)
        assert marker.data["state"] == "unreviewed"
        assert marker.data["range"] == whole(3, (7, 19))  # the whole snippet, for clients

        # the actions are there from any line of the snippet, not only the marked one
        actions = await client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri),
                range=types.Range(types.Position(6, 2), types.Position(6, 2)),
                context=types.CodeActionContext(diagnostics=[]),
            )
        )
        assert any(a.title.startswith("Accept AI snippet") for a in actions)


async def test_marker_full_restores_the_information_marker_over_the_snippet(
    data_dir: Path, workspace: Path
) -> None:
    async with session(
        "neovim", data_dir, workspace, init_options={"detect": {"marker": "full"}}
    ) as client:
        uri = open_doc(client, workspace / "shop" / "net.py", BASE)
        change(client, uri, 2, (3, 0), (3, 0), SNIPPET)
        (marker,) = markers(await diagnostics_where(client, uri, lambda d: bool(markers(d))))
        assert marker.severity == types.DiagnosticSeverity.Information
        assert marker.range == types.Range(types.Position(3, 0), types.Position(7, 19))


async def test_a_bad_marker_setting_is_one_message_and_the_default(
    data_dir: Path, workspace: Path
) -> None:
    async with session(
        "neovim", data_dir, workspace, init_options={"detect": {"marker": "loud"}}
    ) as client:
        uri = open_doc(client, workspace / "shop" / "net.py", BASE)
        change(client, uri, 2, (3, 0), (3, 0), SNIPPET)
        (marker,) = markers(await diagnostics_where(client, uri, lambda d: bool(markers(d))))
        assert marker.severity == types.DiagnosticSeverity.Hint
        told = [m.message for m in client.messages if "detect.marker" in m.message]
        assert told, client.messages
        assert "must be one of line, full" in told[0], told


async def test_a_rule_and_the_team_pattern_naming_it_are_one_diagnostic(
    data_dir: Path, workspace: Path
) -> None:
    """ruff's E722 (bare-except) and the team's pattern:bare-except on one except: line."""
    (workspace / ".ailoop").mkdir()
    (workspace / ".ailoop" / "patterns.toml").write_text(PATTERNS, encoding="utf-8")
    store_events(  # the team rejected it three times: the pattern has support
        data_dir,
        [outcome(Kind.REJECTED, ["pattern:bare-except", "ruff:E722"]) for _ in range(3)],
    )
    async with session("visual_studio_code", data_dir, workspace) as client:
        uri = open_doc(client, workspace / "shop" / "net.py", BASE)
        change(client, uri, 2, (3, 0), (3, 0), SNIPPET)

        def merged(items: Sequence[types.Diagnostic]) -> bool:
            # The snippet's marker comes once its event is stored: its actions exist then.
            return bool(markers(items)) and any(
                {"ruff:E722", "pattern:bare-except"} <= set((d.data or {}).get("codes", ()))
                for d in items
            )

        found = await diagnostics_where(client, uri, merged)
        on_except = [d for d in found if d.range.start.line == 6 and d.code != "ai-snippet"]
        assert len(on_except) == 1, on_except
        (one,) = on_except
        assert one.code == "ruff:E722"
        assert one.data["codes"] == ["ruff:E722", "pattern:bare-except"]
        assert one.data["snippet"] == snippet_id(SNIPPET)
        assert one.message.count("known rejection pattern: bare except — rejected 3×") == 1
        assert one.message.startswith("Do not use bare `except`")

        actions = await client.text_document_code_action_async(
            types.CodeActionParams(
                text_document=types.TextDocumentIdentifier(uri),
                range=types.Range(types.Position(6, 4), types.Position(6, 4)),
                context=types.CodeActionContext(diagnostics=[]),
            )
        )
        keys = {
            a.command.arguments[0].get("pattern"): a.title
            for a in actions
            if a.command is not None and a.command.arguments
        }
        assert keys["ruff:E722"] == "Reject: bare except (ruff E722)"  # either key can be picked
        assert keys["pattern:bare-except"] == "Reject: bare except (team pattern)"


async def test_ruff_undefined_name_and_ty_unresolved_reference_are_one_diagnostic(
    data_dir: Path, workspace: Path
) -> None:
    async with session("visual_studio_code", data_dir, workspace) as client:
        uri = open_doc(client, workspace / "shop" / "files.py", BASE)
        change(client, uri, 2, (3, 0), (3, 0), UNDEFINED)

        def both(items: Sequence[types.Diagnostic]) -> bool:
            return any(
                {"ruff:F821", "ty:unresolved-reference"} <= set((d.data or {}).get("codes", ()))
                for d in items
            )

        found = await diagnostics_where(client, uri, both)
        on_name = [d for d in found if d.range.start.line == 4 and d.code != "ai-snippet"]
        assert len(on_name) == 1, on_name
        (one,) = on_name
        assert one.range == types.Range(types.Position(4, 11), types.Position(4, 20))
        assert set(one.data["codes"]) == {"ruff:F821", "ty:unresolved-reference"}
        assert with_code(found, "ruff:F821") == with_code(found, "ty:unresolved-reference")
