"""WFS 2.0/1.1/1.0 in-process: capabilities, schemas, GetFeature options, axis order, errors."""

from __future__ import annotations

import json

import pytest
from lxml import etree
from pyproj import Transformer
from shapely.geometry import shape

from tests import ogc_world as world

NS = {
    "wfs": "http://www.opengis.net/wfs/2.0",
    "wfs1": "http://www.opengis.net/wfs",
    "gml": "http://www.opengis.net/gml/3.2",
    "gml1": "http://www.opengis.net/gml",
    "ows": "http://www.opengis.net/ows/1.1",
    "ows1": "http://www.opengis.net/ows",
    "dm": "https://distritosmineros.minenergia.gov.co/dm",
    "xsd": "http://www.w3.org/2001/XMLSchema",
    "ogc": "http://www.opengis.net/ogc",
}
TO_4326 = Transformer.from_crs(9377, 4326, always_xy=True)


@pytest.fixture(scope="module")
def loaded(database_url):
    world.load(database_url)
    world.users()
    yield
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        world.clear(conn)


def xml(response) -> etree._Element:
    return etree.fromstring(response.content)


def wfs(client, **params):
    query = {"service": "WFS", "version": "2.0.0", **params}
    return client.get("/wfs", params=query)


def hotspot_ids(client, **params) -> list[str]:
    params.setdefault("typeNames", "dm:mining_hotspots")
    root = xml(wfs(client, request="GetFeature", **params))
    ids = root.xpath("//dm:mining_hotspots/@gml:id", namespaces=NS)
    return [i.split(".")[1] for i in ids]


def test_capabilities_v2_lists_every_layer_in_spanish(client, loaded):
    root = xml(wfs(client, request="GetCapabilities"))
    names = root.xpath("//wfs:FeatureType/wfs:Name/text()", namespaces=NS)
    assert {"dm:municipalities", "dm:mining_hotspots", "dm:mining_tenures"} <= set(names)
    titles = dict(
        zip(names, root.xpath("//wfs:FeatureType/wfs:Title/text()", namespaces=NS), strict=True)
    )
    assert titles["dm:mining_hotspots"] == "Focos de minería no autorizada"
    ft = root.xpath("//wfs:FeatureType[wfs:Name='dm:municipalities']", namespaces=NS)[0]
    assert ft.findtext("wfs:DefaultCRS", namespaces=NS) == "urn:ogc:def:crs:EPSG::9377"
    others = ft.xpath("wfs:OtherCRS/text()", namespaces=NS)
    assert others == [f"urn:ogc:def:crs:EPSG::{s}" for s in (4326, 4686, 3116, 3857)]
    lower = ft.findtext("ows:WGS84BoundingBox/ows:LowerCorner", namespaces=NS).split()
    lon, lat = TO_4326.transform(world.X0, world.Y0)
    assert float(lower[0]) <= lon + 1e-4 and float(lower[1]) <= lat + 1e-4
    paging = root.xpath(
        "//ows:Constraint[@name='ImplementsResultPaging']/ows:DefaultValue/text()", namespaces=NS
    )
    assert paging == ["TRUE"]
    # Anonymous callers are not offered transactions.
    assert not root.xpath("//ows:Operation[@name='Transaction']", namespaces=NS)


def test_capabilities_offer_transaction_to_editors_only(client, loaded):
    auth = (world.ANALYST, world.PASSWORD)
    root = xml(client.get("/wfs?service=WFS&request=GetCapabilities", auth=auth))
    assert root.xpath("//ows:Operation[@name='Transaction']", namespaces=NS)
    viewer = xml(
        client.get("/wfs?service=WFS&request=GetCapabilities", auth=(world.VIEWER, world.PASSWORD))
    )
    assert not viewer.xpath("//ows:Operation[@name='Transaction']", namespaces=NS)
    v10 = xml(client.get("/wfs?service=WFS&version=1.0.0&request=GetCapabilities", auth=auth))
    hot = v10.xpath("//wfs1:FeatureType[wfs1:Name='dm:mining_hotspots']", namespaces=NS)[0]
    assert hot.findtext("wfs1:SRS", namespaces=NS) == "EPSG:9377"
    assert hot.find("wfs1:Operations/wfs1:Insert", namespaces=NS) is not None


def test_capabilities_v11_and_v10(client, loaded):
    v11 = xml(wfs(client, request="GetCapabilities", version="1.1.0"))
    assert v11.get("version") == "1.1.0"
    assert v11.xpath("//wfs1:FeatureType/wfs1:DefaultSRS/text()", namespaces=NS)[0].endswith("9377")
    v10 = xml(wfs(client, request="GetCapabilities", version="1.0.0"))
    box = v10.xpath("//wfs1:FeatureType[wfs1:Name='dm:municipalities']", namespaces=NS)[0]
    assert float(box.find("wfs1:LatLongBoundingBox", namespaces=NS).get("minx")) < -70


def test_describe_feature_type_exact_types(client, loaded):
    root = xml(wfs(client, request="DescribeFeatureType", typeNames="dm:mining_hotspots"))
    assert not root.xpath("//xsd:include", namespaces=NS)
    elements = {
        e.get("name"): e.get("type")
        for e in root.xpath("//xsd:complexType//xsd:element", namespaces=NS)
    }
    assert elements["geom"] == "gml:MultiSurfacePropertyType"
    assert elements["detected_on"] == "xsd:date"
    assert elements["confidence"] == "xsd:double"
    assert elements["synthetic"] == "xsd:boolean"
    v10 = xml(
        wfs(client, request="DescribeFeatureType", version="1.0.0", typeName="mining_hotspots")
    )
    geom = v10.xpath("//xsd:element[@name='geom']", namespaces=NS)[0]
    assert geom.get("type") == "gml:MultiPolygonPropertyType"


def test_getfeature_gml32_native_axis_order(client, loaded):
    response = wfs(
        client,
        request="GetFeature",
        typeNames="dm:municipalities",
        count=5,
        resourceId="municipalities.W0001",
    )
    root = xml(response)
    assert root.get("numberMatched") == "1" and root.get("numberReturned") == "1"
    feature = root.xpath("//dm:municipalities", namespaces=NS)[0]
    assert feature.get("{http://www.opengis.net/gml/3.2}id") == "municipalities.W0001"
    assert feature.findtext("dm:name", namespaces=NS) == "Municipio W0001"
    surface = feature.xpath(".//gml:MultiSurface", namespaces=NS)[0]
    assert surface.get("srsName") == "urn:ogc:def:crs:EPSG::9377"
    numbers = [float(v) for v in feature.xpath(".//gml:posList/text()", namespaces=NS)[0].split()]
    # urn EPSG::9377 is northing/easting: the first number is Y.
    assert (numbers[0], numbers[1]) == (world.Y0, world.X0)


@pytest.mark.parametrize(
    ("srs", "lat_first"),
    [
        ("EPSG:4326", False),
        ("urn:ogc:def:crs:EPSG::4326", True),
        ("http://www.opengis.net/def/crs/EPSG/0/4326", True),
    ],
)
def test_srsname_axis_order(client, loaded, srs, lat_first):
    root = xml(wfs(client, request="GetFeature", resourceId="municipalities.W0001", srsName=srs))
    surface = root.xpath("//gml:MultiSurface", namespaces=NS)[0]
    assert surface.get("srsName") == srs
    numbers = [float(v) for v in root.xpath("//gml:posList/text()", namespaces=NS)[0].split()]
    lon, lat = TO_4326.transform(world.X0, world.Y0)
    first = (numbers[1], numbers[0]) if lat_first else (numbers[0], numbers[1])
    assert first == pytest.approx((lon, lat), abs=1e-6)


def test_bbox_with_crs_both_axis_orders(client, loaded):
    lon0, lat0 = TO_4326.transform(world.X0 + 500, world.Y0 + 500)
    lon1, lat1 = TO_4326.transform(world.X0 + 2500, world.Y0 + 2500)
    lonlat = hotspot_ids(client, bbox=f"{lon0},{lat0},{lon1},{lat1},EPSG:4326")
    latlon = hotspot_ids(client, bbox=f"{lat0},{lon0},{lat1},{lon1},urn:ogc:def:crs:EPSG::4326")
    expected = [str(world.hotspot_id(client.app.state.settings.database.url, "W-1"))]
    assert lonlat == expected and latlon == expected


def test_paging_count_startindex_and_next(client, loaded):
    first = xml(
        wfs(
            client,
            request="GetFeature",
            typeNames="dm:mining_hotspots",
            count=2,
            FILTER='<fes:Filter xmlns:fes="http://www.opengis.net/fes/2.0"><fes:PropertyIsEqualTo>'
            "<fes:ValueReference>source</fes:ValueReference><fes:Literal>ogc-test</fes:Literal>"
            "</fes:PropertyIsEqualTo></fes:Filter>",
        )
    )
    assert first.get("numberMatched") == "3" and first.get("numberReturned") == "2"
    next_url = first.get("next")
    assert "STARTINDEX=2" in next_url
    second = xml(client.get(next_url.replace("http://testserver", "")))
    assert second.get("numberReturned") == "1"
    ids = first.xpath("//dm:mining_hotspots/dm:source_id/text()", namespaces=NS)
    ids += second.xpath("//dm:mining_hotspots/dm:source_id/text()", namespaces=NS)
    assert ids == ["W-1", "W-2", "W-3"]
    assert second.get("next") is None


def test_hits_and_maxfeatures_v1(client, loaded):
    hits = xml(
        wfs(
            client,
            request="GetFeature",
            typeNames="dm:municipalities",
            resultType="hits",
            bbox=f"{world.X0},{world.Y0},{world.X0 + 20000},{world.Y0 + 10000},EPSG:9377",
        )
    )
    assert hits.get("numberMatched") == "2" and hits.get("numberReturned") == "0"
    v11 = xml(
        wfs(
            client,
            request="GetFeature",
            version="1.1.0",
            typeName="dm:mining_tenures",
            maxFeatures=1,
            propertyName="expediente",
            sortBy="expediente D",
            filter='<ogc:Filter xmlns:ogc="http://www.opengis.net/ogc"><ogc:PropertyIsEqualTo>'
            "<ogc:PropertyName>source</ogc:PropertyName><ogc:Literal>ogc-test</ogc:Literal>"
            "</ogc:PropertyIsEqualTo></ogc:Filter>",
        )
    )
    members = v11.xpath("//dm:mining_tenures", namespaces={"dm": NS["dm"]})
    assert len(members) == 1
    assert [c.tag.split("}")[1] for c in members[0]] == ["expediente", "geom"]
    assert members[0].findtext("dm:expediente", namespaces=NS) == "W-T2"


def test_fes_operators(client, loaded):
    def fes(body: str) -> list[str]:
        flt = (
            f'<fes:Filter xmlns:fes="http://www.opengis.net/fes/2.0" '
            f'xmlns:gml="http://www.opengis.net/gml/3.2">{body}</fes:Filter>'
        )
        root = xml(wfs(client, request="GetFeature", typeNames="dm:mining_hotspots", filter=flt))
        return sorted(root.xpath("//dm:source_id/text()", namespaces=NS))

    ref = "<fes:ValueReference>{}</fes:ValueReference>"
    assert fes(
        "<fes:PropertyIsLike wildCard='*' singleChar='.' escapeChar='!'>"
        + ref.format("category")
        + "<fes:Literal>explot*</fes:Literal></fes:PropertyIsLike>"
    ) == ["W-1"]
    assert fes(
        "<fes:And><fes:PropertyIsBetween>"
        + ref.format("detected_on")
        + "<fes:LowerBoundary><fes:Literal>2022-01-01</fes:Literal></fes:LowerBoundary>"
        "<fes:UpperBoundary><fes:Literal>2023-12-31</fes:Literal></fes:UpperBoundary>"
        "</fes:PropertyIsBetween><fes:PropertyIsEqualTo>"
        + ref.format("source")
        + "<fes:Literal>ogc-test</fes:Literal></fes:PropertyIsEqualTo></fes:And>"
    ) == ["W-2", "W-3"]
    assert fes(
        "<fes:And><fes:PropertyIsNull>" + ref.format("confidence") + "</fes:PropertyIsNull>"
        "<fes:PropertyIsEqualTo>"
        + ref.format("source")
        + "<fes:Literal>ogc-test</fes:Literal></fes:PropertyIsEqualTo></fes:And>"
    ) == ["W-3"]
    x, y = world.X0, world.Y0
    polygon = (
        '<gml:Polygon gml:id="p" srsName="EPSG:9377"><gml:exterior><gml:LinearRing><gml:posList>'
        f"{x} {y} {x + 10000} {y} {x + 10000} {y + 5000} {x} {y + 5000} {x} {y}"
        "</gml:posList></gml:LinearRing></gml:exterior></gml:Polygon>"
    )
    assert fes("<fes:Within>" + ref.format("geom") + polygon + "</fes:Within>") == ["W-1"]
    assert fes("<fes:Intersects>" + ref.format("geom") + polygon + "</fes:Intersects>") == ["W-1"]
    point = (
        f'<gml:Point gml:id="q" srsName="EPSG:9377"><gml:pos>{x + 5250} {y + 7000}</gml:pos>'
        "</gml:Point>"
    )
    assert fes(
        "<fes:DWithin>"
        + ref.format("geom")
        + point
        + '<fes:Distance uom="m">1001</fes:Distance></fes:DWithin>'
    ) == ["W-3"]
    assert fes(
        "<fes:BBOX>" + ref.format("geom") + '<gml:Envelope srsName="EPSG:9377">'
        f"<gml:lowerCorner>{x + 11000} {y + 1000}</gml:lowerCorner>"
        f"<gml:upperCorner>{x + 14000} {y + 5000}</gml:upperCorner></gml:Envelope></fes:BBOX>"
    ) == ["W-2"]
    hid = world.hotspot_id(client.app.state.settings.database.url, "W-3")
    assert fes(f'<fes:ResourceId rid="mining_hotspots.{hid}"/>') == ["W-3"]


def test_outputs_gml311_gml2_geojson(client, loaded):
    v11 = xml(
        wfs(
            client,
            request="GetFeature",
            version="1.1.0",
            typeName="dm:municipalities",
            featureId="municipalities.W0002",
            srsName="EPSG:9377",
        )
    )
    ring = v11.xpath("//gml1:posList/text()", namespaces=NS)[0].split()
    assert float(ring[0]) == world.X0 + 10000
    v10 = xml(
        wfs(
            client,
            request="GetFeature",
            version="1.0.0",
            typeName="dm:municipalities",
            featureId="municipalities.W0002",
        )
    )
    member = v10.xpath("//dm:municipalities", namespaces=NS)[0]
    assert member.get("fid") == "municipalities.W0002"
    coords = v10.xpath("//gml1:coordinates/text()", namespaces=NS)[0]
    assert coords.startswith(f"{world.X0 + 10000},{world.Y0}")
    body = json.loads(
        wfs(
            client,
            request="GetFeature",
            typeNames="dm:municipalities",
            outputFormat="application/json",
            resourceId="municipalities.W0002",
            srsName="EPSG:9377",
        ).content
    )
    assert body["numberReturned"] == 1
    assert shape(body["features"][0]["geometry"]).area == pytest.approx(1e8)


@pytest.mark.parametrize(
    ("params", "status", "code"),
    [
        ({"request": "GetFeature"}, 400, "MissingParameterValue"),
        ({"request": "Frobnicate"}, 400, "OperationNotSupported"),
        ({"request": "GetFeature", "typeNames": "dm:nada"}, 404, "NotFound"),
        (
            {"request": "GetFeature", "typeNames": "dm:municipalities", "srsName": "EPSG:2000"},
            400,
            "InvalidParameterValue",
        ),
        (
            {"request": "GetFeature", "typeNames": "dm:municipalities", "propertyName": "color"},
            400,
            "InvalidParameterValue",
        ),
        (
            {"request": "GetFeature", "typeNames": "dm:municipalities", "outputFormat": "kml"},
            400,
            "InvalidParameterValue",
        ),
    ],
)
def test_errors_are_exception_reports(client, loaded, params, status, code):
    response = wfs(client, **params)
    assert response.status_code == status
    root = xml(response)
    assert root.tag == "{http://www.opengis.net/ows/1.1}ExceptionReport"
    assert root.find("ows:Exception", namespaces=NS).get("exceptionCode") == code


def test_entities_are_refused(client, loaded):
    body = (
        b'<?xml version="1.0"?><!DOCTYPE x [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
        b'<wfs:GetFeature xmlns:wfs="http://www.opengis.net/wfs/2.0" service="WFS" '
        b'version="2.0.0"><wfs:Query typeNames="dm:municipalities"/></wfs:GetFeature>'
    )
    response = client.post("/wfs", content=body, headers={"content-type": "text/xml"})
    assert response.status_code == 400
    assert b"DOCTYPE" in response.content and b"root:" not in response.content


def test_getfeature_xml_post_with_sort_and_filter(client, loaded):
    body = (
        '<wfs:GetFeature xmlns:wfs="http://www.opengis.net/wfs/2.0" '
        'xmlns:fes="http://www.opengis.net/fes/2.0" service="WFS" version="2.0.0" count="2">'
        '<wfs:Query typeNames="dm:mining_hotspots" srsName="EPSG:4326">'
        "<fes:Filter><fes:PropertyIsEqualTo><fes:ValueReference>source</fes:ValueReference>"
        "<fes:Literal>ogc-test</fes:Literal></fes:PropertyIsEqualTo></fes:Filter>"
        "<fes:SortBy><fes:SortProperty><fes:ValueReference>detected_on</fes:ValueReference>"
        "<fes:SortOrder>DESC</fes:SortOrder></fes:SortProperty></fes:SortBy>"
        "</wfs:Query></wfs:GetFeature>"
    )
    root = xml(client.post("/wfs", content=body, headers={"content-type": "text/xml"}))
    assert root.xpath("//dm:source_id/text()", namespaces=NS) == ["W-3", "W-2"]
