"""The DEM pipeline end to end, for the CLI and the API: derive sub-catchments, trace one.

Peak memory of `derive` on a 20,000 x 20,000 float32 DEM (400 M cells): reading holds the
elevation (1.6 GB) and validity (0.4 GB); filling adds a 0.4 GB closed flag and the heap;
directions add 0.4 GB uint8 and, while resolving flats, a 0.8 GB uint16 gradient (3.6 GB
with the elevation). The elevation is then dropped; accumulation is int32 (1.6 GB) with a
0.4 GB in-degree; the stream mask is taken and the accumulation dropped before the int32
link labels (1.6 GB) are made; polygons are built in bands of rows. Measured with
bench/_hydrology_memory.py (Meta resampled to 20,000 x 20,000): peak RSS 3,650 MiB.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from functools import lru_cache

from pyproj import CRS

from hydrology.catchments import SubCatchment, derive_subcatchments
from hydrology.flow import Catchment, FlowAccumulation, catchment, flow_accumulation
from hydrology.streams import MAX_UNITS, StreamNetwork, stream_mask, streams_from_mask
from hydrology.terrain import FlowDirection, fill_depressions, flow_direction, load_dem

Progress = Callable[[str, float], None]


@dataclass
class Conditioned:
    """Directions and accumulation of a DEM, what every later step needs."""

    fdir: FlowDirection
    acc: FlowAccumulation
    filled_cells: int


@dataclass
class Derivation:
    """Result of `derive`: units ready for HydroUnit rows, stream links, and the counts."""

    crs: CRS
    units: list[SubCatchment]
    streams: StreamNetwork
    exit_edge_cells: int
    exit_nodata_cells: int
    unassigned_cells: int
    filled_cells: int


def _noop(step: str, fraction: float) -> None:
    return None


def condition(path: str, *, force: bool = False, progress: Progress | None = None) -> Conditioned:
    """Load, fill, D8 and accumulate a DEM file (elevation freed once directions exist)."""
    report = progress or _noop
    report("leyendo DEM", 0.0)
    dem = load_dem(path, force=force)
    report("rellenando depresiones", 0.15)
    filled, raised = fill_depressions(dem, in_place=True)
    report("direcciones de flujo", 0.4)
    fdir = flow_direction(dem, filled)
    del filled
    dem.elevation = None  # type: ignore[assignment]  # free 4 bytes/cell before accumulating
    report("acumulación de flujo", 0.6)
    acc = flow_accumulation(fdir)
    return Conditioned(fdir=fdir, acc=acc, filled_cells=raised)


@lru_cache(maxsize=2)
def _conditioned_cached(path: str, mtime: float, size: int, force: bool) -> Conditioned:
    return condition(path, force=force)


def conditioned(path: str, *, force: bool = False) -> Conditioned:
    """`condition` cached per file version (path, mtime, size): API requests reuse it."""
    st = os.stat(path)
    return _conditioned_cached(os.path.abspath(path), st.st_mtime, st.st_size, force)


def derive(
    path: str,
    threshold_km2: float,
    *,
    force: bool = False,
    max_units: int = MAX_UNITS,
    progress: Progress | None = None,
) -> Derivation:
    """Sub-catchments split at stream junctions (Pfafstetter codes, next_down) of a DEM file."""
    report = progress or _noop
    cond = condition(path, force=force, progress=progress)
    report("red de drenaje", 0.7)
    mask = stream_mask(cond.acc, threshold_km2)
    exits = (cond.acc.exit_edge_cells, cond.acc.exit_nodata_cells)
    del cond.acc  # 4 bytes/cell freed before the int32 link labels are allocated
    network = streams_from_mask(cond.fdir, mask, threshold_km2, max_units)
    del mask
    report("subcuencas", 0.85)
    units, unassigned = derive_subcatchments(cond.fdir, network)
    report("listo", 1.0)
    return Derivation(
        crs=cond.fdir.crs,
        units=units,
        streams=network,
        exit_edge_cells=exits[0],
        exit_nodata_cells=exits[1],
        unassigned_cells=unassigned,
        filled_cells=cond.filled_cells,
    )


def catchment_for_point(
    path: str,
    x: float,
    y: float,
    *,
    point_crs: CRS | str | int = "EPSG:4326",
    snap_radius_m: float | None = None,
    force: bool = False,
) -> Catchment:
    """Catchment polygon (DEM CRS) and area of a point, snapped to the strongest flow nearby.

    The default snap radius is two cells. Raises PointOutsideDem (422) outside the DEM or
    on nodata, DemWithoutCrs / NotAnElevationRaster for unusable rasters.
    """
    cond = conditioned(path, force=force)
    if snap_radius_m is None:
        t = cond.fdir.transform
        cell_m = min(abs(t.a), abs(t.e))
        if cond.fdir.crs.is_geographic:
            cell_m *= 111_000.0
        snap_radius_m = 2.0 * cell_m
    return catchment(cond.fdir, cond.acc, x, y, point_crs=point_crs, snap_radius_m=snap_radius_m)
