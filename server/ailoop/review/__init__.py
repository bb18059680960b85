"""Code review outcomes, matched back to the AI snippets they judge, by content.

``payloads`` reads GitHub and GitLab webhook deliveries (and ``gh api`` output),
``git`` reads blobs and trees of the local checkout, ``ingest`` matches and records,
``receiver`` is the small webhook server. See docs/review.md.
"""
