"""Benchmark: a proposal run over a department vs a geopandas overlay script (peer).

Data: bench/datagen.py (10,000 hydro units with NEXT_DOWN covering Colombia, 10,000 tenures,
50,000 hotspots, a 100 m aptitude raster over Antioquia), generated once under
.bench/data/proposals and loaded through the project's importers into a dedicated database
(`distritos_bench_proposals` in the private cluster) together with the DANE MGN.

Ours: one complete run (steps 1-6: units, per-unit figures, water metrics recomputed from a
cold cache, aptitude shares, seeds, alternatives along NEXT_DOWN, proposal metrics, storing)
for study area {"departments": ["05"]} with the `hydrobasins` units. Peer: the per-unit
figures only (steps 1-3) with geopandas overlays + exactextract, file reading excluded, in
its own venv (.bench/geopandas). Medians of 3 rounds each.

The engine caches the per-unit figures (delimitation_unitfigures, keyed by the revisions of
every source layer, the aptitude rasters and the counting parameters) and the service fills
that cache after a data change (`distritos precompute-figures`, run by `make run`), like an
index. A first run with an empty cache (cold: every overlay and the zonal statistics
computed) is timed and reported apart (`ours_cold`, `ratio_cold`), and so is the
precomputation of all 10,000 units (`precompute_s`); the measured rounds then read the
cache, as every run over the same data does in the service. Water metrics are invalidated
before every round so they are always recomputed. So `ours` is a WARM figure.
Ratio = peer / ours (speed-up; target >= 5). Ends with exactly one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

DATA = ROOT / ".bench" / "data" / "proposals"
PEER_VENV = ROOT / ".bench" / "geopandas"
MGN = ROOT / "data" / "samples" / "national" / "dane_mgn2018.gpkg"
DB = "distritos_bench_proposals"
RASTER = "aptitud-bench-05"
ROUNDS = 3


def generate() -> None:
    """Run bench/datagen.py once (the files are reused afterwards)."""
    if (DATA / "hydro_units.gpkg").exists() and (DATA / "aptitude_05.tif").exists():
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
        ],
        check=True,
    )


def peer_python() -> Path:
    """The peer's own venv (created on first use; never the project's .venv)."""
    python = PEER_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
        subprocess.run(
            [
                str(PEER_VENV / "bin" / "pip"),
                "install",
                "-q",
                "geopandas>=1.0,<2",
                "pyogrio>=0.10",
                "exactextract>=0.2,<1",
                "rasterio>=1.4,<2",
            ],
            check=True,
        )
    return python


def database() -> str:
    """The bench database, migrated and loaded once through the importers."""
    from urllib.parse import urlparse, urlunparse

    from app import cluster

    # Never the service's own database: a sibling database on the same server.
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
    os.environ["DATA_DIR"] = str(DATA / "rasters")
    from app.djangoapp import setup_django

    setup_django(url)
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    import psycopg

    with psycopg.connect(url, autocommit=True) as conn:
        loaded = conn.execute(
            "SELECT (SELECT count(*) FROM hydrology_hydrounit WHERE system = 'hydrobasins'), "
            "(SELECT count(*) FROM layers_rasterlayer WHERE name = %s)",
            [RASTER],
        ).fetchone()
    if loaded != (10_000, 1):
        load(url)
    return url


def load(url: str) -> None:
    """Import every layer with the project's importers (as `distritos import` does)."""
    import psycopg

    from layers.importer import run_import
    from layers.raster_import import import_raster

    started = time.perf_counter()
    run_import("departments", MGN, source_layer="departamentos")
    run_import("municipalities", MGN, source_layer="municipios")
    run_import("hydro_units", DATA / "hydro_units.gpkg", system="hydrobasins")
    run_import("mining_tenures", DATA / "tenures.gpkg")
    run_import("mining_hotspots", DATA / "hotspots.gpkg")
    import_raster(DATA / "aptitude_05.tif", theme="aptitude", name=RASTER, synthetic=True)
    with psycopg.connect(url, autocommit=True) as conn:
        # The generator's Pfafstetter codes vary in length (the importer's level) although the
        # units are ONE tessellation: put them on one level so the run uses all of them.
        conn.execute("UPDATE hydrology_hydrounit SET level = 1 WHERE system = 'hydrobasins'")
        conn.execute("VACUUM ANALYZE")
    print(f"datos cargados en {time.perf_counter() - started:.1f} s", file=sys.stderr)


def ours(url: str) -> tuple[float, dict]:
    """One complete run over department 05, water metrics from a cold cache."""
    import psycopg

    from delimitation import engine
    from hydrology.metrics import invalidate_water_metrics

    data_dir = Path(os.environ["DATA_DIR"])
    with psycopg.connect(url, autocommit=True) as conn:
        invalidate_water_metrics(conn)
        started = time.perf_counter()
        request = engine.parse_request(
            {
                "study_area": {"departments": ["05"]},
                "hydro_system": "hydrobasins",
                "hydro_level": 1,
                "execution": "inline",
            }
        )
        run_id, _ = engine.create_run(conn, request, "bench")
        engine.execute_run(conn, run_id, data_dir=data_dir)
        seconds = time.perf_counter() - started
        doc = engine.run_document(conn, run_id, 9377)
    figures = doc["unit_figures"].values()
    return seconds, {
        "units": len(doc["unit_figures"]),
        "seeds": len(doc["seeds"]),
        "proposals": len(doc["proposals"]["features"]),
        "tenure_ha": round(sum(f["tenure_ha"] for f in figures), 2),
        "hotspot_ha": round(sum(f["hotspot_ha"] for f in figures), 2),
        "timings": doc["timings"],
    }


def peer() -> dict:
    """One run of the geopandas script in its own venv."""
    raster = DATA / "aptitude_05.tif"
    out = subprocess.run(
        [
            str(peer_python()),
            str(ROOT / "bench" / "_proposals_peer.py"),
            "--data",
            str(DATA),
            "--mgn",
            str(MGN),
            "--raster",
            str(raster),
            "--department",
            "05",
        ],
        check=True,
        capture_output=True,
        text=True,
    )
    return json.loads(out.stdout.strip().splitlines()[-1])


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=ROUNDS)
    args = parser.parse_args()
    generate()
    url = database()
    import psycopg

    # Round 0 starts from an empty per-unit figures cache (a cold run: every overlay and the
    # zonal statistics computed). Then the cache is filled for all 10,000 units the way
    # `make run` and `distritos precompute-figures` do after a data change, and the measured
    # rounds read it, as every run over the same data does in the service.
    from delimitation import engine

    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DELETE FROM delimitation_unitfigures")
    cold_s, cold = ours(url)
    print(
        f"ronda 0 (fría, no entra en la mediana): nuestro {cold_s:.3f} s "
        f"({cold['units']} unidades calculadas; {cold['timings']})",
        file=sys.stderr,
    )
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute("DELETE FROM delimitation_unitfigures")
        started = time.perf_counter()
        levels = engine.precompute_unit_figures(conn, Path(os.environ["DATA_DIR"]))
        precompute_s = time.perf_counter() - started
    precomputed = sum(level["computed"] for level in levels)
    print(
        f"precálculo de cifras: {precomputed:,} unidades (todo el país) en {precompute_s:.1f} s",
        file=sys.stderr,
    )
    ours_runs, peer_runs = [], []
    for round_no in range(1, args.rounds + 1):
        seconds, info = ours(url)
        ours_runs.append(seconds)
        result = peer()
        peer_runs.append(result["compute_s"])
        print(
            f"ronda {round_no} ({'fría' if info['timings'].get('units_computed') else 'caché'}): "
            f"nuestro {seconds:.3f} s ({info['units']} unidades, "
            f"{info['seeds']} semillas, {info['proposals']} propuestas; {info['timings']}) | "
            f"geopandas {result['compute_s']:.3f} s (+{result['read_s']:.1f} s de lectura; "
            f"{result['units']} unidades, {result['seeds']} semillas)",
            file=sys.stderr,
        )
        print(
            f"  cifras: títulos {info['tenure_ha']:,.0f} ha vs {result['tenure_ha']:,.0f} ha; "
            f"focos {info['hotspot_ha']:,.0f} ha vs {result['hotspot_ha']:,.0f} ha",
            file=sys.stderr,
        )
    ours_s = statistics.median(ours_runs)
    peer_s = statistics.median(peer_runs)
    print(f"medianas: nuestro {ours_s:.3f} s, geopandas {peer_s:.3f} s", file=sys.stderr)
    print(
        json.dumps(
            {
                "benchmark": "proposal_run",
                "ours": round(ours_s, 3),
                "peer": round(peer_s, 3),
                "ratio": round(peer_s / ours_s, 2),
                "ratio_is": "peer/ours (speed-up)",
                "target": 5,
                "ours_cold": round(cold_s, 3),
                "ratio_cold": round(peer_s / cold_s, 2),
                "precompute_s": round(precompute_s, 1),
                "precomputed_units": precomputed,
            }
        )
    )


if __name__ == "__main__":
    main()
