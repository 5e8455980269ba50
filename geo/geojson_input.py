"""Parse client GeoJSON into a shapely geometry in the storage CRS, refusing what is broken.

Errors say what is wrong and where (a JSON path such as `coordinates[0][3]`), so an analyst
can find the offending vertex. Validity (self-intersections...) is NOT judged here: the
boundary validation reports it with its location from PostGIS.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from typing import Any

import numpy as np
import shapely
from shapely.geometry import MultiPolygon, Polygon, shape
from shapely.geometry.base import BaseGeometry

from geo.crs import STORAGE_SRID, WGS84, parse_srid, transformer
from geo.errors import InvalidInput

GEOMETRY_TYPES = {
    "Point": 0,
    "MultiPoint": 1,
    "LineString": 1,
    "MultiLineString": 2,
    "Polygon": 2,
    "MultiPolygon": 3,
}
POLYGONAL = ("Polygon", "MultiPolygon")
# Input CRS accepted for geometries: the output set plus UTM 18N/19N (WGS 84 and SIRGAS).
INPUT_SRIDS = (4326, 9377, 4686, 3116, 3115, 3117, 3118, 3114, 3119, 3857, 32618, 32619)
DEFAULT_MAX_VERTICES = 500_000


@dataclass(frozen=True)
class ParsedGeometry:
    """A client geometry in the storage CRS, with the CRS it arrived in."""

    geometry: BaseGeometry
    source_srid: int
    vertices: int


def _where(path: tuple) -> str:
    text = ""
    for part in path:
        text += f"[{part}]" if isinstance(part, int) else (f".{part}" if text else part)
    return text


def _check_position(position: Any, path: tuple) -> None:
    if not isinstance(position, list | tuple) or len(position) < 2:
        raise InvalidInput(
            f"Posición inválida en {_where(path)}: se esperan al menos 2 números [x, y].",
            where=_where(path),
        )
    for index, value in enumerate(position[:3]):
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise InvalidInput(
                f"Coordenada no numérica en {_where((*path, index))}: {value!r}.",
                where=_where((*path, index)),
            )
        if not math.isfinite(value):
            raise InvalidInput(
                f"Coordenada no finita (NaN o Infinito) en {_where((*path, index))}.",
                where=_where((*path, index)),
            )


def _walk(coords: Any, depth: int, path: tuple, counter: list[int], limit: int) -> None:
    """Check nesting depth, numbers and vertex count of a coordinates array."""
    if depth == 0:
        _check_position(coords, path)
        counter[0] += 1
        if counter[0] > limit:
            raise InvalidInput(
                f"La geometría tiene más de {limit} vértices (límite del servicio); "
                "simplifíquela o divídala.",
                where=_where(path),
            )
        return
    if not isinstance(coords, list | tuple):
        raise InvalidInput(
            f"Se esperaba una lista de coordenadas en {_where(path)}.", where=_where(path)
        )
    for index, item in enumerate(coords):
        _walk(item, depth - 1, (*path, index), counter, limit)


def _check_rings(geometry_type: str, coords: list, path: tuple) -> None:
    polygons = [coords] if geometry_type == "Polygon" else coords
    for p_index, rings in enumerate(polygons):
        base = path if geometry_type == "Polygon" else (*path, p_index)
        if not rings:
            raise InvalidInput(f"Polígono sin anillos en {_where(base)}.", where=_where(base))
        for r_index, ring in enumerate(rings):
            if len(ring) < 4:
                raise InvalidInput(
                    f"Anillo con {len(ring)} posiciones en {_where((*base, r_index))}: un anillo "
                    "necesita al menos 4 (cerrado).",
                    where=_where((*base, r_index)),
                )
            if list(ring[0][:2]) != list(ring[-1][:2]):
                raise InvalidInput(
                    f"Anillo no cerrado en {_where((*base, r_index))}: la primera y la última "
                    "posición deben ser iguales.",
                    where=_where((*base, r_index)),
                )


def _geometry_from(obj: Any, path: tuple, counter: list[int], limit: int) -> BaseGeometry:
    if not isinstance(obj, dict):
        raise InvalidInput(
            f"Se esperaba un objeto GeoJSON en {_where(path) or 'geometry'}.",
            where=_where(path) or "geometry",
        )
    kind = obj.get("type")
    if kind == "Feature":
        if obj.get("geometry") is None:
            raise InvalidInput(
                f"El Feature en {_where(path) or 'geometry'} no tiene geometría.",
                where=_where((*path, "geometry")),
            )
        return _geometry_from(obj["geometry"], (*path, "geometry"), counter, limit)
    if kind == "FeatureCollection":
        features = obj.get("features")
        if not isinstance(features, list) or not features:
            raise InvalidInput(
                "La FeatureCollection no tiene elementos.", where=_where((*path, "features"))
            )
        parts = [
            _geometry_from(f, (*path, "features", i), counter, limit)
            for i, f in enumerate(features)
        ]
        return _combine(parts)
    if kind == "GeometryCollection":
        members = obj.get("geometries")
        if not isinstance(members, list):
            raise InvalidInput(
                "GeometryCollection sin 'geometries'.", where=_where((*path, "geometries"))
            )
        parts = [
            _geometry_from(g, (*path, "geometries", i), counter, limit)
            for i, g in enumerate(members)
        ]
        return shapely.geometrycollections(parts) if parts else shapely.from_wkt("POLYGON EMPTY")
    if kind not in GEOMETRY_TYPES:
        raise InvalidInput(
            f"Tipo GeoJSON desconocido en {_where((*path, 'type')) or 'type'}: {kind!r}. Tipos: "
            + ", ".join([*GEOMETRY_TYPES, "GeometryCollection", "Feature", "FeatureCollection"]),
            where=_where((*path, "type")) or "type",
        )
    coords = obj.get("coordinates")
    if coords is None:
        raise InvalidInput(
            f"La geometría {kind} no tiene 'coordinates'.", where=_where((*path, "coordinates"))
        )
    _walk(coords, GEOMETRY_TYPES[kind], (*path, "coordinates"), counter, limit)
    if kind in POLYGONAL:
        _check_rings(kind, coords, (*path, "coordinates"))
    try:
        return shape({"type": kind, "coordinates": coords})
    except (ValueError, TypeError, shapely.errors.GEOSException) as exc:
        raise InvalidInput(
            f"No se pudo construir la geometría {kind}: {exc}", where=_where(path) or "geometry"
        ) from None


def _combine(parts: list[BaseGeometry]) -> BaseGeometry:
    """Polygons of a collection become one MultiPolygon (validation judges their overlaps)."""
    if all(p.geom_type in POLYGONAL for p in parts):
        polygons: list[Polygon] = []
        for part in parts:
            polygons.extend(part.geoms if isinstance(part, MultiPolygon) else [part])
        return MultiPolygon(polygons)
    return shapely.geometrycollections(parts)


def crs_of(obj: Any, crs: str | int | None) -> int:
    """The input EPSG code: the explicit `crs`, else a legacy GeoJSON `crs` member, else 4326."""
    if crs is not None and str(crs).strip():
        return parse_srid(crs, allowed=INPUT_SRIDS)
    member = obj.get("crs") if isinstance(obj, dict) else None
    if isinstance(member, dict):
        name = (member.get("properties") or {}).get("name")
        if name:
            return parse_srid(name, allowed=INPUT_SRIDS)
    return WGS84


def parse_geojson(
    obj: Any,
    crs: str | int | None = None,
    *,
    max_vertices: int = DEFAULT_MAX_VERTICES,
    polygonal_only: bool = False,
    allow_empty: bool = False,
    target_srid: int = STORAGE_SRID,
) -> ParsedGeometry:
    """A GeoJSON geometry/Feature/FeatureCollection as shapely in `target_srid`."""
    source_srid = crs_of(obj, crs)
    counter = [0]
    geometry = _geometry_from(obj, (), counter, max_vertices)
    if geometry.is_empty and not allow_empty:
        raise InvalidInput("La geometría está vacía.", where="geometry")
    if polygonal_only and geometry.geom_type not in POLYGONAL:
        raise InvalidInput(
            f"Se esperaba un Polygon o MultiPolygon y llegó {geometry.geom_type}.",
            where="geometry.type",
        )
    if source_srid in (4326, 4686) and not geometry.is_empty:
        minx, miny, maxx, maxy = geometry.bounds
        if minx < -180 or maxx > 180 or miny < -90 or maxy > 90:
            raise InvalidInput(
                f"Coordenadas fuera de rango para EPSG:{source_srid} (lon/lat): "
                f"x {minx:.0f}..{maxx:.0f}, y {miny:.0f}..{maxy:.0f}. ¿Están proyectadas? "
                "Indique el CRS con 'crs'.",
                where="crs",
            )
    # Heights are not part of a boundary; dropping them keeps areas and overlays planar.
    geometry = shapely.force_2d(geometry)
    if source_srid != target_srid and not geometry.is_empty:
        geometry = reproject(geometry, source_srid, target_srid)
    return ParsedGeometry(geometry, source_srid, counter[0])


def reproject(geometry: BaseGeometry, src: int, dst: int) -> BaseGeometry:
    """The geometry in another CRS (x/y order throughout)."""
    forward = transformer(src, dst)

    def _apply(coords: np.ndarray) -> np.ndarray:
        x, y = forward.transform(coords[:, 0], coords[:, 1])
        return np.column_stack([x, y])

    return shapely.transform(geometry, _apply)
