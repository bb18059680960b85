"""Analytics over events: acceptance rates by tool, language, user and week.

Functions take an iterable of events, so the same code serves the local store and the
team's shared store.
"""
