"""The /wfs endpoint: KVP GET, KVP form POST and XML POST, dispatched by operation."""

from __future__ import annotations

from collections.abc import Mapping

from fastapi import APIRouter, Request
from fastapi.responses import Response
from lxml import etree
from starlette.concurrency import run_in_threadpool

from app.auth import Principal, current_principal
from app.wfs import capabilities, describe, getfeature, transaction
from app.wfs.exceptions import XML, report_for
from app.wfs.requests import (
    MissingParameter,
    NotSupported,
    getfeature_from_kvp,
    getfeature_from_xml,
    negotiate_version,
    readable,
)
from app.wfs.xml import local, parse_xml
from geo.errors import DomainError
from layers.registry import all_layers


def service_url(request: Request) -> str:
    """The public URL of the service (DM_PUBLIC_URL when behind a proxy)."""
    public = request.app.state.settings.public_url
    base = public.rstrip("/") if public else str(request.base_url).rstrip("/")
    return f"{base}/wfs"


def _kvp_operation(request: Request, params: Mapping[str, str], principal: Principal) -> Response:
    version = negotiate_version(params.get("VERSION"), params.get("ACCEPTVERSIONS"))
    operation = params.get("REQUEST", "")
    if params.get("SERVICE", "WFS").upper() != "WFS":
        raise NotSupported("SERVICE debe ser WFS.", where="SERVICE")
    db = request.app.state.db
    url = service_url(request)
    if operation.lower() == "getcapabilities":
        types = capabilities.feature_types(db, principal)
        return Response(capabilities.capabilities(version, url, types), media_type=XML)
    if operation.lower() == "describefeaturetype":
        names = params.get("TYPENAMES") or params.get("TYPENAME")
        layers = (
            [readable(n, principal) for n in names.split(",") if n.strip()]
            if names
            else [layer for layer in all_layers() if layer.readable_by(principal.roles)]
        )
        return Response(describe.schema(layers, version), media_type=XML)
    if operation.lower() == "getfeature":
        parsed = getfeature_from_kvp(params, version, principal)
        return getfeature.get_feature(db, parsed, principal, url)
    if not operation:
        raise MissingParameter("Falta el parámetro REQUEST.", where="REQUEST")
    raise NotSupported(f"Operación no soportada: {operation}", where="REQUEST")


def _xml_operation(request: Request, body: bytes, principal: Principal) -> Response:
    root = parse_xml(body)
    operation = local(root)
    version = negotiate_version(
        root.get("version") or ("2.0.0" if "wfs/2.0" in (etree.QName(root).namespace or "") else "")
    )
    db = request.app.state.db
    if operation == "GetCapabilities":
        types = capabilities.feature_types(db, principal)
        return Response(
            capabilities.capabilities(version, service_url(request), types), media_type=XML
        )
    if operation == "DescribeFeatureType":
        names = [e.text or "" for e in root if isinstance(e.tag, str) and local(e) == "TypeName"]
        layers = [readable(n, principal) for n in names] or [
            layer for layer in all_layers() if layer.readable_by(principal.roles)
        ]
        return Response(describe.schema(layers, version), media_type=XML)
    if operation == "GetFeature":
        parsed = getfeature_from_xml(root, version, principal)
        return getfeature.get_feature(db, parsed, principal, service_url(request))
    if operation == "Transaction":
        operations = transaction.parse_transaction(root, version)
        outcome = transaction.execute(db, principal, operations)
        return Response(transaction.response(version, outcome), media_type=XML)
    raise NotSupported(f"Operación no soportada: {operation}", where="request")


def _version_hint(params: Mapping[str, str], body: bytes = b"") -> str:
    if params.get("VERSION"):
        return params["VERSION"]
    if b'version="1.0.0"' in body[:500]:
        return "1.0.0"
    if b'version="1.1.0"' in body[:500]:
        return "1.1.0"
    return "2.0.0"


async def _principal(request: Request) -> Principal:
    return await current_principal(request)


def router() -> APIRouter:
    """Routes of the WFS endpoint (one URL for every operation, as WFS clients expect)."""
    api = APIRouter(tags=["WFS"])

    @api.get("/wfs", operation_id="wfs_get", summary="WFS 2.0.0/1.1.0/1.0.0 (KVP)")
    async def wfs_get(request: Request) -> Response:
        params = {k.upper(): v for k, v in request.query_params.items()}
        try:
            principal = await _principal(request)
            return await run_in_threadpool(_kvp_operation, request, params, principal)
        except DomainError as error:
            return report_for(error, _version_hint(params))

    @api.post("/wfs", operation_id="wfs_post", summary="WFS (XML o KVP por POST; WFS-T)")
    async def wfs_post(request: Request) -> Response:
        body = await request.body()
        params = {k.upper(): v for k, v in request.query_params.items()}
        try:
            principal = await _principal(request)
            if request.headers.get("content-type", "").startswith(
                "application/x-www-form-urlencoded"
            ):
                form = await request.form()
                params = {k.upper(): str(v) for k, v in form.items()}
                return await run_in_threadpool(_kvp_operation, request, params, principal)
            return await run_in_threadpool(_xml_operation, request, body, principal)
        except DomainError as error:
            return report_for(error, _version_hint(params, body))

    return api
