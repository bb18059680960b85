"""Capture: recognise AI-inserted code, name it by content hash and follow it through edits."""
