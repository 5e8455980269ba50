"""Benchmark: WFS GetFeature and OGC API items against MapServer 8, tipg and pygeoapi.

Data: 50,000 SYNTHETIC tenures from bench/datagen.py, imported with the project's importer
into one PostGIS database that every server reads (table layers_miningtenure, EPSG:9377).

- WFS: one full GetFeature of the layer (all 50,000 features, srsName EPSG:9377, the same
  attributes) as GeoJSON and as GML 3.2, ours vs MapServer 8 (Debian cgi-mapserver, CGI
  behind a loopback HTTP server, PostGIS connection, same table). Time per full download.
- OGC API items: every page of 1,000 items in CRS84 following `next` links, ours vs tipg and
  pygeoapi (each in its own venv under .bench/, one uvicorn worker each, like ours).
  Throughput in features per second.

Median of ROUNDS rounds per server; all servers run at once and every round asks each of
them in turn, so load bursts on the machine hit all alike.
Prints one JSON line per comparison; the last line is a JSON line.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

from _servers import free_port, serve

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATA = ROOT / ".bench" / "data" / "features"
MGN = ROOT / "data" / "samples" / "national" / "dane_mgn2018.gpkg"
TIPG = ROOT / ".bench" / "tipg"
PYGEOAPI = ROOT / ".bench" / "pygeoapi"
DB = "distritos_bench_features"
TENURES = 50_000
ROUNDS = 3
PAGE = 1000
# The attributes every server publishes (ours from the registry; the peers from this view
# of the same table, so nobody ships more or less text).
COLUMNS = (
    "id, tenure_type, expediente, array_to_string(holders, '; ') AS holders, "
    "array_to_string(minerals, ', ') AS minerals, mineral_group, status, stage, modality, "
    "scale, application_date, grant_date, expiry_date, municipalities_published, "
    "declared_area_ha, area_ha, source, geom"
)


# ---- data ---------------------------------------------------------------------------------


def generate() -> Path:
    """50,000 tenures from bench/datagen.py (generated once, reused afterwards)."""
    path = DATA / "tenures.gpkg"
    if not path.exists():
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "bench" / "datagen.py"),
                "--out",
                str(DATA),
                "--tenures",
                str(TENURES),
                "--only",
                "tenures",
            ],
            check=True,
        )
    return path


def database() -> str:
    """The bench database, migrated and loaded once through the importer."""
    from app import cluster

    base = os.environ.get("DATABASE_URL") or cluster.start()
    server = urlunparse(urlparse(base)._replace(path="/postgres"))
    url = urlunparse(urlparse(base)._replace(path=f"/{DB}"))
    exists = subprocess.run(
        ["psql", server, "-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{DB}'"],
        check=True,
        capture_output=True,
        text=True,
    ).stdout.strip()
    if not exists:
        subprocess.run(["psql", server, "-qc", f'CREATE DATABASE "{DB}"'], check=True)
    subprocess.run(["psql", url, "-qc", "CREATE EXTENSION IF NOT EXISTS postgis"], check=True)
    os.environ["DATABASE_URL"] = url
    from app.djangoapp import setup_django

    setup_django(url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        count = conn.execute("SELECT count(*) FROM layers_miningtenure").fetchone()[0]
    if count < TENURES:
        from layers.importer import run_import

        started = time.perf_counter()
        run_import("mining_tenures", generate())
        with psycopg.connect(url, autocommit=True) as conn:
            conn.execute("VACUUM ANALYZE layers_miningtenure")
        print(f"datos cargados en {time.perf_counter() - started:.1f} s", file=sys.stderr)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(
            f"CREATE OR REPLACE VIEW bench_tenures AS SELECT {COLUMNS} FROM layers_miningtenure"
        )
        count = conn.execute("SELECT count(*) FROM layers_miningtenure").fetchone()[0]
    print(f"{count} títulos en {DB}", file=sys.stderr)
    return url


# ---- servers ------------------------------------------------------------------------------


def _uvicorn(venv: Path, app: str, port: int, *extra: str) -> list[str]:
    return [
        str(venv / "bin" / "uvicorn"),
        app,
        *extra,
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        "1",
        "--log-level",
        "warning",
        "--no-access-log",
    ]


@contextlib.contextmanager
def ours(url: str):
    """The service under uvicorn (one worker)."""
    port = free_port()
    env = dict(os.environ, DATABASE_URL=url)
    base = f"http://127.0.0.1:{port}"
    with serve(
        _uvicorn(ROOT / ".venv", "app.main:asgi", port, "--factory"), env, f"{base}/healthz"
    ):
        yield base


def _venv(path: Path, *packages: str) -> None:
    if not (path / "bin" / "uvicorn").exists():
        subprocess.run([sys.executable, "-m", "venv", str(path)], check=True)
        subprocess.run([str(path / "bin" / "pip"), "install", "-q", *packages], check=True)


@contextlib.contextmanager
def tipg(url: str):
    """tipg 1.x on the same database (its own venv)."""
    _venv(TIPG, "tipg>=1,<2", "uvicorn")
    port = free_port()
    env = dict(os.environ, DATABASE_URL=url, TIPG_DB_SCHEMAS='["public"]')
    base = f"http://127.0.0.1:{port}"
    with serve(_uvicorn(TIPG, "tipg.main:app", port), env, f"{base}/collections"):
        yield base


PYGEOAPI_CONFIG = """server:
  bind: {{host: 127.0.0.1, port: {port}}}
  url: http://127.0.0.1:{port}
  mimetype: application/json; charset=UTF-8
  encoding: utf-8
  language: en-US
  cors: false
  pretty_print: false
  limits: {{default_items: 10, max_items: 10000}}
  map: {{url: 'https://tile.openstreetmap.org/{{z}}/{{x}}/{{y}}.png', attribution: osm}}
logging: {{level: ERROR}}
metadata:
  identification: {{title: bench, description: bench, keywords: [bench], keywords_type: theme,
    terms_of_service: none, url: 'http://example.org'}}
  license: {{name: CC-BY 4.0, url: 'https://creativecommons.org/licenses/by/4.0/'}}
  provider: {{name: bench, url: 'http://example.org'}}
  contact: {{name: bench, position: bench, address: bench, city: bench, stateorprovince: bench,
    postalcode: '0', country: CO, phone: '0', fax: '0', email: 'a@example.org',
    url: 'http://example.org', hours: '0', instructions: none, role: pointOfContact}}
resources:
  tenures:
    type: collection
    title: tenures
    description: tenures
    keywords: [tenures]
    extents:
      spatial: {{bbox: [-82, -5, -66, 14], crs: 'http://www.opengis.net/def/crs/OGC/1.3/CRS84'}}
    providers:
      - type: feature
        name: PostgreSQL
        data: {{host: {host}, port: {dbport}, dbname: {dbname}, user: {user},
          password: '{password}', search_path: [public]}}
        id_field: id
        table: bench_tenures
        geom_field: geom
        storage_crs: 'http://www.opengis.net/def/crs/EPSG/0/9377'
"""


@contextlib.contextmanager
def pygeoapi(url: str):
    """pygeoapi (PostgreSQL provider, Starlette app) on the same table (its own venv)."""
    _venv(PYGEOAPI, "pygeoapi", "psycopg2-binary", "sqlalchemy", "geoalchemy2", "uvicorn")
    port = free_port()
    parsed = urlparse(url)
    with tempfile.TemporaryDirectory() as folder:
        config = Path(folder) / "pygeoapi.yml"
        config.write_text(
            PYGEOAPI_CONFIG.format(
                port=port,
                host=parsed.hostname,
                dbport=parsed.port,
                dbname=parsed.path.lstrip("/"),
                user=parsed.username,
                password=parsed.password or "",
            )
        )
        openapi = Path(folder) / "openapi.yml"
        subprocess.run(
            [
                str(PYGEOAPI / "bin" / "pygeoapi"),
                "openapi",
                "generate",
                str(config),
                "--output-file",
                str(openapi),
            ],
            check=True,
            capture_output=True,
        )
        env = dict(os.environ, PYGEOAPI_CONFIG=str(config), PYGEOAPI_OPENAPI=str(openapi))
        base = f"http://127.0.0.1:{port}"
        cmd = _uvicorn(PYGEOAPI, "pygeoapi.starlette_app:APP", port)
        with serve(cmd, env, f"{base}/collections?f=json", cwd=folder):
            yield base


MAPFILE = """MAP
  NAME "distritos_bench_wfs"
  EXTENT 3900000 1000000 6000000 3100000
  PROJECTION "init=epsg:9377" END
  WEB
    METADATA
      "wfs_title" "bench"
      "wfs_onlineresource" "{online}?"
      "wfs_srs" "EPSG:9377 EPSG:4326"
      "wfs_enable_request" "*"
      "wfs_getfeature_formatlist" "geojson"
    END
  END
  OUTPUTFORMAT
    NAME "geojson"
    DRIVER "OGR/GEOJSON"
    MIMETYPE "application/json"
    FORMATOPTION "FORM=SIMPLE"
    FORMATOPTION "STORAGE=stream"
    FORMATOPTION "LCO:COORDINATE_PRECISION=2"
  END
  LAYER
    NAME "tenures"
    TYPE POLYGON
    STATUS ON
    CONNECTIONTYPE POSTGIS
    CONNECTION "{conn}"
    DATA "geom from bench_tenures using unique id using srid=9377"
    PROJECTION "init=epsg:9377" END
    METADATA
      "wfs_title" "tenures"
      "wfs_srs" "EPSG:9377"
      "gml_include_items" "all"
      "gml_exclude_items" "id"
      "gml_featureid" "id"
      "gml_types" "auto"
      "wfs_enable_request" "*"
    END
  END
END
"""


@contextlib.contextmanager
def mapserver(url: str):
    """MapServer 8 CGI (WFS) behind a threaded CGI HTTP server on loopback."""
    parsed = urlparse(url)
    conn = (
        f"host={parsed.hostname} port={parsed.port} user={parsed.username} "
        f"dbname={parsed.path.lstrip('/')}"
        + (f" password={parsed.password}" if parsed.password else "")
    )
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        # Python's CGI handler drops to `nobody` when run as root: let it read the mapfile.
        root.chmod(0o755)
        port = free_port()
        base = f"http://127.0.0.1:{port}/cgi-bin/mapserv"
        (root / "wfs.map").write_text(MAPFILE.format(conn=conn, online=base))
        cgi = root / "cgi-bin"
        cgi.mkdir()
        config = root / "mapserver.conf"
        # MapServer 8 reads its config file first; it names the mapfile.
        config.write_text(f'CONFIG\n  ENV\n    "MS_MAPFILE" "{root / "wfs.map"}"\n  END\nEND\n')
        script = cgi / "mapserv"
        script.write_text(
            f"#!/bin/sh\nexport MAPSERVER_CONFIG_FILE={config}\nexec /usr/lib/cgi-bin/mapserv\n"
        )
        script.chmod(0o755)
        cmd = [
            sys.executable,
            str(Path(__file__).with_name("_servers.py")),
            "--cgi-server",
            str(port),
            folder,
        ]
        # The Python wheels (pyproj, pyogrio) point PROJ/GDAL at their own newer data; the
        # system MapServer needs the system's.
        env = {
            k: v
            for k, v in os.environ.items()
            if k not in ("PROJ_DATA", "PROJ_LIB", "GDAL_DATA", "GDAL_DRIVER_PATH")
        }
        with serve(cmd, env, f"{base}?SERVICE=WFS&REQUEST=GetCapabilities"):
            yield base


# ---- measurements -------------------------------------------------------------------------


def fetch(url: str) -> bytes:
    """GET a URL fully (bytes)."""
    parsed = urlparse(url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=600)
    conn.request("GET", parsed.path + ("?" + parsed.query if parsed.query else ""))
    response = conn.getresponse()
    body = response.read()
    if response.status != 200:
        raise RuntimeError(f"{url}: HTTP {response.status}: {body[:300]!r}")
    return body


def download(url: str, check) -> float:
    """Seconds of one full download, checked."""
    started = time.perf_counter()
    body = fetch(url)
    elapsed = time.perf_counter() - started
    check(body)
    return elapsed


def count_geojson(expected: int):
    def check(body: bytes) -> None:
        found = len(json.loads(body)["features"])
        if found != expected:
            raise RuntimeError(f"GeoJSON con {found} elementos; se esperaban {expected}")

    return check


def count_gml(expected: int, member: bytes):
    def check(body: bytes) -> None:
        found = body.count(member)
        if found != expected:
            raise RuntimeError(f"GML con {found} elementos; se esperaban {expected}")

    return check


def walk_pages(first: str) -> int:
    """Follow `next` links from the first page; number of features read."""
    url, total = first, 0
    while url:
        page = json.loads(fetch(url))
        total += len(page["features"])
        url = next((link["href"] for link in page.get("links", []) if link["rel"] == "next"), None)
        if not page["features"]:
            break
    return total


def walk(first: str, expected: int) -> float:
    """Features per second of one walk over every page."""
    started = time.perf_counter()
    total = walk_pages(first)
    elapsed = time.perf_counter() - started
    if total != expected:
        raise RuntimeError(f"{first}: {total} elementos; se esperaban {expected}")
    return total / elapsed


def line(
    benchmark: str, ours_value: float, peer: str, peer_value: float, ratio: float, target: str
):
    """One comparison as a JSON line."""
    print(
        json.dumps(
            {
                "benchmark": benchmark,
                "ours": round(ours_value, 3),
                "peer": {"name": peer, "value": round(peer_value, 3)},
                "ratio": round(ratio, 3),
                "target": target,
            }
        ),
        flush=True,
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.parse_args()
    url = database()
    import psycopg

    with psycopg.connect(url) as conn:
        n = conn.execute("SELECT count(*) FROM layers_miningtenure").fetchone()[0]
    wfs_query = "SERVICE=WFS&VERSION=2.0.0&REQUEST=GetFeature&SRSNAME=EPSG:9377"
    with contextlib.ExitStack() as stack:
        # Every server runs at once and the rounds interleave them, so a burst of load on
        # the machine hits all of them alike.
        base = stack.enter_context(ours(url))
        mapserv = stack.enter_context(mapserver(url))
        tipg_base = stack.enter_context(tipg(url))
        pygeoapi_base = stack.enter_context(pygeoapi(url))
        ours_wfs = f"{base}/wfs?{wfs_query}&TYPENAMES=dm:mining_tenures"
        ms_wfs = f"{mapserv}?{wfs_query}&TYPENAMES=tenures"
        tasks = {
            "ours_geojson": lambda: download(
                ours_wfs + "&OUTPUTFORMAT=application/json", count_geojson(n)
            ),
            "mapserver_geojson": lambda: download(
                ms_wfs + "&OUTPUTFORMAT=geojson", count_geojson(n)
            ),
            "ours_gml": lambda: download(ours_wfs, count_gml(n, b"<wfs:member>")),
            "mapserver_gml": lambda: download(ms_wfs, count_gml(n, b"<wfs:member>")),
            "ours_items": lambda: walk(
                f"{base}/ogc/collections/mining_tenures/items?limit={PAGE}", n
            ),
            "tipg_items": lambda: walk(
                f"{tipg_base}/collections/public.bench_tenures/items?limit={PAGE}", n
            ),
            "pygeoapi_items": lambda: walk(
                f"{pygeoapi_base}/collections/tenures/items?f=json&limit={PAGE}", n
            ),
        }
        for task in tasks.values():  # warm-up: caches, connection pools, the peers' imports
            task()
        samples: dict[str, list[float]] = {name: [] for name in tasks}
        for _ in range(ROUNDS):
            for name, task in tasks.items():
                samples[name].append(task())
    results = {name: statistics.median(values) for name, values in samples.items()}
    print(
        json.dumps({"features": n, **{k: round(v, 3) for k, v in results.items()}}), file=sys.stderr
    )
    for fmt, label in (("geojson", "GeoJSON"), ("gml", "GML 3.2")):
        ours_s, peer_s = results[f"ours_{fmt}"], results[f"mapserver_{fmt}"]
        line(
            f"wfs_getfeature_{fmt}_{n}_tenures_seconds",
            ours_s,
            "mapserver8",
            peer_s,
            ours_s / peer_s,
            f"<= 1.0 (tiempo de GetFeature {label} frente a MapServer)",
        )
    for peer in ("tipg", "pygeoapi"):
        ours_r, peer_r = results["ours_items"], results[f"{peer}_items"]
        line(
            f"ogcapi_items_pages_of_{PAGE}_features_per_second",
            ours_r,
            peer,
            peer_r,
            ours_r / peer_r,
            ">= 2.0 (rendimiento de items frente al par)",
        )


if __name__ == "__main__":
    main()
