"""``ailoop stats`` trend rows in a pseudo-terminal of fixed width, wide and narrow."""

from __future__ import annotations

import datetime as dt
import fcntl
import os
import pty
import select
import struct
import subprocess
import sys
import termios
from pathlib import Path

import pytest

from ailoop.analytics.termcharts import BLOCKS
from tests.report.conftest import ailoop, cli_env, stats_json
from tests.report.report_store import fill, ten_weeks

SPARK = set(BLOCKS)


@pytest.fixture(scope="module")
def data_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    path = tmp_path_factory.mktemp("stats-charts")
    fill(path, ten_weeks(dt.datetime.now(dt.timezone.utc)))
    return path


def in_pty(data_dir: Path, columns: int, *args: str) -> str:
    """Run ``ailoop stats ARGS`` with its output on a pseudo-terminal ``columns`` wide."""
    leader, follower = pty.openpty()
    fcntl.ioctl(follower, termios.TIOCSWINSZ, struct.pack("HHHH", 50, columns, 0, 0))
    env = {k: v for k, v in cli_env(data_dir).items() if k not in ("COLUMNS", "LINES")}
    process = subprocess.Popen(
        [sys.executable, "-m", "ailoop", "stats", *args],
        stdin=subprocess.DEVNULL,
        stdout=follower,
        stderr=subprocess.PIPE,
        cwd=data_dir,
        env=env,
    )
    os.close(follower)
    chunks = []
    while True:
        ready, _, _ = select.select([leader], [], [], 60)
        if not ready:
            process.kill()
            pytest.fail("ailoop stats did not finish in a pseudo-terminal")
        try:
            chunk = os.read(leader, 65536)
        except OSError:  # the follower side closed
            break
        if not chunk:
            break
        chunks.append(chunk)
    os.close(leader)
    assert process.wait(timeout=30) == 0
    return b"".join(chunks).decode("utf-8").replace("\r\n", "\n")


def chart_lines(output: str) -> list[str]:
    """The lines between the headline and the first table."""
    lines = output.split("\n")
    return lines[1 : lines.index("By tool")]


def test_wide_terminal_has_trend_rows(data_dir: Path) -> None:
    stats = stats_json(data_dir, data_dir)
    output = in_pty(data_dir, 100)
    rows = [line for line in chart_lines(output) if line]
    assert all(len(line) <= 100 for line in rows), rows
    tools = [t["group"] for t in stats["by"]["tool"]]
    weeks = len(stats["by"]["week"])
    for tool in tools[:3]:
        row = next(line for line in rows if line.startswith(tool))
        spark = row[len(tool) :].strip().split("  ")[0]
        assert len(spark) == weeks, row
        assert set(spark) - {" "} <= SPARK, row
        total = next(t for t in stats["by"]["tool"] if t["group"] == tool)
        assert row.endswith(f"{total['rate']:.0%} of {total['outcomes']}")
    for pattern in stats["top_patterns"]:
        row = next(line for line in rows if line.startswith(pattern["pattern"]))
        assert row.endswith(f"{pattern['rejected']}× rejected")
        assert "█" in row
    # the tables are there as without charts
    assert "By stage" in output


def test_narrow_terminal_degrades(data_dir: Path) -> None:
    stats = stats_json(data_dir, data_dir)
    output = in_pty(data_dir, 30)
    rows = [line for line in chart_lines(output) if line]
    assert rows, output
    assert all(len(line) <= 30 for line in rows), rows
    first = stats["by"]["tool"][0]
    row = next(line for line in rows if line.startswith(first["group"]))
    assert not SPARK & set(row)  # no room for a trend: the numbers only
    assert row.endswith(f"{first['rate']:.0%} of {first['outcomes']}")


def test_middle_width_keeps_latest_weeks(data_dir: Path) -> None:
    stats = stats_json(data_dir, data_dir)
    output = in_pty(data_dir, 40)
    rows = [line for line in chart_lines(output) if line]
    assert all(len(line) <= 40 for line in rows), rows
    first = stats["by"]["tool"][0]["group"]
    row = next(line for line in rows if line.startswith(first))
    spark = row[len(first) :].strip().split("  ")[0]
    assert 4 <= len(spark) < len(stats["by"]["week"])


def test_no_charts_off_a_terminal_unless_asked(data_dir: Path) -> None:
    piped = ailoop(data_dir, "stats", cwd=data_dir).stdout
    assert chart_lines(piped) == [""]
    asked = ailoop(data_dir, "stats", "--charts", cwd=data_dir).stdout
    assert any(SPARK & set(line) for line in chart_lines(asked))
    assert not any(SPARK & set(line) for line in in_pty(data_dir, 100, "--no-charts").split("\n"))
    json_out = in_pty(data_dir, 100, "--format", "json")
    assert json_out.lstrip().startswith("{")
    assert not SPARK & set(json_out)
