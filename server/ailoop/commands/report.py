"""``ailoop report``: one self-contained HTML file with the statistics as charts.

Built through the same statistics code as ``ailoop stats`` (from the local store, or with
``--team`` the shared one). The file opens offline: no script, no network, a strict
Content-Security-Policy; charts are SVG rendered when the report is built (Vega-Lite
through vl-convert-python: the ``report`` extra). ``--format json`` prints the
chart data instead, for a team's own dashboard.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import tempfile
from pathlib import Path
from typing import Any

from ailoop.commands import days, plain_text, whole_number
from ailoop.text import clean


def register(subparsers: Any) -> None:
    """Add the ``report`` subcommand."""
    parser: argparse.ArgumentParser = subparsers.add_parser(
        "report",
        help="an offline HTML report with charts (acceptance, funnel, patterns)",
        description=plain_text(__doc__),
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "-o", "--output", type=Path, help="file to write (report.html; '-' for stdout)"
    )
    parser.add_argument("--format", choices=("html", "json"), default="html")
    parser.add_argument("--since", type=days, metavar="DAYS", help="only the last DAYS days")
    parser.add_argument("--repo", help="only events of this repository")
    parser.add_argument(
        "--top", type=whole_number(1), default=10, help="how many patterns to chart (10)"
    )
    parser.add_argument(
        "--root", type=Path, default=Path(), help="workspace root (default: current directory)"
    )
    parser.add_argument("--data-dir", type=Path, help="data directory (default: AILOOP_DATA_DIR)")
    parser.add_argument(
        "--team", action="store_true", help="the team's numbers from the shared store"
    )
    parser.set_defaults(func=run)


def _write(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (a temporary file in the same folder, renamed)."""
    folder = path.parent if str(path.parent) else Path()
    fd, temporary = tempfile.mkstemp(prefix=f".{path.name}.", dir=folder)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        Path(temporary).replace(path)
    except BaseException:
        Path(temporary).unlink(missing_ok=True)
        raise


def run(args: argparse.Namespace) -> int:
    """Build the report; write it (or its data as JSON)."""
    from ailoop.commands.stats import collect_numbers
    from ailoop.report.charts import ChartsUnavailable
    from ailoop.report.data import chart_data
    from ailoop.report.page import render_html

    numbers = collect_numbers(args, "report")
    if numbers is None:
        return 1
    data = chart_data(numbers)
    if args.format == "json":
        text = json.dumps(data, indent=2, ensure_ascii=False) + "\n"
        default = "-"
    else:
        try:
            text = render_html(data)
        except ChartsUnavailable as exc:
            print(f"ailoop report: {exc}", file=sys.stderr)
            return 2
        default = "report.html"
    output = args.output if args.output is not None else Path(default)
    if str(output) == "-":
        sys.stdout.write(text)
        return 0
    try:
        _write(output, text)
    except OSError as exc:
        print(
            f"ailoop report: cannot write {clean(output, 500)}: {clean(exc, 500)}", file=sys.stderr
        )
        return 1
    print(f"{clean(output, 500)}: {len(text.encode('utf-8')):,} bytes, {data['events']} events")
    return 0
