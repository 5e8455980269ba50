"""Bad input: each refusal names the row or field in Spanish and leaves the database as it was.

The few inputs that are repaired instead (bow-tie, Z/M, integer DIVIPOLA codes, Latin-1
attributes) import, and their report is asserted.
"""

from __future__ import annotations

import pyogrio
import pytest
import shapely

from geo.errors import DomainError
from tests.import_files import (
    box_wkt,
    counts,
    feature,
    forget_imports_since,
    last_batch,
    polygon,
    shapefile_members,
    square,
    tenure,
    tenures_frame,
    wkt_csv,
    write_geojson,
    write_zip,
)


@pytest.fixture
def clean(db):
    """Remove whatever the test imported."""
    start = last_batch(db)
    yield
    forget_imports_since(db, start)


def refused(db, call, *fragments: str) -> str:
    """Run an import that must fail; assert its message and that nothing was written."""
    from layers.importer import run_import

    before = counts(db)
    with pytest.raises(DomainError) as caught:
        call(run_import)
    message = caught.value.detail
    for fragment in fragments:
        assert fragment in message, message
    assert counts(db) == before
    return message


def test_unknown_file_format(db, tmp_path):
    path = tmp_path / "titulos.xyz"
    path.write_text("nada")
    refused(
        db,
        lambda run: run("mining_tenures", path),
        "Formato de archivo no reconocido: 'titulos.xyz'",
        "GeoPackage",
    )


def test_missing_file(db, tmp_path):
    path = tmp_path / "no_existe.geojson"
    refused(
        db, lambda run: run("mining_tenures", path), "No existe el archivo", "no_existe.geojson"
    )


def test_unknown_layer_lists_importable_ones(db, tmp_path):
    path = write_geojson(tmp_path / "t.geojson", [tenure("X-1", -75.6, 6.2)])
    refused(db, lambda run: run("titulos", path), "'titulos'", "mining_tenures", "rasters")


def test_file_without_crs_and_projected_coordinates(db, tmp_path, clean):
    # Metres in EPSG:9377 without any CRS: cannot be told from other projected systems.
    path = wkt_csv(tmp_path / "sin_crs.csv", [("SC-1", box_wkt(4_700_000, 2_250_000, 500))])
    args = {"mapping": {"expediente": "nombre"}, "fixed": {"tenure_type": "title"}}
    refused(
        db,
        lambda run: run("mining_tenures", path, **args),
        "no declara su sistema de coordenadas",
        "fila 1: x=4.7e+06, y=2.25e+06",
        "--crs",
    )
    from layers.importer import run_import

    summary = run_import("mining_tenures", path, crs=9377, **args)
    assert (summary.inserted, summary.source_crs) == (1, "EPSG:9377")
    area = db.execute("SELECT area_ha FROM layers_miningtenure WHERE expediente = 'SC-1'")
    assert area.fetchone()[0] == pytest.approx(25.0)


def test_file_without_crs_but_plainly_lonlat_in_colombia_is_assumed_4326(db, tmp_path, clean):
    from layers.importer import run_import

    path = wkt_csv(tmp_path / "lonlat.csv", [("LL-1", box_wkt(-75.6, 6.2, 0.01))])
    summary = run_import(
        "mining_tenures", path, mapping={"expediente": "nombre"}, fixed={"tenure_type": "title"}
    )
    assert summary.inserted == 1
    assert summary.source_crs == "EPSG:4326 (supuesto)"
    assert any("se asumió EPSG:4326" in w for w in summary.warnings)


def test_zipped_shapefile_without_prj(db, tmp_path):
    frame = tenures_frame(["ZP-1", "ZP-2"], crs=3116)
    members = shapefile_members(frame, tmp_path / "shp", "titulos")
    members.pop("titulos.prj")
    path = write_zip(tmp_path / "titulos.zip", members)
    refused(
        db,
        lambda run: run("mining_tenures", path),
        "El shapefile 'titulos.zip:titulos.shp' no trae archivo .prj",
        "fila 1",
        "--crs",
    )


def test_zipped_shapefile_with_prj_imports(db, tmp_path, clean):
    from layers.importer import run_import

    frame = tenures_frame(["ZQ-1", "ZQ-2"], crs=3116)
    path = write_zip(tmp_path / "t.zip", shapefile_members(frame, tmp_path / "shp", "titulos"))
    summary = run_import("mining_tenures", path)
    assert (summary.inserted, summary.source_crs) == (2, "EPSG:3116")


def test_swapped_lat_lon_is_detected_and_said(db, tmp_path, clean):
    swapped = [[[y, x] for x, y in ring] for ring in square(-75.6, 6.2)]
    features = [tenure("SW-1", -75.6, 6.2), tenure("SW-2", -75.6, 6.2)]
    features[0]["geometry"] = polygon(swapped)
    features[1]["geometry"] = polygon(swapped)
    path = write_geojson(tmp_path / "invertido.geojson", features)
    refused(
        db,
        lambda run: run("mining_tenures", path),
        "Latitud y longitud parecen invertidas",
        "fila 1 tiene x=6.2, y=-75.6",
        "--swap-xy",
    )
    from layers.importer import run_import

    summary = run_import("mining_tenures", path, swap_xy=True)
    assert summary.inserted == 2


def test_bow_tie_is_repaired_and_reported_with_its_id(db, tmp_path, clean):
    from layers.importer import run_import

    bow_tie = [[[-75.6, 6.2], [-75.59, 6.21], [-75.59, 6.2], [-75.6, 6.21], [-75.6, 6.2]]]
    features = [tenure("BT-0", -75.7, 6.2), tenure("BT-1", -75.6, 6.2)]
    features[1]["geometry"] = polygon(bow_tie)
    summary = run_import("mining_tenures", write_geojson(tmp_path / "lazo.geojson", features))
    assert (summary.inserted, summary.repaired, summary.rejected) == (2, 1, 0)
    (repair,) = summary.repairs
    assert repair.startswith("fila 2 (nombre 'BT-1', tipo 'title')")
    assert "autointersección en (-75.595, 6.205)" in repair
    assert "reparada con make_valid" in repair
    valid, parts, geometry_type = db.execute(
        "SELECT ST_IsValid(geom), ST_NumGeometries(geom), GeometryType(geom) "
        "FROM layers_miningtenure WHERE expediente = 'BT-1'"
    ).fetchone()
    assert (valid, parts, geometry_type) == (True, 2, "MULTIPOLYGON")


def test_unclosed_ring_is_rejected_naming_the_row(db, tmp_path):
    features = [tenure("UR-1", -75.7, 6.2), tenure("UR-2", -75.6, 6.2)]
    features[1]["geometry"] = polygon([square(-75.6, 6.2)[0][:-1]])
    path = write_geojson(tmp_path / "abierto.geojson", features)
    refused(
        db,
        lambda run: run("mining_tenures", path),
        "Se rechazaron 1 de 2 entidades",
        "fila 2 (nombre 'UR-2', tipo 'title'): anillo sin cerrar",
        "no se escribió nada",
    )


def test_point_in_polygon_layer_is_rejected(db, tmp_path, clean):
    features = [tenure("PT-1", -75.7, 6.2), tenure("PT-2", -75.6, 6.2)]
    features[1]["geometry"] = {"type": "Point", "coordinates": [-75.6, 6.2]}
    path = write_geojson(tmp_path / "punto.geojson", features)
    refused(
        db,
        lambda run: run("mining_tenures", path),
        "fila 2 (nombre 'PT-2', tipo 'title'): geometría Point en una capa de polígonos",
        "--skip-rejected",
    )
    from layers.importer import run_import

    summary = run_import("mining_tenures", path, skip_rejected=True)
    assert (summary.read, summary.inserted, summary.rejected) == (2, 1, 1)


def test_z_and_m_are_dropped_and_reported(db, tmp_path, clean):
    from layers.importer import run_import

    ring = "-75.6 6.2 {v}, -75.59 6.2 {v}, -75.59 6.21 {v}, -75.6 6.2 {v}"
    rows = [
        ("ZM-Z", f"POLYGON Z (({ring.format(v=1500)}))"),
        ("ZM-M", f"POLYGON M (({ring.format(v=7)}))"),
        ("ZM-ZM", f"POLYGON ZM (({ring.format(v='1500 7')}))"),
    ]
    path = wkt_csv(tmp_path / "zm.csv", rows)
    summary = run_import(
        "mining_tenures", path, mapping={"expediente": "nombre"}, fixed={"tenure_type": "title"}
    )
    assert summary.inserted == 3
    assert any(
        "coordenadas Z/M de 3 entidades (p. ej. filas 1, 2, 3)" in w for w in summary.warnings
    )
    dims = db.execute(
        "SELECT DISTINCT ST_NDims(geom) FROM layers_miningtenure WHERE expediente LIKE 'ZM-%'"
    ).fetchall()
    assert dims == [(2,)]


def test_duplicate_natural_keys_inside_one_file(db, tmp_path):
    features = [
        tenure("DUP-1", -75.7, 6.2),
        tenure("DUP-2", -75.6, 6.2),
        tenure("DUP-1", -75.5, 6.2),
    ]
    path = write_geojson(tmp_path / "duplicados.geojson", features)
    refused(
        db,
        lambda run: run("mining_tenures", path),
        "Claves duplicadas",
        "expediente 'DUP-1', tenure_type 'title' en las filas 1, 3",
        "No se escribió nada",
    )


def test_required_field_absent_from_the_file(db, tmp_path):
    features = [feature({"codigo": "RQ-1", "tipo": "titulo"}, polygon(square(-75.6, 6.2)))]
    path = write_geojson(tmp_path / "sin_campos.geojson", features)
    message = refused(
        db,
        lambda run: run("mining_tenures", path),
        "no trae los campos requeridos por la capa 'mining_tenures': expediente, tenure_type",
        "Atributos del archivo: codigo, tipo",
        "--map",
    )
    assert "expediente=" in message


def test_required_value_missing_in_a_row(db, tmp_path):
    features = [tenure("RV-1", -75.7, 6.2), tenure(None, -75.6, 6.2)]
    path = write_geojson(tmp_path / "sin_valor.geojson", features)
    refused(
        db,
        lambda run: run("mining_tenures", path),
        "fila 2 (tipo 'title'): falta el valor requerido de 'nombre'",
    )


def test_map_to_a_field_the_file_lacks(db, tmp_path):
    path = write_geojson(tmp_path / "t.geojson", [tenure("MP-1", -75.6, 6.2)])
    refused(
        db,
        lambda run: run("mining_tenures", path, mapping={"expediente": "CODIGO"}),
        "--map expediente=CODIGO: el archivo no tiene el atributo 'CODIGO'",
        "Atributos del archivo: nombre, tipo",
    )


def test_divipola_code_as_integer_is_zero_padded(db, tmp_path, clean):
    from layers.importer import run_import

    frame = pyogrio.read_dataframe(
        "data/samples/national/dane_mgn2018.gpkg", layer="municipios", max_features=2
    )
    frame["MPIO_CCNCT"] = [5154, 5001]
    frame["DPTO_CCDGO"] = [5, 5]
    frame["MPIO_CNMBR"] = ["CAUCASIA (PRUEBA)", "MEDELLÍN (PRUEBA)"]
    path = tmp_path / "municipios.gpkg"
    pyogrio.write_dataframe(frame, path, layer="municipios")
    assert pyogrio.read_info(path)["dtypes"][list(frame.columns).index("MPIO_CCNCT")] == "int64"
    summary = run_import("municipalities", path)
    assert summary.inserted == 2
    assert any("5154 → 05154" in w for w in summary.warnings)
    rows = db.execute(
        "SELECT code, department_id FROM layers_municipality WHERE name LIKE '%(PRUEBA)' "
        "ORDER BY code"
    ).fetchall()
    assert rows == [("05001", "05"), ("05154", "05")]


@pytest.mark.parametrize("with_cpg", [True, False], ids=["con-cpg", "sin-cpg"])
def test_latin1_shapefile_attributes_are_read_correctly(db, tmp_path, clean, with_cpg):
    from layers.importer import run_import

    frame = pyogrio.read_dataframe(
        "data/samples/national/dane_mgn2018.gpkg", layer="departamentos", max_features=1
    )[["DPTO_CCDGO", "DPTO_CNMBR", "geometry"]]
    frame["DPTO_CCDGO"] = ["97"]
    frame["DPTO_CNMBR"] = ["BOGOTÁ Ñ PRUEBA"]
    members = shapefile_members(frame, tmp_path / "shp", "deptos", encoding="latin1")
    assert b"BOGOT\xc1 \xd1" in members["deptos.dbf"]
    if not with_cpg:
        members.pop("deptos.cpg")
    path = write_zip(tmp_path / "deptos.zip", members)
    summary = run_import("departments", path)
    assert summary.inserted == 1
    name = db.execute("SELECT name FROM layers_department WHERE code = '97'").fetchone()[0]
    assert name == "BOGOTÁ Ñ PRUEBA"


def test_empty_file(db, tmp_path):
    path = write_geojson(tmp_path / "vacio.geojson", [])
    refused(db, lambda run: run("mining_tenures", path), "'vacio.geojson' no tiene entidades")


def test_features_outside_colombia_are_rejected(db, tmp_path):
    features = [tenure("OUT-1", -75.6, 6.2), tenure("OUT-2", 2.35, 48.85)]
    path = write_geojson(tmp_path / "paris.geojson", features)
    refused(
        db,
        lambda run: run("mining_tenures", path),
        "fila 2 (nombre 'OUT-2', tipo 'title'): coordenadas fuera de Colombia",
    )


def test_unknown_tenure_type_is_rejected_naming_value_and_field(db, tmp_path):
    features = [tenure("TT-1", -75.6, 6.2, tipo="permiso verbal")]
    path = write_geojson(tmp_path / "tipo.geojson", features)
    refused(
        db,
        lambda run: run("mining_tenures", path),
        "fila 1 (nombre 'TT-1'): valor 'permiso verbal' no reconocido en 'tipo'",
    )


def test_value_longer_than_the_column(db, tmp_path):
    features = [tenure("L" * 80, -75.6, 6.2)]
    path = write_geojson(tmp_path / "largo.geojson", features)
    refused(
        db, lambda run: run("mining_tenures", path), "el valor de 'nombre' supera 60 caracteres"
    )


def test_geometry_collection_keeps_its_polygonal_part(db, tmp_path, clean):
    from layers.importer import run_import

    mixed = {
        "type": "GeometryCollection",
        "geometries": [
            polygon(square(-75.6, 6.2)),
            {"type": "LineString", "coordinates": [[-75.7, 6.2], [-75.65, 6.25]]},
        ],
    }
    features = [tenure("GC-1", -75.6, 6.2)]
    features[0]["geometry"] = mixed
    summary = run_import("mining_tenures", write_geojson(tmp_path / "gc.geojson", features))
    assert summary.repaired == 1
    assert "se conservó la parte poligonal" in summary.repairs[0]
    kind = db.execute(
        "SELECT GeometryType(geom) FROM layers_miningtenure WHERE expediente = 'GC-1'"
    ).fetchone()[0]
    assert kind == "MULTIPOLYGON"
    assert shapely.Polygon(square(-75.6, 6.2)[0]).is_valid
