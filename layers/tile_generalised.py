"""The pre-generalised low-zoom geometry store behind vector tiles (z0..STORE_MAX_ZOOM).

At low zooms a tile covers a quarter of the country: building it from the storage table
means detoasting, clipping, snapping and reprojecting thousands of full-resolution features
per request. As serious tile servers do, those geometries are prepared once per layer
revision: for every feature and zoom up to STORE_MAX_ZOOM, one row of
`layers_tilegeometry` holds it already in EPSG:3857, snapped to that zoom's grid (the tile
unit lattice: GRID_UNITS tile units, aligned with every tile's edges) and oriented as MVT
wants after the y flip; sub-pixel polygons hold the point they are drawn as. Snapping is per
vertex, so neighbours sharing a border keep sharing it (no slivers, unlike a per-feature
`ST_Simplify`). Attributes are never copied: tiles join the layer's table by its id, so the
published attributes and the anonymous `public_filter` are always the live ones.

Freshness: `layers_tilegeneralised` records the layer revision (layers.revisions) each
layer's rows were built at. The tile statement compares it with the current revision in
the same snapshot and reads the store only when they are equal; otherwise it builds the
tile from the storage table as at higher zooms. So an edit or import is in the very next
tile, and `refresh` rebuilds the store afterwards (the service does it in the background).
Both tables are UNLOGGED: after a crash they come back empty together, i.e. stale.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence

from psycopg import Connection, sql

from layers.registry import Layer, all_layers
from layers.revisions import revisions
from layers.tiles import (
    CELL,
    CELL_TABLE,
    GRID_UNITS,
    POLYGONAL,
    SMALL_UNITS,
    STATE_TABLE,
    STORE_TABLE,
    TILE_EXTENT,
    WORLD_WIDTH,
    store_class,
    store_zooms,
    uses_store,
)

CREATE_SQL = f"""
CREATE EXTENSION IF NOT EXISTS btree_gist;
CREATE UNLOGGED TABLE IF NOT EXISTS {STORE_TABLE} (
  layer text NOT NULL,
  z smallint NOT NULL,
  fid text NOT NULL,
  -- valid, non-empty and not a collection (MVT has none): drawn by scaling alone when
  -- wholly inside the tile; other rows go through ST_AsMVTGeom
  exact boolean NOT NULL,
  geom geometry(Geometry, 3857) NOT NULL
);
CREATE INDEX IF NOT EXISTS {STORE_TABLE}_geom ON {STORE_TABLE} USING gist (layer, z, geom);
CREATE UNLOGGED TABLE IF NOT EXISTS {CELL_TABLE} (
  layer text NOT NULL,
  z smallint NOT NULL,
  -- 0: every feature (staff tiles); 1: those passing the layer's public_filter
  audience smallint NOT NULL,
  klass text,
  n integer NOT NULL,
  geom geometry(Point, 3857) NOT NULL
);
CREATE INDEX IF NOT EXISTS {CELL_TABLE}_geom ON {CELL_TABLE} USING gist (layer, z, audience, geom);
CREATE UNLOGGED TABLE IF NOT EXISTS {STATE_TABLE} (
  layer text PRIMARY KEY,
  revision bigint NOT NULL,
  class_property text,
  zmin smallint NOT NULL,
  zmax smallint NOT NULL,
  built_at timestamptz NOT NULL DEFAULT now()
);
"""

DROP_SQL = (
    f"DROP TABLE IF EXISTS {STORE_TABLE}; DROP TABLE IF EXISTS {CELL_TABLE}; "
    f"DROP TABLE IF EXISTS {STATE_TABLE};"
)


def _build_sql(layer: Layer, class_property: str | None) -> sql.Composable:
    """INSERTs of the layer's features and sub-pixel cells at each stored zoom.

    Named parameters layer, zmin, zmax. The same tests and points as the live tile SQL
    (layers.tiles), computed once per feature: the sub-pixel test on the storage CRS box,
    the point on the centre of that box. Cells are CELL tile units, aligned with the tile
    grid of their zoom (a feature's cell does not depend on the tile asking).
    """
    geom = sql.SQL("t.") + sql.Identifier(layer.geometry_column)
    polygonal = layer.geometry_type in POLYGONAL
    klass = (
        sql.SQL("(" + layer.property(class_property).expression + ")::text")
        if class_property and polygonal
        else sql.SQL("NULL::text")
    )
    public = sql.SQL("(" + layer.public_filter + ")") if layer.public_filter else sql.SQL("TRUE")
    return sql.SQL(
        "WITH s AS MATERIALIZED (SELECT t.{id}::text AS fid, {g}::box2d AS bb, "
        "ST_Transform({g}, 3857) AS g3857, "
        "ST_Transform(ST_Centroid(ST_Envelope({g})), 3857) AS c3857, "
        "{klass} AS klass, {public} AS public "
        "FROM {table} AS t WHERE {g} IS NOT NULL AND NOT ST_IsEmpty({g})), "
        "r AS MATERIALIZED (SELECT s.fid, s.g3857, s.c3857, s.klass, s.public, z.z, u.unit, "
        "{polygonal} AND ST_XMax(s.bb) - ST_XMin(s.bb) < u.unit * {small_units} "
        "AND ST_YMax(s.bb) - ST_YMin(s.bb) < u.unit * {small_units} AS small "
        "FROM s CROSS JOIN generate_series(%(zmin)s::int, %(zmax)s::int) AS z(z) "
        "CROSS JOIN LATERAL (SELECT {world} / 2 ^ z.z / {extent} AS unit) u), "
        "drawn AS (INSERT INTO {store} (layer, z, fid, exact, geom) "
        "SELECT %(layer)s, r.z, r.fid, NOT ST_IsEmpty(p.geom) AND ST_IsValid(p.geom) "
        "AND GeometryType(p.geom) <> 'GEOMETRYCOLLECTION', p.geom "
        "FROM r CROSS JOIN LATERAL (SELECT ST_ForcePolygonCW(ST_RemoveRepeatedPoints("
        "ST_SnapToGrid(r.g3857, r.unit * {grid_units}))) AS geom) p WHERE NOT r.small) "
        "INSERT INTO {cells} (layer, z, audience, klass, n, geom) "
        "SELECT %(layer)s, r.z, a.audience, r.klass, count(*), "
        "ST_SetSRID(ST_MakePoint(avg(ST_X(r.c3857)), avg(ST_Y(r.c3857))), 3857) "
        "FROM r CROSS JOIN (VALUES (0), (1)) AS a(audience) "
        "WHERE r.small AND (a.audience = 0 OR ({filtered} AND r.public)) "
        "GROUP BY r.z, a.audience, r.klass, floor(ST_X(r.c3857) / (r.unit * {cell})), "
        "floor(ST_Y(r.c3857) / (r.unit * {cell}))"
    ).format(
        id=sql.Identifier(layer.id_column),
        g=geom,
        klass=klass,
        public=public,
        table=sql.Identifier(layer.table),
        polygonal=sql.Literal(polygonal),
        small_units=sql.Literal(SMALL_UNITS),
        grid_units=sql.Literal(GRID_UNITS),
        world=sql.Literal(WORLD_WIDTH),
        extent=sql.Literal(TILE_EXTENT),
        store=sql.Identifier(STORE_TABLE),
        cells=sql.Identifier(CELL_TABLE),
        filtered=sql.Literal(layer.public_filter is not None),
        cell=sql.Literal(CELL),
    )


def _state(conn: Connection, names: Sequence[str]) -> dict[str, tuple]:
    """Per layer: the revision, class attribute and zoom range its store was built with."""
    rows = conn.execute(
        sql.SQL(
            "SELECT layer, revision, class_property, zmin, zmax FROM {} WHERE layer = ANY(%s)"
        ).format(sql.Identifier(STATE_TABLE)),
        [list(names)],
    ).fetchall()
    return {row[0]: tuple(row[1:]) for row in rows}


def stale_layers(
    conn: Connection,
    layers: Iterable[Layer] | None = None,
    class_properties: Mapping[str, str] | None = None,
) -> list[Layer]:
    """The store-backed layers built at another revision (or class attribute) than now."""
    wanted = [layer for layer in (all_layers() if layers is None else layers) if uses_store(layer)]
    if not wanted:
        return []
    names = [layer.name for layer in wanted]
    current = revisions(conn, names)
    built = _state(conn, names)
    classes = class_properties or {}

    def wanted_class(layer: Layer) -> str | None:
        klass = store_class(layer, classes)
        return klass if klass in {p.name for p in layer.properties} else None

    return [
        layer
        for layer in wanted
        if built.get(layer.name) != (current[layer.name], wanted_class(layer), *store_zooms(layer))
    ]


def refresh(
    conn: Connection, layer: Layer, class_property: str | None = None, force: bool = False
) -> bool:
    """Rebuild one layer's generalised rows at its current revision.

    `class_property` is the attribute sub-pixel cells are counted by (the one tiles
    aggregate by; tiles asking for another read the storage table). Runs in its own
    REPEATABLE READ transaction, so the revision recorded is the one of the rows read; a
    write committed meanwhile leaves the store stale and the next refresh rebuilds it. An
    advisory lock makes concurrent refreshers (several workers) skip a layer another one is
    building. Returns whether it built (False: fresh, busy or not stored).
    """
    if not uses_store(layer):
        return False
    published = {p.name for p in layer.properties}
    # Tiles only aggregate by a published attribute (app.tiles.vector filters the same way).
    klass = store_class(layer, {layer.name: class_property} if class_property in published else {})
    zmin, zmax = store_zooms(layer)
    previous = conn.autocommit
    conn.autocommit = False
    try:
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ")
        locked = conn.execute(
            "SELECT pg_try_advisory_xact_lock(hashtext('layers_tilegeometry:' || %s))",
            [layer.name],
        ).fetchone()[0]
        current = revisions(conn, [layer.name])[layer.name]
        built = _state(conn, [layer.name]).get(layer.name)
        if not locked or (not force and built == (current, klass, zmin, zmax)):
            conn.rollback()
            return False
        # Snapping may leave a self-touching ring: such a row is drawn through ST_AsMVTGeom.
        conn.execute("SET LOCAL client_min_messages = warning")
        for table in (STORE_TABLE, CELL_TABLE):
            conn.execute(
                sql.SQL("DELETE FROM {} WHERE layer = %s").format(sql.Identifier(table)),
                [layer.name],
            )
        if zmin <= zmax:
            conn.execute(
                _build_sql(layer, klass), {"layer": layer.name, "zmin": zmin, "zmax": zmax}
            )
        conn.execute(
            sql.SQL(
                "INSERT INTO {} (layer, revision, class_property, zmin, zmax, built_at) "
                "VALUES (%s, %s, %s, %s, %s, now()) ON CONFLICT (layer) DO UPDATE SET "
                "revision = EXCLUDED.revision, class_property = EXCLUDED.class_property, "
                "zmin = EXCLUDED.zmin, zmax = EXCLUDED.zmax, built_at = now()"
            ).format(sql.Identifier(STATE_TABLE)),
            [layer.name, current, klass, zmin, zmax],
        )
        # Fresh statistics: the tile statements' plans depend on how many rows a box holds.
        conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(STORE_TABLE)))
        conn.execute(sql.SQL("ANALYZE {}").format(sql.Identifier(CELL_TABLE)))
        conn.commit()
        return True
    except BaseException:
        conn.rollback()
        raise
    finally:
        conn.autocommit = previous


def refresh_stale(
    conn: Connection,
    layers: Sequence[Layer] | None = None,
    class_properties: Mapping[str, str] | None = None,
) -> list[str]:
    """Rebuild every stale store-backed layer; the names of those rebuilt."""
    classes = class_properties or {}
    return [
        layer.name
        for layer in stale_layers(conn, layers, classes)
        if refresh(conn, layer, classes.get(layer.name))
    ]
