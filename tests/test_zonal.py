"""geo/zonal.py on a 4x4 synthetic raster whose exact fractions can be worked out by hand."""

from __future__ import annotations

import numpy as np
import pytest
import rasterio
import shapely
from pyproj import Transformer
from rasterio.transform import Affine

from geo.errors import InvalidInput
from geo.zonal import class_coverage, value_stats

X0, Y0 = 5_000_000.0, 2_000_040.0  # top-left corner; 10 m cells, 4x4, EPSG:9377
CLASSES = np.array(
    [
        [1, 1, 2, 2],
        [1, 1, 2, 2],
        [3, 3, 0, 0],
        [3, 3, 0, 0],
    ],
    dtype=np.uint8,
)
ELEVATION = np.array(
    [
        [100, 200, 300, 400],
        [100, 200, 300, 400],
        [500, 600, -9999, -9999],
        [500, 600, -9999, -9999],
    ],
    dtype=np.float32,
)


def _write(path, data, nodata):
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=4,
        height=4,
        count=1,
        dtype=data.dtype,
        crs="EPSG:9377",
        transform=Affine(10, 0, X0, 0, -10, Y0),
        nodata=nodata,
    ) as dst:
        dst.write(data, 1)
    return path


@pytest.fixture(scope="module")
def classes_tif(tmp_path_factory):
    return _write(tmp_path_factory.mktemp("zonal") / "classes.tif", CLASSES, 0)


@pytest.fixture(scope="module")
def elevation_tif(tmp_path_factory):
    return _write(tmp_path_factory.mktemp("zonal") / "dem.tif", ELEVATION, -9999)


def box(col0, row0, col1, row1):
    """A box in cell units from the top-left corner (row grows downwards)."""
    return shapely.box(X0 + col0 * 10, Y0 - row1 * 10, X0 + col1 * 10, Y0 - row0 * 10)


def test_half_cell_square_counts_half_a_cell(classes_tif):
    (result,) = class_coverage(classes_tif, [box(0, 0, 0.5, 1)])
    assert result.area == pytest.approx(50.0)
    assert result.fractions == {1: pytest.approx(1.0)}
    assert result.class_area == {1: pytest.approx(50.0)}
    assert result.covered_fraction == pytest.approx(1.0)
    assert result.nodata_fraction == pytest.approx(0.0)
    assert result.outside_fraction == pytest.approx(0.0)


def test_square_straddling_two_classes_splits_by_area(classes_tif):
    # Half of columns 1 and 2 over rows 0-1: 100 m² of class 1 and 100 m² of class 2.
    (result,) = class_coverage(classes_tif, [box(1.5, 0, 2.5, 2)])
    assert result.fractions == {1: pytest.approx(0.5), 2: pytest.approx(0.5)}
    assert result.class_area[1] == pytest.approx(100.0)


def test_triangle_takes_half_of_each_cell_on_the_diagonal(classes_tif):
    triangle = shapely.Polygon([(X0, Y0), (X0 + 40, Y0), (X0 + 40, Y0 - 40)])
    (result,) = class_coverage(classes_tif, [triangle])
    # Cells above the diagonal count whole, cells on it half: class 1 = 50 + 100 + 50 m²,
    # class 2 = 4 x 100 m², nodata = 50 + 100 + 50 m².
    assert result.class_area == {1: pytest.approx(200.0), 2: pytest.approx(400.0)}
    assert result.fractions == {1: pytest.approx(1 / 3), 2: pytest.approx(2 / 3)}
    assert result.area == pytest.approx(800.0)
    assert result.covered_fraction == pytest.approx(600 / 800)
    assert result.nodata_fraction == pytest.approx(200 / 800)


def test_nodata_and_outside_fractions(classes_tif):
    over_nodata = box(1.5, 3, 3, 4)  # 50 m² of class 3, 100 m² of nodata
    half_outside = box(-1, 0, 1, 1)  # 100 m² outside the raster, 100 m² of class 1
    a, b = class_coverage(classes_tif, [over_nodata, half_outside])
    assert a.fractions == {3: pytest.approx(1.0)}
    assert a.covered_fraction == pytest.approx(1 / 3)
    assert a.nodata_fraction == pytest.approx(2 / 3)
    assert b.covered_fraction == pytest.approx(0.5)
    assert b.outside_fraction == pytest.approx(0.5)
    assert b.nodata_fraction == pytest.approx(0.0)


def test_missing_empty_and_far_away_polygons_keep_their_place(classes_tif):
    far = shapely.box(0, 0, 10, 10)
    results = class_coverage(classes_tif, [None, shapely.Polygon(), far, box(2, 0, 3, 1)])
    assert [r.area for r in results[:2]] == [0.0, 0.0]
    assert results[2].fractions == {}
    assert results[2].outside_fraction == pytest.approx(1.0)
    assert results[3].fractions == {2: pytest.approx(1.0)}


def test_multipolygon_sums_its_parts(classes_tif):
    multi = shapely.MultiPolygon([box(0, 0, 1, 1), box(2, 0, 3, 1), box(0, 2, 0.5, 3)])
    (result,) = class_coverage(classes_tif, [multi])
    assert result.class_area == {
        1: pytest.approx(100.0),
        2: pytest.approx(100.0),
        3: pytest.approx(50.0),
    }


def test_polygons_in_lon_lat_are_reprojected(classes_tif):
    square = box(1.5, 0, 2.5, 2)
    to_lonlat = Transformer.from_crs(9377, 4326, always_xy=True)
    lonlat = shapely.transform(square, lambda xy: np.column_stack(to_lonlat.transform(*xy.T)))
    (result,) = class_coverage(classes_tif, [lonlat], polygons_crs="EPSG:4326")
    assert result.fractions[1] == pytest.approx(0.5, abs=1e-6)
    assert result.area == pytest.approx(200.0, rel=1e-6)


def test_open_dataset_is_borrowed_not_closed(classes_tif):
    with rasterio.open(classes_tif) as ds:
        class_coverage(ds, [box(0, 0, 1, 1)])
        assert not ds.closed


def test_point_is_refused_with_a_spanish_message(classes_tif):
    with pytest.raises(InvalidInput, match="no es poligonal"):
        class_coverage(classes_tif, [box(0, 0, 1, 1), shapely.Point(X0, Y0)])


def test_elevation_mean_is_coverage_weighted(elevation_tif):
    half_and_full = box(0.5, 0, 2, 1)  # half of 100, all of 200
    over_nodata = box(1, 2, 3, 3)  # all of 600, one nodata cell
    a, b = value_stats(elevation_tif, [half_and_full, over_nodata])
    assert a.mean == pytest.approx((0.5 * 100 + 200) / 1.5)
    assert (a.min, a.max) == (100.0, 200.0)
    assert b.mean == pytest.approx(600.0)
    assert b.covered_fraction == pytest.approx(0.5)
    assert b.nodata_fraction == pytest.approx(0.5)


def test_elevation_outside_raster_has_no_values(elevation_tif):
    (result,) = value_stats(elevation_tif, [shapely.box(0, 0, 10, 10)])
    assert (result.mean, result.min, result.max) == (None, None, None)
    assert result.outside_fraction == pytest.approx(1.0)


def test_one_read_and_per_polygon_reads_agree(classes_tif, monkeypatch):
    from geo import zonal

    polygons = [
        box(1.5, 0, 2.5, 2),
        box(-1, 0, 1, 1),
        box(1.5, 3, 3, 4),
        shapely.Polygon([(X0, Y0), (X0 + 40, Y0), (X0 + 40, Y0 - 40)]),
        box(0.25, 0.25, 3.75, 3.75),
        box(3, 2, 5, 4),  # half beyond the right edge, the rest over nodata (value 0)
    ]
    whole = class_coverage(classes_tif, polygons)
    monkeypatch.setattr(zonal, "MAX_IN_MEMORY_BYTES", 0)  # every polygon reads its own window
    with rasterio.open(classes_tif) as ds:
        assert zonal._in_memory_source(ds, 1, np.array(polygons, dtype=object)) is None
    windowed = class_coverage(classes_tif, polygons)
    assert whole == windowed
    # 3.5 x 3.5 cells, nodata where the bottom-right quarter is.
    assert whole[-2].class_area[1] == pytest.approx(1.75 * 1.75 * 100)
    assert whole[-1].fractions == {}
    assert whole[-1].nodata_fraction == pytest.approx(0.5)
    assert whole[-1].outside_fraction == pytest.approx(0.5)
