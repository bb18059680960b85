"""ChildServer against the real `ruff server`: pull and push diagnostics."""

from __future__ import annotations

from pathlib import Path

import pytest

from ailoop.feedback.child import ChildServer

from .support import require_engine


@pytest.mark.parametrize("pull", [True, False])
async def test_diagnostics_for_the_version_sent(project: Path, pull: bool) -> None:
    ruff = require_engine("ruff")
    child = ChildServer([str(ruff), "server"], project, pull_diagnostics=pull)
    await child.start(timeout=20)
    try:
        assert child.supports_pull is pull
        uri = (project / "a.py").as_uri()
        child.did_open(uri, "python", 1, "x = 1\n")
        assert await child.diagnostics(uri, 1, timeout=10) == []
        child.did_change(uri, 2, [(None, "import os\n")])
        diagnostics = await child.diagnostics(uri, 2, timeout=10)
        assert [item["code"] for item in diagnostics] == ["F401"]
        # ruff takes ranged changes: the unused import moves down a line
        assert child.incremental_sync
        child.did_change(uri, 3, [(((0, 0), (0, 0)), '"""Docs."""\n')])
        diagnostics = await child.diagnostics(uri, 3, timeout=10)
        assert [(item["code"], item["range"]["start"]["line"]) for item in diagnostics] == [
            ("F401", 1)
        ]
    finally:
        await child.stop()
    assert child.exited is not None
    assert child.exited.done()
    assert not child.running
