"""Client GeoJSON parsing (geo/geojson_input.py): CRS, reprojection and refusals that say where."""

from __future__ import annotations

import math

import pytest
from pyproj import Transformer

from geo.errors import InvalidInput
from geo.geojson_input import parse_geojson

SQUARE_9377 = {
    "type": "Polygon",
    "coordinates": [
        [[5_000_000, 2_000_000], [5_001_000, 2_000_000], [5_001_000, 2_001_000],
         [5_000_000, 2_001_000], [5_000_000, 2_000_000]]
    ],
}  # fmt: skip


def test_9377_kept_and_4326_reprojected():
    parsed = parse_geojson(SQUARE_9377, "EPSG:9377")
    assert parsed.source_srid == 9377 and parsed.vertices == 5
    assert parsed.geometry.area == pytest.approx(1e6)
    to = Transformer.from_crs(9377, 4326, always_xy=True)
    ring = [list(to.transform(x, y)) for x, y in SQUARE_9377["coordinates"][0]]
    back = parse_geojson({"type": "Polygon", "coordinates": [ring]})
    assert back.source_srid == 4326
    assert back.geometry.area == pytest.approx(1e6, rel=1e-6)
    assert back.geometry.bounds[0] == pytest.approx(5_000_000, abs=1e-3)


def test_legacy_crs_member_and_feature_collection():
    collection = {
        "type": "FeatureCollection",
        "crs": {"type": "name", "properties": {"name": "urn:ogc:def:crs:EPSG::9377"}},
        "features": [{"type": "Feature", "geometry": SQUARE_9377, "properties": {}}] * 2,
    }
    parsed = parse_geojson(collection)
    assert parsed.source_srid == 9377
    assert parsed.geometry.geom_type == "MultiPolygon" and len(parsed.geometry.geoms) == 2


@pytest.mark.parametrize(
    ("obj", "kwargs", "fragment", "where"),
    [
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, math.nan], [1, 1], [0, 0]]]}, {},
         "no finita", "coordinates[0][1][1]"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, math.inf], [1, 1], [0, 0]]]}, {},
         "no finita", "coordinates[0][1][1]"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [1, 1], [0, 1]]]}, {},
         "Anillo no cerrado", "coordinates[0]"),
        ({"type": "Polygon", "coordinates": [[[0, 0], [1, 0], [0, 0]]]}, {},
         "al menos 4", "coordinates[0]"),
        ({"type": "Polygn", "coordinates": []}, {}, "Tipo GeoJSON desconocido", "type"),
        ({"type": "Polygon", "coordinates": [[[0, "a"], [1, 0], [1, 1], [0, 0]]]}, {},
         "no numérica", "coordinates[0][0][1]"),
        ({"type": "MultiPolygon", "coordinates": []}, {}, "vacía", "geometry"),
        ({"type": "Point", "coordinates": [-74, 4]}, {"polygonal_only": True},
         "Se esperaba un Polygon", "geometry.type"),
        (SQUARE_9377, {"max_vertices": 4, "crs": 9377}, "más de 4 vértices",
         "coordinates[0][4]"),
        (SQUARE_9377, {}, "fuera de rango para EPSG:4326", "crs"),
        (SQUARE_9377, {"crs": "EPSG:2000"}, "CRS no soportado", "crs"),
        ({"type": "Feature", "geometry": None}, {}, "no tiene geometría", "geometry"),
    ],
)  # fmt: skip
def test_refusals_say_what_and_where(obj, kwargs, fragment, where):
    with pytest.raises(InvalidInput) as caught:
        parse_geojson(obj, **kwargs)
    assert fragment in caught.value.detail
    assert caught.value.where == where


def test_heights_are_dropped():
    parsed = parse_geojson(
        {
            "type": "Polygon",
            "coordinates": [[[x, y, 1500.0] for x, y in SQUARE_9377["coordinates"][0]]],
        },
        9377,
    )
    assert not parsed.geometry.has_z
