"""``ailoop serve``: run the language server on stdio."""

from __future__ import annotations

import argparse
import gc
import logging
from pathlib import Path
from typing import Any


def register(subparsers: Any) -> None:
    """Add the ``serve`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "serve", help="run the language server on stdio"
    )
    parser.add_argument(
        "--stdio", action="store_true", help="use stdio (the default and only transport)"
    )
    parser.add_argument("--data-dir", type=Path, help="data directory (default: AILOOP_DATA_DIR)")
    parser.add_argument(
        "--record",
        type=Path,
        metavar="FILE",
        help="write every message the editor sends to FILE (to play with ailoop replay)",
    )
    parser.add_argument("--log-file", type=Path, help="also write the server log to this file")
    parser.add_argument(
        "--log-level",
        default="WARNING",
        choices=("DEBUG", "INFO", "WARNING", "ERROR"),
        help="level of the log on stderr (and --log-file)",
    )
    parser.set_defaults(func=run)


def _errors_sent_to_the_client(record: logging.LogRecord) -> bool:
    """Drop pygls's traceback for a request error the client is told about anyway."""
    from pygls.exceptions import JsonRpcException

    exc = record.exc_info[1] if record.exc_info else None
    return not isinstance(exc, JsonRpcException)


def run(args: argparse.Namespace) -> int:
    """Serve until the client says exit."""
    handlers: list[logging.Handler] = [logging.StreamHandler()]
    if args.log_file:
        handlers.append(logging.FileHandler(args.log_file, encoding="utf-8"))
    logging.basicConfig(
        level=args.log_level,
        handlers=handlers,
        format="%(asctime)s %(name)s %(levelname)s %(message)s",
    )
    logging.getLogger("pygls.protocol.json_rpc").addFilter(_errors_sent_to_the_client)
    gc.disable()  # until initialize is answered: see ailoop.lsp.lifecycle.end_of_start_up
    from ailoop.lsp import create_server

    server = create_server(args.data_dir)
    if args.record is None:
        server.start_io()
        return 0
    import sys

    from ailoop.recording import RecordingStdin

    with args.record.open("w", encoding="utf-8") as sink:
        server.start_io(stdin=RecordingStdin(sys.stdin.buffer, sink))  # type: ignore[arg-type]
    return 0
