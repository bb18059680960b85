"""Fixtures of the review tests: isolated config and data directories."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture(autouse=True)
def _isolated(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("AILOOP_CONFIG_DIR", str(tmp_path / "config"))
    monkeypatch.setenv("AILOOP_DATA_DIR", str(tmp_path / "data"))
    monkeypatch.delenv("AILOOP_STORE_URL", raising=False)


@pytest.fixture
def data_dir(tmp_path: Path) -> Path:
    """The local store's directory."""
    return tmp_path / "data"
