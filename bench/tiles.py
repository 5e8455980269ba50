"""Benchmark: vector tiles (MVT) against tipg and MapServer 8 on the same PostGIS tables.

Data: bench/datagen.py (10,000 tenures, 50,000 hotspots, 10,000 hydro units; SYNTHETIC,
EPSG:9377) plus the 1,122 DANE municipalities, loaded through the project's importers into a
dedicated database (`distritos_bench_tiles` in the private cluster).

Requests: a fixed list of 2,000 tiles, z5..z14, centred on features of the data (seeded), one
layer per request cycling municipalities, mining_tenures, mining_hotspots, hydro_units; sent
at concurrency 16 from a separate load process (keep-alive connections, Accept-Encoding:
gzip). Every server gets 2 worker processes (2 cores), the same published attributes.

- ours, cache off (DM_TILE_CACHE=off): uvicorn app.main:asgi; its low-zoom generalised
  geometry store (layers.tile_generalised, rebuilt per layer revision, not a tile cache) is
  built before the rounds, as the service does in the background after an import;
- tipg 1.x in its own venv (.bench/tipg), `/collections/public.<table>/tiles/WebMercatorQuad`;
- MapServer 8 (Debian cgi-mapserver) MVT output through CGI (no FastCGI host is installed;
  the CGI process per request is part of its cost);
- raw SQL: the very statements our service runs (layers.tiles.tile_statement), executed
  through psycopg at concurrency 16 from a separate process: the floor for our latency;
- ours, cache on, after one warming pass.

All servers run for the whole benchmark and each round visits them in turn (then the raw SQL),
so the machine's slow spells are shared. Prints throughput (tiles/s) and p95 latency (ms),
medians of ROUNDS rounds, and one JSON line per comparison; the last line is one of them.
"""

from __future__ import annotations

import argparse
import contextlib
import http.client
import json
import os
import random
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from urllib.parse import urlparse, urlunparse

from _servers import free_port, serve

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATA = ROOT / ".bench" / "data" / "proposals"
MGN = ROOT / "data" / "samples" / "national" / "dane_mgn2018.gpkg"
TIPG = ROOT / ".bench" / "tipg"
DB = "distritos_bench_tiles"
LAYERS = ("municipalities", "mining_tenures", "mining_hotspots", "hydro_units")
TILES = 2_000
CONCURRENCY = 16
WORKERS = 2
ROUNDS = 3
# Plain columns published by every server (arrays are left out: not every peer encodes them).
COLUMNS = {
    "municipalities": "code,name,department_id,legal_act,area_ha",
    "mining_tenures": "tenure_type,expediente,mineral_group,status,stage,modality,scale,"
    "municipalities_published,declared_area_ha,area_ha,source",
    "mining_hotspots": "source,source_id,category,setting,detected_on,area_ha,confidence",
    "hydro_units": "system,code,name,level,parent_id,next_down_id,area_ha",
}


# ---- data ---------------------------------------------------------------------------------


def generate() -> None:
    """Run bench/datagen.py once (the same files as bench/proposals.py; reused afterwards)."""
    if (DATA / "hydro_units.gpkg").exists() and (DATA / "hotspots.gpkg").exists():
        return
    subprocess.run(
        [
            sys.executable,
            str(ROOT / "bench" / "datagen.py"),
            "--out",
            str(DATA),
            "--tenures",
            "10000",
            "--hotspots",
            "50000",
            "--hydro-units",
            "10000",
            "--only",
            "tenures",
            "--only",
            "hotspots",
            "--only",
            "hydro",
        ],
        check=True,
    )


def database() -> str:
    """The bench database, migrated and loaded once through the importers."""
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
    from app.djangoapp import setup_django

    setup_django(url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        counts = conn.execute(
            "SELECT (SELECT count(*) FROM layers_municipality), "
            "(SELECT count(*) FROM layers_miningtenure), "
            "(SELECT count(*) FROM layers_mininghotspot), "
            "(SELECT count(*) FROM hydrology_hydrounit)"
        ).fetchone()
    if min(counts) == 0:
        load(url)
    prepare_store(url)
    return url


def prepare_store(url: str) -> None:
    """Build the low-zoom generalised store (layers.tile_generalised) before measuring.

    The service would rebuild it in the background after the first low-zoom requests; it is
    done here so the rounds measure steady state, and its cost is printed apart.
    """
    import psycopg

    from app.tiles.symbology import class_properties
    from layers import tile_generalised
    from layers.registry import get_layer

    started = time.perf_counter()
    with psycopg.connect(url, autocommit=True) as conn:
        built = tile_generalised.refresh_stale(
            conn, [get_layer(name) for name in LAYERS], class_properties()
        )
    if built:
        print(
            f"almacén generalizado ({', '.join(built)}) en {time.perf_counter() - started:.1f} s",
            file=sys.stderr,
        )


def load(url: str) -> None:
    """Import every layer with the project's importers (as `distritos import` does)."""
    import psycopg

    from layers.importer import run_import

    generate()
    started = time.perf_counter()
    run_import("departments", MGN, source_layer="departamentos")
    run_import("municipalities", MGN, source_layer="municipios")
    run_import("hydro_units", DATA / "hydro_units.gpkg", system="hydrobasins")
    run_import("mining_tenures", DATA / "tenures.gpkg")
    run_import("mining_hotspots", DATA / "hotspots.gpkg")
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("VACUUM ANALYZE")
    print(f"datos cargados en {time.perf_counter() - started:.1f} s", file=sys.stderr)


def tile_list(url: str, n: int = TILES, seed: int = 977) -> list[tuple[str, int, int, int]]:
    """A fixed list of (layer, z, x, y): z5..z14 around features of each layer."""
    import morecantile
    import psycopg

    from layers.registry import get_layer

    tms = morecantile.tms.get("WebMercatorQuad")
    rng = random.Random(seed)
    points: dict[str, list[tuple[float, float]]] = {}
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("SELECT setseed(0.977)")
        for name in LAYERS:
            table = get_layer(name).table
            rows = conn.execute(
                f"SELECT ST_X(p), ST_Y(p) FROM (SELECT ST_Transform(ST_PointOnSurface(geom), "
                f"4326) AS p FROM {table} ORDER BY random() LIMIT 600) s"
            ).fetchall()
            points[name] = rows
    tiles = []
    for i in range(n):
        name = LAYERS[i % len(LAYERS)]
        lon, lat = rng.choice(points[name])
        z = 5 + i // len(LAYERS) % 10
        t = tms.tile(lon, lat, z)
        tiles.append((name, t.z, t.x, t.y))
    rng.shuffle(tiles)
    return tiles


# ---- servers ------------------------------------------------------------------------------


@contextlib.contextmanager
def ours(url: str, cache: bool):
    """The service under uvicorn with WORKERS workers."""
    port = free_port()
    env = dict(os.environ, DATABASE_URL=url, DM_TILE_CACHE="on" if cache else "off")
    cmd = [
        str(ROOT / ".venv" / "bin" / "uvicorn"),
        "app.main:asgi",
        "--factory",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(WORKERS),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    base = f"http://127.0.0.1:{port}"
    with serve(cmd, env, base + "/healthz"):
        yield lambda layer, z, x, y: f"{base}/tiles/{layer}/{z}/{x}/{y}.pbf"


def tipg_python() -> Path:
    """tipg's own venv (created on first use; never the project's .venv)."""
    python = TIPG / "bin" / "python"
    if not (TIPG / "bin" / "uvicorn").exists():
        subprocess.run([sys.executable, "-m", "venv", str(TIPG)], check=True)
        subprocess.run(
            [str(TIPG / "bin" / "pip"), "install", "-q", "tipg>=1,<2", "uvicorn"], check=True
        )
    return python


@contextlib.contextmanager
def tipg(url: str):
    """tipg with WORKERS workers on the same tables."""
    from layers.registry import get_layer

    tipg_python()
    port = free_port()
    env = dict(os.environ, DATABASE_URL=url, TIPG_DB_SCHEMAS='["public"]')
    cmd = [
        str(TIPG / "bin" / "uvicorn"),
        "tipg.main:app",
        "--host",
        "127.0.0.1",
        "--port",
        str(port),
        "--workers",
        str(WORKERS),
        "--log-level",
        "warning",
        "--no-access-log",
    ]
    base = f"http://127.0.0.1:{port}"

    def tile_url(layer, z, x, y):
        table = get_layer(layer).table
        return (
            f"{base}/collections/public.{table}/tiles/WebMercatorQuad/{z}/{x}/{y}"
            f"?properties={COLUMNS[layer]}"
        )

    with serve(cmd, env, base + "/collections"):
        yield tile_url


MAPFILE = """MAP
  NAME "distritos_bench"
  EXTENT -20037508.34 -20037508.34 20037508.34 20037508.34
  SIZE 256 256
  PROJECTION "init=epsg:3857" END
  WEB METADATA "ows_enable_request" "*" END END
  OUTPUTFORMAT
    NAME "mvt"
    DRIVER MVT
    FORMATOPTION "EXTENT=4096"
    FORMATOPTION "EDGE_BUFFER=64"
  END
{layers}
END
"""

MAPLAYER = """  LAYER
    NAME "{name}"
    TYPE POLYGON
    STATUS ON
    CONNECTIONTYPE POSTGIS
    CONNECTION "{conn}"
    DATA "geom from {table} using unique {id} using srid=9377"
    PROJECTION "init=epsg:9377" END
    METADATA "gml_include_items" "{columns}" "gml_types" "auto" END
  END
"""


@contextlib.contextmanager
def mapserver(url: str):
    """MapServer 8 CGI (mode=tile, MVT) behind a threaded CGI HTTP server."""
    from layers.registry import get_layer

    parsed = urlparse(url)
    conn = (
        f"host={parsed.hostname} port={parsed.port} user={parsed.username} "
        f"dbname={parsed.path.lstrip('/')}"
        + (f" password={parsed.password}" if parsed.password else "")
    )
    with tempfile.TemporaryDirectory() as folder:
        root = Path(folder)
        # Python's CGI handler drops to user `nobody` when run as root: it must read these.
        root.chmod(0o755)
        layers = "".join(
            MAPLAYER.format(
                name=name,
                conn=conn,
                table=get_layer(name).table,
                id=get_layer(name).id_column,
                columns=COLUMNS[name],
            )
            for name in LAYERS
        )
        (root / "tiles.map").write_text(MAPFILE.format(layers=layers))
        cgi = root / "cgi-bin"
        cgi.mkdir()
        script = cgi / "mapserv"
        # MapServer 8 reads its config file first; it names the mapfile.
        config = root / "mapserver.conf"
        config.write_text(f'CONFIG\n  ENV\n    "MS_MAPFILE" "{root / "tiles.map"}"\n  END\nEND\n')
        script.write_text(
            # pyproj/rasterio export their own PROJ_DATA/GDAL_DATA into this process's
            # environment; Debian's MapServer must use the system PROJ database.
            "#!/bin/sh\nunset PROJ_DATA PROJ_LIB GDAL_DATA\n"
            f"export MAPSERVER_CONFIG_FILE={config}\nexec /usr/lib/cgi-bin/mapserv\n"
        )
        script.chmod(0o755)
        port = free_port()
        cmd = [
            sys.executable,
            str(Path(__file__).with_name("_servers.py")),
            "--cgi-server",
            str(port),
            folder,
        ]
        base = f"http://127.0.0.1:{port}/cgi-bin/mapserv"

        def tile_url(layer, z, x, y):
            return (
                f"{base}?mode=tile&tilemode=gmap&tile={x}+{y}+{z}&layers={layer}&map.imagetype=mvt"
            )

        with serve(cmd, dict(os.environ), tile_url("municipalities", 0, 0, 0)):
            yield tile_url


# ---- load process -------------------------------------------------------------------------


def load_http(urls: list[str], concurrency: int) -> dict:
    """Fetch every URL with `concurrency` keep-alive clients; latencies in ms."""
    latencies: list[float] = []
    errors = 0
    size = 0
    lock = threading.Lock()
    queue = iter(range(len(urls)))

    def worker() -> None:
        nonlocal errors, size
        conn = None
        while True:
            with lock:
                index = next(queue, None)
            if index is None:
                break
            parsed = urlparse(urls[index])
            path = parsed.path + ("?" + parsed.query if parsed.query else "")
            started = time.perf_counter()
            try:
                if conn is None:
                    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=120)
                conn.request("GET", path, headers={"Accept-Encoding": "gzip"})
                response = conn.getresponse()
                body = response.read()
                # A 200 with an HTML page is MapServer's way of reporting an error.
                kind = response.getheader("content-type", "")
                ok = response.status == 204 or (response.status == 200 and "html" not in kind)
                if response.getheader("connection", "").lower() == "close":
                    conn.close()
                    conn = None
            except (OSError, http.client.HTTPException):
                ok, body = False, b""
                conn = None
            elapsed = (time.perf_counter() - started) * 1000
            with lock:
                latencies.append(elapsed)
                size += len(body)
                errors += 0 if ok else 1

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {
        "elapsed": time.perf_counter() - started,
        "latencies": latencies,
        "errors": errors,
        "bytes": size,
    }


def load_sql(url: str, tiles: list[list], concurrency: int) -> dict:
    """Run our tile statements directly through psycopg; latencies in ms."""
    import psycopg

    from app.tiles.symbology import class_properties
    from layers.registry import get_layer
    from layers.tiles import TileAddress, in_zoom_range, run_tile, tile_statement

    # The class attributes the service aggregates by (as app/tiles/vector.py passes them).
    published = {p.name for name in LAYERS for p in get_layer(name).properties}
    classes = {k: v for k, v in class_properties().items() if v in published}
    latencies: list[float] = []
    size = 0
    lock = threading.Lock()
    queue = iter(range(len(tiles)))

    def worker() -> None:
        nonlocal size
        with psycopg.connect(url, autocommit=True) as conn:
            while True:
                with lock:
                    index = next(queue, None)
                if index is None:
                    break
                name, z, x, y = tiles[index]
                layer = get_layer(name)
                tile = TileAddress(z, x, y)
                started = time.perf_counter()
                data = b""
                if in_zoom_range(layer, z):
                    statement = tile_statement([layer], tile, True, class_properties=classes)
                    data = run_tile(conn, statement, tile, 1)
                elapsed = (time.perf_counter() - started) * 1000
                with lock:
                    latencies.append(elapsed)
                    size += len(data)

    started = time.perf_counter()
    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return {
        "elapsed": time.perf_counter() - started,
        "latencies": latencies,
        "errors": 0,
        "bytes": size,
    }


def _separate_process(mode: str, payload: dict) -> dict:
    """Run one load round in a fresh process (the load never shares the server's cores' GIL)."""
    with tempfile.NamedTemporaryFile("w", suffix=".json", delete=False) as handle:
        json.dump(payload, handle)
    try:
        out = subprocess.run(
            [sys.executable, str(Path(__file__).resolve()), mode, handle.name],
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    finally:
        os.unlink(handle.name)
    return json.loads(out.strip().splitlines()[-1])


def _summary(run: dict) -> dict:
    latencies = sorted(run["latencies"])
    p95 = latencies[int(0.95 * (len(latencies) - 1))]
    return {
        "throughput": len(latencies) / run["elapsed"],
        "p95_ms": p95,
        "errors": run["errors"],
        "mb": run["bytes"] / 1e6,
    }


def one_round(make_url, tiles) -> dict:
    """One pass over the tile list from a separate load process."""
    urls = [make_url(*t) for t in tiles]
    return _summary(_separate_process("--load", {"urls": urls, "c": CONCURRENCY}))


def report(name: str, runs: list[dict]) -> dict:
    """Median throughput and p95 of the rounds, printed as one line."""
    result = {
        "throughput": statistics.median(r["throughput"] for r in runs),
        "p95_ms": statistics.median(r["p95_ms"] for r in runs),
        "errors": max(r.get("errors", 0) for r in runs),
        "mb": runs[-1].get("mb", 0.0),
    }
    each = ", ".join(f"{r['throughput']:.1f}" for r in runs)
    print(
        f"{name:<28} {result['throughput']:8.1f} teselas/s   p95 {result['p95_ms']:8.1f} ms   "
        f"errores {result['errors']:4d}   {result['mb']:7.1f} MB   (rondas: {each})",
        flush=True,
    )
    return result


def measure(name: str, make_url, tiles, rounds: int) -> dict:
    """`rounds` passes over the tile list, reported (warm-up passes)."""
    return report(name, [one_round(make_url, tiles) for _ in range(rounds)])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    parser.add_argument("--tiles", type=int, default=TILES)
    parser.add_argument("--load", dest="load_file")
    parser.add_argument("--sql", dest="sql_file")
    args = parser.parse_args()
    if args.load_file:
        payload = json.loads(Path(args.load_file).read_text())
        print(json.dumps(load_http(payload["urls"], payload["c"])))
        return
    if args.sql_file:
        payload = json.loads(Path(args.sql_file).read_text())
        print(json.dumps(load_sql(payload["url"], payload["tiles"], payload["c"])))
        return

    url = database()
    tiles = tile_list(url, args.tiles)
    print(
        f"{len(tiles)} teselas z5-z14, capas {', '.join(LAYERS)}, concurrencia {CONCURRENCY}, "
        f"{WORKERS} procesos por servidor, medianas de {args.rounds} rondas",
        flush=True,
    )
    # Every server is up for the whole run and the rounds alternate between them, so a slow
    # spell of this shared machine falls on all of them instead of on one.
    with contextlib.ExitStack() as servers:
        urls = {
            "ours": servers.enter_context(ours(url, cache=False)),
            "tipg": servers.enter_context(tipg(url)),
            "mapserver": servers.enter_context(mapserver(url)),
            "cached": servers.enter_context(ours(url, cache=True)),
        }
        measure("ours (sin caché)", urls["ours"], tiles, 1)  # warm PostgreSQL's buffers
        measure("ours (caché, calentando)", urls["cached"], tiles, 1)
        runs: dict[str, list[dict]] = {name: [] for name in (*urls, "sql")}
        for _ in range(args.rounds):
            for name, make_url in urls.items():
                runs[name].append(one_round(make_url, tiles))
            sql_payload = {"url": url, "tiles": tiles, "c": CONCURRENCY}
            runs["sql"].append(_summary(_separate_process("--sql", sql_payload)))
    titles = {
        "ours": "ours (sin caché)",
        "tipg": "tipg",
        "mapserver": "MapServer 8 (CGI)",
        "sql": "SQL directo (psycopg)",
        "cached": "ours (caché)",
    }
    result = {name: report(titles[name], runs[name]) for name in titles}
    mine, peer_tipg, peer_ms = result["ours"], result["tipg"], result["mapserver"]
    raw, cached = result["sql"], result["cached"]

    lines = [
        {
            "benchmark": "tiles_throughput_vs_tipg",
            "ours": round(mine["throughput"], 1),
            "peer": round(peer_tipg["throughput"], 1),
            "ratio": round(mine["throughput"] / peer_tipg["throughput"], 2),
            "target": 2.0,
        },
        {
            "benchmark": "tiles_throughput_vs_mapserver",
            "ours": round(mine["throughput"], 1),
            "peer": round(peer_ms["throughput"], 1),
            "ratio": round(mine["throughput"] / peer_ms["throughput"], 2),
            "target": 1.0,
        },
        {
            # Lower is better: our p95 over the raw SQL p95 (target <= 1.25).
            "benchmark": "tiles_p95_vs_raw_sql",
            "ours": round(mine["p95_ms"], 1),
            "peer": round(raw["p95_ms"], 1),
            "ratio": round(mine["p95_ms"] / raw["p95_ms"], 2),
            "target": 1.25,
        },
        {
            "benchmark": "tiles_cached_throughput_vs_tipg",
            "ours": round(cached["throughput"], 1),
            "peer": round(peer_tipg["throughput"], 1),
            "ratio": round(cached["throughput"] / peer_tipg["throughput"], 2),
            "target": 20.0,
        },
    ]
    for line in lines:
        print(json.dumps(line))


if __name__ == "__main__":
    main()
