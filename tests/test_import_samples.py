"""`distritos load-samples`: every real and synthetic sample, in order, idempotent."""

from __future__ import annotations

import contextlib
import io
import json

import pytest

from tests.import_files import forget_imports_since, last_batch


@pytest.fixture(scope="module")
def samples_db(database_url):
    """A connection for this module (the function-scoped `db` cannot serve a module fixture)."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        yield conn


@pytest.fixture(scope="module")
def loaded(samples_db, tmp_path_factory):
    """Load the samples twice through the CLI; yield both JSON reports and the first batch id."""
    from django.conf import settings

    from app.cli import main

    data_dir = settings.DATA_DIR
    settings.DATA_DIR = tmp_path_factory.mktemp("rasters")
    start = last_batch(samples_db)
    reports = []
    try:
        for _ in range(2):
            out = io.StringIO()
            with contextlib.redirect_stdout(out):
                assert main(["load-samples", "--json"]) == 0
            reports.append(json.loads(out.getvalue()))
        yield reports, start
    finally:
        settings.DATA_DIR = data_dir
        forget_imports_since(samples_db, start)


def _count(db, table: str, start: int, where: str = "TRUE") -> int:
    return db.execute(
        f"SELECT count(*) FROM {table} WHERE batch_id > %s AND {where}", [start]
    ).fetchone()[0]


def test_samples_load_the_expected_layers(db, loaded):
    (first, _), start = loaded[0], loaded[1]
    del first
    assert _count(db, "layers_department", start) == 33
    assert _count(db, "layers_municipality", start) == 1122
    code, name, department = db.execute(
        "SELECT code, name, department_id FROM layers_municipality WHERE code = '05154'"
    ).fetchone()
    assert (code, name, department) == ("05154", "CAUCASIA", "05")
    assert _count(db, "layers_miningtenure", start) == 537
    assert _count(db, "layers_miningtenure", start, "tenure_type = 'title'") == 197
    assert _count(db, "layers_miningtenure", start, "tenure_type = 'application'") == 340
    assert _count(db, "hydrology_hydrounit", start, "system = 'pomca'") == 7
    assert _count(db, "hydrology_hydrounit", start, "system = 'watershed'") == 7
    assert _count(db, "layers_protectedarea", start, "category NOT LIKE 'ley2%%'") == 22
    assert _count(db, "layers_protectedarea", start, "category LIKE 'ley2%%'") == 3
    assert _count(db, "layers_ethnicterritory", start, "kind = 'resguardo_indigena'") == 40
    # The published file has 12 consejos; 'La Grande' has an empty geometry and is rejected.
    assert _count(db, "layers_ethnicterritory", start, "kind = 'consejo_comunitario'") == 11
    assert _count(db, "layers_mininghotspot", start, "synthetic") == 300
    rasters = db.execute(
        "SELECT name, theme, crs, synthetic, jsonb_array_length(class_table::jsonb) "
        "FROM layers_rasterlayer WHERE batch_id > %s ORDER BY name",
        [start],
    ).fetchall()
    assert rasters == [
        ("aptitud-sintetica-uraba", "aptitude", "EPSG:9377", True, 5),
        ("dem-meta-250m", "elevation", "EPSG:3116", False, 0),
    ]


def test_samples_report_the_rejected_consejo(loaded):
    (first, _), _start = loaded
    consejos = next(r for r in first if r["file"] == "comunidades_negras_oficial.geojson")
    assert consejos["rejected"] == 1
    assert consejos["rejections"] == [
        "fila 4 (id_consejo '20035', nombre 'La Grande'): geometría vacía"
    ]


def test_second_load_updates_and_never_duplicates(db, loaded):
    (first, second), start = loaded
    assert [r["read"] for r in first] == [r["read"] for r in second]
    assert sum(r["inserted"] for r in second) == 0
    assert sum(r["updated"] for r in second) == sum(r["inserted"] for r in first)
    assert _count(db, "layers_miningtenure", start) == 537
    assert _count(db, "layers_municipality", start) == 1122
