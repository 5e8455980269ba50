"""Boundary versions: append a validated version, list them, and diff two of them."""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import Connection
from shapely.geometry.base import BaseGeometry

from delimitation import overlay_queries as q
from delimitation.models import BoundarySource
from delimitation.validation import STRUCTURAL, Report, ValidationRules, validate
from geo.errors import InvalidInput, NotFound, Unprocessable


@dataclass(frozen=True)
class HydroChoice:
    """The hydrographic system and level the watershed integrity is judged against."""

    system: str | None = None
    level: int | None = None


def add_version(
    conn: Connection,
    district: dict,
    geometry: BaseGeometry,
    *,
    source: str,
    author: str,
    comment: str = "",
    proposal_id: int | None = None,
    rules: ValidationRules | None = None,
    hydro: HydroChoice | None = None,
) -> tuple[dict, Report]:
    """Validate and append the next version; a structurally broken boundary saves nothing."""
    if source not in BoundarySource.values:
        raise InvalidInput(
            f"Origen desconocido: '{source}'. Valores: " + ", ".join(BoundarySource.values),
            where="source",
        )
    hydro = hydro or HydroChoice()
    report = validate(
        conn,
        geometry,
        district_code=district["code"],
        hydro_system=hydro.system,
        hydro_level=hydro.level,
        rules=rules,
    )
    if report.structural:
        first = next(f for f in report.findings if f.code in STRUCTURAL)
        raise Unprocessable(
            f"No se guardó el límite: {first.message}",
            where="geometry",
            extra={"findings": report.as_dict()["findings"]},
        )
    version = q.insert_version(
        conn,
        district["id"],
        geometry,
        source,
        author,
        comment,
        report.as_dict(),
        proposal_id,
    )
    return version, report


def list_versions(conn: Connection, district: dict) -> list[dict]:
    """Every version of a district (without geometry), oldest first."""
    return q.versions(conn, district["id"])


def get_version(conn: Connection, district: dict, number: int, out_srid: int = 4326) -> dict:
    """One version with geometry, its stored validation report and the acts that froze it."""
    version = q.version_detail(conn, district["id"], number, out_srid)
    if version is None:
        raise NotFound(
            f"El distrito {district['code']} no tiene la versión {number}.", where="version"
        )
    version.pop("id")
    return {"district": district["code"], "crs": f"EPSG:{out_srid}", **version}


def diff(conn: Connection, district: dict, a: int, b: int, out_srid: int = 4326) -> dict:
    """Area added and removed going from version a to version b (geometries and ha)."""
    ids = []
    for number in (a, b):
        found = q.version_id(conn, district["id"], number)
        if found is None:
            raise NotFound(
                f"El distrito {district['code']} no tiene la versión {number}.", where="version"
            )
        ids.append(found)
    result = q.version_diff(conn, ids[0], ids[1], out_srid)
    return {"district": district["code"], "from": a, "to": b, **result}
