"""Mapbox Vector Tiles of registry layers, built by PostGIS (`ST_AsMVT`).

How a tile is made, per layer:
- the Web Mercator tile envelope (plus the clip buffer) is densified and transformed ONCE to
  the storage CRS, so `geom && envelope` uses the GiST index on the EPSG:9377 column;
- geometries crossing the envelope are clipped in 9377 (`ST_ClipByBox2D`), so only the
  vertices near the tile are reprojected;
- generalisation per zoom: coordinates are snapped to a grid of `grid` metres (four tile
  units, 4/4096 of the tile, i.e. half a screen pixel on 512 px tiles). Grid snapping is
  deterministic per vertex, so two neighbours sharing a border vertex get the same snapped
  vertex and no gap opens between them at any zoom (`ST_Simplify` per feature would open
  slivers). Polygons smaller than half a screen pixel are kept as a point on their centre
  instead of vanishing; below zoom 10 those sub-pixel features are merged into one point
  per 4-pixel cell and class with a `count` attribute (50,000 hotspots at z5 would
  otherwise be 50,000 overlapping points and a 3 MB tile);
- then to EPSG:3857 and `ST_AsMVTGeom` (clip, tile coordinates, validity).

Zooms up to STORE_MAX_ZOOM read the same generalisation prepared once per layer revision
(layers.tile_generalised): geometries already in EPSG:3857 and snapped there to the same
4-unit grid (aligned with the tile lattice), sub-pixel polygons already counted per cell and
class (cells aligned with the tile grid, so a feature's cell does not depend on the tile).
The statement checks, in its own snapshot, that the store was built at the layer's current
revision and otherwise builds the tile as above, so edits show at once. Features wholly
inside the (buffered) tile whose stored geometry is valid are only scaled to tile units
(they are on the tile grid already); the others go through `ST_AsMVTGeom`. Attributes and
the public filter always come from the layer's table (joined by id).

Each row's geometry expression is evaluated once: `OFFSET 0` keeps PostgreSQL from pushing
the `geom IS NOT NULL` filter down and computing `ST_AsMVTGeom` a second time for it.

Size cap: a tile must stay under MAX_TILE_BYTES (500 KB uncompressed MVT). When it does
not (thousands of features with unique names and codes), it is rebuilt on a 4x coarser grid
publishing only each feature's id, label and class attribute; as a last resort every layer
of the tile is aggregated into one point per grid cell and class, with a `count` attribute.
No feature is ever dropped because of a count (tipg stops at 10,000 per tile).

Only published attributes (the registry's properties) are encoded; anonymous tiles apply
the registry's `public_filter`, so drafts never reach them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace

from psycopg import Connection, sql

from geo.errors import InvalidInput, NotFound
from layers.registry import Layer, get_layer

# Bump when the tile encoding changes: cached tiles and clients' ETags of the old one lapse.
TILE_ENCODING = "2"
TILE_EXTENT = 4096
TILE_BUFFER = 64
MAX_TILE_BYTES = 500_000
MAX_ZOOM = 24
# Width of the Web Mercator world in metres (2 * pi * 6378137).
WORLD_WIDTH = 40_075_016.685578488
# Coarsening steps (multiples of one tile unit) tried until the tile fits MAX_TILE_BYTES.
GRID_STEPS = (1, 4)
# Snapping grid: 4 tile units = half a screen pixel on 512 px tiles (invisible, and vertices
# closer than that are noise at this zoom); features under SMALL_UNITS become points.
GRID_UNITS = 4
SMALL_UNITS = 4
# Below this zoom, sub-pixel polygons are aggregated per cell of CELL units (4 screen px).
AGGREGATE_BELOW_ZOOM = 10
CELL = 32
# Cell size (tile units) of the last-resort aggregation of every feature.
AGGREGATE_CELL = 128
POLYGONAL = {"Polygon", "MultiPolygon"}
# Zooms up to this one read the pre-generalised store (layers.tile_generalised) when it is
# at the layer's current revision; it must stay below AGGREGATE_BELOW_ZOOM (the store SQL
# always aggregates sub-pixel polygons).
STORE_MAX_ZOOM = 9
# The size-cap retry snaps to a 4x coarser grid (GRID_STEPS[-1]) with a 4x larger sub-pixel
# size: exactly the generalisation of the zoom two levels up, which the store also keeps.
COARSER_ZOOMS = 2
STORE_TABLE = "layers_tilegeometry"
CELL_TABLE = "layers_tilecell"
STATE_TABLE = "layers_tilegeneralised"
assert STORE_MAX_ZOOM < AGGREGATE_BELOW_ZOOM
assert GRID_STEPS[-1] == 2**COARSER_ZOOMS
_CASTS = {"date": "::text", "datetime": "::text"}


@dataclass(frozen=True)
class TileAddress:
    """A z/x/y tile of the WebMercatorQuad grid."""

    z: int
    x: int
    y: int

    def __post_init__(self) -> None:
        if not 0 <= self.z <= MAX_ZOOM:
            raise InvalidInput(f"Nivel de zoom fuera de rango (0-{MAX_ZOOM}): {self.z}", where="z")
        top = 2**self.z
        if not (0 <= self.x < top and 0 <= self.y < top):
            raise NotFound(
                f"La tesela {self.z}/{self.x}/{self.y} no existe (x e y entre 0 y {top - 1}).",
                where="tile",
            )

    @property
    def unit(self) -> float:
        """Size in metres of one tile unit (1/TILE_EXTENT of the tile width)."""
        return WORLD_WIDTH / 2**self.z / TILE_EXTENT


def in_zoom_range(layer: Layer, z: int) -> bool:
    """Whether the registry publishes this layer's tiles at zoom z."""
    return layer.min_zoom <= z <= layer.max_zoom


_TYPES = {
    "string": "text",
    "integer": "bigint",
    "number": "double precision",
    "boolean": "boolean",
    "date": "text",
    "datetime": "text",
}


def _property_columns(layer: Layer) -> sql.Composable:
    # Explicit casts: the same row type whether a row is a feature or an aggregate.
    columns = [
        sql.SQL("(" + p.expression + ")::" + _TYPES[p.type] + " AS {}").format(
            sql.Identifier(p.name)
        )
        for p in layer.properties
    ]
    if layer.id_type == "integer":
        columns.insert(0, sql.SQL("t.{}::bigint AS __fid").format(sql.Identifier(layer.id_column)))
    return sql.SQL(", ").join(columns)


def _aggregate_columns(layer: Layer, class_property: str | None) -> sql.Composable:
    """The feature columns of an aggregate row: NULL but the class, which the cell keeps."""
    columns = [
        (sql.SQL("g.klass") if p.name == class_property else sql.SQL("NULL::" + _TYPES[p.type]))
        + sql.SQL(" AS {}").format(sql.Identifier(p.name))
        for p in layer.properties
    ]
    if layer.id_type == "integer":
        columns.insert(0, sql.SQL("NULL::bigint AS __fid"))
    return sql.SQL(", ").join(columns)


def _clipped_snapped(layer: Layer) -> sql.Composable:
    geom = sql.SQL("t.") + sql.Identifier(layer.geometry_column)
    clipped = sql.SQL(
        "CASE WHEN {g} @ b.env THEN {g} ELSE ST_ClipByBox2D({g}, b.env::box2d) END"
    ).format(g=geom)
    return sql.SQL("ST_RemoveRepeatedPoints(ST_SnapToGrid({c}, %(grid)s))").format(c=clipped)


def _small(layer: Layer) -> sql.Composable:
    """Whether a feature's bounding box is under half a screen pixel (`small` metres)."""
    geom = sql.SQL("t.") + sql.Identifier(layer.geometry_column)
    return sql.SQL(
        "(ST_XMax({g}) - ST_XMin({g}) < %(small)s AND ST_YMax({g}) - ST_YMin({g}) < %(small)s)"
    ).format(g=geom)


def _generalised(layer: Layer) -> sql.Composable:
    """The geometry clipped near the tile and snapped to the zoom's grid (still 9377)."""
    snapped = _clipped_snapped(layer)
    if layer.geometry_type not in POLYGONAL:
        return snapped
    # Sub-pixel polygons become a point so they stay visible (and countable).
    geom = sql.SQL("t.") + sql.Identifier(layer.geometry_column)
    return sql.SQL("CASE WHEN {small} THEN ST_Centroid(ST_Envelope({g})) ELSE {s} END").format(
        small=_small(layer), g=geom, s=snapped
    )


def _where(layer: Layer, public_only: bool) -> sql.Composable:
    parts = [sql.SQL("t.{} && b.env").format(sql.Identifier(layer.geometry_column))]
    if public_only and layer.public_filter:
        parts.append(sql.SQL("(" + layer.public_filter + ")"))
    return sql.SQL(" AND ").join(parts)


def _mvt_geom(expression: sql.Composable) -> sql.Composable:
    return sql.SQL(
        "ST_AsMVTGeom(ST_Transform({e}, 3857), b.env3857, {extent}, {buffer}, true)"
    ).format(e=expression, extent=sql.Literal(TILE_EXTENT), buffer=sql.Literal(TILE_BUFFER))


def layer_mvt_sql(
    layer: Layer,
    public_only: bool,
    class_property: str | None = None,
    aggregate_small: bool = False,
) -> sql.Composable:
    """SELECT of one layer's MVT bytes; named parameters z, x, y, grid, small, cell.

    With `aggregate_small` (low zooms), sub-pixel polygons are merged into one point per
    grid cell and class carrying a `count`, instead of thousands of overlapping points.
    """
    id_name = sql.Literal("__fid" if layer.id_type == "integer" else None)
    table = sql.Identifier(layer.table)
    where = _where(layer, public_only)
    if aggregate_small and layer.geometry_type in POLYGONAL:
        klass = (
            sql.SQL("(" + layer.property(class_property).expression + ")::text")
            if class_property
            else sql.SQL("NULL::text")
        )
        # One scan into a materialised set with each bounding box deserialised once; cells
        # are arithmetic on those boxes (a small sort of numbers, no geometry carried).
        names = [p.name for p in layer.properties]
        if layer.id_type == "integer":
            names.insert(0, "__fid")
        columns = sql.SQL(", ").join(sql.SQL("f.{}").format(sql.Identifier(n)) for n in names)
        small = sql.SQL(
            "(ST_XMax(f.bb) - ST_XMin(f.bb) < %(small)s AND ST_YMax(f.bb) - ST_YMin(f.bb) < "
            "%(small)s)"
        )
        clipped = sql.SQL(
            "ST_RemoveRepeatedPoints(ST_SnapToGrid(CASE WHEN f.geom @ b.env THEN f.geom "
            "ELSE ST_ClipByBox2D(f.geom, b.env::box2d) END, %(grid)s))"
        )
        return sql.SQL(
            "WITH f AS MATERIALIZED (SELECT {props}, t.{g} AS geom, t.{g}::box2d AS bb, "
            "{klass} AS klass FROM {table} AS t, b WHERE {where}) "
            "SELECT COALESCE((SELECT ST_AsMVT(q, {name}, {extent}, 'geom', {fid}) FROM ("
            "SELECT {columns}, NULL::integer AS count, {big} AS geom FROM f, b WHERE NOT {small} "
            "UNION ALL "
            "SELECT {agg}, g.n, {point} FROM ("
            "SELECT s.klass, count(*)::integer AS n, avg(s.cx) AS x, avg(s.cy) AS y FROM ("
            "SELECT (ST_XMin(f.bb) + ST_XMax(f.bb)) / 2 AS cx, "
            "(ST_YMin(f.bb) + ST_YMax(f.bb)) / 2 AS cy, f.klass FROM f WHERE {small} OFFSET 0) s "
            "GROUP BY floor(s.cx / %(cell)s), floor(s.cy / %(cell)s), s.klass) g, b"
            " OFFSET 0) q WHERE q.geom IS NOT NULL), ''::bytea)"
        ).format(
            props=_property_columns(layer),
            g=sql.Identifier(layer.geometry_column),
            klass=klass,
            table=table,
            where=where,
            name=sql.Literal(layer.name),
            extent=sql.Literal(TILE_EXTENT),
            fid=id_name,
            columns=columns,
            big=_mvt_geom(clipped),
            small=small,
            agg=_aggregate_columns(layer, class_property),
            point=_mvt_geom(
                sql.SQL("ST_SetSRID(ST_MakePoint(g.x, g.y), {srid})").format(
                    srid=sql.Literal(layer.srid)
                )
            ),
        )
    else:
        rows = sql.SQL("SELECT {props}, {geom} AS geom FROM {table} AS t, b WHERE {where}").format(
            props=_property_columns(layer),
            geom=_mvt_geom(_generalised(layer)),
            table=table,
            where=where,
        )
    return sql.SQL(
        "SELECT COALESCE((SELECT ST_AsMVT(q, {name}, {extent}, 'geom', {fid}) FROM ({rows} "
        "OFFSET 0) q WHERE q.geom IS NOT NULL), ''::bytea)"
    ).format(name=sql.Literal(layer.name), extent=sql.Literal(TILE_EXTENT), fid=id_name, rows=rows)


def has_label_points(layer: Layer) -> bool:
    """Whether the layer's labels travel as points of their own (polygonal layers; points and
    lines are labelled on their own geometry)."""
    return bool(layer.label) and layer.geometry_type in POLYGONAL


def labelled(layer: Layer, z: int) -> bool:
    """Whether a tile at zoom `z` carries this layer's label points."""
    return has_label_points(layer) and z >= layer.label_min_zoom


def label_layer_name(layer: Layer) -> str:
    """The MVT layer a map labels `layer` from: `<name>_labels` when it has label points."""
    return f"{layer.name}_labels" if has_label_points(layer) else layer.name


def layer_labels_sql(layer: Layer, public_only: bool) -> sql.Composable:
    """SELECT of the label points of one polygonal layer: one point on the surface of each
    whole feature, in the one tile that holds it, with only the id and the label.

    Labelled from the tile's clipped pieces, a municipality crossing four tiles would be
    named four times; its point on surface (computed on the full geometry, ~5 µs a feature)
    falls in exactly one tile.
    """
    slim = label_layer(layer)
    names = [p.name for p in slim.properties]
    if layer.id_type == "integer":
        names.insert(0, "__fid")
    return sql.SQL(
        "SELECT COALESCE((SELECT ST_AsMVT(q, {name}, {extent}, 'geom', {fid}) FROM ("
        "SELECT {columns}, ST_AsMVTGeom(p.pt, b.env3857, {extent}, 0, true) AS geom FROM ("
        "SELECT {props}, ST_Transform(ST_PointOnSurface(t.{g}), 3857) AS pt "
        "FROM {table} AS t, b WHERE {where} OFFSET 0) p, b "
        "WHERE p.pt && b.env3857) q WHERE q.geom IS NOT NULL), ''::bytea)"
    ).format(
        name=sql.Literal(label_layer_name(layer)),
        extent=sql.Literal(TILE_EXTENT),
        fid=sql.Literal("__fid" if layer.id_type == "integer" else None),
        columns=sql.SQL(", ").join(sql.SQL("p.{}").format(sql.Identifier(n)) for n in names),
        props=_property_columns(slim),
        g=sql.Identifier(layer.geometry_column),
        table=sql.Identifier(layer.table),
        where=_where(layer, public_only),
    )


def uses_store(layer: Layer) -> bool:
    """Whether the generalised store holds this layer: a registry layer (or a variant of it
    publishing fewer attributes) on its registered table, not an ad-hoc layer."""
    try:
        registered = get_layer(layer.name)
    except NotFound:
        return False
    return (
        registered.table == layer.table
        and registered.geometry_column == layer.geometry_column
        and registered.id_column == layer.id_column
        and registered.id_type == layer.id_type
        and registered.geometry_type == layer.geometry_type
        and registered.min_zoom == layer.min_zoom
        and registered.max_zoom == layer.max_zoom
    )


def store_zooms(layer: Layer) -> tuple[int, int]:
    """The first and last zoom the store keeps for a layer (two above its minimum zoom, for
    the size-cap retry of its first tiles)."""
    return max(layer.min_zoom - COARSER_ZOOMS, 0), min(layer.max_zoom, STORE_MAX_ZOOM)


def store_class(layer: Layer, class_properties: Mapping[str, str]) -> str | None:
    """The attribute the store counts this layer's sub-pixel cells by (polygons only)."""
    return class_properties.get(layer.name) if layer.geometry_type in POLYGONAL else None


def layer_store_sql(
    layer: Layer, public_only: bool, class_property: str | None = None
) -> sql.Composable:
    """SELECT of one layer's MVT bytes from the generalised store (zooms <= STORE_MAX_ZOOM).

    The same content as `layer_mvt_sql` with `aggregate_small`: stored geometries are on
    the tile unit lattice already, so a valid one wholly inside the buffered tile is only
    scaled and flipped (exact integers); the rest are clipped by `ST_AsMVTGeom`. Attributes
    and the public filter come from the layer's table, joined by id. Sub-pixel polygons are
    read as the store counted them per cell (per audience and class).

    The store zoom is the parameter `sz`: the tile's zoom, or two above it for the size-cap
    retry (its 4x coarser grid; cells are then 4x larger too, 16 screen pixels).
    """
    id_name = sql.Literal("__fid" if layer.id_type == "integer" else None)
    key = sql.SQL("g.fid::bigint" if layer.id_type == "integer" else "g.fid")
    # The envelope spelt out (not b.buf3857) so the planner sees the box and estimates how
    # many rows the tile holds (a hash join for a country-wide tile).
    box = sql.SQL("ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => %(m)s)")
    where = [
        sql.SQL("g.layer = {} AND g.z = %(sz)s AND g.geom && {}").format(
            sql.Literal(layer.name), box
        )
    ]
    if public_only and layer.public_filter:
        where.append(sql.SQL("(" + layer.public_filter + ")"))
    rows = sql.SQL(
        "SELECT {props}, {count}CASE WHEN g.exact AND g.geom @ b.buf3857 THEN "
        "ST_SnapToGrid(ST_Affine(g.geom, b.a, 0, 0, -b.a, -b.a * b.x0, b.a * b.y0), 1) "
        "ELSE ST_AsMVTGeom(g.geom, b.env3857, {extent}, {buffer}, true) END AS geom "
        "FROM {store} AS g JOIN {table} AS t ON t.{id} = {key}, b WHERE {where}"
    ).format(
        props=_property_columns(layer),
        count=sql.SQL("NULL::integer AS count, ")
        if layer.geometry_type in POLYGONAL
        else sql.SQL(""),
        extent=sql.Literal(TILE_EXTENT),
        buffer=sql.Literal(TILE_BUFFER),
        store=sql.Identifier(STORE_TABLE),
        table=sql.Identifier(layer.table),
        id=sql.Identifier(layer.id_column),
        key=key,
        where=sql.SQL(" AND ").join(where),
    )
    if layer.geometry_type in POLYGONAL:
        audience = 1 if public_only and layer.public_filter else 0
        rows = rows + sql.SQL(
            " UNION ALL SELECT {agg}, g.n, ST_AsMVTGeom(g.geom, b.env3857, {extent}, {buffer}, "
            "true) FROM {cells} AS g, b WHERE g.layer = {name} AND g.z = %(sz)s "
            "AND g.audience = {audience} AND g.geom && {box}"
        ).format(
            agg=_aggregate_columns(layer, class_property),
            extent=sql.Literal(TILE_EXTENT),
            buffer=sql.Literal(TILE_BUFFER),
            cells=sql.Identifier(CELL_TABLE),
            name=sql.Literal(layer.name),
            audience=sql.Literal(audience),
            box=box,
        )
    return sql.SQL(
        "SELECT COALESCE((SELECT ST_AsMVT(q, {name}, {extent}, 'geom', {fid}) FROM ({rows} "
        "OFFSET 0) q WHERE q.geom IS NOT NULL), ''::bytea)"
    ).format(name=sql.Literal(layer.name), extent=sql.Literal(TILE_EXTENT), fid=id_name, rows=rows)


def _fresh_or_live(
    layer: Layer,
    class_property: str | None,
    store_zoom: int,
    stored: sql.Composable,
    live: sql.Composable,
) -> sql.Composable:
    """The stored statement when the store is at the layer's current revision, counts cells
    by the class asked for and holds the zoom read; else the live one. The checks and the
    read share the statement's snapshot: there is no window where an edit is missing."""
    return sql.SQL(
        "SELECT CASE WHEN (SELECT s.revision = (SELECT COALESCE(max(r.revision), 0) "
        "FROM layers_layerrevision AS r WHERE r.layer = {name}) "
        "AND s.class_property IS NOT DISTINCT FROM {klass} "
        "AND {zoom} BETWEEN s.zmin AND s.zmax "
        "FROM {state} AS s WHERE s.layer = {name}) THEN ({stored}) ELSE ({live}) END"
    ).format(
        state=sql.Identifier(STATE_TABLE),
        name=sql.Literal(layer.name),
        klass=sql.Literal(class_property),
        zoom=sql.Literal(store_zoom),
        stored=stored,
        live=live,
    )


def layer_aggregate_sql(
    layer: Layer, public_only: bool, class_property: str | None
) -> sql.Composable:
    """SELECT of one layer aggregated into points per grid cell (and class), with counts."""
    geom = sql.SQL("t.") + sql.Identifier(layer.geometry_column)
    klass = (
        sql.SQL("(" + layer.property(class_property).expression + ")::text")
        if class_property
        else sql.SQL("NULL::text")
    )
    return sql.SQL(
        "SELECT COALESCE((SELECT ST_AsMVT(q, {name}, {extent}, 'geom') FROM ("
        "SELECT count(*)::int AS count, klass AS {klass_name}, "
        "ST_AsMVTGeom(ST_Transform(ST_Centroid(ST_Collect(c)), 3857), b.env3857, {extent}, "
        "{buffer}, true) AS geom FROM ("
        "SELECT ST_Centroid(ST_Envelope({g})) AS c, {klass} AS klass, "
        "ST_SnapToGrid(ST_Centroid(ST_Envelope({g})), %(cell)s) AS cell "
        "FROM {table} AS t, b WHERE {where}) cells, b GROUP BY cell, klass, b.env3857"
        ") q WHERE q.geom IS NOT NULL), ''::bytea)"
    ).format(
        name=sql.Literal(layer.name),
        extent=sql.Literal(TILE_EXTENT),
        buffer=sql.Literal(TILE_BUFFER),
        klass_name=sql.Identifier(class_property or "class"),
        g=geom,
        klass=klass,
        table=sql.Identifier(layer.table),
        where=_where(layer, public_only),
    )


def render_tile(
    conn: Connection,
    layers: Sequence[Layer],
    tile: TileAddress,
    public_only: bool,
    class_properties: Mapping[str, str] | None = None,
    max_bytes: int = MAX_TILE_BYTES,
    use_store: bool = True,
) -> bytes:
    """The MVT bytes of the layers at this tile, coarsened until under `max_bytes`.

    `use_store=False` always builds from the storage tables (tests compare both paths).
    """
    visible = [layer for layer in layers if in_zoom_range(layer, tile.z)]
    if not visible:
        return b""
    classes = class_properties or {}
    statement = tile_statement(
        visible, tile, public_only, class_properties=classes, use_store=use_store
    )
    data = run_tile(conn, statement, tile, 1)
    if len(data) <= max_bytes:
        return data
    # Too big: mostly the attribute values of thousands of features. Keep every feature's
    # shape on a 4x coarser grid, with only its id, label and class.
    slim = [_slim(layer, classes.get(layer.name)) for layer in visible]
    statement = tile_statement(
        slim, tile, public_only, class_properties=classes, use_store=use_store, coarser=True
    )
    data = run_tile(conn, statement, tile, GRID_STEPS[-1])
    if len(data) <= max_bytes:
        return data
    statement = tile_statement(slim, tile, public_only, True, classes)
    return run_tile(conn, statement, tile, GRID_STEPS[-1] * 4)


def label_layer(layer: Layer) -> Layer:
    """The layer publishing only what its label points carry: its id and its label."""
    return _slim(layer, None)


def _slim(layer: Layer, class_property: str | None) -> Layer:
    """The layer publishing only its identifying, label and class attributes."""
    keep = {layer.id_column, layer.label, class_property}
    return replace(layer, properties=tuple(p for p in layer.properties if p.name in keep))


def tile_statement(
    layers: Sequence[Layer],
    tile: TileAddress,
    public_only: bool,
    aggregate: bool = False,
    class_properties: Mapping[str, str] | None = None,
    use_store: bool = True,
    coarser: bool = False,
) -> sql.Composable:
    """The full tile statement with named parameters only (z, x, y, m, seg, grid, small, cell,
    sz).

    At zooms up to STORE_MAX_ZOOM a layer reads the generalised store when it is fresh: at
    the tile's zoom, or (`coarser`, the size-cap retry) two zooms up. The last-resort
    aggregation always reads the storage tables.
    """
    srid = layers[0].srid
    bounds = sql.SQL(
        "SELECT e.env3857, e.buf3857, ST_Transform(ST_Segmentize(e.buf3857, %(seg)s), {srid}) "
        "AS env, {extent} / (ST_XMax(e.env3857) - ST_XMin(e.env3857)) AS a, "
        "ST_XMin(e.env3857) AS x0, ST_YMax(e.env3857) AS y0 FROM ("
        "SELECT ST_TileEnvelope(%(z)s, %(x)s, %(y)s) AS env3857, "
        "ST_TileEnvelope(%(z)s, %(x)s, %(y)s, margin => %(m)s) AS buf3857) e"
    ).format(srid=sql.Literal(srid), extent=sql.Literal(float(TILE_EXTENT)))
    stored = use_store and not aggregate and tile.z <= STORE_MAX_ZOOM
    store_zoom = tile.z - (COARSER_ZOOMS if coarser else 0)
    parts = []
    for layer in layers:
        klass = (class_properties or {}).get(layer.name)
        if aggregate:
            part = layer_aggregate_sql(layer, public_only, klass)
        else:
            part = layer_mvt_sql(layer, public_only, klass, tile.z < AGGREGATE_BELOW_ZOOM)
            if stored and uses_store(layer) and store_zoom >= store_zooms(layer)[0]:
                cls = store_class(layer, class_properties or {})
                store = layer_store_sql(layer, public_only, klass)
                part = _fresh_or_live(layer, cls, store_zoom, store, part)
        parts.append(sql.SQL("(") + part + sql.SQL(")"))
        if labelled(layer, tile.z):
            parts.append(sql.SQL("(") + layer_labels_sql(layer, public_only) + sql.SQL(")"))
    return sql.SQL("WITH b AS MATERIALIZED ({bounds}) SELECT {parts}").format(
        bounds=bounds, parts=sql.SQL(" || ").join(parts)
    )


def tile_params(tile: TileAddress, step: int = 1) -> dict:
    """Named parameters of `tile_statement` for a tile and a coarsening step."""
    unit = tile.unit
    return {
        "z": tile.z,
        "x": tile.x,
        "y": tile.y,
        "m": TILE_BUFFER / TILE_EXTENT,
        "seg": WORLD_WIDTH / 2**tile.z / 16,
        "grid": unit * GRID_UNITS * step,
        "small": unit * SMALL_UNITS * step,
        "cell": unit * (AGGREGATE_CELL if step > GRID_STEPS[-1] else CELL),
        # The store zoom with the same grid: one zoom up per doubling of the step.
        "sz": max(tile.z - (step.bit_length() - 1), 0),
    }


def run_tile(conn: Connection, statement: sql.Composable, tile: TileAddress, step: int) -> bytes:
    """Execute a tile statement and return its bytes (empty when no feature)."""
    # Binary results: the MVT bytes as they are, not hex text to encode and decode.
    row = conn.execute(statement, tile_params(tile, step), binary=True).fetchone()
    return bytes(row[0]) if row and row[0] is not None else b""
