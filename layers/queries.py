"""PostGIS queries behind every feature interface (REST, OGC API, exports).

PostGIS builds the GeoJSON; Python only streams the text. Column expressions come from the
registry (trusted code); every user value reaches SQL as a parameter.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field

from psycopg import Connection, sql

from geo.crs import WGS84
from geo.errors import InvalidInput
from layers.registry import Layer, Property

_CASTS = {
    "string": "text",
    "integer": "bigint",
    "number": "double precision",
    "boolean": "boolean",
    "date": "date",
    "datetime": "timestamptz",
}


@dataclass(frozen=True)
class FeatureQuery:
    """What a client asked of one layer: spatial and attribute filters, paging, output CRS."""

    layer: Layer
    bbox: tuple[float, float, float, float] | None = None
    bbox_srid: int = WGS84
    out_srid: int = WGS84
    filters: tuple[tuple[str, str], ...] = ()
    properties: tuple[str, ...] | None = None
    ids: tuple[str, ...] | None = None
    limit: int = 100
    offset: int = 0
    public_only: bool = False
    extra_where: tuple[sql.Composable, ...] = field(default_factory=tuple)
    extra_params: tuple = ()
    # (property name, descending) pairs; the id always breaks ties so paging is stable.
    sortby: tuple[tuple[str, bool], ...] = ()
    # Keyset paging: only ids after this one (id order), so deep pages cost as much as page 1.
    after: str | None = None
    # Swap x/y in the output (CRS whose authority axis order is north-first, e.g. EPSG URIs).
    flip_axes: bool = False

    def selected(self) -> tuple[Property, ...]:
        """The properties to publish, in registry order."""
        if self.properties is None:
            return self.layer.properties
        wanted = set(self.properties)
        for name in wanted:
            self.layer.property(name)  # raises naming the valid ones
        return tuple(p for p in self.layer.properties if p.name in wanted)


def _typed(prop: Property, value: str) -> object:
    """Validate a filter value against the property type so a bad value is a 400, not a 500."""
    try:
        if prop.type == "integer":
            return int(value)
        if prop.type == "number":
            return float(value)
        if prop.type == "boolean":
            lowered = value.lower()
            if lowered not in {"true", "false", "1", "0"}:
                raise ValueError
            return lowered in {"true", "1"}
    except ValueError:
        raise InvalidInput(
            f"Valor inválido para '{prop.name}' ({prop.type}): '{value}'", where=prop.name
        ) from None
    return value


def where_clause(query: FeatureQuery) -> tuple[sql.Composable, list]:
    """WHERE clause and parameters for a query (bbox through the GiST index, filters, ids)."""
    layer = query.layer
    parts: list[sql.Composable] = [sql.SQL("TRUE")]
    params: list = []
    geom = sql.SQL("t.") + sql.Identifier(layer.geometry_column)
    if query.bbox is not None:
        # Transform the (densified) envelope once so the index on the 9377 column is used.
        parts.append(
            geom
            + sql.SQL(
                " && ST_Transform(ST_Segmentize(ST_MakeEnvelope(%s, %s, %s, %s, %s), "
                "CASE WHEN %s IN (4326, 4686) THEN 0.05 ELSE 5000 END), {srid})"
            ).format(srid=sql.Literal(layer.srid))
        )
        params.extend([*query.bbox, query.bbox_srid, query.bbox_srid])
    for name, value in query.filters:
        prop = layer.property(name)
        parts.append(sql.SQL("(" + prop.expression + ") = %s::" + _CASTS[prop.type]))
        params.append(_typed(prop, value))
    if query.ids is not None:
        parts.append(sql.SQL("t.") + sql.Identifier(layer.id_column) + sql.SQL("::text = ANY(%s)"))
        params.append(list(query.ids))
    if query.after is not None:
        cast = "bigint" if layer.id_type == "integer" else "text"
        parts.append(sql.SQL("t.") + sql.Identifier(layer.id_column) + sql.SQL(" > %s::" + cast))
        params.append(query.after)
    if query.public_only and layer.public_filter:
        parts.append(sql.SQL("(" + layer.public_filter + ")"))
    parts.extend(query.extra_where)
    params.extend(query.extra_params)
    return sql.SQL(" AND ").join(parts), params


def _table(layer: Layer) -> sql.Composable:
    return sql.Identifier(layer.table) + sql.SQL(" AS t")


def geometry_expression(layer: Layer, out_srid: int, flip: bool = False) -> sql.Composable:
    """The layer geometry in the output CRS (axes swapped when asked)."""
    geom = sql.SQL("t.") + sql.Identifier(layer.geometry_column)
    if out_srid != layer.srid:
        geom = sql.SQL("ST_Transform({}, {})").format(geom, sql.Literal(out_srid))
    return sql.SQL("ST_FlipCoordinates({})").format(geom) if flip else geom


def order_clause(query: FeatureQuery) -> sql.Composable:
    """ORDER BY the requested properties, then the id (stable pages, index-friendly)."""
    keys = [
        sql.SQL("(" + query.layer.property(name).expression + ")" + (" DESC" if desc else ""))
        for name, desc in query.sortby
    ]
    keys.append(sql.SQL("t.") + sql.Identifier(query.layer.id_column))
    return sql.SQL(", ").join(keys)


def coordinate_decimals(srid: int) -> int:
    """Decimals that keep ~1 cm: 7 for degrees, 2 for metres."""
    return 7 if srid in (4326, 4686) else 2


def feature_json_sql(query: FeatureQuery) -> tuple[sql.Composable, list]:
    """SELECT returning one GeoJSON Feature text per row, ordered by id, paged."""
    layer = query.layer
    props = sql.SQL(", ").join(
        sql.SQL("{}, " + p.expression).format(sql.Literal(p.name)) for p in query.selected()
    )
    where, params = where_clause(query)
    statement = sql.SQL(
        "SELECT json_build_object('type', 'Feature', 'id', t.{id}, "
        "'geometry', ST_AsGeoJSON({geom}, {dec})::json, "
        "'properties', json_build_object({props}))::text "
        "FROM {table} WHERE {where} ORDER BY {order} LIMIT %s OFFSET %s"
    ).format(
        id=sql.Identifier(layer.id_column),
        order=order_clause(query),
        geom=geometry_expression(layer, query.out_srid, query.flip_axes),
        dec=sql.Literal(coordinate_decimals(query.out_srid)),
        props=props if query.selected() else sql.SQL(""),
        table=_table(layer),
        where=where,
    )
    return statement, [*params, query.limit, query.offset]


def stream_features(conn: Connection, query: FeatureQuery) -> Iterator[str]:
    """GeoJSON Feature texts of a query, fetched in chunks so memory stays flat."""
    statement, params = feature_json_sql(query)
    with conn.cursor() as cur:
        cur.execute(statement, params)
        while rows := cur.fetchmany(500):
            for (text,) in rows:
                yield text


def count_features(conn: Connection, query: FeatureQuery) -> int:
    """Number of features matching a query, ignoring paging."""
    where, params = where_clause(query)
    statement = sql.SQL("SELECT count(*) FROM {table} WHERE {where}").format(
        table=_table(query.layer), where=where
    )
    return conn.execute(statement, params).fetchone()[0]


def layer_extent(conn: Connection, layer: Layer) -> tuple[float, float, float, float] | None:
    """Extent of a layer in EPSG:4326 (None when empty)."""
    statement = sql.SQL(
        "SELECT ST_XMin(e), ST_YMin(e), ST_XMax(e), ST_YMax(e) FROM ("
        "SELECT ST_Transform(ST_Segmentize(ST_SetSRID(ST_Extent(t.{geom})::geometry, {srid}), "
        "10000), 4326) AS e FROM {table}) s WHERE e IS NOT NULL"
    ).format(
        geom=sql.Identifier(layer.geometry_column),
        srid=sql.Literal(layer.srid),
        table=_table(layer),
    )
    row = conn.execute(statement).fetchone()
    return tuple(round(v, 6) for v in row) if row else None


def layer_count(conn: Connection, layer: Layer) -> int:
    """Exact feature count of a layer."""
    statement = sql.SQL("SELECT count(*) FROM {table}").format(table=_table(layer))
    return conn.execute(statement).fetchone()[0]


def parse_bbox(text: str | Sequence[float]) -> tuple[float, float, float, float]:
    """`minx,miny,maxx,maxy` into four floats, or a 400 saying what is wrong."""
    values = text.split(",") if isinstance(text, str) else list(text)
    try:
        numbers = [float(v) for v in values]
    except ValueError:
        raise InvalidInput(
            f"bbox inválido: '{text}' (se esperan 4 números)", where="bbox"
        ) from None
    if len(numbers) not in (4, 6):
        raise InvalidInput(f"bbox inválido: '{text}' (se esperan 4 números)", where="bbox")
    if len(numbers) == 6:
        numbers = [numbers[0], numbers[1], numbers[3], numbers[4]]
    minx, miny, maxx, maxy = numbers
    if minx > maxx or miny > maxy:
        raise InvalidInput(f"bbox inválido: '{text}' (mínimos mayores que máximos)", where="bbox")
    return minx, miny, maxx, maxy
