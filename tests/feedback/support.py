"""Helpers for the feedback tests: engine lookup and a recorder of hub callbacks."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from ailoop.feedback import Finding
from ailoop.feedback.locate import find_executable

FIXTURES = Path(__file__).resolve().parent.parent / "fixtures"


def require_engine(name: str) -> Path:
    """Return the engine's executable; fail under CI, skip elsewhere, when it is missing."""
    found = find_executable(name, None)
    if found is None:
        message = f"{name} is not installed (pip install {name})"
        if os.environ.get("CI", "").lower() in ("1", "true", "yes"):
            pytest.fail(message)
        pytest.skip(message)
    return found


def silent_server_command() -> list[str]:
    """A language server that starts and then never answers a check."""
    return [sys.executable, str(FIXTURES / "silent_language_server.py")]


@dataclass
class Report:
    """One ``on_findings`` call."""

    uri: str
    version: int
    engine: str
    findings: list[Finding]

    @property
    def codes(self) -> set[str]:
        return {finding.code for finding in self.findings}


@dataclass
class Recorder:
    """Collects the hub's callbacks and lets a test wait for one that matches."""

    reports: list[Report] = field(default_factory=list)
    problems: list[str] = field(default_factory=list)
    changed: asyncio.Event = field(default_factory=asyncio.Event)

    def on_findings(self, uri: str, version: int, engine: str, findings: list[Finding]) -> None:
        self.reports.append(Report(uri, version, engine, findings))
        self.changed.set()

    def on_problem(self, message: str) -> None:
        self.problems.append(message)
        self.changed.set()

    async def wait_report(
        self, predicate: Callable[[Report], bool], timeout: float = 20.0, after: int = 0
    ) -> Report:
        """Wait for a report (index >= ``after``) that matches ``predicate``."""

        async def wait() -> Report:
            while True:
                for report in self.reports[after:]:
                    if predicate(report):
                        return report
                self.changed.clear()
                await self.changed.wait()

        return await asyncio.wait_for(wait(), timeout)

    async def wait_problem(self, predicate: Callable[[str], bool], timeout: float = 20.0) -> str:
        """Wait for a problem message that matches ``predicate``."""

        async def wait() -> str:
            while True:
                for problem in self.problems:
                    if predicate(problem):
                        return problem
                self.changed.clear()
                await self.changed.wait()

        return await asyncio.wait_for(wait(), timeout)
