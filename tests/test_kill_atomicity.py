"""A real import subprocess killed with SIGKILL mid-way leaves nothing behind: the file is
one transaction, so PostgreSQL rolls it back when the connection dies."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import geopandas as gpd
import numpy as np
import psycopg
from shapely import box

ROOT = Path(__file__).resolve().parent.parent
N = 20_000


def _tenures_file(path: Path) -> Path:
    """N square ANM-style tenures in EPSG:9377 (enough rows to be killed mid-import)."""
    rng = np.random.default_rng(7)
    xs = rng.uniform(4.60e6, 4.90e6, N)
    ys = rng.uniform(2.05e6, 2.40e6, N)
    frame = gpd.GeoDataFrame(
        {
            "CODIGO_EXPEDIENTE": [f"KILL-{i:06d}" for i in range(N)],
            "TITULO_ESTADO": "Vigente",
            "ETAPA": "Explotación",
            "MODALIDAD": "Contrato de concesión (L 685)",
            "MINERALES": "ORO",
            "SOLICITANTES_O_TITULARES": "Titular de prueba",
            "CLASIFICACION_MINERIA": "Pequeña",
            "AREA_HA": 25.0,
        },
        geometry=[box(x, y, x + 500, y + 500) for x, y in zip(xs, ys, strict=True)],
        crs="EPSG:9377",
    )
    frame.to_file(path, driver="GPKG", engine="pyogrio")
    return path


def _counts(url: str) -> tuple[int, int]:
    with psycopg.connect(url) as conn:
        tenures = conn.execute("SELECT count(*) FROM layers_miningtenure").fetchone()[0]
        batches = conn.execute("SELECT count(*) FROM layers_importbatch").fetchone()[0]
    return tenures, batches


def test_sigkill_during_import_leaves_nothing(database_url, tmp_path):
    source = _tenures_file(tmp_path / "tenures.gpkg")
    before = _counts(database_url)
    env = {**os.environ, "DATABASE_URL": database_url}
    process = subprocess.Popen(
        [sys.executable, "-m", "app.cli", "import", "mining_tenures", str(source)],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    database = database_url.rsplit("/", 1)[1]
    writing = False
    deadline = time.monotonic() + 120
    with psycopg.connect(database_url, autocommit=True) as watcher:
        while time.monotonic() < deadline and process.poll() is None:
            # The import's transaction is writing features: its COPY into staging or the
            # upsert into the layer is running.
            active = watcher.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> "
                "pg_backend_pid() AND backend_xid IS NOT NULL AND (query ILIKE 'COPY%%' OR "
                "query ILIKE '%%layers_miningtenure%%')",
                [database],
            ).fetchone()[0]
            if active:
                writing = True
                break
            time.sleep(0.05)
    assert writing, "the import never started writing: " + (process.stderr.read() or b"").decode()
    process.send_signal(signal.SIGKILL)
    process.wait(timeout=30)
    assert process.returncode == -signal.SIGKILL
    # The server notices the dead client and rolls back; nothing of the file stays.
    for _ in range(100):
        with psycopg.connect(database_url, autocommit=True) as conn:
            left = conn.execute(
                "SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND pid <> "
                "pg_backend_pid() AND backend_xid IS NOT NULL",
                [database],
            ).fetchone()[0]
        if not left:
            break
        time.sleep(0.1)
    assert _counts(database_url) == before
    with psycopg.connect(database_url) as conn:
        partial = conn.execute(
            "SELECT count(*) FROM layers_miningtenure WHERE expediente LIKE 'KILL-%'"
        ).fetchone()[0]
    assert partial == 0
