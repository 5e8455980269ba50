"""GDAL (Debian gdal-bin) against a live server: WFS 1.1/2.0 and OAPIF reads, WFS-T round trip."""

from __future__ import annotations

import json
import re
import shutil
import subprocess

import psycopg
import pytest
from shapely import wkt
from shapely.geometry import shape

from layers import queries
from layers.registry import ANONYMOUS, all_layers
from tests import ogc_world as world

pytestmark = pytest.mark.skipif(not shutil.which("ogrinfo"), reason="gdal-bin no instalado")
CREDENTIALS = ["--config", "GDAL_HTTP_AUTH", "BASIC"]
CREDENTIALS += ["--config", "GDAL_HTTP_USERPWD", f"{world.ANALYST}:{world.PASSWORD}"]


@pytest.fixture(scope="module")
def server(live_server, database_url):
    world.load(database_url)
    world.users()
    yield live_server
    with psycopg.connect(database_url, autocommit=True) as conn:
        world.clear(conn)


def run(*args: str) -> str:
    done = subprocess.run(args, capture_output=True, text=True, timeout=180)
    assert done.returncode == 0, done.stderr + done.stdout
    return done.stdout


def public_counts(url: str) -> dict[str, int]:
    """What an anonymous reader may see of each layer, counted by the database."""
    counts = {}
    with psycopg.connect(url) as conn:
        for layer in all_layers():
            if layer.readable_by({ANONYMOUS}):
                query = queries.FeatureQuery(layer=layer, public_only=True)
                counts[layer.name] = queries.count_features(conn, query)
    return counts


def ogr_counts(output: str) -> dict[str, int]:
    names = re.findall(r"^Layer name: (?:dm:)?(\S+)", output, re.M)
    counts = [int(c) for c in re.findall(r"^Feature Count: (-?\d+)", output, re.M)]
    return dict(zip(names, counts, strict=True))


@pytest.mark.parametrize("version", ["2.0.0", "1.1.0"])
def test_wfs_driver_reads_every_layer(server, database_url, version):
    output = run("ogrinfo", "-ro", "-so", "-al", f"WFS:{server}/wfs?version={version}")
    assert ogr_counts(output) == public_counts(database_url)


def test_oapif_driver_reads_every_layer(server, database_url):
    output = run("ogrinfo", "-ro", "-so", "-al", f"OAPIF:{server}/ogc")
    assert ogr_counts(output) == public_counts(database_url)


def _feature(output: str) -> tuple[dict[str, str], str]:
    attrs = dict(re.findall(r"^\s+(\w+) \(\w+(?:\(\w+\))?\) = (.*)$", output, re.M))
    geometry = re.search(r"^\s+((?:MULTI)?(?:SURFACE|POLYGON) \(.*\))$", output, re.M).group(1)
    return attrs, geometry.replace("MULTISURFACE", "MULTIPOLYGON")


@pytest.mark.parametrize("version", ["2.0.0", "1.1.0"])
def test_wfs_feature_attributes_and_coordinates(server, database_url, version):
    output = run(
        "ogrinfo",
        "-ro",
        f"WFS:{server}/wfs?version={version}",
        "dm:mining_hotspots",
        "-where",
        "source_id = 'W-2'",
    )
    attrs, geometry = _feature(output)
    with psycopg.connect(database_url) as conn:
        category, date, area, conf, db_wkt = conn.execute(
            "SELECT category, detected_on::text, area_ha, confidence, ST_AsText(geom) "
            "FROM layers_mininghotspot WHERE source_id = 'W-2'"
        ).fetchone()
    assert attrs["category"] == category
    assert attrs["detected_on"] == date.replace("-", "/")
    assert float(attrs["area_ha"]) == pytest.approx(area)
    assert float(attrs["confidence"]) == conf
    assert wkt.loads(geometry).equals_exact(wkt.loads(db_wkt), 0.01)


def test_oapif_feature_coordinates_in_crs84(server, database_url):
    output = run(
        "ogrinfo", "-ro", f"OAPIF:{server}/ogc", "municipalities", "-where", "code = 'W0002'"
    )
    attrs, geometry = _feature(output)
    assert attrs["name"] == "Municipio W0002"
    with psycopg.connect(database_url) as conn:
        db_wkt = conn.execute(
            "SELECT ST_AsText(ST_Transform(geom, 4326)) FROM layers_municipality "
            "WHERE code = 'W0002'"
        ).fetchone()[0]
    assert wkt.loads(geometry).equals_exact(wkt.loads(db_wkt), 1e-6)


UPDATE_SCRIPT = """
import sys
from osgeo import gdal, ogr
gdal.SetConfigOption("GDAL_HTTP_AUTH", "BASIC")
gdal.SetConfigOption("GDAL_HTTP_USERPWD", sys.argv[2])
ds = ogr.Open("WFS:" + sys.argv[1] + "/wfs?version=1.1.0", update=1)
layer = ds.GetLayerByName("dm:mining_hotspots")
layer.SetAttributeFilter("source_id = 'wfst-gdal'")
feature = layer.GetNextFeature()
feature.SetField("confidence", 0.33)
assert layer.SetFeature(feature) == 0, gdal.GetLastErrorMsg()
print("ok")
"""


def test_ogr2ogr_wfst_insert_update_delete(server, database_url, tmp_path):
    x, y = world.X0 + 7000, world.Y0 + 7000
    source = tmp_path / "nuevo.geojson"
    ring = [[x, y], [x + 300, y], [x + 300, y + 300], [x, y + 300], [x, y]]
    source.write_text(
        json.dumps(
            {
                "type": "FeatureCollection",
                "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::9377"}},
                "features": [
                    {
                        "type": "Feature",
                        "properties": {"source_id": "wfst-gdal", "category": "con_permisos"},
                        "geometry": {"type": "Polygon", "coordinates": [ring]},
                    }
                ],
            }
        )
    )
    url = f"WFS:{server}/wfs?version=1.1.0"
    run(
        "ogr2ogr",
        *CREDENTIALS,
        "-update",
        "-append",
        url,
        str(source),
        "-nln",
        "dm:mining_hotspots",
    )
    with psycopg.connect(database_url) as conn:
        stored = conn.execute(
            "SELECT category, area_ha, ST_AsGeoJSON(geom) FROM layers_mininghotspot "
            "WHERE source_id = 'wfst-gdal'"
        ).fetchone()
    assert stored[0] == "con_permisos" and stored[1] == pytest.approx(9.0)
    assert shape(json.loads(stored[2])).equals_exact(
        shape({"type": "MultiPolygon", "coordinates": [[ring]]}), 0.01
    )
    update = subprocess.run(
        ["/usr/bin/python3", "-c", UPDATE_SCRIPT, server, f"{world.ANALYST}:{world.PASSWORD}"],
        capture_output=True,
        text=True,
        timeout=120,
    )
    assert update.returncode == 0, update.stderr
    with psycopg.connect(database_url) as conn:
        assert conn.execute(
            "SELECT confidence FROM layers_mininghotspot WHERE source_id = 'wfst-gdal'"
        ).fetchone() == (0.33,)
    run(
        "ogrinfo",
        *CREDENTIALS,
        url,
        "-sql",
        "DELETE FROM dm:mining_hotspots WHERE source_id = 'wfst-gdal'",
    )
    with psycopg.connect(database_url) as conn:
        assert not conn.execute(
            "SELECT 1 FROM layers_mininghotspot WHERE source_id = 'wfst-gdal'"
        ).fetchone()
