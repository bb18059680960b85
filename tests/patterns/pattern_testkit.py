"""Helpers shared by the pattern tests (events at chosen times, the patterns file)."""

from __future__ import annotations

import datetime as dt
import os
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from ailoop.store.events import Event, Kind
from ailoop.store.local import LocalStore

PATTERNS_TOML = r"""
[[pattern]]
id = "bare-except"
title = "bare except"
message = "Catch the exceptions you expect; a bare except also swallows KeyboardInterrupt."
fix = "name the exception, e.g. `except ValueError:`"
languages = ["python"]
regex = '^\s*except\s*:'

[[pattern]]
id = "eval-call"
title = "eval"
message = "eval runs arbitrary code."
languages = ["python", "javascript"]
ast_grep = "eval($$$ARGS)"
"""

#: Patterns that backtrack (the first past any deadline on 5,000 x's; the second is the
#: classic ReDoS that Python's re never finishes), and one that does not.
BACKTRACKING = r"""
[[pattern]]
id = "nested-repeat"
title = "nested repetition"
regex = '(x+x+)+y'

[[pattern]]
id = "redos-classic"
title = "classic ReDoS"
regex = '^(\s*a+)+$'

[[pattern]]
id = "todo"
title = "TODO"
regex = 'TODO'
"""

BARE_EXCEPT_SNIPPET = """\
def load(path):
    try:
        return open(path).read()
    except:
        return None
"""

NOW = dt.datetime(2026, 11, 20, 12, 0, tzinfo=dt.timezone.utc)


def ts(moment: dt.datetime) -> str:
    """Format ``moment`` like an event timestamp."""
    return (
        moment.astimezone(dt.timezone.utc).isoformat(timespec="milliseconds").replace("+00:00", "Z")
    )


def outcome(
    kind: Kind, findings: Sequence[str] = (), when: dt.datetime | None = None, **fields: Any
) -> Event:
    """Return an event of ``kind`` for a fresh snippet, at ``when`` if given."""
    if when is not None:
        fields["ts"] = ts(when)
    return Event(
        kind=kind, snippet=f"sha256:{os.urandom(8).hex()}", findings=tuple(findings), **fields
    )


def store_events(data_dir: Path, events: Sequence[Event]) -> None:
    """Append ``events`` to the local store in ``data_dir``."""
    store = LocalStore.open(data_dir)
    try:
        store.append(list(events))
    finally:
        store.close()
