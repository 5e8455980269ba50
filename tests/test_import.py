"""The import template: formats, upsert by natural key, one transaction, dry runs, summaries."""

from __future__ import annotations

import json

import geopandas as gpd
import pyogrio
import pytest

from tests.import_files import (
    counts,
    forget_imports_since,
    last_batch,
    shapefile_members,
    square,
    tenure,
    tenures_frame,
    write_geojson,
    write_zip,
)


@pytest.fixture
def clean(db):
    """Remove whatever the test imported."""
    start = last_batch(db)
    yield
    forget_imports_since(db, start)


def _tenure_rows(db, prefix: str) -> list[tuple]:
    return db.execute(
        "SELECT expediente, tenure_type, holders, minerals, stage, scale, declared_area_ha, "
        "round(area_ha::numeric, 1), ST_SRID(geom), GeometryType(geom) "
        "FROM layers_miningtenure WHERE expediente LIKE %s ORDER BY expediente",
        [prefix + "%"],
    ).fetchall()


def _write(frame: gpd.GeoDataFrame, tmp_path, kind: str):
    if kind == "gpkg":
        path = tmp_path / "t.gpkg"
        pyogrio.write_dataframe(frame, path, layer="titulos")
    elif kind == "fgb":
        path = tmp_path / "t.fgb"
        pyogrio.write_dataframe(frame, path)
    elif kind == "kml":
        path = tmp_path / "t.kml"
        pyogrio.write_dataframe(frame, path, driver="KML")
    elif kind == "shp-zip":
        path = write_zip(tmp_path / "t.zip", shapefile_members(frame, tmp_path / "s", "titulos"))
    elif kind == "csv-wkt":
        path = tmp_path / "t.csv"
        table = frame.drop(columns="geometry").assign(WKT=frame.geometry.to_wkt())
        table.to_csv(path, index=False)
    else:
        path = tmp_path / "t.geojson"
        pyogrio.write_dataframe(frame, path, driver="GeoJSON")
    return path


@pytest.mark.parametrize("kind", ["geojson", "gpkg", "fgb", "kml", "shp-zip", "csv-wkt"])
def test_every_vector_format_loads_the_same_rows(db, tmp_path, clean, kind):
    from layers.importer import run_import

    frame = tenures_frame([f"FMT-{kind}-1", f"FMT-{kind}-2"])
    summary = run_import("mining_tenures", _write(frame, tmp_path, kind))
    assert (summary.read, summary.inserted, summary.updated) == (2, 2, 0)
    rows = _tenure_rows(db, f"FMT-{kind}-")
    assert [r[0] for r in rows] == [f"FMT-{kind}-1", f"FMT-{kind}-2"]
    expediente, kind_, holders, minerals, stage, scale, declared, area, srid, gtype = rows[0]
    assert (kind_, holders, minerals) == ("title", ["MINERA DE PRUEBA S.A.S."], ["ORO", "PLATA"])
    assert (stage, scale, declared, srid, gtype) == (
        "explotación",
        "pequeña",
        120.5,
        9377,
        "MULTIPOLYGON",
    )
    # A 0.01 degree square near Medellín is about 1.1 km x 1.1 km.
    assert float(area) == pytest.approx(122.5, abs=1.0)


def test_csv_with_lon_lat_columns_becomes_points_refused_in_a_polygon_layer(db, tmp_path):
    from geo.errors import DomainError
    from layers.importer import run_import

    path = tmp_path / "puntos.csv"
    path.write_text("nombre,tipo,titular,lon,lat\nCSV-1,titulo,ACME,-75.6,6.2\n")
    before = counts(db)
    with pytest.raises(DomainError) as caught:
        run_import("mining_tenures", path)
    assert "fila 1 (nombre 'CSV-1', tipo 'title'): geometría Point" in caught.value.detail
    assert counts(db) == before


def test_reimport_updates_and_never_duplicates(db, tmp_path, clean):
    from layers.importer import run_import

    first = [tenure("RE-1", -75.7, 6.2), tenure("RE-2", -75.6, 6.2)]
    summary = run_import("mining_tenures", write_geojson(tmp_path / "a.geojson", first))
    assert (summary.inserted, summary.updated) == (2, 0)
    second = [
        tenure("RE-1", -75.7, 6.2, estado="Terminado"),
        tenure("RE-2", -75.6, 6.2),
        tenure("RE-3", -75.5, 6.2),
    ]
    summary = run_import("mining_tenures", write_geojson(tmp_path / "b.geojson", second))
    assert (summary.inserted, summary.updated) == (1, 2)
    rows = db.execute(
        "SELECT expediente, status, batch_id FROM layers_miningtenure "
        "WHERE expediente LIKE 'RE-%' ORDER BY expediente"
    ).fetchall()
    assert [(r[0], r[1]) for r in rows] == [
        ("RE-1", "Terminado"),
        ("RE-2", "Activo"),
        ("RE-3", "Activo"),
    ]
    assert {r[2] for r in rows} == {summary.batch_id}


def test_same_code_as_title_and_application_are_two_tenures(db, tmp_path, clean):
    from layers.importer import run_import

    features = [tenure("TA-1", -75.7, 6.2), tenure("TA-1", -75.6, 6.2, tipo="solicitud")]
    summary = run_import("mining_tenures", write_geojson(tmp_path / "ta.geojson", features))
    assert summary.inserted == 2


def test_import_is_one_transaction(db, tmp_path, monkeypatch):
    """A failure after several COPY batches and the upsert leaves nothing, not even the batch."""
    from layers import importer as importer_module
    from layers.importers.tenures import CorpourabaTenures

    class FailingTenures(CorpourabaTenures):
        batch_size = 2

        def after_upsert(self, cursor, batch_id, summary):
            cursor.execute("SELECT count(*) FROM layers_miningtenure WHERE expediente LIKE 'TX-%'")
            assert cursor.fetchone()[0] == 7  # inside the transaction the rows are there
            raise RuntimeError("fallo simulado a mitad de la importación")

    monkeypatch.setattr(importer_module, "importer_classes", lambda layer: [FailingTenures])
    features = [tenure(f"TX-{i}", -75.7 + i * 0.02, 6.2) for i in range(7)]
    path = write_geojson(tmp_path / "tx.geojson", features)
    before = counts(db)
    with pytest.raises(RuntimeError, match="fallo simulado"):
        importer_module.run_import("mining_tenures", path)
    assert counts(db) == before


def test_database_refusal_rolls_back_and_is_reported_in_spanish(db, tmp_path, monkeypatch):
    from geo.errors import DomainError
    from layers import importer as importer_module
    from layers.importers.tenures import CorpourabaTenures

    class BrokenTable(CorpourabaTenures):
        table = "layers_no_such_table"

    monkeypatch.setattr(importer_module, "importer_classes", lambda layer: [BrokenTable])
    path = write_geojson(tmp_path / "db.geojson", [tenure("DB-1", -75.6, 6.2)])
    before = counts(db)
    with pytest.raises(DomainError) as caught:
        importer_module.run_import("mining_tenures", path)
    assert "falló y no se escribió nada" in caught.value.detail
    assert counts(db) == before


def test_dry_run_counts_without_writing(db, tmp_path, clean):
    from layers.importer import run_import

    run_import(
        "mining_tenures", write_geojson(tmp_path / "a.geojson", [tenure("DR-1", -75.6, 6.2)])
    )
    features = [tenure("DR-1", -75.6, 6.2), tenure("DR-2", -75.5, 6.2)]
    before = counts(db)
    summary = run_import(
        "mining_tenures", write_geojson(tmp_path / "b.geojson", features), dry_run=True
    )
    assert (summary.dry_run, summary.inserted, summary.updated, summary.batch_id) == (
        True,
        1,
        1,
        None,
    )
    assert counts(db) == before
    assert "simulación: no se escribió nada" in summary.text()


def test_import_batch_keeps_provenance(db, tmp_path, clean):
    import hashlib

    from layers.importer import run_import

    path = write_geojson(tmp_path / "prov.geojson", [tenure("PV-1", -75.6, 6.2)])
    summary = run_import("mining_tenures", path, user="analista")
    batch = db.execute(
        'SELECT layer, file_name, checksum, "user", finished_at IS NOT NULL, counts '
        "FROM layers_importbatch WHERE id = %s",
        [summary.batch_id],
    ).fetchone()
    assert batch[:5] == (
        "mining_tenures",
        "prov.geojson",
        hashlib.sha256(path.read_bytes()).hexdigest(),
        "analista",
        True,
    )
    assert batch[5]["inserted"] == 1 and batch[5]["read"] == 1
    row_batch = db.execute(
        "SELECT batch_id FROM layers_miningtenure WHERE expediente = 'PV-1'"
    ).fetchone()[0]
    assert row_batch == summary.batch_id


def test_map_and_set_load_an_unknown_schema(db, tmp_path, clean):
    from layers.importer import run_import

    frame = tenures_frame(["MS-1"]).rename(columns={"nombre": "COD", "titular": "EMPRESA"})
    frame = frame[["COD", "EMPRESA", "geometry"]]
    path = tmp_path / "otro.gpkg"
    pyogrio.write_dataframe(frame, path)
    summary = run_import(
        "mining_tenures",
        path,
        mapping={"expediente": "COD", "holders": "EMPRESA"},
        fixed={"tenure_type": "solicitud", "source": "archivo de prueba"},
    )
    assert summary.inserted == 1
    row = db.execute(
        "SELECT tenure_type, holders, source FROM layers_miningtenure WHERE expediente = 'MS-1'"
    ).fetchone()
    assert row == ("application", ["MINERA DE PRUEBA S.A.S."], "archivo de prueba")


def test_progress_is_reported_per_batch(db, tmp_path, clean, monkeypatch):
    from layers.importer import run_import
    from layers.importers.tenures import CorpourabaTenures

    monkeypatch.setattr(CorpourabaTenures, "batch_size", 3)
    features = [tenure(f"PG-{i}", -75.7 + i * 0.02, 6.2) for i in range(7)]
    seen, totals = [], []
    run_import(
        "mining_tenures",
        write_geojson(tmp_path / "pg.geojson", features),
        progress=seen.append,
        on_start=totals.append,
    )
    assert (totals, seen) == ([7], [3, 3, 1])


def test_summary_as_json(db, tmp_path, clean):
    from layers.importer import run_import

    summary = run_import(
        "mining_tenures", write_geojson(tmp_path / "j.geojson", [tenure("JS-1", -75.6, 6.2)])
    )
    data = json.loads(json.dumps(summary.as_dict()))
    for key in ("read", "inserted", "updated", "repaired", "rejected", "seconds"):
        assert key in data
    assert (data["read"], data["inserted"], data["schema"]) == (
        1,
        1,
        "ANM vía observatorio CORPOURABA",
    )


def test_geopackage_with_several_layers_needs_source_layer(db, tmp_path):
    from geo.errors import DomainError
    from layers.importer import run_import

    path = tmp_path / "varias.gpkg"
    pyogrio.write_dataframe(tenures_frame(["GL-1"]), path, layer="uno")
    pyogrio.write_dataframe(tenures_frame(["GL-2"]), path, layer="dos", append=False)
    before = counts(db)
    with pytest.raises(DomainError) as caught:
        run_import("mining_tenures", path, source_layer="tres")
    assert "no tiene la capa 'tres'. Capas: uno, dos" in caught.value.detail
    with pytest.raises(DomainError) as caught:
        run_import("mining_tenures", path)
    assert "varias capas (uno, dos)" in caught.value.detail
    assert "--source-layer" in caught.value.detail
    assert counts(db) == before


@pytest.fixture
def scratch_tenures(db):
    """An empty copy of the tenure table (indexes, constraints, batch foreign key)."""
    db.execute("DROP TABLE IF EXISTS scratch_tenures")
    db.execute("CREATE TABLE scratch_tenures (LIKE layers_miningtenure INCLUDING ALL)")
    db.execute(
        "ALTER TABLE scratch_tenures ADD FOREIGN KEY (batch_id) REFERENCES layers_importbatch(id)"
        " DEFERRABLE INITIALLY DEFERRED"
    )
    start = last_batch(db)
    yield "scratch_tenures"
    db.execute("DROP TABLE scratch_tenures")
    forget_imports_since(db, start)


def _bulk_importer(monkeypatch, table: str, rows: int):
    from layers import importer as importer_module
    from layers.importers.tenures import CorpourabaTenures

    class ScratchTenures(CorpourabaTenures):
        batch_size = 4

    ScratchTenures.table = table
    monkeypatch.setattr(importer_module, "BULK_ROWS", rows)
    monkeypatch.setattr(importer_module, "importer_classes", lambda layer: [ScratchTenures])
    return importer_module


def test_bulk_load_into_an_empty_table_copies_directly_and_rebuilds_indexes(
    db, tmp_path, monkeypatch, scratch_tenures
):
    module = _bulk_importer(monkeypatch, scratch_tenures, rows=5)
    features = [tenure(f"BK-{i}", -75.7 + i * 0.02, 6.2) for i in range(9)]
    features[3]["properties"]["minerales_detalle"] = None
    features[4]["geometry"] = {
        "type": "MultiPolygon",
        "coordinates": [square(-75.0, 6.2), square(-74.9, 6.2)],
    }
    indexes_before = db.execute(
        "SELECT indexdef FROM pg_indexes WHERE tablename = %s ORDER BY 1", [scratch_tenures]
    ).fetchall()
    keys = (
        "SELECT conname, contype, pg_get_constraintdef(oid) FROM pg_constraint "
        "WHERE conrelid = %s::regclass ORDER BY 1"
    )
    keys_before = db.execute(keys, [scratch_tenures]).fetchall()
    assert {row[1] for row in keys_before} >= {"p", "u"}
    summary = module.run_import("mining_tenures", write_geojson(tmp_path / "bk.geojson", features))
    assert (summary.read, summary.inserted, summary.updated) == (9, 9, 0)
    rows = db.execute(
        "SELECT expediente, tenure_type, holders, minerals, stage, ST_SRID(geom), "
        "GeometryType(geom), ST_NumGeometries(geom), round(area_ha::numeric, 3) = "
        "round((ST_Area(geom) / 10000)::numeric, 3), batch_id FROM scratch_tenures "
        "ORDER BY expediente"
    ).fetchall()
    assert [r[0] for r in rows] == [f"BK-{i}" for i in range(9)]
    assert rows[0][1:4] == ("title", ["MINERA DE PRUEBA S.A.S."], ["ORO", "PLATA"])
    assert rows[3][3] == []
    assert {r[5:7] for r in rows} == {(9377, "MULTIPOLYGON")}
    assert rows[4][7] == 2 and all(r[8] for r in rows)
    assert {r[9] for r in rows} == {summary.batch_id}
    indexes_after = db.execute(
        "SELECT indexdef FROM pg_indexes WHERE tablename = %s ORDER BY 1", [scratch_tenures]
    ).fetchall()
    assert indexes_after == indexes_before
    assert db.execute(keys, [scratch_tenures]).fetchall() == keys_before


def test_bulk_load_with_duplicate_keys_falls_back_and_names_them(
    db, tmp_path, monkeypatch, scratch_tenures
):
    from geo.errors import DomainError

    module = _bulk_importer(monkeypatch, scratch_tenures, rows=5)
    features = [tenure(f"BD-{i}", -75.7 + i * 0.02, 6.2) for i in range(8)]
    features.append(tenure("BD-2", -75.0, 6.2))
    before = counts(db)
    with pytest.raises(DomainError) as caught:
        module.run_import("mining_tenures", write_geojson(tmp_path / "bd.geojson", features))
    assert "expediente 'BD-2', tenure_type 'title' en las filas 3, 9" in caught.value.detail
    assert counts(db) == before
    assert db.execute("SELECT count(*) FROM scratch_tenures").fetchone()[0] == 0
