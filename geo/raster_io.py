"""Raster reading and cell geometry: one band as float32, true cell sizes and areas for any CRS."""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np
import rasterio
from affine import Affine
from pyproj import CRS, Geod, Proj
from rasterio.enums import Resampling
from rasterio.windows import Window

_GEOD = Geod(ellps="WGS84")


@dataclass(frozen=True)
class Band:
    """One raster band in memory: float32 values, validity mask, grid and the file's dtype."""

    values: np.ndarray
    valid: np.ndarray
    transform: Affine
    crs: CRS | None
    nodata: float | None
    source_dtype: str = "float32"

    @property
    def shape(self) -> tuple[int, int]:
        """Rows and columns."""
        return self.values.shape  # type: ignore[return-value]


def read_band(
    path: str,
    *,
    band: int = 1,
    window: Window | None = None,
    out_shape: tuple[int, int] | None = None,
    resampling: Resampling = Resampling.bilinear,
) -> Band:
    """Read one band as float32 with its validity mask, optionally windowed or resampled."""
    with rasterio.open(path) as src:
        crs = CRS.from_user_input(src.crs) if src.crs else None
        nodata = src.nodata
        source_dtype = src.dtypes[band - 1]
        transform = src.window_transform(window) if window is not None else src.transform
        if out_shape is None:
            values = src.read(band, window=window, out_dtype="float32")
            valid = _valid_mask(values, nodata)
        else:
            # Resample with a masked read so nodata never bleeds into valid cells.
            masked = src.read(
                band,
                window=window,
                out_shape=out_shape,
                resampling=resampling,
                out_dtype="float32",
                masked=True,
            )
            values = np.asarray(masked.filled(nodata if nodata is not None else np.nan))
            valid = ~np.ma.getmaskarray(masked) & np.isfinite(values)
            h0, w0 = (window.height, window.width) if window is not None else src.shape
            transform = transform @ Affine.scale(w0 / out_shape[1], h0 / out_shape[0])
    return Band(
        values=values,
        valid=valid,
        transform=transform,
        crs=crs,
        nodata=nodata,
        source_dtype=source_dtype,
    )


def _valid_mask(values: np.ndarray, nodata: float | None) -> np.ndarray:
    valid = np.isfinite(values)
    if nodata is not None and not math.isnan(nodata):
        valid &= values != np.float32(nodata)
    return valid


def cell_sizes_m(transform: Affine, crs: CRS, height: int) -> tuple[np.ndarray, np.ndarray]:
    """Ground width and height of a cell per row in metres (geodesic for geographic CRS)."""
    a, e = abs(transform.a), abs(transform.e)
    if crs.is_geographic:
        lat = transform.f + transform.e * (np.arange(height) + 0.5)
        lon0 = transform.c
        _, _, dx = _GEOD.inv(np.full(height, lon0), lat, np.full(height, lon0 + a), lat)
        _, _, dy = _GEOD.inv(np.full(height, lon0), lat - e / 2, np.full(height, lon0), lat + e / 2)
        return np.asarray(dx, dtype=np.float64), np.asarray(dy, dtype=np.float64)
    unit = crs.axis_info[0].unit_conversion_factor if crs.axis_info else 1.0
    return np.full(height, a * unit), np.full(height, e * unit)


def cell_areas_km2(transform: Affine, crs: CRS, height: int, width: int) -> np.ndarray:
    """True area of one cell per row, km²: geodesic for geographic CRS, scale-corrected else."""
    if crs.is_geographic:
        a = abs(transform.a)
        lat_top = transform.f + transform.e * np.arange(height)
        lat_bot = lat_top + transform.e
        north = np.maximum(lat_top, lat_bot)
        south = np.minimum(lat_top, lat_bot)
        # Area of a lon/lat cell on the ellipsoid, by the exact formula on an authalic sphere.
        r = _authalic_radius_m()
        rad = np.pi / 180.0
        area = r * r * (a * rad) * (np.sin(_authalic_lat(north)) - np.sin(_authalic_lat(south)))
        return area / 1e6
    dx, dy = cell_sizes_m(transform, crs, height)
    nominal = dx * dy
    # Projected grids: divide by the areal scale factor at the grid centre (tiny for TM near
    # its origin, large for Web Mercator away from the equator).
    cx, cy = transform @ (width / 2.0, height / 2.0)
    try:
        lon, lat = Proj(crs)(cx, cy, inverse=True)
        factor = Proj(crs).get_factors(lon, lat).areal_scale
        if not math.isfinite(factor) or factor <= 0:
            factor = 1.0
    except Exception:  # noqa: BLE001 - a CRS PROJ cannot invert keeps nominal areas
        factor = 1.0
    return nominal / factor / 1e6


def _authalic_radius_m() -> float:
    a = _GEOD.a
    e2 = _GEOD.es
    e = math.sqrt(e2)
    q_p = 1 + (1 - e2) / (2 * e) * math.log((1 + e) / (1 - e))
    return a * math.sqrt(q_p / 2)


def _authalic_lat(lat_deg: np.ndarray) -> np.ndarray:
    e2 = _GEOD.es
    e = math.sqrt(e2)
    phi = np.radians(lat_deg)
    s = np.sin(phi)

    def q(sin_phi: np.ndarray | float) -> np.ndarray | float:
        return (1 - e2) * (
            sin_phi / (1 - e2 * sin_phi * sin_phi)
            - 1 / (2 * e) * np.log((1 - e * sin_phi) / (1 + e * sin_phi))
        )

    return np.arcsin(q(s) / q(1.0))


def rowcol(transform: Affine, x: float, y: float) -> tuple[int, int]:
    """Row and column of the cell holding (x, y); may fall outside the grid."""
    col, row = ~transform @ (x, y)
    return int(math.floor(row)), int(math.floor(col))


def cell_center(transform: Affine, row: int, col: int) -> tuple[float, float]:
    """Map coordinates of a cell centre."""
    x, y = transform @ (col + 0.5, row + 0.5)
    return float(x), float(y)
