"""``ailoop context evaluate``: each rule's effect, measured by the rule experiment.

For each rule that agent sessions were shown or had withheld (events' ``context``), the
rejection rate of the snippets it targets, in sessions that had it vs sessions that did
not: session and snippet counts, the odds ratio of rejection with its interval, and a
verdict (helps / no effect yet / no effect / hurts). A rule that hurts is withdrawn:
recorded in ``.ailoop/context-withdrawn.json``, so ``ailoop context`` and the session-start
context leave it out. See docs/patterns.md, "The rule experiment".
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import sys
from pathlib import Path
from typing import Any


def _rate(value: float | None) -> str:
    return "-" if value is None else f"{value:.0%}"


def run_evaluate(args: argparse.Namespace) -> int:
    """Measure, print, and record the rules that hurt as withdrawn."""
    from ailoop.commands.context import this_repository
    from ailoop.patterns.experiment import (
        HURTS,
        NO_EFFECT,
        evaluate,
        load_withdrawn,
        read_settings,
        save_withdrawn,
    )
    from ailoop.patterns.stats import iso_utc
    from ailoop.store.local import LocalStore, StoreError
    from ailoop.text import clean
    from ailoop.workspace_files import WorkspaceFileError

    root: Path = args.root.resolve()
    settings, problems = read_settings(root)
    withdrawn, more = load_withdrawn(root)
    for problem in (*problems, *more):
        print(f"ailoop context evaluate: {clean(problem, 2000)}", file=sys.stderr)
    repo = args.repo if args.repo is not None else this_repository(root)
    try:
        store = LocalStore.open(args.data_dir)
        try:
            events = [e for e in store.events() if not repo or e.repo == repo]
        finally:
            store.close()
    except StoreError as exc:
        print(f"ailoop context evaluate: {clean(exc, 2000)}", file=sys.stderr)
        return 1
    effects = evaluate(events, settings, withdrawn)
    now = iso_utc(dt.datetime.now(dt.timezone.utc))
    newly = {
        e.key: {
            "at": now,
            "odds_ratio": round(e.odds_ratio, 4),
            "interval": [round(e.low, 4), round(e.high, 4)],
            "sessions_shown": e.shown.sessions,
            "sessions_withheld": e.withheld.sessions,
        }
        for e in effects
        if e.verdict == HURTS and e.key not in withdrawn
    }
    failed = False
    if newly:
        try:
            save_withdrawn(root, {**withdrawn, **newly})
        except WorkspaceFileError as exc:
            print(f"ailoop context evaluate: {clean(exc, 2000)}", file=sys.stderr)
            failed = True
    if args.format == "json":
        out: dict[str, Any] = {
            "settings": {
                "enabled": settings.enabled,
                "withhold": settings.withhold,
                "confidence": settings.confidence,
                "min_sessions": settings.min_sessions,
                "flag_after_sessions": settings.flag_after_sessions,
            },
            "rules": [e.to_json() for e in effects],
            "newly_withdrawn": sorted(newly),
        }
        sys.stdout.write(json.dumps(out, indent=2) + "\n")
        return 1 if failed else 0
    if not settings.enabled:
        print("the rule experiment is off ([context.experiment] enabled = false)")
    if not effects:
        print("no agent session recorded which rules it was shown yet")
        return 1 if failed else 0
    header = (
        f"{'rule':<32} {'verdict':<24} {'sessions':>13} {'snippets':>13} "
        f"{'rejected':>15} {'odds ratio (' + format(settings.confidence, '.0%') + ')':>22}"
    )
    print(header)
    print("-" * len(header))
    for e in effects:
        verdict = e.verdict
        if e.key in newly:
            verdict = "hurts: withdrawn"
        elif e.withdrawn:
            verdict = f"{verdict} (withdrawn)"
        interval = (
            "-" if e.high == float("inf") else f"{e.odds_ratio:.2f} ({e.low:.2f}-{e.high:.2f})"
        )
        print(
            f"{clean(e.key, 32):<32} {verdict:<24} "
            f"{e.shown.sessions:>6}/{e.withheld.sessions:<6} "
            f"{e.shown.snippets:>6}/{e.withheld.snippets:<6} "
            f"{_rate(e.shown.rate):>7}/{_rate(e.withheld.rate):<7} {interval:>22}"
        )
    print(
        "sessions, snippets and rejected: shown/withheld; odds ratio of rejection shown vs "
        "withheld (below 1: the rule helps)"
    )
    flagged = [e.key for e in effects if e.verdict == NO_EFFECT]
    if flagged:
        print(
            f"no effect after {settings.flag_after_sessions} sessions: "
            + ", ".join(clean(k, 100) for k in flagged)
            + " (consider removing them from the context)"
        )
    return 1 if failed else 0
