"""WFS-T: Insert, Update and Delete (2.0 and 1.x encodings), all-or-nothing.

The XML is parsed into operations first; then every operation runs through the layer's
editor (`layers.editing`) inside one database transaction, so one bad feature saves nothing.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

import psycopg
from lxml import etree
from psycopg import sql
from shapely import wkb

from app.auth import Principal
from app.db import Database
from app.wfs.fes import bare_name, parse_filter, read_gml_geometry
from app.wfs.xml import local
from geo.errors import Forbidden, InvalidInput, Unauthorized
from layers.editing import FeatureInput, LayerEditor, editor_for
from layers.filtering import GmlGeometry, filter_sql
from layers.gml import gml_to_wkb, parse_srs_name
from layers.registry import Layer, Property, get_layer

_GML = {"http://www.opengis.net/gml", "http://www.opengis.net/gml/3.2"}


@dataclass
class NewFeature:
    properties: dict[str, str | None]
    geometry: GmlGeometry | None
    label: str


@dataclass
class Operation:
    """One Insert/Update/Delete of a transaction."""

    kind: str
    layer: Layer
    features: list[NewFeature] = field(default_factory=list)
    properties: dict[str, str | None] = field(default_factory=dict)
    geometry: GmlGeometry | None = None
    filter: object | None = None


@dataclass
class Outcome:
    inserted: list[tuple[str, str]] = field(default_factory=list)  # (layer, id)
    updated: int = 0
    deleted: int = 0


def _gml_child(element: etree._Element) -> etree._Element | None:
    for child in element:
        if isinstance(child.tag, str) and etree.QName(child).namespace in _GML:
            return child
    return None


def _is_nil(element: etree._Element) -> bool:
    return any(
        etree.QName(k).localname == "nil" and v in ("true", "1") for k, v in element.attrib.items()
    )


def parse_transaction(root: etree._Element, version: str) -> list[Operation]:
    """Operations of a wfs:Transaction document, in order.

    A 1.0.0 transaction is read x/y (east/north) whatever its srsName: QGIS sends its
    edits as 1.0.0 with URN names but easting-first coordinates, as GeoServer expects.
    """
    xy_only = version.startswith("1.0")
    operations = []
    for op in (c for c in root if isinstance(c.tag, str)):
        kind = local(op)
        if kind == "Insert":
            default = op.get("srsName")
            for feature in (c for c in op if isinstance(c.tag, str)):
                layer = get_layer(local(feature))
                srs = parse_srs_name(default) if default else parse_srs_name(f"EPSG:{layer.srid}")
                props: dict[str, str | None] = {}
                geometry = None
                for child in (c for c in feature if isinstance(c.tag, str)):
                    gml = _gml_child(child)
                    if gml is not None:
                        geometry = read_gml_geometry(gml, srs, xy_only)
                    elif etree.QName(child).namespace not in _GML:
                        props[local(child)] = None if _is_nil(child) else (child.text or "")
                label = next(
                    (
                        v
                        for k, v in feature.attrib.items()
                        if etree.QName(k).localname in ("id", "fid")
                    ),
                    "",
                )
                operations.append(
                    Operation("insert", layer, features=[NewFeature(props, geometry, label)])
                )
        elif kind in ("Update", "Delete"):
            layer = get_layer(bare_name(op.get("typeName") or op.get("typeNames") or ""))
            srs = parse_srs_name(op.get("srsName") or f"EPSG:{layer.srid}")
            operation = Operation(kind.lower(), layer)
            for child in (c for c in op if isinstance(c.tag, str)):
                name = local(child)
                if name == "Filter":
                    operation.filter = parse_filter(child, srs, xy_only)
                elif name == "Property":
                    parts = {local(e): e for e in child if isinstance(e.tag, str)}
                    ref = parts.get("ValueReference", parts.get("Name"))
                    prop_name = bare_name(ref.text or "") if ref is not None else ""
                    value = parts.get("Value")
                    gml = _gml_child(value) if value is not None else None
                    if gml is not None:
                        operation.geometry = read_gml_geometry(gml, srs, xy_only)
                    else:
                        text = None if value is None or _is_nil(value) else (value.text or "")
                        operation.properties[prop_name] = text
            if operation.filter is None:
                raise InvalidInput(f"{kind} sin filtro: no se modifica toda la capa.", where=kind)
            operations.append(operation)
        elif kind in ("Native",):
            raise InvalidInput("wfs:Native no está soportado.", where=kind)
    if not operations:
        raise InvalidInput("La transacción no contiene operaciones.", where="Transaction")
    return operations


def _coerce(prop: Property, value: str | None) -> object:
    if value is None or (value == "" and prop.type != "string"):
        return None
    try:
        if prop.type == "integer":
            return int(float(value))
        if prop.type == "number":
            return float(value)
        if prop.type == "boolean":
            return value.strip().lower() in ("true", "1", "t", "yes")
        if prop.type == "date":
            return dt.date.fromisoformat(value.strip()[:10])
        if prop.type == "datetime":
            return dt.datetime.fromisoformat(value.strip().replace("Z", "+00:00"))
    except ValueError:
        raise InvalidInput(
            f"Valor inválido para '{prop.name}' ({prop.type}): '{value}'", where=prop.name
        ) from None
    return value


def _properties(layer: Layer, editor: LayerEditor, raw: dict[str, str | None]) -> dict:
    """Typed writable properties; read-only ones a client echoes back (e.g. area) are ignored."""
    writable = editor.writable(layer) if hasattr(editor, "writable") else None
    values = {}
    for name, text in raw.items():
        if name in ("geom", "geometry") or (writable is not None and name not in writable):
            if writable is not None and name not in writable and not _published(layer, name):
                layer.property(name)  # unknown attribute -> 400 naming the valid ones
            continue
        values[name] = _coerce(layer.property(name), text)
    return values


def _published(layer: Layer, name: str) -> bool:
    return any(p.name == name for p in layer.properties)


def _geometry(conn: psycopg.Connection, layer: Layer, value: GmlGeometry | None):
    if value is None:
        return None
    return wkb.loads(gml_to_wkb(conn, value.gml, value.srid, value.flip, layer.srid))


def _matching_ids(conn: psycopg.Connection, operation: Operation) -> list[str]:
    layer = operation.layer
    condition, params = filter_sql(operation.filter, layer, geometry_srid=layer.srid)
    statement = sql.SQL("SELECT t.{id}::text FROM {table} AS t WHERE {cond} ORDER BY 1").format(
        id=sql.Identifier(layer.id_column), table=sql.Identifier(layer.table), cond=condition
    )
    return [row[0] for row in conn.execute(statement, params).fetchall()]


def authorise(principal: Principal, operations: list[Operation]) -> None:
    """Only authenticated users with edit rights on every touched layer may transact."""
    if not principal.authenticated:
        raise Unauthorized(
            "La edición por WFS-T requiere autenticación (usuario y contraseña o token)."
        )
    for operation in operations:
        if not operation.layer.edit_roles:
            raise Forbidden(f"La capa '{operation.layer.name}' no es editable.")
        if not operation.layer.editable_by(principal.roles):
            raise Forbidden(f"Su rol no permite editar la capa '{operation.layer.name}'.")


def execute(db: Database, principal: Principal, operations: list[Operation]) -> Outcome:
    """Run every operation in one transaction; any error rolls everything back."""
    authorise(principal, operations)
    outcome = Outcome()
    with db.connection() as conn:
        try:
            with conn.transaction():
                for operation in operations:
                    _run(conn, principal, operation, outcome)
        except psycopg.Error as exc:
            message = (exc.diag.message_primary or str(exc)).splitlines()[0]
            raise InvalidInput(f"La base de datos rechazó la transacción: {message}") from None
    return outcome


def _run(conn, principal: Principal, operation: Operation, outcome: Outcome) -> None:
    layer = operation.layer
    editor = editor_for(layer)
    if operation.kind == "insert":
        for position, feature in enumerate(operation.features, start=1):
            label = feature.label or f"{layer.name} #{len(outcome.inserted) + position}"
            new = FeatureInput(
                _properties(layer, editor, feature.properties),
                _geometry(conn, layer, feature.geometry),
                label,
            )
            for fid in editor.insert(conn, layer, [new], principal):
                outcome.inserted.append((layer.name, fid))
        return
    ids = _matching_ids(conn, operation)
    if operation.kind == "update":
        properties = _properties(layer, editor, operation.properties)
        geometry = _geometry(conn, layer, operation.geometry)
        for fid in ids:
            editor.update(conn, layer, fid, properties, geometry, principal)
        outcome.updated += len(ids)
    else:
        for fid in ids:
            editor.delete(conn, layer, fid, principal)
        outcome.deleted += len(ids)


def response(version: str, outcome: Outcome) -> str:
    """The TransactionResponse of a successful transaction in the request's version."""
    if version.startswith("1.0"):
        inserted = "".join(
            f'<wfs:InsertResult><ogc:FeatureId fid="{name}.{fid}"/></wfs:InsertResult>'
            for name, fid in outcome.inserted
        )
        return (
            '<?xml version="1.0" encoding="UTF-8"?>\n'
            '<wfs:WFS_TransactionResponse version="1.0.0" xmlns:wfs="http://www.opengis.net/wfs" '
            f'xmlns:ogc="http://www.opengis.net/ogc">{inserted}<wfs:TransactionResult>'
            "<wfs:Status><wfs:SUCCESS/></wfs:Status></wfs:TransactionResult>"
            "</wfs:WFS_TransactionResponse>"
        )
    v2 = version.startswith("2")
    wfs_ns = "http://www.opengis.net/wfs/2.0" if v2 else "http://www.opengis.net/wfs"
    id_element = '<fes:ResourceId rid="{}"/>' if v2 else '<ogc:FeatureId fid="{}"/>'
    inserted = "".join(
        "<wfs:Feature>" + id_element.format(f"{name}.{fid}") + "</wfs:Feature>"
        for name, fid in outcome.inserted
    )
    results = f"<wfs:InsertResults>{inserted}</wfs:InsertResults>" if inserted else ""
    replaced = "<wfs:totalReplaced>0</wfs:totalReplaced>" if v2 else ""
    return (
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        f'<wfs:TransactionResponse version="{"2.0.0" if v2 else "1.1.0"}" xmlns:wfs="{wfs_ns}" '
        'xmlns:fes="http://www.opengis.net/fes/2.0" xmlns:ogc="http://www.opengis.net/ogc">'
        f"<wfs:TransactionSummary><wfs:totalInserted>{len(outcome.inserted)}</wfs:totalInserted>"
        f"<wfs:totalUpdated>{outcome.updated}</wfs:totalUpdated>{replaced}"
        f"<wfs:totalDeleted>{outcome.deleted}</wfs:totalDeleted></wfs:TransactionSummary>"
        f"{results}</wfs:TransactionResponse>"
    )
