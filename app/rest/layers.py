"""REST read API of the layer registry: /api/v1/layers, features, rasters."""

from __future__ import annotations

import json
from collections.abc import Iterator
from typing import Annotated

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, StreamingResponse

from app.auth import Principal, current_principal
from app.params import FeatureParams, feature_params
from geo.errors import NotFound
from layers import queries
from layers.registry import Layer, all_layers
from layers.registry import readable_layer as registry_readable_layer

GEOJSON = "application/geo+json"


def readable_layer(name: str, principal: Principal) -> Layer:
    """The layer if this caller may read it (one place answers unknown and forbidden)."""
    return registry_readable_layer(name, principal.roles)


def build_query(
    layer: Layer, params: FeatureParams, principal: Principal, **extra
) -> queries.FeatureQuery:
    """A FeatureQuery from the shared parameters and the caller's visibility."""
    return queries.FeatureQuery(
        layer=layer,
        bbox=params.bbox,
        bbox_srid=params.bbox_srid,
        out_srid=params.out_srid,
        filters=params.filters,
        properties=params.properties,
        limit=params.limit,
        offset=params.offset,
        public_only=principal.public_only,
        **extra,
    )


def stream_collection(db, query: queries.FeatureQuery, head: dict, tail: dict) -> Iterator[bytes]:
    """Stream a FeatureCollection: head members, the features, then tail members."""
    yield json.dumps(head)[:-1].encode() + b', "features": ['
    returned = 0
    with db.connection() as conn:
        for text in queries.stream_features(conn, query):
            yield (b"," if returned else b"") + text.encode()
            returned += 1
    tail = {**tail, "numberReturned": returned}
    yield b"], " + json.dumps(tail)[1:].encode()


def router() -> APIRouter:
    """Routes for the layer catalogue, features and rasters."""
    api = APIRouter(prefix="/api/v1", tags=["capas"])

    @api.get("/layers", operation_id="list_layers", summary="Capas publicadas")
    def list_layers(
        request: Request, principal: Annotated[Principal, Depends(current_principal)]
    ) -> dict:
        db = request.app.state.db
        items = []
        with db.connection() as conn:
            for layer in all_layers():
                if not layer.readable_by(principal.roles):
                    continue
                items.append(layer_summary(request, conn, layer))
        return {"layers": items}

    @api.get("/layers/{name}", operation_id="get_layer", summary="Una capa")
    def one_layer(
        name: str, request: Request, principal: Annotated[Principal, Depends(current_principal)]
    ) -> dict:
        layer = readable_layer(name, principal)
        with request.app.state.db.connection() as conn:
            return layer_summary(request, conn, layer)

    @api.get(
        "/layers/{name}/features",
        operation_id="list_features",
        summary="Elementos de una capa (GeoJSON)",
        response_class=StreamingResponse,
    )
    def list_features(
        name: str,
        request: Request,
        params: Annotated[FeatureParams, Depends(feature_params)],
        principal: Annotated[Principal, Depends(current_principal)],
    ):
        layer = readable_layer(name, principal)
        query = build_query(layer, params, principal)
        db = request.app.state.db
        with db.connection() as conn:
            matched = queries.count_features(conn, query)
        from app.links import page_links

        returned_estimate = max(0, min(params.limit, matched - params.offset))
        head = {
            "type": "FeatureCollection",
            "numberMatched": matched,
            "crs": {
                "type": "name",
                "properties": {"name": f"urn:ogc:def:crs:EPSG::{params.out_srid}"},
            },
            "links": page_links(request, params.offset, params.limit, matched, returned_estimate),
        }
        return StreamingResponse(stream_collection(db, query, head, {}), media_type=GEOJSON)

    @api.get("/layers/{name}/features/{fid}", operation_id="get_feature", summary="Un elemento")
    def one_feature(
        name: str,
        fid: str,
        request: Request,
        params: Annotated[FeatureParams, Depends(feature_params)],
        principal: Annotated[Principal, Depends(current_principal)],
    ) -> JSONResponse:
        layer = readable_layer(name, principal)
        query = build_query(layer, params, principal, ids=(fid,))
        query = queries.FeatureQuery(**{**query.__dict__, "limit": 1, "offset": 0})
        with request.app.state.db.connection() as conn:
            found = list(queries.stream_features(conn, query))
        if not found:
            raise NotFound(f"No existe el elemento '{fid}' en la capa '{name}'.", where="id")
        return JSONResponse(json.loads(found[0]), media_type=GEOJSON)

    @api.get("/rasters", operation_id="list_rasters", summary="Catálogo de rásteres")
    def list_rasters(request: Request) -> dict:
        with request.app.state.db.connection() as conn:
            rows = conn.execute(
                "SELECT name, title, theme, crs, resolution, nodata, bounds_4326, class_table, "
                "synthetic, source FROM layers_rasterlayer ORDER BY name"
            ).fetchall()
        keys = (
            "name",
            "title",
            "theme",
            "crs",
            "resolution",
            "nodata",
            "bounds",
            "classes",
            "synthetic",
            "source",
        )
        return {"rasters": [dict(zip(keys, row, strict=True)) for row in rows]}

    return api


def layer_summary(request: Request, conn, layer: Layer) -> dict:
    """A layer's catalogue entry: title, geometry type, count, extent and links."""
    base = str(request.base_url).rstrip("/")
    return {
        "name": layer.name,
        "title": layer.title,
        "description": layer.description,
        "geometry_type": layer.geometry_type,
        "feature_count": queries.layer_count(conn, layer),
        "extent": queries.layer_extent(conn, layer),
        "storage_crs": f"EPSG:{layer.srid}",
        "properties": [
            {"name": p.name, "type": p.type, "title": p.title} for p in layer.properties
        ],
        "editable": bool(layer.edit_roles),
        "links": [
            {
                "rel": "items",
                "type": GEOJSON,
                "href": f"{base}/api/v1/layers/{layer.name}/features",
            },
            {
                "rel": "self",
                "type": "application/json",
                "href": f"{base}/api/v1/layers/{layer.name}",
            },
        ],
    }
