"""docs/neovim.md cannot drift: its Lua blocks run in real Neovim against the real server.

Each Lua block follows a marker comment ``<!-- test: VERSIONS -->`` where VERSIONS is
``all``, a version (``0.11``, ``0.7``) or a range (``0.8-0.10``). In every Neovim the suite
has, a block meant for that version runs after the runtime-path block, as in a user's
init.lua, with ``cmd = { 'ailoop', 'serve' }`` resolved to this checkout's server; then a
pasted snippet must get ailoop's marker. Blocks for other versions must still compile and
name only functions ``require('ailoop')`` has.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from nvim_harness import REPO, Workspace, nvim_version, run_scenario

pytestmark = pytest.mark.editors

DOC = REPO / "docs" / "neovim.md"
BLOCK = re.compile(r"<!-- test: (?P<versions>[^>]+?) -->\s*```lua\n(?P<code>.*?)```", re.S)
RUNTIME_PATH_PLACEHOLDER = "/path/to/ailoop/client-nvim"


def doc_blocks() -> list[tuple[str, str]]:
    """(versions, code) of every tested Lua block, in document order."""
    text = DOC.read_text()
    blocks = [(m["versions"].strip(), m["code"]) for m in BLOCK.finditer(text)]
    assert len(blocks) == text.count("```lua"), "a Lua block in docs/neovim.md has no test marker"
    return blocks


def version_tuple(version: str) -> tuple[int, ...]:
    """``"0.11.4"`` -> ``(0, 11, 4)``."""
    return tuple(int(part) for part in version.split("."))


def applies(versions: str, version: str) -> bool:
    """Whether a block marked ``versions`` is meant for Neovim ``version`` (e.g. 0.11.4)."""
    if versions == "all":
        return True
    low, _, high = versions.partition("-")
    minor = version_tuple(version)[:2]
    return version_tuple(low) <= minor <= version_tuple(high or low)


def blocks_for(version: str) -> list[tuple[int, str]]:
    """(index, code) of the blocks meant for ``version``, the runtime-path block first."""
    return [
        (i, code) for i, (versions, code) in enumerate(doc_blocks()) if applies(versions, version)
    ]


def user_code(code: str) -> str:
    """A doc block with the runtime-path placeholder pointing at this checkout."""
    return code.replace(RUNTIME_PATH_PLACEHOLDER, str(REPO / "client-nvim"))


def starts_ailoop(code: str) -> bool:
    """Whether a block starts the server itself (setup(), a by-hand config, or lsp/ailoop.lua)."""
    return any(
        call in code
        for call in (
            "require('ailoop').setup(",
            "require('ailoop').client_config(",
            "vim.lsp.enable('ailoop')",
        )
    )


def test_doc_blocks_are_marked_and_the_first_sets_the_runtime_path() -> None:
    """Every block is tested, and the first one is the runtime-path line users copy."""
    blocks = doc_blocks()
    assert len(blocks) >= 8
    assert RUNTIME_PATH_PLACEHOLDER in blocks[0][1]


@pytest.mark.parametrize("index", range(len(doc_blocks())))
def test_doc_block_runs(nvim: str, project: Workspace, index: int) -> None:
    """The block works in this Neovim (or, if meant for another version, compiles here)."""
    version = nvim_version(nvim)
    assert version is not None
    versions, code = doc_blocks()[index]
    runtime_path = user_code(doc_blocks()[0][1])
    if not applies(versions, version):
        seen = run_scenario(
            nvim, project, "docs_compile", AILOOP_TEST_BLOCKS=json.dumps([user_code(code)])
        )
        assert seen["missing"] == [], f"block {index} uses functions ailoop lacks"
        return
    blocks = [runtime_path] if index == 0 else [runtime_path, user_code(code)]
    seen = run_scenario(
        nvim,
        project,
        "docs_blocks",
        AILOOP_TEST_BLOCKS=json.dumps(blocks),
        runtimepath=False,  # the docs' own runtime-path block puts client-nvim there
        AILOOP_TEST_START="block" if starts_ailoop(code) else "setup",
    )
    assert seen["marker"]["code"] == "ai-snippet"
    assert Path(seen["attached"]["root_dir"]) == project.root
    if "statusline" in code:
        assert "ailoop · 1 pending" in seen["statusline"], seen["statusline"]
