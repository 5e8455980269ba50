"""REST API of hydrology on a real PostGIS: unit + metrics, upstream/downstream, catchment."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
import shapely
from pyproj import Transformer
from shapely.geometry import shape

X0, Y0, SIDE = 5_100_000, 2_300_000, 10_000
# P -> R, Q -> R, R = outlet; each unit a 10 km square in a row.
EDGES = {"P": "R", "Q": "R", "R": None}
TO_9377 = Transformer.from_crs(4326, 9377, always_xy=True)
TO_4326 = Transformer.from_crs(9377, 4326, always_xy=True)


@pytest.fixture(scope="module")
def db(database_url):
    with psycopg.connect(database_url, autocommit=True) as conn:
        yield conn


def cleanup(conn) -> None:
    conn.execute("DELETE FROM hydrology_hydrounit WHERE code LIKE 'api-%%'")
    conn.execute("DELETE FROM hydrology_river WHERE source = 'test-api'")
    conn.execute("DELETE FROM layers_rasterlayer WHERE name LIKE 'test-api-%%'")


@pytest.fixture(scope="module")
def units(db):
    cleanup(db)
    ids = {}
    for i, name in enumerate(EDGES):
        x = X0 + i * SIDE
        ids[name] = db.execute(
            "INSERT INTO hydrology_hydrounit (system, code, name, level, area_ha, geom) "
            "VALUES ('pomca', %s, %s, 1, 10000, ST_Multi(ST_MakeEnvelope(%s, %s, %s, %s, 9377))) "
            "RETURNING id",
            [f"api-{name}", f"Cuenca {name}", x, Y0, x + SIDE, Y0 + SIDE],
        ).fetchone()[0]
    for name, down in EDGES.items():
        if down:
            db.execute(
                "UPDATE hydrology_hydrounit SET next_down_id = %s WHERE id = %s",
                [ids[down], ids[name]],
            )
    # A 6 km order-3 river inside P.
    db.execute(
        "INSERT INTO hydrology_river (name, strahler_order, source, length_km, geom) VALUES "
        "('Río P', 3, 'test-api', 6, ST_Multi(ST_MakeLine(ST_MakePoint(%s, %s), "
        "ST_MakePoint(%s, %s)))::geometry(MultiLineString, 9377))",
        [X0 + 2000, Y0 + 5000, X0 + 8000, Y0 + 5000],
    )
    yield ids
    cleanup(db)


def test_unit_with_water_metrics(client, units):
    response = client.get(f"/api/v1/hydrology/units/{units['P']}")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/geo+json")
    body = response.json()
    assert body["id"] == units["P"]
    assert body["properties"]["code"] == "api-P"
    assert body["properties"]["next_down_id"] == units["R"]
    metrics = body["properties"]["water_metrics"]
    assert metrics["river_km_by_order"] == {"3": 6.0}
    assert metrics["intakes"] == 0
    assert metrics["protected_share"] == 0
    ring = body["geometry"]["coordinates"][0][0]
    lon, lat = TO_4326.transform(X0, Y0)
    assert min(abs(c[0] - lon) + abs(c[1] - lat) for c in ring) < 1e-6
    rels = {link["rel"] for link in body["links"]}
    assert {"self", "upstream", "downstream"} <= rels


def test_unit_in_9377_and_unknown_unit(client, units):
    body = client.get(f"/api/v1/hydrology/units/{units['R']}?crs=EPSG:9377").json()
    assert shape(body["geometry"]).bounds == pytest.approx(
        (X0 + 2 * SIDE, Y0, X0 + 3 * SIDE, Y0 + SIDE)
    )
    response = client.get("/api/v1/hydrology/units/999999999")
    assert response.status_code == 404
    assert response.json()["detail"] == "No existe la unidad hidrográfica 999999999."


def test_upstream_collection_with_dissolved_boundary(client, units):
    response = client.get(f"/api/v1/hydrology/units/{units['R']}/upstream?crs=9377")
    assert response.status_code == 200
    body = response.json()
    assert body["type"] == "FeatureCollection"
    assert body["direction"] == "upstream"
    assert sorted(f["properties"]["code"] for f in body["features"]) == ["api-P", "api-Q", "api-R"]
    assert body["numberReturned"] == 3
    assert body["area_ha"] == pytest.approx(30_000)
    boundary = shape(body["boundary"]["geometry"])
    assert boundary.area == pytest.approx(3 * SIDE * SIDE)
    assert boundary.bounds == pytest.approx((X0, Y0, X0 + 3 * SIDE, Y0 + SIDE))
    assert body["boundary"]["properties"] == {"area_ha": pytest.approx(30_000), "units": 3}


def test_upstream_of_a_headwater_is_itself_in_4326(client, units):
    body = client.get(f"/api/v1/hydrology/units/{units['Q']}/upstream").json()
    assert body["unit_ids"] == [units["Q"]]
    assert body["area_ha"] == pytest.approx(10_000)
    boundary = shapely.transform(
        shape(body["boundary"]["geometry"]), TO_9377.transform, interleaved=False
    )
    assert boundary.area == pytest.approx(SIDE * SIDE, rel=1e-6)


def test_downstream_path_in_flow_order(client, units):
    body = client.get(f"/api/v1/hydrology/units/{units['P']}/downstream").json()
    assert body["unit_ids"] == [units["P"], units["R"]]
    assert [f["properties"]["code"] for f in body["features"]] == ["api-P", "api-R"]
    # P and R are not adjacent (Q lies between): the boundary is two squares.
    assert body["area_ha"] == pytest.approx(20_000)
    assert body["boundary"]["geometry"]["type"] == "MultiPolygon"
    assert len(body["boundary"]["geometry"]["coordinates"]) == 2


def test_upstream_unknown_unit_is_404(client):
    response = client.get("/api/v1/hydrology/units/999999999/upstream")
    assert response.status_code == 404
    assert "999999999" in response.json()["detail"]


@pytest.fixture(scope="module")
def small_dem(db, tmp_path_factory):
    """A 20 x 20 km valley DEM (EPSG:9377, 1 km cells) with a nodata hole, catalogued."""
    import numpy as np
    import rasterio
    from rasterio.transform import from_origin

    path = tmp_path_factory.mktemp("dem") / "valley.tif"
    cols = np.abs(np.arange(20) - 10).astype("float32")
    elevation = 100 + 10 * cols[None, :] + 2 * np.arange(20, dtype="float32")[:, None]
    elevation[2, 2] = -9999
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=20,
        height=20,
        count=1,
        dtype="float32",
        crs="EPSG:9377",
        transform=from_origin(X0, Y0 + 40_000, 1000, 1000),
        nodata=-9999,
    ) as dst:
        dst.write(elevation, 1)
    lon0, lat0 = TO_4326.transform(X0, Y0 + 20_000)
    lon1, lat1 = TO_4326.transform(X0 + 20_000, Y0 + 40_000)
    for name, theme in (("test-api-valley", "elevation"), ("test-api-aptitude", "aptitude")):
        db.execute(
            "INSERT INTO layers_rasterlayer (name, title, theme, path, crs, resolution, nodata, "
            "bounds_4326, class_table, synthetic, source) VALUES (%s, %s, %s, %s, 'EPSG:9377', "
            "1000, -9999, %s, '[]', true, 'test')",
            [name, name, theme, str(path), [lon0, lat0, lon1, lat1]],
        )
    yield path
    db.execute("DELETE FROM layers_rasterlayer WHERE name LIKE 'test-api-%%'")


def lonlat(x: float, y: float) -> dict:
    lon, lat = TO_4326.transform(x, y)
    return {"lon": lon, "lat": lat}


def test_catchment_refuses_points_outside_and_on_nodata(client, small_dem):
    far = client.post("/api/v1/hydrology/catchment", json={"lon": -70.0, "lat": 12.0})
    assert far.status_code == 422
    assert far.json()["detail"].startswith(
        "Ningún modelo de elevación cubre el punto (-70.0, 12.0)"
    )
    assert "test-api-valley" in far.json()["detail"]
    outside = client.post(
        "/api/v1/hydrology/catchment",
        json={**lonlat(X0 - 5_000, Y0 + 30_000), "dem": "test-api-valley"},
    )
    assert outside.status_code == 422
    assert "está fuera del DEM 'test-api-valley'" in outside.json()["detail"]
    assert outside.json()["dem_bounds"] == pytest.approx(
        [X0, Y0 + 20_000, X0 + 20_000, Y0 + 40_000]
    )
    hole = client.post("/api/v1/hydrology/catchment", json=lonlat(X0 + 2_500, Y0 + 40_000 - 2_500))
    assert hole.status_code == 422
    assert "cae en una celda sin dato del DEM 'test-api-valley'" in hole.json()["detail"]


def test_catchment_refuses_unknown_and_non_elevation_rasters(client, small_dem):
    point = lonlat(X0 + 10_500, Y0 + 30_500)
    unknown = client.post("/api/v1/hydrology/catchment", json={**point, "dem": "nope"})
    assert unknown.status_code == 404
    assert unknown.json()["detail"] == "No existe el ráster 'nope' en el catálogo."
    aptitude = client.post(
        "/api/v1/hydrology/catchment", json={**point, "dem": "test-api-aptitude"}
    )
    assert aptitude.status_code == 422
    assert "no es un modelo de elevación (tema: aptitude)" in aptitude.json()["detail"]
    bad = client.post("/api/v1/hydrology/catchment", json={"lon": 200, "lat": 4})
    assert bad.status_code == 400
    assert "lon" in bad.json()["detail"]


def test_catchment_on_the_valley(client, small_dem):
    # The valley drains north along column 10; rows 5..19 (15 x 20 cells) drain through (5, 10).
    point = lonlat(X0 + 10_500, Y0 + 40_000 - 5_500)
    body = client.post(
        "/api/v1/hydrology/catchment", json={**point, "snap_radius_m": 0, "crs": "9377"}
    ).json()
    assert body["type"] == "Feature"
    props = body["properties"]
    assert props["dem"] == "test-api-valley"
    assert props["cells"] == 300
    # Areas are true areas (scale-corrected), within 0.3% of the 9377 plane here.
    assert props["area_ha"] == pytest.approx(30_000, rel=3e-3)
    geom = shape(body["geometry"])
    assert geom.area == pytest.approx(300 * 1000 * 1000)
    assert geom.bounds == pytest.approx((X0, Y0 + 20_000, X0 + 20_000, Y0 + 35_000))
    assert props["snap_distance_m"] == pytest.approx(0, abs=1e-6)


def test_catchment_snaps_to_strongest_flow_in_4326(client, small_dem):
    # Default radius (2 cells) moves the outlet 2 km down the valley, to row 3.
    point = lonlat(X0 + 10_500, Y0 + 40_000 - 5_500)
    body = client.post("/api/v1/hydrology/catchment", json=point).json()
    props = body["properties"]
    assert props["cells"] == 340
    assert props["snap_distance_m"] == pytest.approx(2000, rel=1e-3)
    outlet = lonlat(X0 + 10_500, Y0 + 40_000 - 3_500)
    assert props["outlet"]["lon"] == pytest.approx(outlet["lon"], abs=1e-6)
    assert props["outlet"]["lat"] == pytest.approx(outlet["lat"], abs=1e-6)
    geom = shapely.transform(shape(body["geometry"]), TO_9377.transform, interleaved=False)
    assert geom.area == pytest.approx(340 * 1000 * 1000, rel=1e-6)


META_DEM = Path(__file__).resolve().parent.parent / "data" / "samples" / "dem_meta_250m.tif"
REFERENCE = Path(__file__).resolve().parent / "data" / "pysheds_meta_catchments.json"


@pytest.fixture(scope="module")
def meta_dem(db):
    if not META_DEM.exists():
        pytest.skip("muestra del DEM del Meta ausente")
    from hydrology.catchment_service import catalogue_dem

    name = catalogue_dem(db, META_DEM, "test-api-meta")
    yield name
    db.execute("DELETE FROM layers_rasterlayer WHERE name = %s", [name])


def test_meta_catchment_matches_the_kernels(client, meta_dem):
    import numpy as np

    from hydrology import flow
    from hydrology.catchment_service import conditioned

    grids = conditioned(META_DEM)
    to_4326 = Transformer.from_crs(grids.fdir.crs, 4326, always_xy=True)
    to_9377 = Transformer.from_crs(4326, 9377, always_xy=True)
    # Three outlets of decreasing size: the largest accumulations away from the DEM edge.
    cells = grids.acc.cells.copy()
    cells[:5, :] = cells[-5:, :] = cells[:, :5] = cells[:, -5:] = 0
    picks = np.argsort(cells, axis=None)[::-1][[0, 500, 5000]]
    for flat in picks:
        row, col = divmod(int(flat), cells.shape[1])
        x, y = grids.fdir.transform * (col + 0.5, row + 0.5)
        lon, lat = to_4326.transform(x, y)
        expected = flow.catchment_mask(grids.fdir, row, col)
        response = client.post(
            "/api/v1/hydrology/catchment", json={"lon": lon, "lat": lat, "snap_radius_m": 0}
        )
        assert response.status_code == 200, response.text
        props = response.json()["properties"]
        assert props["dem"] == "test-api-meta"  # found by coverage, no name given
        assert props["cells"] == expected.cells
        assert props["area_ha"] == pytest.approx(expected.area_ha, rel=1e-6)
        polygon = shapely.transform(
            shape(response.json()["geometry"]), to_9377.transform, interleaved=False
        )
        assert polygon.area / 10_000 == pytest.approx(expected.area_ha, rel=5e-3)


def test_meta_catchment_matches_pysheds_within_one_percent(client, meta_dem):
    if not REFERENCE.exists():
        pytest.skip("referencia de pysheds ausente (bench/pysheds_reference.py)")
    reference = json.loads(REFERENCE.read_text())
    to_4326 = Transformer.from_crs(reference["crs"], 4326, always_xy=True)
    # pysheds snaps within a (2r+1)² square window; a circle of r·√2 cells covers exactly it.
    cell_m = reference["cell_km2"] ** 0.5 * 1000
    radius = reference["snap_radius_cells"] * cell_m * 2**0.5 + 1
    outlets = reference["outlets"]
    assert len(outlets) >= 10
    for outlet in outlets:
        lon, lat = to_4326.transform(outlet["x"], outlet["y"])
        response = client.post(
            "/api/v1/hydrology/catchment",
            json={"lon": lon, "lat": lat, "dem": meta_dem, "snap_radius_m": radius},
        )
        assert response.status_code == 200, response.text
        props = response.json()["properties"]
        assert props["area_ha"] == pytest.approx(outlet["area_km2"] * 100, rel=0.01), outlet
        snapped = to_4326.transform(outlet["snapped_x"], outlet["snapped_y"])
        assert props["outlet"]["lon"] == pytest.approx(snapped[0], abs=1e-6)
        assert props["outlet"]["lat"] == pytest.approx(snapped[1], abs=1e-6)


def test_rivers_and_intakes_are_registry_layers(client, units, db):
    db.execute("DELETE FROM hydrology_waterintake WHERE source = 'test-api'")
    db.execute(
        "INSERT INTO hydrology_waterintake (name, serves_municipality_id, aqueduct, source, geom) "
        "VALUES ('Bocatoma La Esperanza', '05154', 'Acueducto municipal', 'test-api', "
        "ST_SetSRID(ST_MakePoint(%s, %s), 9377))",
        [X0 + 1000, Y0 + 1000],
    )
    try:
        rivers = client.get("/api/v1/layers/rivers/features?source=test-api&crs=9377").json()
        assert rivers["numberMatched"] == 1
        river = rivers["features"][0]
        assert river["geometry"]["type"] == "MultiLineString"
        assert river["properties"] == {
            "name": "Río P",
            "strahler_order": 3,
            "length_km": 6.0,
            "source": "test-api",
            "source_id": None,  # drawn here, not imported: no id in a source
        }
        intakes = client.get("/api/v1/layers/water_intakes/features?source=test-api").json()
        intake = intakes["features"][0]
        assert intake["geometry"]["type"] == "Point"
        lon, lat = TO_4326.transform(X0 + 1000, Y0 + 1000)
        assert intake["geometry"]["coordinates"] == pytest.approx([lon, lat], abs=1e-7)
        assert intake["properties"]["serves_municipality"] == "05154"
        assert intake["properties"]["aqueduct"] == "Acueducto municipal"
    finally:
        db.execute("DELETE FROM hydrology_waterintake WHERE source = 'test-api'")


def test_hydrology_routes_and_operation_ids(client):
    paths = client.get("/openapi.json").json()["paths"]
    expected = {
        ("/api/v1/hydrology/units/{unit_id}", "get"): "get_hydro_unit",
        ("/api/v1/hydrology/units/{unit_id}/upstream", "get"): "get_hydro_unit_upstream",
        ("/api/v1/hydrology/units/{unit_id}/downstream", "get"): "get_hydro_unit_downstream",
        ("/api/v1/hydrology/catchment", "post"): "compute_catchment",
    }
    for (path, method), operation in expected.items():
        assert paths[path][method]["operationId"] == operation
