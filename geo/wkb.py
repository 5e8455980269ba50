"""WKB routines in C (geo/_wkb.c) on Arrow binary arrays of WKB.

`prove` returns, for each row, the type id it proved valid (3 Polygon, 6 MultiPolygon, 0
where it did not: ask GEOS), with the area GEOS would compute and the envelope. It never
proves an invalid polygon; it declines anything unusual (Z/M, big-endian, touching rings,
uncertain orientations). `multipolygon_ewkb` rewrites 2D little-endian (Multi)Polygons as
MultiPolygon EWKB with an SRID. Without the compiled module (no C compiler at install)
`AVAILABLE` is False: `prove` proves nothing and `multipolygon_ewkb` returns None.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

try:
    from geo import _wkb
except ImportError:  # installed without a C compiler: GEOS and Arrow do it all
    _wkb = None

AVAILABLE = _wkb is not None


@dataclass
class Proof:
    """Per row: type id proved valid (0 = not proved), area (NaN) and envelope."""

    type_ids: np.ndarray
    areas: np.ndarray
    bounds: np.ndarray

    @property
    def proved(self) -> np.ndarray:
        return self.type_ids != 0


def binary_buffers(wkb: pa.Array) -> tuple[pa.Array, int, pa.Buffer, pa.Buffer | None]:
    """The array as binary or large binary, its offset width, offsets and data buffers (what
    the compiled modules read; layers.pgcopy hands its parts over the same way)."""
    if isinstance(wkb, pa.ChunkedArray):
        wkb = wkb.combine_chunks()
    if not (pa.types.is_binary(wkb.type) or pa.types.is_large_binary(wkb.type)):
        wkb = wkb.cast(pa.binary())
    _validity, offsets, data = wkb.buffers()[:3]
    return wkb, 8 if pa.types.is_large_binary(wkb.type) else 4, offsets, data


def prove(wkb: pa.Array) -> Proof:
    """Prove the validity of 2D little-endian WKB Polygons and MultiPolygons, row by row."""
    count = len(wkb)
    proof = Proof(
        np.zeros(count, dtype=np.int8),
        np.full(count, np.nan),
        np.full((count, 4), np.nan),
    )
    if _wkb is None or count == 0:
        return proof
    wkb, width, offsets, data = binary_buffers(wkb)
    if data is None:
        return proof
    _wkb.prove(offsets, width, data, wkb.offset, count, proof.type_ids, proof.areas, proof.bounds)
    if wkb.null_count:
        proof.type_ids[~wkb.is_valid().to_numpy(zero_copy_only=False)] = 0
    return proof


def multipolygon_ewkb(wkb: pa.Array, srid: int) -> pa.Array | None:
    """MultiPolygon EWKB with `srid` for 2D little-endian WKB (Multi)Polygons without nulls (a
    Polygon becomes the only member of one), in one pass; None without the compiled module."""
    if _wkb is None or wkb.null_count:
        return None
    wkb, width, offsets, data = binary_buffers(wkb)
    out_offsets = np.empty(len(wkb) + 1, dtype=np.int32)
    body = _wkb.multipolygon_ewkb(offsets, width, data, wkb.offset, len(wkb), srid, out_offsets)
    return pa.BinaryArray.from_buffers(
        pa.binary(), len(wkb), [None, pa.py_buffer(out_offsets), pa.py_buffer(body)]
    )
