"""REST API of hydrology: a unit with its water metrics, upstream/downstream, catchments."""

from __future__ import annotations

import json
from typing import Annotated, Literal

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse
from psycopg import sql
from pydantic import BaseModel, Field

from app.auth import Principal, current_principal
from app.params import Crs
from app.rest.layers import GEOJSON, readable_layer
from geo.crs import WGS84, parse_srid
from geo.errors import NotFound
from hydrology import catchment_service, topology
from hydrology.metrics import unit_water_metrics
from layers import queries
from layers.registry import ANONYMOUS, VIEWER


class CatchmentRequest(BaseModel):
    """A point (lon/lat, EPSG:4326) and optionally the elevation raster to use."""

    lon: float = Field(ge=-180, le=180, description="longitud (EPSG:4326)")
    lat: float = Field(ge=-90, le=90, description="latitud (EPSG:4326)")
    dem: str | None = Field(
        None, description="nombre del ráster de elevación; por defecto el que cubre el punto"
    )
    crs: str | None = Field(None, description="CRS de la geometría de salida (defecto 4326)")
    snap_radius_m: float | None = Field(
        None, ge=0, le=10_000, description="radio de ajuste al cauce (m); defecto 2 celdas"
    )


def unit_features(conn, principal: Principal, ids: list[int], out_srid: int) -> list[dict]:
    """GeoJSON Features of these hydro units through the registry query builder."""
    if not ids:
        return []
    layer = readable_layer("hydro_units", principal)
    query = queries.FeatureQuery(
        layer=layer,
        out_srid=out_srid,
        limit=len(ids),
        public_only=principal.roles <= {ANONYMOUS, VIEWER},
        extra_where=(sql.SQL("t.id = ANY(%s)"),),
        extra_params=(list(ids),),
    )
    return [json.loads(text) for text in queries.stream_features(conn, query)]


def router() -> APIRouter:
    """Routes under /api/v1/hydrology."""
    api = APIRouter(prefix="/api/v1/hydrology", tags=["hidrología"])

    @api.get(
        "/units/{unit_id}",
        operation_id="get_hydro_unit",
        name="get_hydro_unit",
        summary="Unidad hidrográfica con sus métricas hídricas",
    )
    def get_unit(
        unit_id: int,
        request: Request,
        principal: Annotated[Principal, Depends(current_principal)],
        crs: Crs = None,
    ) -> JSONResponse:
        out_srid = parse_srid(crs) if crs else WGS84
        with request.app.state.db.connection() as conn:
            found = unit_features(conn, principal, [unit_id], out_srid)
            if not found:
                raise NotFound(f"No existe la unidad hidrográfica {unit_id}.", where="id")
            feature = found[0]
            feature["properties"]["water_metrics"] = unit_water_metrics(conn, [unit_id])[unit_id]
        base = str(request.url_for("get_hydro_unit", unit_id=unit_id))
        feature["links"] = [
            {"rel": "self", "type": GEOJSON, "href": base},
            {"rel": "upstream", "type": GEOJSON, "href": f"{base}/upstream"},
            {"rel": "downstream", "type": GEOJSON, "href": f"{base}/downstream"},
        ]
        return JSONResponse(feature, media_type=GEOJSON)

    def network(
        direction: Literal["upstream", "downstream"],
        unit_id: int,
        request: Request,
        principal: Principal,
        crs: str | None,
    ) -> JSONResponse:
        out_srid = parse_srid(crs) if crs else WGS84
        readable_layer("hydro_units", principal)
        with request.app.state.db.connection() as conn:
            if direction == "upstream":
                ids = topology.upstream_ids(conn, unit_id)
            else:
                ids = topology.downstream_ids(conn, unit_id)
            features = unit_features(conn, principal, ids, out_srid)
            dissolved = topology.dissolve(conn, ids, out_srid)
        if direction == "downstream":
            position = {unit: i for i, unit in enumerate(ids)}
            features.sort(key=lambda f: position[f["id"]])
        area = round(dissolved.area_ha, 4)
        body = {
            "type": "FeatureCollection",
            "unit_id": unit_id,
            "direction": direction,
            "unit_ids": ids,
            "area_ha": area,
            "boundary": {
                "type": "Feature",
                "geometry": json.loads(dissolved.geometry_json),
                "properties": {"area_ha": area, "units": len(ids)},
            },
            "crs": {"type": "name", "properties": {"name": f"urn:ogc:def:crs:EPSG::{out_srid}"}},
            "numberReturned": len(features),
            "features": features,
        }
        return JSONResponse(body, media_type=GEOJSON)

    @api.get(
        "/units/{unit_id}/upstream",
        operation_id="get_hydro_unit_upstream",
        summary="Unidades aguas arriba (cierre de drenaje) y su límite disuelto",
    )
    def upstream(
        unit_id: int,
        request: Request,
        principal: Annotated[Principal, Depends(current_principal)],
        crs: Crs = None,
    ) -> JSONResponse:
        return network("upstream", unit_id, request, principal, crs)

    @api.get(
        "/units/{unit_id}/downstream",
        operation_id="get_hydro_unit_downstream",
        summary="Camino aguas abajo hasta la salida y su límite disuelto",
    )
    def downstream(
        unit_id: int,
        request: Request,
        principal: Annotated[Principal, Depends(current_principal)],
        crs: Crs = None,
    ) -> JSONResponse:
        return network("downstream", unit_id, request, principal, crs)

    @api.post(
        "/catchment",
        operation_id="compute_catchment",
        summary="Cuenca aportante de un punto sobre un DEM catalogado",
    )
    def catchment(body: CatchmentRequest, request: Request) -> JSONResponse:
        out_srid = parse_srid(body.crs) if body.crs else WGS84
        settings = request.app.state.settings
        with request.app.state.db.connection() as conn:
            dem = catchment_service.find_dem(conn, settings.data_dir, body.lon, body.lat, body.dem)
        result = catchment_service.catchment_of_point(
            dem,
            body.lon,
            body.lat,
            out_srid=out_srid,
            snap_radius_m=body.snap_radius_m,
            cache_dir=settings.data_dir / catchment_service.CACHE_FOLDER,
        )
        return JSONResponse(result, media_type=GEOJSON)

    return api
