"""DEM processing on synthetic DEMs whose answers are known (pure arrays, no database)."""

from __future__ import annotations

import numpy as np
import pytest
from affine import Affine
from pyproj import CRS, Geod

from geo.raster_io import Band, cell_areas_km2
from hydrology.catchments import derive_subcatchments, pfafstetter_codes
from hydrology.flow import catchment, catchment_mask, flow_accumulation, snap_pour_point
from hydrology.streams import extract_streams, strahler_order
from hydrology.terrain import (
    Dem,
    DemWithoutCrs,
    FlowDirection,
    NotAnElevationRaster,
    PointOutsideDem,
    TooManyUnits,
    dem_from_band,
    downstream_cell,
    fill_depressions,
    flow_direction,
)

# EPSG:3116 at its natural origin (scale factor 1): 100 m cells are exactly 1 ha.
CRS_3116 = CRS.from_epsg(3116)
ORIGIN = (1_000_000.0, 1_000_500.0)
CELL = 100.0
E, SE, S, SW, W, NW, N, NE = 1, 2, 4, 8, 16, 32, 64, 128


def make_dem(z: np.ndarray, valid: np.ndarray | None = None, crs: CRS = CRS_3116) -> Dem:
    """Wrap an elevation array as a DEM with 100 m cells."""
    z = np.asarray(z, dtype=np.float32)
    valid = np.ones(z.shape, bool) if valid is None else valid
    return Dem(
        elevation=z,
        valid=valid,
        transform=Affine(CELL, 0.0, ORIGIN[0], 0.0, -CELL, ORIGIN[1]),
        crs=crs,
    )


def condition(dem: Dem) -> tuple[FlowDirection, np.ndarray]:
    filled, _ = fill_depressions(dem)
    return flow_direction(dem, filled), filled


def v_valley(rows: int = 10, cols: int = 7) -> np.ndarray:
    """Two 10% side slopes into a channel at the middle column that falls 1 m per row south."""
    r, c = np.mgrid[0:rows, 0:cols]
    return 10.0 * np.abs(c - cols // 2) + (rows - 1 - r) + 100.0


def y_network() -> FlowDirection:
    """Two arms of three cells meeting at (3, 3), a trunk of four cells leaving south."""
    codes = np.zeros((7, 7), np.uint8)
    valid = np.zeros((7, 7), bool)
    for i in range(3):
        codes[i, i], valid[i, i] = SE, True
        codes[i, 6 - i], valid[i, 6 - i] = SW, True
    for r in range(3, 7):
        codes[r, 3], valid[r, 3] = S, True
    return FlowDirection(
        codes=codes,
        valid=valid,
        transform=Affine(CELL, 0.0, ORIGIN[0], 0.0, -CELL, ORIGIN[1]),
        crs=CRS_3116,
        sinks=0,
    )


def test_fill_raises_pit_to_its_spill_level():
    z = np.tile(np.arange(5, dtype=np.float32), (5, 1))  # plane falling west
    z[2, 2] = -5.0
    filled, raised = fill_depressions(make_dem(z))
    assert raised == 1
    assert filled[2, 2] == 1.0
    unchanged = np.ones_like(z, bool)
    unchanged[2, 2] = False
    assert np.array_equal(filled[unchanged], z[unchanged])


def test_fill_leaves_drained_surface_alone_and_everything_drains():
    z = v_valley()
    fdir, filled = condition(make_dem(z))
    assert np.array_equal(filled, z.astype(np.float32))
    assert fdir.sinks == 0
    assert fdir.codes.dtype == np.uint8


def test_d8_cone_points_away_from_the_peak_in_esri_codes():
    r, c = np.mgrid[0:9, 0:9]
    z = 100.0 - np.hypot(r - 4, c - 4) * 10
    fdir, _ = condition(make_dem(z))
    expected = {
        (4, 6): E,
        (6, 6): SE,
        (6, 4): S,
        (6, 2): SW,
        (4, 2): W,
        (2, 2): NW,
        (2, 4): N,
        (2, 6): NE,
    }
    for (row, col), code in expected.items():
        assert fdir.codes[row, col] == code, (row, col)
    assert downstream_cell(fdir.codes, 2, 6) == (1, 7)


def test_d8_tilted_plane_and_v_valley():
    plane = np.tile(np.arange(6, 0, -1, dtype=np.float32), (4, 1))  # falls east
    fdir, _ = condition(make_dem(plane))
    assert (fdir.codes == E).all()
    fdir, _ = condition(make_dem(v_valley()))
    assert (fdir.codes[:, :3] == E).all()
    assert (fdir.codes[:, 4:] == W).all()
    assert (fdir.codes[:, 3] == S).all()


def test_flat_resolved_towards_its_outlet():
    z = np.full((6, 6), 50.0)
    z[0, :] = z[:, 0] = z[:, -1] = 60.0
    z[-1, :] = 60.0
    z[-1, 3] = 40.0  # the only way out of the walled flat
    fdir, _ = condition(make_dem(z))
    acc = flow_accumulation(fdir)
    assert fdir.sinks == 0
    # Every interior flat cell (16) plus the outlet reaches the outlet cell.
    assert acc.cells[-1, 3] >= 17
    path = (1, 1)
    for _ in range(20):
        nxt = downstream_cell(fdir.codes, *path)
        if nxt == (5, 3):
            break
        path = nxt
    assert nxt == (5, 3)


def test_accumulation_cells_and_km2_on_v_valley():
    fdir, _ = condition(make_dem(v_valley()))
    acc = flow_accumulation(fdir)
    assert acc.cells.dtype == np.int32
    assert acc.cells[9, 3] == 70
    assert acc.cells[0, 3] == 7
    assert acc.km2_at(9, 3) == pytest.approx(0.70, rel=1e-4)
    assert acc.exit_edge_cells == 70
    assert acc.exit_nodata_cells == 0


def test_accumulation_uses_true_cell_areas_on_geographic_dem():
    z = v_valley(20, 9)
    transform = Affine(0.01, 0.0, -74.0, 0.0, -0.01, 60.0)  # high latitude: cells shrink north
    dem = Dem(
        elevation=z.astype(np.float32),
        valid=np.ones(z.shape, bool),
        transform=transform,
        crs=CRS.from_epsg(4326),
    )
    fdir, _ = condition(dem)
    acc = flow_accumulation(fdir)
    area, _ = Geod(ellps="WGS84").polygon_area_perimeter(
        [-74.0, -73.91, -73.91, -74.0], [60.0, 60.0, 59.8, 59.8]
    )
    assert acc.km2_at(19, 4) == pytest.approx(abs(area) / 1e6, rel=1e-4)
    rows = cell_areas_km2(transform, CRS.from_epsg(4326), 20, 9)
    assert rows[0] < rows[-1]  # northern rows are smaller


def test_water_reaching_a_nodata_hole_exits_there_and_is_counted():
    z = v_valley()
    valid = np.ones(z.shape, bool)
    valid[5, 3] = False  # hole in the channel
    fdir, _ = condition(make_dem(z, valid))
    acc = flow_accumulation(fdir)
    assert fdir.codes[5, 3] == 0
    assert acc.cells[5, 3] == 0
    # Channel rows 0-4 with their sides (35 cells) drain into the hole; row 5's sides too.
    assert acc.exit_nodata_cells + acc.exit_edge_cells == int(valid.sum())
    assert acc.exit_nodata_cells >= 35
    assert acc.sink_cells == 0


def test_strahler_and_stream_lines_on_a_y_network():
    fdir = y_network()
    acc = flow_accumulation(fdir)
    assert acc.cells[6, 3] == 10
    order = strahler_order(fdir, acc.cells >= 1)
    assert order[0, 0] == order[2, 4] == 1
    assert order[3, 3] == order[6, 3] == 2
    net = extract_streams(fdir, acc, 0.01)
    records = sorted(net.records(), key=lambda r: -r["order"])
    assert [r["order"] for r in records] == [2, 1, 1]
    trunk = records[0]
    assert trunk["next_down"] is None
    assert {r["next_down"] for r in records[1:]} == {trunk["id"]}
    assert len(trunk["geometry"].coords) == 4
    # The arms end on the junction, which is the trunk's first vertex.
    junction = trunk["geometry"].coords[0]
    assert all(r["geometry"].coords[-1] == junction for r in records[1:])
    assert junction == (1_000_350.0, 1_000_150.0)


def test_subcatchments_split_at_junctions_with_codes_and_next_down():
    fdir = y_network()
    acc = flow_accumulation(fdir)
    net = extract_streams(fdir, acc, 0.01)
    units, unassigned = derive_subcatchments(fdir, net)
    assert unassigned == 0
    by_code = {u.code: u for u in units}
    assert set(by_code) == {"1.1", "1.2", "1.3"}
    assert by_code["1.1"].next_down is None
    assert by_code["1.2"].next_down == by_code["1.3"].next_down == "1.1"
    assert by_code["1.1"].area_ha == pytest.approx(4.0, rel=1e-6)
    assert by_code["1.2"].area_ha == pytest.approx(3.0, rel=1e-6)
    assert all(u.geometry.geom_type == "MultiPolygon" for u in units)
    assert sum(u.geometry.area for u in units) == pytest.approx(10 * CELL * CELL)


def test_pfafstetter_codes_number_tributaries_even_and_interbasins_odd():
    # Main stem 1 <- 2 <- 3 <- 4 with tributaries 5 (into 1) and 6 (into 3); 0 = outlet.
    next_down = np.array([0, 1, 2, 3, 1, 3])
    area = np.array([1.0, 1.0, 1.0, 1.0, 0.5, 0.7])
    codes = pfafstetter_codes(next_down, area)
    assert codes[4] == "1.2"  # first tributary from the outlet
    assert codes[5] == "1.4"
    assert codes[0] == "1.1"
    assert codes[1].startswith("1.3") and codes[2].startswith("1.3")
    assert codes[3] == "1.5"
    assert len(set(codes)) == 6


def test_snap_moves_to_highest_accumulation_within_radius():
    fdir, _ = condition(make_dem(v_valley()))
    acc = flow_accumulation(fdir)
    assert snap_pour_point(acc, fdir, 8, 1, 250.0) == (9, 3)
    assert snap_pour_point(acc, fdir, 8, 1, 50.0) == (8, 1)


def test_catchment_of_a_point_is_a_polygon_with_area():
    fdir, _ = condition(make_dem(v_valley()))
    acc = flow_accumulation(fdir)
    x, y = 1_000_000.0 + 3.5 * CELL, 1_000_500.0 - 9.5 * CELL
    result = catchment(fdir, acc, x, y)
    assert result.cells == 70
    assert result.area_ha == pytest.approx(70.0, rel=1e-6)
    assert result.geometry.area == pytest.approx(70 * CELL * CELL)
    assert result.geometry.bounds == (1_000_000.0, 999_500.0, 1_000_700.0, 1_000_500.0)
    upper = catchment_mask(fdir, 4, 3)
    assert upper.cells == 35  # rows 0-4, all seven columns


def test_point_outside_dem_or_on_nodata_is_refused_with_reason():
    z = v_valley()
    valid = np.ones(z.shape, bool)
    valid[2, 2] = False
    fdir, _ = condition(make_dem(z, valid))
    acc = flow_accumulation(fdir)
    with pytest.raises(PointOutsideDem, match="fuera del DEM") as err:
        catchment(fdir, acc, 0.0, 0.0)
    assert err.value.status == 422
    with pytest.raises(PointOutsideDem, match="sin datos"):
        catchment(fdir, acc, 1_000_000.0 + 2.5 * CELL, 1_000_500.0 - 2.5 * CELL)
    # A lon/lat point is transformed to the DEM's CRS first (here: far outside).
    with pytest.raises(PointOutsideDem):
        catchment(fdir, acc, -70.0, 4.0, point_crs="EPSG:4326")


def test_dem_without_crs_is_refused():
    band = Band(
        values=v_valley().astype(np.float32),
        valid=np.ones((10, 7), bool),
        transform=Affine.identity(),
        crs=None,
        nodata=None,
    )
    with pytest.raises(DemWithoutCrs, match="CRS"):
        dem_from_band(band)


def test_class_raster_or_implausible_values_are_refused_unless_forced():
    classes = np.random.default_rng(1).integers(1, 6, (50, 50)).astype(np.float32)
    band = Band(classes, np.ones(classes.shape, bool), Affine.identity(), CRS_3116, None)
    with pytest.raises(NotAnElevationRaster, match="clases"):
        dem_from_band(band)
    assert dem_from_band(band, force=True).shape == (50, 50)
    huge = np.full((5, 5), 25_000.0, np.float32)
    band = Band(huge, np.ones(huge.shape, bool), Affine.identity(), CRS_3116, None)
    with pytest.raises(NotAnElevationRaster, match="25000"):
        dem_from_band(band)
    real = v_valley().astype(np.float32)
    band = Band(real, np.ones(real.shape, bool), Affine.identity(), CRS_3116, None)
    assert dem_from_band(band).shape == (10, 7)


def test_threshold_that_makes_too_many_units_is_refused_with_estimate():
    r, c = np.mgrid[0:60, 0:60]
    z = 500 + 5 * np.sin(r / 3.0) * np.cos(c / 4.0) + (60 - r)
    fdir, _ = condition(make_dem(z))
    acc = flow_accumulation(fdir)
    with pytest.raises(TooManyUnits, match="subcuencas") as err:
        extract_streams(fdir, acc, 0.01, max_units=50)
    assert err.value.extra["estimated_units"] > 50
    assert str(err.value.extra["estimated_units"]) in err.value.detail.replace(".", "")
    with pytest.raises(TooManyUnits):
        extract_streams(fdir, acc, 0.0)
