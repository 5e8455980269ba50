"""REST API of governance and the Plan Estratégico de Gestión."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from typing import Annotated, Any

from fastapi import APIRouter, Body, Header, Response
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field

from app.auth import Caller, Principal, require_authenticated, require_role
from geo.errors import Forbidden, InvalidInput, NotFound
from layers.registry import ADMIN, COORDINATOR, FOCAL_POINT, MESA_SECRETARY

PLAN_EDITORS = frozenset({MESA_SECRETARY, COORDINATOR, ADMIN})
APPROVERS = frozenset({COORDINATOR, ADMIN})
REPORT_ANY = frozenset({MESA_SECRETARY, COORDINATOR, ADMIN})
PUBLISHED = {"approved", "in_execution", "closed"}


class OrganisationIn(BaseModel):
    name: str = Field(min_length=2, max_length=250)
    acronym: str = ""
    nit: str = ""
    kind: str


class WorkTableIn(BaseModel):
    secretary: int
    installed_on: dt.date | None = None


class DelegateIn(BaseModel):
    organisation: int
    person: str = Field(min_length=2)
    position: str = Field(min_length=2)
    grade: str
    principal: bool = True
    email: str = ""
    active_from: dt.date
    active_to: dt.date | None = None


class SupporterIn(BaseModel):
    organisation: int
    stages: list[str]
    description: str = ""


class SessionIn(BaseModel):
    date: dt.date
    place: str = ""
    attendees: list[int] = []
    agreements: str = ""
    minutes_url: str = ""


class PlanIn(BaseModel):
    period_start: dt.date
    period_end: dt.date


class ScopeIn(BaseModel):
    kind: str
    hydro_units: list[int] = []
    municipalities: list[str] = []
    geometry: dict[str, Any] | None = None
    crs: int = 4326


class ActionIn(BaseModel):
    code: str = Field(min_length=1, max_length=40)
    title: str = Field(min_length=3, max_length=300)
    description: str = ""
    component: str
    purposes: list[int]
    responsible: int
    supporting: list[int] = []
    start: dt.date | None = None
    end: dt.date | None = None
    budget_cop: Decimal | None = None
    funding_source: str = ""
    action_plan_ref: str = ""
    scope: ScopeIn


class IndicatorIn(BaseModel):
    name: str = Field(min_length=2)
    unit: str
    baseline: float
    target: float
    target_date: dt.date
    frequency: str
    evaluation_criterion: str = ""


class ActionPatch(BaseModel):
    """Only the fields sent change (PATCH semantics)."""

    code: str | None = Field(None, min_length=1, max_length=40)
    title: str | None = Field(None, min_length=3, max_length=300)
    description: str | None = None
    component: str | None = None
    purposes: list[int] | None = None
    responsible: int | None = None
    supporting: list[int] | None = None
    start: dt.date | None = None
    end: dt.date | None = None
    budget_cop: Decimal | None = None
    funding_source: str | None = None
    action_plan_ref: str | None = None
    scope: ScopeIn | None = None


class IndicatorPatch(BaseModel):
    """Only the fields sent change (PATCH semantics)."""

    name: str | None = Field(None, min_length=2)
    unit: str | None = None
    baseline: float | None = None
    target: float | None = None
    target_date: dt.date | None = None
    frequency: str | None = None
    evaluation_criterion: str | None = None


class FollowUpIn(BaseModel):
    indicator: int
    period: str = Field(min_length=1, max_length=20)
    date: dt.date
    value: float
    narrative: str = ""
    evidence_url: str = ""


def _organisation_json(org) -> dict:
    return {
        "id": org.pk,
        "name": org.name,
        "acronym": org.acronym,
        "nit": org.nit,
        "kind": org.kind,
        "is_entity": org.is_entity,
    }


def _plan_json(plan) -> dict:
    return {
        "district": plan.district.code,
        "version": plan.version,
        "status": plan.status,
        "period_start": plan.period_start.isoformat(),
        "period_end": plan.period_end.isoformat(),
        "approved_by": plan.approved_by,
        "approved_at": plan.approved_at.isoformat() if plan.approved_at else None,
        "actions": plan.actions.count(),
    }


def _action_feature(action) -> dict:
    from django.contrib.gis.geos import GEOSGeometry

    geom = GEOSGeometry(action.geom.ewkt)
    geom.transform(4326)
    return {
        "type": "Feature",
        "id": action.pk,
        "geometry": json.loads(geom.geojson),
        "properties": {
            "code": action.code,
            "title": action.title,
            "component": action.component,
            "purposes": action.purposes,
            "responsible": str(action.responsible),
            "responsible_id": action.responsible_id,
            "status": action.status,
            "scope_kind": action.scope_kind,
            "hydro_units": action.scope_hydro_unit_ids,
            "municipalities": action.scope_municipality_codes,
            "ethnic_territories": action.ethnic_territories,
            "start": action.start.isoformat() if action.start else None,
            "end": action.end.isoformat() if action.end else None,
            "budget_cop": float(action.budget_cop) if action.budget_cop is not None else None,
        },
    }


REQUIRED_ACTION_FIELDS = {"code", "title", "component", "purposes", "responsible", "scope"}


def _etag(response: Response, revision: int) -> None:
    response.headers["ETag"] = f'"{revision}"'


def _visible_plan(code: str, principal: Principal):
    from plan.governance import district_by_code
    from plan.plans import current_plan

    plan = current_plan(district_by_code(code))
    if plan.status not in PUBLISHED and not (principal.roles & (PLAN_EDITORS | {FOCAL_POINT})):
        raise NotFound(f"El distrito '{code}' no tiene un plan publicado.", where="plan")
    return plan


def router() -> APIRouter:
    """Routes of the Mesa de Trabajo and the plan."""
    api = APIRouter(prefix="/api/v1", tags=["plan"])

    @api.get("/organisations", operation_id="list_organisations")
    def list_organisations() -> dict:
        from plan.models import Organisation

        return {"organisations": [_organisation_json(o) for o in Organisation.objects.all()]}

    @api.post("/organisations", status_code=201, operation_id="create_organisation")
    def create_organisation(body: OrganisationIn, principal: Caller) -> dict:
        require_role(principal, PLAN_EDITORS, "registrar organizaciones")
        from geo.errors import Conflict, Unprocessable
        from layers.audit import record_audit
        from plan.models import Organisation, OrganisationKind

        if body.kind not in OrganisationKind.values:
            raise Unprocessable(
                f"Tipo de organización desconocido '{body.kind}'. Use: "
                + ", ".join(OrganisationKind.values),
                where="kind",
            )
        if Organisation.objects.filter(name=body.name).exists():
            raise Conflict(f"Ya existe la organización '{body.name}'.", where="name")
        org = Organisation.objects.create(**body.model_dump())
        record_audit(principal.username, "create", "organisation", org.pk, None, body.model_dump())
        return _organisation_json(org)

    @api.post("/districts/{code}/worktable", status_code=201, operation_id="convene_worktable")
    def convene(code: str, body: WorkTableIn, principal: Caller) -> dict:
        require_role(principal, PLAN_EDITORS, "instalar la Mesa de Trabajo")
        from plan.governance import convene_work_table, district_by_code

        table = convene_work_table(
            district_by_code(code), body.secretary, body.installed_on, principal.username
        )
        return {
            "district": code,
            "convened_by": table.convened_by.number,
            "secretary": str(table.secretary),
        }

    @api.get("/districts/{code}/worktable", operation_id="get_worktable")
    def get_worktable(code: str, principal: Caller) -> dict:
        from plan.governance import district_by_code, work_table_of

        table = work_table_of(district_by_code(code))
        personal = principal.authenticated
        delegates = [
            {
                "id": d.pk,
                "organisation": str(d.organisation),
                "grade": d.grade,
                "position": d.position,
                "principal": d.principal,
                **({"person": d.person, "email": d.email} if personal else {}),
            }
            for d in table.delegates.select_related("organisation")
        ]
        return {
            "district": code,
            "convened_by": table.convened_by.number,
            "installed_on": table.installed_on.isoformat() if table.installed_on else None,
            "secretary": str(table.secretary),
            "delegates": delegates,
            "supporters": [
                {"organisation": str(s.organisation), "stages": s.stages}
                for s in table.supporters.select_related("organisation")
            ],
            "sessions": table.sessions.count(),
        }

    @api.post("/districts/{code}/worktable/delegates", status_code=201, operation_id="add_delegate")
    def post_delegate(code: str, body: DelegateIn, principal: Caller) -> dict:
        require_role(principal, PLAN_EDITORS, "editar la Mesa de Trabajo")
        from plan.governance import add_delegate, district_by_code, work_table_of

        delegate = add_delegate(
            work_table_of(district_by_code(code)), body.model_dump(), principal.username
        )
        return {
            "id": delegate.pk,
            "organisation": str(delegate.organisation),
            "grade": delegate.grade,
        }

    @api.post(
        "/districts/{code}/worktable/supporters", status_code=201, operation_id="add_supporter"
    )
    def post_supporter(code: str, body: SupporterIn, principal: Caller) -> dict:
        require_role(principal, PLAN_EDITORS, "editar la Mesa de Trabajo")
        from plan.governance import add_supporter, district_by_code, work_table_of

        supporter = add_supporter(
            work_table_of(district_by_code(code)), body.model_dump(), principal.username
        )
        return {
            "id": supporter.pk,
            "organisation": str(supporter.organisation),
            "stages": supporter.stages,
        }

    @api.post("/districts/{code}/worktable/sessions", status_code=201, operation_id="add_session")
    def post_session(code: str, body: SessionIn, principal: Caller) -> dict:
        require_role(principal, PLAN_EDITORS, "registrar sesiones de la Mesa")
        from plan.governance import district_by_code, record_session, work_table_of

        session = record_session(
            work_table_of(district_by_code(code)), body.model_dump(), principal.username
        )
        return {
            "id": session.pk,
            "date": session.date.isoformat(),
            "attendees": session.attendees.count(),
        }

    @api.post("/districts/{code}/plan", status_code=201, operation_id="create_plan")
    def post_plan(code: str, body: PlanIn, principal: Caller, response: Response) -> dict:
        require_role(principal, PLAN_EDITORS, "editar el plan")
        from plan.governance import district_by_code
        from plan.plans import create_plan

        plan = create_plan(district_by_code(code), body.model_dump(), principal.username)
        _etag(response, plan.revision)
        return _plan_json(plan)

    @api.get("/districts/{code}/plan", operation_id="get_plan")
    def get_plan(code: str, principal: Caller, response: Response) -> dict:
        plan = _visible_plan(code, principal)
        _etag(response, plan.revision)
        return _plan_json(plan)

    @api.post("/districts/{code}/plan/actions", status_code=201, operation_id="add_action")
    def post_action(code: str, body: ActionIn, principal: Caller) -> JSONResponse:
        require_role(principal, PLAN_EDITORS, "editar el plan")
        from plan.governance import district_by_code
        from plan.plans import add_action, current_plan

        data = body.model_dump()
        data["scope"] = body.scope.model_dump()
        action = add_action(current_plan(district_by_code(code)), data, principal.username)
        return JSONResponse(
            _action_feature(action), status_code=201, media_type="application/geo+json"
        )

    @api.get("/districts/{code}/plan/actions", operation_id="list_actions")
    def list_actions(code: str, principal: Caller) -> JSONResponse:
        plan = _visible_plan(code, principal)
        features = [_action_feature(a) for a in plan.actions.select_related("responsible")]
        return JSONResponse(
            {"type": "FeatureCollection", "features": features}, media_type="application/geo+json"
        )

    def _current_action(code: str, action_code: str):
        from plan.governance import district_by_code
        from plan.plans import current_plan

        plan = current_plan(district_by_code(code))
        action = plan.actions.select_related("plan", "responsible").filter(code=action_code).first()
        if action is None:
            raise NotFound(
                f"No existe la acción '{action_code}' en el plan de '{code}'.", where="action"
            )
        return action

    def _indicator(code: str, action_code: str, indicator_id: int):
        action = _current_action(code, action_code)
        indicator = action.indicators.select_related("action__plan").filter(pk=indicator_id).first()
        if indicator is None:
            raise NotFound(
                f"La acción '{action_code}' no tiene el indicador {indicator_id}.",
                where="indicator",
            )
        return indicator

    @api.post(
        "/districts/{code}/plan/actions/{action_code}/indicators",
        status_code=201,
        operation_id="add_indicator",
    )
    def post_indicator(code: str, action_code: str, body: IndicatorIn, principal: Caller) -> dict:
        require_role(principal, PLAN_EDITORS, "editar el plan")
        from plan.plans import add_indicator

        indicator = add_indicator(
            _current_action(code, action_code), body.model_dump(), principal.username
        )
        return {"id": indicator.pk, "action": indicator.action.code, "name": indicator.name}

    @api.patch("/districts/{code}/plan/actions/{action_code}", operation_id="update_action")
    def patch_action(
        code: str, action_code: str, body: ActionPatch, principal: Caller
    ) -> JSONResponse:
        require_role(principal, PLAN_EDITORS, "editar el plan")
        from plan.plans import update_action

        changes = body.model_dump(exclude_unset=True)
        if body.scope is not None:
            changes["scope"] = body.scope.model_dump()
        nulls = [k for k, v in changes.items() if v is None and k in REQUIRED_ACTION_FIELDS]
        if nulls:
            raise InvalidInput(
                f"Campos obligatorios de la acción no pueden quedar vacíos: {', '.join(nulls)}.",
                where=nulls[0],
            )
        action = update_action(_current_action(code, action_code), changes, principal.username)
        return JSONResponse(_action_feature(action), media_type="application/geo+json")

    @api.delete(
        "/districts/{code}/plan/actions/{action_code}",
        status_code=204,
        operation_id="delete_action",
    )
    def remove_action(code: str, action_code: str, principal: Caller) -> Response:
        require_role(principal, PLAN_EDITORS, "editar el plan")
        from plan.plans import delete_action

        delete_action(_current_action(code, action_code), principal.username)
        return Response(status_code=204)

    @api.patch(
        "/districts/{code}/plan/actions/{action_code}/indicators/{indicator_id}",
        operation_id="update_indicator",
    )
    def patch_indicator(
        code: str, action_code: str, indicator_id: int, body: IndicatorPatch, principal: Caller
    ) -> dict:
        require_role(principal, PLAN_EDITORS, "editar el plan")
        from plan.plans import INDICATOR_FIELDS, update_indicator

        changes = body.model_dump(exclude_unset=True)
        nulls = [k for k, v in changes.items() if v is None and k != "evaluation_criterion"]
        if nulls:
            raise InvalidInput(
                f"Campos obligatorios del indicador no pueden quedar vacíos: {', '.join(nulls)}.",
                where=nulls[0],
            )
        indicator = update_indicator(
            _indicator(code, action_code, indicator_id), changes, principal.username
        )
        return {
            "id": indicator.pk,
            "action": action_code,
            **{k: getattr(indicator, k) for k in INDICATOR_FIELDS},
        }

    @api.delete(
        "/districts/{code}/plan/actions/{action_code}/indicators/{indicator_id}",
        status_code=204,
        operation_id="delete_indicator",
    )
    def remove_indicator(
        code: str, action_code: str, indicator_id: int, principal: Caller
    ) -> Response:
        require_role(principal, PLAN_EDITORS, "editar el plan")
        from plan.plans import delete_indicator

        delete_indicator(_indicator(code, action_code, indicator_id), principal.username)
        return Response(status_code=204)

    @api.post("/districts/{code}/plan/approve", operation_id="approve_plan")
    def approve_plan(
        code: str,
        principal: Caller,
        response: Response,
        if_match: Annotated[str | None, Header()] = None,
    ) -> dict:
        require_role(principal, APPROVERS, "aprobar planes")
        from plan.governance import district_by_code
        from plan.plans import approve, current_plan

        plan = approve(current_plan(district_by_code(code)), if_match, principal.username)
        _etag(response, plan.revision)
        return _plan_json(plan)

    def _report(body: FollowUpIn, principal: Principal) -> tuple[dict, bool]:
        require_authenticated(principal)
        if not (principal.roles & (REPORT_ANY | {FOCAL_POINT})):
            raise Forbidden("Su rol no permite reportar seguimiento.")
        from plan.followups import report

        followup, created = report(
            body.model_dump(),
            principal.username,
            principal.organisation_id,
            bool(principal.roles & REPORT_ANY),
        )
        return {
            "id": followup.pk,
            "indicator": followup.indicator_id,
            "period": followup.period,
            "value": followup.value,
        }, created

    @api.post("/followups", operation_id="report_followup")
    def post_followup(body: FollowUpIn, principal: Caller, response: Response) -> dict:
        result, created = _report(body, principal)
        response.status_code = 201 if created else 200
        return result

    @api.post("/followups:bulk", operation_id="report_followups_bulk")
    def bulk_followups(
        rows: Annotated[list[dict[str, Any]], Body(max_length=10_000)], principal: Caller
    ) -> dict:
        """Many figures at once: each row in its own transaction, a result per row."""
        from pydantic import ValidationError

        from geo.errors import DomainError

        results = []
        for index, row in enumerate(rows):
            try:
                body = FollowUpIn.model_validate(row)
                result, created = _report(body, principal)
                results.append({"row": index, "status": 201 if created else 200, **result})
            except DomainError as exc:
                results.append({"row": index, "status": exc.status, "error": exc.detail})
            except ValidationError as exc:
                problems = "; ".join(
                    f"{'.'.join(map(str, e['loc']))}: {e['msg']}" for e in exc.errors()
                )
                results.append({"row": index, "status": 400, "error": problems})
        return {"results": results}

    @api.get("/districts/{code}/followups", operation_id="list_followups")
    def list_followups(code: str, principal: Caller) -> dict:
        from plan.models import FollowUp

        plan = _visible_plan(code, principal)
        rows = FollowUp.objects.filter(indicator__action__plan=plan).select_related(
            "indicator__action"
        )
        return {
            "followups": [
                {
                    "id": f.pk,
                    "action": f.indicator.action.code,
                    "indicator": f.indicator_id,
                    "period": f.period,
                    "date": f.date.isoformat(),
                    "value": f.value,
                    "narrative": f.narrative,
                }
                for f in rows.order_by("indicator_id", "date")
            ]
        }

    @api.get("/districts/{code}/progress", operation_id="plan_progress")
    def progress(code: str, principal: Caller, hydro_system: str = "pomca") -> dict:
        from plan.progress import plan_progress

        return plan_progress(_visible_plan(code, principal), hydro_system=hydro_system)

    @api.get(
        "/districts/{code}/dossier.{fmt}",
        operation_id="district_dossier",
        summary="Ficha del distrito (PDF o HTML)",
    )
    def dossier(code: str, fmt: str, principal: Caller) -> Response:
        from plan.dossier import dossier_html, dossier_pdf

        district = _visible_district(code, principal)
        if fmt == "pdf":
            return Response(
                dossier_pdf(district),
                media_type="application/pdf",
                headers={"Content-Disposition": f'inline; filename="ficha-{code}.pdf"'},
            )
        if fmt == "html":
            return Response(dossier_html(district), media_type="text/html; charset=utf-8")
        raise NotFound(f"Formato de ficha desconocido '{fmt}': use pdf o html.", where="format")

    @api.get(
        "/districts/{code}/export.{fmt}",
        operation_id="district_export",
        summary="Exportación del distrito (gpkg, xlsx, csv)",
    )
    def export(code: str, fmt: str, principal: Caller, table: str = "seguimientos") -> Response:
        from plan.exports import TABLE_QUERIES, export_csv, export_geopackage, export_xlsx

        district = _visible_district(code, principal)
        disposition = {"Content-Disposition": f'attachment; filename="{code}.{fmt}"'}
        if fmt == "gpkg":
            return Response(
                export_geopackage(district),
                media_type="application/geopackage+sqlite3",
                headers=disposition,
            )
        if fmt == "xlsx":
            return Response(
                export_xlsx(district),
                media_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet",
                headers=disposition,
            )
        if fmt == "csv":
            if table not in TABLE_QUERIES:
                raise InvalidInput(
                    f"Tabla desconocida '{table}': use " + ", ".join(TABLE_QUERIES), where="table"
                )
            return Response(
                export_csv(district, table),
                media_type="text/csv; charset=utf-8",
                headers=disposition,
            )
        raise NotFound(f"Formato desconocido '{fmt}': use gpkg, xlsx o csv.", where="format")

    return api


def _visible_district(code: str, principal: Principal):
    """The district if this caller may see it: drafts are for staff only."""
    from plan.governance import district_by_code

    district = district_by_code(code)
    if district.status == "draft" and not principal.authenticated:
        raise NotFound(f"No existe el distrito '{code}'.", where="code")
    return district
