"""Every PostGIS query of the districts half of `delimitation`, in one place.

Geometries arrive as WKB (already EPSG:9377) and are computed on in 9377, so areas are
square metres (/10 000 = ha). Geometries returned to clients are GeoJSON built by PostGIS
in the output CRS the caller names. Every user value is a query parameter.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from psycopg import Connection
from shapely import wkb
from shapely.geometry.base import BaseGeometry

SRID = 9377
G = "ST_SetSRID(ST_GeomFromWKB(%(g)s), 9377)"
# Statuses whose boundaries other districts must not overlap.
ACTIVE_STATUSES = ("proposed", "in_validation", "delimited", "in_execution")


def _geojson(expression: str) -> str:
    """SQL turning a 9377 geometry into GeoJSON in %(out)s (7 decimals for degrees, 2 for m)."""
    return (
        f"ST_AsGeoJSON(ST_Transform({expression}, %(out)s::int), "
        f"CASE WHEN %(out)s::int IN (4326, 4686) THEN 7 ELSE 2 END)::json"
    )


def _params(geometry: BaseGeometry, out_srid: int, **extra: Any) -> dict:
    return {"g": wkb.dumps(geometry), "out": out_srid, **extra}


# --- geometry checks -----------------------------------------------------------------


def validity_detail(
    conn: Connection, geometry: BaseGeometry, out_srid: int
) -> tuple[bool, str | None, Any]:
    """PostGIS's verdict: valid?, the reason and the location (GeoJSON point)."""
    row = conn.execute(
        f"SELECT valid, reason, CASE WHEN location IS NULL THEN NULL ELSE "
        f"{_geojson('ST_SetSRID(location, 9377)')} END FROM ST_IsValidDetail({G})",
        _params(geometry, out_srid),
    ).fetchone()
    return row[0], row[1], row[2]


def area_ha(conn: Connection, geometry: BaseGeometry) -> float:
    """Planar area in hectares in EPSG:9377."""
    return conn.execute(f"SELECT ST_Area({G}) / 10000.0", {"g": wkb.dumps(geometry)}).fetchone()[0]


def outside_colombia(
    conn: Connection, geometry: BaseGeometry, out_srid: int
) -> tuple[int, float, Any]:
    """(departments loaded, ha outside the union of the departments it touches, geometry)."""
    row = conn.execute(
        f"""
        WITH g AS (SELECT {G} AS geom),
        d AS (SELECT ST_Union(dep.geom) AS u FROM layers_department dep, g
              WHERE ST_Intersects(dep.geom, g.geom)),
        o AS (SELECT ST_CollectionExtract(
                  CASE WHEN d.u IS NULL THEN g.geom ELSE ST_Difference(g.geom, d.u) END, 3) AS geom
              FROM g, d)
        SELECT (SELECT count(*) FROM layers_department), ST_Area(o.geom) / 10000.0,
               CASE WHEN ST_IsEmpty(o.geom) THEN NULL ELSE {_geojson("ST_Multi(o.geom)")} END
        FROM o
        """,
        _params(geometry, out_srid),
    ).fetchone()
    return row[0], row[1] or 0.0, row[2]


def overlapping_districts(
    conn: Connection, geometry: BaseGeometry, out_srid: int, exclude_code: str | None
) -> list[dict]:
    """Active districts (current boundary) overlapping the geometry: code, name, status, ha."""
    rows = conn.execute(
        f"""
        SELECT t.code, t.name, t.status, ST_Area(i.geom) / 10000.0, {_geojson("ST_Multi(i.geom)")}
        FROM delimitation_district_current t,
             LATERAL (SELECT ST_CollectionExtract(ST_Intersection(t.geom, {G}), 3) AS geom) i
        WHERE t.status = ANY(%(active)s) AND t.code IS DISTINCT FROM %(exclude)s
          AND ST_Intersects(t.geom, {G}) AND NOT ST_IsEmpty(i.geom)
        ORDER BY t.code
        """,
        _params(geometry, out_srid, active=list(ACTIVE_STATUSES), exclude=exclude_code),
    ).fetchall()
    return [
        {"code": r[0], "name": r[1], "status": r[2], "area_ha": r[3], "geometry": r[4]}
        for r in rows
    ]


# --- watersheds ----------------------------------------------------------------------


def default_hydro_choice(
    conn: Connection, geometry: BaseGeometry, preference: tuple[str, ...]
) -> tuple[str, int] | None:
    """The first system (in preference order) with units under the geometry, at its finest level."""
    rows = conn.execute(
        f"SELECT system, max(level) FROM hydrology_hydrounit WHERE ST_Intersects(geom, {G}) "
        "GROUP BY system",
        {"g": wkb.dumps(geometry)},
    ).fetchall()
    found = dict(rows)
    for system in preference:
        if system in found:
            return system, found[system]
    return (sorted(found)[0], found[sorted(found)[0]]) if found else None


def hydro_units_under(
    conn: Connection, geometry: BaseGeometry, system: str, level: int | None
) -> list[dict]:
    """Units of one system/level intersecting the geometry, with unit and included areas."""
    rows = conn.execute(
        f"""
        SELECT u.id, u.code, u.name, u.level, ST_Area(u.geom) / 10000.0,
               ST_Area(ST_Intersection(u.geom, {G})) / 10000.0
        FROM hydrology_hydrounit u
        WHERE u.system = %(system)s AND (%(level)s::int IS NULL OR u.level = %(level)s::int)
          AND ST_Intersects(u.geom, {G})
        ORDER BY u.code
        """,
        {"g": wkb.dumps(geometry), "system": system, "level": level},
    ).fetchall()
    return [
        {
            "id": r[0],
            "code": r[1],
            "name": r[2],
            "level": r[3],
            "unit_area_ha": r[4],
            "inside_ha": r[5],
        }
        for r in rows
    ]


def union_of_units(conn: Connection, unit_ids: list[int], out_srid: int) -> tuple[float, Any]:
    """(ha, GeoJSON) of the union of whole hydro units."""
    row = conn.execute(
        f"""
        SELECT ST_Area(u.geom) / 10000.0, {_geojson("u.geom")}
        FROM (SELECT ST_Multi(ST_Union(geom)) AS geom FROM hydrology_hydrounit
              WHERE id = ANY(%(ids)s)) u
        WHERE u.geom IS NOT NULL
        """,
        {"ids": unit_ids, "out": out_srid},
    ).fetchone()
    return (row[0], row[1]) if row else (0.0, None)


# --- reference layers ----------------------------------------------------------------


@dataclass(frozen=True)
class Overlay:
    """A reference table read by the validation: label columns and an optional filter."""

    table: str
    columns: str  # SQL over alias t, aliased, e.g. "t.name AS name"
    condition: str = "TRUE"


HOTSPOTS = Overlay(
    "layers_mininghotspot", "t.source AS source, t.source_id AS source_id, t.category AS category"
)
TENURES = Overlay(
    "layers_miningtenure",
    "t.expediente AS expediente, t.tenure_type AS tenure_type, t.status AS status",
)
EXCLUSION_ZONES = Overlay(
    "layers_protectedarea",
    "t.name AS name, t.category AS category",
    "t.excludes_mining",
)
ETHNIC_TERRITORIES = Overlay(
    "layers_ethnicterritory",
    "t.name AS name, t.kind AS kind, t.people AS people, t.source_id AS source_id",
)


def partly_outside(
    conn: Connection, geometry: BaseGeometry, overlay: Overlay, out_srid: int
) -> list[dict]:
    """Features touching the geometry but not covered by it: ha inside/outside, outer part."""
    rows = conn.execute(
        f"""
        SELECT row_to_json(x)::jsonb FROM (
            SELECT t.id, {overlay.columns}, ST_Area(t.geom) / 10000.0 AS area_ha,
                   ST_Area(ST_Intersection(t.geom, {G})) / 10000.0 AS inside_ha,
                   ST_Area(d.geom) / 10000.0 AS outside_ha,
                   {_geojson("ST_Multi(d.geom)")} AS geometry
            FROM {overlay.table} t,
                 LATERAL (SELECT ST_CollectionExtract(ST_Difference(t.geom, {G}), 3) AS geom) d
            WHERE ({overlay.condition}) AND ST_Intersects(t.geom, {G})
              AND NOT ST_CoveredBy(t.geom, {G})
            ORDER BY t.id
        ) x
        """,
        _params(geometry, out_srid),
    ).fetchall()
    return [r[0] for r in rows]


def inside(conn: Connection, geometry: BaseGeometry, overlay: Overlay, out_srid: int) -> list[dict]:
    """Features overlapping the geometry: ha of the feature inside it and that part."""
    rows = conn.execute(
        f"""
        SELECT row_to_json(x)::jsonb FROM (
            SELECT t.id, {overlay.columns}, ST_Area(t.geom) / 10000.0 AS area_ha,
                   ST_Area(i.geom) / 10000.0 AS inside_ha,
                   {_geojson("ST_Multi(i.geom)")} AS geometry
            FROM {overlay.table} t,
                 LATERAL (SELECT ST_CollectionExtract(ST_Intersection(t.geom, {G}), 3) AS geom) i
            WHERE ({overlay.condition}) AND ST_Intersects(t.geom, {G}) AND NOT ST_IsEmpty(i.geom)
            ORDER BY t.id
        ) x
        """,
        _params(geometry, out_srid),
    ).fetchall()
    return [r[0] for r in rows]


def municipalities_touched(conn: Connection, geometry: BaseGeometry) -> list[dict]:
    """Municipalities under the geometry: code, name, department, ha of each and ha inside."""
    rows = conn.execute(
        f"""
        SELECT m.code, m.name, m.department_id, ST_Area(m.geom) / 10000.0,
               ST_Area(ST_Intersection(m.geom, {G})) / 10000.0
        FROM layers_municipality m WHERE ST_Intersects(m.geom, {G}) ORDER BY m.code
        """,
        {"g": wkb.dumps(geometry)},
    ).fetchall()
    return [
        {"code": r[0], "name": r[1], "department": r[2], "area_ha": r[3], "inside_ha": r[4]}
        for r in rows
        if r[4] > 0
    ]


def departments_touched(conn: Connection, geometry: BaseGeometry) -> list[dict]:
    """Departments under the geometry: code, name, ha of each and ha inside."""
    rows = conn.execute(
        f"""
        SELECT d.code, d.name, ST_Area(d.geom) / 10000.0,
               ST_Area(ST_Intersection(d.geom, {G})) / 10000.0
        FROM layers_department d WHERE ST_Intersects(d.geom, {G}) ORDER BY d.code
        """,
        {"g": wkb.dumps(geometry)},
    ).fetchall()
    return [
        {"code": r[0], "name": r[1], "area_ha": r[2], "inside_ha": r[3]} for r in rows if r[3] > 0
    ]


def location_geojson(conn: Connection, geometry: BaseGeometry, out_srid: int) -> Any:
    """A 9377 shapely geometry as GeoJSON in the output CRS."""
    return conn.execute(f"SELECT {_geojson(G)}", _params(geometry, out_srid)).fetchone()[0]


# --- districts, versions, acts -------------------------------------------------------

DISTRICT_COLUMNS = (
    "id, code, name, type, status, description, revision, created_by, created_at, updated_at"
)
DISTRICT_KEYS = tuple(c.strip() for c in DISTRICT_COLUMNS.split(","))
VERSION_KEYS = (
    "id",
    "number",
    "area_ha",
    "source",
    "proposal_id",
    "author",
    "comment",
    "created_at",
    "validation",
)
ACT_KEYS = (
    "id",
    "kind",
    "number",
    "date",
    "issuer",
    "diario_oficial",
    "document_url",
    "document_file",
    "boundary_version",
    "summary",
    "created_by",
    "created_at",
)


def district_row(conn: Connection, code: str, *, lock: bool = False) -> dict | None:
    """One district row (FOR UPDATE when locking for a write)."""
    row = conn.execute(
        f"SELECT {DISTRICT_COLUMNS} FROM delimitation_district WHERE code = %s"
        + (" FOR UPDATE" if lock else ""),
        [code],
    ).fetchone()
    return dict(zip(DISTRICT_KEYS, row, strict=True)) if row else None


def insert_district(
    conn: Connection, code: str, name: str, type_: str, description: str, user: str
) -> int:
    """A new draft district; returns its id."""
    return conn.execute(
        "INSERT INTO delimitation_district (code, name, type, status, description, revision, "
        "created_by, created_at, updated_at) VALUES (%s, %s, %s, 'draft', %s, 1, %s, now(), now()) "
        "RETURNING id",
        [code, name, type_, description, user],
    ).fetchone()[0]


def update_district(conn: Connection, district_id: int, changes: dict) -> None:
    """Set the given columns (trusted names) and bump the revision."""
    sets = "".join(f"{column} = %({column})s, " for column in changes)
    conn.execute(
        f"UPDATE delimitation_district SET {sets}revision = revision + 1, updated_at = now() "
        "WHERE id = %(id)s",
        {**changes, "id": district_id},
    )


def insert_version(
    conn: Connection,
    district_id: int,
    geometry: BaseGeometry,
    source: str,
    author: str,
    comment: str,
    validation: dict,
    proposal_id: int | None,
) -> dict:
    """Append the next boundary version (number = last + 1); returns number and area."""
    row = conn.execute(
        f"""
        INSERT INTO delimitation_boundaryversion
            (district_id, number, geom, area_ha, source, proposal_id, author, comment,
             created_at, validation)
        SELECT %(d)s, coalesce(max(number), 0) + 1, ST_Multi({G}), ST_Area({G}) / 10000.0,
               %(source)s, %(proposal)s, %(author)s, %(comment)s, now(), %(validation)s::jsonb
        FROM delimitation_boundaryversion WHERE district_id = %(d)s
        RETURNING id, number, area_ha
        """,
        {
            "d": district_id,
            "g": wkb.dumps(geometry),
            "source": source,
            "proposal": proposal_id,
            "author": author,
            "comment": comment,
            "validation": json.dumps(validation, default=str),
        },
    ).fetchone()
    return {"id": row[0], "number": row[1], "area_ha": row[2]}


def versions(conn: Connection, district_id: int) -> list[dict]:
    """Every boundary version of a district, oldest first (without geometry)."""
    rows = conn.execute(
        "SELECT id, number, area_ha, source, proposal_id, author, comment, created_at, "
        "validation FROM delimitation_boundaryversion WHERE district_id = %s ORDER BY number",
        [district_id],
    ).fetchall()
    return [dict(zip(VERSION_KEYS, r, strict=True)) for r in rows]


def current_version(conn: Connection, district_id: int, out_srid: int) -> dict | None:
    """The newest version with its geometry (GeoJSON in the output CRS) and 9377 WKB."""
    row = conn.execute(
        f"SELECT id, number, area_ha, source, proposal_id, author, comment, created_at, "
        f"validation, {_geojson('geom')}, ST_AsBinary(geom) FROM delimitation_boundaryversion "
        "WHERE district_id = %(d)s ORDER BY number DESC LIMIT 1",
        {"d": district_id, "out": out_srid},
    ).fetchone()
    if row is None:
        return None
    version = dict(zip(VERSION_KEYS, row[:9], strict=True))
    version["geometry"] = row[9]
    version["shape"] = wkb.loads(bytes(row[10]))
    return version


def version_detail(conn: Connection, district_id: int, number: int, out_srid: int) -> dict | None:
    """One version with its geometry (GeoJSON in the output CRS) and the acts freezing it."""
    row = conn.execute(
        f"SELECT id, number, area_ha, source, proposal_id, author, comment, created_at, "
        f"validation, {_geojson('geom')} FROM delimitation_boundaryversion "
        "WHERE district_id = %(d)s AND number = %(n)s",
        {"d": district_id, "n": number, "out": out_srid},
    ).fetchone()
    if row is None:
        return None
    version = dict(zip(VERSION_KEYS, row[:9], strict=True))
    version["geometry"] = row[9]
    version["acts"] = [
        r[0]
        for r in conn.execute(
            "SELECT number FROM delimitation_administrativeact WHERE boundary_version_id = %s "
            "ORDER BY date, id",
            [version["id"]],
        ).fetchall()
    ]
    return version


def version_id(conn: Connection, district_id: int, number: int) -> int | None:
    """Id of version `number` of a district."""
    row = conn.execute(
        "SELECT id FROM delimitation_boundaryversion WHERE district_id = %s AND number = %s",
        [district_id, number],
    ).fetchone()
    return row[0] if row else None


def version_diff(conn: Connection, id_a: int, id_b: int, out_srid: int) -> dict:
    """Area added (in b, not in a) and removed (in a, not in b): geometries and ha."""
    row = conn.execute(
        f"""
        WITH a AS (SELECT geom FROM delimitation_boundaryversion WHERE id = %(a)s),
             b AS (SELECT geom FROM delimitation_boundaryversion WHERE id = %(b)s),
             d AS (SELECT ST_CollectionExtract(ST_Difference(b.geom, a.geom), 3) AS added,
                          ST_CollectionExtract(ST_Difference(a.geom, b.geom), 3) AS removed,
                          ST_Area(a.geom) / 10000.0 AS area_a, ST_Area(b.geom) / 10000.0 AS area_b
                   FROM a, b)
        SELECT area_a, area_b, ST_Area(added) / 10000.0, ST_Area(removed) / 10000.0,
               {_geojson("ST_Multi(added)")}, {_geojson("ST_Multi(removed)")}
        FROM d
        """,
        {"a": id_a, "b": id_b, "out": out_srid},
    ).fetchone()
    return {
        "area_a_ha": row[0],
        "area_b_ha": row[1],
        "added_ha": row[2],
        "removed_ha": row[3],
        "added": row[4],
        "removed": row[5],
    }


def insert_act(conn: Connection, district_id: int, version_id_: int, act: dict, user: str) -> int:
    """A new administrative act freezing one version; returns its id."""
    return conn.execute(
        "INSERT INTO delimitation_administrativeact (district_id, kind, number, date, issuer, "
        "diario_oficial, document_url, document_file, boundary_version_id, summary, created_by, "
        "created_at) VALUES (%(d)s, %(kind)s, %(number)s, %(date)s, %(issuer)s, "
        "%(diario_oficial)s, %(document_url)s, %(document_file)s, %(v)s, %(summary)s, %(user)s, "
        "now()) RETURNING id",
        {**act, "d": district_id, "v": version_id_, "user": user},
    ).fetchone()[0]


def acts(conn: Connection, district_id: int) -> list[dict]:
    """The district's acts, oldest first, with the version number each froze."""
    rows = conn.execute(
        "SELECT a.id, a.kind, a.number, a.date, a.issuer, a.diario_oficial, a.document_url, "
        "a.document_file, v.number, a.summary, a.created_by, a.created_at "
        "FROM delimitation_administrativeact a "
        "JOIN delimitation_boundaryversion v ON v.id = a.boundary_version_id "
        "WHERE a.district_id = %s ORDER BY a.date, a.id",
        [district_id],
    ).fetchall()
    return [dict(zip(ACT_KEYS, r, strict=True)) for r in rows]


def act_number_taken(conn: Connection, issuer: str, number: str) -> bool:
    """True when the issuer already has an act with this number."""
    return (
        conn.execute(
            "SELECT 1 FROM delimitation_administrativeact WHERE issuer = %s AND number = %s",
            [issuer, number],
        ).fetchone()
        is not None
    )
