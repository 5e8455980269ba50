"""One real PostGIS database per test session, migrated from scratch and dropped at the end.

The database lives in the private cluster (`app/cluster.py`) or, when DATABASE_URL is set,
on that server under a throwaway name, so parallel runs never collide.
"""

from __future__ import annotations

import os
import subprocess
from urllib.parse import urlparse, urlunparse

import pytest

from app import cluster

TEST_DB = f"distritos_test_{os.getpid()}"


def _server_url() -> str:
    if os.environ.get("DATABASE_URL"):
        parsed = urlparse(os.environ["DATABASE_URL"])
        return urlunparse(parsed._replace(path="/postgres"))
    return cluster.start()


def _with_db(url: str, name: str) -> str:
    return urlunparse(urlparse(url)._replace(path=f"/{name}"))


@pytest.fixture(scope="session")
def database_url() -> str:
    """URL of the migrated throwaway database (Django is set up against it)."""
    server = _server_url()
    subprocess.run(["psql", server, "-qc", f'DROP DATABASE IF EXISTS "{TEST_DB}"'], check=True)
    subprocess.run(["psql", server, "-qc", f'CREATE DATABASE "{TEST_DB}"'], check=True)
    url = _with_db(server, TEST_DB)
    subprocess.run(["psql", url, "-qc", "CREATE EXTENSION IF NOT EXISTS postgis"], check=True)
    os.environ["DATABASE_URL"] = url
    from app.djangoapp import setup_django

    setup_django(url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    yield url
    from django.db import connections

    connections.close_all()
    pool = _open_pools.pop("pool", None)
    if pool is not None:
        pool.close()
    subprocess.run(
        ["psql", server, "-qc", f'DROP DATABASE IF EXISTS "{TEST_DB}" WITH (FORCE)'], check=False
    )


_open_pools: dict = {}


@pytest.fixture
def db(database_url):
    """A psycopg connection to the test database (autocommit)."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        yield conn


@pytest.fixture(scope="session")
def app(database_url):
    """The FastAPI app built on the test database."""
    from app.main import create_app
    from app.settings import DatabaseSettings, Settings

    # No background refresh of proposal figures after uploads: it would race with the engine
    # tests that count computed units (tests/test_uploads.py turns it on for its own test).
    return create_app(
        Settings(database=DatabaseSettings(url=database_url), precompute_figures=False)
    )


@pytest.fixture(scope="session")
def client(app):
    """An HTTP client speaking to the app in-process (real PostGIS behind it)."""
    from fastapi.testclient import TestClient

    with TestClient(app) as test_client:
        yield test_client


@pytest.fixture(scope="session")
def live_server(database_url):
    """The service under uvicorn on a free port, on the test database; yields its base URL."""
    import socket
    import sys
    import time
    import urllib.request

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    env = dict(os.environ, DATABASE_URL=database_url, DM_PRECOMPUTE_FIGURES="off")
    process = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "app.main:asgi",
            "--factory",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--log-level",
            "warning",
        ],
        env=env,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        try:
            with urllib.request.urlopen(base + "/healthz", timeout=2) as response:
                if response.status == 200:
                    break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError("El servidor de pruebas no arrancó") from None
            time.sleep(0.3)
    yield base
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
