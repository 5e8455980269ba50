"""REST API of the proposal engine: /api/v1/proposals (runs, proposals, adoption).

Small runs (at most DM_PROPOSAL_INLINE_UNITS candidate units, 60 by default) answer inline
with 201 and the run document; larger ones become a durable procrastinate job and answer 202
with `Location`/`job` pointing at the run, whose `status` and `progress` (percent) the client
polls until it ends with the same run document. The web process runs an embedded worker
(DM_PROPOSAL_WORKER=0 turns it off when dedicated `distritos worker` processes run).
"""

from __future__ import annotations

import os
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import APIRouter, Body, FastAPI, Header, Request
from fastapi.encoders import jsonable_encoder
from fastapi.responses import JSONResponse
from starlette.concurrency import run_in_threadpool

from app.auth import Caller, require_role
from app.params import Crs
from app.rest.districts import rules_from_env
from delimitation import districts, engine, jobs, lifecycle
from geo.crs import WGS84, parse_srid
from geo.errors import InvalidInput
from layers.registry import ADMIN, ANALYST, COORDINATOR, STAFF

PROPOSERS = frozenset({ANALYST, COORDINATOR, ADMIN})
DEFAULT_INLINE_UNITS = 60


def inline_limit() -> int:
    """Most candidate units a run may have to be answered inline (201)."""
    return int(os.environ.get("DM_PROPOSAL_INLINE_UNITS", str(DEFAULT_INLINE_UNITS)))


@asynccontextmanager
async def embedded_worker(app: FastAPI):
    """Start the proposal worker with the app (unless DM_PROPOSAL_WORKER=0)."""
    worker = None
    if os.environ.get("DM_PROPOSAL_WORKER", "1") != "0":
        settings = app.state.settings
        worker = jobs.EmbeddedWorker(settings.database.url, settings.data_dir)
        worker.start()
    try:
        yield
    finally:
        if worker is not None:
            await run_in_threadpool(worker.stop)


def _out_srid(crs: str | None) -> int:
    return parse_srid(crs) if crs else WGS84


def router() -> APIRouter:
    """Routes under /api/v1/proposals."""
    api = APIRouter(prefix="/api/v1/proposals", tags=["propuestas"], lifespan=embedded_worker)

    def run_url(request: Request, run_id: int) -> str:
        return str(request.url_for("get_proposal_run", run_id=run_id))

    def links(request: Request, doc: dict) -> dict:
        doc["links"] = [{"rel": "self", "href": run_url(request, doc["id"])}]
        for feature in doc["proposals"]["features"]:
            href = str(request.url_for("get_proposal", proposal_id=feature["id"]))
            feature["properties"]["href"] = href
            feature["properties"]["adopt"] = href + "/adopt"
        return doc

    @api.post("", operation_id="create_proposal_run", summary="Proponer distritos")
    def create_run(
        request: Request,
        principal: Caller,
        body: Annotated[dict[str, Any], Body()],
        crs: Crs = None,
    ) -> JSONResponse:
        """Build ranked proposals for a study area (201 inline, or 202 with a job to poll)."""
        require_role(principal, PROPOSERS, "proponer distritos")
        proposal_request = engine.parse_request(body)
        settings = request.app.state.settings
        with request.app.state.db.connection() as conn:
            run_id, units = engine.create_run(conn, proposal_request, principal.username)
            background = proposal_request.execution == "background" or (
                proposal_request.execution == "auto" and units > inline_limit()
            )
            if background:
                job_id = jobs.enqueue(settings.database.url, conn, run_id)
                url = run_url(request, run_id)
                return JSONResponse(
                    {
                        "id": run_id,
                        "status": "queued",
                        "progress": 0,
                        "units": units,
                        "job_id": job_id,
                        "job": url,
                        "links": [{"rel": "monitor", "href": url}],
                    },
                    status_code=202,
                    headers={"Location": url},
                )
            engine.execute_run(conn, run_id, data_dir=settings.data_dir)
            doc = links(request, engine.run_document(conn, run_id, _out_srid(crs)))
        return JSONResponse(
            jsonable_encoder(doc), status_code=201, headers={"Location": run_url(request, run_id)}
        )

    @api.get(
        "/runs/{run_id}",
        operation_id="get_proposal_run",
        name="get_proposal_run",
        summary="Una ejecución",
    )
    def get_run(run_id: int, request: Request, principal: Caller, crs: Crs = None) -> JSONResponse:
        """Status, progress (%), parameters and, when done, the ranked proposals."""
        require_role(principal, STAFF, "ver propuestas")
        with request.app.state.db.connection() as conn:
            doc = engine.run_document(conn, run_id, _out_srid(crs))
            doc["job_status"] = jobs.job_status(conn, doc["job_id"])
        return JSONResponse(jsonable_encoder(links(request, doc)))

    @api.get(
        "/{proposal_id}",
        operation_id="get_proposal",
        name="get_proposal",
        summary="Una propuesta",
    )
    def get_proposal(
        proposal_id: int, request: Request, principal: Caller, crs: Crs = None
    ) -> JSONResponse:
        """One proposal as a GeoJSON Feature with its metrics and unit ids."""
        require_role(principal, STAFF, "ver propuestas")
        with request.app.state.db.connection() as conn:
            feature = engine.proposal_document(conn, proposal_id, _out_srid(crs))
        feature["properties"]["run"] = run_url(request, feature["properties"]["run_id"])
        return JSONResponse(jsonable_encoder(feature), media_type="application/geo+json")

    @api.post(
        "/{proposal_id}/adopt",
        operation_id="adopt_proposal",
        summary="Adoptar una propuesta como distrito (borrador)",
    )
    def adopt(
        proposal_id: int,
        request: Request,
        principal: Caller,
        body: Annotated[dict[str, Any], Body()],
        if_match: Annotated[str | None, Header(alias="If-Match")] = None,
    ) -> JSONResponse:
        """Create a draft district, or add a boundary version to one (If-Match), from it."""
        require_role(principal, PROPOSERS, "adoptar propuestas")
        allowed = {"district", "code", "name", "type", "comment"}
        unknown = sorted(set(body) - allowed)
        if unknown:
            raise InvalidInput(
                f"Campos desconocidos: {', '.join(unknown)}. Campos válidos: "
                f"{', '.join(sorted(allowed))}.",
                where=unknown[0],
            )
        with request.app.state.db.connection() as conn, conn.transaction():
            district, created = engine.adopt(
                conn,
                proposal_id,
                principal,
                district=body.get("district"),
                code=body.get("code"),
                name=body.get("name"),
                type_=body.get("type"),
                comment=body.get("comment") or "",
                expected_etag=if_match,
                rules=rules_from_env(),
            )
            doc = districts.document(conn, district)
        location = str(request.url_for("get_district", code=district["code"]))
        return JSONResponse(
            jsonable_encoder(doc),
            status_code=201 if created else 200,
            headers={"ETag": f'"{lifecycle.etag(district)}"', "Location": location},
        )

    return api
