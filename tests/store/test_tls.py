"""TLS by default for remote hosts, and the store's local id.

The parameter building is checked as a unit; the password guarantee against a fake
PostgreSQL server on this machine that offers no TLS and asks for a clear-text password
(what the review saw with libpq's default ``sslmode=prefer``), reached under a remote host
name (``host=db.example.test hostaddr=127.0.0.1``).
"""

from __future__ import annotations

import contextlib
import socket
import struct
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest

from ailoop.store import shared

psycopg = pytest.importorskip("psycopg")

REMOTE = "postgresql://ana@db.example.com:5432/team"


@pytest.fixture(autouse=True)
def _no_pg_environment(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    for name in ("PGHOST", "PGHOSTADDR", "PGSSLMODE", "PGSSLROOTCERT", "PGUSER", "PGPORT"):
        monkeypatch.delenv(name, raising=False)
    monkeypatch.setenv("HOME", str(tmp_path))  # no ~/.postgresql/root.crt


def test_a_remote_host_gets_verify_full() -> None:
    added, warning = shared.tls_params(REMOTE, environ={})
    assert added["sslmode"] == "verify-full"
    assert added["sslrootcert"] == "system"  # no CA file anywhere: the system's CAs
    assert warning is None
    kwargs = shared.connect_kwargs(shared.Timeouts(), REMOTE)
    assert kwargs["sslmode"] == "verify-full"


def test_a_ca_file_the_user_has_is_kept(tmp_path: Path) -> None:
    (tmp_path / ".postgresql").mkdir()
    (tmp_path / ".postgresql" / "root.crt").write_text("-----BEGIN CERTIFICATE-----\n")
    added, _ = shared.tls_params(REMOTE, environ={})
    assert added == {"sslmode": "verify-full"}  # libpq reads its default file itself
    added, _ = shared.tls_params(REMOTE, environ={"PGSSLROOTCERT": "/etc/team-ca.pem"})
    assert added == {"sslmode": "verify-full"}
    added, _ = shared.tls_params(REMOTE, shared.Tls(sslrootcert="/etc/ca.pem"), environ={})
    assert added == {"sslmode": "verify-full", "sslrootcert": "/etc/ca.pem"}


@pytest.mark.parametrize(
    "url",
    [
        "postgresql://ana@localhost/team",
        "postgresql://ana@127.0.0.1:5433/team",
        "postgresql://ana@[::1]/team",
        "postgresql:///team",  # libpq's default: a UNIX socket
        "postgresql:///team?host=/var/run/postgresql",
        "host=/tmp dbname=team",
    ],
)
def test_this_machine_keeps_libpqs_defaults(url: str) -> None:
    assert shared.tls_params(url, environ={}) == ({}, None)


def test_pghost_counts_when_the_url_names_no_host() -> None:
    added, _ = shared.tls_params("postgresql:///team", environ={"PGHOST": "db.example.com"})
    assert added["sslmode"] == "verify-full"


def test_any_remote_host_of_several_or_a_remote_name_on_a_local_address() -> None:
    several = "host=localhost,db.example.com dbname=team"
    assert shared.tls_params(several, environ={})[0]["sslmode"] == "verify-full"
    pinned = "postgresql://ana@db.example.com/team?hostaddr=127.0.0.1"
    assert shared.tls_params(pinned, environ={})[0]["sslmode"] == "verify-full"


def test_the_url_then_the_config_then_pgsslmode_decide_and_lowering_warns() -> None:
    added, warning = shared.tls_params(f"{REMOTE}?sslmode=require", environ={})
    assert added == {}
    assert warning is not None
    assert "sslmode=require for the remote host db.example.com" in warning
    added, warning = shared.tls_params(REMOTE, shared.Tls(sslmode="prefer"), environ={})
    assert added == {"sslmode": "prefer"}
    assert warning is not None
    assert "clear text" in warning
    added, warning = shared.tls_params(REMOTE, environ={"PGSSLMODE": "disable"})
    assert added == {}  # libpq reads PGSSLMODE itself
    assert warning is not None
    url_wins = shared.tls_params(f"{REMOTE}?sslmode=verify-full", shared.Tls(sslmode="disable"))
    assert url_wins == ({}, None)
    assert shared.tls_params(REMOTE, shared.Tls(sslmode="verify-full"), environ={})[1] is None


def test_the_warning_is_given_once_per_process() -> None:
    url = "postgresql://once@db-once.example.com/team?sslmode=disable"
    first = shared.tls_warning_once(url)
    assert first is not None
    assert shared.tls_warning_once(url) is None
    assert shared.tls_warning_once(url.replace("once@", "other@")) is not None


def test_a_service_file_decides_for_itself() -> None:
    assert shared.tls_params("service=team", environ={}) == ({}, None)


def test_the_store_id_has_no_password_and_ignores_tls_settings() -> None:
    one = shared.store_id("postgresql://ana:s3cret-Pass@DB.example.com/team?sslmode=require")
    assert one == "postgresql://ana@db.example.com:5432/team"
    assert shared.store_id("host=db.example.com user=ana dbname=team password=x") == one
    assert shared.store_id("postgresql://ana@db.example.com:6432/team") != one
    assert shared.store_id("postgresql://bob@db.example.com/team") != one
    env = {"PGUSER": "carl", "PGHOST": "db.example.com", "PGDATABASE": "team"}
    assert shared.store_id("postgresql://", env) == "postgresql://carl@db.example.com:5432/team"
    broken = shared.store_id("postgresql://ana:s3cret-Pass@db/x?bogus=1=2'")
    assert "s3cret" not in broken


# ----------------------------------------------------------------- a password on the wire


class FakeServer:
    """Speaks just enough of PostgreSQL's protocol to ask for a clear-text password."""

    def __init__(self) -> None:
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(4)
        self.port = int(self.sock.getsockname()[1])
        self.passwords: list[bytes] = []
        self.ssl_requests = 0
        self._thread = threading.Thread(target=self._serve, daemon=True)
        self._thread.start()

    def _read(self, conn: socket.socket, n: int) -> bytes:
        data = b""
        while len(data) < n:
            chunk = conn.recv(n - len(data))
            if not chunk:
                raise ConnectionError
            data += chunk
        return data

    def _serve(self) -> None:
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            with conn, contextlib.suppress(ConnectionError, OSError):
                self._session(conn)

    def _session(self, conn: socket.socket) -> None:
        while True:
            length, code = struct.unpack("!ii", self._read(conn, 8))
            if code in (80877103, 80877104):  # SSLRequest, GSSENCRequest: "no"
                self.ssl_requests += code == 80877103
                conn.sendall(b"N")
                continue
            self._read(conn, length - 8)  # the startup message
            break
        conn.sendall(b"R" + struct.pack("!ii", 8, 3))  # AuthenticationCleartextPassword
        kind = self._read(conn, 1)
        (length,) = struct.unpack("!i", self._read(conn, 4))
        body = self._read(conn, length - 4)
        if kind == b"p":
            self.passwords.append(body.rstrip(b"\0"))
        error = b"SFATAL\0C28P01\0Mpassword authentication failed\0\0"
        conn.sendall(b"E" + struct.pack("!i", len(error) + 4) + error)

    def close(self) -> None:
        self.sock.close()


@pytest.fixture
def fake_server() -> Iterator[FakeServer]:
    server = FakeServer()
    try:
        yield server
    finally:
        server.close()


SECRET = "Wire-Secret-42"


def test_no_password_goes_to_a_remote_server_without_tls(
    fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PGPASSWORD", SECRET)
    url = f"postgresql://ana@db.example.test:{fake_server.port}/team?hostaddr=127.0.0.1"
    with pytest.raises(shared.SharedStoreError) as failure:
        shared.connect(url, shared.Timeouts(connect=3))
    assert fake_server.ssl_requests >= 1
    assert fake_server.passwords == []
    assert "does not offer SSL/TLS" in str(failure.value)
    assert SECRET not in str(failure.value)


def test_a_lowered_sslmode_is_the_users_choice_and_is_warned_about(
    fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch, caplog: pytest.LogCaptureFixture
) -> None:
    # the same server with the sslmode the user lowered: the password goes (this is what
    # the default prevents), and the user was told
    monkeypatch.setenv("PGPASSWORD", SECRET)
    url = f"postgresql://ana@db.example.test:{fake_server.port}/team?hostaddr=127.0.0.1"
    with pytest.raises(shared.SharedStoreError, match="authentication failed"):
        shared.connect(url, shared.Timeouts(connect=3), tls=shared.Tls(sslmode="prefer"))
    assert fake_server.passwords == [SECRET.encode()]
    assert any(
        "sslmode=prefer for the remote host db.example.test" in r.message for r in caplog.records
    )


def test_on_this_machine_libpqs_default_applies(
    fake_server: FakeServer, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("PGPASSWORD", SECRET)
    url = f"postgresql://ana@127.0.0.1:{fake_server.port}/team"
    with pytest.raises(shared.SharedStoreError, match="authentication failed"):
        shared.connect(url, shared.Timeouts(connect=3))
    assert fake_server.passwords == [SECRET.encode()]  # loopback: never on the network
