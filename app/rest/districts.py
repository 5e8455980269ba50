"""REST for districts: drafts, boundary versions, diffs, transitions, acts, and validation.

Thin routes: parse the request, call `delimitation`, serialise. Every district response
carries an ETag; every write needs If-Match (428 without, 412 when stale, nothing saved).
"""

from __future__ import annotations

import os
import shutil
import tempfile
from datetime import date
from pathlib import Path
from typing import Annotated, Any

from fastapi import APIRouter, File, Form, Header, Request, UploadFile
from fastapi.encoders import jsonable_encoder
from fastapi.responses import FileResponse, JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.concurrency import run_in_threadpool

from app.auth import Caller, Principal, require_authenticated
from app.params import Crs
from delimitation import districts, lifecycle, versions
from delimitation import overlay_queries as q
from delimitation.boundary_files import read_boundary
from delimitation.documents import open_pdf, store_pdf
from delimitation.models import MINISTRY
from delimitation.validation import ValidationRules, validate
from delimitation.versions import HydroChoice
from geo.crs import WGS84, parse_srid
from geo.errors import InvalidInput, NotFound
from geo.geojson_input import parse_geojson

IfMatch = Annotated[str | None, Header(alias="If-Match")]


class _Body(BaseModel):
    model_config = ConfigDict(extra="forbid")


class DistrictCreate(_Body):
    code: str = Field(description="Código estable del distrito, p. ej. 'dm-uraba-01'")
    name: str
    type: str = Field(description="vida_y_paz | transicion_energetica")
    geometry: dict[str, Any] = Field(description="GeoJSON (EPSG:4326 salvo 'crs')")
    crs: str | None = None
    description: str = ""
    comment: str = ""
    hydro_system: str | None = None
    hydro_level: int | None = None


class DistrictPatch(_Body):
    name: str | None = None
    description: str | None = None
    type: str | None = None


class BoundaryPut(_Body):
    geometry: dict[str, Any]
    crs: str | None = None
    comment: str = ""
    source: str = Field("drawn", description="drawn | proposal | qgis/wfs | import")
    hydro_system: str | None = None
    hydro_level: int | None = None


class TransitionPost(_Body):
    to: str


class ActPost(_Body):
    kind: str = Field(description="delimitation | modification | revocation")
    number: str = Field(description="p. ej. 'Resolución 40436'")
    date: date
    issuer: str = MINISTRY
    diario_oficial: str = ""
    document_url: str = ""
    summary: str = ""
    boundary_version: int | None = None
    geometry: dict[str, Any] | None = Field(None, description="solo para modificaciones")
    crs: str | None = None
    comment: str = ""
    hydro_system: str | None = None
    hydro_level: int | None = None


class ValidatePost(_Body):
    geometry: dict[str, Any]
    crs: str | None = None
    district: str | None = None
    hydro_system: str | None = None
    hydro_level: int | None = None


def rules_from_env() -> ValidationRules:
    """Area bounds and thresholds, configurable by environment (read when the app is built)."""
    defaults = ValidationRules()
    return ValidationRules(
        min_area_ha=float(os.environ.get("DM_DISTRICT_MIN_HA", defaults.min_area_ha)),
        max_area_ha=float(os.environ.get("DM_DISTRICT_MAX_HA", defaults.max_area_ha)),
    )


async def _act_request(request: Request) -> tuple[ActPost, bytes | None]:
    """The act from a JSON body, or from a multipart form with its PDF document."""
    content_type = request.headers.get("content-type", "")
    try:
        if content_type.startswith(("multipart/form-data", "application/x-www-form-urlencoded")):
            form = await request.form()
            raw = form.get("act")
            if not isinstance(raw, str):
                raise InvalidInput("Falta el campo 'act' (JSON del acto).", where="act")
            upload = form.get("document")
            data = await upload.read() if upload is not None and hasattr(upload, "read") else None
            return ActPost.model_validate_json(raw), data
        return ActPost.model_validate(await request.json()), None
    except ValidationError as exc:
        detail = "; ".join(
            ".".join(str(p) for p in e["loc"]) + ": " + e["msg"] for e in exc.errors()
        )
        raise InvalidInput(f"Acto inválido: {detail}", where="act") from None
    except ValueError:
        raise InvalidInput("El cuerpo no es JSON válido.", where="body") from None


def documents_root(request: Request) -> Path:
    """Where act documents live: beside the raster store under the data folder."""
    return Path(request.app.state.settings.data_dir).parent / "documents"


def _out_srid(crs: str | None) -> int:
    return parse_srid(crs) if crs else WGS84


def _respond(body: dict, district: dict, status: int = 200, **headers: str) -> JSONResponse:
    return JSONResponse(
        jsonable_encoder(body),
        status_code=status,
        headers={"ETag": f'"{lifecycle.etag(district)}"', **headers},
    )


def router() -> APIRouter:
    """Routes under /api/v1/districts and /api/v1/validate."""
    api = APIRouter(prefix="/api/v1", tags=["distritos"])
    rules = rules_from_env()

    def geometry_of(request: Request, obj: dict, crs: str | None):
        return parse_geojson(
            obj,
            crs,
            max_vertices=request.app.state.settings.api.max_vertices,
            polygonal_only=True,
        ).geometry

    def visible(principal: Principal, district: dict) -> dict:
        # Drafts are private working material: anonymous readers do not see they exist.
        if district["status"] == "draft" and principal.public_only:
            raise NotFound(f"No existe el distrito '{district['code']}'.", where="code")
        return district

    @api.get("/districts", operation_id="list_districts", summary="Distritos")
    def list_districts(request: Request, principal: Caller) -> dict:
        public = principal.public_only
        with request.app.state.db.connection() as conn:
            rows = conn.execute(
                "SELECT code, name, type, status, revision, version, area_ha, last_act "
                "FROM delimitation_district_current "
                "WHERE NOT %s OR status <> 'draft' ORDER BY code",
                [public],
            ).fetchall()
        keys = ("code", "name", "type", "status", "revision", "version", "area_ha", "last_act")
        base = str(request.base_url).rstrip("/")
        return {
            "districts": [
                {
                    **dict(zip(keys, row, strict=True)),
                    "href": f"{base}/api/v1/districts/{row[0]}",
                }
                for row in rows
            ]
        }

    @api.post("/districts", operation_id="create_district", summary="Crear un distrito (borrador)")
    def create_district(
        request: Request, principal: Caller, body: DistrictCreate, crs: Crs = None
    ) -> JSONResponse:
        require_authenticated(principal)
        geometry = geometry_of(request, body.geometry, body.crs)
        with request.app.state.db.connection() as conn, conn.transaction():
            district, _ = districts.create(
                conn,
                code=body.code,
                name=body.name,
                type_=body.type,
                geometry=geometry,
                user=principal,
                description=body.description,
                comment=body.comment,
                rules=rules,
                hydro=HydroChoice(body.hydro_system, body.hydro_level),
            )
            doc = districts.document(conn, district, _out_srid(crs))
        location = str(request.url_for("get_district", code=district["code"]))
        return _respond(doc, district, 201, Location=location)

    @api.get("/districts/{code}", operation_id="get_district", summary="Un distrito")
    def get_district(
        code: str,
        request: Request,
        principal: Caller,
        crs: Crs = None,
        if_none_match: Annotated[str | None, Header(alias="If-None-Match")] = None,
    ):
        with request.app.state.db.connection() as conn:
            district = visible(principal, districts.get(conn, code))
            tag = lifecycle.etag(district)
            # The ETag is the district revision, bumped by every write: a match is current.
            if if_none_match and tag in [
                t.strip().removeprefix("W/").strip('"') for t in if_none_match.split(",")
            ]:
                return Response(status_code=304, headers={"ETag": f'"{tag}"'})
            doc = districts.document(conn, district, _out_srid(crs))
        return _respond(doc, district)

    @api.patch("/districts/{code}", operation_id="patch_district", summary="Editar atributos")
    def patch_district(
        code: str,
        request: Request,
        principal: Caller,
        body: DistrictPatch,
        if_match: IfMatch = None,
        crs: Crs = None,
    ) -> JSONResponse:
        changes = body.model_dump(exclude_unset=True)
        require_authenticated(principal)
        with request.app.state.db.connection() as conn, conn.transaction():
            lifecycle.check_etag(districts.get(conn, code), if_match, required=True)
            district = districts.update_fields(conn, code, changes, principal, if_match)
            doc = districts.document(conn, district, _out_srid(crs))
        return _respond(doc, district)

    @api.put(
        "/districts/{code}/boundary",
        operation_id="put_district_boundary",
        summary="Nueva versión del límite",
    )
    def put_boundary(
        code: str,
        request: Request,
        principal: Caller,
        body: BoundaryPut,
        if_match: IfMatch = None,
        crs: Crs = None,
    ) -> JSONResponse:
        require_authenticated(principal)
        geometry = geometry_of(request, body.geometry, body.crs)
        with request.app.state.db.connection() as conn, conn.transaction():
            lifecycle.check_etag(districts.get(conn, code), if_match, required=True)
            district, _, _ = districts.set_boundary(
                conn,
                code,
                geometry,
                principal,
                if_match,
                source=body.source,
                comment=body.comment,
                rules=rules,
                hydro=HydroChoice(body.hydro_system, body.hydro_level),
            )
            doc = districts.document(conn, district, _out_srid(crs))
        return _respond(doc, district)

    @api.put(
        "/districts/{code}/boundary/file",
        operation_id="put_district_boundary_file",
        summary="Nueva versión del límite desde un archivo SIG",
        description="GeoPackage, Shapefile (.zip), GeoJSON, KML o FlatGeobuf: sus polígonos "
        "se disuelven en un solo límite (origen 'import').",
    )
    def put_boundary_file(
        code: str,
        request: Request,
        principal: Caller,
        file: Annotated[UploadFile, File(description="archivo con el límite")],
        comment: Annotated[str, Form()] = "",
        source_layer: Annotated[str | None, Form()] = None,
        hydro_system: Annotated[str | None, Form()] = None,
        hydro_level: Annotated[int | None, Form()] = None,
        if_match: IfMatch = None,
        crs: Crs = None,
    ) -> JSONResponse:
        require_authenticated(principal)
        name = Path(file.filename or "limite.gpkg").name
        with tempfile.TemporaryDirectory(prefix="dm-boundary-") as folder:
            target = Path(folder) / name
            with target.open("wb") as out:
                shutil.copyfileobj(file.file, out)
            geometry = read_boundary(target, source_layer)
        with request.app.state.db.connection() as conn, conn.transaction():
            lifecycle.check_etag(districts.get(conn, code), if_match, required=True)
            district, _, _ = districts.set_boundary(
                conn,
                code,
                geometry,
                principal,
                if_match,
                source="import",
                comment=comment or f"Importado de {name}",
                rules=rules,
                hydro=HydroChoice(hydro_system, hydro_level),
            )
            doc = districts.document(conn, district, _out_srid(crs))
        return _respond(doc, district)

    @api.get(
        "/districts/{code}/versions",
        operation_id="list_district_versions",
        summary="Versiones del límite",
    )
    def list_versions(code: str, request: Request, principal: Caller) -> JSONResponse:
        with request.app.state.db.connection() as conn:
            district = visible(principal, districts.get(conn, code))
            items = versions.list_versions(conn, district)
        for item in items:
            item["valid"] = (item.pop("validation") or {}).get("valid")
            item.pop("id")
        return _respond({"district": code, "versions": items}, district)

    @api.get(
        "/districts/{code}/versions/{number}",
        operation_id="get_district_version",
        summary="Una versión del límite (geometría e informe de validación)",
    )
    def get_version(
        code: str, number: int, request: Request, principal: Caller, crs: Crs = None
    ) -> JSONResponse:
        with request.app.state.db.connection() as conn:
            district = visible(principal, districts.get(conn, code))
            body = versions.get_version(conn, district, number, _out_srid(crs))
        return _respond(body, district)

    @api.get(
        "/districts/{code}/versions/{a}/diff/{b}",
        operation_id="diff_district_versions",
        summary="Diferencia entre dos versiones",
    )
    def diff_versions(
        code: str, a: int, b: int, request: Request, principal: Caller, crs: Crs = None
    ) -> JSONResponse:
        with request.app.state.db.connection() as conn:
            district = visible(principal, districts.get(conn, code))
            body = versions.diff(conn, district, a, b, _out_srid(crs))
        return _respond(body, district)

    @api.post(
        "/districts/{code}/transitions",
        operation_id="transition_district",
        summary="Cambiar el estado",
    )
    def transition(
        code: str,
        request: Request,
        principal: Caller,
        body: TransitionPost,
        if_match: IfMatch = None,
        crs: Crs = None,
    ) -> JSONResponse:
        require_authenticated(principal)
        with request.app.state.db.connection() as conn, conn.transaction():
            lifecycle.check_etag(districts.get(conn, code), if_match, required=True)
            district = lifecycle.transition(conn, code, body.to, principal, if_match)
            doc = districts.document(conn, district, _out_srid(crs))
        return _respond(doc, district)

    @api.post(
        "/districts/{code}/acts",
        operation_id="register_district_act",
        summary="Registrar un acto administrativo",
        description="JSON (ActPost), o multipart/form-data con el campo `act` (el mismo JSON) "
        "y el archivo `document` (PDF de la resolución firmada).",
        openapi_extra={
            "requestBody": {
                "required": True,
                "content": {
                    "application/json": {"schema": ActPost.model_json_schema()},
                    "multipart/form-data": {
                        "schema": {
                            "type": "object",
                            "required": ["act"],
                            "properties": {
                                "act": {"type": "string", "description": "ActPost como JSON"},
                                "document": {"type": "string", "format": "binary"},
                            },
                        }
                    },
                },
            }
        },
    )
    async def register_act(
        code: str,
        request: Request,
        principal: Caller,
        if_match: IfMatch = None,
        crs: Crs = None,
    ) -> JSONResponse:
        body, document = await _act_request(request)
        return await run_in_threadpool(
            _register_act, request, code, principal, body, document, if_match, crs
        )

    def _register_act(request, code, principal, body: ActPost, document, if_match, crs):
        require_authenticated(principal)
        geometry = geometry_of(request, body.geometry, body.crs) if body.geometry else None
        stored = ""
        if document is not None:
            stored = store_pdf(document, documents_root(request))
        act = lifecycle.ActInput(
            kind=body.kind,
            number=body.number,
            date=body.date,
            issuer=body.issuer,
            diario_oficial=body.diario_oficial,
            document_url=body.document_url,
            document_file=stored,
            summary=body.summary,
            boundary_version=body.boundary_version,
        )
        require_authenticated(principal)
        with request.app.state.db.connection() as conn, conn.transaction():
            lifecycle.check_etag(districts.get(conn, code), if_match, required=True)
            district, _ = lifecycle.register_act(
                conn,
                code,
                act,
                principal,
                if_match,
                geometry=geometry,
                comment=body.comment,
                rules=rules,
                hydro=HydroChoice(body.hydro_system, body.hydro_level),
            )
            doc = districts.document(conn, district, _out_srid(crs))
        return _respond(doc, district, 201)

    @api.get(
        "/districts/{code}/acts/{act_id}/document",
        operation_id="get_district_act_document",
        summary="Documento (PDF) de un acto",
        response_class=FileResponse,
    )
    def act_document(code: str, act_id: int, request: Request, principal: Caller):
        with request.app.state.db.connection() as conn:
            district = visible(principal, districts.get(conn, code))
            act = next((a for a in q.acts(conn, district["id"]) if a["id"] == act_id), None)
        if act is None:
            raise NotFound(f"El distrito {code} no tiene el acto {act_id}.", where="act_id")
        path = open_pdf(act["document_file"], documents_root(request))
        filename = f"{act['number']}.pdf".replace("/", "-")
        return FileResponse(path, media_type="application/pdf", filename=filename)

    @api.post("/validate", operation_id="validate_boundary", summary="Validar un límite")
    def validate_boundary(request: Request, body: ValidatePost, crs: Crs = None) -> dict:
        geometry = parse_geojson(
            body.geometry,
            body.crs,
            max_vertices=request.app.state.settings.api.max_vertices,
            allow_empty=True,
        ).geometry
        with request.app.state.db.connection() as conn:
            report = validate(
                conn,
                geometry,
                district_code=body.district,
                hydro_system=body.hydro_system,
                hydro_level=body.hydro_level,
                rules=rules,
                out_srid=_out_srid(crs),
            )
        return jsonable_encoder(report.as_dict())

    return api
