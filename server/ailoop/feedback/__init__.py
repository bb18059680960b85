"""Edit-time feedback: lint, type and team-configured checkers on the unsaved buffer.

The LSP layer creates one :class:`EngineHub` per workspace, forwards document events to
it and publishes the :class:`Finding` objects it reports. See docs/feedback.md.
"""

from ailoop.feedback.findings import Finding
from ailoop.feedback.hub import EngineHub
from ailoop.feedback.settings import (
    CommandEngineSettings,
    FeedbackSettings,
    parse_feedback_settings,
)

__all__ = [
    "CommandEngineSettings",
    "EngineHub",
    "FeedbackSettings",
    "Finding",
    "parse_feedback_settings",
]
