"""ailoop: closes the feedback loop around AI-written code, inside the editor."""

__version__ = "0.1.0"
