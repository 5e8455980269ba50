"""Raster import: any CRS in, Cloud-Optimised GeoTIFF under DATA_DIR, catalogued with classes."""

from __future__ import annotations

import json

import numpy as np
import pytest
import rasterio
from rasterio.transform import from_origin

from tests.import_files import counts, forget_imports_since, last_batch


@pytest.fixture
def data_dir(tmp_path, monkeypatch):
    from django.conf import settings

    folder = tmp_path / "rasters"
    monkeypatch.setattr(settings, "DATA_DIR", folder)
    return folder


@pytest.fixture
def clean(db):
    start = last_batch(db)
    yield
    db.execute("DELETE FROM layers_rasterlayer WHERE name LIKE 'prueba-%'")
    forget_imports_since(db, start)


def _tif(path, *, crs="EPSG:3116", tags=None, dtype="uint8"):
    values = (np.arange(40 * 30).reshape(30, 40) % 5 + 1).astype(dtype)
    profile = {
        "driver": "GTiff",
        "width": 40,
        "height": 30,
        "count": 1,
        "dtype": dtype,
        "transform": from_origin(1_000_000, 1_100_000, 100, 100),
        "nodata": 0,
    }
    if crs:
        profile["crs"] = crs
    with rasterio.open(path, "w", **profile) as out:
        out.write(values, 1)
        if tags:
            out.update_tags(**tags)
    return path


def test_geotiff_in_magna_bogota_becomes_a_catalogued_cog(db, tmp_path, data_dir, clean):
    from layers.raster_import import import_raster

    classes = tmp_path / "clases.json"
    classes.write_text(
        json.dumps({"classes": [{"value": 1, "code": "baja", "label": "Baja", "color": "#ff0000"}]})
    )
    source = _tif(tmp_path / "aptitud.tif", tags={"SYNTHETIC": "true", "SOURCE": "prueba"})
    summary = import_raster(
        source, theme="aptitude", name="prueba-aptitud", title="Prueba", classes=classes
    )
    assert (summary.inserted, summary.updated) == (1, 0)
    row = db.execute(
        "SELECT theme, path, crs, resolution, nodata, bounds_4326, class_table, synthetic, "
        "source, batch_id FROM layers_rasterlayer WHERE name = 'prueba-aptitud'"
    ).fetchone()
    theme, path, crs, resolution, nodata, bounds, table, synthetic, source_text, batch = row
    assert (theme, path, crs, resolution, nodata) == (
        "aptitude",
        "prueba-aptitud.tif",
        "EPSG:3116",
        100.0,
        0.0,
    )
    # 1,000,000 / 1,100,000 in MAGNA-SIRGAS Bogotá is close to the origin (-74.08, 4.60).
    assert bounds[0] == pytest.approx(-74.077, abs=0.01)
    assert bounds[3] == pytest.approx(5.5, abs=0.2) and bounds[1] < bounds[3]
    assert table == [{"value": 1, "code": "baja", "label": "Baja", "color": "#ff0000"}]
    assert (synthetic, source_text, batch) == (True, "prueba", summary.batch_id)
    with rasterio.open(data_dir / "prueba-aptitud.tif") as cog:
        assert cog.tags(ns="IMAGE_STRUCTURE")["LAYOUT"] == "COG"
        assert cog.crs.to_epsg() == 3116
        assert int(cog.read(1)[0, 0]) == 1

    again = import_raster(source, theme="aptitude", name="prueba-aptitud", classes=classes)
    assert (again.inserted, again.updated) == (0, 1)
    total = db.execute(
        "SELECT count(*) FROM layers_rasterlayer WHERE name = 'prueba-aptitud'"
    ).fetchone()[0]
    assert total == 1


def test_class_table_from_the_geotiff_tags(db, tmp_path, data_dir, clean):
    from layers.raster_import import import_raster

    classes = [{"value": 2, "code": "media", "label": "Media", "color": "#00ff00"}]
    source = _tif(tmp_path / "t.tif", tags={"CLASSES": json.dumps(classes)})
    import_raster(source, theme="aptitude", name="prueba-tags")
    table, synthetic = db.execute(
        "SELECT class_table, synthetic FROM layers_rasterlayer WHERE name = 'prueba-tags'"
    ).fetchone()
    assert (table, synthetic) == (classes, False)


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"theme": "suelo", "name": "prueba-x"}, "--theme 'suelo' no existe"),
        ({"theme": "aptitude", "name": "con espacios"}, "--name 'con espacios' no es válido"),
    ],
)
def test_bad_raster_options(db, tmp_path, data_dir, kwargs, message):
    from geo.errors import DomainError
    from layers.raster_import import import_raster

    before = counts(db)
    with pytest.raises(DomainError) as caught:
        import_raster(_tif(tmp_path / "t.tif"), **kwargs)
    assert message in caught.value.detail
    assert counts(db) == before


def test_raster_without_crs_or_file_is_refused(db, tmp_path, data_dir):
    from geo.errors import DomainError
    from layers.raster_import import import_raster

    before = counts(db)
    with pytest.raises(DomainError) as caught:
        import_raster(_tif(tmp_path / "sin.tif", crs=None), theme="elevation", name="prueba-sin")
    assert "no declara su sistema de coordenadas" in caught.value.detail
    with pytest.raises(DomainError) as caught:
        import_raster(tmp_path / "falta.tif", theme="elevation", name="prueba-falta")
    assert "No existe el archivo" in caught.value.detail
    assert counts(db) == before
    assert not data_dir.exists() or not any(data_dir.iterdir())
