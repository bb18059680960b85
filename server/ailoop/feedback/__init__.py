"""Edit-time feedback: lint, type and team-configured checkers on the unsaved buffer.

The LSP layer creates one :class:`EngineHub` per workspace, forwards document events to
it and publishes the :class:`Finding` objects it reports. See docs/feedback.md.

The names below are imported on first use: the agent hooks read the feedback settings on
every call and must not pay for the hub and asyncio.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ailoop.feedback.findings import Finding
    from ailoop.feedback.hub import EngineHub
    from ailoop.feedback.settings import (
        CommandEngineSettings,
        FeedbackSettings,
        parse_feedback_settings,
    )

_HOMES = {
    "CommandEngineSettings": "ailoop.feedback.settings",
    "EngineHub": "ailoop.feedback.hub",
    "FeedbackSettings": "ailoop.feedback.settings",
    "Finding": "ailoop.feedback.findings",
    "parse_feedback_settings": "ailoop.feedback.settings",
}

__all__ = [
    "CommandEngineSettings",
    "EngineHub",
    "FeedbackSettings",
    "Finding",
    "parse_feedback_settings",
]


def __getattr__(name: str) -> Any:
    home = _HOMES.get(name)
    if home is None:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(home), name)
    globals()[name] = value
    return value
