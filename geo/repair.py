"""Geometry clean-up for polygon, line and point layers, vectorised over arrays of geometries.

`cleaner(kind)` picks the function for a layer's geometry kind: `polygonal`, `lineal` or
`punctual`. Everything here works on numpy object arrays and returns, besides the cleaned
geometries, the indices that were repaired or rejected with a Spanish reason; callers turn
indices into rows. Only the rare bad geometries go through per-geometry Python.
"""

from __future__ import annotations

import math
import os
import re
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from functools import lru_cache
from typing import Literal

import numpy as np
import shapely

POINT, LINESTRING, LINEARRING, POLYGON = 0, 1, 2, 3
MULTIPOINT, MULTILINESTRING, MULTIPOLYGON, COLLECTION = 4, 5, 6, 7
TYPE_NAMES = {
    POINT: "Point",
    LINESTRING: "LineString",
    LINEARRING: "LinearRing",
    POLYGON: "Polygon",
    MULTIPOINT: "MultiPoint",
    MULTILINESTRING: "MultiLineString",
    MULTIPOLYGON: "MultiPolygon",
    COLLECTION: "GeometryCollection",
}
_REASONS = {
    "ring self-intersection": "autointersección de un anillo",
    "self-intersection": "autointersección",
    "too few points in geometry component": "muy pocos puntos en un componente",
    "hole lies outside shell": "un hueco queda fuera del contorno",
    "nested holes": "huecos anidados",
    "interior is disconnected": "interior desconectado",
    "nested shells": "polígonos anidados",
    "duplicate rings": "anillos duplicados",
    "invalid coordinate": "coordenada inválida (NaN o infinita)",
    "ring is not closed": "anillo sin cerrar",
}
_REASON = re.compile(r"^(?P<what>[^\[]+)(?:\[(?P<x>[-\d.eE+]+) (?P<y>[-\d.eE+]+)\])?")


Locate = Callable[[float, float], tuple[float, float]]
GeometryKind = Literal["polygon", "line", "point"]
Cleaner = Callable[..., tuple[np.ndarray, dict[int, str], dict[int, str]]]


@lru_cache(maxsize=1)
def _pool() -> ThreadPoolExecutor:
    return ThreadPoolExecutor(max_workers=os.cpu_count() or 1, thread_name_prefix="geos")


def spread(function: Callable[..., np.ndarray], values: np.ndarray, **kwargs) -> np.ndarray:
    """Apply a vectorised shapely function over chunks on every core (GEOS releases the GIL)."""
    workers = os.cpu_count() or 1
    if workers < 2 or len(values) < 4096:
        return function(values, **kwargs)
    chunks = np.array_split(values, workers)
    return np.concatenate(list(_pool().map(lambda chunk: function(chunk, **kwargs), chunks)))


def validity_reason_es(reason: str, locate: Locate | None = None) -> str:
    """GEOS's invalidity reason (`Self-intersection[x y]`) in Spanish, with the location
    (passed through `locate`, e.g. back to the file's CRS)."""
    match = _REASON.match(reason or "")
    if not match:
        return reason
    what = match.group("what").strip()
    text = _REASONS.get(what.lower(), what)
    if match.group("x") is not None:
        x, y = float(match.group("x")), float(match.group("y"))
        if locate is not None:
            x, y = locate(x, y)
        text += f" en ({x:.6g}, {y:.6g})" if abs(x) < 1000 else f" en ({x:.1f}, {y:.1f})"
    return text


def parse_wkb(wkb: np.ndarray) -> tuple[np.ndarray, dict[int, str]]:
    """WKB to geometries; unparsable ones become None with the reason (e.g. an unclosed ring)."""
    geoms = spread(shapely.from_wkb, wkb, on_invalid="ignore")
    reasons: dict[int, str] = {}
    broken = np.flatnonzero(shapely.is_missing(geoms) & np.not_equal(wkb, None))
    for index in broken:
        try:
            shapely.from_wkb(wkb[index])
        except shapely.errors.GEOSException as error:
            message = str(error)
            if "closed" in message:
                reasons[int(index)] = "anillo sin cerrar (el primer y el último punto difieren)"
            elif "0 or >1 elements" in message:
                reasons[int(index)] = "línea de un solo punto"
            elif "few points" in message.lower():
                reasons[int(index)] = "anillo con muy pocos puntos"
            else:
                reasons[int(index)] = f"geometría ilegible: {message}"
    return geoms, reasons


def has_zm(geoms: np.ndarray) -> np.ndarray:
    """Mask of geometries carrying Z or M ordinates."""
    return shapely.has_z(geoms) | shapely.has_m(geoms)


def _polygons_of(geom: shapely.Geometry) -> list[shapely.Geometry]:
    type_id = shapely.get_type_id(geom)
    if type_id == POLYGON:
        return [] if geom.is_empty else [geom]
    if type_id in (MULTIPOLYGON, COLLECTION):
        return [p for part in shapely.get_parts(geom) for p in _polygons_of(part)]
    return []


def polygonal_part(geom: shapely.Geometry) -> shapely.Geometry | None:
    """The polygonal part of a geometry as one valid MultiPolygon, or None when there is none."""
    polygons = _polygons_of(geom)
    if not polygons:
        return None
    merged = shapely.multipolygons(polygons)
    if not shapely.is_valid(merged):
        # Pieces sharing an edge: dissolve them rather than store an invalid MultiPolygon.
        merged = shapely.union_all(polygons)
        if shapely.get_type_id(merged) == POLYGON:
            merged = shapely.multipolygons([merged])
        elif shapely.get_type_id(merged) != MULTIPOLYGON:
            return polygonal_part(merged)
    return None if merged.is_empty else merged


def polygonal(
    geoms: np.ndarray, locate: Locate | None = None
) -> tuple[np.ndarray, dict[int, str], dict[int, str]]:
    """Keep valid polygons, repair the rest with make_valid; return (geoms, repaired, rejected).

    `repaired` and `rejected` map array indices to Spanish reasons (locations through
    `locate`). Points and lines are rejected here; callers that can turn points into polygons
    do so before calling.
    """
    geoms = geoms.copy()
    repaired: dict[int, str] = {}
    rejected: dict[int, str] = {}
    types = shapely.get_type_id(geoms)
    live = _missing_or_empty(geoms, types, rejected)
    _other_kinds(types, live, (POLYGON, MULTIPOLYGON, COLLECTION), "polígonos", rejected)
    for index in np.flatnonzero(live & (types == COLLECTION)):
        part = polygonal_part(shapely.make_valid(geoms[index]))
        if part is None:
            rejected[int(index)] = "colección de geometrías sin ningún polígono"
        else:
            geoms[index] = part
            repaired[int(index)] = "colección de geometrías: se conservó la parte poligonal"
    polygon_rows = np.flatnonzero(live & np.isin(types, (POLYGON, MULTIPOLYGON)))
    invalid = polygon_rows[~spread(shapely.is_valid, geoms[polygon_rows])]
    if len(invalid):
        reasons = shapely.is_valid_reason(geoms[invalid])
        fixed = shapely.make_valid(geoms[invalid])
        for index, reason, geom in zip(invalid, reasons, fixed, strict=True):
            part = polygonal_part(geom)
            why = validity_reason_es(reason, locate)
            if part is None:
                rejected[int(index)] = (
                    f"geometría inválida ({why}) sin parte poligonal al repararla"
                )
            else:
                geoms[index] = part
                repaired[int(index)] = f"geometría inválida ({why}), reparada con make_valid"
    for index in rejected:
        geoms[index] = None
    return geoms, repaired, rejected


def _other_kinds(
    types: np.ndarray, live: np.ndarray, accepted: tuple[int, ...], layer: str, rejected: dict
) -> np.ndarray:
    """Reject live geometries of a kind the layer does not take; return their mask."""
    wrong = live & ~np.isin(types, accepted)
    for index in np.flatnonzero(wrong):
        name = TYPE_NAMES.get(int(types[index]), str(types[index]))
        rejected[int(index)] = f"geometría {name} en una capa de {layer}"
    return wrong


def _missing_or_empty(geoms: np.ndarray, types: np.ndarray, rejected: dict[int, str]) -> np.ndarray:
    """Record missing and empty geometries as rejected; return the mask of the live ones."""
    missing = types < 0
    for index in np.flatnonzero(missing):
        rejected[int(index)] = "sin geometría"
    empty = ~missing & shapely.is_empty(geoms)
    for index in np.flatnonzero(empty):
        rejected[int(index)] = "geometría vacía"
    return ~missing & ~empty


def _lines_of(geom: shapely.Geometry) -> list[shapely.Geometry]:
    type_id = shapely.get_type_id(geom)
    if type_id == LINESTRING:
        return [] if geom.is_empty else [geom]
    if type_id in (MULTILINESTRING, COLLECTION):
        return [line for part in shapely.get_parts(geom) for line in _lines_of(part)]
    return []


def lineal(
    geoms: np.ndarray, locate: Locate | None = None
) -> tuple[np.ndarray, dict[int, str], dict[int, str]]:
    """Keep LineStrings and MultiLineStrings whose every part has two distinct, finite points;
    return (geoms, repaired, rejected) like `polygonal`.

    A part with fewer than two distinct points (or a NaN coordinate) is dropped, with a repair
    naming where; a line left with no usable part is rejected. Collections keep their lines.
    Single LineStrings stay as they are: storage makes them MultiLineStrings.
    """
    geoms = geoms.copy()
    repaired: dict[int, str] = {}
    rejected: dict[int, str] = {}
    types = shapely.get_type_id(geoms)
    live = _missing_or_empty(geoms, types, rejected)
    wrong = _other_kinds(types, live, (LINESTRING, MULTILINESTRING, COLLECTION), "líneas", rejected)
    candidates = np.flatnonzero(live & ~wrong)
    # GEOS calls a line valid when it has two distinct finite points; only the rest cost Python.
    invalid = candidates[~spread(shapely.is_valid, geoms[candidates])]
    collections = candidates[types[candidates] == COLLECTION]
    for index in sorted(set(invalid.tolist()) | set(collections.tolist())):
        geom = geoms[index]
        parts = _lines_of(geom)
        good = [part for part in parts if shapely.is_valid(part)]
        bad = [part for part in parts if not shapely.is_valid(part)]
        why = "; ".join(
            dict.fromkeys(_line_reason(shapely.is_valid_reason(part), locate) for part in bad)
        )
        if not good:
            if types[index] == COLLECTION and not parts:
                rejected[int(index)] = "colección de geometrías sin ninguna línea"
            else:
                rejected[int(index)] = f"línea degenerada ({why})"
            continue
        geoms[index] = shapely.multilinestrings(good)
        notes = []
        if types[index] == COLLECTION:
            notes.append("colección de geometrías: se conservaron sus líneas")
        if bad:
            dropped = (
                "se descartó 1 tramo degenerado"
                if len(bad) == 1
                else f"se descartaron {len(bad)} tramos degenerados"
            )
            notes.append(f"{dropped} ({why})")
        repaired[int(index)] = "; ".join(notes)
    for index in rejected:
        geoms[index] = None
    return geoms, repaired, rejected


def _line_reason(reason: str, locate: Locate | None) -> str:
    """Why GEOS finds a line invalid, in the words of a line layer."""
    if reason.lower().startswith("too few points"):
        where = validity_reason_es(reason, locate).rpartition(" en ")[2]
        return "menos de 2 puntos distintos" + (f" en {where}" if where else "")
    return validity_reason_es(reason, locate)


def punctual(
    geoms: np.ndarray, locate: Locate | None = None
) -> tuple[np.ndarray, dict[int, str], dict[int, str]]:
    """Keep Points with finite coordinates; a MultiPoint of one point becomes that Point (a
    repair, since it changes the type); anything else is rejected. Like `polygonal`."""
    geoms = geoms.copy()
    repaired: dict[int, str] = {}
    rejected: dict[int, str] = {}
    types = shapely.get_type_id(geoms)
    live = _missing_or_empty(geoms, types, rejected)
    _other_kinds(types, live, (POINT, MULTIPOINT), "puntos", rejected)
    for index in np.flatnonzero(live & (types == MULTIPOINT)):
        count = shapely.get_num_geometries(geoms[index])
        if count == 1:
            geoms[index] = shapely.get_geometry(geoms[index], 0)
            repaired[int(index)] = "MultiPoint de un solo punto: se guardó como Point"
        else:
            rejected[int(index)] = (
                f"MultiPoint de {count} puntos en una capa de puntos (uno por fila)"
            )
    points = np.flatnonzero(live & np.isin(types, (POINT, MULTIPOINT)))
    points = np.array([i for i in points if int(i) not in rejected], dtype=np.int64)
    if len(points):
        coords = shapely.get_coordinates(geoms[points])
        for index in points[~np.isfinite(coords).all(axis=1)]:
            rejected[int(index)] = "coordenada inválida (NaN o infinita)"
            repaired.pop(int(index), None)
    for index in rejected:
        geoms[index] = None
    return geoms, repaired, rejected


def cleaner(kind: GeometryKind) -> Cleaner:
    """The clean-up function of a layer's geometry kind."""
    return {"polygon": polygonal, "line": lineal, "point": punctual}[kind]


def circle_of_area(points: np.ndarray, area_m2: np.ndarray, quad_segs: int = 16) -> np.ndarray:
    """Polygons centred on points whose area equals `area_m2` (in a metric CRS)."""
    sides = 4 * quad_segs
    # A buffer is an inscribed regular polygon: scale the radius so its area is exact.
    polygon_factor = sides / 2 * math.sin(2 * math.pi / sides)
    radius = np.sqrt(np.asarray(area_m2, dtype="float64") / polygon_factor)
    return shapely.buffer(points, radius, quad_segs=quad_segs)
