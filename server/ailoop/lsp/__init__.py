"""The language server: thin pygls glue around capture, feedback and the stores.

:mod:`~ailoop.lsp.server` is the server object and its connection to the editor,
:mod:`~ailoop.lsp.session` the state (workspace folders, open documents); each other
module is one feature that registers its handlers on the server.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from ailoop.lsp.server import AiloopServer


def create_server(data_dir: Path | None = None) -> AiloopServer:
    """Build the server with all its features registered."""
    from ailoop.lsp import (
        documents,
        engines,
        known_patterns,
        lifecycle,
        review,
        shape_keys,
        trust,
        watched,
    )
    from ailoop.lsp.server import AiloopServer

    server = AiloopServer(data_dir)
    features = (lifecycle, documents, engines, known_patterns, shape_keys, review, trust, watched)
    for feature in features:
        feature.register(server)
    return server
