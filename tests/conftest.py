"""Shared fixtures: databases (SQLite per test, PostgreSQL per test from a migrated
template), Redis, and an API client. Real servers only; see tests/servers.py."""

from __future__ import annotations

import asyncio
import os
import uuid
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest
from sqlalchemy import create_engine, text
from sqlalchemy.engine import make_url

from core import migrate
from core.db import reset_caches
from marketplace_api.identity.service import forget_callers
from tests.servers import ThrowawayPostgres, ThrowawayRedis

TEST_SECRET = "test-secret-key-that-is-long-enough-for-hs256"
FIXTURES = Path(__file__).parent / "fixtures"


def run_async(coroutine):
    """asyncio.run in a thread of its own: once the browser tests have started, the
    session's Playwright keeps an event loop running in the main thread."""
    with ThreadPoolExecutor(max_workers=1) as thread:
        return thread.submit(asyncio.run, coroutine).result()


def point_at(monkeypatch: pytest.MonkeyPatch, database_url: str,
             redis_url: str | None = None, data_dir: Path | None = None) -> None:
    """Make every Vitrina component in this process use the given servers."""
    monkeypatch.setenv("DATABASE_URL", database_url)
    monkeypatch.setenv("SECRET_KEY", TEST_SECRET)
    # The tests share the cores with their servers and worker: one LightGBM thread.
    monkeypatch.setenv("PRICING_THREADS", "1")
    if redis_url:
        monkeypatch.setenv("REDIS_URL", redis_url)
    else:
        monkeypatch.delenv("REDIS_URL", raising=False)
    if data_dir:
        monkeypatch.setenv("DATA_DIR", str(data_dir))
    reset_caches()


@pytest.fixture(autouse=True)
def _forget_cached_engines():
    yield
    reset_caches()
    # Remembered logins too: user 3's token in one test's database is not the next test's.
    forget_callers()


@pytest.fixture
def sqlite_db(tmp_path, monkeypatch) -> str:
    url = f"sqlite:///{tmp_path / 'vitrina.db'}"
    point_at(monkeypatch, url, data_dir=tmp_path / "var")
    migrate.upgrade()
    return url


# --- PostgreSQL ----------------------------------------------------------------------------

@pytest.fixture(scope="session")
def pg_server() -> Iterator[str]:
    """A URL of a PostgreSQL server where the tests may create databases."""
    given = os.environ.get("TEST_DATABASE_URL")
    if given:
        yield given
        return
    server = ThrowawayPostgres().start()
    try:
        yield server.url
    finally:
        server.stop()


def _admin_engine(server_url: str):
    return create_engine(make_url(server_url).set(database="postgres"),
                         isolation_level="AUTOCOMMIT")


@pytest.fixture(scope="session")
def pg_template(pg_server) -> Iterator[str]:
    """A migrated database that each test copies (CREATE DATABASE … TEMPLATE)."""
    name = f"vitrina_template_{uuid.uuid4().hex[:8]}"
    admin = _admin_engine(pg_server)
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}"'))
    url = make_url(pg_server).set(database=name).render_as_string(hide_password=False)
    with pytest.MonkeyPatch.context() as monkeypatch:
        point_at(monkeypatch, url)
        migrate.upgrade()
        reset_caches()
    yield name
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture
def pg_db(pg_server, pg_template, monkeypatch) -> Iterator[str]:
    """A fresh, migrated PostgreSQL database for one test, which this process now uses."""
    name = f"vitrina_test_{uuid.uuid4().hex[:10]}"
    admin = _admin_engine(pg_server)
    with admin.connect() as connection:
        connection.execute(text(f'CREATE DATABASE "{name}" TEMPLATE "{pg_template}"'))
    url = make_url(pg_server).set(database=name).render_as_string(hide_password=False)
    point_at(monkeypatch, url)
    yield url
    reset_caches()
    with admin.connect() as connection:
        connection.execute(text(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def any_db(request) -> str:
    """Runs the test once on SQLite and once on PostgreSQL."""
    return request.getfixturevalue("sqlite_db" if request.param == "sqlite" else "pg_db")


# --- Redis ---------------------------------------------------------------------------------

@pytest.fixture(scope="session")
def redis_url() -> Iterator[str]:
    given = os.environ.get("TEST_REDIS_URL")
    if given:
        yield given
        return
    server = ThrowawayRedis().start()
    try:
        yield server.url
    finally:
        server.stop()


# --- API -----------------------------------------------------------------------------------

@pytest.fixture
def client(sqlite_db):
    from fastapi.testclient import TestClient

    from marketplace_api.app import create_app

    with TestClient(create_app()) as test_client:
        yield test_client
