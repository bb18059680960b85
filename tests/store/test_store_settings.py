"""The ``store`` settings section: URL and key from the environment, checked values."""

from __future__ import annotations

from ailoop.store.sync import SyncOptions, store_settings

ORIGIN = ".ailoop.toml"


def test_defaults_mean_disabled() -> None:
    url, options, problems = store_settings({}, ORIGIN, {})
    assert (url, options, problems) == ("", SyncOptions(), [])


def test_values_from_the_table() -> None:
    table = {
        "url": "postgresql://team@db/ailoop",
        "share_code": True,
        "batch_size": 200,
        "interval": 10,
        "statement_timeout": 2.5,
    }
    url, options, problems = store_settings(table, ORIGIN, {})
    assert problems == []
    assert url == "postgresql://team@db/ailoop"
    assert options.share_code
    assert options.batch_size == 200
    assert options.interval == 10.0
    assert options.statement_timeout == 2.5


def test_environment_wins() -> None:
    env = {"AILOOP_STORE_URL": "postgresql://me@other/x", "AILOOP_USER_HASH_KEY": "env-key"}
    url, options, problems = store_settings(
        {"url": "postgresql://team@db/ailoop", "hash_users": True, "user_hash_key": "file"},
        ORIGIN,
        env,
    )
    assert problems == []
    assert url == "postgresql://me@other/x"
    assert options.user_hash_key == "env-key"


def test_bad_values_give_one_problem_each_and_keep_defaults() -> None:
    table = {"batch_size": 0, "share_code": "yes", "interval": "fast", "colour": "blue"}
    url, options, problems = store_settings(table, ORIGIN, {})
    assert len(problems) == 4
    assert all(p.startswith(ORIGIN) for p in problems)
    assert any("store.colour" in p for p in problems)
    assert options == SyncOptions()
    assert url == ""


def test_hashing_without_a_key_keeps_the_sync_off() -> None:
    url, _, problems = store_settings(
        {"url": "postgresql://team@db/ailoop", "hash_users": True}, ORIGIN, {}
    )
    assert url == ""
    assert len(problems) == 1
    assert "AILOOP_USER_HASH_KEY" in problems[0]


def test_key_without_hash_users_is_not_used() -> None:
    _, options, _ = store_settings({"user_hash_key": "k"}, ORIGIN, {})
    assert options.user_hash_key is None
