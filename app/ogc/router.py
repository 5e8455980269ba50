"""Routes of OGC API - Features: thin handlers over collections, items and writing."""

from __future__ import annotations

import datetime as dt
import json
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Request
from fastapi.responses import JSONResponse, Response, StreamingResponse
from starlette.concurrency import run_in_threadpool

from app.auth import Caller, Principal
from app.ogc import collections as docs
from app.ogc import html, writing
from app.ogc.formats import Part, by_name, find_format, stream_geojson
from app.ogc.items import CRS84, ItemsParams, build_query, items_params
from app.rest.layers import readable_layer
from geo.errors import InvalidInput, NotFound
from layers import queries
from layers.gml import SrsName, parse_srs_name
from layers.registry import all_layers

GEOJSON = "application/geo+json"
Params = Annotated[ItemsParams, Depends(items_params)]


def _base(request: Request) -> str:
    public = request.app.state.settings.public_url
    return public.rstrip("/") if public else str(request.base_url).rstrip("/")


def _wants_html(request: Request, f: str | None = None) -> bool:
    if f:
        return find_format(f, ("html", "geojson")).name == "html"
    accept = request.headers.get("accept", "")
    return "text/html" in accept and "json" not in accept


def _answer(request: Request, title: str, document: dict, media_type: str = "application/json"):
    if _wants_html(request, request.query_params.get("f")):
        return html.page(title, document)
    return JSONResponse(document, media_type=media_type)


def _content_crs(srs: SrsName) -> str:
    return f"<{srs.name if srs.name.startswith('http') else _uri(srs.srid)}>"


def _uri(srid: int) -> str:
    return CRS84 if srid == 4326 else f"http://www.opengis.net/def/crs/EPSG/0/{srid}"


def _request_crs(request: Request) -> SrsName:
    header = request.headers.get("content-crs")
    return parse_srs_name(header.strip().strip("<>")) if header else SrsName(4326, CRS84, False)


async def _json_body(request: Request) -> object:
    try:
        return json.loads(await request.body())
    except ValueError:
        raise InvalidInput("El cuerpo no es JSON válido.", where="body") from None


def _page_url(request: Request, **changes: object) -> str:
    params = [(k, v) for k, v in request.query_params.multi_items() if k not in changes]
    params.extend((k, str(v)) for k, v in changes.items() if v is not None)
    return f"{str(request.url).split('?')[0]}?{urlencode(params)}"


def items_response(request: Request, name: str, params: ItemsParams, principal: Principal):
    """A page of items, streamed, with keyset next links."""
    layer = readable_layer(name, principal)
    query = build_query(layer, params, principal)
    db = request.app.state.db
    head: dict = {"type": "FeatureCollection"}
    if params.cursor is None:
        with db.connection() as conn:
            head["numberMatched"] = queries.count_features(conn, query)
    head["timeStamp"] = dt.datetime.now(dt.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")

    def tail(returned: int, last_id: str | None, more: bool) -> dict:
        links = [
            {"rel": "self", "type": GEOJSON, "href": str(request.url)},
            {"rel": "alternate", "type": "text/html", "href": _page_url(request, f="html")},
            {
                "rel": "collection",
                "type": "application/json",
                "href": _collection_url(request, name),
            },
        ]
        if more:
            if params.sortby or params.offset:
                href = _page_url(request, offset=params.offset + params.limit, cursor=None)
            else:
                href = _page_url(request, cursor=last_id, offset=None)
            links.append({"rel": "next", "type": GEOJSON, "href": href})
        return {"numberReturned": returned, "links": links}

    if _wants_html(request, params.output):
        chunks = b"".join(
            stream_geojson(db, [Part(query, params.out_srs)], head, tail, take=params.limit)
        )
        return html.page(layer.title, json.loads(chunks))
    body = stream_geojson(db, [Part(query, params.out_srs)], head, tail, take=params.limit)
    headers = {"Content-Crs": _content_crs(params.out_srs)}
    return StreamingResponse(body, media_type=by_name("geojson").media_type, headers=headers)


def _collection_url(request: Request, name: str) -> str:
    return f"{_base(request)}/ogc/collections/{name}"


def item_response(request: Request, name: str, fid: str, params: ItemsParams, principal: Principal):
    """One feature with links and, for editable collections, its ETag."""
    layer = readable_layer(name, principal)
    query = build_query(layer, params, principal, ids=(fid,))
    query = queries.FeatureQuery(**{**query.__dict__, "limit": 1, "offset": 0, "after": None})
    db = request.app.state.db
    with db.connection() as conn:
        found = list(queries.stream_features(conn, query))
    if not found:
        raise NotFound(
            f"No existe el elemento '{fid}' en la colección '{name}'.", where="featureId"
        )
    feature = json.loads(found[0])
    url = f"{_collection_url(request, name)}/items/{fid}"
    feature["links"] = [
        {"rel": "self", "type": GEOJSON, "href": url},
        {"rel": "collection", "type": "application/json", "href": _collection_url(request, name)},
    ]
    if _wants_html(request, params.output):
        return html.page(f"{layer.title}: {fid}", feature)
    headers = {"Content-Crs": _content_crs(params.out_srs)}
    etag = writing.current_etag(db, layer, fid)
    if etag:
        headers["ETag"] = f'"{etag}"'
    return JSONResponse(feature, media_type=GEOJSON, headers=headers)


def _allow(layer_name: str, principal: Principal, item: bool) -> Response:
    layer = readable_layer(layer_name, principal)
    methods = ["GET", "HEAD", "OPTIONS"]
    if layer.edit_roles and layer.editable_by(principal.roles) and principal.authenticated:
        methods += ["PUT", "PATCH", "DELETE"] if item else ["POST"]
    return Response(status_code=204, headers={"Allow": ", ".join(methods)})


def router() -> APIRouter:
    """Routes under /ogc."""
    api = APIRouter(prefix="/ogc", tags=["OGC API - Features"])

    @api.get("", operation_id="ogc_landing", summary="Página de inicio")
    def landing(request: Request):
        return _answer(request, "OGC API - Features", docs.landing(_base(request)))

    @api.get("/conformance", operation_id="ogc_conformance", summary="Conformidad")
    def conformance(request: Request):
        return _answer(request, "Conformidad", {"conformsTo": list(docs.CONFORMANCE)})

    @api.get("/collections", operation_id="ogc_collections", summary="Colecciones")
    def collections(request: Request, principal: Caller):
        layers = [
            (layer, principal.authenticated and layer.editable_by(principal.roles))
            for layer in all_layers()
            if layer.readable_by(principal.roles)
        ]
        with request.app.state.db.connection() as conn:
            document = docs.collections(_base(request), conn, layers)
        return _answer(request, "Colecciones", document)

    @api.get("/collections/{name}", operation_id="ogc_collection", summary="Una colección")
    def collection(request: Request, name: str, principal: Caller):
        layer = readable_layer(name, principal)
        editable = principal.authenticated and layer.editable_by(principal.roles)
        with request.app.state.db.connection() as conn:
            document = docs.collection(_base(request), conn, layer, editable)
        return _answer(request, layer.title, document)

    @api.get(
        "/collections/{name}/queryables",
        operation_id="ogc_queryables",
        summary="Atributos consultables (JSON Schema)",
    )
    def queryables(request: Request, name: str, principal: Caller):
        layer = readable_layer(name, principal)
        document = docs.queryables(_base(request), layer)
        return _answer(request, f"Consultables: {layer.title}", document, "application/schema+json")

    @api.get(
        "/collections/{name}/items",
        operation_id="ogc_items",
        summary="Elementos (GeoJSON o HTML), filtros CQL2",
        response_class=StreamingResponse,
    )
    def items(request: Request, name: str, params: Params, principal: Caller):
        return items_response(request, name, params, principal)

    @api.get("/collections/{name}/items/{fid}", operation_id="ogc_item", summary="Un elemento")
    def item(request: Request, name: str, fid: str, params: Params, principal: Caller):
        return item_response(request, name, fid, params, principal)

    @api.post("/collections/{name}/items", operation_id="ogc_create", status_code=201)
    async def create(request: Request, name: str, principal: Caller):
        layer = readable_layer(name, principal)
        body = await _json_body(request)
        fid, etag = await run_in_threadpool(
            writing.create, request.app.state.db, layer, principal, body, _request_crs(request)
        )
        location = f"{_collection_url(request, name)}/items/{fid}"
        return Response(status_code=201, headers={"Location": location, "ETag": f'"{etag}"'})

    @api.put("/collections/{name}/items/{fid}", operation_id="ogc_replace")
    async def replace(request: Request, name: str, fid: str, principal: Caller):
        return await _change(request, name, fid, principal, partial=False)

    @api.patch("/collections/{name}/items/{fid}", operation_id="ogc_update")
    async def update(request: Request, name: str, fid: str, principal: Caller):
        return await _change(request, name, fid, principal, partial=True)

    @api.delete("/collections/{name}/items/{fid}", operation_id="ogc_delete", status_code=204)
    def delete(request: Request, name: str, fid: str, principal: Caller):
        layer = readable_layer(name, principal)
        writing.delete(request.app.state.db, layer, principal, fid, request.headers.get("if-match"))
        return Response(status_code=204)

    @api.options("/collections/{name}/items", operation_id="ogc_items_options")
    def items_options(name: str, principal: Caller):
        return _allow(name, principal, item=False)

    @api.options("/collections/{name}/items/{fid}", operation_id="ogc_item_options")
    def item_options(name: str, fid: str, principal: Caller):
        return _allow(name, principal, item=True)

    return api


async def _change(request: Request, name: str, fid: str, principal: Principal, *, partial: bool):
    layer = readable_layer(name, principal)
    body = await _json_body(request)
    etag = await run_in_threadpool(
        lambda: writing.replace_or_update(
            request.app.state.db,
            layer,
            principal,
            fid,
            body,
            _request_crs(request),
            request.headers.get("if-match"),
            partial=partial,
        )
    )
    return Response(status_code=204, headers={"ETag": f'"{etag}"'})
