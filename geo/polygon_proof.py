"""Which WKB polygons are certainly valid, without asking GEOS (geo/_wkb.c).

`prove` returns, for an Arrow array of WKB, the type id of each row it proved valid (3 Polygon,
6 MultiPolygon, 0 where it did not: ask GEOS), with the area GEOS would compute and the
envelope. It never proves an invalid polygon; it declines anything unusual (Z/M, big-endian,
touching rings, uncertain orientations). Without the compiled module every row is 0.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

try:
    from geo._wkb import prove as _prove
except ImportError:  # installed without a C compiler: GEOS decides every row
    _prove = None

AVAILABLE = _prove is not None


@dataclass
class Proof:
    """Per row: type id proved valid (0 = not proved), area (NaN) and envelope."""

    type_ids: np.ndarray
    areas: np.ndarray
    bounds: np.ndarray

    @property
    def proved(self) -> np.ndarray:
        return self.type_ids != 0


def prove(wkb: pa.Array) -> Proof:
    """Prove the validity of 2D little-endian WKB Polygons and MultiPolygons, row by row."""
    count = len(wkb)
    proof = Proof(
        np.zeros(count, dtype=np.int8),
        np.full(count, np.nan),
        np.full((count, 4), np.nan),
    )
    if _prove is None or count == 0:
        return proof
    if isinstance(wkb, pa.ChunkedArray):
        wkb = wkb.combine_chunks()
    if pa.types.is_large_binary(wkb.type):
        width = 8
    elif pa.types.is_binary(wkb.type):
        width = 4
    else:
        wkb = wkb.cast(pa.binary())
        width = 4
    _validity, offsets, data = wkb.buffers()[:3]
    if data is None:
        return proof
    _prove(offsets, width, data, wkb.offset, count, proof.type_ids, proof.areas, proof.bounds)
    if wkb.null_count:
        proof.type_ids[~wkb.is_valid().to_numpy(zero_copy_only=False)] = 0
    return proof
