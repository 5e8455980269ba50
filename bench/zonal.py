"""Benchmark: aptitude class shares per hydro unit, geo/zonal.py vs exactextract vs rasterstats.

Data: bench/datagen.py (10,000 Voronoi hydro units covering Colombia, a 100 m aptitude COG
over Antioquia), generated once under .bench/data/zonal. Units: those whose bounding box
touches the raster (what a department-sized proposal run asks for).

- ours: `geo.zonal.class_coverage(raster_path, units)`: class fractions, class areas and
  covered/nodata/outside fractions with exact partial-cell coverage.
- peer: exactextract called directly, the documented way (`exact_extract(path, GeoDataFrame,
  ["unique", "frac", "count"], output="pandas")`), same raster path and the same units, so
  it computes the same figures.
- rasterstats (own venv .bench/rasterstats, subprocess): `zonal_stats(..., categorical=True,
  all_touched=False)`, i.e. whole cells by their centre; shown for reference (its fractions
  are not exact, so they are compared but not asserted).

Times are CPU seconds (the machine is shared; all three are single-threaded), medians of 3
alternating rounds of the whole call (raster opened inside, vectors already in memory).
Fractions must equal exactextract's within 1e-6 (asserted; max abs diff printed).
Ratio = ours / exactextract (target <= 1.2). Ends with exactly one JSON line.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import geopandas as gpd  # noqa: E402
import pyogrio  # noqa: E402
import rasterio  # noqa: E402
from exactextract import exact_extract  # noqa: E402

from geo.zonal import class_coverage  # noqa: E402

DATA = ROOT / ".bench" / "data" / "zonal"
RASTER = DATA / "aptitude_05.tif"
UNITS = DATA / "hydro_units.gpkg"
SELECTED = DATA / "units_antioquia.gpkg"
PEER_VENV = ROOT / ".bench" / "rasterstats"
ROUNDS = 3
TOLERANCE = 1e-6

RASTERSTATS_SCRIPT = r"""
import json, statistics, sys, time
import pyogrio.raw
import shapely
from rasterstats import zonal_stats

geoms = list(shapely.from_wkb(pyogrio.raw.read(sys.argv[1])[2]))
times, stats = [], None
for _ in range(int(sys.argv[3])):
    t0 = time.process_time()
    stats = zonal_stats(geoms, sys.argv[2], categorical=True, all_touched=False, nodata=0)
    times.append(time.process_time() - t0)
shares = []
for s in stats:
    total = sum(v for k, v in s.items() if k != 0)
    shares.append({str(k): v / total for k, v in s.items() if k != 0} if total else {})
print(json.dumps({"seconds": statistics.median(times), "shares": shares}))
"""


def generate() -> None:
    """Run bench/datagen.py once for the units and the raster (reused afterwards)."""
    if not (UNITS.exists() and RASTER.exists()):
        subprocess.run(
            [
                sys.executable,
                str(ROOT / "bench" / "datagen.py"),
                "--out",
                str(DATA),
                "--hydro-units",
                "10000",
                "--department",
                "05",
                "--only",
                "hydro",
                "--only",
                "aptitude",
            ],
            check=True,
        )


def select_units() -> gpd.GeoDataFrame:
    """The hydro units whose bounding box touches the raster, also written for the peers."""
    with rasterio.open(RASTER) as ds:
        b = ds.bounds
    units = pyogrio.read_dataframe(UNITS, bbox=(b.left, b.bottom, b.right, b.top))
    units = units[["HYBAS_ID", "geometry"]].reset_index(drop=True)
    pyogrio.write_dataframe(units, SELECTED, layer="units", driver="GPKG")
    return units


def timed(fn, rounds: int = ROUNDS) -> tuple[float, object]:
    """Median CPU time of `rounds` calls and the last result.

    CPU seconds of this process, not wall time: the benchmark machine is shared, and all
    three engines are single-threaded, so CPU time is what compares them fairly.
    """
    times, result = [], None
    for _ in range(rounds):
        t0 = time.process_time()
        result = fn()
        times.append(time.process_time() - t0)
    return statistics.median(times), result


def peer_call(units: gpd.GeoDataFrame):
    """exactextract as its documentation shows it."""
    return exact_extract(str(RASTER), units, ["unique", "frac", "count"], output="pandas")


def max_diff(ours: list[dict[int, float]], theirs: list[dict[int, float]]) -> float:
    """Largest absolute difference of any class fraction of any unit."""
    worst = 0.0
    for a, b in zip(ours, theirs, strict=True):
        for key in set(a) | set(b):
            worst = max(worst, abs(a.get(key, 0.0) - b.get(key, 0.0)))
    return worst


def rasterstats_run() -> tuple[float | None, list[dict[int, float]] | None]:
    """rasterstats in its own venv (created on first use); None when it cannot be set up."""
    python = PEER_VENV / "bin" / "python"
    if not python.exists():
        subprocess.run([sys.executable, "-m", "venv", str(PEER_VENV)], check=True)
        subprocess.run([str(PEER_VENV / "bin" / "pip"), "install", "-q", "rasterstats"], check=True)
    done = subprocess.run(
        [str(python), "-c", RASTERSTATS_SCRIPT, str(SELECTED), str(RASTER), str(ROUNDS)],
        capture_output=True,
        text=True,
        check=True,
    )
    answer = json.loads(done.stdout.strip().splitlines()[-1])
    shares = [{int(k): v for k, v in s.items()} for s in answer["shares"]]
    return answer["seconds"], shares


def main() -> None:
    """Run the three engines on the same units and raster and print the ratio line."""
    generate()
    units = select_units()
    geoms = units.geometry.to_numpy()
    with rasterio.open(RASTER) as ds:
        cells = ds.width * ds.height
    print(f"raster {RASTER.name}: {cells:,} cells at 100 m; units touching it: {len(units):,}")

    # Warm the file cache once so neither side pays the first read; then alternate rounds.
    class_coverage(RASTER, geoms[:5])
    ours_times, peer_times = [], []
    for _ in range(ROUNDS):
        t, peer_table = timed(lambda: peer_call(units), 1)
        peer_times.append(t)
        t, ours = timed(lambda: class_coverage(RASTER, geoms), 1)
        ours_times.append(t)
    ours_s, peer_s = statistics.median(ours_times), statistics.median(peer_times)

    theirs = [
        {int(k): float(f) for k, f in zip(u, fr, strict=True)}
        for u, fr in zip(peer_table["unique"], peer_table["frac"], strict=True)
    ]
    ours_fracs = [r.fractions for r in ours]
    diff = max_diff(ours_fracs, theirs)
    covered_diff = max(
        abs(r.covered_fraction * r.area - float(c) * 100.0 * 100.0)
        for r, c in zip(ours, peer_table["count"], strict=True)
    )
    if diff > TOLERANCE:
        raise SystemExit(f"fractions differ from exactextract by {diff:.3g} > {TOLERANCE}")
    print(f"ours (geo.zonal.class_coverage): {ours_s:.3f} s CPU (median of {ROUNDS})")
    print(f"exactextract direct:            {peer_s:.3f} s CPU (median of {ROUNDS})")
    print(
        f"max |fraction ours - exactextract| = {diff:.3g}; covered area diff {covered_diff:.3g} m²"
    )

    rs_s, rs_shares = rasterstats_run()
    rs_diff = max_diff(ours_fracs, rs_shares)
    print(f"rasterstats categorical (cell centres): {rs_s:.3f} s CPU (median of {ROUNDS})")
    print(f"max |fraction ours - rasterstats| = {rs_diff:.3g} (centre-of-cell rule, not exact)")
    print(
        json.dumps(
            {
                "benchmark": "zonal_stats",
                "ours": round(ours_s, 4),
                "peer": round(peer_s, 4),
                "ratio": round(ours_s / peer_s, 3),
                "target": 1.2,
                "rasterstats": round(rs_s, 4),
                "max_abs_diff": diff,
            }
        )
    )


if __name__ == "__main__":
    main()
