"""Reliability: body limits, backups that restore exactly, surviving a database restart."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
from pathlib import Path

import psycopg
import pytest
from fastapi.testclient import TestClient

from app import cluster
from app.backup import backup, restore, table_fingerprints
from app.main import create_app
from app.settings import ApiSettings, DatabaseSettings, Settings


def test_body_over_limit_is_413_before_routing(database_url):
    small = create_app(
        Settings(database=DatabaseSettings(url=database_url), api=ApiSettings(max_body_bytes=1000))
    )
    with TestClient(small) as client:
        response = client.post("/api/v1/layers", content=b"x" * 5000)
        assert response.status_code == 413
        assert "supera el límite de 1000 bytes" in response.json()["detail"]
        # Under the limit the request reaches routing (405: the catalogue is read-only).
        assert client.post("/api/v1/layers", content=b"x" * 10).status_code == 405


def test_backup_restores_every_table_and_geometry(database_url, tmp_path):
    with psycopg.connect(database_url, autocommit=True) as conn:
        conn.execute(
            "INSERT INTO layers_department (code, name, area_ha, geom) VALUES "
            "('99', 'Prueba respaldo', 100, ST_Multi(ST_MakeEnvelope(4.9e6, 2e6, 4.901e6, "
            "2.001e6, 9377))) ON CONFLICT (code) DO NOTHING"
        )
    data_dir = tmp_path / "rasters"
    data_dir.mkdir()
    (data_dir / "dem.tif").write_bytes(b"raster bytes")
    dump, _ = backup(database_url, data_dir, tmp_path / "out")
    target_name = f"restore_{os.getpid()}"
    server = database_url.rsplit("/", 1)[0] + "/postgres"
    subprocess.run(["psql", server, "-qc", f'CREATE DATABASE "{target_name}"'], check=True)
    target = database_url.rsplit("/", 1)[0] + f"/{target_name}"
    try:
        restored_dir = tmp_path / "restored" / "rasters"
        restore(dump, target, restored_dir)
        before = table_fingerprints(database_url)
        after = table_fingerprints(target)
        assert before == after
        assert before["layers_department"][0] >= 1
        assert before["layers_department"][1] is not None
        assert (restored_dir / "dem.tif").read_bytes() == b"raster bytes"
    finally:
        subprocess.run(
            ["psql", server, "-qc", f'DROP DATABASE IF EXISTS "{target_name}" WITH (FORCE)'],
            check=False,
        )
        with psycopg.connect(database_url, autocommit=True) as conn:
            conn.execute("DELETE FROM layers_department WHERE code = '99'")


@pytest.fixture
def own_cluster():
    """A separate throwaway cluster this test may stop and start without disturbing others."""
    base = Path(tempfile.mkdtemp(prefix="dm-pg-"))
    pgdata = base / "data"
    pgdata.mkdir()
    if os.geteuid() == 0:
        shutil.chown(base, "postgres", "postgres")
        shutil.chown(pgdata, "postgres", "postgres")
    pgdata.chmod(0o700)
    port = cluster._free_port()
    run = cluster._as_postgres
    subprocess.run(
        run([cluster._pg_bin("initdb"), "-D", str(pgdata), "-U", "postgres", "-A", "trust"]),
        check=True,
        stdout=subprocess.DEVNULL,
    )
    options = f"-p {port} -c listen_addresses=127.0.0.1 -c unix_socket_directories=/tmp"

    def start() -> None:
        subprocess.run(
            run(
                [
                    cluster._pg_bin("pg_ctl"),
                    "-D",
                    str(pgdata),
                    "-o",
                    options,
                    "-l",
                    str(pgdata / "log"),
                    "-w",
                    "start",
                ]
            ),
            check=True,
            stdout=subprocess.DEVNULL,
        )

    def stop() -> None:
        subprocess.run(
            run([cluster._pg_bin("pg_ctl"), "-D", str(pgdata), "-m", "immediate", "stop"]),
            check=True,
            stdout=subprocess.DEVNULL,
        )

    start()
    url = f"postgresql://postgres@127.0.0.1:{port}/postgres"
    subprocess.run(["psql", url, "-qc", "CREATE EXTENSION postgis"], check=True)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            "CREATE TABLE layers_department (code text primary key, name text, area_ha float, "
            "geom geometry(MultiPolygon, 4326))"
        )
    yield url, start, stop
    stop()
    shutil.rmtree(base, ignore_errors=True)


def test_service_fails_fast_while_database_is_down_and_recovers(own_cluster):
    url, start, stop = own_cluster
    service = create_app(Settings(database=DatabaseSettings(url=url, connect_timeout_s=2)))
    with TestClient(service) as client:
        assert client.get("/api/v1/layers/departments").status_code == 200
        stop()
        began = time.monotonic()
        down = client.get("/api/v1/layers/departments")
        assert down.status_code == 503
        assert "no responde" in down.json()["detail"]
        assert client.get("/healthz").status_code == 503
        assert time.monotonic() - began < 10
        start()
        for _ in range(20):
            if client.get("/api/v1/layers/departments").status_code == 200:
                break
            time.sleep(0.5)
        recovered = client.get("/api/v1/layers/departments")
        assert recovered.status_code == 200
        assert recovered.json()["feature_count"] == 0


def test_app_serves_after_its_lifespan_ran_again(app, client):
    """Another client starting and stopping the same app (as schemathesis does) must not
    leave the shared pool closed."""
    with TestClient(app) as second:
        assert second.get("/api/v1/layers/departments").status_code == 200
    assert app.state.db.pool is not None
    assert client.get("/api/v1/layers/departments").status_code == 200


def test_pool_checks_only_connections_idle_past_the_threshold(database_url):
    """A connection lent again at once is not checked (a killed backend shows as a 503 and
    is dropped); one idle past CHECK_AFTER_IDLE_S is checked and silently replaced."""
    from app.db import CHECK_AFTER_IDLE_S, Database, DatabaseUnavailable

    db = Database(DatabaseSettings(url=database_url, pool_min=1, pool_max=1))
    db.open()
    db.pool.wait(timeout=10)

    def backend_pid() -> int:
        with db.connection() as conn:
            return conn.execute("SELECT pg_backend_pid()").fetchone()[0]

    def kill(pid: int) -> None:
        with psycopg.connect(database_url, autocommit=True) as admin:
            admin.execute("SELECT pg_terminate_backend(%s)", [pid])
        time.sleep(0.2)  # the backend is gone before the next request

    try:
        first = backend_pid()
        kill(first)
        with pytest.raises(DatabaseUnavailable, match="no responde"), db.connection() as conn:
            conn.execute("SELECT 1")
        second = backend_pid()  # the broken connection was dropped: a new backend
        assert second != first
        kill(second)
        time.sleep(CHECK_AFTER_IDLE_S + 0.2)
        third = backend_pid()  # idle long enough: checked, replaced, no error
        assert third not in (first, second)
    finally:
        db.close()
