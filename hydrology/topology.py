"""Drainage topology of hydro units: upstream closure, downstream path, dissolved boundaries.

Answered in PostgreSQL with recursive CTEs over `next_down` (indexed by its foreign key), so a
closure over 10,000 units costs a few milliseconds and no graph has to be kept in memory or
invalidated after an import. `UNION` (upstream) and `CYCLE` (downstream) stop on a malformed
layer whose `next_down` loops instead of recursing forever.
"""

from __future__ import annotations

from dataclasses import dataclass

from psycopg import Connection

from geo.errors import NotFound

UPSTREAM_SQL = """
WITH RECURSIVE up(id) AS (
    SELECT id FROM hydrology_hydrounit WHERE id = %(unit)s
  UNION
    SELECT u.id FROM hydrology_hydrounit u JOIN up ON u.next_down_id = up.id
)
SELECT id FROM up
"""

DOWNSTREAM_SQL = """
WITH RECURSIVE down(id, next_down_id, step) AS (
    SELECT id, next_down_id, 0 FROM hydrology_hydrounit WHERE id = %(unit)s
  UNION ALL
    SELECT u.id, u.next_down_id, d.step + 1
    FROM hydrology_hydrounit u JOIN down d ON u.id = d.next_down_id
) CYCLE id SET is_cycle USING visited
SELECT id FROM down WHERE NOT is_cycle ORDER BY step
"""

# Units are a partition of the land, but published layers overlap slightly at their seams:
# the dissolved area is measured on the union, never summed.
DISSOLVE_SQL = """
SELECT ST_AsGeoJSON({geom}, {decimals})::text, ST_Area(g) / 10000.0
FROM (
    SELECT ST_Multi(ST_UnaryUnion(ST_Collect(geom))) AS g
    FROM hydrology_hydrounit WHERE id = ANY(%(ids)s)
) s
"""


@dataclass(frozen=True)
class Dissolved:
    """The union of some units: GeoJSON geometry text in the asked CRS and its area."""

    geometry_json: str | None
    area_ha: float


def _require_unit(conn: Connection, unit_id: int) -> None:
    row = conn.execute("SELECT 1 FROM hydrology_hydrounit WHERE id = %s", [unit_id]).fetchone()
    if row is None:
        raise NotFound(f"No existe la unidad hidrográfica {unit_id}.", where="id")


def upstream_ids(conn: Connection, unit_id: int) -> list[int]:
    """The unit and every unit draining through it, sorted by id (404 for an unknown unit)."""
    _require_unit(conn, unit_id)
    rows = conn.execute(UPSTREAM_SQL, {"unit": unit_id}).fetchall()
    return sorted(r[0] for r in rows)


def downstream_ids(conn: Connection, unit_id: int) -> list[int]:
    """The path from the unit to its outlet, in flow order, starting with the unit itself."""
    _require_unit(conn, unit_id)
    return [r[0] for r in conn.execute(DOWNSTREAM_SQL, {"unit": unit_id}).fetchall()]


def dissolve(conn: Connection, unit_ids: list[int], out_srid: int = 4326) -> Dissolved:
    """Union geometry (in `out_srid`) and its area in hectares (measured in EPSG:9377)."""
    if not unit_ids:
        return Dissolved(None, 0.0)
    geom = "g" if out_srid == 9377 else f"ST_Transform(g, {int(out_srid)})"
    decimals = 7 if out_srid in (4326, 4686) else 2
    statement = DISSOLVE_SQL.format(geom=geom, decimals=decimals)
    text, area = conn.execute(statement, {"ids": list(unit_ids)}).fetchone()
    return Dissolved(text, float(area or 0.0))


def outlet_of(conn: Connection, unit_id: int) -> int:
    """The last unit of the downstream path (the unit itself when it drains out of the layer)."""
    return downstream_ids(conn, unit_id)[-1]
