"""REST read API of the registry on a real PostGIS: CRS, bbox, paging, filters, errors."""

from __future__ import annotations

import pytest
from pyproj import Transformer
from shapely.geometry import shape

TO_4326 = Transformer.from_crs(9377, 4326, always_xy=True)
# Two 10 km squares in EPSG:9377 near Medellín, one near Bogotá.
SQUARES = {
    "05154": (4_700_000, 2_250_000),
    "05155": (4_710_000, 2_250_000),
    "11001": (4_880_000, 2_070_000),
}


@pytest.fixture(scope="module")
def municipalities(db):
    db.execute("DELETE FROM layers_municipality WHERE code = ANY(%s)", [list(SQUARES)])
    for code, (x, y) in SQUARES.items():
        db.execute(
            "INSERT INTO layers_municipality (code, name, department_id, legal_act, area_ha, geom) "
            "VALUES (%s, %s, %s, '', 10000, ST_Multi(ST_MakeEnvelope(%s, %s, %s, %s, 9377)))",
            [code, f"Municipio {code}", code[:2], x, y, x + 10_000, y + 10_000],
        )
    yield SQUARES
    db.execute("DELETE FROM layers_municipality WHERE code = ANY(%s)", [list(SQUARES)])


@pytest.fixture(scope="module")
def db(database_url):
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        yield conn


def test_healthz_reports_versions(client):
    body = client.get("/healthz").json()
    assert body["status"] == "ok"
    assert body["postgresql"].startswith("15")
    assert body["postgis"].startswith("3.")


def test_healthz_503_when_database_unreachable():
    from fastapi.testclient import TestClient

    from app.main import create_app
    from app.settings import DatabaseSettings, Settings

    broken = create_app(Settings(database=DatabaseSettings(url="postgresql://x@127.0.0.1:1/none")))
    with TestClient(broken) as test_client:
        response = test_client.get("/healthz")
    assert response.status_code == 503
    assert "no disponible" in response.json()["detail"]


def test_layers_list_counts_and_extent(client, municipalities):
    layers = {item["name"]: item for item in client.get("/api/v1/layers").json()["layers"]}
    assert {"municipalities", "mining_tenures", "hydro_units"} <= set(layers)
    muni = layers["municipalities"]
    assert muni["feature_count"] == 3
    assert muni["geometry_type"] == "MultiPolygon"
    minx, miny, maxx, maxy = muni["extent"]
    lons, lats = TO_4326.transform([4_700_000, 4_700_000], [2_070_000, 2_260_000])
    assert minx == pytest.approx(min(lons), abs=1e-4)
    assert miny == pytest.approx(min(lats), abs=1e-4)
    assert maxx > minx and maxy > miny


def test_features_in_4326_and_9377(client, municipalities):
    body = client.get("/api/v1/layers/municipalities/features/05154").json()
    assert body["id"] == "05154"
    assert body["properties"]["code"] == "05154"
    ring = body["geometry"]["coordinates"][0][0]
    assert len(ring) == 5
    for x, y in [(4_700_000, 2_250_000), (4_710_000, 2_260_000)]:
        lon, lat = TO_4326.transform(x, y)
        assert min(abs(c[0] - lon) + abs(c[1] - lat) for c in ring) < 1e-6
    native = client.get("/api/v1/layers/municipalities/features/05154?crs=EPSG:9377").json()
    assert shape(native["geometry"]).area == pytest.approx(1e8)


def test_bbox_filter_and_paging(client, municipalities):
    lon0, lat0 = TO_4326.transform(4_695_000, 2_245_000)
    lon1, lat1 = TO_4326.transform(4_725_000, 2_265_000)
    body = client.get(
        f"/api/v1/layers/municipalities/features?bbox={lon0},{lat0},{lon1},{lat1}&limit=1"
    ).json()
    assert body["numberMatched"] == 2
    assert body["numberReturned"] == 1
    assert body["features"][0]["id"] == "05154"
    next_link = next(link["href"] for link in body["links"] if link["rel"] == "next")
    page2 = client.get(next_link).json()
    assert [f["id"] for f in page2["features"]] == ["05155"]
    assert not [link for link in page2["links"] if link["rel"] == "next"]
    native = client.get(
        "/api/v1/layers/municipalities/features?bbox=4870000,2060000,4890000,2080000&bbox-crs=9377"
    ).json()
    assert [f["id"] for f in native["features"]] == ["11001"]


def test_attribute_filter_and_properties(client, municipalities):
    body = client.get(
        "/api/v1/layers/municipalities/features?department_code=11&properties=name"
    ).json()
    assert [f["id"] for f in body["features"]] == ["11001"]
    assert body["features"][0]["properties"] == {"name": "Municipio 11001"}


@pytest.mark.parametrize(
    ("url", "status", "fragment"),
    [
        ("/api/v1/layers/rios/features", 404, "Capa desconocida: 'rios'"),
        (
            "/api/v1/layers/municipalities/features?colour=red",
            400,
            "no publica el atributo 'colour'",
        ),
        ("/api/v1/layers/municipalities/features?crs=EPSG:2000", 400, "CRS no soportado"),
        ("/api/v1/layers/municipalities/features?bbox=3,2,1,0", 400, "mínimos mayores"),
        ("/api/v1/layers/municipalities/features?bbox=a,b,c,d", 400, "bbox inválido"),
        ("/api/v1/layers/municipalities/features/99999", 404, "No existe el elemento '99999'"),
        ("/api/v1/layers/hydro_units/features?level=uno", 400, "Valor inválido para 'level'"),
    ],
)
def test_bad_requests_are_problems(client, municipalities, url, status, fragment):
    response = client.get(url)
    assert response.status_code == status
    assert response.headers["content-type"].startswith("application/problem+json")
    assert fragment in response.json()["detail"]


def test_limit_is_capped(client, municipalities, app):
    body = client.get("/api/v1/layers/municipalities/features?limit=99999999").json()
    assert body["numberReturned"] == 3
    assert app.state.settings.api.max_limit == 10_000
