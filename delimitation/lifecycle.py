"""A district's life: enforced status transitions, administrative acts and boundary locking.

draft -> proposed -> in_validation -> delimited -> in_execution; any -> archived;
delimited/in_execution -> revoked only through a revocation act. `delimited` is reached
only through a delimitation act, which freezes the current boundary version; after it the
boundary changes only through a modification act (which adds and freezes a new version).
"""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from datetime import date

from psycopg import Connection
from shapely.geometry.base import BaseGeometry

from delimitation import overlay_queries as q
from delimitation.models import MINISTRY, ActKind, DistrictStatus
from delimitation.validation import ValidationRules, validate
from delimitation.versions import HydroChoice, add_version
from geo.errors import (
    Conflict,
    DomainError,
    Forbidden,
    InvalidInput,
    NotFound,
    PreconditionFailed,
    Unauthorized,
)
from layers.editing import Actor, write_audit
from layers.registry import ADMIN, ANALYST, COORDINATOR

S = DistrictStatus
ANALYST_ROLES = frozenset({ANALYST, COORDINATOR, ADMIN})
COORDINATOR_ROLES = frozenset({COORDINATOR, ADMIN})
# Statuses in which an analyst may still redraw the boundary freely.
EDITABLE = frozenset({S.DRAFT, S.PROPOSED, S.IN_VALIDATION})
# Statuses frozen by a delimitation act: only a modification act changes the boundary.
FROZEN = frozenset({S.DELIMITED, S.IN_EXECUTION})
# Transitions allowed through `POST .../transitions`, and the roles each needs.
TRANSITIONS: dict[tuple[str, str], frozenset[str]] = {
    (S.DRAFT, S.PROPOSED): ANALYST_ROLES,
    (S.PROPOSED, S.IN_VALIDATION): ANALYST_ROLES,
    (S.DELIMITED, S.IN_EXECUTION): COORDINATOR_ROLES,
    (S.DRAFT, S.ARCHIVED): ANALYST_ROLES,
    (S.PROPOSED, S.ARCHIVED): ANALYST_ROLES,
    (S.IN_VALIDATION, S.ARCHIVED): ANALYST_ROLES,
    (S.DELIMITED, S.ARCHIVED): COORDINATOR_ROLES,
    (S.IN_EXECUTION, S.ARCHIVED): COORDINATOR_ROLES,
    (S.REVOKED, S.ARCHIVED): COORDINATOR_ROLES,
}
# Status changes only an act makes: (from, to) -> the act kind that makes it.
BY_ACT = {
    (S.IN_VALIDATION, S.DELIMITED): ActKind.DELIMITATION,
    (S.DELIMITED, S.REVOKED): ActKind.REVOCATION,
    (S.IN_EXECUTION, S.REVOKED): ActKind.REVOCATION,
}
STATUS_ES = dict(S.choices)
CODE_PATTERN = re.compile(r"^[A-Za-z0-9][A-Za-z0-9_-]{1,39}$")


class PreconditionRequired(DomainError):
    """A write came without If-Match."""

    status = 428
    code = "OperationProcessingFailed"
    title = "Falta If-Match"


def etag(district: dict) -> str:
    """The district's version tag (without quotes): code and revision."""
    return f"{district['code']}-{district['revision']}"


def check_etag(district: dict, expected: str | None, *, required: bool = False) -> None:
    """412 when the client's If-Match is stale (428 when required and missing)."""
    if expected is None:
        if required:
            raise PreconditionRequired(
                f"Para modificar el distrito {district['code']} envíe la cabecera If-Match con "
                "su ETag.",
                where="If-Match",
            )
        return
    tags = [t.strip().removeprefix("W/").strip('"') for t in expected.split(",")]
    if "*" in tags or etag(district) in tags:
        return
    raise PreconditionFailed(
        f"El distrito {district['code']} cambió desde que lo leyó (ETag actual "
        f'"{etag(district)}"); recárguelo y vuelva a aplicar su cambio.',
        where="If-Match",
        extra={"current_etag": etag(district)},
    )


def require(user: Actor, roles: frozenset[str], what: str) -> None:
    """Refuse a user without any of the roles."""
    if not user.username:
        raise Unauthorized("Se requiere autenticación (token Bearer o usuario y contraseña).")
    if not (set(user.roles) & roles):
        raise Forbidden(f"Su rol no permite {what}.")


def ensure_boundary_editable(district: dict) -> None:
    """409 when the boundary is frozen (delimited/in execution) or the district is closed."""
    status = district["status"]
    if status in FROZEN:
        raise Conflict(
            f"El distrito {district['code']} está {STATUS_ES[status].lower()}: su límite solo "
            "cambia mediante un acto administrativo de modificación "
            f"(POST /api/v1/districts/{district['code']}/acts con kind 'modification').",
            where="geometry",
        )
    if status not in EDITABLE:
        raise Conflict(
            f"El distrito {district['code']} está {STATUS_ES[status].lower()}: su límite ya "
            "no se puede modificar.",
            where="geometry",
        )


def snapshot(conn: Connection, district: dict) -> dict:
    """The audited state of a district: its row and current version number and area."""
    current = q.versions(conn, district["id"])
    last = current[-1] if current else None
    return {
        "code": district["code"],
        "name": district["name"],
        "type": district["type"],
        "status": district["status"],
        "description": district["description"],
        "revision": district["revision"],
        "version": last["number"] if last else None,
        "area_ha": last["area_ha"] if last else None,
    }


def locked(conn: Connection, code: str) -> dict:
    """The district row, locked for this transaction (404 when unknown)."""
    district = q.district_row(conn, code, lock=True)
    if district is None:
        raise NotFound(f"No existe el distrito '{code}'.", where="code")
    return district


def transition(
    conn: Connection, code: str, to: str, user: Actor, expected_etag: str | None
) -> dict:
    """Move a district to another status when the rules allow it; audited."""
    if to not in S.values:
        raise InvalidInput(
            f"Estado desconocido: '{to}'. Estados: " + ", ".join(S.values), where="to"
        )
    district = locked(conn, code)
    check_etag(district, expected_etag)
    current = district["status"]
    if (current, to) in BY_ACT:
        kind = BY_ACT[(current, to)]
        raise Conflict(
            f"El paso de '{current}' a '{to}' solo ocurre mediante un acto administrativo de "
            f"tipo '{kind}' (POST /api/v1/districts/{code}/acts).",
            where="to",
        )
    roles = TRANSITIONS.get((current, to))
    if roles is None:
        allowed = [t for (f, t) in TRANSITIONS if f == current]
        raise Conflict(
            f"Transición no permitida: de '{current}' a '{to}'. Desde '{current}' se puede ir "
            "a: " + (", ".join(allowed) if allowed else "ningún estado") + ".",
            where="to",
        )
    require(user, roles, f"pasar un distrito de '{current}' a '{to}'")
    before = snapshot(conn, district)
    q.update_district(conn, district["id"], {"status": to})
    after_row = q.district_row(conn, code)
    write_audit(
        conn, user, "transition", "district", code, before=before, after=snapshot(conn, after_row)
    )
    return after_row


@dataclass(frozen=True)
class ActInput:
    """What the client states about an act."""

    kind: str
    number: str
    date: date
    issuer: str = MINISTRY
    diario_oficial: str = ""
    document_url: str = ""
    document_file: str = ""
    summary: str = ""
    boundary_version: int | None = None


def _blocking(conn: Connection, district: dict, geometry: BaseGeometry, rules, hydro) -> None:
    """409 listing the errors that keep a boundary from being delimited."""
    report = validate(
        conn,
        geometry,
        district_code=district["code"],
        hydro_system=hydro.system,
        hydro_level=hydro.level,
        rules=rules,
    )
    if not report.valid:
        messages = "; ".join(f.message for f in report.errors())
        raise Conflict(
            f"El límite tiene errores de validación que impiden delimitarlo: {messages}",
            where="geometry",
            extra={"findings": report.as_dict()["findings"]},
        )


def register_act(
    conn: Connection,
    code: str,
    act: ActInput,
    user: Actor,
    expected_etag: str | None,
    *,
    geometry: BaseGeometry | None = None,
    source: str = "drawn",
    comment: str = "",
    rules: ValidationRules | None = None,
    hydro: HydroChoice | None = None,
) -> tuple[dict, int]:
    """Record an act: delimitation freezes the current version, modification adds and freezes
    a new one, revocation revokes. Returns the district row and the act id."""
    hydro = hydro or HydroChoice()
    if act.kind not in ActKind.values:
        raise InvalidInput(
            f"Tipo de acto desconocido: '{act.kind}'. Tipos: " + ", ".join(ActKind.values),
            where="kind",
        )
    if not act.number.strip():
        raise InvalidInput(
            "El acto necesita su número (p. ej. 'Resolución 40436').", where="number"
        )
    require(user, COORDINATOR_ROLES, "registrar actos administrativos")
    district = locked(conn, code)
    check_etag(district, expected_etag)
    if q.act_number_taken(conn, act.issuer, act.number):
        raise Conflict(f"Ya existe el acto '{act.number}' de {act.issuer}.", where="number")
    status = district["status"]
    before = snapshot(conn, district)
    versions = q.versions(conn, district["id"])
    current = versions[-1] if versions else None
    new_status = status
    if act.kind == ActKind.DELIMITATION:
        if status != S.IN_VALIDATION:
            raise Conflict(
                f"Un acto de delimitación requiere el distrito en validación; está '{status}'.",
                where="kind",
            )
        if geometry is not None:
            raise InvalidInput(
                "El acto de delimitación congela la versión vigente; no envíe geometría.",
                where="geometry",
            )
        if act.boundary_version is not None and act.boundary_version != current["number"]:
            raise Conflict(
                f"El acto debe congelar la versión vigente ({current['number']}), no la "
                f"{act.boundary_version}.",
                where="boundary_version",
            )
        shape = q.current_version(conn, district["id"], 9377)["shape"]
        _blocking(conn, district, shape, rules, hydro)
        frozen_id = current["id"]
        new_status = S.DELIMITED
    elif act.kind == ActKind.MODIFICATION:
        if status not in FROZEN:
            raise Conflict(
                f"Un acto de modificación solo aplica a distritos delimitados o en ejecución; "
                f"está '{status}'.",
                where="kind",
            )
        if geometry is None:
            raise InvalidInput(
                "El acto de modificación debe traer la nueva geometría del límite.",
                where="geometry",
            )
        _blocking(conn, district, geometry, rules, hydro)
        version, _ = add_version(
            conn,
            district,
            geometry,
            source=source,
            author=user.username,
            comment=comment or f"Modificación por {act.number}",
            rules=rules,
            hydro=hydro,
        )
        frozen_id = version["id"]
    else:
        if status not in FROZEN:
            raise Conflict(
                f"Solo se revoca un distrito delimitado o en ejecución; está '{status}'.",
                where="kind",
            )
        if geometry is not None:
            raise InvalidInput("El acto de revocatoria no lleva geometría.", where="geometry")
        frozen_id = current["id"]
        new_status = S.REVOKED
    fields = asdict(act)
    fields.pop("boundary_version")
    act_id = q.insert_act(conn, district["id"], frozen_id, fields, user.username)
    q.update_district(conn, district["id"], {"status": new_status})
    after_row = q.district_row(conn, code)
    after = snapshot(conn, after_row)
    after["act"] = {"id": act_id, "kind": act.kind, "number": act.number}
    write_audit(conn, user, "act", "district", code, before=before, after=after)
    return after_row, act_id
