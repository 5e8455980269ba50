"""Coordinate reference systems: the storage CRS, accepted inputs and output CRS parsing."""

from __future__ import annotations

import re
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING

from geo.errors import InvalidInput

if TYPE_CHECKING:
    from pyproj import CRS, Transformer

STORAGE_SRID = 9377
WGS84 = 4326
# CRS a client may ask for in outputs, and the ones files commonly arrive in.
OUTPUT_SRIDS = (4326, 9377, 4686, 3116, 3115, 3117, 3118, 3857)
# Colombia (with islands) in lon/lat, generous margins: used to tell lon/lat from swapped input.
COLOMBIA_LONLAT = (-82.5, -4.5, -66.0, 16.5)
# The same envelope in EPSG:9377 (edges densified, widened to whole metres; tests/test_crs.py
# holds it to pyproj's transform_bounds). A constant, so an import of a file already in the
# storage CRS never loads pyproj and its database (~60 ms of a `distritos import`).
COLOMBIA_STORAGE = (3938414.0, 1053921.0, 5780562.0, 3405678.0)

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


@dataclass(frozen=True)
class FileCRS:
    """A file's CRS as an import needs it: its definition (for `transformer`), its EPSG code
    (0 without one), whether it is lon/lat, and the name messages show."""

    definition: str
    srid: int
    geographic: bool
    name: str

    @classmethod
    def parse(cls, text: str) -> FileCRS:
        """From a user input (`EPSG:3116`, WKT, PROJ); the storage CRS without pyproj."""
        if text.strip().upper() == f"EPSG:{STORAGE_SRID}":
            return cls(f"EPSG:{STORAGE_SRID}", STORAGE_SRID, False, f"EPSG:{STORAGE_SRID}")
        from pyproj import CRS

        crs = CRS.from_user_input(text)
        code = crs.to_epsg(min_confidence=70) or 0
        return cls(crs.to_wkt(), code, crs.is_geographic, f"EPSG:{code}" if code else crs.name)

    def same_as(self, other: FileCRS) -> bool:
        """The same CRS, whatever the axis order."""
        if self.definition == other.definition:
            return True
        from pyproj import CRS

        return CRS.from_user_input(self.definition).equals(
            CRS.from_user_input(other.definition), ignore_axis_order=True
        )


@lru_cache(maxsize=64)
def transformer(src: int | str, dst: int | str = STORAGE_SRID) -> Transformer:
    """A cached always-x/y transformer between two CRS."""
    from pyproj import CRS, Transformer

    return Transformer.from_crs(CRS.from_user_input(src), CRS.from_user_input(dst), always_xy=True)


def srid_of(crs: CRS | str | None) -> int | None:
    """EPSG code of a CRS description, or None when it has none we can name."""
    if crs is None:
        return None
    from pyproj import CRS

    parsed = CRS.from_user_input(crs)
    code = parsed.to_epsg(min_confidence=70)
    return code
