"""Catchment of a point on a catalogued elevation raster (the API and CLI entry point).

Finds the DEM (named, or the finest catalogued elevation raster covering the point), refuses
points outside it or on nodata with the reason (422), conditions the DEM once per file
version (fill + D8 + accumulation are kept in a small in-process cache) and returns the
catchment polygon as a GeoJSON Feature with its area and snapped outlet.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections import OrderedDict
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import rasterio
from psycopg import Connection
from rasterio.windows import Window

from geo.crs import STORAGE_SRID, WGS84, transformer
from geo.errors import NotFound, Unprocessable

# Conditioned grids kept in memory per (path, mtime); on disk they are memory-mapped, so a
# large DEM costs address space, not resident memory.
CACHE_SIZE = 2
# Folder under DATA_DIR where conditioned grids are saved.
CACHE_FOLDER = ".hydrology-cache"
# Without an explicit radius a point snaps to the strongest flow within this many cells.
DEFAULT_SNAP_CELLS = 2


@dataclass(frozen=True)
class CataloguedDem:
    """A catalogued elevation raster resolved to a file."""

    name: str
    path: Path
    title: str = ""


def _resolve_path(data_dir: Path, stored: str) -> Path:
    path = Path(stored)
    return path if path.is_absolute() else Path(data_dir) / path


def find_dem(
    conn: Connection, data_dir: Path, lon: float, lat: float, name: str | None = None
) -> CataloguedDem:
    """The DEM to use: the named raster (404 unknown, 422 not elevation) or the finest covering."""
    if name:
        row = conn.execute(
            "SELECT name, title, theme, path FROM layers_rasterlayer WHERE name = %s", [name]
        ).fetchone()
        if row is None:
            raise NotFound(f"No existe el ráster '{name}' en el catálogo.", where="dem")
        if row[2] != "elevation":
            raise Unprocessable(
                f"El ráster '{name}' no es un modelo de elevación (tema: {row[2]}).", where="dem"
            )
        dem = CataloguedDem(row[0], _resolve_path(data_dir, row[3]), row[1])
    else:
        row = conn.execute(
            "SELECT name, title, path FROM layers_rasterlayer WHERE theme = 'elevation' "
            "AND bounds_4326[1] <= %(lon)s AND %(lon)s <= bounds_4326[3] "
            "AND bounds_4326[2] <= %(lat)s AND %(lat)s <= bounds_4326[4] "
            "ORDER BY resolution, name LIMIT 1",
            {"lon": lon, "lat": lat},
        ).fetchone()
        if row is None:
            names = [
                r[0]
                for r in conn.execute(
                    "SELECT name FROM layers_rasterlayer WHERE theme = 'elevation' ORDER BY name"
                ).fetchall()
            ]
            available = ", ".join(names) if names else "ninguno catalogado"
            raise Unprocessable(
                f"Ningún modelo de elevación cubre el punto ({lon}, {lat}). "
                f"DEM disponibles: {available}.",
                where="lon,lat",
            )
        dem = CataloguedDem(row[0], _resolve_path(data_dir, row[2]), row[1])
    if not dem.path.exists():
        raise Unprocessable(
            f"El archivo del DEM '{dem.name}' no está disponible en el servidor.", where="dem"
        )
    return dem


def catalogue_dem(conn: Connection, path: Path, name: str | None = None, title: str = "") -> str:
    """Catalogue a DEM file as an elevation RasterLayer (updated when the name exists)."""
    from rasterio.warp import transform_bounds

    path = Path(path).resolve()
    name = name or path.stem
    with rasterio.open(path) as src:
        if src.crs is None:
            raise Unprocessable(
                f"El DEM '{path.name}' no tiene sistema de referencia.", where="dem"
            )
        bounds = transform_bounds(src.crs, "EPSG:4326", *src.bounds, densify_pts=21)
        crs = src.crs.to_string()
        resolution = float(abs(src.transform.a))
        nodata = src.nodata
    conn.execute(
        "INSERT INTO layers_rasterlayer (name, title, theme, path, crs, resolution, nodata, "
        "bounds_4326, class_table, synthetic, source) VALUES (%(name)s, %(title)s, 'elevation', "
        "%(path)s, %(crs)s, %(res)s, %(nodata)s, %(bounds)s, '[]', false, %(source)s) "
        "ON CONFLICT (name) DO UPDATE SET title = EXCLUDED.title, theme = 'elevation', "
        "path = EXCLUDED.path, crs = EXCLUDED.crs, resolution = EXCLUDED.resolution, "
        "nodata = EXCLUDED.nodata, bounds_4326 = EXCLUDED.bounds_4326",
        {
            "name": name,
            "title": title or f"Modelo digital de elevación {name}",
            "path": str(path),
            "crs": crs,
            "res": resolution,
            "nodata": nodata,
            "bounds": [round(v, 6) for v in bounds],
            "source": path.name,
        },
    )
    return name


def check_point(path: Path, lon: float, lat: float, label: str = "") -> tuple[float, float]:
    """The point in the DEM's CRS, or 422 when it falls outside the DEM or on nodata."""
    label = label or path.name
    with rasterio.open(path) as src:
        if src.crs is None:
            raise Unprocessable(f"El DEM '{label}' no tiene sistema de referencia.", where="dem")
        x, y = transformer(WGS84, src.crs.to_wkt()).transform(lon, lat)
        row, col = src.index(x, y)
        if not (0 <= row < src.height and 0 <= col < src.width):
            left, bottom, right, top = src.bounds
            raise Unprocessable(
                f"El punto ({lon}, {lat}) está fuera del DEM '{label}'.",
                where="lon,lat",
                extra={"dem_bounds": [left, bottom, right, top]},
            )
        value = src.read(1, window=Window(col, row, 1, 1), masked=True)
        if np.ma.is_masked(value) and value.mask.all() or not np.isfinite(value.filled(0)).all():
            raise Unprocessable(
                f"El punto ({lon}, {lat}) cae en una celda sin dato del DEM '{label}'.",
                where="lon,lat",
            )
    return x, y


@dataclass
class Conditioned:
    """A DEM ready for catchments: D8 directions and accumulation on the same grid."""

    fdir: object  # hydrology.terrain.FlowDirection
    acc: object  # hydrology.flow.FlowAccumulation

    @property
    def direction(self) -> np.ndarray:
        """ESRI D8 codes."""
        return self.fdir.codes

    @property
    def accumulation(self) -> np.ndarray:
        """Upstream cells (km² on geographic DEMs, where cells differ in area)."""
        return self.acc.cells if self.acc.uniform_area else self.acc.km2()


def condition(path: Path, *, force: bool = False) -> Conditioned:
    """Load, fill, D8 and accumulate a DEM file (no cache)."""
    from hydrology import flow, terrain

    dem = terrain.load_dem(str(path), force=force)
    filled, _ = terrain.fill_depressions(dem, in_place=True)
    fdir = terrain.flow_direction(dem, filled)
    return Conditioned(fdir=fdir, acc=flow.flow_accumulation(fdir))


_cache: OrderedDict[tuple[str, float], Conditioned] = OrderedDict()
_cache_lock = threading.Lock()


def _disk_key(path: Path) -> str:
    stat = path.stat()
    return f"{path.stem}-{stat.st_size}-{int(stat.st_mtime_ns)}"


def _save(grids: Conditioned, folder: Path) -> None:
    """Write the grids as .npy files (then rename the folder, so readers never see halves)."""
    partial = folder.with_name(f"{folder.name}.partial-{os.getpid()}-{threading.get_ident()}")
    partial.mkdir(parents=True, exist_ok=True)
    fdir, acc = grids.fdir, grids.acc
    np.save(partial / "codes.npy", fdir.codes)
    np.save(partial / "valid.npy", fdir.valid)
    np.save(partial / "cells.npy", acc.cells)
    np.save(partial / "row_area_km2.npy", acc.row_area_km2)
    if acc.weighted_km2 is not None:
        np.save(partial / "weighted_km2.npy", acc.weighted_km2)
    meta = {
        "transform": list(fdir.transform)[:6],
        "crs": fdir.crs.to_wkt(),
        "sinks": fdir.sinks,
        "exit_edge_cells": acc.exit_edge_cells,
        "exit_nodata_cells": acc.exit_nodata_cells,
        "sink_cells": acc.sink_cells,
    }
    (partial / "meta.json").write_text(json.dumps(meta))
    try:
        partial.rename(folder)
    except OSError:
        # Another process finished first: its copy is as good as ours.
        shutil.rmtree(partial, ignore_errors=True)


def _load(folder: Path) -> Conditioned:
    """Memory-map saved grids: pages are read on demand and shared between processes."""
    from affine import Affine
    from pyproj import CRS

    from hydrology.flow import FlowAccumulation
    from hydrology.terrain import FlowDirection

    meta = json.loads((folder / "meta.json").read_text())
    weighted = folder / "weighted_km2.npy"
    fdir = FlowDirection(
        codes=np.load(folder / "codes.npy", mmap_mode="r"),
        valid=np.load(folder / "valid.npy", mmap_mode="r"),
        transform=Affine(*meta["transform"]),
        crs=CRS.from_wkt(meta["crs"]),
        sinks=meta["sinks"],
    )
    acc = FlowAccumulation(
        cells=np.load(folder / "cells.npy", mmap_mode="r"),
        row_area_km2=np.load(folder / "row_area_km2.npy"),
        weighted_km2=np.load(weighted, mmap_mode="r") if weighted.exists() else None,
        exit_edge_cells=meta["exit_edge_cells"],
        exit_nodata_cells=meta["exit_nodata_cells"],
        sink_cells=meta["sink_cells"],
    )
    return Conditioned(fdir=fdir, acc=acc)


def conditioned(path: Path, cache_dir: Path | None = None) -> Conditioned:
    """`condition` of a DEM file, once per file version.

    Kept in a small in-process cache and, with `cache_dir`, saved there as memory-mapped
    grids so other workers and restarts skip the conditioning.
    """
    path = Path(path)
    key = (str(path.resolve()), path.stat().st_mtime)
    with _cache_lock:
        if key in _cache:
            _cache.move_to_end(key)
            return _cache[key]
    folder = Path(cache_dir) / _disk_key(path) if cache_dir is not None else None
    if folder is not None and (folder / "meta.json").exists():
        grids = _load(folder)
    else:
        grids = condition(path)
        if folder is not None:
            _save(grids, folder)
    with _cache_lock:
        _cache[key] = grids
        while len(_cache) > CACHE_SIZE:
            _cache.popitem(last=False)
    return grids


def catchment_of_point(
    dem: CataloguedDem,
    lon: float,
    lat: float,
    *,
    out_srid: int = WGS84,
    snap_radius_m: float | None = None,
    cache_dir: Path | None = None,
) -> dict:
    """The catchment Feature draining to the snapped point, with area_ha and outlet."""
    from hydrology import flow

    x, y = check_point(dem.path, lon, lat, dem.name)
    grids = conditioned(dem.path, cache_dir)
    fdir = grids.fdir
    if snap_radius_m is None:
        dx, dy = (float(v) for v in (abs(fdir.transform.a), abs(fdir.transform.e)))
        size_m = max(dx, dy) if not fdir.crs.is_geographic else max(dx, dy) * 111_320
        snap_radius_m = DEFAULT_SNAP_CELLS * size_m
    result = flow.catchment(fdir, grids.acc, x, y, snap_radius_m=snap_radius_m)
    return catchment_feature(dem, lon, lat, (x, y), result, grids, out_srid)


def catchment_feature(
    dem: CataloguedDem,
    lon: float,
    lat: float,
    point_xy: tuple[float, float],
    result,
    grids: Conditioned,
    out_srid: int,
) -> dict:
    """Turn a terrain catchment into a GeoJSON Feature in the asked CRS."""
    import shapely
    from shapely.geometry import mapping

    crs_wkt = grids.fdir.crs.to_wkt()
    geom = shapely.transform(
        result.geometry, transformer(crs_wkt, out_srid).transform, interleaved=False
    )
    to_wgs = transformer(crs_wkt, WGS84)
    out_lon, out_lat = to_wgs.transform(*result.outlet_xy)
    # Distances in the storage CRS (metres) whatever the DEM's CRS.
    to_m = transformer(crs_wkt, STORAGE_SRID)
    px, py = to_m.transform(*point_xy)
    ox, oy = to_m.transform(*result.outlet_xy)
    decimals = 7 if out_srid in (4326, 4686) else 2
    return {
        "type": "Feature",
        "geometry": _round(mapping(geom), decimals),
        "properties": {
            "dem": dem.name,
            "area_ha": round(result.area_ha, 4),
            "cells": result.cells,
            "requested": {"lon": lon, "lat": lat},
            "outlet": {"lon": round(out_lon, 7), "lat": round(out_lat, 7)},
            "snap_distance_m": round(float(np.hypot(ox - px, oy - py)), 2),
            "outlet_accumulation_km2": round(grids.acc.km2_at(*result.outlet), 4),
        },
        "crs": {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{out_srid}"}},
    }


def _round(geometry: dict, decimals: int) -> dict:
    def walk(value):
        if isinstance(value, (list, tuple)):
            if value and isinstance(value[0], float):
                return [round(v, decimals) for v in value]
            return [walk(v) for v in value]
        return value

    return {"type": geometry["type"], "coordinates": walk(geometry["coordinates"])}
