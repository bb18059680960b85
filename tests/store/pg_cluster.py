"""A private, throwaway PostgreSQL 15 cluster: the shared-store tests' and the benchmark's.

The cluster lives in a private directory of its own (``initdb`` there, its UNIX socket
there, mode 0700) on a free loopback port, or on the socket only, so its users may stop,
start and freeze it without touching any other PostgreSQL: no system cluster, no
``pg_hba.conf`` but its own. The binaries come from ``AILOOP_PG_BINDIR``
(``scripts/postgres.sh`` installs them and prints it) or the Debian location.

No pytest here: ``bench/store_bench.py`` imports this module too (see
:func:`private_cluster`).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import socket
import subprocess
import tempfile
from collections.abc import Iterator
from pathlib import Path

IN_CI = os.environ.get("CI", "").lower() in ("1", "true", "yes")


PASSWORD_ROLE = "ailoop_pw"
PASSWORD = "Corr3ct-Horse!"


def find_bindir() -> Path | None:
    """Return the directory of the PostgreSQL server binaries, or None."""
    candidates = [os.environ.get("AILOOP_PG_BINDIR"), "/usr/lib/postgresql/15/bin"]
    if pg_config := shutil.which("pg_config"):
        with contextlib.suppress(OSError, subprocess.CalledProcessError):
            candidates.append(
                subprocess.run(
                    [pg_config, "--bindir"], capture_output=True, text=True, check=True
                ).stdout.strip()
            )
    for candidate in candidates:
        if candidate and (Path(candidate) / "initdb").exists():
            return Path(candidate)
    return None


def missing(reason: str) -> None:
    """Skip outside CI, fail in CI: a component the test needs is not there."""
    import pytest

    if IN_CI:
        pytest.fail(f"{reason} (CI=true: run scripts/postgres.sh first)")
    pytest.skip(reason)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TestCluster:
    """A PostgreSQL cluster in a private directory that tests can stop, start and freeze.

    ``tcp=False``: the server listens on its UNIX socket in ``root`` only (no port open).
    """

    __test__ = False  # not a test class

    def __init__(self, bindir: Path, root: Path, *, tcp: bool = True) -> None:
        self.bindir = bindir
        self.root = root
        self.data = root / "data"
        self.log = root / "server.log"
        self.tcp = tcp
        # without TCP the port only names the socket file, in a directory of its own
        self.port = _free_port() if tcp else 5432
        self._run_as = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []

    def _pg(self, *argv: str, timeout: float = 60) -> None:
        subprocess.run(
            [*self._run_as, *argv],
            check=True,
            timeout=timeout,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )

    def create(self) -> None:
        """Run initdb and write the configuration."""
        if self._run_as:
            shutil.chown(self.root, "postgres", "postgres")
        self.root.chmod(0o700)
        self._pg(
            str(self.bindir / "initdb"),
            "-D",
            str(self.data),
            "-U",
            "postgres",
            "--auth=trust",
            "--no-sync",
        )
        with (self.data / "postgresql.conf").open("a") as conf:
            conf.write(
                f"port = {self.port}\n"
                f"listen_addresses = '{'127.0.0.1' if self.tcp else ''}'\n"
                f"unix_socket_directories = '{self.root}'\n"
                "max_connections = 50\n"
                "shared_buffers = 32MB\n"
            )
        (self.data / "pg_hba.conf").write_text(
            "local all all trust\n"
            f"host all {PASSWORD_ROLE} 127.0.0.1/32 scram-sha-256\n"
            "host all all 127.0.0.1/32 trust\n"
        )

    def start(self) -> None:
        """Start the server and wait until it accepts connections."""
        self._pg(
            str(self.bindir / "pg_ctl"), "-D", str(self.data), "-l", str(self.log), "-w", "start"
        )

    def stop(self, mode: str = "fast") -> None:
        """Stop the server (``fast`` disconnects clients and rolls back their work)."""
        self._pg(str(self.bindir / "pg_ctl"), "-D", str(self.data), "-m", mode, "-w", "stop")

    def pids(self) -> list[int]:
        """Return the postmaster's pid and those of all its children."""
        postmaster = int((self.data / "postmaster.pid").read_text().split()[0])
        children = []
        for proc in Path("/proc").iterdir():
            if not proc.name.isdigit():
                continue
            with contextlib.suppress(OSError):
                stat = (proc / "stat").read_text()
                ppid = int(stat.rsplit(")", 1)[1].split()[1])
                if ppid == postmaster:
                    children.append(int(proc.name))
        return [postmaster, *children]

    def freeze(self) -> list[int]:
        """Stop every server process with SIGSTOP; return their pids for ``thaw``."""
        pids = self.pids()
        for pid in pids:
            os.kill(pid, signal.SIGSTOP)
        return pids

    def thaw(self, pids: list[int]) -> None:
        """Continue the processes ``freeze`` stopped."""
        for pid in pids:
            with contextlib.suppress(ProcessLookupError):
                os.kill(pid, signal.SIGCONT)

    def url(self, database: str = "postgres", user: str = "postgres", password: str = "") -> str:
        """Return a URL for ``database`` as ``user`` (over TCP, or the socket without it)."""
        secret = f":{password}" if password else ""
        if not self.tcp:
            return f"postgresql://{user}{secret}@/{database}?host={self.root}&port={self.port}"
        return f"postgresql://{user}{secret}@127.0.0.1:{self.port}/{database}"

    def admin(self, sql: str, database: str = "postgres") -> None:
        """Run ``sql`` as the superuser."""
        import psycopg

        with psycopg.connect(self.url(database), autocommit=True) as conn:
            conn.execute(sql.encode())

    def destroy(self) -> None:
        """Stop the server if it runs and remove the directory."""
        with contextlib.suppress(Exception):
            self.stop("immediate")
        shutil.rmtree(self.root, ignore_errors=True)


@contextlib.contextmanager
def private_cluster(bindir: Path, *, tcp: bool = True) -> Iterator[TestCluster]:
    """Create and start a cluster in a new private temporary directory; remove it after.

    When run as root the server runs as the ``postgres`` user (PostgreSQL refuses root),
    which is why the directory is a temporary one and not under root's home.
    """
    cluster = TestCluster(bindir, Path(tempfile.mkdtemp(prefix="ailoop-pg-")), tcp=tcp)
    try:
        cluster.create()
        cluster.start()
        yield cluster
    finally:
        cluster.destroy()
