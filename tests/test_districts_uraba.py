"""A district on the Urabá sample (real DANE municipalities, POMCA basins, RUNAP, ANT, ANM).

The boundary is the union of the seven gold-mining municipalities of the Río Sucio and Río
León basins; every figure of the validation is checked against an independent PostGIS query.
"""

from __future__ import annotations

from pathlib import Path

import psycopg
import pytest
from shapely import wkb

SAMPLES = Path(__file__).resolve().parent.parent / "data" / "samples"
MUNICIPALITIES = ["05234", "05284", "05842", "05138", "05004", "05480", "05172"]
IMPORTS = [
    ("departments", "national/dane_mgn2018.gpkg", {"source_layer": "departamentos"}),
    ("municipalities", "national/dane_mgn2018.gpkg", {"source_layer": "municipios"}),
    ("hydro_units", "uraba/pomcas.geojson", {"system": "pomca"}),
    ("protected_areas", "uraba/areas_protegidas_oficial.geojson", {}),
    ("protected_areas", "uraba/ley_segunda.geojson", {}),
    ("ethnic_territories", "uraba/resguardos_oficial.geojson", {}),
    ("ethnic_territories", "uraba/comunidades_negras_oficial.geojson", {"skip_rejected": True}),
    ("mining_tenures", "uraba/titulos_mineros.geojson", {}),
    ("mining_hotspots", "uraba/hotspots_sinteticos.geojson", {}),
]
TABLES = {
    "departments": "layers_department",
    "municipalities": "layers_municipality",
    "hydro_units": "hydrology_hydrounit",
    "protected_areas": "layers_protectedarea",
    "ethnic_territories": "layers_ethnicterritory",
    "mining_tenures": "layers_miningtenure",
    "mining_hotspots": "layers_mininghotspot",
}


@pytest.fixture(scope="module")
def conn(database_url):
    with psycopg.connect(database_url, autocommit=True) as connection:
        yield connection


@pytest.fixture(scope="module")
def uraba(conn):
    importer = pytest.importorskip("layers.importer")
    batches: dict[str, list[int]] = {}
    for layer, path, options in IMPORTS:
        summary = importer.run_import(layer, SAMPLES / path, **options)
        batches.setdefault(layer, []).append(summary.batch_id)
    boundary = conn.execute(
        "SELECT ST_AsBinary(ST_Union(geom)) FROM layers_municipality WHERE code = ANY(%s)",
        [MUNICIPALITIES],
    ).fetchone()[0]
    yield wkb.loads(bytes(boundary))
    # Leave the shared test database as we found it.
    conn.execute("UPDATE hydrology_hydrounit SET next_down_id = NULL, parent_id = NULL "
                 "WHERE batch_id = ANY(%s)", [batches["hydro_units"]])  # fmt: skip
    for layer, ids in batches.items():
        conn.execute(f"DELETE FROM {TABLES[layer]} WHERE batch_id = ANY(%s)", [ids])


def test_uraba_gold_municipalities_validation(conn, uraba):
    from delimitation.validation import validate

    report = validate(conn, uraba, hydro_system="pomca", out_srid=9377)
    g = {"g": wkb.dumps(uraba)}
    area = conn.execute(
        "SELECT ST_Area(ST_SetSRID(ST_GeomFromWKB(%(g)s), 9377)) / 1e4", g
    ).fetchone()[0]
    assert report.area_ha == pytest.approx(area)
    assert 550_000 < report.area_ha < 650_000  # official areas add up to ~577 700 ha
    assert not [f for f in report.findings if f.code == "outside_colombia"]
    # Watershed integrity recomputed independently, unit by unit.
    units = conn.execute(
        """
        WITH b AS (SELECT ST_SetSRID(ST_GeomFromWKB(%(g)s), 9377) AS geom)
        SELECT u.id, ST_Area(ST_Intersection(u.geom, b.geom)) / ST_Area(u.geom),
               ST_Area(ST_Intersection(u.geom, b.geom)) / 1e4
        FROM hydrology_hydrounit u, b
        WHERE u.system = 'pomca' AND ST_Intersects(u.geom, b.geom)
        """,
        g,
    ).fetchall()
    assert units, "the POMCA sample covers these municipalities"
    whole = sum(ha for _, fraction, ha in units if fraction >= 0.95)
    assert report.watershed["integrity"] == pytest.approx(whole / area, abs=1e-6)
    assert sorted(report.watershed["snap"]["unit_ids"]) == sorted(
        uid for uid, fraction, _ in units if fraction > 0.5
    )
    cut = [f for f in report.findings if f.code == "watershed_cut"]
    expected_cut = sorted(uid for uid, fraction, _ in units if 0.05 < fraction < 0.95)
    assert sorted(u["id"] for u in (cut[0].figures["units"] if cut else [])) == expected_cut
    # Ethnic territories inside (Emberá resguardos of Dabeiba and Frontino among them).
    ethnic = {
        row[0]: row[1]
        for row in conn.execute(
            """
            WITH b AS (SELECT ST_SetSRID(ST_GeomFromWKB(%(g)s), 9377) AS geom)
            SELECT t.id, ST_Area(ST_Intersection(t.geom, b.geom)) / 1e4
            FROM layers_ethnicterritory t, b WHERE ST_Intersects(t.geom, b.geom)
            """,
            g,
        ).fetchall()
        if row[1] >= 0.0001
    }
    found = {
        f.figures["id"]: f.figures["inside_ha"]
        for f in report.findings
        if f.code == "ethnic_territory_inside"
    }
    assert found.keys() == ethnic.keys() and ethnic
    for key, ha in ethnic.items():
        assert found[key] == pytest.approx(ha, abs=1e-3)
    assert all(
        f.figures["consulta_previa"] for f in report.findings if f.code == "ethnic_territory_inside"
    )
    # Hotspots and titles straddling the boundary, recomputed independently.
    for table, code in (
        ("layers_mininghotspot", "hotspot_partly_outside"),
        ("layers_miningtenure", "tenure_partly_outside"),
    ):
        straddling = {
            row[0]: row[1]
            for row in conn.execute(
                f"""
                WITH b AS (SELECT ST_SetSRID(ST_GeomFromWKB(%(g)s), 9377) AS geom)
                SELECT t.id, ST_Area(ST_Difference(t.geom, b.geom)) / 1e4,
                       ST_Area(ST_Intersection(t.geom, b.geom)) / 1e4
                FROM {table} t, b WHERE ST_Intersects(t.geom, b.geom)
                """,
                g,
            ).fetchall()
            if row[1] >= 0.0001 and row[2] >= 0.0001
        }
        found = {
            f.figures["id"]: f.figures["outside_ha"] for f in report.findings if f.code == code
        }
        assert found.keys() == straddling.keys(), code
        for key, ha in straddling.items():
            assert found[key] == pytest.approx(ha, abs=1e-3)
    # Neighbouring municipalities share edges exactly: any sliver is under 1 %.
    assert all(f.figures["percent"] < 1 for f in report.findings if f.code == "municipality_sliver")


def test_uraba_snapped_boundary_is_whole_watersheds(conn, uraba):
    from shapely.geometry import shape

    from delimitation.validation import validate

    first = validate(conn, uraba, hydro_system="pomca", out_srid=9377)
    snapped = shape(first.watershed["snap"]["geometry"])
    report = validate(conn, snapped, hydro_system="pomca", out_srid=9377)
    assert report.area_ha == pytest.approx(first.watershed["snap"]["area_ha"], rel=1e-6)
    # A union of whole units: integrity 1 up to the units' own overlaps, nothing cut.
    assert report.watershed["integrity"] > 0.99
    assert not [f for f in report.findings if f.code == "watershed_cut"]
