"""`distritos hydrology derive|catchment|next-down` against the test database."""

from __future__ import annotations

import json
from pathlib import Path

import psycopg
import pytest
from pyproj import Transformer

from app.cli import main

META_DEM = Path(__file__).resolve().parent.parent / "data" / "samples" / "dem_meta_250m.tif"
pytestmark = pytest.mark.skipif(not META_DEM.exists(), reason="muestra del DEM del Meta ausente")


@pytest.fixture(scope="module")
def db(database_url):
    with psycopg.connect(database_url, autocommit=True) as conn:
        yield conn


@pytest.fixture(autouse=True)
def cli_database(database_url, monkeypatch):
    """The CLI reads DATABASE_URL; another test's app may have pointed it elsewhere."""
    monkeypatch.setenv("DATABASE_URL", database_url)


def meta_point(row: int, col: int) -> tuple[float, float]:
    from hydrology.catchment_service import conditioned

    fdir = conditioned(META_DEM).fdir
    x, y = fdir.transform * (col + 0.5, row + 0.5)
    return Transformer.from_crs(fdir.crs, 4326, always_xy=True).transform(x, y)


def test_cli_derive_stores_units_and_catalogues_the_dem(db, capsys):
    try:
        assert main(["hydrology", "derive", "--dem", str(META_DEM), "--threshold-km2", "50"]) == 0
        out = capsys.readouterr().out
        units = db.execute(
            "SELECT count(*) FROM hydrology_hydrounit WHERE code LIKE 'dem_meta_250m-%%'"
        ).fetchone()[0]
        assert units > 100
        assert out.startswith(f"{units} subcuencas (sistema 'derived'")
        args = ["hydrology", "derive", "--dem", str(META_DEM), "--threshold-km2", "50"]
        assert main([*args, "--if-missing"]) == 0
        assert capsys.readouterr().out.startswith(f"Ya hay {units} subcuencas derivadas")
        theme = db.execute(
            "SELECT theme FROM layers_rasterlayer WHERE name = 'dem_meta_250m'"
        ).fetchone()
        assert theme == ("elevation",)
    finally:
        db.execute("DELETE FROM hydrology_hydrounit WHERE code LIKE 'dem_meta_250m-%%'")
        db.execute("DELETE FROM hydrology_river WHERE source = 'DEM dem_meta_250m'")
        db.execute("DELETE FROM layers_rasterlayer WHERE name = 'dem_meta_250m'")


def test_cli_refuses_a_threshold_that_makes_too_many_units(capsys):
    code = main(["hydrology", "derive", "--dem", str(META_DEM), "--threshold-km2", "0.01"])
    assert code == 1
    err = capsys.readouterr().err
    assert "Error: Un umbral de 0.01 km² produciría unas" in err
    assert "subcuencas" in err


def test_cli_catchment_writes_the_feature(tmp_path, capsys):
    from hydrology import flow
    from hydrology.catchment_service import conditioned

    grids = conditioned(META_DEM)
    row, col = divmod(int(grids.acc.cells[10:-10, 10:-10].argmax()), grids.acc.cells.shape[1] - 20)
    row, col = row + 10, col + 10
    lon, lat = meta_point(row, col)
    output = tmp_path / "cuenca.geojson"
    args = ["hydrology", "catchment", "--dem", str(META_DEM), "--lon", str(lon), "--lat", str(lat)]
    assert main([*args, "--snap-radius-m", "0", "--output", str(output)]) == 0
    feature = json.loads(output.read_text())
    expected = flow.catchment_mask(grids.fdir, row, col)
    assert feature["properties"]["area_ha"] == pytest.approx(expected.area_ha, rel=1e-6)
    assert feature["geometry"]["type"] == "MultiPolygon"
    assert "Cuenca de (" in capsys.readouterr().out


def test_cli_catchment_outside_the_dem_fails_with_the_reason(capsys):
    args = ["hydrology", "catchment", "--dem", str(META_DEM), "--lon", "-75", "--lat", "6"]
    assert main(args) == 1
    assert "está fuera del DEM 'dem_meta_250m'" in capsys.readouterr().err
