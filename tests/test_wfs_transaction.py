"""WFS-T in-process: 2.0 and 1.0 (QGIS-style) Insert/Update/Delete, atomicity, auth."""

from __future__ import annotations

import psycopg
import pytest
from lxml import etree
from pyproj import Transformer

from tests import ogc_world as world

AUTH = (world.ANALYST, world.PASSWORD)
TO_4326 = Transformer.from_crs(9377, 4326, always_xy=True)
DM = "https://distritosmineros.minenergia.gov.co/dm"
X, Y = world.X0 + 3000, world.Y0 + 7000  # an empty corner of the world


@pytest.fixture(scope="module")
def loaded(database_url):
    world.load(database_url)
    world.users()
    yield database_url
    with psycopg.connect(database_url, autocommit=True) as conn:
        world.clear(conn)


def post(client, body: str, auth=AUTH, url: str = "/wfs"):
    return client.post(url, content=body.encode(), headers={"content-type": "text/xml"}, auth=auth)


def square(x: float, y: float, size: float = 100) -> list[tuple[float, float]]:
    return [(x, y), (x + size, y), (x + size, y + size), (x, y + size), (x, y)]


def insert_v2(source_id: str, ring: list[tuple[float, float]], srs="EPSG:9377") -> str:
    pos = " ".join(f"{a} {b}" for a, b in ring)
    return (
        '<wfs:Transaction xmlns:wfs="http://www.opengis.net/wfs/2.0" '
        'xmlns:gml="http://www.opengis.net/gml/3.2" '
        f'xmlns:dm="{DM}" service="WFS" version="2.0.0"><wfs:Insert>'
        f'<dm:mining_hotspots gml:id="nuevo-{source_id}"><dm:source>wfst-test</dm:source>'
        f"<dm:source_id>{source_id}</dm:source_id><dm:category>explotacion_ilicita</dm:category>"
        "<dm:area_ha>999</dm:area_ha><dm:detected_on>2024-05-01</dm:detected_on><dm:geom>"
        f'<gml:Polygon gml:id="g1" srsName="{srs}"><gml:exterior><gml:LinearRing>'
        f"<gml:posList>{pos}</gml:posList></gml:LinearRing></gml:exterior></gml:Polygon>"
        "</dm:geom></dm:mining_hotspots></wfs:Insert></wfs:Transaction>"
    )


def row(url: str, source_id: str):
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT id, category, area_ha, ST_AsText(geom), detected_on::text, confidence "
            "FROM layers_mininghotspot WHERE source_id = %s",
            [source_id],
        ).fetchone()


def test_insert_v2_returns_ids_and_derives_area(client, loaded):
    response = post(client, insert_v2("wfst-a", square(X, Y)))
    assert response.status_code == 200, response.text
    root = etree.fromstring(response.content)
    ns = {"wfs": "http://www.opengis.net/wfs/2.0", "fes": "http://www.opengis.net/fes/2.0"}
    assert root.findtext("wfs:TransactionSummary/wfs:totalInserted", namespaces=ns) == "1"
    rid = root.xpath("//wfs:InsertResults/wfs:Feature/fes:ResourceId/@rid", namespaces=ns)[0]
    fid, category, area, wkt, detected, _ = row(loaded, "wfst-a")
    assert rid == f"mining_hotspots.{fid}"
    assert category == "explotacion_ilicita" and detected == "2024-05-01"
    assert area == pytest.approx(1.0)  # 100 m x 100 m; the client's 999 is ignored (derived)
    assert wkt.startswith(f"MULTIPOLYGON((({X} {Y}")


def test_insert_v1_qgis_style_xy_with_urn(client, loaded):
    # QGIS: 1.0.0 Transaction, gml:coordinates, urn srsName, POSTed to the caps URL; in 1.0.0
    # QGIS (like GeoServer) keeps x/y = lon,lat whatever the srsName says.
    lonlat = [TO_4326.transform(a, b) for a, b in square(X + 500, Y)]
    coords = " ".join(f"{lon:.9f},{lat:.9f}" for lon, lat in lonlat)
    body = (
        '<Transaction xmlns="http://www.opengis.net/wfs" service="WFS" version="1.0.0">'
        f'<Insert xmlns="http://www.opengis.net/wfs"><mining_hotspots xmlns="{DM}">'
        "<source_id>wfst-b</source_id><geom>"
        '<gml:Polygon xmlns:gml="http://www.opengis.net/gml" srsName="urn:ogc:def:crs:EPSG::4326">'
        '<gml:outerBoundaryIs><gml:LinearRing><gml:coordinates cs="," ts=" ">'
        f"{coords}</gml:coordinates></gml:LinearRing></gml:outerBoundaryIs></gml:Polygon>"
        "</geom></mining_hotspots></Insert></Transaction>"
    )
    response = post(client, body, url="/wfs?SERVICE=WFS&REQUEST=GetCapabilities&VERSION=2.0.0")
    assert response.status_code == 200, response.text
    root = etree.fromstring(response.content)
    assert root.tag == "{http://www.opengis.net/wfs}WFS_TransactionResponse"
    assert root.find(".//{http://www.opengis.net/wfs}SUCCESS") is not None
    fid = root.find(".//{http://www.opengis.net/ogc}FeatureId").get("fid")
    found = row(loaded, "wfst-b")
    assert fid == f"mining_hotspots.{found[0]}"
    assert found[1] == "desconocida"  # editor default for a field report
    assert found[2] == pytest.approx(1.0, rel=1e-3)
    with psycopg.connect(loaded) as conn:
        x, y = conn.execute(
            "SELECT ST_XMin(geom), ST_YMin(geom) FROM layers_mininghotspot WHERE id = %s",
            [found[0]],
        ).fetchone()
    assert (x, y) == pytest.approx((X + 500, Y), abs=0.01)


def test_insert_v2_urn_4326_is_lat_lon(client, loaded):
    latlon = [TO_4326.transform(a, b)[::-1] for a, b in square(X + 1500, Y)]
    response = post(client, insert_v2("wfst-d", latlon, srs="urn:ogc:def:crs:EPSG::4326"))
    assert response.status_code == 200, response.text
    with psycopg.connect(loaded) as conn:
        x, y = conn.execute(
            "SELECT ST_XMin(geom), ST_YMin(geom) FROM layers_mininghotspot "
            "WHERE source_id = 'wfst-d'"
        ).fetchone()
    assert (x, y) == pytest.approx((X + 1500, Y), abs=0.01)


def test_update_and_delete_v1_with_featureid(client, loaded):
    post(client, insert_v2("wfst-c", square(X + 1000, Y)))
    fid = row(loaded, "wfst-c")[0]
    ring = " ".join(f"{a},{b}" for a, b in square(X + 1000, Y, 200))
    body = (
        '<wfs:Transaction xmlns:wfs="http://www.opengis.net/wfs" '
        'xmlns:ogc="http://www.opengis.net/ogc" xmlns:gml="http://www.opengis.net/gml" '
        'service="WFS" version="1.0.0"><wfs:Update typeName="dm:mining_hotspots" '
        f'xmlns:dm="{DM}"><wfs:Property><wfs:Name>confidence</wfs:Name><wfs:Value>0.25'
        "</wfs:Value></wfs:Property><wfs:Property><wfs:Name>geom</wfs:Name><wfs:Value>"
        '<gml:Polygon srsName="EPSG:9377"><gml:outerBoundaryIs><gml:LinearRing>'
        f"<gml:coordinates>{ring}</gml:coordinates></gml:LinearRing></gml:outerBoundaryIs>"
        "</gml:Polygon></wfs:Value></wfs:Property>"
        f'<ogc:Filter><ogc:FeatureId fid="mining_hotspots.{fid}"/></ogc:Filter></wfs:Update>'
        "</wfs:Transaction>"
    )
    assert post(client, body).status_code == 200
    _, _, area, _, _, confidence = row(loaded, "wfst-c")
    assert confidence == 0.25 and area == pytest.approx(4.0)
    delete = (
        '<wfs:Transaction xmlns:wfs="http://www.opengis.net/wfs/2.0" '
        'xmlns:fes="http://www.opengis.net/fes/2.0" service="WFS" version="2.0.0">'
        '<wfs:Delete typeName="dm:mining_hotspots"><fes:Filter>'
        f'<fes:ResourceId rid="mining_hotspots.{fid}"/></fes:Filter></wfs:Delete>'
        "</wfs:Transaction>"
    )
    response = post(client, delete)
    assert b"<wfs:totalDeleted>1</wfs:totalDeleted>" in response.content
    assert row(loaded, "wfst-c") is None
    with psycopg.connect(loaded) as conn:
        actions = conn.execute(
            "SELECT action FROM layers_auditentry WHERE object_type = 'mining_hotspots' "
            "AND object_id = %s ORDER BY id",
            [str(fid)],
        ).fetchall()
    assert [a for (a,) in actions] == ["insert", "update", "delete"]


def test_invalid_geometry_rolls_back_everything(client, loaded):
    bowtie = [(X, Y + 2000), (X + 100, Y + 2100), (X + 100, Y + 2000), (X, Y + 2100), (X, Y + 2000)]
    good = insert_v2("wfst-good", square(X, Y + 3000))
    bad = insert_v2("wfst-bad", bowtie)
    body = good.replace("</wfs:Transaction>", "") + bad[bad.index("<wfs:Insert>") :]
    response = post(client, body)
    assert response.status_code == 422
    root = etree.fromstring(response.content)
    text = root.findtext(".//{http://www.opengis.net/ows/1.1}ExceptionText")
    assert "nuevo-wfst-bad" in text and "no es válida" in text
    assert row(loaded, "wfst-good") is None and row(loaded, "wfst-bad") is None


def test_anonymous_gets_401_viewer_403(client, loaded):
    anonymous = post(client, insert_v2("wfst-x", square(X, Y)), auth=None)
    assert anonymous.status_code == 401
    assert anonymous.headers["www-authenticate"].startswith("Basic")
    assert b"ExceptionReport" in anonymous.content
    viewer = post(client, insert_v2("wfst-x", square(X, Y)), auth=(world.VIEWER, world.PASSWORD))
    assert viewer.status_code == 403
    assert "Su rol no permite editar" in viewer.text
    read_only = insert_v2("wfst-x", square(X, Y)).replace("mining_hotspots", "municipalities")
    assert post(client, read_only).status_code == 403
    assert row(loaded, "wfst-x") is None


def test_bearer_token_may_transact(client, loaded):
    from django.contrib.auth.models import User

    from app.accounts.models import ApiToken

    _, raw = ApiToken.issue(User.objects.get(username=world.ANALYST), "wfs-test")
    response = client.post(
        "/wfs",
        content=insert_v2("wfst-token", square(X + 2000, Y)).encode(),
        headers={"content-type": "text/xml", "Authorization": f"Bearer {raw}"},
    )
    assert response.status_code == 200, response.text
    assert row(loaded, "wfst-token") is not None
