"""The hydrology pipeline by pysheds 0.5; runs in the peer venv .bench/pysheds, never in .venv.

Usage:
    .bench/pysheds/bin/python bench/_pysheds_pipeline.py DEM X Y THRESHOLD_KM2 MASK.npy [WARM]
Prints one JSON line: seconds, snapped outlet, catchment cells; saves the catchment mask.
Also imported by bench/pysheds_reference.py for the reference areas.
"""

from __future__ import annotations

import json
import sys
import time

import numpy as np
from pysheds.grid import Grid

# pysheds' dirmap in its order (N, NE, E, SE, S, SW, W, NW) with ESRI codes, as ours.
DIRMAP = (64, 128, 1, 2, 4, 8, 16, 32)


def condition(path: str):
    """Read, fill pits and depressions, resolve flats, D8 directions and accumulation."""
    grid = Grid.from_raster(path)
    dem = grid.read_raster(path)
    pit_filled = grid.fill_pits(dem)
    flooded = grid.fill_depressions(pit_filled)
    inflated = grid.resolve_flats(flooded)
    fdir = grid.flowdir(inflated, dirmap=DIRMAP)
    acc = grid.accumulation(fdir, dirmap=DIRMAP)
    return grid, fdir, acc


def catchment(grid, fdir, acc, x: float, y: float, snap_cells: int):
    """Snap (x, y) to the strongest flow within snap_cells and trace its catchment."""
    col_f, row_f = ~grid.affine * (x, y)
    row, col = int(row_f), int(col_f)
    a = np.asarray(acc)
    top, left = max(0, row - snap_cells), max(0, col - snap_cells)
    win = a[top : row + snap_cells + 1, left : col + snap_cells + 1]
    rr, cc = np.unravel_index(int(np.nanargmax(win)), win.shape)
    srow, scol = top + int(rr), left + int(cc)
    sx, sy = grid.affine * (scol + 0.5, srow + 0.5)
    catch = grid.catchment(x=sx, y=sy, fdir=fdir, dirmap=DIRMAP, xytype="coordinate", snap="center")
    return (float(sx), float(sy)), (int(srow), int(scol)), np.asarray(catch).astype(bool)


def pipeline(path: str, x: float, y: float, threshold_km2: float):
    """Conditioning, one catchment (snapped in a 5 x 5 window) and the river network."""
    grid, fdir, acc = condition(path)
    xy, rc, catch = catchment(grid, fdir, acc, x, y, 2)
    cell_km2 = abs(grid.affine.a * grid.affine.e) / 1e6
    streams = grid.extract_river_network(fdir, acc > threshold_km2 / cell_km2, dirmap=DIRMAP)
    return xy, rc, catch, streams


def main() -> None:
    path, x, y, threshold_km2, mask_out = sys.argv[1:6]
    if len(sys.argv) > 6:
        pipeline(sys.argv[6], float(x), float(y), float(threshold_km2))  # warm-up
    t0 = time.perf_counter()
    xy, rc, catch, streams = pipeline(path, float(x), float(y), float(threshold_km2))
    seconds = time.perf_counter() - t0
    np.save(mask_out, catch)
    print(
        json.dumps(
            {
                "seconds": seconds,
                "outlet_xy": xy,
                "outlet_rc": rc,
                "cells": int(catch.sum()),
                "links": len(streams["features"]),
            }
        )
    )


if __name__ == "__main__":
    main()
