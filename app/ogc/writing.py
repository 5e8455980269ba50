"""OGC API - Features Part 4: create, replace, update and delete through the layer's editor."""

from __future__ import annotations

import datetime as dt
from typing import Any

import numpy as np
import psycopg
import shapely
from shapely.geometry import shape

from app.auth import Principal, require_role
from app.db import Database
from geo.crs import transformer
from geo.errors import InvalidInput
from layers.editing import FeatureInput, LayerEditor, editor_for
from layers.gml import SrsName
from layers.registry import Layer


def authorise(layer: Layer, principal: Principal) -> LayerEditor:
    """The editor of a layer the caller may edit (401/403/400 otherwise)."""
    if not layer.edit_roles:
        raise InvalidInput(f"La colección '{layer.name}' no es editable.", where="collection")
    require_role(principal, layer.edit_roles, f"editar la colección '{layer.name}'")
    return editor_for(layer)


def _geometry(layer: Layer, value: Any, srs: SrsName):
    if value is None:
        return None
    try:
        geometry = shape(value)
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise InvalidInput(f"Geometría GeoJSON inválida: {exc}", where="geometry") from None
    if srs.flip:
        geometry = shapely.transform(geometry, lambda xy: xy[:, ::-1])
    if srs.srid != layer.srid:
        to_storage = transformer(srs.srid, layer.srid)
        geometry = shapely.transform(
            geometry, lambda xy: np.column_stack(to_storage.transform(xy[:, 0], xy[:, 1]))
        )
    return geometry


def _properties(layer: Layer, editor: LayerEditor, values: dict) -> dict:
    """Typed properties; read-only ones echoed back by clients are ignored."""
    writable = editor.writable(layer) if hasattr(editor, "writable") else None
    typed = {}
    for name, value in (values or {}).items():
        prop = layer.property(name)
        if writable is not None and name not in writable:
            continue
        if value is not None and prop.type == "date":
            try:
                value = dt.date.fromisoformat(str(value)[:10])
            except ValueError:
                raise InvalidInput(f"Fecha inválida en '{name}': {value}", where=name) from None
        typed[name] = value
    return typed


def _feature(body: Any) -> dict:
    if not isinstance(body, dict) or body.get("type") != "Feature":
        raise InvalidInput("Se esperaba un Feature GeoJSON.", where="body")
    return body


def _run(db: Database, work):
    with db.connection() as conn:
        try:
            with conn.transaction():
                return work(conn)
        except psycopg.Error as exc:
            message = (exc.diag.message_primary or str(exc)).splitlines()[0]
            raise InvalidInput(f"La base de datos rechazó el cambio: {message}") from None


def create(
    db: Database, layer: Layer, principal: Principal, body: Any, srs: SrsName
) -> tuple[str, str]:
    """Insert one feature; (new id, ETag)."""
    editor = authorise(layer, principal)
    feature = _feature(body)
    new = FeatureInput(
        _properties(layer, editor, feature.get("properties") or {}),
        _geometry(layer, feature.get("geometry"), srs),
        str(feature.get("id") or ""),
    )

    def work(conn):
        fid = editor.insert(conn, layer, [new], principal)[0]
        return fid, editor.etag(conn, layer, fid)

    return _run(db, work)


def replace_or_update(
    db: Database,
    layer: Layer,
    principal: Principal,
    fid: str,
    body: Any,
    srs: SrsName,
    if_match: str | None,
    *,
    partial: bool,
) -> str:
    """PUT (geometry required) or PATCH (merge): the new ETag."""
    editor = authorise(layer, principal)
    if not isinstance(body, dict):
        raise InvalidInput("Se esperaba un objeto JSON.", where="body")
    if not partial:
        _feature(body)
        if body.get("geometry") is None:
            raise InvalidInput("PUT requiere la geometría completa.", where="geometry")
    properties = _properties(layer, editor, body.get("properties") or {})
    geometry = _geometry(layer, body.get("geometry"), srs)
    expected = if_match.strip().removeprefix("W/").strip('"') if if_match else None
    return _run(
        db,
        lambda conn: editor.update(conn, layer, fid, properties, geometry, principal, expected),
    )


def delete(db: Database, layer: Layer, principal: Principal, fid: str, if_match: str | None):
    """DELETE (honouring If-Match)."""
    editor = authorise(layer, principal)
    expected = if_match.strip().removeprefix("W/").strip('"') if if_match else None

    def work(conn):
        if expected is not None and expected != "*":
            from geo.errors import PreconditionFailed

            if editor.etag(conn, layer, fid) != expected:
                raise PreconditionFailed(
                    f"El elemento '{fid}' cambió desde que lo leyó (ETag distinto).", where=fid
                )
        editor.delete(conn, layer, fid, principal)

    _run(db, work)


def current_etag(db: Database, layer: Layer, fid: str) -> str | None:
    """ETag of an editable feature (None for read-only layers)."""
    if not layer.edit_roles:
        return None
    with db.connection() as conn:
        return editor_for(layer).etag(conn, layer, fid)
