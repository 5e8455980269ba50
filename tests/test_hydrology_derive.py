"""Storing DEM-derived units and deriving next_down of published layers from a DEM."""

from __future__ import annotations

from pathlib import Path
from types import SimpleNamespace

import numpy as np
import psycopg
import pytest
import rasterio
from rasterio.transform import from_origin
from shapely.geometry import LineString, box

from hydrology.derive import derive_next_down, next_down_from_grids, store_derived

X0, Y0, KM = 5_200_000, 1_800_000, 1000


@pytest.fixture(scope="module")
def db(database_url):
    with psycopg.connect(database_url, autocommit=True) as conn:
        yield conn


def test_next_down_from_grids_follows_the_flow_path():
    # Labels 1 | 2 | 3 left to right with a gap column between 2 and 3; water flows east.
    labels = np.array([[1, 1, 2, 2, 0, 3], [1, 1, 2, 2, 0, 3]])
    direction = np.full(labels.shape, 1)
    accumulation = np.tile(np.arange(1, 7, dtype=float), (2, 1))
    accumulation[1] += 0.5  # the outlet of each label is on the second row
    links, outlets = next_down_from_grids(labels, direction, accumulation)
    assert links == {1: 2, 2: 3, 3: None}
    assert outlets == {1: (1, 1), 2: (1, 3), 3: (1, 5)}


def test_next_down_sink_and_edge_are_outlets():
    labels = np.array([[1, 2]])
    direction = np.array([[0, 1]])  # 1 is a sink; 2 drains east off the grid
    links, _ = next_down_from_grids(labels, direction, np.array([[1.0, 1.0]]))
    assert links == {1: None, 2: None}


@pytest.fixture(scope="module")
def official(db, tmp_path_factory):
    """Three 2 x 2 km units over a 2 x 6 km DEM draining east, and one unit off the DEM."""
    db.execute("DELETE FROM hydrology_hydrounit WHERE code LIKE 'drv-%%'")
    ids = {}
    for name, (x, w) in {"W": (0, 2), "M": (2, 2), "E": (4, 2), "OFF": (10, 2)}.items():
        ids[name] = db.execute(
            "INSERT INTO hydrology_hydrounit (system, code, name, level, area_ha, geom) "
            "VALUES ('watershed', %s, %s, 1, 400, ST_Multi(ST_MakeEnvelope(%s, %s, %s, %s, 9377)))"
            " RETURNING id",
            [f"drv-{name}", name, X0 + x * KM, Y0, X0 + (x + w) * KM, Y0 + 2 * KM],
        ).fetchone()[0]
    path = tmp_path_factory.mktemp("dem") / "east.tif"
    elevation = np.tile(np.arange(600, 0, -100, dtype="float32"), (2, 1))
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=6,
        height=2,
        count=1,
        dtype="float32",
        crs="EPSG:9377",
        transform=from_origin(X0, Y0 + 2 * KM, KM, KM),
        nodata=-9999,
    ) as dst:
        dst.write(elevation, 1)
    grids = SimpleNamespace(
        direction=np.full((2, 6), 1, dtype="uint8"),
        accumulation=np.tile(np.arange(1, 7, dtype=float), (2, 1)),
    )
    yield ids, path, grids
    db.execute("DELETE FROM hydrology_hydrounit WHERE code LIKE 'drv-%%'")


def test_derive_next_down_links_covered_units_and_lists_uncovered(db, official):
    ids, path, grids = official
    summary = derive_next_down(db, list(ids.values()), path, grids=grids)
    assert summary.linked == {ids["W"]: ids["M"], ids["M"]: ids["E"]}
    assert summary.outlets == [ids["E"]]
    assert summary.uncovered == {ids["OFF"]: 0.0}
    rows = dict(
        db.execute(
            "SELECT code, next_down_id FROM hydrology_hydrounit WHERE code LIKE 'drv-%%'"
        ).fetchall()
    )
    assert rows == {"drv-W": ids["M"], "drv-M": ids["E"], "drv-E": None, "drv-OFF": None}
    assert "1 unidades quedan sin next_down" in summary.messages()[1]


def test_next_down_from_catalogue_uses_the_covering_dem(db, official):
    from hydrology.catchment_service import catalogue_dem
    from hydrology.derive import next_down_from_catalogue

    ids, path, _ = official
    db.execute(
        "UPDATE hydrology_hydrounit SET next_down_id = NULL WHERE id = ANY(%s)",
        [list(ids.values())],
    )
    name = catalogue_dem(db, path, "test-derive-east")
    try:
        summary = next_down_from_catalogue(db, list(ids.values()), Path("/nonexistent"))
    finally:
        db.execute("DELETE FROM layers_rasterlayer WHERE name = %s", [name])
    # The real fill + D8 on the DEM (sloping east) gives the same drainage.
    assert summary.linked == {ids["W"]: ids["M"], ids["M"]: ids["E"]}
    assert summary.outlets == [ids["E"]]
    assert summary.uncovered == {ids["OFF"]: 0.0}


def test_store_derived_replaces_units_and_rivers(db, tmp_path):
    dem = tmp_path / "dem_test_store.tif"

    def unit(code, next_down, x):
        geometry = box(X0 + x * KM, Y0 + 10 * KM, X0 + (x + 1) * KM, Y0 + 11 * KM)
        return SimpleNamespace(code=code, next_down=next_down, level=len(code), geometry=geometry)

    records = [unit("1", None, 0), unit("11", "1", 1), unit("12", "1", 2)]
    stream = SimpleNamespace(
        strahler_order=2,
        geometry=LineString([(X0 + 500, Y0 + 10_500), (X0 + 2500, Y0 + 10_500)]),
    )
    for _ in range(2):  # deriving twice leaves one copy
        stored = store_derived(db, dem, records, [stream], "EPSG:9377", threshold_km2=1.0)
    assert (stored.units, stored.rivers, stored.outlets) == (3, 1, 1)
    rows = db.execute(
        "SELECT u.code, d.code, u.area_ha, u.level FROM hydrology_hydrounit u "
        "LEFT JOIN hydrology_hydrounit d ON d.id = u.next_down_id "
        "WHERE u.system = 'derived' AND u.code LIKE 'dem_test_store-%%' ORDER BY u.code"
    ).fetchall()
    assert rows == [
        ("dem_test_store-1", None, pytest.approx(100.0), 1),
        ("dem_test_store-11", "dem_test_store-1", pytest.approx(100.0), 2),
        ("dem_test_store-12", "dem_test_store-1", pytest.approx(100.0), 2),
    ]
    river = db.execute(
        "SELECT strahler_order, length_km, batch_id FROM hydrology_river "
        "WHERE source = 'DEM dem_test_store'"
    ).fetchall()
    assert river == [(2, pytest.approx(2.0), stored.batch_id)]
    counts = db.execute(
        "SELECT counts FROM layers_importbatch WHERE id = %s", [stored.batch_id]
    ).fetchone()[0]
    assert counts == {"units": 3, "rivers": 1, "outlets": 1, "threshold_km2": 1.0}
    db.execute("DELETE FROM hydrology_hydrounit WHERE code LIKE 'dem_test_store-%%'")
    db.execute("DELETE FROM hydrology_river WHERE source = 'DEM dem_test_store'")


META_DEM = Path(__file__).resolve().parent.parent / "data" / "samples" / "dem_meta_250m.tif"


@pytest.mark.skipif(not META_DEM.exists(), reason="muestra del DEM del Meta ausente")
def test_derive_meta_sample_stores_linked_units(db, client):
    from hydrology import catchments, streams
    from hydrology.catchment_service import condition
    from hydrology.derive import derive_from_dem

    steps = []
    stored = derive_from_dem(db, META_DEM, 50.0, progress=steps.append)
    assert len(steps) == 4
    grids = condition(META_DEM)
    network = streams.extract_streams(grids.fdir, grids.acc, 50.0)
    units, _ = catchments.derive_subcatchments(grids.fdir, network)
    assert stored.units == len(units) > 100
    outlets_expected = sum(1 for u in units if u.next_down is None)
    rows = db.execute(
        "SELECT count(*), count(next_down_id), sum(area_ha), min(area_ha) "
        "FROM hydrology_hydrounit WHERE system = 'derived' AND code LIKE 'dem_meta_250m-%%'"
    ).fetchone()
    assert rows[0] == len(units)
    assert rows[1] == len(units) - outlets_expected == len(units) - stored.outlets
    # Areas measured in 9377 agree with the kernels' true cell areas within 0.5%.
    assert rows[2] == pytest.approx(sum(u.area_ha for u in units), rel=5e-3)
    assert rows[3] > 0
    # Every derived river lies in the DEM's footprint and carries a Strahler order.
    orders = db.execute(
        "SELECT min(strahler_order), max(strahler_order), count(*) FROM hydrology_river "
        "WHERE source = 'DEM dem_meta_250m'"
    ).fetchone()
    assert orders[0] == 1 and orders[1] == int(network.orders.max())
    assert orders[2] == sum(1 for line in network.lines if line is not None)
    # The largest outlet unit's upstream closure covers the biggest derived basin.
    outlet_id, outlet_code = db.execute(
        "SELECT u.id, u.code FROM hydrology_hydrounit u WHERE u.system = 'derived' "
        "AND u.code LIKE 'dem_meta_250m-%%' AND u.next_down_id IS NULL "
        "ORDER BY (SELECT count(*) FROM hydrology_hydrounit x WHERE x.next_down_id = u.id) DESC "
        "LIMIT 1"
    ).fetchone()
    body = client.get(f"/api/v1/hydrology/units/{outlet_id}/upstream").json()
    basin = outlet_code.split("-", 1)[1].split(".")[0]
    members = [u for u in units if u.code.split(".")[0] == basin]
    assert body["numberReturned"] == len(members)
    assert body["area_ha"] == pytest.approx(sum(u.area_ha for u in members), rel=5e-3)
    db.execute("DELETE FROM hydrology_hydrounit WHERE code LIKE 'dem_meta_250m-%%'")
    db.execute("DELETE FROM hydrology_river WHERE source = 'DEM dem_meta_250m'")
