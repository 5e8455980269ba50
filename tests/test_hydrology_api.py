"""REST API of hydrology on a real PostGIS: unit + metrics, upstream/downstream, catchment."""

from __future__ import annotations

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
