"""Imports over a connection of their own (the CLI, without Django), the batch foreign key
checked once in bulk loads, and batches prepared in parallel but reported in file order."""

from __future__ import annotations

import hashlib
import json
import subprocess
import sys
from pathlib import Path

import pytest

from tests.import_files import (
    counts,
    feature,
    forget_imports_since,
    last_batch,
    polygon,
    square,
    tenure,
    write_geojson,
)

ROOT = Path(__file__).resolve().parents[1]


@pytest.fixture
def clean(db):
    start = last_batch(db)
    yield
    forget_imports_since(db, start)


def test_cli_import_needs_no_django_and_records_the_batch_with_sql(
    db, database_url, tmp_path, clean
):
    path = write_geojson(
        tmp_path / "sin-django.geojson",
        [tenure("ND-1", -75.6, 6.2), tenure("ND-2", -75.5, 6.2, tipo="solicitud")],
    )
    script = (
        "import sys\n"
        "from app.cli import main\n"
        f"code = main(['import', 'mining_tenures', {str(path)!r}, '--json', '--user', 'ana'])\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] == 'django'), file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    env = {"DATABASE_URL": database_url, "PATH": "/usr/bin:/bin"}
    done = subprocess.run(
        [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
    )
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip().splitlines()[-1] == "[]"  # no Django module was imported
    summary = json.loads(done.stdout)
    assert (summary["read"], summary["inserted"], summary["updated"]) == (2, 2, 0)
    batch = db.execute(
        'SELECT layer, file_name, source_layer, checksum, "user", started_at <= finished_at, '
        "counts FROM layers_importbatch WHERE id = %s",
        [summary["batch_id"]],
    ).fetchone()
    assert batch[:6] == (
        "mining_tenures",
        "sin-django.geojson",
        "sin-django",
        hashlib.sha256(path.read_bytes()).hexdigest(),
        "ana",
        True,
    )
    assert {k: v for k, v in batch[6].items() if k != "seconds"} == {
        "read": 2,
        "inserted": 2,
        "updated": 0,
        "deleted": 0,
        "repaired": 0,
        "rejected": 0,
        "schema": "ANM vía observatorio CORPOURABA",
    }
    rows = db.execute(
        "SELECT expediente, tenure_type, stage, batch_id FROM layers_miningtenure "
        "WHERE expediente LIKE 'ND-%' ORDER BY 1"
    ).fetchall()
    assert rows == [
        ("ND-1", "title", "explotación", summary["batch_id"]),
        ("ND-2", "application", "explotación", summary["batch_id"]),
    ]


def test_own_connection_failure_midway_leaves_rows_and_batches_untouched(
    db, database_url, tmp_path, monkeypatch
):
    from layers import importer as importer_module
    from layers.importers.tenures import CorpourabaTenures

    class FailingTenures(CorpourabaTenures):
        batch_size = 2

        def after_upsert(self, cursor, batch_id, summary):
            cursor.execute("SELECT count(*) FROM layers_miningtenure WHERE expediente LIKE 'OF-%'")
            assert cursor.fetchone()[0] == 5  # inside the transaction the rows are there
            raise RuntimeError("fallo simulado a mitad de la importación")

    monkeypatch.setattr(importer_module, "importer_classes", lambda layer: [FailingTenures])
    path = write_geojson(
        tmp_path / "of.geojson", [tenure(f"OF-{i}", -75.7 + i * 0.02, 6.2) for i in range(5)]
    )
    before = counts(db)
    with pytest.raises(RuntimeError, match="fallo simulado"):
        importer_module.run_import("mining_tenures", path, database_url=database_url)
    assert counts(db) == before


def test_own_connection_refusal_is_spanish_and_dry_run_writes_nothing(
    db, database_url, tmp_path, monkeypatch, clean
):
    from geo.errors import DomainError
    from layers import importer as importer_module
    from layers.importers.tenures import CorpourabaTenures

    path = write_geojson(tmp_path / "dr.geojson", [tenure("OD-1", -75.6, 6.2)])
    before = counts(db)
    summary = importer_module.run_import(
        "mining_tenures", path, dry_run=True, database_url=database_url
    )
    assert (summary.inserted, summary.updated, summary.batch_id) == (1, 0, None)
    assert counts(db) == before

    class BrokenTable(CorpourabaTenures):
        table = "layers_no_such_table"

    monkeypatch.setattr(importer_module, "importer_classes", lambda layer: [BrokenTable])
    with pytest.raises(DomainError) as caught:
        importer_module.run_import("mining_tenures", path, database_url=database_url)
    assert "falló y no se escribió nada" in caught.value.detail
    assert counts(db) == before


def test_declared_defaults_and_catalogue_lengths_match_the_models(db):
    """What the import reads without Django equals what the Django models say."""
    from django.apps import apps

    from layers.import_database import column_limits
    from layers.importer import model_defaults
    from layers.importers import CATALOGUE, catalogue

    checked = 0
    for layer in CATALOGUE:
        for cls in catalogue(layer):
            columns = cls.all_columns()
            if cls.defaults is not None:
                assert cls.defaults == model_defaults(cls.model, columns), cls.__name__
                checked += 1
            meta = apps.get_model(cls.model)._meta
            names = {f.name for f in meta.get_fields()}
            lengths = {
                c.name: meta.get_field(c.name).max_length
                for c in columns
                if c.name in names and getattr(meta.get_field(c.name), "max_length", None)
            }
            with db.cursor() as cursor:
                limits = column_limits(cursor, cls.table)
            assert {n: limits[n] for n in lengths} == lengths, cls.__name__
    assert checked >= 6


@pytest.fixture
def scratch_tenures(db):
    """An empty copy of the tenure table (indexes, constraints, batch foreign key)."""
    db.execute("DROP TABLE IF EXISTS scratch_direct")
    db.execute("CREATE TABLE scratch_direct (LIKE layers_miningtenure INCLUDING ALL)")
    db.execute(
        "ALTER TABLE scratch_direct ADD FOREIGN KEY (batch_id) REFERENCES layers_importbatch(id)"
        " DEFERRABLE INITIALLY DEFERRED"
    )
    start = last_batch(db)
    yield "scratch_direct"
    db.execute("DROP TABLE scratch_direct")
    forget_imports_since(db, start)


BATCH_CHECK_STATE = """
    SELECT array_agg(DISTINCT t.tgenabled::text) FROM pg_trigger t
    JOIN pg_constraint c ON c.oid = t.tgconstraint
    WHERE t.tgrelid = %s::regclass AND c.conrelid = t.tgrelid
      AND c.confrelid = 'layers_importbatch'::regclass
"""


def _scratch_module(monkeypatch, table: str, fail_at: int | None = None):
    from layers import importer as importer_module
    from layers.importers.tenures import CorpourabaTenures

    class ScratchTenures(CorpourabaTenures):
        batch_size = 3

        def convert_batch(self, batch, issues):
            data = super().convert_batch(batch, issues)
            if fail_at is not None and "DF-" + str(fail_at) in data["expediente"].to_pylist():
                raise RuntimeError("fallo simulado en un lote")
            return data

    ScratchTenures.table = table
    monkeypatch.setattr(importer_module, "BULK_ROWS", 5)
    monkeypatch.setattr(importer_module, "importer_classes", lambda layer: [ScratchTenures])
    during: list = []
    load = importer_module.Importer._load

    def spy(self, cursor, *args, **kwargs):
        cursor.execute(BATCH_CHECK_STATE, [table])
        during.append(cursor.fetchone()[0])
        return load(self, cursor, *args, **kwargs)

    monkeypatch.setattr(importer_module.Importer, "_load", spy)
    return importer_module, during


def test_direct_load_checks_the_batch_once_and_keeps_the_foreign_key(
    db, database_url, tmp_path, monkeypatch, scratch_tenures
):
    module, during = _scratch_module(monkeypatch, scratch_tenures)
    features = [tenure(f"DF-{i}", -75.7 + i * 0.02, 6.2) for i in range(8)]
    for item in features:  # MultiPolygons only: their WKB is copied without an SRID header
        item["geometry"] = {
            "type": "MultiPolygon",
            "coordinates": [item["geometry"]["coordinates"]],
        }
    path = write_geojson(tmp_path / "df.geojson", features)
    summary = module.run_import("mining_tenures", path, database_url=database_url)
    assert (summary.read, summary.inserted) == (8, 8)
    assert during == [["D"]]  # per-row checks off while COPYing
    assert db.execute(BATCH_CHECK_STATE, [scratch_tenures]).fetchone()[0] == ["O"]
    rows = db.execute(
        f"SELECT count(*), array_agg(DISTINCT batch_id), array_agg(DISTINCT ST_SRID(geom)), "
        f"array_agg(DISTINCT GeometryType(geom)) FROM {scratch_tenures}"
    ).fetchone()
    assert rows == (8, [summary.batch_id], [9377], ["MULTIPOLYGON"])
    with pytest.raises(Exception, match="foreign key"):
        db.execute(f"UPDATE {scratch_tenures} SET batch_id = -1 WHERE expediente = 'DF-0'")


def test_direct_load_failing_in_a_later_batch_restores_everything(
    db, tmp_path, monkeypatch, scratch_tenures
):
    module, during = _scratch_module(monkeypatch, scratch_tenures, fail_at=7)
    path = write_geojson(
        tmp_path / "dx.geojson", [tenure(f"DF-{i}", -75.7 + i * 0.02, 6.2) for i in range(9)]
    )
    before = counts(db)
    with pytest.raises(RuntimeError, match="fallo simulado en un lote"):
        module.run_import("mining_tenures", path)
    assert during == [["D"]]
    assert counts(db) == before
    assert db.execute(f"SELECT count(*) FROM {scratch_tenures}").fetchone()[0] == 0
    assert db.execute(BATCH_CHECK_STATE, [scratch_tenures]).fetchone()[0] == ["O"]


def test_batches_prepared_in_parallel_are_reported_in_file_order(
    db, database_url, tmp_path, monkeypatch, clean
):
    from layers import importer as importer_module
    from layers.importers.tenures import CorpourabaTenures

    class SmallBatches(CorpourabaTenures):
        batch_size = 4

    monkeypatch.setattr(importer_module, "importer_classes", lambda layer: [SmallBatches])
    monkeypatch.setattr(importer_module, "FIRST_PIECE", 1)  # the first batch goes in quarters
    bow_tie = [[[-75.6, 6.2], [-75.59, 6.21], [-75.59, 6.2], [-75.6, 6.21], [-75.6, 6.2]]]
    features = [tenure(f"PO-{i}", -75.7 + i * 0.02, 6.2) for i in range(11)]
    for index in (1, 4, 6, 9):
        features[index]["geometry"] = polygon(bow_tie)
    seen: list[int] = []
    summary = importer_module.run_import(
        "mining_tenures",
        write_geojson(tmp_path / "po.geojson", features),
        database_url=database_url,
        progress=seen.append,
    )
    assert (summary.read, summary.inserted, summary.repaired) == (11, 11, 4)
    assert [r.split(" (")[0] for r in summary.repairs] == ["fila 2", "fila 5", "fila 7", "fila 10"]
    assert seen == [1, 1, 1, 1, 4, 3]


def test_an_importer_without_declared_defaults_starts_django_for_its_model(
    db, database_url, tmp_path, clean
):
    from layers.importer import run_import

    started: list[bool] = []
    features = [feature({"nombre": "Río Sin Nivel"}, polygon(square(-76.5, 7.5)))]
    summary = run_import(
        "hydro_units",
        write_geojson(tmp_path / "sin-nivel.geojson", features),
        system="pomca",
        database_url=database_url,
        start_django=lambda: started.append(True),
    )
    assert (summary.inserted, started) == (1, [True])
    level = db.execute(
        "SELECT level FROM hydrology_hydrounit WHERE name = 'Río Sin Nivel'"
    ).fetchone()[0]
    assert level == 1  # HydroUnit.level's model default, known only to Django
