"""Fixtures for the shared-store tests: a private, throwaway PostgreSQL cluster per test run.

Each test gets a database of its own in that cluster. Without the PostgreSQL binaries or
psycopg the tests skip, or fail when ``CI=true``.
"""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from pg_cluster import (
    PASSWORD,
    PASSWORD_ROLE,
    TestCluster,
    find_bindir,
    missing,
    private_cluster,
)


@pytest.fixture(scope="session")
def pg_cluster() -> Iterator[TestCluster]:
    """A running throwaway cluster for the whole test run."""
    bindir = find_bindir()
    if bindir is None:
        missing("PostgreSQL binaries not found (set AILOOP_PG_BINDIR)")
    try:
        import psycopg  # noqa: F401
    except ImportError:
        missing("psycopg is not installed (pip install 'ailoop[postgres]')")
    assert bindir is not None
    with private_cluster(bindir) as cluster:
        cluster.admin(f"CREATE ROLE {PASSWORD_ROLE} LOGIN PASSWORD '{PASSWORD}'")
        yield cluster


@pytest.fixture
def database(pg_cluster: TestCluster) -> str:
    """The name of an empty database for this test."""
    name = f"t_{uuid.uuid4().hex[:12]}"
    pg_cluster.admin(f"CREATE DATABASE {name}")
    pg_cluster.admin(f"GRANT ALL ON DATABASE {name} TO {PASSWORD_ROLE}")
    return name


@pytest.fixture
def store_url(pg_cluster: TestCluster, database: str) -> str:
    """A URL to an initialised shared store in this test's database."""
    from ailoop.store import shared

    url = pg_cluster.url(database)
    shared.apply_migrations(url)
    return url
