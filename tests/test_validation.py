"""Boundary validation on a real PostGIS: every finding with exact hectares and geometries.

The world is tests/district_world.py (km rectangles in EPSG:9377; 1 km² = 100 ha).
"""

from __future__ import annotations

from dataclasses import dataclass

import psycopg
import pytest
from pyproj import Transformer
from shapely.geometry import box as shapely_box
from shapely.geometry import shape

from tests import district_world as w

TO_4326 = Transformer.from_crs(9377, 4326, always_xy=True)


@dataclass(frozen=True)
class Analyst:
    username: str = "tdm-ana"
    roles: frozenset[str] = frozenset({"analyst", "coordinator"})


def rect(x0: float, y0: float, x1: float, y1: float):
    """A shapely rectangle (EPSG:9377) from km offsets."""
    return shapely_box(w.X0 + x0 * w.KM, w.Y0 + y0 * w.KM, w.X0 + x1 * w.KM, w.Y0 + y1 * w.KM)


def area_ha(geojson: dict) -> float:
    return shape(geojson).area / 10_000


@pytest.fixture(scope="module")
def conn(database_url):
    with psycopg.connect(database_url, autocommit=True) as connection:
        yield connection


@pytest.fixture(scope="module")
def world(conn):
    units = w.load(conn)
    yield units
    w.unload(conn)


def run(conn, geometry, **kwargs):
    from delimitation.validation import validate

    return validate(conn, geometry, out_srid=9377, **kwargs)


def by_code(report, code: str) -> list:
    return [f for f in report.findings if f.code == code]


def test_boundary_b_report_every_overlay(conn, world):
    """B = [0,16]x[0,20] km: 32 000 ha touching every reference layer of the world."""
    report = run(conn, rect(0, 0, 16, 20))
    assert report.area_ha == pytest.approx(32_000)
    assert report.valid  # only warnings
    assert {f.code for f in report.findings} == {
        "watershed_cut",
        "hotspot_partly_outside",
        "tenure_partly_outside",
        "exclusion_zone_inside",
        "ethnic_territory_inside",
    }
    assert all(f.severity == "warning" for f in report.findings)
    assert all(f.message and f.message[0].isupper() for f in report.findings)


def test_watershed_integrity_cut_units_and_snap(conn, world):
    report = run(conn, rect(0, 0, 16, 20), hydro_system="pomca", hydro_level=1)
    shed = report.watershed
    assert shed["system"] == "pomca" and shed["level"] == 1
    fractions = {u["code"]: u["fraction"] for u in shed["units"]}
    assert fractions == {"TU11": 1.0, "TU12": 1.0, "TU21": 0.6, "TU22": 0.6}
    # Integrity: whole units (>= 95 %) over the boundary area: 20 000 / 32 000.
    assert shed["integrity"] == pytest.approx(0.625)
    (finding,) = by_code(report, "watershed_cut")
    assert [u["code"] for u in finding.figures["units"]] == ["TU21", "TU22"]
    assert finding.figures["units"][0]["inside_ha"] == pytest.approx(6_000)
    assert "TU21 (60,0 %)" in finding.message
    # Snap: units more than half inside = the 20 km square [0,20]x[0,20].
    assert sorted(finding.figures["snap_unit_ids"]) == sorted(
        world[c] for c in ("TU11", "TU12", "TU21", "TU22")
    )
    assert finding.figures["snap_area_ha"] == pytest.approx(40_000)
    snapped = shape(finding.geometry)
    assert snapped.symmetric_difference(rect(0, 0, 20, 20)).area == pytest.approx(0, abs=1e-3)


def test_watershed_units_under_5_percent_are_not_cut(conn, world):
    report = run(conn, rect(0, 0, 10.4, 10))
    units = {u["code"]: u for u in report.watershed["units"]}
    assert units["TU21"]["fraction"] == pytest.approx(0.04)
    assert units["TU21"]["cut"] is False
    assert not by_code(report, "watershed_cut")
    assert report.watershed["integrity"] == pytest.approx(10_000 / 10_400)
    # TU21 is 4 % inside: not in the snap; the snap is TU11 alone.
    assert report.watershed["snap"]["unit_ids"] == [world["TU11"]]
    assert report.watershed["snap"]["area_ha"] == pytest.approx(10_000)


def test_hotspots_and_tenures_left_partly_outside(conn, world):
    report = run(conn, rect(0, 0, 16, 20))
    (hotspot,) = by_code(report, "hotspot_partly_outside")
    assert hotspot.figures["source_id"] == "H-CUT"  # H-IN is whole inside, H-FAR untouched
    assert hotspot.figures["inside_ha"] == pytest.approx(400)
    assert hotspot.figures["outside_ha"] == pytest.approx(400)
    outside = shape(hotspot.geometry)
    assert outside.symmetric_difference(rect(16, 1, 18, 3)).area == pytest.approx(0, abs=1e-3)
    assert "H-CUT" in hotspot.message and "400,00 ha fuera" in hotspot.message
    (tenure,) = by_code(report, "tenure_partly_outside")
    assert tenure.figures["expediente"] == "T-CUT"
    assert tenure.figures["inside_ha"] == pytest.approx(1_600)
    assert tenure.figures["outside_ha"] == pytest.approx(1_600)
    assert area_ha(tenure.geometry) == pytest.approx(1_600)


def test_exclusion_zones_and_ethnic_territories_inside(conn, world):
    report = run(conn, rect(0, 0, 16, 20))
    zones = {f.figures["name"]: f for f in by_code(report, "exclusion_zone_inside")}
    assert set(zones) == {"P-PARK", "P-EDGE"}  # P-LEY2 does not exclude mining
    assert zones["P-PARK"].figures["inside_ha"] == pytest.approx(1_600)
    assert zones["P-EDGE"].figures["inside_ha"] == pytest.approx(400)
    assert shape(zones["P-EDGE"].geometry).symmetric_difference(
        rect(14, 8, 16, 10)
    ).area == pytest.approx(0, abs=1e-3)
    (ethnic,) = by_code(report, "ethnic_territory_inside")
    assert ethnic.figures["source_id"] == "E-RES"
    assert ethnic.figures["inside_ha"] == pytest.approx(800)
    assert ethnic.figures["consulta_previa"] is True
    assert "consulta previa" in ethnic.message


def test_municipality_sliver(conn, world):
    """[35,40.2]x[0,20] touches Z2001 by 0.2 km x 20 km = 400 ha of 80 000 ha (0.5 %)."""
    report = run(conn, rect(35, 0, 40.2, 20))
    (sliver,) = by_code(report, "municipality_sliver")
    assert sliver.figures["code"] == "Z2001"
    assert sliver.figures["inside_ha"] == pytest.approx(400)
    assert sliver.figures["percent"] == pytest.approx(0.5)
    assert sliver.figures["district_percent"] == pytest.approx(400 / 10_400 * 100, abs=1e-4)
    assert "0,50 %" in sliver.message
    # Z1002 is half covered: not a sliver. No hydro units there: integrity not assessed.
    assert by_code(report, "reference_missing")[0].figures == {"layer": "hydro_units"}


def test_outside_colombia(conn, world):
    report = run(conn, rect(-2, 0, 8, 10))
    (outside,) = by_code(report, "outside_colombia")
    assert outside.severity == "error"
    assert outside.figures["outside_ha"] == pytest.approx(2_000)
    assert shape(outside.geometry).symmetric_difference(rect(-2, 0, 0, 10)).area == pytest.approx(
        0, abs=1e-3
    )
    assert not report.valid


def test_area_bounds(conn, world):
    from delimitation.validation import ValidationRules

    small = run(conn, rect(1, 1, 1.05, 1.05))
    (finding,) = by_code(small, "area_too_small")
    assert finding.figures["area_ha"] == pytest.approx(0.25)
    assert finding.severity == "error"
    large = run(conn, rect(0, 0, 16, 20), rules=ValidationRules(max_area_ha=30_000))
    (finding,) = by_code(large, "area_too_large")
    assert finding.figures == {"area_ha": 32_000.0, "min_ha": 100.0, "max_ha": 30_000}
    assert "32.000,00 ha" in finding.message


def test_invalid_geometry_reason_and_location(conn, world):
    from shapely.geometry import Polygon

    a, b = w.X0, w.Y0
    bowtie = Polygon([(a, b), (a + 10_000, b + 10_000), (a + 10_000, b), (a, b + 10_000)])
    report = run(conn, bowtie)
    (finding,) = report.findings  # nothing else is computed on a broken geometry
    assert finding.code == "invalid_geometry"
    assert finding.figures["reason"] == "Self-intersection"
    assert finding.geometry["type"] == "Point"
    assert finding.geometry["coordinates"] == pytest.approx([a + 5_000, b + 5_000])


def test_not_polygonal_and_empty(conn, world):
    from shapely.geometry import LineString, MultiPolygon

    line = run(conn, LineString([(w.X0, w.Y0), (w.X0 + 1000, w.Y0)]))
    assert [(f.code, f.severity) for f in line.findings] == [("not_polygonal", "error")]
    assert line.findings[0].figures == {"geometry_type": "LineString"}
    empty = run(conn, MultiPolygon())
    assert [f.code for f in empty.findings] == ["empty"]


def test_overlaps_another_active_district(conn, world):
    from delimitation import districts, lifecycle

    user = Analyst()
    with conn.transaction():
        districts.create(
            conn,
            code="tdm-vecino",
            name="Vecino",
            type_="vida_y_paz",
            geometry=rect(50, 0, 60, 10),
            user=user,
        )
    # A draft is a sketch: no overlap yet.
    assert not by_code(run(conn, rect(55, 5, 65, 15)), "overlaps_district")
    with conn.transaction():
        lifecycle.transition(conn, "tdm-vecino", "proposed", user, None)
    report = run(conn, rect(55, 5, 65, 15))
    (overlap,) = by_code(report, "overlaps_district")
    assert overlap.severity == "error"
    assert overlap.figures["district"] == "tdm-vecino"
    assert overlap.figures["overlap_ha"] == pytest.approx(2_500)
    assert shape(overlap.geometry).symmetric_difference(rect(55, 5, 60, 10)).area == pytest.approx(
        0, abs=1e-3
    )
    # The district itself is not an overlap of its own new boundary.
    own = run(conn, rect(55, 5, 65, 15), district_code="tdm-vecino")
    assert not by_code(own, "overlaps_district")
    w.purge_districts(conn)


def test_validate_endpoint_in_4326(client, world):
    ring = [TO_4326.transform(*xy) for xy in rect(0, 0, 16, 20).exterior.coords]
    body = client.post(
        "/api/v1/validate",
        json={"geometry": {"type": "Polygon", "coordinates": [ring]}, "hydro_system": "pomca"},
    ).json()
    assert body["valid"] is True
    # Reprojected on the way in: the area is the 9377 one within a few m² of straight edges.
    assert body["area_ha"] == pytest.approx(32_000, rel=1e-4)
    hotspot = next(f for f in body["findings"] if f["code"] == "hotspot_partly_outside")
    assert hotspot["figures"]["outside_ha"] == pytest.approx(400, rel=1e-3)
    lon, lat = hotspot["geometry"]["coordinates"][0][0][0]
    assert -70 < lon < -68 and 0 < lat < 1  # GeoJSON out in EPSG:4326
    assert body["watershed"]["integrity"] == pytest.approx(0.625, rel=1e-3)


def test_validate_endpoint_9377_and_input_errors(client, world):
    body = client.post(
        "/api/v1/validate?crs=EPSG:9377",
        json={"geometry": w.polygon(-2, 0, 8, 10), "crs": "EPSG:9377"},
    ).json()
    assert body["valid"] is False
    outside = next(f for f in body["findings"] if f["code"] == "outside_colombia")
    assert outside["figures"]["outside_ha"] == pytest.approx(2_000)
    assert area_ha(outside["geometry"]) == pytest.approx(2_000)
    nan = client.post(
        "/api/v1/validate",
        content=b'{"geometry": {"type": "Point", "coordinates": [NaN, 4.0]}}',
        headers={"content-type": "application/json"},
    )
    assert nan.status_code == 400
    assert "no finita" in nan.json()["detail"] and "coordinates[0]" in nan.json()["detail"]
    line = client.post(
        "/api/v1/validate",
        json={"geometry": {"type": "LineString", "coordinates": [[-70, 1], [-69.9, 1]]}},
    ).json()
    assert [f["code"] for f in line["findings"]] == ["not_polygonal"]
