"""The CRS an import reads: the storage CRS known without pyproj, others through pyproj, and
Colombia's envelope in EPSG:9377 equal to what pyproj computes."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pytest
from pyproj import CRS

from geo.crs import COLOMBIA_LONLAT, COLOMBIA_STORAGE, FileCRS, transformer
from tests.import_files import forget_imports_since, last_batch, tenures_frame

ROOT = Path(__file__).resolve().parents[1]


def test_colombia_in_storage_crs_is_pyprojs_envelope_to_the_metre():
    west, south, east, north = COLOMBIA_LONLAT
    exact = transformer(4326).transform_bounds(west, south, east, north, densify_pts=21)
    minx, miny, maxx, maxy = COLOMBIA_STORAGE
    # Whole metres, widened: the constant holds pyproj's envelope and exceeds it by < 1 m.
    assert minx <= exact[0] < minx + 1 and miny <= exact[1] < miny + 1
    assert maxx - 1 < exact[2] <= maxx and maxy - 1 < exact[3] <= maxy


@pytest.mark.parametrize(
    ("text", "srid", "geographic", "name"),
    [
        ("EPSG:9377", 9377, False, "EPSG:9377"),
        ("epsg:9377", 9377, False, "EPSG:9377"),
        ("EPSG:3116", 3116, False, "EPSG:3116"),
        ("EPSG:4326", 4326, True, "EPSG:4326"),
        ("+proj=tmerc +lat_0=4 +lon_0=-73 +k=0.9992 +x_0=5e6 +y_0=2e6", 0, False, "unknown"),
    ],
)
def test_file_crs_gives_code_kind_and_name(text, srid, geographic, name):
    crs = FileCRS.parse(text)
    assert (crs.srid, crs.geographic, crs.name) == (srid, geographic, name)


def test_file_crs_compares_whatever_the_axis_order_and_transforms_from_its_definition():
    assert FileCRS.parse("EPSG:4326").same_as(FileCRS.parse("OGC:CRS84"))
    assert not FileCRS.parse("EPSG:4326").same_as(FileCRS.parse("EPSG:9377"))
    magna = FileCRS.parse(CRS.from_epsg(3116).to_wkt())
    assert magna.srid == 3116 and magna.same_as(FileCRS.parse("EPSG:3116"))
    x, y = transformer(magna.definition).transform(1_000_000.0, 1_000_000.0)
    assert (round(x), round(y)) == tuple(
        round(v) for v in transformer(3116).transform(1_000_000.0, 1_000_000.0)
    )


def test_cli_import_of_a_storage_crs_file_loads_neither_pandas_nor_pyproj(
    db, database_url, tmp_path
):
    start = last_batch(db)
    frame = tenures_frame(["CRS-1", "CRS-2"], crs=9377)
    path = tmp_path / "titulos_9377.gpkg"
    frame.to_file(path, driver="GPKG")
    script = (
        "import sys\n"
        "from app.cli import main\n"
        f"code = main(['import', 'mining_tenures', {str(path)!r}, '--json'])\n"
        "loaded = sorted({m.split('.')[0] for m in sys.modules} & "
        "{'pandas', 'geopandas', 'pyproj'})\n"
        "print(loaded, file=sys.stderr)\n"
        "sys.exit(code)\n"
    )
    env = {"DATABASE_URL": database_url, "PATH": "/usr/bin:/bin"}
    try:
        done = subprocess.run(
            [sys.executable, "-c", script], cwd=ROOT, env=env, capture_output=True, text=True
        )
        assert done.returncode == 0, done.stderr
        assert done.stderr.strip().splitlines()[-1] == "[]"
        summary = json.loads(done.stdout)
        assert (summary["source_crs"], summary["inserted"], summary["rejected"]) == (
            "EPSG:9377",
            2,
            0,
        )
        stored = db.execute(
            "SELECT expediente, area_ha, ST_SRID(geom) FROM layers_miningtenure "
            "WHERE expediente LIKE 'CRS-%' ORDER BY 1"
        ).fetchall()
        expected = (frame.area / 10_000).tolist()  # the file's own polygons, in hectares
        assert [(code, srid) for code, _, srid in stored] == [("CRS-1", 9377), ("CRS-2", 9377)]
        assert [area for _, area, _ in stored] == pytest.approx(expected, rel=1e-12)
    finally:
        forget_imports_since(db, start)
