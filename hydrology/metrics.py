"""Per-unit water metrics, computed in PostGIS and cached in `hydrology_unitwatermetrics`.

River length by Strahler order (km), water intakes, páramo and wetland area (ha) and the share
of the unit under protected areas. A cached row is stale when any import batch of the layers
it is made of has changed since (the per-layer revisions of `layers.revisions`, bumped by
triggers on any write); stale and missing rows are recomputed on read.
"""

from __future__ import annotations

from collections.abc import Iterable

from psycopg import Connection
from psycopg.types.json import Jsonb

from layers.revisions import revisions

# Layers whose writes make cached metrics stale.
SOURCE_LAYERS = ("hydro_units", "rivers", "water_intakes", "protected_areas")
PARAMO_CATEGORIES = ("paramo",)
WETLAND_CATEGORIES = ("humedal_ramsar", "humedal")
# Ley 2ª de 1959 forest reserves are a land-use zoning, not protected areas of the SINAP: they
# cover half the country and would make every share meaningless.
NOT_PROTECTED_CATEGORIES = ("ley2_a", "ley2_b", "ley2_c")
# Units are cut into pieces of at most this many vertices so each intersection stays small.
SUBDIVIDE_VERTICES = 256
CHUNK = 200

COMPUTE_SQL = """
WITH units AS (
    SELECT id, geom, ST_Area(geom) AS area FROM hydrology_hydrounit WHERE id = ANY(%(ids)s)
), pieces AS (
    SELECT id, row_number() OVER () AS piece, g
    FROM (SELECT id, ST_Subdivide(geom, %(vertices)s) AS g FROM units) s
), river_parts AS (
    SELECT pc.id, COALESCE(r.strahler_order::text, 'sin_orden') AS ord,
           sum(CASE WHEN ST_CoveredBy(r.geom, pc.g) THEN ST_Length(r.geom)
                    ELSE ST_Length(ST_Intersection(r.geom, pc.g)) END) / 1000.0 AS km
    FROM pieces pc JOIN hydrology_river r ON r.geom && pc.g AND ST_Intersects(r.geom, pc.g)
    GROUP BY 1, 2
), rivers AS (
    SELECT id, jsonb_object_agg(ord, round(km::numeric, 3)) AS by_order, sum(km) AS km
    FROM river_parts WHERE km > 0 GROUP BY id
), intakes AS (
    SELECT u.id, count(*) AS n
    FROM units u JOIN hydrology_waterintake w ON w.geom && u.geom AND ST_Intersects(u.geom, w.geom)
    GROUP BY u.id
), protected_parts AS (
    -- Overlapping areas (a páramo inside a park) are unioned per piece before measuring.
    SELECT pc.id, k.kind, ST_Area(ST_UnaryUnion(ST_Collect(ST_Intersection(pc.g, p.geom)))) AS m2
    FROM pieces pc
    JOIN layers_protectedarea p ON p.geom && pc.g AND ST_Intersects(p.geom, pc.g)
    CROSS JOIN LATERAL unnest(ARRAY[
        CASE WHEN p.category = ANY(%(paramo)s) THEN 'paramo' END,
        CASE WHEN p.category = ANY(%(wetland)s) THEN 'wetland' END,
        CASE WHEN NOT p.category = ANY(%(not_protected)s) THEN 'protected' END
    ]) AS k(kind)
    WHERE k.kind IS NOT NULL
    GROUP BY pc.id, pc.piece, k.kind
), protected AS (
    SELECT id,
           sum(m2) FILTER (WHERE kind = 'paramo') AS paramo,
           sum(m2) FILTER (WHERE kind = 'wetland') AS wetland,
           sum(m2) FILTER (WHERE kind = 'protected') AS protected
    FROM protected_parts GROUP BY id
)
INSERT INTO hydrology_unitwatermetrics AS m (
    unit_id, river_km_by_order, river_km, intakes, paramo_ha, wetland_ha, protected_ha,
    protected_share, computed_at, source_revisions)
SELECT u.id, COALESCE(r.by_order, '{}'::jsonb), COALESCE(r.km, 0), COALESCE(i.n, 0),
       COALESCE(p.paramo, 0) / 10000.0, COALESCE(p.wetland, 0) / 10000.0,
       COALESCE(p.protected, 0) / 10000.0,
       CASE WHEN u.area > 0 THEN least(1.0, COALESCE(p.protected, 0) / u.area) ELSE 0 END,
       clock_timestamp(), %(revisions)s::jsonb
FROM units u
LEFT JOIN rivers r ON r.id = u.id
LEFT JOIN intakes i ON i.id = u.id
LEFT JOIN protected p ON p.id = u.id
ON CONFLICT (unit_id) DO UPDATE SET
    river_km_by_order = EXCLUDED.river_km_by_order, river_km = EXCLUDED.river_km,
    intakes = EXCLUDED.intakes, paramo_ha = EXCLUDED.paramo_ha,
    wetland_ha = EXCLUDED.wetland_ha, protected_ha = EXCLUDED.protected_ha,
    protected_share = EXCLUDED.protected_share, computed_at = EXCLUDED.computed_at,
    source_revisions = EXCLUDED.source_revisions
"""

STALE_SQL = """
SELECT u.id
FROM hydrology_hydrounit u
LEFT JOIN hydrology_unitwatermetrics m ON m.unit_id = u.id
WHERE u.id = ANY(%(ids)s)
  AND (m.unit_id IS NULL OR m.source_revisions <> %(revisions)s::jsonb)
"""

READ_SQL = """
SELECT m.unit_id, m.river_km_by_order, m.river_km, m.intakes, m.paramo_ha, m.wetland_ha,
       m.protected_ha, m.protected_share, m.computed_at, u.area_ha
FROM hydrology_unitwatermetrics m JOIN hydrology_hydrounit u ON u.id = m.unit_id
WHERE m.unit_id = ANY(%(ids)s)
"""


def compute_water_metrics(conn: Connection, unit_ids: Iterable[int]) -> int:
    """Recompute and cache the metrics of these units; returns how many rows were written."""
    ids = sorted(set(unit_ids))
    # Read before computing: a write racing with us leaves the row stale, never wrongly fresh.
    current = Jsonb(revisions(conn, SOURCE_LAYERS))
    written = 0
    for start in range(0, len(ids), CHUNK):
        cur = conn.execute(
            COMPUTE_SQL,
            {
                "ids": ids[start : start + CHUNK],
                "vertices": SUBDIVIDE_VERTICES,
                "paramo": list(PARAMO_CATEGORIES),
                "wetland": list(WETLAND_CATEGORIES),
                "not_protected": list(NOT_PROTECTED_CATEGORIES),
                "revisions": current,
            },
        )
        written += cur.rowcount
    return written


def stale_units(conn: Connection, unit_ids: Iterable[int]) -> list[int]:
    """Units among these whose cached metrics are missing or older than their source layers."""
    current = Jsonb(revisions(conn, SOURCE_LAYERS))
    rows = conn.execute(STALE_SQL, {"ids": sorted(set(unit_ids)), "revisions": current}).fetchall()
    return [r[0] for r in rows]


def invalidate_water_metrics(conn: Connection, unit_ids: Iterable[int] | None = None) -> int:
    """Drop cached metrics (of these units, or all), e.g. after a category table changes."""
    if unit_ids is None:
        return conn.execute("DELETE FROM hydrology_unitwatermetrics").rowcount
    ids = sorted(set(unit_ids))
    return conn.execute(
        "DELETE FROM hydrology_unitwatermetrics WHERE unit_id = ANY(%s)", [ids]
    ).rowcount


def unit_water_metrics(conn: Connection, unit_ids: Iterable[int]) -> dict[int, dict]:
    """Water metrics per unit id, computed for missing or stale units; unknown ids are absent."""
    ids = sorted(set(unit_ids))
    if not ids:
        return {}
    stale = stale_units(conn, ids)
    if stale:
        compute_water_metrics(conn, stale)
    result: dict[int, dict] = {}
    for row in conn.execute(READ_SQL, {"ids": ids}).fetchall():
        unit_id, by_order, river_km, intakes, paramo, wetland, protected, share, at, area = row
        result[unit_id] = {
            "river_km_by_order": {k: float(v) for k, v in sorted(by_order.items(), key=_order)},
            "river_km": round(river_km, 3),
            "intakes": intakes,
            "paramo_ha": round(paramo, 2),
            "wetland_ha": round(wetland, 2),
            "protected_ha": round(protected, 2),
            "protected_share": round(share, 4),
            "area_ha": area,
            "computed_at": at.isoformat(),
        }
    return result


def _order(item: tuple[str, object]) -> tuple[int, str]:
    """Numeric Strahler orders first, in order, then 'sin_orden'."""
    key = item[0]
    return (int(key), "") if key.isdigit() else (10_000, key)
