"""Each repository's events go only to the store configured for it, never to one a repo names.

The resolution of the store settings (pure), the per-store queues of the local SQLite store
(real SQLite), and the attacks a security review reproduced, against real PostgreSQL: a
repository that names a store URL, two repositories with two stores, an old local store.
"""

from __future__ import annotations

import json
import sqlite3
import subprocess
import uuid
from pathlib import Path

import pytest
from pg_cluster import TestCluster
from store_support import REPO, local_db_with, make_events, pg_count

from ailoop.store import shared
from ailoop.store.events import Event, Kind
from ailoop.store.local import DB_NAME, MIGRATIONS, LocalStore
from ailoop.store.sync import (
    URL_ENV,
    SyncOptions,
    count_unsynced,
    resolve_store,
    sync_once,
)
from tests.conftest import ailoop

CONFIG = Path("/home/me/.config/ailoop/config.toml")
STORE_A = "postgresql://ana@db-a.example.com/alpha"
STORE_B = "postgresql://ana@db-b.example.com/beta"


# ----------------------------------------------------------------- resolution (pure)


def test_the_environment_wins_then_the_users_url_then_the_team_mapping() -> None:
    stores = {"alpha": {"url": STORE_A, "sslmode": "verify-ca"}}
    team_only = resolve_store({"team": "alpha"}, stores, "o", {}, config_path=CONFIG)
    assert (team_only.url, team_only.source, team_only.team) == (STORE_A, "stores.alpha", "alpha")
    assert team_only.options.sslmode == "verify-ca"
    assert team_only.problems == ()
    user_url = resolve_store({"team": "alpha", "url": STORE_B}, stores, "o", {}, config_path=CONFIG)
    assert (user_url.url, user_url.source) == (STORE_B, "store.url")
    env = resolve_store(
        {"team": "alpha", "url": STORE_B}, stores, "o", {URL_ENV: "postgresql://x@y/z"}
    )
    assert (env.url, env.source) == ("postgresql://x@y/z", URL_ENV)


def test_a_team_the_user_does_not_map_gives_one_clear_message_and_no_sync() -> None:
    choice = resolve_store({"team": "acme"}, {}, "o", {}, config_path=CONFIG)
    assert choice.url == ""
    assert choice.problems == (
        f"this repository names team store 'acme'; add [stores.acme] url = "
        f'"postgresql://…" to {CONFIG} (until then its events stay on this machine)',
    )
    no_url = resolve_store({"team": "acme"}, {"acme": {"sslmode": "require"}}, "o", {})
    assert no_url.url == ""
    assert len(no_url.problems) == 1


def test_team_names_and_tls_values_are_checked() -> None:
    choice = resolve_store({"team": "a b\x1b[31m", "sslmode": "sometimes"}, {}, "o", {})
    assert choice.url == ""
    assert len(choice.problems) == 2
    assert all("\x1b" not in p for p in choice.problems)
    assert any("'store.team' must be a team store name" in p for p in choice.problems)
    assert any("'store.sslmode' must be one of" in p for p in choice.problems)


def test_unknown_keys_in_a_team_table_are_named_there() -> None:
    choice = resolve_store(
        {"team": "alpha"}, {"alpha": {"url": STORE_A, "colour": "red"}}, "o", {}, config_path=CONFIG
    )
    assert choice.url == STORE_A
    assert [p for p in choice.problems if "stores.alpha.colour" in p] == list(choice.problems)


# ----------------------------------------------------------------- the local store (SQLite)


def _event(repo: str, **changes: object) -> Event:
    base = Event(kind=Kind.ACCEPTED, snippet="sha256:" + "a" * 64, repo=repo, path="x.py")
    return Event(**{**base.__dict__, "id": str(uuid.uuid4()), **changes})  # type: ignore[arg-type]


def test_events_are_queued_only_for_the_store_of_their_repository(data_dir: Path) -> None:
    store = LocalStore.open(data_dir)
    try:
        store.append([_event("repo-a"), _event("repo-a"), _event("repo-b"), _event("")])
        assert store.assign_repo("repo-a", "store-1") == 2  # the events already there
        store.append([_event("repo-a"), _event("repo-b"), _event("")])  # the trigger queues
        assert store.pending("store-1") == 3
        assert store.assign_repo("repo-b", "store-2") == 2
        assert (store.pending("store-1"), store.pending("store-2"), store.pending()) == (3, 2, 5)
        assert {e.repo for _, e, _ in store.unsynced("store-1", 100)} == {"repo-a"}
        with pytest.raises(ValueError, match="without a repository"):
            store.assign_repo("", "store-1")  # events outside a repository never leave
        # confirmed by store-1: not queued again when the repository comes back to it
        store.mark_synced("store-1", [seq for seq, _, _ in store.unsynced("store-1", 2)])
        assert store.pending("store-1") == 1
        store.assign_repo("repo-a", "store-2")  # reconfigured: its events follow it
        assert store.pending("store-1") == 0
        assert store.pending("store-2") == 5  # store-2 has confirmed none of them
        store.assign_repo("repo-a", "store-1")
        assert store.pending("store-1") == 1
        store.unassign_repo("repo-a")  # now configured for no store: nothing waits
        assert store.pending("store-1") == 0
        assert store.repo_stores() == {"repo-b": "store-2"}
    finally:
        store.close()


def test_set_aside_events_leave_the_queue_until_retried(data_dir: Path) -> None:
    store = LocalStore.open(data_dir)
    try:
        store.append([_event("r"), _event("r")])
        store.assign_repo("r", "s")
        first, second = (seq for seq, _, _ in store.unsynced("s", 10))
        store.set_aside("s", [(first, "refused: tool has control characters")])
        assert store.pending("s") == 1
        assert [r for _, r in store.set_aside_events("s")] == [
            "refused: tool has control characters"
        ]
        store.assign_repo("r", "other")
        store.assign_repo("r", "s")  # assigned again: the refused one stays aside
        assert [seq for seq, _, _ in store.unsynced("s", 10)] == [second]
        assert store.retry_set_aside("s") == 1
        assert store.pending("s") == 2
        assert store.set_aside_events("s") == []
    finally:
        store.close()


def test_the_share_code_choice_is_per_repository(data_dir: Path) -> None:
    store = LocalStore.open(data_dir)
    try:
        store.append([_event("open-source"), _event("secret")])
        store.assign_repo("open-source", "s", share_code=True)
        store.assign_repo("secret", "s")
        shares = {e.repo: share for _, e, share in store.unsynced("s", 10)}
        assert shares == {"open-source": True, "secret": False}
        rows = {e.repo: shared.shared_row(e, shared.Privacy(share_code=share)) for _, e, share in store.unsynced("s", 10)}  # fmt: skip
        text = shared.PUSH_COLUMNS.index("text")
        assert rows["open-source"][text] is None  # the event had no text
        assert store.assign_repo("secret", "s", share_code=True) == 0  # only the flag changes
        assert all(share for _, _, share in store.unsynced("s", 10))
    finally:
        store.close()


def _old_store(data_dir: Path, events: list[Event]) -> Path:
    """A local store as the version before per-store marks wrote it, every event synced."""
    path = data_dir / DB_NAME
    db = sqlite3.connect(path, isolation_level=None)
    for statement in MIGRATIONS[0].split(";"):
        if statement.strip():
            db.execute(statement)
    db.execute("PRAGMA user_version = 1")
    for e in events:
        db.execute(
            "INSERT INTO events (id, ts, kind, snippet, tool, source, user, repo, path, "
            "language, lines, findings, reason, pattern, text, similarity, synced) "
            "VALUES (?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,?,1)",
            (
                *(e.id, e.ts, e.kind.value, e.snippet, e.tool, e.source.value, e.user, e.repo),
                *(e.path, e.language, e.lines, json.dumps(list(e.findings)), e.reason),
                *(e.pattern, e.text, e.similarity),
            ),
        )
    db.close()
    return path


@pytest.mark.postgres
def test_an_old_local_store_sends_its_events_again_to_the_right_store(
    data_dir: Path, store_url: str, tmp_path: Path
) -> None:
    events = make_events(400, seed=60)
    # the old single mark said "synced" for all, but only half reached this store (the
    # other half went to whatever store the first folder named)
    other = tmp_path / "other"
    other.mkdir()
    sync_once(local_db_with(other, events[:200]), store_url, SyncOptions(), repos=[REPO])
    local_db = _old_store(data_dir, events)
    report = sync_once(local_db, store_url, SyncOptions(batch_size=64), repos=[REPO])
    assert (report.sent, report.new, report.skipped) == (400, 200, 200)
    assert pg_count(store_url) == 400
    assert count_unsynced(local_db) == 0
    db = sqlite3.connect(local_db)
    try:
        assert db.execute("PRAGMA user_version").fetchone()[0] == len(MIGRATIONS)
    finally:
        db.close()


# ----------------------------------------------------------------- attacks, real PostgreSQL


def _repo(root: Path, origin: str, ailoop_toml: str = "") -> Path:
    root.mkdir(parents=True)
    subprocess.run(["git", "init", "-q", str(root)], check=True)
    subprocess.run(["git", "-C", str(root), "remote", "add", "origin", origin], check=True)
    if ailoop_toml:
        (root / ".ailoop.toml").write_text(ailoop_toml)
    return root


def _ailoop(*argv: str, data_dir: Path) -> subprocess.CompletedProcess[str]:
    return ailoop(*argv, data_dir=data_dir, check=False, unset=(URL_ENV,))


def _repos_in(url: str) -> dict[str, int]:
    import psycopg

    with psycopg.connect(url) as conn:
        return dict(conn.execute("SELECT repo, count(*) FROM ailoop.events GROUP BY repo"))  # type: ignore[arg-type]


@pytest.fixture
def three_stores(pg_cluster: TestCluster) -> tuple[str, str, str]:
    """Two honest team stores and one a repository's files name."""
    urls = []
    for _ in range(3):
        name = f"t_{uuid.uuid4().hex[:12]}"
        pg_cluster.admin(f"CREATE DATABASE {name}")
        urls.append(pg_cluster.url(name))
        shared.apply_migrations(urls[-1])
    return urls[0], urls[1], urls[2]


@pytest.mark.postgres
def test_a_repository_that_names_a_store_url_gets_nothing_sent_there(
    tmp_path: Path, data_dir: Path, config_dir: Path, three_stores: tuple[str, str, str]
) -> None:
    alpha, beta, evil = three_stores
    (config_dir / "config.toml").write_text(
        f'[stores.alpha]\nurl = "{alpha}"\n\n[stores.beta]\nurl = "{beta}"\n'
    )
    repo_a = _repo(
        tmp_path / "a", "https://example.com/team/alpha.git", '[store]\nteam = "alpha"\n'
    )
    repo_b = _repo(
        tmp_path / "b",
        "https://example.com/team/beta.git",
        f'[store]\nteam = "beta"\nurl = "{evil}"\n',  # B tries to pull everyone's events
    )
    repo_c = _repo(tmp_path / "c", "https://example.com/x/c.git", f'[store]\nurl = "{evil}"\n')
    a, b, c = (f"https://example.com/{p}.git" for p in ("team/alpha", "team/beta", "x/c"))
    recorded = (
        make_events(30, seed=61, repo=a) + make_events(20, seed=62, repo=b)
        + make_events(10, seed=63, repo=c) + make_events(5, seed=64, repo="")
    )  # fmt: skip
    local_db_with(data_dir, recorded)

    # the review's sequence: C (and B) are synced first, naming the other store
    only_url = _ailoop("sync", "--root", str(repo_c), data_dir=data_dir)
    assert only_url.returncode == 2
    assert (
        "store.url ignored: a repository cannot choose where ailoop sends data" in only_url.stderr
    )
    assert "no shared store configured" in only_url.stderr
    from_b = _ailoop("sync", "--root", str(repo_b), data_dir=data_dir)
    assert from_b.returncode == 0, from_b.stderr
    assert "store.url ignored" in from_b.stderr
    from_a = _ailoop("sync", "--root", str(repo_a), data_dir=data_dir)
    assert from_a.returncode == 0, from_a.stderr
    assert "synced 30 events" in from_a.stdout

    assert pg_count(evil) == 0
    assert _repos_in(alpha) == {a: 30}
    assert _repos_in(beta) == {b: 20}
    # C's events and those outside any repository wait, for no store
    assert count_unsynced(data_dir / DB_NAME) == 0
    assert LocalStore(data_dir / DB_NAME).repo_stores() == {
        a: shared.store_id(alpha),
        b: shared.store_id(beta),
    }
    # the team numbers come from the store each repository's team maps to
    outcomes = {"accepted", "rejected", "kept", "reverted"}
    for root, events in ((repo_a, recorded[:30]), (repo_b, recorded[30:50])):
        team = _ailoop(
            "stats", "--team", "--format", "json", "--root", str(root), data_dir=data_dir
        )
        assert team.returncode == 0, team.stderr
        counted = json.loads(team.stdout)["overall"]["outcomes"]
        assert counted == sum(e.kind.value in outcomes for e in events)


@pytest.mark.postgres
def test_a_team_without_a_mapping_says_how_to_add_one(
    tmp_path: Path, data_dir: Path, config_dir: Path
) -> None:
    repo = _repo(tmp_path / "a", "https://example.com/team/acme.git", '[store]\nteam = "acme"\n')
    result = _ailoop("sync", "--root", str(repo), data_dir=data_dir)
    assert result.returncode == 2
    assert (
        f"this repository names team store 'acme'; add [stores.acme] url = "
        f'"postgresql://…" to {config_dir / "config.toml"}'
    ) in result.stderr
    assert "no shared store configured" not in result.stderr  # one message, not two


# ----------------------------------------------------------------- in the server


@pytest.mark.postgres
async def test_two_folders_with_two_stores_each_send_only_their_own(
    tmp_path: Path, data_dir: Path, config_dir: Path, three_stores: tuple[str, str, str]
) -> None:
    from lsprotocol import types

    from tests.e2e.lsp import open_doc, session
    from tests.store.test_sync_in_the_server import SNIPPET, record_status, review, status_where

    alpha, beta, evil = three_stores
    (config_dir / "config.toml").write_text(
        f'[stores.alpha]\nurl = "{alpha}"\n\n[stores.beta]\nurl = "{beta}"\n\n'
        "[store]\ninterval = 1\n"
    )
    repo_a = _repo(
        tmp_path / "a", "https://example.com/team/alpha.git", '[store]\nteam = "alpha"\n'
    )
    repo_b = _repo(
        tmp_path / "b",
        "https://example.com/team/beta.git",
        f'[store]\nteam = "beta"\nurl = "{evil}"\n',
    )
    a, b = "https://example.com/team/alpha.git", "https://example.com/team/beta.git"
    # events recorded earlier (an agent hook) for both repositories
    local_db_with(data_dir, make_events(40, seed=65, repo=a) + make_events(25, seed=66, repo=b))
    folders = [types.WorkspaceFolder(r.as_uri(), r.name) for r in (repo_a, repo_b)]
    async with session("neovim", data_dir, repo_a, folders=folders) as client:
        record_status(client)
        uri_a = open_doc(client, repo_a / "cart.py", "")
        uri_b = open_doc(client, repo_b / "cart.py", "")
        await review(client, uri_a, 2, SNIPPET)
        await review(client, uri_b, 2, SNIPPET.replace("total", "grand_total"))
        status = await status_where(
            client,
            lambda s: s["state"] == "idle" and s["pending"] == 0 and len(s.get("stores", [])) == 2,
            timeout=60,
        )
        # nested objects arrive as named tuples through pytest-lsp's client
        assert {getattr(s, "store", None) or s["store"] for s in status["stores"]} == {
            shared.describe_target(alpha),
            shared.describe_target(beta),
        }
        await status_where(
            client,
            lambda s: s["state"] == "idle" and s["pending"] == 0 and pg_count(alpha) == 42,
            timeout=30,
        )
    assert _repos_in(alpha) == {a: 42}  # its 40 and the snippet's generated + accepted
    assert _repos_in(beta) == {b: 27}
    assert pg_count(evil) == 0


@pytest.mark.postgres
async def test_folders_added_and_removed_change_where_events_go(
    tmp_path: Path, data_dir: Path, config_dir: Path, three_stores: tuple[str, str, str]
) -> None:
    from lsprotocol import types

    from tests.e2e.lsp import session
    from tests.store.test_sync_in_the_server import record_status, status_where

    alpha, beta, _ = three_stores
    (config_dir / "config.toml").write_text(
        f'[stores.alpha]\nurl = "{alpha}"\n\n[stores.beta]\nurl = "{beta}"\n\n'
        "[store]\ninterval = 1\n"
    )
    repo_a = _repo(
        tmp_path / "a", "https://example.com/team/alpha.git", '[store]\nteam = "alpha"\n'
    )
    repo_b = _repo(tmp_path / "b", "https://example.com/team/beta.git", '[store]\nteam = "beta"\n')
    a, b = "https://example.com/team/alpha.git", "https://example.com/team/beta.git"
    local_db_with(data_dir, make_events(12, seed=67, repo=a) + make_events(9, seed=68, repo=b))

    def stores(status: dict[str, object]) -> set[str]:
        return {getattr(s, "store", None) or s["store"] for s in status.get("stores", [])}  # type: ignore[attr-defined, index]

    async with session("visual_studio_code", data_dir, repo_a) as client:
        record_status(client)
        await status_where(
            client, lambda s: s["state"] == "idle" and s["pending"] == 0 and pg_count(alpha) == 12
        )
        assert pg_count(beta) == 0  # B is not open: its events wait
        seen = len(client.ailoop_status)  # type: ignore[attr-defined]
        client.workspace_did_change_workspace_folders(
            types.DidChangeWorkspaceFoldersParams(
                types.WorkspaceFoldersChangeEvent(
                    added=[types.WorkspaceFolder(repo_b.as_uri(), "b")],
                    removed=[types.WorkspaceFolder(repo_a.as_uri(), "a")],
                )
            )
        )
        await status_where(
            client,
            lambda s: (
                s["state"] == "idle"
                and s["pending"] == 0
                and stores(s) == {shared.describe_target(beta)}
                and pg_count(beta) == 9
            ),
            since=seen,
        )
    assert _repos_in(alpha) == {a: 12}
    assert _repos_in(beta) == {b: 9}


async def test_the_server_says_once_that_a_team_is_not_mapped(
    tmp_path: Path, data_dir: Path, config_dir: Path
) -> None:
    from tests.e2e.lsp import session
    from tests.store.test_sync_in_the_server import record_status, status_where

    repo = _repo(tmp_path / "a", "https://example.com/team/acme.git", '[store]\nteam = "acme"\n')
    async with session("neovim", data_dir, repo) as client:
        record_status(client)
        status = await status_where(client, lambda s: True)
        assert status["state"] == "disabled"
        shown = [m.message for m in client.messages if "names team store 'acme'" in m.message]
        assert shown == [
            f"ailoop: this repository names team store 'acme'; add [stores.acme] url = "
            f'"postgresql://…" to {config_dir / "config.toml"} (until then its events stay on '
            "this machine)"
        ]
