"""bench/datagen.py at small sizes: counts, CRS, unique codes and a valid drainage tree."""

from __future__ import annotations

import re

import numpy as np
import pyogrio
import pytest
import rasterio
import shapely

from bench import datagen

N_TENURES, N_HOTSPOTS, N_UNITS = 1_500, 600, 400


@pytest.fixture(scope="module")
def out(tmp_path_factory):
    folder = tmp_path_factory.mktemp("datagen")
    report = datagen.generate(
        folder,
        seed=7,
        tenures=N_TENURES,
        hotspots=N_HOTSPOTS,
        hydro=N_UNITS,
        department="63",  # Quindío: small, so the raster is quick
        resolution=250.0,
        chunk_size=600,
        workers=1,
    )
    assert report["tenures"]["count"] == N_TENURES
    return folder


def _read(path):
    return pyogrio.read_dataframe(path)


def test_every_output_is_in_magna_origen_nacional(out):
    for name in ("tenures", "hotspots", "hydro_units"):
        info = pyogrio.read_info(out / f"{name}.gpkg")
        assert info["crs"] == "EPSG:9377"
        assert info["geometry_type"] == "MultiPolygon"
    with rasterio.open(out / "aptitude_63.tif") as ds:
        assert ds.crs.to_epsg() == 9377


def test_tenures_count_codes_and_fields(out):
    tenures = _read(out / "tenures.gpkg")
    assert len(tenures) == N_TENURES
    codes = tenures["CODIGO_EXPEDIENTE"]
    assert codes.is_unique
    assert codes.map(lambda c: bool(re.fullmatch(r"[A-Z]{3}-\d{5}", c))).all()
    assert tenures["MPIO_CCNCT"].str.fullmatch(r"\d{5}").all()
    _, dane_codes = datagen.load_municipalities()
    assert set(tenures["MPIO_CCNCT"]) <= set(dane_codes)
    assert tenures["FECHA_RADICACION"].between(631_152_000_000, 1_735_689_600_000).all()
    # Titles carry a stage, applications do not.
    is_title = tenures["TITULO_ESTADO"].str.startswith("Título")
    assert tenures.loc[is_title, "ETAPA"].notna().all()
    assert tenures.loc[~is_title, "ETAPA"].isna().all()


def test_tenures_are_connected_unions_of_5_to_300_anm_cells(out):
    tenures = _read(out / "tenures.gpkg")
    geoms = tenures.geometry.to_numpy()
    assert shapely.is_valid(geoms).all()
    assert (shapely.get_num_geometries(geoms) == 1).all()
    # An ANM cell (0.001° square) is 1.18..1.24 ha across Colombia's latitudes in EPSG:9377.
    area_ha = shapely.area(geoms) / 1e4
    assert np.allclose(area_ha, tenures["AREA_HA"], atol=1e-3)
    assert area_ha.min() >= 5 * 1.15
    assert area_ha.max() <= 300 * 1.26


def test_hotspots_are_synthetic_and_near_the_tenures(out):
    hotspots = _read(out / "hotspots.gpkg")
    tenures = _read(out / "tenures.gpkg")
    assert len(hotspots) == N_HOTSPOTS
    assert hotspots["synthetic"].all()
    assert hotspots["source_id"].is_unique
    assert set(hotspots["category"]) <= {
        "explotacion_ilicita",
        "en_transito_legalidad",
        "con_permisos",
        "desconocida",
    }
    assert set(hotspots["setting"]) <= {"aluvial_tierra", "aluvial_agua", "veta"}
    info = pyogrio.read_info(out / "hotspots.gpkg")
    assert dict(zip(info["fields"], info["ogr_types"], strict=True))["detected_on"] == "OFTDate"
    tree = shapely.STRtree(tenures.geometry.to_numpy())
    _, distance = tree.query_nearest(hotspots.geometry.to_numpy(), return_distance=True)
    assert np.median(distance) < 2_000
    assert distance.max() < 25_000


def test_hydro_units_cover_colombia_with_an_acyclic_drainage_tree(out):
    units = _read(out / "hydro_units.gpkg")
    assert len(units) == N_UNITS
    assert units["HYBAS_ID"].is_unique
    ids = units["HYBAS_ID"].to_numpy()
    index = {h: i for i, h in enumerate(ids)}
    next_down = units["NEXT_DOWN"].to_numpy()
    assert set(next_down[next_down != 0]) <= set(ids)
    outlets = next_down == 0
    assert outlets.sum() >= 3
    geoms = units.geometry.to_numpy()
    # Every NEXT_DOWN shares an edge with its unit.
    downstream = np.array([index[d] for d in next_down[~outlets]])
    shared = shapely.length(shapely.intersection(geoms[~outlets], geoms[downstream]))
    assert (shared > 1.0).all()
    # Following NEXT_DOWN from any unit reaches an outlet in fewer than N steps: no cycles.
    for start in range(len(ids)):
        unit, steps = start, 0
        while next_down[unit] != 0:
            unit = index[next_down[unit]]
            steps += 1
            assert steps < len(ids)
        assert ids[unit] == units["NEXT_SINK"].iloc[start]
    # UP_AREA of the outlets adds up to the whole tessellation, which covers the country.
    total = units["SUB_AREA"].sum()
    assert units.loc[outlets, "UP_AREA"].sum() == pytest.approx(total, rel=1e-6)
    assert total * 1e6 == pytest.approx(datagen.country_9377().area, rel=1e-3)
    assert units["PFAF_ID"].astype(str).str.startswith("6").all()


def test_aptitude_raster_has_five_coherent_classes_and_says_synthetic(out):
    with rasterio.open(out / "aptitude_63.tif") as ds:
        data = ds.read(1)
        assert ds.dtypes[0] == "uint8"
        assert ds.nodata == 0
        assert ds.res == (250.0, 250.0)
        assert ds.tags()["SYNTHETIC"] == "true"
    inside = data[data > 0]
    assert set(np.unique(inside)) == {1, 2, 3, 4, 5}
    # Spatially coherent: most horizontal neighbours share their class.
    pairs = (data[:, 1:] > 0) & (data[:, :-1] > 0)
    assert (data[:, 1:] == data[:, :-1])[pairs].mean() > 0.8


def test_same_seed_same_tenures(tmp_path):
    a = datagen.write_tenures(tmp_path / "a.gpkg", 300, seed=11, chunk_size=200)
    b = datagen.write_tenures(tmp_path / "b.gpkg", 300, seed=11, chunk_size=200)
    assert a == b == {"tenures": 300, "hotspots": 0}
    first, second = _read(tmp_path / "a.gpkg"), _read(tmp_path / "b.gpkg")
    assert first.drop(columns="geometry").equals(second.drop(columns="geometry"))
    assert (first.geometry.to_wkb() == second.geometry.to_wkb()).all()
