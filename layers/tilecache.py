"""The tile cache in PostgreSQL, keyed by the revisions of the layers a tile is made of.

One UNLOGGED row per tile (layer set, audience, z/x/y) holds the gzipped MVT and the
revision key it was built at (led by the tile encoding's version). A lookup reads the current
revisions and the row in one round trip; after a write (or a new encoding) the key differs,
so the stale row is ignored and then overwritten.
Keeping the cache in the database makes it shared by every worker and per-database (tests
never see the development server's tiles).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from psycopg import Connection

from layers.tiles import TILE_ENCODING, TileAddress

CREATE_SQL = """
CREATE UNLOGGED TABLE IF NOT EXISTS layers_tilecache (
  layers text NOT NULL,
  public boolean NOT NULL,
  z integer NOT NULL,
  x integer NOT NULL,
  y integer NOT NULL,
  revisions text NOT NULL,
  data bytea NOT NULL,
  created_at timestamptz NOT NULL DEFAULT now(),
  PRIMARY KEY (layers, public, z, x, y)
)
"""

_LOOKUP = (
    "SELECT r.key, c.data FROM ("
    "  SELECT %(encoding)s || '|' || string_agg(l || ':' || COALESCE(lr.revision, 0), ',' "
    "  ORDER BY l) AS key"
    "  FROM unnest(%(names)s::text[]) AS l"
    "  LEFT JOIN layers_layerrevision lr ON lr.layer = l"
    ") r LEFT JOIN layers_tilecache c ON c.layers = %(layers)s AND c.public = %(public)s"
    " AND c.z = %(z)s AND c.x = %(x)s AND c.y = %(y)s AND c.revisions = r.key"
)

_STORE = (
    "INSERT INTO layers_tilecache (layers, public, z, x, y, revisions, data) "
    "VALUES (%(layers)s, %(public)s, %(z)s, %(x)s, %(y)s, %(key)s, %(data)s) "
    "ON CONFLICT (layers, public, z, x, y) DO UPDATE "
    "SET revisions = EXCLUDED.revisions, data = EXCLUDED.data, created_at = now()"
)


@dataclass(frozen=True)
class CacheEntry:
    """The revision key a tile must carry now, and the cached gzipped bytes if current."""

    key: str
    data: bytes | None


def _params(names: Sequence[str], public: bool, tile: TileAddress) -> dict:
    return {
        "encoding": TILE_ENCODING,
        "names": list(names),
        "layers": ",".join(names),
        "public": public,
        "z": tile.z,
        "x": tile.x,
        "y": tile.y,
    }


def lookup(conn: Connection, names: Sequence[str], public: bool, tile: TileAddress) -> CacheEntry:
    """Current revision key of the layer set and the cached tile when it was built at it."""
    # Binary results: the gzipped bytes as they are, not hex text to encode and decode.
    key, data = conn.execute(_LOOKUP, _params(names, public, tile), binary=True).fetchone()
    return CacheEntry(key=key, data=bytes(data) if data is not None else None)


def store(
    conn: Connection, names: Sequence[str], public: bool, tile: TileAddress, key: str, data: bytes
) -> None:
    """Keep a freshly built (gzipped) tile under the revision key it was built at."""
    conn.execute(_STORE, {**_params(names, public, tile), "key": key, "data": data})


def clear(conn: Connection) -> None:
    """Forget every cached tile."""
    conn.execute("TRUNCATE layers_tilecache")
