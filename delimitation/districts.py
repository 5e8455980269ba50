"""Districts: create a draft with version 1, read the full document, edit fields and boundary.

Every function runs inside the caller's transaction on a psycopg connection, so the REST
routes and the WFS-T editor share the same rules (roles, If-Match, locking, audit).
"""

from __future__ import annotations

from typing import Any

from psycopg import Connection
from psycopg.errors import UniqueViolation
from shapely.geometry.base import BaseGeometry

from delimitation import lifecycle
from delimitation import overlay_queries as q
from delimitation.lifecycle import ANALYST_ROLES, COORDINATOR_ROLES, FROZEN, require
from delimitation.models import DistrictType
from delimitation.validation import Report, ValidationRules
from delimitation.versions import HydroChoice, add_version
from geo.errors import Conflict, InvalidInput, NotFound
from layers.editing import Actor, write_audit

EDITABLE_FIELDS = ("name", "description", "type")
DUST_HA = 0.0001


def _check_type(value: str) -> None:
    if value not in DistrictType.values:
        raise InvalidInput(
            f"Tipo de distrito desconocido: '{value}'. Tipos: " + ", ".join(DistrictType.values),
            where="type",
        )


def create(
    conn: Connection,
    *,
    code: str,
    name: str,
    type_: str,
    geometry: BaseGeometry,
    user: Actor,
    description: str = "",
    source: str = "drawn",
    comment: str = "",
    proposal_id: int | None = None,
    rules: ValidationRules | None = None,
    hydro: HydroChoice | None = None,
) -> tuple[dict, Report]:
    """A new draft district with its boundary as version 1; audited."""
    require(user, ANALYST_ROLES, "crear distritos")
    if not lifecycle.CODE_PATTERN.match(code or ""):
        raise InvalidInput(
            f"Código inválido: '{code}'. Use 2 a 40 letras, dígitos, '-' o '_'.", where="code"
        )
    if not (name or "").strip():
        raise InvalidInput("El distrito necesita un nombre.", where="name")
    _check_type(type_)
    if q.district_row(conn, code) is not None:
        raise Conflict(f"Ya existe el distrito '{code}'.", where="code")
    try:
        with conn.transaction():
            q.insert_district(conn, code, name.strip(), type_, description, user.username)
    except UniqueViolation:
        raise Conflict(f"Ya existe el distrito '{code}'.", where="code") from None
    district = q.district_row(conn, code)
    _, report = add_version(
        conn,
        district,
        geometry,
        source=source,
        author=user.username,
        comment=comment or "Versión inicial",
        proposal_id=proposal_id,
        rules=rules,
        hydro=hydro,
    )
    write_audit(conn, user, "create", "district", code, after=lifecycle.snapshot(conn, district))
    return district, report


def get(conn: Connection, code: str) -> dict:
    """The district row (404 when unknown)."""
    district = q.district_row(conn, code)
    if district is None:
        raise NotFound(f"No existe el distrito '{code}'.", where="code")
    return district


def update_fields(
    conn: Connection, code: str, changes: dict[str, Any], user: Actor, expected_etag: str | None
) -> dict:
    """Change name, description or type; type is fixed once an act delimited the district."""
    unknown = [k for k in changes if k not in EDITABLE_FIELDS]
    if unknown:
        raise InvalidInput(
            "Atributos no editables: "
            + ", ".join(unknown)
            + ". Editables: "
            + ", ".join(EDITABLE_FIELDS)
            + " (el límite se cambia con PUT .../boundary; el estado con POST .../transitions).",
            where=unknown[0],
        )
    district = lifecycle.locked(conn, code)
    lifecycle.check_etag(district, expected_etag)
    frozen = district["status"] in FROZEN
    require(user, COORDINATOR_ROLES if frozen else ANALYST_ROLES, "editar este distrito")
    if "type" in changes:
        _check_type(changes["type"])
        if district["status"] not in lifecycle.EDITABLE and changes["type"] != district["type"]:
            raise Conflict(
                f"El tipo del distrito {code} lo fijó su acto de delimitación; no se cambia.",
                where="type",
            )
    if "name" in changes and not str(changes["name"]).strip():
        raise InvalidInput("El nombre no puede quedar vacío.", where="name")
    if not changes:
        return district
    before = lifecycle.snapshot(conn, district)
    q.update_district(conn, district["id"], changes)
    after = q.district_row(conn, code)
    write_audit(
        conn, user, "update", "district", code, before=before, after=lifecycle.snapshot(conn, after)
    )
    return after


def set_boundary(
    conn: Connection,
    code: str,
    geometry: BaseGeometry,
    user: Actor,
    expected_etag: str | None,
    *,
    source: str = "drawn",
    comment: str = "",
    proposal_id: int | None = None,
    rules: ValidationRules | None = None,
    hydro: HydroChoice | None = None,
) -> tuple[dict, dict, Report]:
    """A new boundary version, refused (409, nothing saved) once the district is delimited."""
    require(user, ANALYST_ROLES, "modificar límites de distritos")
    district = lifecycle.locked(conn, code)
    lifecycle.check_etag(district, expected_etag)
    lifecycle.ensure_boundary_editable(district)
    before = lifecycle.snapshot(conn, district)
    version, report = add_version(
        conn,
        district,
        geometry,
        source=source,
        author=user.username,
        comment=comment,
        proposal_id=proposal_id,
        rules=rules,
        hydro=hydro,
    )
    q.update_district(conn, district["id"], {})
    after = q.district_row(conn, code)
    write_audit(
        conn,
        user,
        "boundary",
        "district",
        code,
        before=before,
        after=lifecycle.snapshot(conn, after),
    )
    return after, version, report


def territory(conn: Connection, geometry: BaseGeometry, area_ha: float) -> dict:
    """Departments and municipalities touched, with % of the district and of each unit."""

    def shares(item: dict) -> dict:
        return {
            **{k: v for k, v in item.items() if k not in ("area_ha", "inside_ha")},
            "area_ha": round(item["inside_ha"], 4),
            "district_percent": round(item["inside_ha"] / area_ha * 100, 4) if area_ha else 0.0,
            "unit_percent": round(item["inside_ha"] / item["area_ha"] * 100, 4)
            if item["area_ha"]
            else 0.0,
        }

    # Neighbours sharing an edge intersect with floating-point dust: not touched.
    return {
        "departments": [
            shares(d) for d in q.departments_touched(conn, geometry) if d["inside_ha"] >= DUST_HA
        ],
        "municipalities": [
            shares(m) for m in q.municipalities_touched(conn, geometry) if m["inside_ha"] >= DUST_HA
        ],
    }


def document(conn: Connection, district: dict, out_srid: int = 4326) -> dict:
    """The full district: fields, current boundary (GeoJSON), territory, acts, validation."""
    current = q.current_version(conn, district["id"], out_srid)
    body: dict[str, Any] = {
        "code": district["code"],
        "name": district["name"],
        "type": district["type"],
        "status": district["status"],
        "description": district["description"],
        "revision": district["revision"],
        "etag": lifecycle.etag(district),
        "created_by": district["created_by"],
        "created_at": district["created_at"],
        "updated_at": district["updated_at"],
        "crs": f"EPSG:{out_srid}",
        "boundary": None,
        "territory": None,
        "validation": None,
        "acts": q.acts(conn, district["id"]),
    }
    if current is not None:
        body["boundary"] = {
            "version": current["number"],
            "area_ha": round(current["area_ha"], 4),
            "source": current["source"],
            "proposal_id": current["proposal_id"],
            "author": current["author"],
            "comment": current["comment"],
            "created_at": current["created_at"],
            "geometry": current["geometry"],
        }
        body["territory"] = territory(conn, current["shape"], current["area_ha"])
        body["validation"] = current["validation"]
    return body
