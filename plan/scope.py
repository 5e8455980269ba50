"""Spatial scope of an action: built from the district, hydro units, municipalities or a
drawing, and required to lie within the district boundary."""

from __future__ import annotations

import json
from dataclasses import dataclass

from django.db import connection

from geo.errors import Unprocessable
from geo.spanish_numbers import hectares, percent
from plan.models import ScopeKind

# An action may spill over the boundary by digitising noise only: 1% of its area or 50 m.
AREA_TOLERANCE = 0.01
DISTANCE_TOLERANCE_M = 50.0


@dataclass(frozen=True)
class Scope:
    kind: str
    ewkt: str
    hydro_unit_ids: list[int]
    municipality_codes: list[str]
    ethnic_territories: list[str]


def _one(sql: str, params: list) -> tuple:
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchone()


def build_scope(district_id: int, spec: dict) -> Scope:
    """The scope geometry (EPSG:9377) of a spec, checked against the district boundary."""
    kind = spec.get("kind")
    if kind not in ScopeKind.values:
        raise Unprocessable(
            f"Alcance desconocido '{kind}'. Use: " + ", ".join(ScopeKind.values), where="scope.kind"
        )
    unit_ids = [int(u) for u in spec.get("hydro_units", [])]
    codes = [str(c).zfill(5) for c in spec.get("municipalities", [])]
    if kind == ScopeKind.DISTRICT:
        ewkt = _one(
            "SELECT ST_AsEWKT(geom) FROM delimitation_district_current WHERE id = %s",
            [district_id],
        )[0]
    elif kind == ScopeKind.HYDRO_UNITS:
        if not unit_ids:
            raise Unprocessable(
                "Indique al menos una unidad hidrográfica.", where="scope.hydro_units"
            )
        found, ewkt = _one(
            "SELECT coalesce(array_agg(id), '{}'), ST_AsEWKT(ST_Multi(ST_Union(geom))) "
            "FROM hydrology_hydrounit WHERE id = ANY(%s)",
            [unit_ids],
        )
        missing = sorted(set(unit_ids) - set(found))
        if missing:
            raise Unprocessable(
                f"No existen las unidades hidrográficas {missing}.", where="scope.hydro_units"
            )
    elif kind == ScopeKind.MUNICIPALITIES:
        if not codes:
            raise Unprocessable("Indique al menos un municipio.", where="scope.municipalities")
        found, ewkt = _one(
            "SELECT coalesce(array_agg(code), '{}'), ST_AsEWKT(ST_Multi(ST_Union(geom))) "
            "FROM layers_municipality WHERE code = ANY(%s)",
            [codes],
        )
        missing = sorted(set(codes) - set(found))
        if missing:
            raise Unprocessable(
                "No existen los municipios (códigos DIVIPOLA) " + ", ".join(missing) + ".",
                where="scope.municipalities",
            )
    else:
        geometry = spec.get("geometry")
        if not isinstance(geometry, dict):
            raise Unprocessable("Falta la geometría dibujada (GeoJSON).", where="scope.geometry")
        srid = int(spec.get("crs", 4326))
        ewkt, valid, reason = _one(
            "SELECT ST_AsEWKT(g), ST_IsValid(g), ST_IsValidReason(g) FROM (SELECT "
            "ST_Transform(ST_SetSRID(ST_GeomFromGeoJSON(%s), %s), 9377) AS g) s",
            [json.dumps(geometry), srid],
        )
        if not valid:
            raise Unprocessable(f"Geometría del alcance inválida: {reason}", where="scope.geometry")
    if kind != ScopeKind.DISTRICT:
        _require_within(district_id, ewkt, kind)
    ethnic = _one(
        "SELECT coalesce(array_agg(name ORDER BY name), '{}') FROM layers_ethnicterritory "
        "WHERE ST_Intersects(geom, ST_GeomFromEWKT(%s)) "
        "AND NOT ST_Touches(geom, ST_GeomFromEWKT(%s))",
        [ewkt, ewkt],
    )[0]
    return Scope(kind, ewkt, unit_ids, codes, list(ethnic))


def _require_within(district_id: int, ewkt: str, kind: str) -> None:
    """422 naming the part of the scope outside the boundary beyond the tolerance."""
    outside_area, scope_area, outside_far, outside_json = _one(
        """
        WITH d AS (SELECT geom FROM delimitation_district_current WHERE id = %s),
             s AS (SELECT ST_GeomFromEWKT(%s) AS g)
        SELECT ST_Area(ST_Difference(s.g, d.geom)), ST_Area(s.g),
               NOT ST_Within(s.g, ST_Buffer(d.geom, %s)),
               ST_AsGeoJSON(ST_Transform(ST_Difference(s.g, d.geom), 4326), 6)
        FROM d, s
        """,
        [district_id, ewkt, DISTANCE_TOLERANCE_M],
    )
    polygonal = scope_area > 0
    within_area = polygonal and outside_area <= AREA_TOLERANCE * scope_area
    if within_area or not outside_far:
        return
    share = 100 * outside_area / scope_area if polygonal else None
    detail = (
        f"El alcance ({kind}) se sale del límite del distrito: {hectares(outside_area / 1e4)} "
        f"({percent(share)} de su área) quedan fuera; la tolerancia es 1 % o 50 m."
        if polygonal
        else "El alcance se sale del límite del distrito más de 50 m."
    )
    raise Unprocessable(
        detail,
        where="scope",
        extra={"outside_ha": round(outside_area / 1e4, 4), "outside": json.loads(outside_json)},
    )
