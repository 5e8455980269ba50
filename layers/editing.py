"""The write protocol every editable layer implements (WFS-T, OGC API - Features Part 4).

The interfaces (app/wfs, app/ogc) parse the client's payload, reproject geometries to the
layer's storage CRS and call the layer's editor inside ONE open database transaction on the
psycopg connection they pass in. Editors write only through that connection and never
commit: the caller commits when every operation of a request succeeded and rolls back on the
first DomainError, so a WFS Transaction is all-or-nothing.

A layer names its editor in the registry (`Layer.editor = "pkg.module:Class"`); layers with
edit roles and no editor get the generic `TableEditor`. Domain packages above `layers`
(e.g. `delimitation.editing:DistrictEditor`) implement `LayerEditor` without being imported
here.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import uuid
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from psycopg import Connection, sql
from shapely import wkb
from shapely.geometry.base import BaseGeometry
from shapely.validation import explain_validity

from geo.errors import InvalidInput, NotFound, PreconditionFailed, Unprocessable
from layers.registry import Layer


class Actor(Protocol):
    """Who edits: `app.auth.Principal` satisfies this without being imported."""

    username: str
    roles: frozenset[str]


@dataclass(frozen=True)
class FeatureInput:
    """One feature to write: API property names -> values, geometry in the layer's SRID.

    `label` names the feature in error messages (the client's gml:id or its position).
    """

    properties: Mapping[str, Any] = field(default_factory=dict)
    geometry: BaseGeometry | None = None
    label: str = ""


@runtime_checkable
class LayerEditor(Protocol):
    """Writes to one editable layer; every method runs inside the caller's transaction."""

    def insert(
        self, conn: Connection, layer: Layer, features: Sequence[FeatureInput], user: Actor
    ) -> list[str]:
        """Create the features; return their new ids (as text), in input order."""
        ...

    def update(
        self,
        conn: Connection,
        layer: Layer,
        fid: str,
        properties: Mapping[str, Any],
        geometry: BaseGeometry | None,
        user: Actor,
        expected_etag: str | None = None,
    ) -> str:
        """Change the given properties (and the geometry when not None); return the new ETag.

        Raises NotFound for an unknown id and PreconditionFailed when `expected_etag` is given
        and differs from the current one.
        """
        ...

    def delete(self, conn: Connection, layer: Layer, fid: str, user: Actor) -> None:
        """Remove the feature (NotFound when it does not exist)."""
        ...

    def etag(self, conn: Connection, layer: Layer, fid: str) -> str:
        """The current version tag of a feature (NotFound when it does not exist)."""
        ...


def editor_for(layer: Layer) -> LayerEditor:
    """The editor the registry names for a layer, or the generic table editor."""
    if not layer.edit_roles:
        raise InvalidInput(f"La capa '{layer.name}' no es editable.", where="layer")
    if not layer.editor:
        return TableEditor()
    module_name, _, class_name = layer.editor.partition(":")
    editor_class = getattr(importlib.import_module(module_name), class_name)
    return editor_class()


def validate_geometry(layer: Layer, geometry: BaseGeometry | None, label: str) -> None:
    """Refuse empty, invalid or wrongly typed geometries, naming the feature."""
    if geometry is None:
        return
    name = f"'{label}'" if label else ""
    if geometry.is_empty:
        raise Unprocessable(f"La geometría del elemento {name} está vacía.", where=label)
    if not geometry.is_valid:
        raise Unprocessable(
            f"La geometría del elemento {name} no es válida: {explain_validity(geometry)}.",
            where=label,
        )
    expected = layer.geometry_type
    actual = geometry.geom_type
    if expected != "Geometry" and actual not in (expected, expected.removeprefix("Multi")):
        raise Unprocessable(
            f"El elemento {name} tiene geometría {actual}; la capa '{layer.name}' admite "
            f"{expected}.",
            where=label,
        )


def geometry_sql(layer: Layer, geometry: BaseGeometry) -> tuple[sql.Composable, list]:
    """SQL placing a shapely geometry (already in the layer SRID) into the layer's column."""
    expression = sql.SQL("ST_SetSRID(ST_GeomFromWKB(%s), {srid})").format(
        srid=sql.Literal(layer.srid)
    )
    if layer.geometry_type.startswith("Multi"):
        expression = sql.SQL("ST_Multi({})").format(expression)
    return expression, [wkb.dumps(geometry)]


def write_audit(
    conn: Connection,
    user: Actor,
    action: str,
    object_type: str,
    object_id: str,
    before: Any = None,
    after: Any = None,
) -> None:
    """Record who changed what (same transaction as the change)."""
    conn.execute(
        'INSERT INTO layers_auditentry (at, "user", action, object_type, object_id, before, '
        "after) VALUES (now(), %s, %s, %s, %s, %s::jsonb, %s::jsonb)",
        [
            user.username,
            action,
            object_type,
            str(object_id),
            json.dumps(before, default=str) if before is not None else None,
            json.dumps(after, default=str) if after is not None else None,
        ],
    )


class TableEditor:
    """Generic editor for a layer whose published properties are plain table columns.

    Properties with an SQL expression (computed or joined) are read-only. Subclasses set
    `defaults` (column -> value or callable) for NOT NULL columns a client may omit, and
    `derived` (column -> SQL over the new geometry `{g}`) for values computed from geometry.
    """

    defaults: Mapping[str, Any] = {}
    derived: Mapping[str, str] = {}

    def writable(self, layer: Layer) -> set[str]:
        """Names of properties a client may set."""
        return {p.name for p in layer.properties if p.sql is None and p.name not in self.derived}

    def _columns(self, layer: Layer, properties: Mapping[str, Any], label: str) -> dict:
        allowed = self.writable(layer)
        unknown = [k for k in properties if k not in allowed]
        if unknown:
            raise InvalidInput(
                f"El elemento '{label}' trae atributos que no se pueden escribir: "
                + ", ".join(unknown)
                + ". Atributos editables: "
                + ", ".join(sorted(allowed)),
                where=label,
            )
        return dict(properties)

    def _snapshot(self, conn: Connection, layer: Layer, fid: str, lock: bool = False) -> dict:
        statement = sql.SQL(
            "SELECT to_jsonb(t) - {geom_name} || jsonb_build_object('geom_md5', "
            "md5(ST_AsEWKB(t.{geom}))) FROM {table} AS t WHERE t.{id}::text = %s{lock}"
        ).format(
            geom_name=sql.Literal(layer.geometry_column),
            geom=sql.Identifier(layer.geometry_column),
            table=sql.Identifier(layer.table),
            id=sql.Identifier(layer.id_column),
            lock=sql.SQL(" FOR UPDATE") if lock else sql.SQL(""),
        )
        row = conn.execute(statement, [str(fid)]).fetchone()
        if row is None:
            raise NotFound(f"No existe el elemento '{fid}' en la capa '{layer.name}'.", where=fid)
        return row[0]

    def etag(self, conn: Connection, layer: Layer, fid: str) -> str:
        """A hash of the whole row, geometry included."""
        return etag_of(self._snapshot(conn, layer, fid))

    def insert(
        self, conn: Connection, layer: Layer, features: Sequence[FeatureInput], user: Actor
    ) -> list[str]:
        """Insert each feature with defaults and derived columns; audit each."""
        ids = []
        for position, feature in enumerate(features, start=1):
            label = feature.label or f"{layer.name} #{position}"
            if feature.geometry is None:
                raise Unprocessable(f"El elemento '{label}' no trae geometría.", where=label)
            validate_geometry(layer, feature.geometry, label)
            columns = self._columns(layer, feature.properties, label)
            for column, default in self.defaults.items():
                if columns.get(column) is None:
                    columns[column] = default() if callable(default) else default
            geom_sql, geom_params = geometry_sql(layer, feature.geometry)
            names = [sql.Identifier(c) for c in columns]
            values: list[sql.Composable] = [sql.Placeholder() for _ in columns]
            params: list = list(columns.values())
            names.append(sql.Identifier(layer.geometry_column))
            values.append(geom_sql)
            params.extend(geom_params)
            for column, expression in self.derived.items():
                names.append(sql.Identifier(column))
                values.append(sql.SQL(expression).format(g=geom_sql))
                params.extend(geom_params)
            statement = sql.SQL("INSERT INTO {table} ({names}) VALUES ({values}) RETURNING {id}")
            new_id = conn.execute(
                statement.format(
                    table=sql.Identifier(layer.table),
                    names=sql.SQL(", ").join(names),
                    values=sql.SQL(", ").join(values),
                    id=sql.Identifier(layer.id_column),
                ),
                params,
            ).fetchone()[0]
            ids.append(str(new_id))
            write_audit(conn, user, "insert", layer.name, new_id, after=dict(columns))
        return ids

    def update(
        self,
        conn: Connection,
        layer: Layer,
        fid: str,
        properties: Mapping[str, Any],
        geometry: BaseGeometry | None,
        user: Actor,
        expected_etag: str | None = None,
    ) -> str:
        """Lock the row, check the ETag, set the changes, audit, return the new ETag."""
        before = self._snapshot(conn, layer, fid, lock=True)
        if expected_etag is not None and expected_etag.strip('W/"') != etag_of(before):
            raise PreconditionFailed(
                f"El elemento '{fid}' cambió desde que lo leyó (ETag distinto); recárguelo.",
                where=fid,
            )
        label = f"{layer.name}.{fid}"
        validate_geometry(layer, geometry, label)
        columns = self._columns(layer, properties, label)
        sets: list[sql.Composable] = []
        params: list = []
        for column, value in columns.items():
            sets.append(sql.SQL("{} = %s").format(sql.Identifier(column)))
            params.append(value)
        if geometry is not None:
            geom_sql, geom_params = geometry_sql(layer, geometry)
            sets.append(sql.SQL("{} = ").format(sql.Identifier(layer.geometry_column)) + geom_sql)
            params.extend(geom_params)
            for column, expression in self.derived.items():
                sets.append(
                    sql.SQL("{} = ").format(sql.Identifier(column))
                    + sql.SQL(expression).format(g=geom_sql)
                )
                params.extend(geom_params)
        if sets:
            conn.execute(
                sql.SQL("UPDATE {table} SET {sets} WHERE {id}::text = %s").format(
                    table=sql.Identifier(layer.table),
                    sets=sql.SQL(", ").join(sets),
                    id=sql.Identifier(layer.id_column),
                ),
                [*params, str(fid)],
            )
        after = self._snapshot(conn, layer, fid)
        write_audit(conn, user, "update", layer.name, fid, before=before, after=after)
        return etag_of(after)

    def delete(self, conn: Connection, layer: Layer, fid: str, user: Actor) -> None:
        """Delete one row and audit its last state."""
        before = self._snapshot(conn, layer, fid, lock=True)
        conn.execute(
            sql.SQL("DELETE FROM {table} WHERE {id}::text = %s").format(
                table=sql.Identifier(layer.table), id=sql.Identifier(layer.id_column)
            ),
            [str(fid)],
        )
        write_audit(conn, user, "delete", layer.name, fid, before=before)


def etag_of(snapshot: Mapping[str, Any]) -> str:
    """A stable tag of a row snapshot (strong ETag value, without quotes)."""
    return hashlib.sha1(json.dumps(snapshot, sort_keys=True, default=str).encode()).hexdigest()[:20]


class HotspotEditor(TableEditor):
    """Field reports of unauthorised mining: source and classification default sensibly."""

    defaults = {
        "source": "reporte_campo",
        "source_id": lambda: uuid.uuid4().hex[:12],
        "category": "desconocida",
        "setting": "desconocido",
        "synthetic": False,
    }
    # `{g}` is the new geometry in EPSG:9377, so ST_Area is in square metres.
    derived = {"area_ha": "ST_Area({g}) / 10000.0"}
