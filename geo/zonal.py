"""Zonal statistics with exact partial-cell coverage (exactextract as the engine).

Every cell counts by the exact fraction of it the polygon covers, so a unit that takes half
a cell gets half of that cell's area: class shares of small units (tenures, fine basins)
stay honest where centre-of-cell or all-touched rules would round them to whole cells.
The raster under all the polygons is read once when that window is under 256 MB, else
window by window through rasterio (exactextract's feature-sequential processor asks only
for the window under each polygon), so memory stays bounded whatever the raster size.
Polygons are reprojected to the raster's CRS when they come in another one.
"""

from __future__ import annotations

import math
import os
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import rasterio
import shapely
from exactextract.feature import FeatureSource, JSONFeature
from exactextract.operation import prepare_operations
from exactextract.processor import FeatureSequentialProcessor
from exactextract.raster import NumPyRasterSource, RasterioRasterSource
from exactextract.writer import Writer
from pyproj import CRS, Transformer
from rasterio.enums import MaskFlags
from rasterio.errors import WindowError
from rasterio.windows import Window, from_bounds
from rasterio.windows import bounds as window_bounds
from shapely.geometry.base import BaseGeometry

from geo.errors import InvalidInput

RasterInput = str | os.PathLike | rasterio.io.DatasetReader
# Largest raster window read whole for one zonal pass (bigger ones are read per polygon).
MAX_IN_MEMORY_BYTES = 256 * 1024 * 1024


@dataclass(frozen=True, slots=True)
class ClassCoverage:
    """Class shares of one polygon over a class raster (areas in raster CRS units², m² in 9377).

    `fractions` are shares of the polygon's *valid* raster area (exactextract's `frac`), so
    they sum to 1 whenever any valid cell is covered. `covered_fraction`, `nodata_fraction`
    and `outside_fraction` split the polygon's own area and sum to 1.
    """

    area: float
    fractions: dict[int, float]
    class_area: dict[int, float]
    covered_fraction: float
    nodata_fraction: float
    outside_fraction: float


@dataclass(frozen=True, slots=True)
class ValueStats:
    """Coverage-weighted mean and min/max of a continuous raster (e.g. elevation) in a polygon."""

    area: float
    mean: float | None
    min: float | None
    max: float | None
    covered_fraction: float
    nodata_fraction: float
    outside_fraction: float


def class_coverage(
    raster: RasterInput,
    polygons: Sequence[BaseGeometry | None] | np.ndarray,
    *,
    polygons_crs: Any | None = None,
    band: int = 1,
) -> list[ClassCoverage]:
    """Area share of each class value per polygon, with exact partial-cell coverage."""
    with _open(raster) as ds:
        geoms, cell_area, extent = _prepare(ds, polygons, polygons_crs)
        rows = _run(ds, band, geoms, ["unique", "frac", "count"])
    out = []
    for i, geom in enumerate(geoms):
        area, inside = _areas(geom, extent)
        row = rows.get(i)
        if row is None or area == 0.0:
            out.append(_empty_classes(area, inside))
            continue
        covered = float(row["count"]) * cell_area
        classes = [int(v) for v in row["unique"]]
        fracs = [float(f) for f in row["frac"]]
        order = np.argsort(classes)
        out.append(
            ClassCoverage(
                area=area,
                fractions={classes[k]: fracs[k] for k in order},
                class_area={classes[k]: fracs[k] * covered for k in order},
                covered_fraction=covered / area,
                nodata_fraction=max(inside - covered, 0.0) / area,
                outside_fraction=(area - inside) / area,
            )
        )
    return out


def value_stats(
    raster: RasterInput,
    polygons: Sequence[BaseGeometry | None] | np.ndarray,
    *,
    polygons_crs: Any | None = None,
    band: int = 1,
) -> list[ValueStats]:
    """Coverage-weighted mean, min and max of a continuous raster per polygon."""
    with _open(raster) as ds:
        geoms, cell_area, extent = _prepare(ds, polygons, polygons_crs)
        rows = _run(ds, band, geoms, ["mean", "min", "max", "count"])
    out = []
    for i, geom in enumerate(geoms):
        area, inside = _areas(geom, extent)
        row = rows.get(i)
        covered = float(row["count"]) * cell_area if row else 0.0
        valid = covered > 0.0 and area > 0.0
        out.append(
            ValueStats(
                area=area,
                mean=float(row["mean"]) if valid else None,
                min=float(row["min"]) if valid else None,
                max=float(row["max"]) if valid else None,
                covered_fraction=covered / area if area else 0.0,
                nodata_fraction=max(inside - covered, 0.0) / area if area else 0.0,
                outside_fraction=(area - inside) / area if area else 0.0,
            )
        )
    return out


class _open:
    """Open a path with rasterio, or borrow an already open dataset without closing it."""

    def __init__(self, raster: RasterInput) -> None:
        self._owned = not isinstance(raster, rasterio.io.DatasetReader)
        self._ds = rasterio.open(raster) if self._owned else raster

    def __enter__(self) -> rasterio.io.DatasetReader:
        return self._ds

    def __exit__(self, *exc: object) -> None:
        if self._owned:
            self._ds.close()


def _prepare(
    ds: rasterio.io.DatasetReader, polygons: Any, polygons_crs: Any | None
) -> tuple[np.ndarray, float, tuple[float, float, float, float]]:
    """Polygons as a geometry array in the raster CRS, the cell area and the raster extent."""
    geoms = np.asarray(polygons, dtype=object)
    if geoms.ndim != 1:
        geoms = geoms.reshape(-1)
    present = ~shapely.is_missing(geoms)
    kinds = shapely.get_type_id(geoms[present])
    # 3 Polygon, 6 MultiPolygon; anything else has no area to share out.
    if np.any((kinds != 3) & (kinds != 6) & ~shapely.is_empty(geoms[present])):
        bad = int(np.flatnonzero(present)[np.flatnonzero((kinds != 3) & (kinds != 6))[0]])
        raise InvalidInput(
            f"La geometría {bad} no es poligonal: las estadísticas zonales necesitan polígonos.",
            where="geometry",
        )
    if polygons_crs is not None:
        if ds.crs is None:
            raise InvalidInput("El ráster no tiene sistema de referencia; no se puede reproyectar.")
        src, dst = CRS.from_user_input(polygons_crs), CRS.from_user_input(ds.crs.to_wkt())
        if src != dst:
            transformer = Transformer.from_crs(src, dst, always_xy=True)
            geoms = geoms.copy()
            geoms[present] = shapely.transform(
                geoms[present], lambda xy: np.column_stack(transformer.transform(*xy.T))
            )
    dx, dy = ds.res
    b = ds.bounds
    return geoms, float(dx * dy), (b.left, b.bottom, b.right, b.top)


def _areas(
    geom: BaseGeometry | None, extent: tuple[float, float, float, float]
) -> tuple[float, float]:
    """Polygon area and the part of it inside the raster extent."""
    if geom is None or geom.is_empty:
        return 0.0, 0.0
    return float(geom.area), float(shapely.clip_by_rect(geom, *extent).area)


def _empty_classes(area: float, inside: float) -> ClassCoverage:
    return ClassCoverage(
        area=area,
        fractions={},
        class_area={},
        covered_fraction=0.0,
        nodata_fraction=inside / area if area else 0.0,
        outside_fraction=(area - inside) / area if area else 0.0,
    )


class _WkbFeature(JSONFeature):
    """A feature carrying only its index and WKB: no GeoJSON text round trip per polygon."""

    def __init__(self, index: int, wkb: bytes) -> None:
        super().__init__({"type": "Feature", "id": index, "properties": {}})
        self._wkb = wkb

    def geometry(self) -> bytes:
        return self._wkb


class _WkbSource(FeatureSource):
    """The non-empty polygons that touch the raster extent, fed to exactextract as WKB."""

    def __init__(self, geoms: np.ndarray, index: np.ndarray) -> None:
        super().__init__()
        self._geoms = geoms
        self._index = index

    def count(self) -> int:
        return len(self._index)

    def srs_wkt(self) -> None:
        # Polygons are already in the raster CRS (reprojected in _prepare).
        return None

    def __iter__(self) -> Iterator[_WkbFeature]:
        for i, wkb in zip(self._index, shapely.to_wkb(self._geoms), strict=True):
            yield _WkbFeature(int(i), wkb)


class _RowWriter(Writer):
    """Collects each feature's results into a dict keyed by the polygon index."""

    def __init__(self) -> None:
        super().__init__()
        self.rows: dict[int, dict[str, Any]] = {}

    def write(self, feature: Any) -> None:
        f = JSONFeature()
        feature.copy_to(f)
        self.rows[f.feature["id"]] = f.feature["properties"]


def _in_memory_source(
    ds: rasterio.io.DatasetReader, band: int, geoms: np.ndarray
) -> NumPyRasterSource | None:
    """The raster under all the polygons read in one go, when that window is small enough.

    One read instead of one per polygon: ~20 % less time for a department's units, identical
    fractions. Large windows (and scaled bands) keep exactextract's window-by-window reads.
    """
    if ds.scales[band - 1] != 1 or ds.offsets[band - 1] != 0:
        return None
    # Only a plain nodata value (or none) is passed on; masks and alpha bands keep the
    # per-polygon reads, which apply them.
    flags = ds.mask_flag_enums[band - 1]
    if any(flag not in (MaskFlags.all_valid, MaskFlags.nodata) for flag in flags):
        return None
    exact = from_bounds(*shapely.total_bounds(geoms), transform=ds.transform)
    # Whole cells covering the polygons: floor of the near edges, ceiling of the far ones.
    col, row = math.floor(exact.col_off), math.floor(exact.row_off)
    width = math.ceil(exact.col_off + exact.width) - col
    height = math.ceil(exact.row_off + exact.height) - row
    try:
        window = Window(col, row, width, height).intersection(Window(0, 0, ds.width, ds.height))
    except WindowError:
        return None
    itemsize = np.dtype(ds.dtypes[band - 1]).itemsize
    if window.width * window.height * itemsize > MAX_IN_MEMORY_BYTES:
        return None
    values = ds.read(band, window=window)
    nodata = ds.nodatavals[band - 1]
    if nodata is not None:
        nodata = values.dtype.type(nodata)
    left, bottom, right, top = window_bounds(window, ds.transform)
    return NumPyRasterSource(values, left, bottom, right, top, nodata=nodata)


def _run(
    ds: rasterio.io.DatasetReader, band: int, geoms: np.ndarray, stats: list[str]
) -> dict[int, dict[str, Any]]:
    """Run exactextract over the polygons that can touch the raster; rows by polygon index."""
    b = ds.bounds
    live = ~shapely.is_missing(geoms)
    live[live] = ~shapely.is_empty(geoms[live])
    index = np.flatnonzero(live)
    if len(index):
        # Polygons whose bbox misses the raster have no cell to count: skip them up front.
        bounds = shapely.bounds(geoms[index])
        hit = (
            (bounds[:, 0] < b.right)
            & (bounds[:, 2] > b.left)
            & (bounds[:, 1] < b.top)
            & (bounds[:, 3] > b.bottom)
        )
        index = index[hit]
    if not len(index):
        return {}
    source = _in_memory_source(ds, band, geoms[index]) or RasterioRasterSource(ds, band)
    ops = prepare_operations(stats, [source], [None])
    # Keep every object exactextract's C++ side points at referenced until process() ends.
    features = _WkbSource(geoms[index], index)
    writer = _RowWriter()
    processor = FeatureSequentialProcessor(features, writer, ops, ["id"])
    processor.process()
    writer.finish()
    return writer.rows
