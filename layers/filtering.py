"""Filter expressions (CQL2 text/JSON, FES 2.0, Filter 1.1) to PostGIS SQL.

Every parser produces a pygeofilter AST; this module is the only translator to SQL. Property
names are whitelisted against the layer registry (their SQL comes from the registry, never
from the client) and every literal reaches PostgreSQL as a query parameter.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass

from psycopg import sql
from pygeofilter import ast, values

from geo.crs import WGS84
from geo.errors import InvalidInput
from layers.registry import Layer

_CASTS = {
    "string": "text",
    "integer": "bigint",
    "number": "double precision",
    "boolean": "boolean",
    "date": "date",
    "datetime": "timestamptz",
}
_COMPARISON = {
    ast.Equal: "=",
    ast.NotEqual: "<>",
    ast.LessThan: "<",
    ast.LessEqual: "<=",
    ast.GreaterThan: ">",
    ast.GreaterEqual: ">=",
}
_SPATIAL = {
    ast.GeometryIntersects: "ST_Intersects",
    ast.GeometryDisjoint: "ST_Disjoint",
    ast.GeometryContains: "ST_Contains",
    ast.GeometryWithin: "ST_Within",
    ast.GeometryTouches: "ST_Touches",
    ast.GeometryCrosses: "ST_Crosses",
    ast.GeometryOverlaps: "ST_Overlaps",
    ast.GeometryEquals: "ST_Equals",
}
# Distance units accepted by DWithin/Beyond, in metres (the storage CRS is metric).
_UNITS = {
    "m": 1.0,
    "meter": 1.0,
    "meters": 1.0,
    "metre": 1.0,
    "metres": 1.0,
    "urn:ogc:def:uom:epsg::9001": 1.0,
    "km": 1000.0,
    "kilometers": 1000.0,
    "kilometres": 1000.0,
    "urn:ogc:def:uom:epsg::9036": 1000.0,
}
GEOMETRY_NAMES = {"geom", "geometry", "the_geom", "shape"}


@dataclass(frozen=True)
class GmlGeometry:
    """A GML geometry from an XML filter or transaction, with its CRS and axis order resolved."""

    gml: str
    srid: int
    flip: bool = False


@dataclass(frozen=True)
class ResourceIds:
    """FES ResourceId / Filter 1.1 FeatureId / GmlObjectId: feature ids (without layer prefix)."""

    ids: tuple[str, ...]


class _Builder:
    """Accumulates SQL fragments and their parameters while walking the AST."""

    def __init__(self, layer: Layer, geometry_srid: int) -> None:
        self.layer = layer
        self.geometry_srid = geometry_srid
        self.params: list = []

    def param(self, value: object) -> sql.Composable:
        self.params.append(value)
        return sql.Placeholder()

    def attribute(self, name: str) -> tuple[sql.Composable, str]:
        bare = name.rpartition(":")[2].rpartition("/")[2]
        if bare.lower() in GEOMETRY_NAMES or bare == self.layer.geometry_column:
            return sql.SQL("t.") + sql.Identifier(self.layer.geometry_column), "geometry"
        if bare == "id" or bare == self.layer.id_column and not _published(self.layer, bare):
            return sql.SQL("t.") + sql.Identifier(self.layer.id_column), self.layer.id_type
        prop = self.layer.property(bare)
        return sql.SQL("(" + prop.expression + ")"), prop.type

    def geometry(self, node: object) -> sql.Composable:
        if isinstance(node, ast.Attribute):
            expression, kind = self.attribute(node.name)
            if kind != "geometry":
                raise InvalidInput(f"'{node.name}' no es una geometría.", where="filter")
            return expression
        if isinstance(node, GmlGeometry):
            parsed = sql.SQL("ST_SetSRID(ST_GeomFromGML({}), {})").format(
                self.param(node.gml), sql.Literal(node.srid)
            )
            if node.flip:
                parsed = sql.SQL("ST_FlipCoordinates({})").format(parsed)
            return self._to_storage(parsed, node.srid)
        if isinstance(node, values.Geometry):
            geometry = dict(node.geometry)
            srid = _srid_of_geojson(geometry) or self.geometry_srid
            geometry.pop("crs", None)
            parsed = sql.SQL("ST_SetSRID(ST_GeomFromGeoJSON({}), {})").format(
                self.param(json.dumps(geometry)), sql.Literal(srid)
            )
            return self._to_storage(parsed, srid)
        if isinstance(node, values.Envelope):
            return self._envelope(node.x1, node.y1, node.x2, node.y2, self.geometry_srid)
        if isinstance(node, ast.Function) and node.name.lower() == "bbox":
            if len(node.arguments) not in (4, 6):
                raise InvalidInput("BBOX necesita 4 números.", where="filter")
            coords = (
                node.arguments
                if len(node.arguments) == 4
                else node.arguments[:2] + node.arguments[3:5]
            )
            return self._envelope(*coords, self.geometry_srid)
        raise InvalidInput(f"Se esperaba una geometría: {node!r}", where="filter")

    def _envelope(self, minx, miny, maxx, maxy, srid: int) -> sql.Composable:
        box = sql.SQL("ST_MakeEnvelope({}, {}, {}, {}, {})").format(
            self.param(float(minx)),
            self.param(float(miny)),
            self.param(float(maxx)),
            self.param(float(maxy)),
            sql.Literal(srid),
        )
        # Densify geographic boxes so their transformed edges follow the curved lines.
        if srid in (4326, 4686):
            box = sql.SQL("ST_Segmentize({}, 0.05)").format(box)
        return self._to_storage(box, srid)

    def _to_storage(self, expression: sql.Composable, srid: int) -> sql.Composable:
        if srid == self.layer.srid:
            return expression
        return sql.SQL("ST_Transform({}, {})").format(expression, sql.Literal(self.layer.srid))

    def scalar(self, node: object, kind: str | None = None) -> sql.Composable:
        if isinstance(node, ast.Attribute):
            return self.attribute(node.name)[0]
        if isinstance(node, values.Interval | values.Geometry | values.Envelope | GmlGeometry):
            raise InvalidInput(f"Valor no escalar en el filtro: {node!r}", where="filter")
        if isinstance(node, ast.Node):
            raise InvalidInput(f"Expresión no soportada en el filtro: {node!r}", where="filter")
        cast = _CASTS.get(kind or "")
        placeholder = self.param(_coerce(node, kind))
        return placeholder + sql.SQL("::" + cast) if cast else placeholder

    def kind_of(self, node: object) -> str | None:
        return self.attribute(node.name)[1] if isinstance(node, ast.Attribute) else None

    def build(self, node: object) -> sql.Composable:  # noqa: C901 - one branch per node type
        if isinstance(node, ast.And | ast.Or):
            joiner = " AND " if isinstance(node, ast.And) else " OR "
            return sql.SQL("({})").format(
                sql.SQL(joiner).join([self.build(node.lhs), self.build(node.rhs)])
            )
        if isinstance(node, ast.Not):
            return sql.SQL("NOT ({})").format(self.build(node.sub_node))
        if type(node) in _COMPARISON:
            kind = self.kind_of(node.lhs) or self.kind_of(node.rhs)
            return sql.SQL("{} " + _COMPARISON[type(node)] + " {}").format(
                self.scalar(node.lhs, kind), self.scalar(node.rhs, kind)
            )
        if isinstance(node, ast.Like):
            operator = "ILIKE" if node.nocase else "LIKE"
            pattern = _like_pattern(str(node.pattern), node)
            return sql.SQL("{}({}::text " + operator + " {} ESCAPE '\\')").format(
                sql.SQL("NOT ") if node.not_ else sql.SQL(""),
                self.scalar(node.lhs),
                self.param(pattern),
            )
        if isinstance(node, ast.Between):
            kind = self.kind_of(node.lhs)
            return sql.SQL("{} {}BETWEEN {} AND {}").format(
                self.scalar(node.lhs),
                sql.SQL("NOT ") if node.not_ else sql.SQL(""),
                self.scalar(node.low, kind),
                self.scalar(node.high, kind),
            )
        if isinstance(node, ast.IsNull):
            return sql.SQL("{} IS {}NULL").format(
                self.scalar(node.lhs), sql.SQL("NOT ") if node.not_ else sql.SQL("")
            )
        if isinstance(node, ast.In):
            kind = self.kind_of(node.lhs)
            options = sql.SQL(", ").join(self.scalar(v, kind) for v in node.sub_nodes)
            return sql.SQL("{} {}IN ({})").format(
                self.scalar(node.lhs), sql.SQL("NOT ") if node.not_ else sql.SQL(""), options
            )
        if type(node) in _SPATIAL:
            return sql.SQL(_SPATIAL[type(node)] + "({}, {})").format(
                self.geometry(node.lhs), self.geometry(node.rhs)
            )
        if isinstance(node, ast.BBox):
            srid = _srid_of(node.crs) if node.crs else self.geometry_srid
            lhs = (
                self.geometry(node.lhs)
                if node.lhs is not None
                else sql.SQL("t.") + sql.Identifier(self.layer.geometry_column)
            )
            box = self._envelope(node.minx, node.miny, node.maxx, node.maxy, srid)
            return sql.SQL("ST_Intersects({}, {})").format(lhs, box)
        if isinstance(node, ast.DistanceWithin | ast.DistanceBeyond):
            factor = _UNITS.get(str(node.units).lower())
            if factor is None:
                raise InvalidInput(
                    f"Unidad de distancia no soportada: '{node.units}' (use m o km).",
                    where="filter",
                )
            within = sql.SQL("ST_DWithin({}, {}, {})").format(
                self.geometry(node.lhs),
                self.geometry(node.rhs),
                self.param(float(node.distance) * factor),
            )
            return within if isinstance(node, ast.DistanceWithin) else sql.SQL("NOT ") + within
        if isinstance(node, ResourceIds):
            column = sql.SQL("t.") + sql.Identifier(self.layer.id_column)
            return column + sql.SQL("::text = ANY({})").format(self.param(self.own_ids(node)))
        if isinstance(node, ast.Include):
            return sql.SQL("FALSE") if node.not_ else sql.SQL("TRUE")
        if isinstance(node, bool):
            return sql.SQL("TRUE" if node else "FALSE")
        if isinstance(node, ast.TemporalPredicate):
            return self.temporal(node)
        raise InvalidInput(
            f"Operación de filtro no soportada: {type(node).__name__}", where="filter"
        )

    def own_ids(self, node: ResourceIds) -> list[str]:
        """Ids of this layer: `layer.pk` loses its prefix, other layers' ids are dropped."""
        prefix = self.layer.name + "."
        own = []
        for value in node.ids:
            if value.startswith(prefix):
                own.append(value[len(prefix) :])
            elif "." not in value:
                own.append(value)
        return own

    def temporal(self, node: ast.TemporalPredicate) -> sql.Composable:
        lhs = self.scalar(node.lhs)
        rhs = node.rhs
        if isinstance(rhs, values.Interval):
            start = self.param(rhs.start) if rhs.start is not None else sql.SQL("'-infinity'")
            end = self.param(rhs.end) if rhs.end is not None else sql.SQL("'infinity'")
        else:
            start = end = self.param(rhs)
        if isinstance(node, ast.TimeBefore):
            return sql.SQL("{} < {}").format(lhs, start)
        if isinstance(node, ast.TimeAfter):
            return sql.SQL("{} > {}").format(lhs, end)
        if isinstance(node, ast.TimeEquals):
            return sql.SQL("{} = {}").format(lhs, start)
        # T_INTERSECTS / DURING and friends: inside the closed interval.
        return sql.SQL("{} BETWEEN {} AND {}").format(lhs, start, end)


def _published(layer: Layer, name: str) -> bool:
    return any(p.name == name for p in layer.properties)


def _coerce(value: object, kind: str | None) -> object:
    """Turn a literal into the Python value psycopg sends for the property type."""
    if kind is None or value is None:
        return value
    try:
        if kind == "integer":
            return int(value)
        if kind == "number":
            return float(value)
        if kind == "boolean":
            if isinstance(value, str):
                return value.lower() in ("true", "1")
            return bool(value)
        if kind == "date" and isinstance(value, str):
            return dt.date.fromisoformat(value[:10])
        if kind == "string":
            return str(value)
    except ValueError:
        raise InvalidInput(
            f"Valor inválido para un atributo {kind}: '{value}'", where="filter"
        ) from None
    return value


def _like_pattern(pattern: str, node: ast.Like) -> str:
    """Translate the client's wildcard/single/escape characters to SQL LIKE's % _ \\."""
    out = []
    escaping = False
    for char in pattern:
        if escaping:
            out.append("\\" + char if char in "%_\\" else char)
            escaping = False
        elif node.escapechar and char == node.escapechar:
            escaping = True
        elif char == node.wildcard:
            out.append("%")
        elif char == node.singlechar:
            out.append("_")
        elif char in "%_\\":
            out.append("\\" + char)
        else:
            out.append(char)
    return "".join(out)


def _srid_of(crs: str) -> int:
    from geo.crs import parse_srid

    return parse_srid(crs)


def _srid_of_geojson(geometry: dict) -> int | None:
    crs = geometry.get("crs")
    if isinstance(crs, dict):
        name = crs.get("properties", {}).get("name")
        return _srid_of(name) if name else None
    return None


def filter_sql(
    node: object, layer: Layer, geometry_srid: int = WGS84
) -> tuple[sql.Composable, list]:
    """SQL condition (over alias `t`) and parameters for a filter AST on one layer."""
    builder = _Builder(layer, geometry_srid)
    return builder.build(node), builder.params
