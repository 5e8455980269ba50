"""Reference catchment areas on the Meta DEM by pysheds 0.5, stored for tests/test_terrain_meta.py.

Run it in the peer venv (pysheds is not a project dependency), from the repository root:

    python3 -m venv .bench/pysheds && .bench/pysheds/bin/pip install pysheds 'numpy<2.4'
    .bench/pysheds/bin/python bench/pysheds_reference.py

It rewrites tests/data/pysheds_meta_catchments.json. Outlets are chosen by a fixed rule,
from pysheds' own accumulation: ten target areas spaced geometrically from 20 km² to the
largest basin; for each, a seeded random cell whose upstream area is within [1, 1.5) x the
target, at least 4 cells from nodata, on terrain at or above 250 m (the piedmont and the
Cordillera, where the relief decides the flow; on the Llanos flats any two D8 tools may
route a river one cell apart), then snapped to the highest accumulation within 2 cells.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import numpy as np
from scipy import ndimage

sys.path.insert(0, str(Path(__file__).resolve().parent))
import _pysheds_pipeline as peer  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent
DEM = ROOT / "data" / "samples" / "dem_meta_250m.tif"
OUT = ROOT / "tests" / "data" / "pysheds_meta_catchments.json"
SNAP_CELLS = 2


def main() -> None:
    grid, fdir, acc = peer.condition(str(DEM))
    a = np.asarray(acc)
    dem = np.asarray(grid.read_raster(str(DEM)))
    valid = dem != grid.read_raster(str(DEM)).nodata
    inner = ndimage.binary_erosion(valid, iterations=4)
    cell_km2 = abs(grid.affine.a * grid.affine.e) / 1e6
    rng = np.random.default_rng(2024)
    targets = np.geomspace(20.0 / cell_km2, float(a[inner].max()) / 1.2, 10)
    outlets = []
    for target in targets:
        candidates = np.argwhere(inner & (a >= target) & (a < 1.5 * target) & (dem >= 250))
        row, col = candidates[rng.integers(len(candidates))]
        x, y = grid.affine * (col + 0.5, row + 0.5)
        xy, rc, catch = peer.catchment(grid, fdir, acc, x, y, SNAP_CELLS)
        outlets.append(
            {
                "x": float(x),
                "y": float(y),
                "snapped_x": xy[0],
                "snapped_y": xy[1],
                "cells": int(catch.sum()),
                "area_km2": round(float(catch.sum()) * cell_km2, 4),
            }
        )
    OUT.parent.mkdir(parents=True, exist_ok=True)
    doc = {
        "dem": "data/samples/dem_meta_250m.tif",
        "crs": "EPSG:3116",
        "tool": "pysheds 0.5: fill_pits, fill_depressions, resolve_flats, flowdir, "
        "accumulation, catchment",
        "snap_radius_cells": SNAP_CELLS,
        "cell_km2": cell_km2,
        "outlets": outlets,
    }
    OUT.write_text(json.dumps(doc, indent=2) + "\n")
    print(f"{len(outlets)} outlets -> {OUT.relative_to(ROOT)}")


if __name__ == "__main__":
    main()
