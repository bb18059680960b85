"""Pure parts of the shared store: redaction, privacy, batching, backoff, schema checks."""

from __future__ import annotations

import datetime as dt

import pytest
from pg_cluster import IN_CI

from ailoop.commands.sync import progress_line
from ailoop.store import shared
from ailoop.store.events import Event, Kind
from ailoop.store.pg_migrations import CURRENT_VERSION
from ailoop.store.sync import backoff_delay

SECRET = "pa55-Wörd%2Fx"


def _real_error(url: str) -> BaseException:
    try:
        import psycopg
    except ImportError:
        if IN_CI:
            pytest.fail("psycopg is missing (CI=true): pip install 'ailoop[postgres]'")
        pytest.skip("psycopg is not installed")
    try:
        psycopg.connect(url, connect_timeout=2).close()
    except Exception as exc:  # noqa: BLE001 - the error itself is what we test
        return exc
    raise AssertionError(f"connecting to {url!r} should fail")


@pytest.mark.parametrize(
    "url",
    [
        # libpq echoes the bad token: the raw password itself
        "postgresql://u:wrong%zzpw99@127.0.0.1:1/db",
        # unknown host
        "postgresql://u:wrongpw99@nonexistent.invalid:5432/db",
        # nothing listens on port 1
        "postgresql://u:wrongpw99@127.0.0.1:1/db",
        # bad option in a key/value string
        "host=127.0.0.1 port=1 password='wrong pw99' dbname",
        "postgresql://u:wrongpw99@127.0.0.1:1/db?bogus=1",
    ],
)
def test_real_connection_errors_never_show_the_password(url: str) -> None:
    error = shared.classify_error(_real_error(url), url)
    message = str(error)
    assert "wrongpw99" not in message
    assert "wrong%zzpw99" not in message
    assert "wrong pw99" not in message
    assert message.startswith("shared store")


def test_redact_removes_passwords_from_urls_pairs_and_literals() -> None:
    url = f"postgresql://me:{SECRET}@db.example:5432/team"
    text = (
        f"failed for {url}; also host=x password={SECRET} and "
        f"password='{SECRET}' and the bare {SECRET}"
    )
    redacted = shared.redact(text, url)
    assert SECRET not in redacted
    assert "db.example:5432/team" in redacted
    assert "pa55" not in redacted


def test_redact_removes_the_percent_decoded_password() -> None:
    url = "postgresql://me:a%40b%2Fc-long@db/team"
    assert "a@b/c-long" not in shared.redact("got a@b/c-long", url)


def test_redact_removes_pgpassword(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("PGPASSWORD", "env-secret-123")
    assert "env-secret-123" not in shared.redact("oops env-secret-123", "host=db")


def test_unknown_host_message_is_retryable_and_clear() -> None:
    url = "postgresql://u@nonexistent.invalid/db"
    error = shared.classify_error(_real_error(url), url)
    assert error.retryable
    assert "unknown host" in str(error)


def test_describe_target_has_no_credentials() -> None:
    target = shared.describe_target(f"postgresql://me:{SECRET}@db.example:6543/team")
    assert target == "db.example:6543/team"


def _event(**changes: object) -> Event:
    base = Event(kind=Kind.REJECTED, snippet="sha256:ab", user="alice", text="x = 1\n")
    return Event(**{**base.__dict__, **changes})  # type: ignore[arg-type]


def test_text_is_sent_only_when_the_team_shares_code() -> None:
    text_index = shared.PUSH_COLUMNS.index("text")
    event = _event()
    assert shared.shared_row(event, shared.Privacy())[text_index] is None
    assert shared.shared_row(event, shared.Privacy(share_code=True))[text_index] == "x = 1\n"


def test_user_is_replaced_by_a_keyed_hash() -> None:
    user_index = shared.PUSH_COLUMNS.index("user")
    row = shared.shared_row(_event(), shared.Privacy(user_hash_key="team-key"))
    other_key = shared.shared_row(_event(), shared.Privacy(user_hash_key="other-key"))
    assert row[user_index] != "alice"
    assert "alice" not in str(row[user_index])
    assert row[user_index] == shared.hash_user("alice", "team-key")
    assert other_key[user_index] != row[user_index]
    assert shared.hash_user("", "team-key") == ""


def test_timestamps_are_read_as_utc() -> None:
    assert shared.parse_ts("2026-01-02T03:04:05.678Z") == dt.datetime(
        2026, 1, 2, 3, 4, 5, 678000, tzinfo=dt.timezone.utc
    )
    assert shared.parse_ts("2026-01-02T03:04:05").tzinfo is dt.timezone.utc
    with pytest.raises(ValueError, match="Invalid isoformat"):
        shared.parse_ts("yesterday")


def test_rows_follow_the_column_order() -> None:
    event = _event(findings=("ruff:F401", "ruff:E722"))
    row = dict(zip(shared.PUSH_COLUMNS, shared.shared_row(event, shared.Privacy()), strict=True))
    assert row["id"] == event.id
    assert row["kind"] == "rejected"
    assert row["findings"] == ["ruff:F401", "ruff:E722"]


def test_backoff_doubles_and_is_capped() -> None:
    assert [backoff_delay(n, 1.0, 10.0) for n in range(6)] == [0.0, 1.0, 2.0, 4.0, 8.0, 10.0]
    assert backoff_delay(10_000, 1.0, 300.0) == 300.0


def test_schema_problem_names_the_fix() -> None:
    assert shared.schema_problem(CURRENT_VERSION) is None
    newer = shared.schema_problem(CURRENT_VERSION + 1)
    assert newer is not None
    assert "newer schema" in newer
    assert "upgrade ailoop" in newer
    missing = shared.schema_problem(None)
    assert missing is not None
    assert "ailoop store init" in missing


def test_role_sql_grants_insert_and_select_only() -> None:
    sql = shared.role_sql("team_client", "teamdb")
    grants = [line for line in sql.splitlines() if line.startswith("GRANT")]
    assert "GRANT SELECT, INSERT ON ailoop.events TO team_client;" in grants
    assert not any("UPDATE" in g or "DELETE" in g for g in grants)
    with pytest.raises(ValueError, match="identifier"):
        shared.role_sql("x; DROP TABLE y", "teamdb")


def test_progress_line() -> None:
    assert progress_line(5, 10, width=10) == "[#####-----]  5/10 events"
    assert progress_line(0, 0, width=4) == "[####] 0/0 events"


def test_team_stats_split_rules_from_baseline_and_skip_bad_rows() -> None:
    now = dt.datetime(2026, 1, 10, 12, tzinfo=dt.timezone.utc)
    when = dt.datetime(2026, 1, 1, tzinfo=dt.timezone.utc)
    day, recent_day = dt.date(2026, 1, 1), dt.date(2026, 1, 9)
    rows = [
        ("ruff:F401", day, 2, 3, 6, when),
        ("ruff:F401", recent_day, 1, 0, 1, when + dt.timedelta(days=8)),
        ("", day, 5, 9, 20, when),
        # bad rows, as stored before the schema checked them: each is skipped
        ("ruff:F401", None, 1, 1, 2, when),  # an infinite day reads as NULL
        ("ruff:F401", dt.date(9999, 12, 30), 1000, 0, 1000, when),  # "recent" forever
        ("x\x1b[31m:evil", day, 1, 0, 1, when),  # not a key
        ("k:" + "a" * 2000, day, 1, 0, 1, when),
        ("ruff:E722", day, 3, 3, 2, when),  # counts do not add up
        ("ruff:E722", day, 1, 0, 1, None),  # an infinite newest time
    ]
    stats = shared.team_stats_from_rows(rows, recent_days=7, now=now)
    assert stats.keys == [
        shared.PatternCounts("ruff:F401", 3, 3, 1, 0, 7, "2026-01-09T00:00:00.000Z")
    ]
    assert stats.baseline == shared.PatternCounts("", 5, 9, 0, 0, 20, "2026-01-01T00:00:00.000Z")
    assert [d.day for d in stats.days if d.rule == "ruff:F401"] == ["2026-01-01", "2026-01-09"]
    assert stats.skipped == 6
    assert "day" in stats.skip_reason


def test_recent_window_is_whole_utc_days_today_included() -> None:
    late = dt.datetime(2026, 3, 10, 23, 30, tzinfo=dt.timezone(dt.timedelta(hours=-5)))
    assert shared.recent_from(late, 7) == dt.date(2026, 3, 5)  # 04:30 UTC on the 11th
    assert shared.recent_from(dt.datetime(2026, 3, 10, 12, 0), 1) == dt.date(2026, 3, 10)


def test_buckets_from_days_split_recent_and_older() -> None:
    days = [
        shared.PatternDay("ruff:E722", "2026-03-01", rejected=2, accepted=1, total=5),
        shared.PatternDay("ruff:E722", "2026-03-08", rejected=3, accepted=4, total=9),
        shared.PatternDay("", "2026-03-08", rejected=7, accepted=6, total=20),
    ]
    per_key, overall = shared.buckets_from_days(days, "2026-03-08")
    assert per_key == {"ruff:E722": [4, 3, 1, 2]}
    assert overall == [6, 7, 0, 0]
