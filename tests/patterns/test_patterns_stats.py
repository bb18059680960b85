"""Pattern statistics: recency weighting, support, lift, the SQL path, messages."""

from __future__ import annotations

import dataclasses
import datetime as dt
from pathlib import Path

import pytest
from pattern_testkit import NOW, outcome, store_events

from ailoop.patterns import (
    PatternSettings,
    PatternStats,
    compute_pattern_stats,
    diagnostic_message,
    severity_for,
)
from ailoop.patterns.aggregate import local_pattern_stats
from ailoop.store.events import Event, Kind, Source

DAY = dt.timedelta(days=1)
DEFAULTS = PatternSettings()


def test_recent_week_carries_seventy_percent() -> None:
    events = [
        # A: rejected in the last days, accepted long ago
        *[outcome(Kind.REJECTED, ["pattern:a"], NOW - 1 * DAY) for _ in range(3)],
        *[outcome(Kind.ACCEPTED, ["pattern:a"], NOW - 30 * DAY) for _ in range(3)],
        # B: the other way round
        *[outcome(Kind.ACCEPTED, ["pattern:b"], NOW - 2 * DAY) for _ in range(3)],
        *[outcome(Kind.REJECTED, ["pattern:b"], NOW - 20 * DAY) for _ in range(3)],
    ]
    stats = compute_pattern_stats(events, DEFAULTS, NOW)
    assert stats["pattern:a"].score == pytest.approx(0.7)
    assert stats["pattern:b"].score == pytest.approx(0.3)
    assert stats["pattern:a"].rejected_recent == 3
    assert stats["pattern:b"].rejected_recent == 0
    assert stats["pattern:b"].rejected == 3


def test_window_is_whole_utc_days_today_included() -> None:
    # NOW is 2026-11-20 12:00 UTC: the last 7 days are 2026-11-14 .. 2026-11-20
    first_recent = dt.datetime(2026, 11, 14, 0, 0, tzinfo=dt.timezone.utc)
    events = [
        outcome(Kind.REJECTED, ["pattern:a"], first_recent),
        outcome(Kind.ACCEPTED, ["pattern:a"], first_recent - dt.timedelta(milliseconds=1)),
    ]
    stats = compute_pattern_stats(events, DEFAULTS, NOW)["pattern:a"]
    assert (stats.rejected_recent, stats.accepted_recent) == (1, 0)
    assert stats.score == pytest.approx(0.7)
    even = PatternSettings(recent_days=3, recent_weight=1, older_weight=1)
    assert compute_pattern_stats(events, even, NOW)["pattern:a"].score == pytest.approx(0.5)


def test_timestamps_with_offsets_count_by_their_utc_day() -> None:
    # 2026-11-14 00:30 at +01:00 is 2026-11-13 23:30 UTC: older than the window
    event = outcome(Kind.REJECTED, ["pattern:a"], ts="2026-11-14T00:30:00+01:00")
    assert compute_pattern_stats([event], DEFAULTS, NOW)["pattern:a"].rejected_recent == 0


def test_a_period_without_outcomes_hands_its_weight_over() -> None:
    events = [outcome(Kind.REJECTED, ["pattern:a"], NOW - 40 * DAY) for _ in range(2)]
    assert compute_pattern_stats(events, DEFAULTS, NOW)["pattern:a"].score == pytest.approx(1.0)


def test_minimum_support() -> None:
    two = [outcome(Kind.REJECTED, ["pattern:a"], NOW - DAY) for _ in range(2)]
    assert not compute_pattern_stats(two, DEFAULTS, NOW)["pattern:a"].supported
    three = [*two, outcome(Kind.REJECTED, ["pattern:a"], NOW - DAY)]
    assert compute_pattern_stats(three, DEFAULTS, NOW)["pattern:a"].supported
    strict = PatternSettings(min_support=4)
    assert not compute_pattern_stats(three, strict, NOW)["pattern:a"].supported


def test_lift_keeps_a_noisy_rule_from_warning() -> None:
    # the rule ruff:E501 is in many snippets and they are accepted more often than the rest
    noisy = [outcome(Kind.ACCEPTED, ["ruff:E501"], NOW - DAY) for _ in range(16)]
    noisy += [outcome(Kind.REJECTED, ["ruff:E501"], NOW - DAY) for _ in range(4)]
    plain = [outcome(Kind.ACCEPTED, [], NOW - DAY) for _ in range(5)]
    plain += [outcome(Kind.REJECTED, [], NOW - DAY) for _ in range(5)]
    picked = [outcome(Kind.REJECTED, [], NOW - DAY, pattern="bare-except") for _ in range(4)]
    picked += [outcome(Kind.ACCEPTED, ["pattern:bare-except"], NOW - DAY)]
    stats = compute_pattern_stats(noisy + plain + picked, DEFAULTS, NOW)
    # odds ratios against the snippets without the key, 0.5 added to each cell
    assert stats["ruff:E501"].rejected == 4
    assert stats["ruff:E501"].lift == pytest.approx((4.5 / 16.5) / (9.5 / 6.5))
    assert not stats["ruff:E501"].supported
    bare = stats["pattern:bare-except"]
    assert bare.lift == pytest.approx((4.5 / 1.5) / (9.5 / 21.5))
    assert bare.lift_low > DEFAULTS.min_lift
    assert bare.supported


def test_outcomes_that_do_not_count() -> None:
    events = [
        outcome(Kind.GENERATED, ["pattern:a"], NOW),
        outcome(Kind.REVERTED, ["pattern:a"], NOW),
        outcome(Kind.MODIFIED, ["pattern:a"], NOW),
        outcome(Kind.KEPT, ["pattern:a"], NOW),
    ]
    stats = compute_pattern_stats(events, DEFAULTS, NOW)["pattern:a"]
    assert (stats.rejected, stats.accepted) == (0, 1)


def test_promoted_reasons_count_for_their_pattern() -> None:
    events = [
        outcome(Kind.REJECTED, [], NOW - DAY, reason="Bare except!"),
        outcome(Kind.REJECTED, [], NOW - DAY, reason="avoid bare excepts."),
        outcome(Kind.REJECTED, [], NOW - DAY, reason="too long"),
    ]
    stats = compute_pattern_stats(events, DEFAULTS, NOW, {"bare except": "pattern:bare-except"})
    assert stats["pattern:bare-except"].rejected == 2


def test_store_summary_matches_the_event_path_and_follows_new_events(tmp_path: Path) -> None:
    now = dt.datetime.now(dt.timezone.utc)
    events = [
        outcome(Kind.REJECTED, ["pattern:a", "ruff:BLE001"], now - DAY, reason="Bare except"),
        outcome(Kind.REJECTED, ["pattern:a"], now - 10 * DAY),
        outcome(Kind.KEPT, ["pattern:a"], now - 2 * DAY),
        outcome(Kind.ACCEPTED, ["ruff:BLE001"], now - 9 * DAY),
        outcome(Kind.REJECTED, [], now - DAY, pattern="pattern:b", reason="bare excepts"),
        outcome(Kind.REJECTED, ["pattern:c"], now - DAY, reason="bare except!"),
        outcome(Kind.REVERTED, ["pattern:a"], now - DAY),
        outcome(Kind.REJECTED, ["pattern:a"], ts="2026-01-05T23:30:00-02:00"),
    ]
    promoted = {"bare except": "pattern:c"}
    store_events(tmp_path, events[:4])
    assert local_pattern_stats(DEFAULTS, now, tmp_path, promoted) == compute_pattern_stats(
        events[:4], DEFAULTS, now, promoted
    )
    store_events(tmp_path, events[4:])  # the next call adds only these
    from_store = local_pattern_stats(DEFAULTS, now, tmp_path, promoted)
    assert from_store == compute_pattern_stats(events, DEFAULTS, now, promoted)
    assert set(from_store) == {"pattern:a", "pattern:b", "pattern:c", "ruff:BLE001"}
    assert (
        from_store["pattern:c"].rejected == 3
    )  # two promoted reasons, one finding, no double count
    assert local_pattern_stats(DEFAULTS, now, tmp_path / "empty") == {}


def test_summary_starts_over_for_a_replaced_store(tmp_path: Path) -> None:
    now = dt.datetime.now(dt.timezone.utc)
    store_events(tmp_path, [outcome(Kind.REJECTED, ["pattern:old"], now) for _ in range(5)])
    assert local_pattern_stats(DEFAULTS, now, tmp_path)["pattern:old"].rejected == 5
    for name in ("events.db", "events.db-wal", "events.db-shm"):
        (tmp_path / name).unlink(missing_ok=True)
    fresh = [outcome(Kind.REJECTED, ["pattern:new"], now) for _ in range(6)]
    store_events(tmp_path, fresh)
    assert local_pattern_stats(DEFAULTS, now, tmp_path) == compute_pattern_stats(
        fresh, DEFAULTS, now
    )


def test_diagnostic_message_and_severity() -> None:
    stats = PatternStats("pattern:bare-except", 12, 1, 5, 0.9, 2.0, True)
    assert diagnostic_message(stats, "bare except") == (
        "known rejection pattern: bare except — rejected 12× (5 in the last 7 days), accepted 1×"
    )
    no_accept = PatternStats("ruff:BLE001", 3, 0, 3, 0.5, 1.5, True)
    assert diagnostic_message(no_accept, "") == (
        "known rejection pattern: ruff:BLE001 — rejected 3× (3 in the last 7 days)"
    )
    assert severity_for(stats) == 2
    assert severity_for(no_accept) == 3
    assert severity_for(PatternStats("x:y", 3, 9, 0, 0.2, 1.6, True)) == 4


def test_settings_from_mapping() -> None:
    settings, problems = PatternSettings.from_mapping(
        {"recentDays": 14, "min_support": 5, "recent_weight": "lots", "colour": "red"}
    )
    assert settings.recent_days == 14
    assert settings.min_support == 5
    assert settings.recent_weight == 0.7
    assert len(problems) == 2
    assert any("'recent_weight'" in p for p in problems)
    assert any("'colour'" in p for p in problems)


def test_review_verdicts_count_like_editor_outcomes(tmp_path: Path) -> None:
    """Changes requested or closed unmerged count against a snippet's keys, approved or
    merged for them; a comment alone, or a verdict kept at PR level, does not count."""
    now = dt.datetime.now(dt.timezone.utc)

    def review(result: str, findings: list[str], snippet: str | None = None) -> Event:
        event = outcome(Kind.REVIEWED, findings, now - DAY, outcome=result, source=Source.REVIEW)
        return event if snippet is None else dataclasses.replace(event, snippet=snippet)

    events = [
        review("changes_requested", ["ruff:E722"]),
        review("closed", ["ruff:E722"]),
        review("approved", ["ruff:E722"]),
        review("merged", ["ruff:F401"]),
        review("commented", ["ruff:E722"]),
        review("changes_requested", ["ruff:E722"], snippet=""),
        outcome(Kind.REJECTED, ["ruff:E722"], now - DAY),
    ]
    expected = compute_pattern_stats(events, DEFAULTS, now)
    assert (expected["ruff:E722"].rejected, expected["ruff:E722"].accepted) == (3, 1)
    assert (expected["ruff:F401"].rejected, expected["ruff:F401"].accepted) == (0, 1)
    store_events(tmp_path, events)
    assert local_pattern_stats(DEFAULTS, now, tmp_path) == expected  # the same from SQL
