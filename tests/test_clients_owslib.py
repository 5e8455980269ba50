"""OWSLib against a live server: capabilities, schema, FES-filtered GetFeature, paging."""

from __future__ import annotations

import psycopg
import pytest
from lxml import etree
from owslib.fes2 import PropertyIsEqualTo, PropertyIsGreaterThanOrEqualTo
from owslib.wfs import WebFeatureService

from tests import ogc_world as world

NS = {
    "dm": "https://distritosmineros.minenergia.gov.co/dm",
    "wfs": "http://www.opengis.net/wfs/2.0",
}


@pytest.fixture(scope="module")
def wfs(live_server, database_url):
    world.load(database_url)
    world.users()
    yield WebFeatureService(f"{live_server}/wfs", version="2.0.0", timeout=60)
    with psycopg.connect(database_url, autocommit=True) as conn:
        world.clear(conn)


def _filter(*conditions) -> str:
    from owslib.fes2 import And, Filter

    root = Filter(conditions[0] if len(conditions) == 1 else And(list(conditions))).toXML()
    return etree.tostring(root).decode()


def test_capabilities(wfs):
    assert wfs.identification.title == "Distritos Mineros - Servicio WFS"
    assert {"dm:municipalities", "dm:mining_hotspots"} <= set(wfs.contents)
    hot = wfs.contents["dm:mining_hotspots"]
    assert hot.title == "Focos de minería no autorizada"
    assert "urn:ogc:def:crs:EPSG::9377" in [c.getcodeurn() for c in hot.crsOptions]
    assert {op.name for op in wfs.operations} >= {"GetCapabilities", "GetFeature"}


def test_describe_feature_type(wfs):
    schema = wfs.get_schema("dm:mining_hotspots")
    assert schema["geometry"].endswith("MultiPolygon")  # OWSLib names MultiSurface so
    assert schema["properties"]["detected_on"] == "date"
    assert schema["properties"]["confidence"] == "double"


def test_getfeature_with_fes_filter(wfs):
    flt = _filter(
        PropertyIsEqualTo("source", "ogc-test"),
        PropertyIsGreaterThanOrEqualTo("confidence", "0.6"),
    )
    response = wfs.getfeature(typename=["dm:mining_hotspots"], filter=flt)
    root = etree.fromstring(response.read())
    assert root.xpath("//dm:source_id/text()", namespaces=NS) == ["W-1"]


def test_paging_with_startindex(wfs):
    flt = _filter(PropertyIsEqualTo("source", "ogc-test"))
    seen = []
    for start in (0, 2):
        response = wfs.getfeature(
            typename=["dm:mining_hotspots"], filter=flt, maxfeatures=2, startindex=start
        )
        root = etree.fromstring(response.read())
        assert root.get("numberMatched") == "3"
        seen += root.xpath("//dm:source_id/text()", namespaces=NS)
    assert seen == ["W-1", "W-2", "W-3"]
