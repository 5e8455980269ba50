"""Conditioned DEM grids saved once and memory-mapped afterwards."""

from __future__ import annotations

import numpy as np
import rasterio
from rasterio.transform import from_origin

from hydrology import catchment_service, flow


def write_valley(path) -> None:
    cols = np.abs(np.arange(30) - 15).astype("float32")
    elevation = 100 + 10 * cols[None, :] + 2 * np.arange(30, dtype="float32")[:, None]
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=30,
        height=30,
        count=1,
        dtype="float32",
        crs="EPSG:9377",
        transform=from_origin(5_000_000, 2_000_000, 100, 100),
        nodata=-9999,
    ) as dst:
        dst.write(elevation, 1)


def test_conditioned_grids_are_saved_and_memory_mapped(tmp_path):
    dem = tmp_path / "valle.tif"
    write_valley(dem)
    cache = tmp_path / "cache"
    first = catchment_service.conditioned(dem, cache)
    saved = list(cache.iterdir())
    assert len(saved) == 1 and (saved[0] / "codes.npy").exists()
    assert not list(cache.glob("*.partial-*"))
    catchment_service._cache.clear()  # a new worker: only the disk copy is left
    again = catchment_service.conditioned(dem, cache)
    assert isinstance(again.fdir.codes, np.memmap)
    assert np.array_equal(again.fdir.codes, first.fdir.codes)
    assert np.array_equal(again.acc.cells, first.acc.cells)
    assert again.fdir.transform == first.fdir.transform
    # The valley drains north along column 15: its mouth collects every cell.
    outlet = flow.catchment(again.fdir, again.acc, 5_001_550, 1_999_950)
    assert outlet.cells == 900
    assert outlet.area_ha == flow.catchment(first.fdir, first.acc, 5_001_550, 1_999_950).area_ha
