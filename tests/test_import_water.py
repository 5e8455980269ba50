"""Rivers (lines) and water intakes (points) through `distritos import`: schemas, natural keys,
rejections naming the row, municipality codes, and fresh water metrics afterwards."""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pytest
import shapely
from pyproj import Transformer

from geo.errors import DomainError
from tests.import_files import (
    counts,
    feature,
    forget_imports_since,
    last_batch,
    polygon,
    square,
    write_geojson,
)

TO_9377 = Transformer.from_crs(4326, 9377, always_xy=True)


@pytest.fixture
def clean(db):
    """Remove whatever the test imported."""
    start = last_batch(db)
    yield
    forget_imports_since(db, start)


@pytest.fixture
def caucasia(db):
    """Municipality 05154 (Caucasia) present for the intake tests; removed if we added it."""
    added = db.execute(
        "INSERT INTO layers_municipality (code, name, department_id, legal_act, area_ha, geom) "
        "VALUES ('05154', 'CAUCASIA', '05', '', 1, ST_Multi(ST_Buffer("
        "ST_Transform(ST_SetSRID(ST_Point(-75.2, 7.98), 4326), 9377), 1000))) "
        "ON CONFLICT (code) DO NOTHING RETURNING code"
    ).fetchone()
    yield
    if added:
        db.execute("DELETE FROM layers_municipality WHERE code = '05154'")


def line(*points: tuple[float, float]) -> dict:
    return {"type": "LineString", "coordinates": [list(p) for p in points]}


def length_km_9377(geometry: dict) -> float:
    """Shapely's length of a lon/lat GeoJSON geometry in EPSG:9377, in km."""
    shape = shapely.geometry.shape(geometry)
    projected = shapely.transform(shape, lambda c: np.column_stack(TO_9377.transform(*c.T)))
    return projected.length / 1000


def refused(db, call, *fragments: str) -> str:
    from layers.importer import run_import

    before = counts(db)
    with pytest.raises(DomainError) as caught:
        call(run_import)
    message = caught.value.detail
    for fragment in fragments:
        assert fragment in message, message
    assert counts(db) == before
    return message


RIO_SUCIO = line((-75.60, 6.20), (-75.58, 6.21), (-75.55, 6.25))
LA_HONDA = {
    "type": "MultiLineString",
    "coordinates": [[[-75.50, 6.20], [-75.49, 6.22]], [[-75.49, 6.22], [-75.48, 6.24]]],
}


def ideam_rivers(tmp_path, orders=(4, 2), name="drenaje.geojson"):
    return write_geojson(
        tmp_path / name,
        [
            feature({"NOMBRE_GEO": "Río Sucio", "ORDEN": orders[0]}, RIO_SUCIO),
            feature({"NOMBRE_GEO": "Quebrada La Honda", "ORDEN": orders[1]}, LA_HONDA),
        ],
    )


def test_ideam_drainage_is_stored_as_multilines_with_length_in_9377(db, tmp_path, clean):
    from layers.importer import run_import

    path = ideam_rivers(tmp_path)
    summary = run_import("rivers", path)
    assert (summary.read, summary.inserted, summary.updated, summary.rejected) == (2, 2, 0, 0)
    assert summary.schema == "IDEAM drenaje sencillo"
    assert summary.source_crs == "EPSG:4326"
    assert any("se usó su nombre, 'drenaje.geojson'" in w for w in summary.warnings)
    rows = db.execute(
        "SELECT name, strahler_order, ST_GeometryType(geom), ST_SRID(geom), length_km, source, "
        "source_id, batch_id FROM hydrology_river WHERE batch_id = %s ORDER BY name",
        [summary.batch_id],
    ).fetchall()
    assert [r[:4] for r in rows] == [
        ("Quebrada La Honda", 2, "ST_MultiLineString", 9377),
        ("Río Sucio", 4, "ST_MultiLineString", 9377),
    ]
    assert rows[0][4] == pytest.approx(length_km_9377(LA_HONDA), rel=1e-6)
    assert rows[1][4] == pytest.approx(length_km_9377(RIO_SUCIO), rel=1e-6)
    assert 7.5 < rows[1][4] < 8.5  # about 8 km of river, not degrees
    assert {r[5] for r in rows} == {"drenaje.geojson"}
    assert all(r[6].startswith("geom:") for r in rows)  # no published id: the shape's own

    # The same file again with corrected orders: updates, no duplicates.
    again = run_import("rivers", ideam_rivers(tmp_path, orders=(5, 3)))
    assert (again.inserted, again.updated) == (0, 2)
    orders = db.execute(
        "SELECT name, strahler_order FROM hydrology_river WHERE source = 'drenaje.geojson' "
        "ORDER BY name"
    ).fetchall()
    assert orders == [("Quebrada La Honda", 3), ("Río Sucio", 5)]


def test_hydrorivers_gpkg_keyed_by_hyriv_id_drops_z(db, tmp_path, clean):
    from layers.importer import run_import

    def frame(shift: float) -> gpd.GeoDataFrame:
        reach = shapely.LineString([(-74.0 + shift, 4.5, 300), (-73.98 + shift, 4.52, 280)])
        return gpd.GeoDataFrame(
            {"HYRIV_ID": [60443230], "NEXT_DOWN": [0], "ORD_STRA": [3], "LENGTH_KM": [9.9]},
            geometry=[reach],
            crs=4326,
        )

    path = tmp_path / "hydrorivers.gpkg"
    frame(0.0).to_file(path, driver="GPKG")
    summary = run_import("rivers", path)
    assert (summary.schema, summary.inserted) == ("HydroRIVERS", 1)
    assert any("Se descartaron las coordenadas Z/M de 1 entidades" in w for w in summary.warnings)
    row = db.execute(
        "SELECT source, source_id, name, strahler_order, ST_NDims(geom), length_km "
        "FROM hydrology_river WHERE source = 'HydroRIVERS' AND source_id = '60443230'"
    ).fetchone()
    expected = length_km_9377(shapely.geometry.mapping(shapely.force_2d(frame(0).geometry[0])))
    assert row[:5] == ("HydroRIVERS", "60443230", "", 3, 2)
    assert row[5] == pytest.approx(expected, rel=1e-6)  # computed, not the published 9.9

    # A new edition moves the reach: same HYRIV_ID, so the row is updated in place.
    frame(0.01).to_file(path, driver="GPKG")
    again = run_import("rivers", path)
    assert (again.inserted, again.updated) == (0, 1)
    count, x = db.execute(
        "SELECT count(*), min(ST_X(ST_Transform(ST_StartPoint(ST_GeometryN(geom, 1)), 4326))) "
        "FROM hydrology_river WHERE source = 'HydroRIVERS' AND source_id = '60443230'"
    ).fetchone()
    assert count == 1
    assert x == pytest.approx(-73.99, abs=1e-9)


def test_published_ids_of_rivers_and_intakes_are_served_over_rest_wfs_and_ogc(
    db, client, tmp_path, clean
):
    """The id a re-import matches on (HYRIV_ID, a fingerprint...) is readable by every client."""
    from layers.importer import run_import

    reach = shapely.LineString([(-74.2, 4.6), (-74.18, 4.62)])
    path = tmp_path / "hydrorivers.gpkg"
    gpd.GeoDataFrame({"HYRIV_ID": [60443299], "ORD_STRA": [2]}, geometry=[reach], crs=4326).to_file(
        path, driver="GPKG"
    )
    assert run_import("rivers", path).inserted == 1
    page = client.get("/api/v1/layers/rivers/features", params={"source_id": "60443299"}).json()
    assert page["numberMatched"] == 1
    assert page["features"][0]["properties"]["source_id"] == "60443299"
    assert page["features"][0]["properties"]["strahler_order"] == 2
    for layer in ("rivers", "water_intakes"):
        schema = client.get(
            "/wfs",
            params={
                "service": "WFS",
                "version": "2.0.0",
                "request": "DescribeFeatureType",
                "typeNames": f"dm:{layer}",
            },
        ).text
        assert '<xsd:element name="source_id"' in schema, layer
        queryables = client.get(f"/ogc/collections/{layer}/queryables").json()
        assert queryables["properties"]["source_id"]["title"] == "Identificador en la fuente"


def test_polygon_and_degenerate_line_in_rivers_file_are_refused_naming_rows(db, tmp_path, clean):
    path = write_geojson(
        tmp_path / "drenaje_malo.geojson",
        [
            feature({"NOM_RIO": "Río Bueno", "STRAHLER": 2}, RIO_SUCIO),
            feature({"NOM_RIO": "Ciénaga Grande", "STRAHLER": None}, polygon(square(-75.6, 6.2))),
            feature({"NOM_RIO": "Caño Corto", "STRAHLER": 1}, line((-75.5, 6.3), (-75.5, 6.3))),
        ],
    )
    refused(
        db,
        lambda run: run("rivers", path),
        "Se rechazaron 2 de 3 entidades de 'drenaje_malo.geojson' y no se escribió nada",
        "fila 2 (NOM_RIO 'Ciénaga Grande'): geometría Polygon en una capa de líneas",
        "fila 3 (NOM_RIO 'Caño Corto'): línea degenerada "
        "(menos de 2 puntos distintos en (-75.5, 6.3))",
        "--skip-rejected",
    )
    from layers.importer import run_import

    summary = run_import("rivers", path, skip_rejected=True)
    assert (summary.inserted, summary.rejected) == (1, 2)


def test_repeated_line_without_ids_is_a_duplicate_key_naming_both_rows(db, tmp_path, clean):
    path = write_geojson(
        tmp_path / "repetidos.geojson",
        [
            feature({"NOMBRE_GEO": "Río Sucio", "ORDEN": 4}, RIO_SUCIO),
            feature({"NOMBRE_GEO": "Río Sucio (copia)", "ORDEN": 4}, RIO_SUCIO),
        ],
    )
    refused(
        db,
        lambda run: run("rivers", path),
        "Claves duplicadas en el archivo 'repetidos.geojson'",
        "en las filas 1, 2",
        "es la huella de la geometría",
        "--map source_id=CAMPO",
    )


def test_unknown_schema_needs_map(db, tmp_path, clean):
    from layers.importer import run_import

    path = write_geojson(
        tmp_path / "car.geojson",
        [feature({"rio": "Río Nechí", "ord_h": "6", "gid": 17}, RIO_SUCIO)],
    )
    summary = run_import(
        "rivers",
        path,
        mapping={"name": "rio", "strahler_order": "ord_h", "source_id": "gid"},
        fixed={"source": "CAR drenaje 2024"},
    )
    assert summary.inserted == 1
    assert not any("se usó su nombre" in w for w in summary.warnings)
    row = db.execute(
        "SELECT name, strahler_order, source_id FROM hydrology_river "
        "WHERE source = 'CAR drenaje 2024'"
    ).fetchone()
    assert row == ("Río Nechí", 6, "17")


def write_csv(path, lines: list[str]):
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    return path


def test_intakes_csv_with_lonlat_pads_codes_and_keeps_unknown_municipality_without_it(
    db, tmp_path, clean, caucasia
):
    from layers.importer import run_import

    path = write_csv(
        tmp_path / "bocatomas.csv",
        [
            "NOMBRE,COD_MPIO,ACUEDUCTO,lon,lat",
            "Bocatoma El Salto,5154,Acueducto de Caucasia,-75.20,7.98",
            "Bocatoma Norte,99999,Acueducto Veredal,-75.30,7.90",
            "Bocatoma Sur,,Acueducto Veredal,-75.31,7.85",
        ],
    )
    summary = run_import("water_intakes", path)
    assert summary.schema == "bocatomas (NOMBRE, COD_MPIO, ACUEDUCTO)"
    assert (summary.read, summary.inserted, summary.rejected) == (3, 3, 0)
    assert summary.source_crs == "EPSG:4326 (supuesto)"
    assert any(
        "se completaron con ceros a 5 dígitos (p. ej. 5154 → 05154)" in w for w in summary.warnings
    ), summary.warnings
    assert (
        "fila 2 (NOMBRE 'Bocatoma Norte'): el código de municipio '99999' de 'COD_MPIO' no está "
        "entre los municipios cargados; la bocatoma se importa sin municipio abastecido."
    ) in summary.warnings
    rows = db.execute(
        "SELECT name, serves_municipality_id, aqueduct, source, ST_GeometryType(geom), "
        "ST_X(ST_Transform(geom, 4326)), ST_Y(ST_Transform(geom, 4326)) "
        "FROM hydrology_waterintake WHERE batch_id = %s ORDER BY name",
        [summary.batch_id],
    ).fetchall()
    assert [r[:5] for r in rows] == [
        ("Bocatoma El Salto", "05154", "Acueducto de Caucasia", "bocatomas.csv", "ST_Point"),
        ("Bocatoma Norte", None, "Acueducto Veredal", "bocatomas.csv", "ST_Point"),
        ("Bocatoma Sur", None, "Acueducto Veredal", "bocatomas.csv", "ST_Point"),
    ]
    assert rows[0][5:] == pytest.approx((-75.20, 7.98), abs=1e-9)

    again = run_import("water_intakes", path)
    assert (again.inserted, again.updated) == (0, 3)


def test_intakes_geojson_integer_code_multipoint_of_one_and_of_two(db, tmp_path, clean, caucasia):
    from layers.importer import run_import

    path = write_geojson(
        tmp_path / "bocatomas.geojson",
        [
            feature(
                {"NOMBRE": "B1", "MPIO_CCNCT": 5154, "PRESTADOR": "EPM"},
                {"type": "MultiPoint", "coordinates": [[-75.2, 7.98]]},
            ),
            feature(
                {"NOMBRE": "B2", "MPIO_CCNCT": 5154, "PRESTADOR": "EPM"},
                {"type": "MultiPoint", "coordinates": [[-75.2, 7.98], [-75.21, 7.99]]},
            ),
        ],
    )
    refused(
        db,
        lambda run: run("water_intakes", path),
        "fila 2 (NOMBRE 'B2'): MultiPoint de 2 puntos en una capa de puntos (uno por fila)",
    )
    summary = run_import("water_intakes", path, skip_rejected=True)
    assert (summary.inserted, summary.repaired, summary.rejected) == (1, 1, 1)
    assert summary.repairs == [
        "fila 1 (NOMBRE 'B1'): MultiPoint de un solo punto: se guardó como Point"
    ]
    assert any("códigos DIVIPOLA como número" in w for w in summary.warnings)
    row = db.execute(
        "SELECT serves_municipality_id, aqueduct, ST_GeometryType(geom) "
        "FROM hydrology_waterintake WHERE batch_id = %s",
        [summary.batch_id],
    ).fetchone()
    assert row == ("05154", "EPM", "ST_Point")


def test_crs_less_intakes_in_metres_are_refused(db, tmp_path, clean):
    path = write_csv(
        tmp_path / "bocatomas_metros.csv",
        ["NOMBRE,COD_MPIO,ACUEDUCTO,x,y", "Bocatoma X,05154,Acueducto,4700000,2250000"],
    )
    refused(
        db,
        lambda run: run("water_intakes", path),
        "'bocatomas_metros.csv' no declara su sistema de coordenadas",
        "fila 1: x=4.7e+06, y=2.25e+06",
        "--crs",
    )
    from layers.importer import run_import

    summary = run_import("water_intakes", path, crs=9377)
    assert (summary.inserted, summary.source_crs) == (1, "EPSG:9377")
    xy = db.execute(
        "SELECT ST_X(geom), ST_Y(geom) FROM hydrology_waterintake WHERE batch_id = %s",
        [summary.batch_id],
    ).fetchone()
    assert xy == (4_700_000, 2_250_000)


def test_river_import_makes_cached_water_metrics_stale(db, tmp_path, clean):
    from hydrology.metrics import compute_water_metrics, stale_units, unit_water_metrics
    from layers.importer import run_import
    from layers.revisions import revisions

    x0, y0 = 4_700_000, 2_300_000
    unit = db.execute(
        "INSERT INTO hydrology_hydrounit (system, code, name, level, area_ha, geom) "
        "VALUES ('watershed', 'water-import-test', 'prueba', 1, 10000, ST_Multi("
        "ST_MakeEnvelope(%s, %s, %s, %s, 9377))) RETURNING id",
        [x0, y0, x0 + 10_000, y0 + 10_000],
    ).fetchone()[0]
    try:
        compute_water_metrics(db, [unit])
        assert stale_units(db, [unit]) == []
        before = revisions(db, ["rivers", "water_intakes"])
        to_lonlat = Transformer.from_crs(9377, 4326, always_xy=True)
        start = to_lonlat.transform(x0 + 1_000, y0 + 5_000)
        end = to_lonlat.transform(x0 + 4_000, y0 + 5_000)
        path = write_geojson(
            tmp_path / "rio.geojson",
            [feature({"NOMBRE": "Río Prueba", "ORDEN": 2}, line(start, end))],
        )
        summary = run_import("rivers", path, mapping={"strahler_order": "ORDEN"})
        assert summary.inserted == 1
        after = revisions(db, ["rivers", "water_intakes"])
        assert after["rivers"] > before["rivers"]
        assert after["water_intakes"] == before["water_intakes"]
        assert stale_units(db, [unit]) == [unit]
        metrics = unit_water_metrics(db, [unit])[unit]
        assert metrics["river_km"] == pytest.approx(3.0, abs=1e-3)
        assert metrics["river_km_by_order"] == {"2": pytest.approx(3.0, abs=1e-3)}
    finally:
        db.execute("DELETE FROM hydrology_hydrounit WHERE id = %s", [unit])


def test_cli_imports_rivers(db, tmp_path, capsys, clean):
    from app.cli import main

    path = ideam_rivers(tmp_path, name="drenaje_cli.geojson")
    assert main(["import", "rivers", str(path)]) == 0
    out = capsys.readouterr().out
    assert (
        "Capa rivers ← drenaje_cli.geojson [IDEAM drenaje sencillo; EPSG:4326 → EPSG:9377]" in out
    )
    assert "leídas 2, importadas: 2 nuevas, 0 actualizadas" in out
