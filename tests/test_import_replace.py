"""`--replace`: a new full edition of a register removes what it no longer brings, only among
the rows of the same publisher, in the same transaction, counted and reported."""

from __future__ import annotations

import json

import pytest

from geo.errors import DomainError
from tests.import_files import counts, forget_imports_since, last_batch, tenure, write_geojson

SOURCE = "Prueba de reemplazo"  # the publisher of these files only: --replace stays among them


@pytest.fixture
def clean(db):
    start = last_batch(db)
    yield
    forget_imports_since(db, start)


def edition(tmp_path, name: str, codes: list[str], stage: str = "Explotación"):
    rows = [tenure(code, -75.6 + i * 0.02, 6.4, etapa=stage) for i, code in enumerate(codes)]
    return write_geojson(tmp_path / name, rows)


def stored(db) -> dict[str, tuple[str, str]]:
    rows = db.execute(
        "SELECT expediente, source, stage FROM layers_miningtenure "
        "WHERE expediente LIKE 'RPL-%' ORDER BY 1"
    ).fetchall()
    return {code: (source, stage) for code, source, stage in rows}


def test_new_edition_with_replace_drops_what_it_no_longer_brings_from_its_source(
    db, tmp_path, clean
):
    from layers.importer import run_import

    mine = {"source": SOURCE}
    run_import(
        "mining_tenures", edition(tmp_path, "ed1.geojson", ["RPL-1", "RPL-2", "RPL-3"]), fixed=mine
    )
    other = edition(tmp_path, "otra.geojson", ["RPL-9"])
    run_import("mining_tenures", other, fixed={"source": "Otra fuente"})

    # Without --replace a smaller edition only updates: RPL-3 stays.
    summary = run_import(
        "mining_tenures", edition(tmp_path, "ed2.geojson", ["RPL-1", "RPL-2"]), fixed=mine
    )
    assert (summary.updated, summary.deleted) == (2, 0)
    assert set(stored(db)) == {"RPL-1", "RPL-2", "RPL-3", "RPL-9"}

    # A dry run says what --replace would delete and writes nothing.
    before = counts(db)
    path = edition(tmp_path, "ed3.geojson", ["RPL-1", "RPL-2"], stage="Exploración")
    dry = run_import("mining_tenures", path, fixed=mine, replace=True, dry_run=True)
    assert (dry.updated, dry.deleted) == (2, 1)
    assert counts(db) == before

    summary = run_import("mining_tenures", path, fixed=mine, replace=True)
    assert (summary.inserted, summary.updated, summary.deleted) == (0, 2, 1)
    assert "2 actualizadas, 1 borradas (--replace)" in summary.text()
    assert stored(db) == {
        "RPL-1": (SOURCE, "exploración"),
        "RPL-2": (SOURCE, "exploración"),
        "RPL-9": ("Otra fuente", "explotación"),  # another publisher's row stays
    }
    recorded = db.execute(
        "SELECT counts->>'deleted' FROM layers_importbatch WHERE id = %s", [summary.batch_id]
    ).fetchone()[0]
    assert recorded == "1"


def test_replace_with_skip_rejected_is_refused_before_anything_is_written(db, tmp_path, clean):
    from layers.importer import run_import

    before = counts(db)
    path = edition(tmp_path, "ed.geojson", ["RPL-5"])
    with pytest.raises(DomainError) as refused:
        run_import("mining_tenures", path, replace=True, skip_rejected=True)
    assert "--replace no se combina con --skip-rejected" in refused.value.detail
    assert counts(db) == before


def test_cli_replace_reports_the_deleted_rows_in_json(db, tmp_path, capsys, clean):
    from app.cli import main

    first = edition(tmp_path, "a.geojson", ["RPL-7", "RPL-8"])
    second = edition(tmp_path, "b.geojson", ["RPL-7"])
    fixed = ["--set", f"source={SOURCE}", "--json"]
    assert main(["import", "mining_tenures", str(first), *fixed]) == 0
    capsys.readouterr()
    assert main(["import", "mining_tenures", str(second), "--replace", *fixed]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert (summary["updated"], summary["deleted"], summary["replace"]) == (1, 1, True)
    assert set(stored(db)) == {"RPL-7"}


def test_every_layer_bounds_replace_by_columns_it_stages():
    from layers.importer import importer_classes
    from layers.importers import importable_layers

    bounds = {}
    for layer in importable_layers():
        for cls in importer_classes(layer):
            columns = {c.name for c in cls.columns}
            assert set(cls.replace_columns()) <= columns, (layer, cls.__name__)
            bounds[layer] = cls.replace_columns()
    assert bounds["mining_tenures"] == ("source",)
    assert bounds["hydro_units"] == ("system",)
    assert bounds["ethnic_territories"] == ("kind",)
    assert bounds["protected_areas"] == ("category",)
    assert bounds["municipalities"] == ()
