"""DEM conditioning: loading with sanity checks, depression filling and D8 flow directions.

Flow directions use the ESRI encoding, one uint8 per cell, pointing to the neighbour that
receives the cell's water::

    32  64  128        NW  N  NE
    16   x    1         W  x   E
     8   4    2        SW  S  SE

0 marks nodata cells and unresolved sinks (only left when the DEM was not filled first). A
cell on the grid edge or beside a nodata hole with no lower neighbour points at the edge or
the hole: its water leaves the DEM there, and `hydrology.flow.flow_accumulation` counts it.

Flats (filled depressions included) are resolved as pysheds' resolve_flats does (Garbrecht
& Martz 1997 in the form of Barnes et al. 2014): towards the flat's lower edges and away
from its higher ones, with integer gradients instead of an epsilon added to float32.

Memory (20,000 x 20,000 cells, with the 0.4 GB validity mask): elevation float32 1.6 GB
(filled in place); filling adds a uint8 closed flag (0.4 GB) and a heap of the flood front
(8 bytes per front cell); directions are uint8 (0.4 GB) plus, when there are flats, a
uint16 gradient (0.8 GB). Peak about 3.2 GB, reached while resolving flats.
"""

from __future__ import annotations

from dataclasses import dataclass

import numba as nb
import numpy as np
from affine import Affine
from pyproj import CRS

from geo.errors import Unprocessable
from geo.raster_io import Band, cell_areas_km2, cell_sizes_m, read_band

# Neighbour offsets in ESRI code order: E, SE, S, SW, W, NW, N, NE.
DR = np.array([0, 1, 1, 1, 0, -1, -1, -1], dtype=np.int64)
DC = np.array([1, 1, 0, -1, -1, -1, 0, 1], dtype=np.int64)
CODES = np.array([1, 2, 4, 8, 16, 32, 64, 128], dtype=np.uint8)
# Code -> neighbour index (0..7), 255 for codes that are not a direction.
CODE_INDEX = np.full(256, 255, dtype=np.uint8)
CODE_INDEX[CODES] = np.arange(8, dtype=np.uint8)

ELEVATION_RANGE_M = (-500.0, 9000.0)


class DemError(Unprocessable):
    """The raster cannot be used as a DEM, or a request on it breaks a rule."""

    code = "InvalidParameterValue"


class DemWithoutCrs(DemError):
    """The DEM carries no coordinate reference system."""


class NotAnElevationRaster(DemError):
    """Values do not look like elevations in metres (a class or index raster?)."""


class PointOutsideDem(DemError):
    """The point falls outside the DEM or on a nodata cell."""


class TooManyUnits(DemError):
    """A threshold so small it would make an unmanageable number of units."""


@dataclass
class Dem:
    """Elevation grid (float32 metres), validity mask and its georeference."""

    elevation: np.ndarray
    valid: np.ndarray
    transform: Affine
    crs: CRS

    @property
    def shape(self) -> tuple[int, int]:
        """Rows and columns."""
        return self.elevation.shape  # type: ignore[return-value]

    def row_area_km2(self) -> np.ndarray:
        """True area of a cell per row, km²."""
        h, w = self.shape
        return cell_areas_km2(self.transform, self.crs, h, w)

    def row_cell_sizes_m(self) -> tuple[np.ndarray, np.ndarray]:
        """Cell width and height per row, metres."""
        return cell_sizes_m(self.transform, self.crs, self.shape[0])


def dem_from_band(band: Band, *, force: bool = False) -> Dem:
    """Check a raster band is a usable DEM (has a CRS, plausible elevations) and wrap it."""
    if band.crs is None:
        raise DemWithoutCrs(
            "El DEM no tiene sistema de referencia de coordenadas (CRS); asígnelo antes de "
            "procesarlo (p. ej. gdal_edit.py -a_srs EPSG:9377).",
            where="dem",
        )
    if not band.valid.any():
        raise DemError("El DEM no tiene celdas con datos.", where="dem")
    if not force:
        check_elevation_values(band.values, band.valid, band.source_dtype)
    return Dem(elevation=band.values, valid=band.valid, transform=band.transform, crs=band.crs)


def load_dem(path: str, *, force: bool = False, out_shape: tuple[int, int] | None = None) -> Dem:
    """Read a DEM file (optionally resampled bilinearly to out_shape) and check it."""
    return dem_from_band(read_band(path, out_shape=out_shape), force=force)


def check_elevation_values(
    values: np.ndarray, valid: np.ndarray, source_dtype: str = "float32"
) -> None:
    """Refuse rasters whose values are not plausible elevations in metres."""
    # Reductions with where= avoid a boolean-indexed copy of a 1.6 GB grid.
    lo = float(np.min(values, where=valid, initial=np.inf))
    hi = float(np.max(values, where=valid, initial=-np.inf))
    low, high = ELEVATION_RANGE_M
    if lo < low or hi > high:
        raise NotAnElevationRaster(
            f"Los valores del ráster ({lo:g} a {hi:g}) no son elevaciones plausibles en metros "
            f"(se esperan entre {low:g} y {high:g}); use --force si está seguro.",
            where="dem",
        )
    step = max(1, int(np.sqrt(values.size / 1_000_000)))
    sample = values[::step, ::step][valid[::step, ::step]]
    integral = np.array_equal(sample, np.round(sample))
    if integral and lo >= 0 and hi <= 255:
        classes = np.unique(sample).size
        if classes <= 16 or source_dtype in ("uint8", "int8", "bool"):
            raise NotAnElevationRaster(
                f"El ráster parece de clases, no de elevaciones: {classes} valores enteros "
                f"distintos entre {lo:g} y {hi:g}; use --force si es un DEM.",
                where="dem",
            )


@nb.njit(cache=True, inline="always")
def _heap_key(raw_bits: np.int32, index: int) -> np.int64:
    # Elevation bits made order-preserving as a signed int32, index in the low 32 bits: one
    # int64 compare per heap step and one array, which halves the cache misses.
    bits = np.int64(raw_bits)
    if bits < 0:
        bits = bits ^ np.int64(0x7FFFFFFF)
    return (bits << 32) | np.int64(index)


@nb.njit(cache=True)
def _heap_push(heap: np.ndarray, n: int, key: np.int64) -> np.ndarray:
    if n == heap.size:
        bigger = np.empty(heap.size * 2, np.int64)
        bigger[:n] = heap[:n]
        heap = bigger
    j = n
    while j > 0:
        p = (j - 1) >> 1
        if heap[p] <= key:
            break
        heap[j] = heap[p]
        j = p
    heap[j] = key
    return heap


@nb.njit(cache=True)
def _heap_pop(heap: np.ndarray, n: int) -> np.int64:
    """Remove the smallest key of heap[:n] (caller decrements n); returns it."""
    top = heap[0]
    n -= 1
    if n > 0:
        key = heap[n]
        j = 0
        while True:
            ch = 2 * j + 1
            if ch >= n:
                break
            if ch + 1 < n and heap[ch + 1] < heap[ch]:
                ch += 1
            if heap[ch] >= key:
                break
            heap[j] = heap[ch]
            j = ch
        heap[j] = key
    return top


@nb.njit(cache=True)
def _fill_kernel(z: np.ndarray, valid: np.ndarray) -> int:
    h, w = z.shape
    zf = z.ravel()
    zbits = zf.view(np.int32)  # the same memory: raised cells are seen as raised
    closed = np.zeros((h, w), np.uint8)
    heap = np.empty(2 * (h + w) + 1024, np.int64)
    n = 0
    qcap = 1024
    q = np.empty(qcap, np.int64)
    qh = 0
    qn = 0
    raised = 0
    # Seeds: valid cells on the grid edge or beside nodata (water can leave there).
    for r in range(h):
        for c in range(w):
            if not valid[r, c]:
                closed[r, c] = 1
                continue
            border = r == 0 or c == 0 or r == h - 1 or c == w - 1
            if not border:
                for k in range(8):
                    if not valid[r + DR[k], c + DC[k]]:
                        border = True
                        break
            if border:
                closed[r, c] = 1
                heap = _heap_push(heap, n, _heap_key(zbits[r * w + c], r * w + c))
                n += 1
    while n > 0 or qn > 0:
        if qn > 0:
            i = q[qh]
            qh += 1
            if qh == qcap:
                qh = 0
            qn -= 1
        else:
            i = _heap_pop(heap, n) & np.int64(0xFFFFFFFF)
            n -= 1
        r = i // w
        c = i - r * w
        zc = zf[i]
        for k in range(8):
            rr = r + DR[k]
            cc = c + DC[k]
            if rr < 0 or cc < 0 or rr >= h or cc >= w or closed[rr, cc]:
                continue
            closed[rr, cc] = 1
            if z[rr, cc] <= zc:
                if z[rr, cc] < zc:
                    raised += 1
                z[rr, cc] = zc
                if qn == qcap:
                    q2 = np.empty(qcap * 2, np.int64)
                    for t in range(qn):
                        q2[t] = q[(qh + t) % qcap]
                    q = q2
                    qh = 0
                    qcap *= 2
                q[(qh + qn) % qcap] = rr * w + cc
                qn += 1
            else:
                heap = _heap_push(heap, n, _heap_key(zbits[rr * w + cc], rr * w + cc))
                n += 1
    return raised


def fill_depressions(dem: Dem, *, in_place: bool = False) -> tuple[np.ndarray, int]:
    """Priority-flood (Barnes 2014, with pit queue): raise every closed depression to its spill.

    Returns the filled elevation (float32) and how many cells were raised. Filled
    depressions are exact flats; `flow_direction` routes water across them.
    """
    z = dem.elevation if in_place else dem.elevation.copy()
    if z.dtype != np.float32:
        z = z.astype(np.float32)
    if z.size >= 2**32:
        raise DemError("El DEM supera 4.294 millones de celdas; procéselo por teselas.")
    z = np.ascontiguousarray(z)
    raised = _fill_kernel(z, dem.valid)
    return z, int(raised)


# Search order N, NE, E, SE, S, SW, W, NW (as pysheds and most tools): ties go to the first.
SEARCH = np.array([6, 7, 0, 1, 2, 3, 4, 5], dtype=np.int64)


@nb.njit(cache=True)
def _push(q: np.ndarray, n: int, value: int) -> np.ndarray:
    if n == q.size:
        q2 = np.empty(q.size * 2, np.int64)
        q2[:n] = q[:n]
        q = q2
    q[n] = value
    return q


@nb.njit(cache=True)
def _d8_kernel(
    z: np.ndarray, valid: np.ndarray, dx: np.ndarray, dy: np.ndarray, out: np.ndarray
) -> int:
    h, w = z.shape
    dist = np.empty(8, np.float64)
    nflat = 0
    for r in range(h):
        dist[0] = dx[r]
        dist[4] = dx[r]
        dist[2] = dy[r]
        dist[6] = dy[r]
        diag = np.sqrt(dx[r] * dx[r] + dy[r] * dy[r])
        dist[1] = diag
        dist[3] = diag
        dist[5] = diag
        dist[7] = diag
        for c in range(w):
            if not valid[r, c]:
                out[r, c] = 0
                continue
            zc = z[r, c]
            best = 0.0
            code = np.uint8(0)
            exit_code = np.uint8(0)
            exit_best = -np.inf
            for s in range(8):
                k = SEARCH[s]
                rr = r + DR[k]
                cc = c + DC[k]
                if rr < 0 or cc < 0 or rr >= h or cc >= w or not valid[rr, cc]:
                    # Leave the DEM continuing the local slope: prefer a side over a corner,
                    # then the side opposite the highest valid neighbour (extrapolation).
                    ro = r - DR[k]
                    co = c - DC[k]
                    ex = 0.0 if k % 2 == 0 else -1e30
                    if 0 <= ro < h and 0 <= co < w and valid[ro, co]:
                        ex += (z[ro, co] - zc) / dist[k]
                    if ex > exit_best:
                        exit_best = ex
                        exit_code = CODES[k]
                    continue
                drop = zc - z[rr, cc]
                if drop > 0.0:
                    slope = drop / dist[k]
                    if slope > best:
                        best = slope
                        code = CODES[k]
            if code != 0:
                out[r, c] = code
            else:
                out[r, c] = exit_code
                if exit_code == 0:
                    nflat += 1
    if nflat == 0:
        return 0
    # Flats (Garbrecht & Martz 1997, as organised by Barnes et al. 2014 and pysheds): a
    # gradient towards the flat's lower edges (weight 2) plus one away from its higher edges
    # decides the direction of every flat cell; distances stay integer so float32 elevations
    # need no epsilon.
    FLAT = np.uint8(254)
    g = np.zeros((h, w), np.uint16)
    comp = np.empty(1024, np.int64)
    level = np.empty(1024, np.int64)
    sinks = 0
    for r0 in range(h):
        for c0 in range(w):
            if not valid[r0, c0] or out[r0, c0] != 0:
                continue
            zc = z[r0, c0]
            # 1. The connected flat: undetermined cells of this elevation.
            n = 0
            comp = _push(comp, n, r0 * w + c0)
            n += 1
            out[r0, c0] = FLAT
            i = 0
            while i < n:
                r = comp[i] // w
                c = comp[i] - r * w
                i += 1
                for k in range(8):
                    rr = r + DR[k]
                    cc = c + DC[k]
                    if not (0 <= rr < h and 0 <= cc < w) or not valid[rr, cc]:
                        continue
                    if out[rr, cc] == 0 and z[rr, cc] == zc:
                        out[rr, cc] = FLAT
                        comp = _push(comp, n, rr * w + cc)
                        n += 1
            # 2. Gradient away from higher terrain, breadth-first from the high edges.
            m = 0
            for j in range(n):
                r = comp[j] // w
                c = comp[j] - r * w
                for k in range(8):
                    rr = r + DR[k]
                    cc = c + DC[k]
                    if 0 <= rr < h and 0 <= cc < w and valid[rr, cc] and z[rr, cc] > zc:
                        g[r, c] = 1
                        level = _push(level, m, comp[j])
                        m += 1
                        break
            top = 0
            i = 0
            while i < m:
                r = level[i] // w
                c = level[i] - r * w
                i += 1
                d = g[r, c]
                if d > top:
                    top = d
                for k in range(8):
                    rr = r + DR[k]
                    cc = c + DC[k]
                    if 0 <= rr < h and 0 <= cc < w and out[rr, cc] == FLAT and g[rr, cc] == 0:
                        g[rr, cc] = min(d + 1, 65535)
                        level = _push(level, m, rr * w + cc)
                        m += 1
            for j in range(n):
                r = comp[j] // w
                c = comp[j] - r * w
                if g[r, c] > 0:
                    g[r, c] = top - g[r, c]
            # 3. Gradient towards lower terrain from the low edges (drained cells, same height).
            m = 0
            for j in range(n):
                r = comp[j] // w
                c = comp[j] - r * w
                for k in range(8):
                    rr = r + DR[k]
                    cc = c + DC[k]
                    if not (0 <= rr < h and 0 <= cc < w) or not valid[rr, cc]:
                        continue
                    o = out[rr, cc]
                    if o != FLAT and o != 0 and o < 252 and z[rr, cc] == zc:
                        g[rr, cc] = 2  # 2 x distance 1; the edge itself keeps its direction
                        level = _push(level, m, rr * w + cc)
                        m += 1
            if m == 0:
                # Nowhere to drain (an unfilled pit): leave the flat without directions.
                for j in range(n):
                    r = comp[j] // w
                    c = comp[j] - r * w
                    g[r, c] = 0
                    sinks += 1
                    out[r, c] = 253  # a sink: the scan must not revisit it
                continue
            lvl_start = 0
            t = 1
            while lvl_start < m:
                lvl_end = m
                t += 1
                for q in range(lvl_start, lvl_end):
                    r = level[q] // w
                    c = level[q] - r * w
                    for k in range(8):
                        rr = r + DR[k]
                        cc = c + DC[k]
                        if 0 <= rr < h and 0 <= cc < w and out[rr, cc] == FLAT:
                            out[rr, cc] = 252  # reached
                            g[rr, cc] = min(int(g[rr, cc]) + 2 * t, 65535)
                            level = _push(level, m, rr * w + cc)
                            m += 1
                lvl_start = lvl_end
    # 4. D8 again near flats, on the inflated surface z + eps * g (as pysheds' resolve_flats
    # with its eps), never uphill in true elevation so the result has no cycles.
    eps = 1e-5
    for r in range(h):
        dxr = dx[r]
        dyr = dy[r]
        diag = np.sqrt(dxr * dxr + dyr * dyr)
        for c in range(w):
            if not valid[r, c]:
                continue
            near = g[r, c] > 0 or out[r, c] == 252
            if not near:
                for k in range(8):
                    rr = r + DR[k]
                    cc = c + DC[k]
                    if 0 <= rr < h and 0 <= cc < w and g[rr, cc] > 0:
                        near = True
                        break
            if not near:
                continue
            zc = z[r, c]
            zi = float(zc) + eps * float(g[r, c])
            best = 0.0
            code = np.uint8(0)
            for s in range(8):
                k = SEARCH[s]
                rr = r + DR[k]
                cc = c + DC[k]
                if not (0 <= rr < h and 0 <= cc < w) or not valid[rr, cc] or z[rr, cc] > zc:
                    continue
                dk = dxr if k == 0 or k == 4 else (dyr if k == 2 or k == 6 else diag)
                slope = (zi - (float(z[rr, cc]) + eps * float(g[rr, cc]))) / dk
                if slope > best:
                    best = slope
                    code = CODES[k]
            if code != 0:
                out[r, c] = code
            elif out[r, c] == 252:
                # Only if the gradient saturated (flats over 20,000 cells across).
                out[r, c] = 253
                sinks += 1
    for r in range(h):
        for c in range(w):
            if out[r, c] == 253:
                out[r, c] = 0
    return sinks


@dataclass
class FlowDirection:
    """D8 directions (ESRI codes, uint8) with the grid they belong to."""

    codes: np.ndarray
    valid: np.ndarray
    transform: Affine
    crs: CRS
    sinks: int

    @property
    def shape(self) -> tuple[int, int]:
        """Rows and columns."""
        return self.codes.shape  # type: ignore[return-value]


def flow_direction(dem: Dem, filled: np.ndarray | None = None) -> FlowDirection:
    """D8 steepest descent (ESRI codes) on the filled DEM, flats routed to their outlets.

    Slopes use true cell sizes in metres per row, so geographic DEMs are handled. `sinks`
    counts valid cells left without a direction (0), which only happens if `filled` was not
    depression-filled.
    """
    z = dem.elevation if filled is None else filled
    dx, dy = dem.row_cell_sizes_m()
    codes = np.empty(z.shape, dtype=np.uint8)
    sinks = _d8_kernel(z, dem.valid, dx, dy, codes)
    return FlowDirection(
        codes=codes, valid=dem.valid, transform=dem.transform, crs=dem.crs, sinks=int(sinks)
    )


def downstream_cell(codes: np.ndarray, row: int, col: int) -> tuple[int, int] | None:
    """The cell a cell drains to, or None for a sink/nodata cell (may be off the grid)."""
    k = CODE_INDEX[codes[row, col]]
    if k == 255:
        return None
    return row + int(DR[k]), col + int(DC[k])


__all__ = [
    "CODES",
    "Dem",
    "DemError",
    "DemWithoutCrs",
    "FlowDirection",
    "NotAnElevationRaster",
    "PointOutsideDem",
    "TooManyUnits",
    "check_elevation_values",
    "dem_from_band",
    "downstream_cell",
    "fill_depressions",
    "flow_direction",
    "load_dem",
]
