"""Hydrology pipeline benchmark: this project against pysheds 0.5 on the Meta DEM resampled.

    .venv/bin/python bench/hydrology.py [--cells 16e6] [--rounds 3] [--threshold-km2 5]

The Meta sample (891 x 955, 250 m) is resampled bilinearly to about --cells cells (16 M:
~3,870 x 4,140 at ~58 m). Each round runs, alternating, one subprocess of ours (.venv) and
one of pysheds (its own venv .bench/pysheds, created on first use). Each times, inside the
process after a warm-up run on the 250 m sample (numba compiled or cached for both): read the DEM,
fill depressions, resolve flats, D8 directions, accumulation, one catchment (the largest
reference outlet, snapped within a 5 x 5 window) and stream extraction at the threshold.
Ours also vectorises the catchment, computes Strahler orders and builds the LineStrings.
Prints medians, ratio ours/pysheds, peak RSS of each worker and the IoU of the two
catchment rasters; ends with one JSON line.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SAMPLE = ROOT / "data" / "samples" / "dem_meta_250m.tif"
REFERENCE = ROOT / "tests" / "data" / "pysheds_meta_catchments.json"
PEER_VENV = ROOT / ".bench" / "pysheds"
PEER_PY = PEER_VENV / "bin" / "python"
PEER_SCRIPT = ROOT / "bench" / "_pysheds_pipeline.py"
WORK = ROOT / ".bench" / "data"


def ensure_peer() -> None:
    """Create the pysheds venv when missing (pysheds 0.5 needs numpy < 2.4)."""
    if PEER_PY.exists():
        return
    subprocess.run(["python3", "-m", "venv", str(PEER_VENV)], check=True)
    subprocess.run(
        [str(PEER_VENV / "bin" / "pip"), "install", "-q", "pysheds", "numpy<2.4"], check=True
    )


def resampled_dem(cells: float) -> Path:
    """The Meta DEM resampled bilinearly to about `cells` cells (written once, reused)."""
    import numpy as np
    import rasterio
    from rasterio.enums import Resampling

    WORK.mkdir(parents=True, exist_ok=True)
    with rasterio.open(SAMPLE) as src:
        scale = (cells / (src.width * src.height)) ** 0.5
        width, height = round(src.width * scale), round(src.height * scale)
        out = WORK / f"dem_meta_{width}x{height}.tif"
        if out.exists():
            return out
        data = src.read(1, out_shape=(height, width), resampling=Resampling.bilinear, masked=True)
        transform = src.transform @ src.transform.scale(src.width / width, src.height / height)
        profile = src.profile | {
            "width": width,
            "height": height,
            "transform": transform,
            "compress": "deflate",
            "tiled": True,
        }
        with rasterio.open(out, "w", **profile) as dst:
            dst.write(data.filled(src.nodata).astype(np.float32), 1)
    return out


def _pipeline(path: str, x: float, y: float, threshold_km2: float):
    """Our whole pipeline on a DEM file: conditioning, one catchment, the stream network."""
    from hydrology.flow import catchment, flow_accumulation
    from hydrology.streams import extract_streams
    from hydrology.terrain import fill_depressions, flow_direction, load_dem

    dem = load_dem(path)
    filled, _ = fill_depressions(dem, in_place=True)
    fdir = flow_direction(dem, filled)
    del filled
    dem.elevation = None  # as hydrology.derivation: free the elevation before accumulating
    acc = flow_accumulation(fdir)
    cell = abs(fdir.transform.a)
    # pysheds snaps in a 5 x 5 window: a disk of 2 * sqrt(2) cells covers the same cells.
    result = catchment(fdir, acc, x, y, snap_radius_m=2 * cell * 2**0.5 + 1e-6)
    network = extract_streams(fdir, acc, threshold_km2)
    return fdir, result, network


def worker_ours(path: str, x: float, y: float, threshold_km2: float, mask_out: str) -> None:
    """One timed run of our pipeline (in a fresh process); prints a JSON line."""
    import numpy as np

    # Warm-up on the 250 m sample: numba kernels compiled or loaded from cache, as the peer.
    _pipeline(str(SAMPLE), x, y, threshold_km2)
    t0 = time.perf_counter()
    fdir, result, network = _pipeline(path, x, y, threshold_km2)
    seconds = time.perf_counter() - t0
    full = np.zeros(fdir.shape, bool)
    h, w = result.mask.shape
    full[result.row_off : result.row_off + h, result.col_off : result.col_off + w] = result.mask > 0
    np.save(mask_out, full)
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    print(
        json.dumps(
            {
                "seconds": seconds,
                "outlet_xy": result.outlet_xy,
                "cells": result.cells,
                "area_km2": result.area_ha / 100,
                "links": len(network),
                "peak_rss_mib": peak,
            }
        )
    )


def run(cmd: list[str]) -> dict:
    """Run a worker, return its JSON line plus its peak RSS."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    proc = subprocess.run(cmd, capture_output=True, text=True, cwd=ROOT)
    if proc.returncode != 0:
        raise SystemExit(f"worker failed: {' '.join(cmd)}\n{proc.stderr[-3000:]}")
    doc = json.loads(proc.stdout.strip().splitlines()[-1])
    after = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    doc.setdefault("peak_rss_mib", max(after, before) / 1024)
    return doc


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--cells", type=float, default=16e6, help="target cell count")
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--threshold-km2", type=float, default=5.0)
    parser.add_argument("--worker", choices=["ours"], help=argparse.SUPPRESS)
    parser.add_argument("--args", nargs="*", help=argparse.SUPPRESS)
    opts = parser.parse_args()
    if opts.worker == "ours":
        path, x, y, thr, out = opts.args
        worker_ours(path, float(x), float(y), float(thr), out)
        return

    import numpy as np

    ensure_peer()
    dem = resampled_dem(opts.cells)
    outlet = max(json.loads(REFERENCE.read_text())["outlets"], key=lambda o: o["area_km2"])
    x, y = str(outlet["x"]), str(outlet["y"])
    thr = str(opts.threshold_km2)
    ours_mask = str(WORK / "catchment_ours.npy")
    peer_mask = str(WORK / "catchment_pysheds.npy")
    ours_cmd = [sys.executable, str(Path(__file__).resolve()), "--worker", "ours", "--args"]
    ours_cmd += [str(dem), x, y, thr, ours_mask]
    peer_cmd = [str(PEER_PY), str(PEER_SCRIPT), str(dem), x, y, thr, peer_mask, str(SAMPLE)]
    print(f"DEM {dem.name}; outlet ({outlet['x']:.0f}, {outlet['y']:.0f}) EPSG:3116")
    ours_runs, peer_runs = [], []
    for i in range(opts.rounds):
        ours_runs.append(run(ours_cmd))
        peer_runs.append(run(peer_cmd))
        o, p = ours_runs[-1], peer_runs[-1]
        print(
            f"round {i + 1}: ours {o['seconds']:.2f} s ({o['links']} links, "
            f"{o['peak_rss_mib']:.0f} MiB) | pysheds {p['seconds']:.2f} s "
            f"({p['links']} links, {p['peak_rss_mib']:.0f} MiB)"
        )
    a = np.load(ours_mask)
    b = np.load(peer_mask)
    iou = float((a & b).sum() / max(1, (a | b).sum()))
    ours = statistics.median(r["seconds"] for r in ours_runs)
    peer = statistics.median(r["seconds"] for r in peer_runs)
    ours_rss = max(r["peak_rss_mib"] for r in ours_runs)
    peer_rss = max(r["peak_rss_mib"] for r in peer_runs)
    cells = int(a.size)
    print(f"median ours {ours:.2f} s, pysheds {peer:.2f} s, ratio {ours / peer:.2f}")
    print(f"peak RSS ours {ours_rss:.0f} MiB, pysheds {peer_rss:.0f} MiB ({cells:,} cells)")
    print(
        f"catchment cells ours {int(a.sum()):,}, pysheds {int(b.sum()):,}; IoU {iou:.4f}"
        + (" (>= 0.99 OK)" if iou >= 0.99 else " (BELOW 0.99)")
    )
    print(
        json.dumps(
            {
                "benchmark": "hydrology_pipeline",
                "ours": round(ours, 3),
                "peer": round(peer, 3),
                "ratio": round(ours / peer, 3),
                "target": 1.0,
                "peer_name": "pysheds 0.5",
                "cells": cells,
                "rounds": opts.rounds,
                "iou": round(iou, 4),
                "peak_rss_mib_ours": round(ours_rss),
                "peak_rss_mib_peer": round(peer_rss),
            }
        )
    )


if __name__ == "__main__":
    sys.path.insert(0, str(ROOT))
    os.chdir(ROOT)
    main()
