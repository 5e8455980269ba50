"""The DEM pipeline on the real Meta sample, against pysheds reference areas (no database).

tests/data/pysheds_meta_catchments.json is written by bench/pysheds_reference.py (run in the
pysheds venv); pysheds itself is not needed here.
"""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from hydrology.catchments import derive_subcatchments
from hydrology.flow import FlowAccumulation, catchment, flow_accumulation
from hydrology.streams import extract_streams
from hydrology.terrain import FlowDirection, fill_depressions, flow_direction, load_dem

ROOT = Path(__file__).resolve().parent.parent
DEM = ROOT / "data" / "samples" / "dem_meta_250m.tif"
REFERENCE = json.loads((ROOT / "tests" / "data" / "pysheds_meta_catchments.json").read_text())
# pysheds snaps within a 5 x 5 window: a 710 m disk on 250 m cells covers the same cells.
SNAP_M = 710.0


@pytest.fixture(scope="module")
def meta() -> tuple[FlowDirection, FlowAccumulation]:
    dem = load_dem(str(DEM))
    filled, _ = fill_depressions(dem, in_place=True)
    fdir = flow_direction(dem, filled)
    return fdir, flow_accumulation(fdir)


def test_meta_dem_drains_completely(meta):
    fdir, acc = meta
    assert fdir.crs.to_epsg() == 3116
    assert fdir.sinks == 0
    assert acc.sink_cells == 0
    # Every valid cell's water leaves through the edge or a nodata boundary, once.
    assert acc.exit_edge_cells + acc.exit_nodata_cells == int(fdir.valid.sum())
    assert acc.exit_nodata_cells > acc.exit_edge_cells  # the sample is a clipped region


@pytest.mark.parametrize("index", range(len(REFERENCE["outlets"])))
def test_meta_catchment_areas_match_pysheds_within_one_percent(meta, index):
    fdir, acc = meta
    ref = REFERENCE["outlets"][index]
    result = catchment(fdir, acc, ref["x"], ref["y"], snap_radius_m=SNAP_M)
    assert result.outlet_xy == pytest.approx((ref["snapped_x"], ref["snapped_y"]))
    assert result.area_ha / 100 == pytest.approx(ref["area_km2"], rel=0.01)
    assert result.geometry.area / 1e6 == pytest.approx(ref["area_km2"], rel=0.01)
    assert result.geometry.is_valid


def test_meta_subcatchments_tile_the_dem_with_consistent_topology(meta):
    fdir, acc = meta
    network = extract_streams(fdir, acc, 10.0)
    assert 200 < len(network) < 5000
    assert network.orders.max() >= 4
    units, unassigned = derive_subcatchments(fdir, network)
    codes = {u.code for u in units}
    assert len(codes) == len(units)
    assert all(u.next_down in codes for u in units if u.next_down)
    assert all(len(u.code) <= 60 for u in units)
    # Units plus the slivers that reach no stream cover every valid cell exactly once.
    cell_ha = 6.25
    total_ha = sum(u.area_ha for u in units) + unassigned * cell_ha
    assert total_ha == pytest.approx(int(fdir.valid.sum()) * cell_ha, rel=1e-3)
    # A unit drains into the unit whose stream its outlet cell feeds: downstream areas grow.
    by_code = {u.code: u for u in units}
    for u in units:
        if u.next_down:
            assert by_code[u.next_down].strahler >= u.strahler
    # Codes nest: a unit's code extends the code of the basin (root) it belongs to.
    roots = {u.code.split(".")[0] for u in units}
    assert len(roots) == len({u.code.split(".")[0] for u in units if u.next_down is None})
    geoms_area = np.array([u.geometry.area / 1e4 for u in units])
    areas = np.array([u.area_ha for u in units])
    assert np.allclose(geoms_area, areas, rtol=1e-3)


def test_catchment_for_a_lon_lat_point_and_derive_from_the_file():
    from pyproj import Transformer

    from hydrology.derivation import catchment_for_point, derive

    ref = REFERENCE["outlets"][-1]
    lon, lat = Transformer.from_crs(3116, 4326, always_xy=True).transform(ref["x"], ref["y"])
    result = catchment_for_point(str(DEM), lon, lat, snap_radius_m=SNAP_M)
    assert result.area_ha / 100 == pytest.approx(ref["area_km2"], rel=0.01)
    steps = []
    derived = derive(str(DEM), 25.0, progress=lambda step, f: steps.append(step))
    assert steps[0] == "leyendo DEM" and steps[-1] == "listo"
    assert derived.crs.to_epsg() == 3116
    assert len(derived.units) == len(derived.streams)
    outlets = [u for u in derived.units if u.next_down is None]
    assert outlets
    # Single-link basins keep the bare basin number; every other unit has Pfafstetter digits.
    assert all("." in u.code for u in derived.units if u.next_down)
    assert all(u.level == 1 + len(u.code.partition(".")[2]) for u in derived.units)
    assert derived.exit_edge_cells + derived.exit_nodata_cells > 400_000
