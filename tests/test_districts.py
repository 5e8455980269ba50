"""Districts on a real PostGIS: drafts, versions, diffs, ETags, territory, layer, WFS editor.

The world is tests/district_world.py (km rectangles in EPSG:9377; 1 km² = 100 ha).
"""

from __future__ import annotations

import datetime as dt

import psycopg
import pytest
from pyproj import Transformer
from shapely.geometry import box, shape

from tests import district_world as w

TO_4326 = Transformer.from_crs(9377, 4326, always_xy=True)
BASE = "/api/v1/districts"


def rect(x0, y0, x1, y1):
    return box(w.X0 + x0 * w.KM, w.Y0 + y0 * w.KM, w.X0 + x1 * w.KM, w.Y0 + y1 * w.KM)


@pytest.fixture(scope="module")
def conn(database_url):
    with psycopg.connect(database_url, autocommit=True) as connection:
        yield connection


@pytest.fixture(scope="module")
def world(conn):
    w.load(conn)
    yield
    w.unload(conn)


@pytest.fixture(scope="module")
def who(world):
    with w.users(
        {"ana": "analyst", "coord": "coordinator", "viewer": "viewer", "mesa": "mesa_secretary"}
    ) as headers:
        yield headers


@pytest.fixture(autouse=True)
def clean(conn, world):
    yield
    w.purge_districts(conn)


def create(client, who, code="tdm-uno", geometry=None, **extra):
    body = {
        "code": code,
        "name": "Distrito Uno",
        "type": "vida_y_paz",
        "geometry": geometry or w.polygon(0, 0, 16, 20),
        "crs": "EPSG:9377",
        **extra,
    }
    return client.post(BASE, json=body, headers=who["ana"])


def test_create_draft_with_version_1_and_territory(client, who):
    response = create(client, who)
    assert response.status_code == 201, response.text
    body = response.json()
    assert response.headers["etag"] == '"tdm-uno-1"'
    assert response.headers["location"].endswith("/api/v1/districts/tdm-uno")
    assert body["status"] == "draft" and body["type"] == "vida_y_paz"
    assert body["boundary"]["version"] == 1
    assert body["boundary"]["area_ha"] == pytest.approx(32_000)
    assert body["boundary"]["source"] == "drawn"
    assert body["boundary"]["author"] == "tdm-ana"
    # Territory is computed from the boundary: 32 000 ha, all in Z1 / Z1001.
    (dep,) = body["territory"]["departments"]
    assert dep == {
        "code": "Z1",
        "name": "Departamento Z1",
        "area_ha": 32_000.0,
        "district_percent": 100.0,
        "unit_percent": 40.0,
    }
    (muni,) = body["territory"]["municipalities"]
    assert (muni["code"], muni["department"], muni["unit_percent"]) == ("Z1001", "Z1", 80.0)
    # The validation report is stored with the version.
    codes = {f["code"] for f in body["validation"]["findings"]}
    assert {"watershed_cut", "hotspot_partly_outside", "ethnic_territory_inside"} <= codes
    assert body["validation"]["valid"] is True
    # GeoJSON out in EPSG:4326 by default.
    lon, lat = body["boundary"]["geometry"]["coordinates"][0][0][0]
    assert (lon, lat) == pytest.approx(TO_4326.transform(w.X0, w.Y0), abs=1e-6)


def test_create_in_4326_and_territory_across_departments(client, who):
    ring = [TO_4326.transform(*xy) for xy in rect(30, 0, 50, 20).exterior.coords]
    body = {
        "code": "tdm-ll",
        "name": "Lat/lon",
        "type": "transicion_energetica",
        "geometry": {"type": "Feature", "geometry": {"type": "Polygon", "coordinates": [ring]}},
    }
    response = client.post(f"{BASE}?crs=EPSG:9377", json=body, headers=who["ana"])
    assert response.status_code == 201, response.text
    doc = response.json()
    assert doc["boundary"]["area_ha"] == pytest.approx(40_000, rel=1e-4)
    deps = {d["code"]: d for d in doc["territory"]["departments"]}
    assert deps["Z1"]["area_ha"] == pytest.approx(20_000, rel=1e-3)
    assert deps["Z2"]["district_percent"] == pytest.approx(50, rel=1e-3)
    assert deps["Z2"]["unit_percent"] == pytest.approx(25, rel=1e-3)
    assert shape(doc["boundary"]["geometry"]).area == pytest.approx(4e8, rel=1e-4)


@pytest.mark.parametrize(
    ("change", "who_key", "status", "fragment"),
    [
        ({"type": "mixto"}, "ana", 400, "Tipo de distrito desconocido: 'mixto'"),
        ({"code": "x y"}, "ana", 400, "Código inválido"),
        (
            {"geometry": {"type": "Polygon", "coordinates": [[[0, 0], [1, 1]]]}},
            "ana",
            400,
            "Anillo",
        ),
        (
            {"geometry": {"type": "LineString", "coordinates": [[0, 0], [1, 1]]}},
            "ana",
            400,
            "Se esperaba un Polygon",
        ),
        ({}, "viewer", 403, "Su rol no permite crear distritos"),
        ({}, "mesa", 403, "Su rol no permite"),
    ],
)
def test_create_refusals(client, who, change, who_key, status, fragment):
    body = {
        "code": "tdm-mal",
        "name": "Mal",
        "type": "vida_y_paz",
        "geometry": w.polygon(0, 0, 16, 20),
        "crs": "EPSG:9377",
        **change,
    }
    response = client.post(BASE, json=body, headers=who[who_key])
    assert response.status_code == status, response.text
    assert fragment in response.json()["detail"]
    assert client.get(f"{BASE}/tdm-mal", headers=who["ana"]).status_code == 404


def test_create_refusals_anonymous_duplicate_and_invalid(client, who):
    anonymous = client.post(
        BASE, json={"code": "tdm-a", "name": "A", "type": "vida_y_paz", "geometry": {}}
    )
    assert anonymous.status_code == 401  # who you are comes before what you sent
    for method, path, body in (
        ("PATCH", "", {"name": "x"}),
        ("PUT", "/boundary", {"geometry": w.polygon(0, 0, 5, 5), "crs": "EPSG:9377"}),
        ("POST", "/transitions", {"to": "proposed"}),
        ("POST", "/acts", {"kind": "delimitation", "number": "R 1", "date": "2025-01-01"}),
    ):
        refused = client.request(method, f"{BASE}/tdm-nada{path}", json=body)
        assert refused.status_code == 401, (method, path, refused.text)
    anonymous = client.post(
        BASE,
        json={
            "code": "tdm-a",
            "name": "A",
            "type": "vida_y_paz",
            "geometry": w.polygon(0, 0, 5, 5),
            "crs": "EPSG:9377",
        },
    )
    assert anonymous.status_code == 401
    assert create(client, who).status_code == 201
    duplicate = create(client, who)
    assert duplicate.status_code == 409
    assert "Ya existe el distrito 'tdm-uno'" in duplicate.json()["detail"]
    a, b = w.X0, w.Y0
    bowtie = {
        "type": "Polygon",
        "coordinates": [[[a, b], [a + 9000, b + 9000], [a + 9000, b], [a, b + 9000], [a, b]]],
    }
    invalid = create(client, who, code="tdm-lazo", geometry=bowtie)
    assert invalid.status_code == 422
    assert "Self-intersection" in invalid.json()["detail"]
    (finding,) = invalid.json()["findings"]
    assert finding["geometry"]["type"] == "Point"
    # Nothing saved: neither district nor version.
    assert client.get(f"{BASE}/tdm-lazo", headers=who["ana"]).status_code == 404


def test_drafts_hidden_from_anonymous(client, who):
    create(client, who)
    assert client.get(f"{BASE}/tdm-uno").status_code == 404
    assert client.get(f"{BASE}/tdm-uno", headers=who["viewer"]).status_code == 404
    got = client.get(f"{BASE}/tdm-uno", headers=who["ana"])
    assert got.status_code == 200 and got.headers["etag"] == '"tdm-uno-1"'
    public = client.get(BASE).json()["districts"]
    assert not [d for d in public if d["code"].startswith(w.PREFIX)]
    listed = [
        d
        for d in client.get(BASE, headers=who["ana"]).json()["districts"]
        if d["code"].startswith(w.PREFIX)
    ]  # other test files leave districts of their own
    assert [(d["code"], d["version"], d["area_ha"]) for d in listed] == [("tdm-uno", 1, 32_000)]


def test_patch_needs_if_match_and_stale_loses_nothing(client, who, conn):
    create(client, who)
    url = f"{BASE}/tdm-uno"
    missing = client.patch(url, json={"name": "Otro"}, headers=who["ana"])
    assert missing.status_code == 428
    ok = client.patch(
        url, json={"name": "Nuevo nombre"}, headers={**who["ana"], "If-Match": '"tdm-uno-1"'}
    )
    assert ok.status_code == 200, ok.text
    assert ok.json()["name"] == "Nuevo nombre"
    assert ok.headers["etag"] == '"tdm-uno-2"'
    stale = client.patch(
        url, json={"name": "Pisado"}, headers={**who["ana"], "If-Match": '"tdm-uno-1"'}
    )
    assert stale.status_code == 412
    assert stale.json()["current_etag"] == "tdm-uno-2"
    assert client.get(url, headers=who["ana"]).json()["name"] == "Nuevo nombre"
    bad = client.patch(
        url, json={"status": "delimited"}, headers={**who["ana"], "If-Match": '"tdm-uno-2"'}
    )
    assert bad.status_code == 400
    audit = conn.execute(
        "SELECT action, \"user\", before->>'name', after->>'name' FROM layers_auditentry "
        "WHERE object_type = 'district' AND object_id = 'tdm-uno' ORDER BY id"
    ).fetchall()
    assert audit[0][:2] == ("create", "tdm-ana")
    assert audit[-1] == ("update", "tdm-ana", "Distrito Uno", "Nuevo nombre")


def test_boundary_versions_and_diff(client, who):
    create(client, who)
    url = f"{BASE}/tdm-uno"
    put = client.put(
        f"{url}/boundary",
        json={"geometry": w.polygon(0, 0, 20, 20), "crs": "EPSG:9377", "comment": "hasta el río"},
        headers={**who["ana"], "If-Match": '"tdm-uno-1"'},
    )
    assert put.status_code == 200, put.text
    assert put.json()["boundary"]["version"] == 2
    assert put.json()["boundary"]["area_ha"] == pytest.approx(40_000)
    # Snapped to whole units now: no cut watershed left.
    assert put.json()["validation"]["watershed"]["integrity"] == pytest.approx(1.0)
    put3 = client.put(
        f"{url}/boundary",
        json={"geometry": w.polygon(2, 0, 20, 20), "crs": "EPSG:9377"},
        headers={**who["ana"], "If-Match": put.headers["etag"]},
    )
    assert put3.status_code == 200
    versions = client.get(f"{url}/versions", headers=who["ana"]).json()["versions"]
    assert [(v["number"], v["area_ha"]) for v in versions] == [
        (1, 32_000),
        (2, 40_000),
        (3, 36_000),
    ]
    assert versions[1]["comment"] == "hasta el río"
    diff = client.get(f"{url}/versions/1/diff/3?crs=EPSG:9377", headers=who["ana"]).json()
    assert diff["added_ha"] == pytest.approx(8_000)  # [16,20]x[0,20]
    assert diff["removed_ha"] == pytest.approx(4_000)  # [0,2]x[0,20]
    assert shape(diff["added"]).symmetric_difference(rect(16, 0, 20, 20)).area == pytest.approx(
        0, abs=1e-3
    )
    assert shape(diff["removed"]).symmetric_difference(rect(0, 0, 2, 20)).area == pytest.approx(
        0, abs=1e-3
    )
    missing = client.get(f"{url}/versions/1/diff/9", headers=who["ana"])
    assert missing.status_code == 404 and "no tiene la versión 9" in missing.json()["detail"]


def test_stale_boundary_put_is_412_and_saves_nothing(client, who):
    create(client, who)
    url = f"{BASE}/tdm-uno/boundary"
    first = client.put(
        url,
        json={"geometry": w.polygon(0, 0, 20, 20), "crs": "EPSG:9377"},
        headers={**who["ana"], "If-Match": '"tdm-uno-1"'},
    )
    assert first.status_code == 200
    second = client.put(
        url,
        json={"geometry": w.polygon(0, 0, 10, 10), "crs": "EPSG:9377"},
        headers={**who["coord"], "If-Match": '"tdm-uno-1"'},
    )
    assert second.status_code == 412
    versions = client.get(f"{BASE}/tdm-uno/versions", headers=who["ana"]).json()["versions"]
    assert [v["area_ha"] for v in versions] == [32_000, 40_000]
    no_header = client.put(
        url, json={"geometry": w.polygon(0, 0, 10, 10), "crs": "EPSG:9377"}, headers=who["ana"]
    )
    assert no_header.status_code == 428


def test_districts_layer_public_filter(client, who):
    create(client, who)
    create(client, who, code="tdm-dos", geometry=w.polygon(40, 0, 50, 10))
    client.post(
        f"{BASE}/tdm-dos/transitions",
        json={"to": "proposed"},
        headers={**who["ana"], "If-Match": '"tdm-dos-1"'},
    )
    public = client.get("/api/v1/layers/districts/features?crs=EPSG:9377").json()
    ours = [f for f in public["features"] if f["id"].startswith("tdm-")]
    assert [f["id"] for f in ours] == ["tdm-dos"]
    assert ours[0]["properties"]["status"] == "proposed"
    assert ours[0]["properties"]["area_ha"] == pytest.approx(10_000)
    assert shape(ours[0]["geometry"]).area == pytest.approx(1e8)
    staff = client.get("/api/v1/layers/districts/features", headers=who["ana"]).json()
    assert {"tdm-uno", "tdm-dos"} <= {f["id"] for f in staff["features"]}


def test_wfs_editor_insert_update_and_refusals(conn, who):
    from dataclasses import dataclass

    from delimitation.editing import DistrictEditor
    from geo.errors import Conflict, PreconditionFailed
    from layers.editing import FeatureInput, editor_for
    from layers.registry import get_layer

    @dataclass(frozen=True)
    class User:
        username: str = "tdm-qgis"
        roles: frozenset = frozenset({"analyst"})

    layer = get_layer("districts")
    editor = editor_for(layer)
    assert isinstance(editor, DistrictEditor)
    with conn.transaction():
        (code,) = editor.insert(
            conn,
            layer,
            [
                FeatureInput(
                    {"code": "tdm-qgis", "name": "Desde QGIS", "type": "vida_y_paz"},
                    rect(0, 0, 10, 10),
                )
            ],
            User(),
        )
    assert code == "tdm-qgis"
    with conn.transaction():
        tag = editor.update(
            conn,
            layer,
            code,
            {"name": "Renombrado", "area_ha": 1},
            rect(0, 0, 20, 10),
            User(),
            "tdm-qgis-1",
        )
    row = conn.execute(
        "SELECT name, version, source, area_ha FROM delimitation_district_current WHERE code = %s",
        [code],
    ).fetchone()
    assert row == ("Renombrado", 2, "qgis/wfs", pytest.approx(20_000))
    assert tag == editor.etag(conn, layer, code) == "tdm-qgis-3"
    with pytest.raises(PreconditionFailed), conn.transaction():
        editor.update(conn, layer, code, {"name": "x"}, None, User(), "tdm-qgis-1")
    with pytest.raises(Conflict, match="no se borran"), conn.transaction():
        editor.delete(conn, layer, code, User())


def _wfs_insert(code: str, ring: str) -> str:
    # What QGIS sends: WFS 1.0.0, GML 2 coordinates, HTTP Basic.
    return (
        '<Transaction xmlns="http://www.opengis.net/wfs" service="WFS" version="1.0.0">'
        '<Insert><districts xmlns="https://distritosmineros.minenergia.gov.co/dm">'
        f"<code>{code}</code><name>Desde QGIS</name><type>vida_y_paz</type><geom>"
        '<gml:Polygon xmlns:gml="http://www.opengis.net/gml" srsName="EPSG:9377">'
        "<gml:outerBoundaryIs><gml:LinearRing><gml:coordinates>"
        f"{ring}</gml:coordinates></gml:LinearRing></gml:outerBoundaryIs></gml:Polygon>"
        "</geom></districts></Insert></Transaction>"
    )


def _wfs_update(code: str, ring: str) -> str:
    return (
        '<wfs:Transaction xmlns:wfs="http://www.opengis.net/wfs" '
        'xmlns:ogc="http://www.opengis.net/ogc" xmlns:gml="http://www.opengis.net/gml" '
        'service="WFS" version="1.0.0"><wfs:Update typeName="dm:districts" '
        'xmlns:dm="https://distritosmineros.minenergia.gov.co/dm">'
        "<wfs:Property><wfs:Name>area_ha</wfs:Name><wfs:Value>1</wfs:Value></wfs:Property>"
        "<wfs:Property><wfs:Name>geom</wfs:Name><wfs:Value>"
        '<gml:Polygon srsName="EPSG:9377"><gml:outerBoundaryIs><gml:LinearRing>'
        f"<gml:coordinates>{ring}</gml:coordinates></gml:LinearRing></gml:outerBoundaryIs>"
        "</gml:Polygon></wfs:Value></wfs:Property>"
        f'<ogc:Filter><ogc:FeatureId fid="districts.{code}"/></ogc:Filter></wfs:Update>'
        "</wfs:Transaction>"
    )


def _ring(x0, y0, x1, y1) -> str:
    corners = [(x0, y0), (x1, y0), (x1, y1), (x0, y1), (x0, y0)]
    return " ".join(f"{w.X0 + a * w.KM},{w.Y0 + b * w.KM}" for a, b in corners)


def test_wfs_t_from_qgis_creates_versions_and_respects_the_lock(client, conn, world):
    from django.contrib.auth.models import Group, User

    from delimitation import lifecycle
    from delimitation.lifecycle import ActInput

    user, _ = User.objects.get_or_create(username="tdm-qgis-user")
    user.set_password("clave-qgis-123")
    user.save()
    user.groups.set([Group.objects.get_or_create(name="coordinator")[0]])
    auth = ("tdm-qgis-user", "clave-qgis-123")

    def post(body: str):
        return client.post(
            "/wfs", content=body.encode(), headers={"content-type": "text/xml"}, auth=auth
        )

    created = post(_wfs_insert("tdm-wfs", _ring(0, 0, 10, 10)))
    assert created.status_code == 200, created.text
    assert b'fid="districts.tdm-wfs"' in created.content
    updated = post(_wfs_update("tdm-wfs", _ring(0, 0, 20, 10)))
    assert updated.status_code == 200, updated.text
    rows = conn.execute(
        "SELECT v.number, v.source, v.area_ha, v.author FROM delimitation_boundaryversion v "
        "JOIN delimitation_district d ON d.id = v.district_id WHERE d.code = 'tdm-wfs' "
        "ORDER BY v.number"
    ).fetchall()
    assert rows == [
        (1, "qgis/wfs", 10_000.0, "tdm-qgis-user"),
        (2, "qgis/wfs", 20_000.0, "tdm-qgis-user"),
    ]

    class Coordinator:
        username = "tdm-coord"
        roles = frozenset({"coordinator"})

    with conn.transaction():
        for status in ("proposed", "in_validation"):
            lifecycle.transition(conn, "tdm-wfs", status, Coordinator(), None)
        lifecycle.register_act(
            conn,
            "tdm-wfs",
            ActInput("delimitation", "Resolución 40900 T", dt.date(2025, 5, 2)),
            Coordinator(),
            None,
        )
    locked = post(_wfs_update("tdm-wfs", _ring(0, 0, 5, 5)))
    assert locked.status_code == 409, locked.text
    assert "acto administrativo de modificación" in locked.text
    assert conn.execute(
        "SELECT max(v.number) FROM delimitation_boundaryversion v JOIN delimitation_district d "
        "ON d.id = v.district_id WHERE d.code = 'tdm-wfs'"
    ).fetchone() == (2,)
    delete = post(
        '<wfs:Transaction xmlns:wfs="http://www.opengis.net/wfs" '
        'xmlns:ogc="http://www.opengis.net/ogc" service="WFS" version="1.0.0">'
        '<wfs:Delete typeName="districts"><ogc:Filter>'
        '<ogc:FeatureId fid="districts.tdm-wfs"/></ogc:Filter></wfs:Delete></wfs:Transaction>'
    )
    assert delete.status_code == 409 and "no se borran" in delete.text


def test_one_version_and_conditional_get(client, who):
    create(client, who)
    url = f"{BASE}/tdm-uno"
    client.put(
        f"{url}/boundary",
        json={"geometry": w.polygon(0, 0, 20, 20), "crs": "EPSG:9377", "comment": "ajuste"},
        headers={**who["ana"], "If-Match": '"tdm-uno-1"'},
    )
    first = client.get(f"{url}/versions/1?crs=EPSG:9377", headers=who["ana"]).json()
    assert first["number"] == 1 and first["acts"] == []
    assert shape(first["geometry"]).symmetric_difference(rect(0, 0, 16, 20)).area == 0
    assert first["validation"]["watershed"]["integrity"] == pytest.approx(0.625)
    second = client.get(f"{url}/versions/2", headers=who["ana"]).json()
    assert second["comment"] == "ajuste" and second["area_ha"] == pytest.approx(40_000)
    assert client.get(f"{url}/versions/7", headers=who["ana"]).status_code == 404
    fresh = client.get(url, headers={**who["ana"], "If-None-Match": '"tdm-uno-2"'})
    assert fresh.status_code == 304 and fresh.headers["etag"] == '"tdm-uno-2"'
    stale = client.get(url, headers={**who["ana"], "If-None-Match": '"tdm-uno-1"'})
    assert stale.status_code == 200 and stale.json()["revision"] == 2


def test_admin_shows_history_read_only(client, who):
    from django.contrib.auth.models import User
    from django.test import Client

    create(client, who)
    admin_user, _ = User.objects.get_or_create(
        username="tdm-admin", defaults={"is_staff": True, "is_superuser": True}
    )
    browser = Client()
    browser.force_login(admin_user)
    from delimitation.models import District

    district = District.objects.get(code="tdm-uno")
    page = browser.get(f"/admin/delimitation/district/{district.pk}/change/")
    assert page.status_code == 200
    text = page.content.decode()
    assert "tdm-uno" in text and "versiones del límite (inmutables)" in text.lower()
    assert "32000" in text.replace(".", "").replace(",", "")  # version 1 area
    assert (
        browser.post(f"/admin/delimitation/district/{district.pk}/change/", {}).status_code == 403
    )
    assert browser.get("/admin/delimitation/district/add/").status_code == 403


def test_ogc_api_part4_on_districts_shares_etag_and_rules(client, who):
    create(client, who)
    item = "/ogc/collections/districts/items/tdm-uno"
    patched = client.patch(
        item,
        json={"properties": {"name": "Desde OGC API"}},
        headers={**who["ana"], "If-Match": '"tdm-uno-1"', "Content-Type": "application/json"},
    )
    assert patched.status_code == 204, patched.text
    assert patched.headers["etag"] == '"tdm-uno-2"'
    stale = client.patch(
        item,
        json={"properties": {"name": "Pisado"}},
        headers={**who["ana"], "If-Match": '"tdm-uno-1"', "Content-Type": "application/json"},
    )
    assert stale.status_code == 412
    ring = [list(TO_4326.transform(*xy)) for xy in rect(0, 0, 20, 20).exterior.coords]
    replaced = client.put(
        item,
        json={
            "type": "Feature",
            "geometry": {"type": "Polygon", "coordinates": [ring]},
            "properties": {"name": "Desde OGC API"},
        },
        headers={**who["ana"], "If-Match": '"tdm-uno-2"', "Content-Type": "application/geo+json"},
    )
    assert replaced.status_code == 204, replaced.text
    doc = client.get(f"{BASE}/tdm-uno", headers=who["ana"]).json()
    assert doc["name"] == "Desde OGC API"
    assert doc["boundary"]["version"] == 2 and doc["boundary"]["source"] == "qgis/wfs"
    assert doc["boundary"]["area_ha"] == pytest.approx(40_000, rel=1e-5)


def test_boundary_from_a_zipped_shapefile_and_a_geopackage(client, who, tmp_path):
    import zipfile

    import geopandas

    create(client, who)
    # Two pieces sharing an edge, in the old MAGNA Bogotá origin (EPSG:3116): dissolved.
    halves = geopandas.GeoDataFrame(
        {"nombre": ["oeste", "este"]},
        geometry=[rect(0, 0, 10, 20), rect(10, 0, 20, 20)],
        crs=9377,
    ).to_crs(3116)
    halves.to_file(tmp_path / "limite.shp")
    archive = tmp_path / "limite.zip"
    with zipfile.ZipFile(archive, "w") as bundle:
        for part in tmp_path.glob("limite.*"):
            if part.suffix != ".zip":
                bundle.write(part, part.name)
    response = client.put(
        f"{BASE}/tdm-uno/boundary/file?crs=EPSG:9377",
        files={"file": ("limite.zip", archive.read_bytes(), "application/zip")},
        data={"comment": "shapefile de la CAR"},
        headers={**who["ana"], "If-Match": '"tdm-uno-1"'},
    )
    assert response.status_code == 200, response.text
    boundary = response.json()["boundary"]
    assert (boundary["version"], boundary["source"]) == (2, "import")
    assert boundary["area_ha"] == pytest.approx(40_000, rel=1e-6)
    assert boundary["comment"] == "shapefile de la CAR"
    dissolved = shape(boundary["geometry"])
    assert dissolved.geom_type == "MultiPolygon" and len(dissolved.geoms) == 1
    assert dissolved.symmetric_difference(rect(0, 0, 20, 20)).area < 1.0  # m², 3116 round trip
    points = geopandas.GeoDataFrame(geometry=[rect(0, 0, 1, 1).centroid], crs=9377)
    points.to_file(tmp_path / "puntos.gpkg")
    refused = client.put(
        f"{BASE}/tdm-uno/boundary/file",
        files={"file": ("puntos.gpkg", (tmp_path / "puntos.gpkg").read_bytes())},
        headers={**who["ana"], "If-Match": response.headers["etag"]},
    )
    assert refused.status_code == 400
    assert "no tiene polígonos (geometrías: Point)" in refused.json()["detail"]
