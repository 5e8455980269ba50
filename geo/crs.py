"""Coordinate reference systems: the storage CRS, accepted inputs and output CRS parsing."""

from __future__ import annotations

import re
from functools import lru_cache

from pyproj import CRS, Transformer

from geo.errors import InvalidInput

STORAGE_SRID = 9377
WGS84 = 4326
# CRS a client may ask for in outputs, and the ones files commonly arrive in.
OUTPUT_SRIDS = (4326, 9377, 4686, 3116, 3115, 3117, 3118, 3857)
# Colombia (with islands) in lon/lat, generous margins: used to tell lon/lat from swapped input.
COLOMBIA_LONLAT = (-82.5, -4.5, -66.0, 16.5)

_URI = re.compile(
    r"^(?:urn:ogc:def:crs:EPSG:[\d.]*:|https?://www\.opengis\.net/def/crs/EPSG/0/|EPSG:)(\d+)$",
    re.IGNORECASE,
)
CRS84_URIS = {
    "http://www.opengis.net/def/crs/ogc/1.3/crs84",
    "urn:ogc:def:crs:ogc:1.3:crs84",
    "crs84",
}


def parse_srid(value: str | int, *, allowed: tuple[int, ...] = OUTPUT_SRIDS) -> int:
    """Turn `4326`, `EPSG:4326`, an OGC URN/URI or CRS84 into an EPSG code we serve."""
    text = str(value).strip()
    if text.lower() in CRS84_URIS:
        return WGS84
    match = _URI.match(text)
    srid = int(match.group(1)) if match else int(text) if text.isdigit() else None
    if srid is None or srid not in allowed:
        raise InvalidInput(
            f"CRS no soportado: '{value}'. Use uno de: " + ", ".join(f"EPSG:{s}" for s in allowed),
            where="crs",
        )
    return srid


def is_lat_lon_uri(value: str) -> bool:
    """True for CRS identifiers whose axis order is lat/lon (OGC URN/URI forms of 4326/4686)."""
    text = str(value).strip().lower()
    return (text.startswith("urn:") or text.startswith("http")) and (
        text.endswith(":4326")
        or text.endswith("/4326")
        or text.endswith(":4686")
        or text.endswith("/4686")
    )


def crs_uri(srid: int) -> str:
    """The OGC URI of an EPSG code (CRS84 for 4326 in lon/lat contexts is handled by callers)."""
    return f"http://www.opengis.net/def/crs/EPSG/0/{srid}"


@lru_cache(maxsize=64)
def transformer(src: int | str, dst: int | str = STORAGE_SRID) -> Transformer:
    """A cached always-x/y transformer between two CRS."""
    return Transformer.from_crs(CRS.from_user_input(src), CRS.from_user_input(dst), always_xy=True)


def srid_of(crs: CRS | str | None) -> int | None:
    """EPSG code of a CRS description, or None when it has none we can name."""
    if crs is None:
        return None
    parsed = CRS.from_user_input(crs)
    code = parsed.to_epsg(min_confidence=70)
    return code
