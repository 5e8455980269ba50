"""Stable identifiers for features whose source publishes none: a hash of the shape itself.

A drainage network or a list of intakes often comes without a durable identifier (OBJECTID is
renumbered on every export). The shape, rounded and normalised, is what stays the same when
the same file is exported again, converted between formats or reprojected there and back.
"""

from __future__ import annotations

import hashlib

import numpy as np
import shapely

PREFIX = "geom:"


def geometry_fingerprints(geoms: np.ndarray, decimals: int = 2) -> list[str | None]:
    """`geom:<32 hex>` per geometry (None where missing): BLAKE2 of the normalised WKB with
    coordinates rounded to `decimals` (centimetres in a metric CRS such as EPSG:9377)."""
    out: list[str | None] = [None] * len(geoms)
    live = np.flatnonzero(~shapely.is_missing(geoms))
    if not len(live):
        return out
    rounded = shapely.transform(geoms[live], lambda coords: np.round(coords, decimals))
    # normalize() orders parts and vertices canonically, so digitising order does not matter.
    blobs = shapely.to_wkb(shapely.normalize(rounded), byte_order=1)
    for index, blob in zip(live, blobs, strict=True):
        out[int(index)] = PREFIX + hashlib.blake2b(blob, digest_size=16).hexdigest()
    return out
