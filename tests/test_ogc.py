"""OGC API - Features in-process: Part 1 core, Part 2 CRS, Part 3 CQL2, Part 4 writes."""

from __future__ import annotations

import json

import psycopg
import pytest
from pyproj import Transformer
from shapely.geometry import shape

from tests import ogc_world as world

AUTH = (world.ANALYST, world.PASSWORD)
TO_4326 = Transformer.from_crs(9377, 4326, always_xy=True)
HOT = "/ogc/collections/mining_hotspots"


@pytest.fixture(scope="module")
def loaded(database_url):
    world.load(database_url)
    world.users()
    yield database_url
    with psycopg.connect(database_url, autocommit=True) as conn:
        world.clear(conn)


def ids(body: dict) -> list[str]:
    return sorted(f["properties"]["source_id"] for f in body["features"])


def test_landing_and_conformance(client, loaded):
    landing = client.get("/ogc").json()
    rels = {link["rel"] for link in landing["links"]}
    assert {"self", "service-desc", "service-doc", "conformance", "data"} <= rels
    classes = client.get("/ogc/conformance").json()["conformsTo"]
    assert "http://www.opengis.net/spec/ogcapi-features-2/1.0/conf/crs" in classes
    assert "http://www.opengis.net/spec/cql2/1.0/conf/cql2-json" in classes
    page = client.get("/ogc?f=html")
    assert page.headers["content-type"].startswith("text/html") and "Colecciones" in page.text


def test_collections_from_registry_with_crs(client, loaded):
    body = client.get("/ogc/collections").json()
    by_id = {c["id"]: c for c in body["collections"]}
    assert {"municipalities", "mining_hotspots", "hydro_units"} <= set(by_id)
    hot = by_id["mining_hotspots"]
    assert hot["title"] == "Focos de minería no autorizada"
    assert hot["storageCrs"] == "http://www.opengis.net/def/crs/EPSG/0/9377"
    assert "http://www.opengis.net/def/crs/OGC/1.3/CRS84" in hot["crs"]
    assert hot["editable"] is False  # anonymous
    assert client.get(HOT, auth=AUTH).json()["editable"] is True


def test_items_bbox_datetime_limit_and_keyset_next(client, loaded):
    lon0, lat0 = TO_4326.transform(world.X0, world.Y0)
    lon1, lat1 = TO_4326.transform(world.X0 + 20000, world.Y0 + 10000)
    url = f"{HOT}/items?bbox={lon0},{lat0},{lon1},{lat1}&limit=2"
    first = client.get(url).json()
    assert first["numberMatched"] == 3 and first["numberReturned"] == 2
    nxt = next(link["href"] for link in first["links"] if link["rel"] == "next")
    assert "cursor=" in nxt
    second = client.get(nxt).json()
    assert second["numberReturned"] == 1
    assert not [link for link in second["links"] if link["rel"] == "next"]
    assert ids(first) + ids(second) == ["W-1", "W-2", "W-3"]
    dated = client.get(f"{HOT}/items?bbox={lon0},{lat0},{lon1},{lat1}&datetime=2022-01-01/..")
    assert ids(dated.json()) == ["W-2", "W-3"]
    day = client.get(f"{HOT}/items?source=ogc-test&datetime=2021-03-01").json()
    assert ids(day) == ["W-1"]


def test_crs_and_bbox_crs(client, loaded):
    native = client.get(
        "/ogc/collections/municipalities/items/W0001?crs=http://www.opengis.net/def/crs/EPSG/0/9377"
    )
    assert native.headers["content-crs"] == "<http://www.opengis.net/def/crs/EPSG/0/9377>"
    ring = native.json()["geometry"]["coordinates"][0][0]
    # EPSG:9377 URI: northing first.
    assert ring[0] == [world.Y0, world.X0]
    default = client.get("/ogc/collections/municipalities/items/W0001").json()
    lon, lat = TO_4326.transform(world.X0, world.Y0)
    assert default["geometry"]["coordinates"][0][0][0] == pytest.approx([lon, lat], abs=1e-6)
    box = f"{world.X0 + 10500},{world.Y0 + 500},{world.X0 + 19500},{world.Y0 + 9500}"
    crs9377 = "http://www.opengis.net/def/crs/EPSG/0/9377"
    # bbox-crs EPSG:9377 URI is N/E too: give northing first.
    box_ne = f"{world.Y0 + 500},{world.X0 + 10500},{world.Y0 + 9500},{world.X0 + 19500}"
    found = client.get(f"/ogc/collections/municipalities/items?bbox={box_ne}&bbox-crs={crs9377}")
    assert [f["id"] for f in found.json()["features"]] == ["W0002"]
    assert box  # the same box in E/N order, for reference


def test_cql2_text_and_json(client, loaded):
    text = client.get(
        f"{HOT}/items",
        params={"filter": "category LIKE 'en_%' OR (confidence > 0.8 AND source = 'ogc-test')"},
    ).json()
    assert ids(text) == ["W-1", "W-2"]
    x, y = world.X0, world.Y0
    lon0, lat0 = TO_4326.transform(x, y)
    lon1, lat1 = TO_4326.transform(x + 10000, y + 5000)
    spatial = client.get(
        f"{HOT}/items",
        params={"filter": f"S_INTERSECTS(geom, BBOX({lon0},{lat0},{lon1},{lat1}))"},
    ).json()
    assert ids(spatial) == ["W-1"]
    cql_json = {
        "op": "and",
        "args": [
            {
                "op": "s_intersects",
                "args": [{"property": "geom"}, {"bbox": [lon0, lat0, lon1, lat1]}],
            },
            {"op": "=", "args": [{"property": "source"}, "ogc-test"]},
        ],
    }
    as_json = client.get(
        f"{HOT}/items", params={"filter": json.dumps(cql_json), "filter-lang": "cql2-json"}
    ).json()
    assert ids(as_json) == ["W-1"]
    between = client.get(
        f"{HOT}/items", params={"filter": "area_ha BETWEEN 150 AND 250 AND source = 'ogc-test'"}
    ).json()
    assert ids(between) == ["W-2"]


def test_queryables_and_bad_filters(client, loaded):
    schema = client.get(f"{HOT}/queryables").json()
    assert schema["properties"]["detected_on"] == {
        "title": "Fecha de detección",
        "type": "string",
        "format": "date",
    }
    assert schema["properties"]["geom"]["x-ogc-role"] == "primary-geometry"
    unknown = client.get(f"{HOT}/items", params={"filter": "colour = 'red'"})
    assert unknown.status_code == 400 and "no publica el atributo 'colour'" in unknown.text
    broken = client.get(f"{HOT}/items", params={"filter": "area_ha >>> 3"})
    assert broken.status_code == 400 and "CQL2" in broken.json()["detail"]
    evil = {"op": "=", "args": [{"property": "source"}, "x'; DROP TABLE layers_mininghotspot; --"]}
    injection = client.get(
        f"{HOT}/items", params={"filter": json.dumps(evil), "filter-lang": "cql2-json"}
    )
    assert injection.status_code == 200 and injection.json()["numberReturned"] == 0
    assert client.get(f"{HOT}/items?source=ogc-test").json()["numberReturned"] == 3


def test_part4_create_replace_update_delete_with_etags(client, loaded):
    x, y = world.X0 + 8000, world.Y0 + 8000
    ring = [
        TO_4326.transform(a, b)
        for a, b in [(x, y), (x + 100, y), (x + 100, y + 100), (x, y + 100), (x, y)]
    ]
    feature = {
        "type": "Feature",
        "geometry": {"type": "Polygon", "coordinates": [ring]},
        "properties": {"source_id": "wfst-ogc", "category": "explotacion_ilicita"},
    }
    assert client.post(f"{HOT}/items", json=feature).status_code == 401
    assert (
        client.post(f"{HOT}/items", json=feature, auth=(world.VIEWER, world.PASSWORD)).status_code
        == 403
    )
    created = client.post(f"{HOT}/items", json=feature, auth=AUTH)
    assert created.status_code == 201, created.text
    location = created.headers["location"]
    item = client.get(location)
    etag = item.headers["etag"]
    assert etag == created.headers["etag"]
    assert item.json()["properties"]["area_ha"] == pytest.approx(1.0, rel=1e-3)
    patch = {"properties": {"confidence": 0.7}}
    stale = client.patch(location, json=patch, auth=AUTH, headers={"If-Match": '"viejo"'})
    assert stale.status_code == 412
    updated = client.patch(location, json=patch, auth=AUTH, headers={"If-Match": etag})
    assert updated.status_code == 204 and updated.headers["etag"] != etag
    assert client.get(location).json()["properties"]["confidence"] == 0.7
    native = {
        "type": "Feature",
        "geometry": {
            "type": "Polygon",
            "coordinates": [[[x, y], [x + 200, y], [x + 200, y + 200], [x, y + 200], [x, y]]],
        },
        "properties": {"category": "con_permisos"},
    }
    replaced = client.put(
        location,
        json=native,
        auth=AUTH,
        headers={"Content-Crs": "<http://www.opengis.net/def/crs/EPSG/0/9377>"},
    )
    # The EPSG:9377 URI is northing-first, so these numbers are read as (N, E): the stored
    # geometry is the axis-swapped square.
    assert replaced.status_code == 204
    with psycopg.connect(loaded) as conn:
        xmin, ymin, area = conn.execute(
            "SELECT ST_XMin(geom), ST_YMin(geom), area_ha FROM layers_mininghotspot "
            "WHERE source_id = 'wfst-ogc'"
        ).fetchone()
    assert (xmin, ymin) == (y, x) and area == pytest.approx(4.0)
    allowed = client.options(location, auth=AUTH).headers["allow"]
    assert "PUT" in allowed and "DELETE" in allowed
    assert "PUT" not in client.options(location).headers["allow"]
    assert client.delete(location, auth=AUTH).status_code == 204
    assert client.get(location).status_code == 404


def test_invalid_geometry_is_422_and_not_saved(client, loaded):
    x, y = world.X0 + 9000, world.Y0 + 9000
    bowtie = [[x, y], [x + 100, y + 100], [x + 100, y], [x, y + 100], [x, y]]
    response = client.post(
        f"{HOT}/items",
        json={
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [[[b, a] for a, b in bowtie]]},
            "properties": {"source_id": "wfst-bow"},
        },
        auth=AUTH,
        headers={"Content-Crs": "<http://www.opengis.net/def/crs/EPSG/0/9377>"},
    )
    assert response.status_code == 422 and "no es válida" in response.json()["detail"]
    with psycopg.connect(loaded) as conn:
        assert not conn.execute(
            "SELECT 1 FROM layers_mininghotspot WHERE source_id = 'wfst-bow'"
        ).fetchone()


def test_html_items_and_geojson_area(client, loaded):
    page = client.get("/ogc/collections/municipalities/items?f=html&code=W0002")
    assert page.status_code == 200 and "Municipio W0002" in page.text
    body = client.get(
        "/ogc/collections/municipalities/items?code=W0002"
        "&crs=http://www.opengis.net/def/crs/EPSG/0/3116"
    ).json()
    assert shape(body["features"][0]["geometry"]).area == pytest.approx(1e8, rel=2e-3)


def test_routes_and_operation_ids(client):
    paths = client.get("/openapi.json").json()["paths"]
    ops = {
        operation["operationId"]
        for path, methods in paths.items()
        if path.startswith(("/ogc", "/wfs"))
        for operation in methods.values()
    }
    assert ops == {
        "wfs_get",
        "wfs_post",
        "ogc_landing",
        "ogc_conformance",
        "ogc_collections",
        "ogc_collection",
        "ogc_queryables",
        "ogc_items",
        "ogc_create",
        "ogc_items_options",
        "ogc_item",
        "ogc_replace",
        "ogc_update",
        "ogc_delete",
        "ogc_item_options",
    }
