"""The proposal engine: ranked districts built from whole hydro units around mining pressure.

Steps (issue 4):
1. units of the chosen hydrographic system/level intersecting the study area (units with less
   than `min_unit_overlap` of their area inside are slivers of mismatched boundaries: left out);
2. per-unit figures in ONE set-based PostGIS query in EPSG:9377 (`UNIT_FIGURES_SQL`), plus the
   cached water metrics (`hydrology.metrics`) and aptitude class areas from every aptitude
   raster (`geo.zonal`, exact partial-cell coverage);
3. seeds: units whose mining pressure passes the threshold (formula in `parameters`);
4. alternatives grown along the drainage graph (`alternatives`), unions of whole units;
5. metrics per alternative, score and rank;
6. the run and its proposals are stored; the `proposals` layer publishes them.

Determinism: units are always read and unioned in id order, parameters are normalised before
they are stored, and ties break on ids, so the same request on the same data gives the same
geometries and figures.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from psycopg import Connection
from psycopg.types.json import Jsonb
from shapely import wkb

from delimitation.alternatives import Alternative, Growth, adjacency_alternatives
from delimitation.alternatives import drainage_alternatives as grow_along_drainage
from delimitation.parameters import ProposalParameters, parse_parameters
from geo.errors import InvalidInput, NotFound, Unprocessable
from geo.geojson_input import parse_geojson
from hydrology.topology import DrainageNetwork, drainage_graph

Progress = Callable[[float, str], None]
HYDRO_SYSTEMS = ("ideam", "pomca", "watershed", "hydrobasins", "derived")
EXECUTION_MODES = ("auto", "inline", "background")
REQUEST_KEYS = {"study_area", "hydro_system", "hydro_level", "parameters", "execution"}
# Study-area pieces of at most this many vertices: each unit only meets a few small pieces.
SUBDIVIDE_VERTICES = 64
# Municipal outlines are cut into pieces of at most this many vertices before the per-unit
# overlay (measured on Antioquia: 256 halves the time of 64 and of whole outlines).
MUNICIPALITY_PIECE_VERTICES = 256
# Shared boundary (m) from which two units without drainage count as neighbours; published
# layers leave gaps and overlaps of a few metres at their seams.
ADJACENCY_TOLERANCE_M = 50.0
ADJACENCY_MIN_SHARED_M = 500.0


@dataclass(frozen=True)
class ProposalRequest:
    """A validated request: what area, which units, which parameters, how to execute."""

    study_area: dict[str, Any]
    hydro_system: str
    hydro_level: int | None
    parameters: ProposalParameters
    execution: str = "auto"


def _codes(value: Any, name: str, length: int) -> list[str]:
    if (
        not isinstance(value, list)
        or not value
        or not all(isinstance(c, str) and c.isdigit() and len(c) == length for c in value)
    ):
        raise InvalidInput(
            f"'study_area.{name}' debe ser una lista no vacía de códigos DIVIPOLA de {length} "
            "dígitos, como texto.",
            where=f"study_area.{name}",
        )
    return sorted(set(value))


def parse_request(body: Any) -> ProposalRequest:
    """Validate a POST /api/v1/proposals body; unknown keys and bad values are a Spanish 400."""
    if not isinstance(body, dict):
        raise InvalidInput("El cuerpo debe ser un objeto JSON.")
    unknown = sorted(set(body) - REQUEST_KEYS)
    if unknown:
        raise InvalidInput(
            f"Campos desconocidos: {', '.join(unknown)}. Campos válidos: "
            f"{', '.join(sorted(REQUEST_KEYS))}.",
            where=unknown[0],
        )
    area = body.get("study_area")
    kinds = ("municipalities", "departments", "geometry")
    if not isinstance(area, dict) or len([k for k in kinds if k in area]) != 1:
        raise InvalidInput(
            "'study_area' debe tener exactamente uno de: municipalities, departments, geometry.",
            where="study_area",
        )
    extra = sorted(set(area) - {*kinds, "crs"})
    if extra:
        raise InvalidInput(
            f"Campos desconocidos en 'study_area': {', '.join(extra)}.", where="study_area"
        )
    if "municipalities" in area:
        spec: dict[str, Any] = {
            "municipalities": _codes(area["municipalities"], "municipalities", 5)
        }
    elif "departments" in area:
        spec = {"departments": _codes(area["departments"], "departments", 2)}
    else:
        parsed = parse_geojson(area["geometry"], area.get("crs"), polygonal_only=True)
        spec = {"geometry": area["geometry"], "crs": f"EPSG:{parsed.source_srid}"}
    system = body.get("hydro_system", "pomca")
    if system not in HYDRO_SYSTEMS:
        raise InvalidInput(
            f"Sistema hidrográfico desconocido: {system!r}. Válidos: {', '.join(HYDRO_SYSTEMS)}.",
            where="hydro_system",
        )
    level = body.get("hydro_level")
    if level is not None and (isinstance(level, bool) or not isinstance(level, int)):
        raise InvalidInput("'hydro_level' debe ser un entero o null.", where="hydro_level")
    execution = body.get("execution", "auto")
    if execution not in EXECUTION_MODES:
        raise InvalidInput(
            f"'execution' debe ser uno de: {', '.join(EXECUTION_MODES)}.", where="execution"
        )
    return ProposalRequest(spec, system, level, parse_parameters(body.get("parameters")), execution)


# --- step 0: the run row and its study area ---------------------------------------------


def _study_area_wkb(conn: Connection, spec: dict[str, Any]) -> bytes:
    """The study area as one valid MultiPolygon in EPSG:9377 (WKB), or a 400 naming what's wrong."""
    if "geometry" in spec:
        parsed = parse_geojson(spec["geometry"], spec.get("crs"), polygonal_only=True)
        row = conn.execute(
            "SELECT ST_AsBinary(ST_Multi(ST_CollectionExtract(ST_MakeValid("
            "ST_GeomFromWKB(%s, 9377)), 3)))",
            [wkb.dumps(parsed.geometry)],
        ).fetchone()
        return bytes(row[0])
    table, key = (
        ("layers_municipality", "municipalities")
        if "municipalities" in spec
        else ("layers_department", "departments")
    )
    codes = spec[key]
    found = {
        r[0]
        for r in conn.execute(f"SELECT code FROM {table} WHERE code = ANY(%s)", [codes]).fetchall()
    }
    missing = [c for c in codes if c not in found]
    if missing:
        what = "Municipios" if key == "municipalities" else "Departamentos"
        raise InvalidInput(f"{what} desconocidos: {', '.join(missing)}.", where=f"study_area.{key}")
    # One unit is its own geometry; several are dissolved (their shared borders vanish).
    union = (
        "ST_Multi(ST_UnaryUnion(ST_Collect(geom ORDER BY code)))"
        if len(codes) > 1
        else "(array_agg(geom))[1]"
    )
    row = conn.execute(
        f"SELECT ST_AsBinary({union}) FROM {table} WHERE code = ANY(%s)", [codes]
    ).fetchone()
    return bytes(row[0])


def resolve_level(conn: Connection, system: str, level: int | None) -> int:
    """The requested level, or the finest level of the system when none is given."""
    row = conn.execute(
        "SELECT max(level), bool_or(level = %s) FROM hydrology_hydrounit WHERE system = %s",
        [level, system],
    ).fetchone()
    if row[0] is None:
        raise Unprocessable(
            f"No hay unidades hidrográficas del sistema '{system}' cargadas.",
            where="hydro_system",
        )
    if level is None:
        return int(row[0])
    if not row[1]:
        raise Unprocessable(
            f"El sistema '{system}' no tiene unidades de nivel {level}.", where="hydro_level"
        )
    return level


CANDIDATES_SQL = """
WITH area AS MATERIALIZED (
    SELECT study_area AS g FROM delimitation_proposalrun WHERE id = %(run)s
), pieces AS MATERIALIZED (
    SELECT ST_Subdivide(g, %(vertices)s) AS g FROM area
), hits AS MATERIALIZED (
    -- Subdivided pieces partition the area: summing the overlaps per piece is the overlap.
    SELECT u.id, ST_Area(u.geom) AS area,
           sum(CASE WHEN ST_CoveredBy(u.geom, p.g) THEN ST_Area(u.geom)
                    ELSE ST_Area(ST_Intersection(u.geom, p.g)) END) AS inside
    FROM hydrology_hydrounit u JOIN pieces p ON ST_Intersects(u.geom, p.g)
    WHERE u.system = %(system)s AND u.level = %(level)s
    GROUP BY u.id
)
SELECT id FROM hits WHERE inside >= %(min_overlap)s * area ORDER BY id
"""


def _no_jit(conn: Connection) -> None:
    # Overlay statements have huge cost estimates, so PostgreSQL JIT-compiles them: ~0.35 s
    # of LLVM work per statement that then runs in milliseconds. Off for this session.
    conn.execute("SET jit = off")


def create_run(conn: Connection, request: ProposalRequest, user: str = "") -> tuple[int, int]:
    """Store a queued run with its resolved study area; returns (run id, estimated units)."""
    _no_jit(conn)
    level = resolve_level(conn, request.hydro_system, request.hydro_level)
    area = _study_area_wkb(conn, request.study_area)
    params = request.parameters.to_json()
    run_id = conn.execute(
        """
        INSERT INTO delimitation_proposalrun
            (parameters, study_area_spec, study_area, hydro_system, hydro_level, status,
             progress, message, "user", timings, created_at)
        VALUES (%s, %s, ST_Multi(ST_GeomFromWKB(%s, 9377)), %s, %s, 'queued', 0, '', %s, '{}',
                now())
        RETURNING id
        """,
        [Jsonb(params), Jsonb(request.study_area), area, request.hydro_system, level, user],
    ).fetchone()[0]
    return run_id, estimate_units(conn, run_id)


def estimate_units(conn: Connection, run_id: int) -> int:
    """Units whose box meets the study area's box: an upper bound, in milliseconds."""
    row = conn.execute(
        """
        SELECT count(*) FROM hydrology_hydrounit u, delimitation_proposalrun r
        WHERE r.id = %s AND u.system = r.hydro_system AND u.level = r.hydro_level
          AND u.geom && r.study_area
        """,
        [run_id],
    ).fetchone()
    return int(row[0])


def candidate_units(conn: Connection, run_id: int) -> list[int]:
    """Step 1: ids of the units of the run's system/level inside its study area."""
    run = _run_row(conn, run_id)
    params = parse_parameters(run["parameters"])
    rows = conn.execute(
        CANDIDATES_SQL,
        {
            "run": run_id,
            "vertices": SUBDIVIDE_VERTICES,
            "system": run["hydro_system"],
            "level": run["hydro_level"],
            "min_overlap": params.min_unit_overlap,
        },
    ).fetchall()
    return [r[0] for r in rows]


# --- step 2: per-unit figures -------------------------------------------------------------

# One statement: every overlay of every unit, grouped in PostgreSQL, joined back per unit.
# Partial overlaps are clipped; features wholly inside a unit keep their own area (no clip).
UNIT_FIGURES_SQL = """
WITH units AS MATERIALIZED (
    SELECT id, geom, ST_Area(geom) / 10000.0 AS unit_ha
    FROM hydrology_hydrounit WHERE id = ANY(%(ids)s)
), ten AS MATERIALIZED (
    SELECT u.id AS unit_id, t.id AS tid, t.tenure_type, t.status,
           (t.tenure_type = ANY(%(tenure_types)s)
            AND (cardinality(%(tenure_statuses)s::text[]) = 0
                 OR lower(t.status) = ANY(%(tenure_statuses)s))) AS counted,
           CASE WHEN ST_CoveredBy(t.geom, u.geom) THEN t.geom
                ELSE ST_Intersection(t.geom, u.geom) END AS g
    FROM units u JOIN layers_miningtenure t ON ST_Intersects(t.geom, u.geom)
), ten_by AS (
    SELECT unit_id, jsonb_object_agg(tenure_type || '|' || status,
                                     jsonb_build_object('ha', ha, 'count', n)) AS by_kind
    FROM (SELECT unit_id, tenure_type, status, sum(ST_Area(g)) / 10000.0 AS ha, count(*) AS n
          FROM ten GROUP BY 1, 2, 3) s
    GROUP BY unit_id
), ten_overlap AS (
    -- Counted pieces overlapping another counted piece of the same unit: only those are
    -- dissolved (a union is costly; most tenures overlap nothing and are simply summed).
    SELECT DISTINCT a.unit_id, a.tid FROM ten a JOIN ten b
      ON a.unit_id = b.unit_id AND a.tid <> b.tid AND a.g && b.g
    WHERE a.counted AND b.counted AND ST_Relate(a.g, b.g, '2********')
), ten_counted AS (
    SELECT t.unit_id,
           (coalesce(sum(ST_Area(t.g)) FILTER (WHERE o.tid IS NULL), 0)
            + coalesce(ST_Area(ST_UnaryUnion(ST_Collect(t.g) FILTER (WHERE o.tid IS NOT NULL))),
                       0)) / 10000.0 AS ha,
           count(*) AS n
    FROM ten t LEFT JOIN ten_overlap o ON o.unit_id = t.unit_id AND o.tid = t.tid
    WHERE t.counted GROUP BY t.unit_id
), hot AS MATERIALIZED (
    SELECT u.id AS unit_id, h.id AS hid, h.category,
           h.category = ANY(%(hotspot_categories)s) AS counted,
           CASE WHEN ST_CoveredBy(h.geom, u.geom) THEN h.geom
                ELSE ST_Intersection(h.geom, u.geom) END AS g
    FROM units u JOIN layers_mininghotspot h ON ST_Intersects(h.geom, u.geom)
), hot_by AS (
    SELECT unit_id, jsonb_object_agg(category, jsonb_build_object('ha', ha, 'count', n)) AS by_kind
    FROM (SELECT unit_id, category, sum(ST_Area(g)) / 10000.0 AS ha, count(*) AS n
          FROM hot GROUP BY 1, 2) s
    GROUP BY unit_id
), hot_overlap AS (
    SELECT DISTINCT a.unit_id, a.hid FROM hot a JOIN hot b
      ON a.unit_id = b.unit_id AND a.hid <> b.hid AND a.g && b.g
    WHERE a.counted AND b.counted AND ST_Relate(a.g, b.g, '2********')
), hot_counted AS (
    SELECT h.unit_id,
           (coalesce(sum(ST_Area(h.g)) FILTER (WHERE o.hid IS NULL), 0)
            + coalesce(ST_Area(ST_UnaryUnion(ST_Collect(h.g) FILTER (WHERE o.hid IS NOT NULL))),
                       0)) / 10000.0 AS ha,
           count(*) AS n
    FROM hot h LEFT JOIN hot_overlap o ON o.unit_id = h.unit_id AND o.hid = h.hid
    WHERE h.counted GROUP BY h.unit_id
), prot AS (
    SELECT u.id AS unit_id, p.category, p.excludes_mining,
           ST_Area(CASE WHEN ST_CoveredBy(p.geom, u.geom) THEN p.geom
                        ELSE ST_Intersection(p.geom, u.geom) END) / 10000.0 AS ha
    FROM units u JOIN layers_protectedarea p ON ST_Intersects(p.geom, u.geom)
), prot_by AS (
    SELECT unit_id, jsonb_object_agg(category, ha) AS by_category,
           sum(ha) FILTER (WHERE excludes) AS exclusion_ha
    FROM (SELECT unit_id, category, bool_or(excludes_mining) AS excludes, sum(ha) AS ha
          FROM prot GROUP BY 1, 2) s
    GROUP BY unit_id
), eth AS (
    SELECT unit_id, sum(ha) AS ha, jsonb_agg(name ORDER BY name) AS names
    FROM (SELECT u.id AS unit_id, e.name,
                 ST_Area(ST_Intersection(e.geom, u.geom)) / 10000.0 AS ha
          FROM units u JOIN layers_ethnicterritory e ON ST_Intersects(e.geom, u.geom)) s
    WHERE ha > 0
    GROUP BY unit_id
), mun_pieces AS MATERIALIZED (
    -- Municipal outlines have thousands of vertices and each meets several units: cut into
    -- small pieces once (only those near the units), every overlay is then small and cheap.
    SELECT m.code, ST_Subdivide(m.geom, %(municipality_vertices)s) AS geom
    FROM layers_municipality m
    WHERE m.geom && (SELECT ST_Extent(geom)::geometry FROM units)
), mun AS (
    SELECT unit_id, jsonb_object_agg(code, ha) AS by_code
    FROM (SELECT u.id AS unit_id, p.code,
                 sum(ST_Area(CASE WHEN ST_CoveredBy(p.geom, u.geom) THEN p.geom
                                  WHEN ST_CoveredBy(u.geom, p.geom) THEN u.geom
                                  ELSE ST_Intersection(p.geom, u.geom) END)) / 10000.0 AS ha
          FROM mun_pieces p JOIN hydrology_hydrounit u
            ON u.geom && p.geom AND ST_Intersects(p.geom, u.geom)
          WHERE u.id = ANY(%(ids)s)
          GROUP BY 1, 2) s
    WHERE ha > 0
    GROUP BY unit_id
)
SELECT u.id, u.unit_ha,
       coalesce(tb.by_kind, '{}'), coalesce(tc.ha, 0), coalesce(tc.n, 0),
       coalesce(hb.by_kind, '{}'), coalesce(hc.ha, 0), coalesce(hc.n, 0),
       coalesce(pb.by_category, '{}'), coalesce(pb.exclusion_ha, 0),
       coalesce(e.ha, 0), coalesce(e.names, '[]'),
       coalesce(m.by_code, '{}')
FROM units u
LEFT JOIN ten_by tb ON tb.unit_id = u.id
LEFT JOIN ten_counted tc ON tc.unit_id = u.id
LEFT JOIN hot_by hb ON hb.unit_id = u.id
LEFT JOIN hot_counted hc ON hc.unit_id = u.id
LEFT JOIN prot_by pb ON pb.unit_id = u.id
LEFT JOIN eth e ON e.unit_id = u.id
LEFT JOIN mun m ON m.unit_id = u.id
ORDER BY u.id
"""


def unit_figures(
    conn: Connection, unit_ids: list[int], params: ProposalParameters
) -> dict[int, dict[str, Any]]:
    """Step 2 without rasters and water: the vector figures of each unit, keyed by unit id."""
    rows = conn.execute(
        UNIT_FIGURES_SQL,
        {
            "ids": unit_ids,
            "tenure_types": list(params.tenure_types),
            "tenure_statuses": [s.lower() for s in params.tenure_statuses],
            "hotspot_categories": list(params.hotspot_categories),
            "municipality_vertices": MUNICIPALITY_PIECE_VERTICES,
        },
    ).fetchall()
    figures: dict[int, dict[str, Any]] = {}
    for r in rows:
        unit_ha = r[1]
        figures[r[0]] = {
            "area_ha": unit_ha,
            "tenures_by_type_status": {k: r[2][k] for k in sorted(r[2])},
            "tenure_ha": r[3],
            "tenure_count": r[4],
            "hotspots_by_category": {k: r[5][k] for k in sorted(r[5])},
            "hotspot_ha": r[6],
            "hotspot_count": r[7],
            "protected_ha_by_category": {k: r[8][k] for k in sorted(r[8])},
            "exclusion_ha": r[9],
            "ethnic_ha": r[10],
            "ethnic_names": r[11],
            "municipalities_ha": {k: r[12][k] for k in sorted(r[12])},
            "pressure": pressure(r[6], r[3], unit_ha, params),
        }
    return figures


def pressure(hotspot_ha: float, tenure_ha: float, unit_ha: float, p: ProposalParameters) -> float:
    """Mining pressure of a unit (formula in `delimitation.parameters`)."""
    if unit_ha <= 0:
        return 0.0
    return (p.hotspot_weight * hotspot_ha + p.tenure_weight * tenure_ha) / unit_ha


def aptitude_rasters(conn: Connection) -> list[dict[str, Any]]:
    """Every catalogued aptitude raster (name, path, class table), in name order."""
    rows = conn.execute(
        "SELECT name, title, path, class_table, nodata FROM layers_rasterlayer "
        "WHERE theme = 'aptitude' ORDER BY name"
    ).fetchall()
    return [
        {"name": r[0], "title": r[1], "path": r[2], "class_table": r[3], "nodata": r[4]}
        for r in rows
    ]


def unit_geometries(conn: Connection, unit_ids: list[int]) -> dict[int, Any]:
    """Shapely geometries (EPSG:9377) of units, by id."""
    rows = conn.execute(
        "SELECT id, ST_AsBinary(geom) FROM hydrology_hydrounit WHERE id = ANY(%s) ORDER BY id",
        [unit_ids],
    ).fetchall()
    return {r[0]: wkb.loads(bytes(r[1])) for r in rows}


def _raster_path(raster: dict[str, Any], data_dir: Path | None) -> Path:
    path = Path(raster["path"])
    if not path.is_absolute() and data_dir is not None:
        path = data_dir / path
    return path


def unit_aptitude(
    conn: Connection,
    unit_ids: list[int],
    data_dir: Path | None,
    geometries: dict[int, Any] | None = None,
    rasters: list[dict[str, Any]] | None = None,
) -> dict[int, dict[str, dict[str, float]]]:
    """Class areas (ha) per unit and aptitude raster: {unit: {raster: {class: ha}}}."""
    rasters = aptitude_rasters(conn) if rasters is None else rasters
    result: dict[int, dict[str, dict[str, float]]] = {u: {} for u in unit_ids}
    if not rasters or not unit_ids:
        return result
    from geo import zonal

    geometries = geometries or unit_geometries(conn, unit_ids)
    ids = sorted(geometries)
    geoms = [geometries[u] for u in ids]
    for raster in rasters:
        path = _raster_path(raster, data_dir)
        if not path.exists():
            continue
        labels = _class_labels(raster["class_table"])
        coverages = zonal.class_coverage(path, geoms, polygons_crs="EPSG:9377")
        for unit_id, geom, cov in zip(ids, geoms, coverages, strict=True):
            # Shares of the valid covered area times that area in 9377: ha whatever the
            # raster's own CRS.
            covered_ha = geom.area * cov.covered_fraction / 10000.0
            result[unit_id][raster["name"]] = {
                labels.get(value, str(value)): frac * covered_ha
                for value, frac in cov.fractions.items()
            }
    return result


def _class_labels(table: Any) -> dict[int, str]:
    """Class value -> key from a class table ([{"value", "code"|"label"|"name"}...])."""
    labels: dict[int, str] = {}
    for item in table or []:
        if isinstance(item, dict) and "value" in item:
            # The stable class code when the table has one; its label otherwise.
            label = item.get("code") or item.get("label") or item.get("name")
            if label:
                labels[int(item["value"])] = str(label)
    return labels


# --- the per-unit figures cache ------------------------------------------------------------

# Layers whose writes change per-unit figures (their revisions are part of the fingerprint).
FIGURE_LAYERS = (
    "hydro_units",
    "mining_tenures",
    "mining_hotspots",
    "protected_areas",
    "ethnic_territories",
    "municipalities",
)


def figures_fingerprint(conn: Connection, params: ProposalParameters, data_dir: Path | None) -> str:
    """What per-unit figures depend on: layer revisions, aptitude rasters, counting rules."""
    from layers.revisions import revisions

    rasters = []
    for raster in aptitude_rasters(conn):
        path = _raster_path(raster, data_dir)
        stat = path.stat() if path.exists() else None
        rasters.append(
            [
                raster["name"],
                str(path),
                stat.st_size if stat else 0,
                stat.st_mtime_ns if stat else 0,
            ]
        )
    key = {
        "revisions": revisions(conn, FIGURE_LAYERS),
        "rasters": rasters,
        "tenure_types": list(params.tenure_types),
        "tenure_statuses": list(params.tenure_statuses),
        "hotspot_categories": list(params.hotspot_categories),
        "weights": [params.hotspot_weight, params.tenure_weight],
    }
    return hashlib.sha256(json.dumps(key, sort_keys=True).encode()).hexdigest()


def cached_unit_figures(
    conn: Connection, ids: list[int], params: ProposalParameters, data_dir: Path | None
) -> tuple[dict[int, dict[str, Any]], int]:
    """Step 2 for every unit: read fresh cached figures, compute and store the missing ones.

    Returns the figures by unit and how many units had to be computed. The vector overlays
    run in PostgreSQL while the aptitude zonal statistics run here on another thread.
    """
    fingerprint = figures_fingerprint(conn, params, data_dir)
    figures: dict[int, dict[str, Any]] = {
        r[0]: r[1]
        for r in conn.execute(
            "SELECT unit_id, figures FROM delimitation_unitfigures "
            "WHERE fingerprint = %s AND unit_id = ANY(%s)",
            [fingerprint, ids],
        ).fetchall()
    }
    missing = [u for u in ids if u not in figures]
    if missing:
        geometries = unit_geometries(conn, missing)
        rasters = aptitude_rasters(conn)
        with ThreadPoolExecutor(max_workers=1) as pool:
            # The thread never touches `conn` (geometries and rasters are read above).
            aptitude = pool.submit(unit_aptitude, conn, missing, data_dir, geometries, rasters)
            computed = unit_figures(conn, missing, params)
            for unit_id, classes in aptitude.result().items():
                computed[unit_id]["aptitude"] = classes
        with conn.cursor() as cur:
            cur.executemany(
                "INSERT INTO delimitation_unitfigures (unit_id, fingerprint, figures) "
                "VALUES (%s, %s, %s) ON CONFLICT DO NOTHING",
                [(u, fingerprint, Jsonb(computed[u])) for u in missing],
            )
        # Through JSON like the cached ones, so a cold and a warm run give identical numbers.
        figures.update({u: json.loads(json.dumps(computed[u])) for u in missing})
    return {u: figures[u] for u in ids}, len(missing)


def precompute_unit_figures(
    conn: Connection,
    data_dir: Path | None,
    system: str | None = None,
    level: int | None = None,
    chunk: int = 500,
) -> list[dict[str, Any]]:
    """Fill the per-unit figures cache for every unit (default counting rules), so the first
    proposal run after a data change reads them instead of overlaying; returns per system and
    level how many units there are and how many were computed now."""
    _no_jit(conn)
    params = parse_parameters({})
    rows = conn.execute(
        "SELECT system, level, array_agg(id ORDER BY id) FROM hydrology_hydrounit "
        "WHERE (%(system)s::text IS NULL OR system = %(system)s) "
        "AND (%(level)s::int IS NULL OR level = %(level)s) "
        "GROUP BY system, level ORDER BY system, level",
        {"system": system, "level": level},
    ).fetchall()
    if system is not None and not rows:
        raise Unprocessable(
            f"No hay unidades hidrográficas del sistema '{system}'"
            + (f" de nivel {level}." if level is not None else "."),
            where="system",
        )
    done = []
    for unit_system, unit_level, ids in rows:
        computed = 0
        for start in range(0, len(ids), chunk):
            computed += cached_unit_figures(conn, ids[start : start + chunk], params, data_dir)[1]
        done.append(
            {"system": unit_system, "level": unit_level, "units": len(ids), "computed": computed}
        )
    return done


# --- step 4 inputs: drainage or adjacency -------------------------------------------------


def drainage(conn: Connection, system: str, level: int) -> DrainageNetwork:
    """The drainage of the system/level (the whole graph, kept until hydro units change)."""
    return drainage_graph(conn).network(system, level)


def adjacency(conn: Connection, unit_ids: list[int]) -> dict[int, set[int]]:
    """Units sharing a boundary (within the seam tolerance), for systems without drainage."""
    rows = conn.execute(
        """
        SELECT a.id, b.id FROM hydrology_hydrounit a JOIN hydrology_hydrounit b
          ON a.id < b.id AND ST_DWithin(a.geom, b.geom, %(tol)s)
        WHERE a.id = ANY(%(ids)s) AND b.id = ANY(%(ids)s)
          AND ST_Length(ST_Intersection(ST_Boundary(a.geom), ST_Buffer(b.geom, %(tol)s)))
              >= %(shared)s
        """,
        {"ids": unit_ids, "tol": ADJACENCY_TOLERANCE_M, "shared": ADJACENCY_MIN_SHARED_M},
    ).fetchall()
    graph: dict[int, set[int]] = {u: set() for u in unit_ids}
    for a, b in rows:
        graph[a].add(b)
        graph[b].add(a)
    return graph


# --- step 5: metrics of one alternative ---------------------------------------------------

PROPOSAL_SQL = """
WITH p AS MATERIALIZED (
    SELECT ST_Multi(ST_UnaryUnion(ST_Collect(geom ORDER BY id))) AS g
    FROM hydrology_hydrounit WHERE id = ANY(%(ids)s)
), x AS (
    SELECT a.name, a.category, ST_Area(ST_Intersection(a.geom, p.g)) / 10000.0 AS ha
    FROM layers_protectedarea a, p WHERE a.excludes_mining AND ST_Intersects(a.geom, p.g)
), xu AS (
    SELECT ST_Area(ST_UnaryUnion(ST_Collect(ST_Intersection(a.geom, p.g)))) / 10000.0 AS ha
    FROM layers_protectedarea a, p WHERE a.excludes_mining AND ST_Intersects(a.geom, p.g)
), e AS (
    SELECT t.name, t.kind, t.people, ST_Area(ST_Intersection(t.geom, p.g)) / 10000.0 AS ha
    FROM layers_ethnicterritory t, p WHERE ST_Intersects(t.geom, p.g)
), eu AS (
    SELECT ST_Area(ST_UnaryUnion(ST_Collect(ST_Intersection(t.geom, p.g)))) / 10000.0 AS ha
    FROM layers_ethnicterritory t, p WHERE ST_Intersects(t.geom, p.g)
)
SELECT ST_AsBinary(p.g), ST_Area(p.g) / 10000.0, ST_Perimeter(p.g),
  (SELECT coalesce(jsonb_agg(jsonb_build_object('name', name, 'category', category, 'ha', ha)
          ORDER BY ha DESC, name), '[]') FROM x WHERE ha > 0.01),
  (SELECT coalesce(ha, 0) FROM xu),
  (SELECT coalesce(jsonb_agg(jsonb_build_object('name', name, 'kind', kind, 'people', people,
          'ha', ha) ORDER BY ha DESC, name), '[]') FROM e WHERE ha > 0.01),
  (SELECT coalesce(ha, 0) FROM eu)
FROM p
"""

# Municipalities and departments of a kept proposal (only the ranked ones pay for this).
TERRITORY_SQL = """
WITH p AS MATERIALIZED (SELECT ST_GeomFromWKB(%(geom)s, 9377) AS g
), m AS (
    SELECT m.code, m.name, m.department_id AS dep, m.area_ha AS mun_ha,
           ST_Area(CASE WHEN ST_CoveredBy(m.geom, p.g) THEN m.geom
                   ELSE ST_Intersection(m.geom, p.g) END) / 10000.0 AS ha
    FROM layers_municipality m, p WHERE ST_Intersects(m.geom, p.g)
), d AS (
    SELECT d.code, d.name, d.area_ha AS dep_ha, sum(m.ha) AS ha
    FROM m JOIN layers_department d ON d.code = m.dep GROUP BY 1, 2, 3
)
SELECT
  (SELECT coalesce(jsonb_agg(jsonb_build_object('code', code, 'name', name, 'ha', ha,
          'mun_ha', mun_ha) ORDER BY ha DESC, code), '[]') FROM m WHERE ha > 0.01),
  (SELECT coalesce(jsonb_agg(jsonb_build_object('code', code, 'name', name, 'ha', ha,
          'dep_ha', dep_ha) ORDER BY ha DESC, code), '[]') FROM d WHERE ha > 0.01)
"""


def _share(part: float, whole: float) -> float:
    return part / whole if whole > 0 else 0.0


def _sum_nested(target: dict[str, float], source: dict[str, float]) -> None:
    for key, value in source.items():
        target[key] = target.get(key, 0.0) + value


def _r(value: float, digits: int = 2) -> float:
    return round(float(value), digits)


def proposal_metrics(
    conn: Connection,
    alternative: Alternative,
    figures: dict[int, dict[str, Any]],
    totals: dict[str, float],
    params: ProposalParameters,
) -> tuple[bytes, dict[str, Any]]:
    """Step 5: the union geometry (WKB) and every metric of one alternative."""
    ids = list(alternative.unit_ids)
    row = conn.execute(PROPOSAL_SQL, {"ids": ids}).fetchone()
    geom, area_ha, perimeter, excl, excl_ha, ethnic, ethnic_ha = row
    hotspot_ha = sum(figures[u]["hotspot_ha"] for u in ids if u in figures)
    tenure_ha = sum(figures[u]["tenure_ha"] for u in ids if u in figures)
    water: dict[str, Any] = {
        "river_km": 0.0,
        "river_km_by_order": {},
        "intakes": 0,
        "paramo_ha": 0.0,
        "wetland_ha": 0.0,
        "protected_ha": 0.0,
    }
    aptitude: dict[str, dict[str, float]] = {}
    for u in ids:
        w = figures.get(u, {}).get("water") or {}
        for key in ("river_km", "intakes", "paramo_ha", "wetland_ha", "protected_ha"):
            water[key] += w.get(key, 0)
        _sum_nested(water["river_km_by_order"], w.get("river_km_by_order", {}))
        for raster, classes in (figures.get(u, {}).get("aptitude") or {}).items():
            _sum_nested(aptitude.setdefault(raster, {}), classes)
    water = {
        k: ({o: _r(x, 3) for o, x in v.items()} if isinstance(v, dict) else _r(v, 3))
        for k, v in water.items()
    }
    water["intakes"] = int(water["intakes"])
    water["protected_share"] = _r(_share(water["protected_ha"], area_ha), 4)
    aptitude_shares = {
        raster: {
            c: _r(_share(ha, sum(classes.values())), 6)
            for c, ha in sorted(classes.items(), key=lambda item: item[0])
        }
        for raster, classes in sorted(aptitude.items())
    }
    polsby_popper = 4 * math.pi * (area_ha * 10000.0) / perimeter**2 if perimeter else 0.0
    hotspot_share = _share(hotspot_ha, totals["hotspot_ha"])
    tenure_share = _share(tenure_ha, totals["tenure_ha"])
    exclusion_share = _share(excl_ha, area_ha)
    ethnic_share = _share(ethnic_ha, area_ha)
    # Unions of whole units: every unit is 100 % inside by construction.
    integrity = 1.0
    w = params.weights
    score = (
        w.hotspot_captured * hotspot_share
        + w.tenure_captured * tenure_share
        + w.compactness * polsby_popper
        + w.integrity * integrity
        - w.exclusion * exclusion_share
        - w.ethnic * ethnic_share
    )
    metrics = {
        "area_ha": _r(area_ha),
        "units": len(ids),
        "seed_units": list(alternative.seeds),
        "cut_at_max_area": alternative.cut,
        "hotspot_ha": _r(hotspot_ha),
        "hotspot_share_captured": _r(hotspot_share, 4),
        "tenure_ha": _r(tenure_ha),
        "tenure_share_captured": _r(tenure_share, 4),
        "exclusion_ha": _r(excl_ha),
        "exclusion_zones": [
            {"name": x["name"], "category": x["category"], "ha": _r(x["ha"])} for x in excl
        ],
        "ethnic_ha": _r(ethnic_ha),
        "ethnic_territories": [
            {"name": e["name"], "kind": e["kind"], "people": e["people"], "ha": _r(e["ha"])}
            for e in ethnic
        ],
        "consulta_previa_flag": bool(ethnic),
        "water": water,
        "aptitude_shares": aptitude_shares,
        "polsby_popper": _r(polsby_popper, 4),
        "watershed_integrity": integrity,
        "score_terms": {
            "hotspot_share": _r(hotspot_share, 4),
            "tenure_share": _r(tenure_share, 4),
            "compactness": _r(polsby_popper, 4),
            "integrity": integrity,
            "exclusion_share": _r(exclusion_share, 4),
            "ethnic_share": _r(ethnic_share, 4),
        },
        "score": _r(score, 6),
    }
    return bytes(geom), metrics


def territory_metrics(conn: Connection, geom: bytes, area_ha: float) -> dict[str, Any]:
    """Municipalities and departments of a proposal, with shares of it and of each of them."""
    muns, deps = conn.execute(TERRITORY_SQL, {"geom": geom}).fetchone()
    return {
        "municipalities": [
            {
                "code": m["code"],
                "name": m["name"],
                "ha": _r(m["ha"]),
                "share_of_proposal": _r(_share(m["ha"], area_ha), 4),
                "share_of_municipality": _r(_share(m["ha"], m["mun_ha"]), 4),
            }
            for m in muns
        ],
        "departments": [
            {
                "code": d["code"],
                "name": d["name"],
                "ha": _r(d["ha"]),
                "share_of_proposal": _r(_share(d["ha"], area_ha), 4),
                "share_of_department": _r(_share(d["ha"], d["dep_ha"]), 4),
            }
            for d in deps
        ],
    }


# --- the run ------------------------------------------------------------------------------


def _run_row(conn: Connection, run_id: int) -> dict[str, Any]:
    row = conn.execute(
        "SELECT id, parameters, study_area_spec, hydro_system, hydro_level, status, progress, "
        'message, "user", job_id, timings, created_at, started_at, finished_at '
        "FROM delimitation_proposalrun WHERE id = %s",
        [run_id],
    ).fetchone()
    if row is None:
        raise NotFound(f"No existe la ejecución de propuestas {run_id}.", where="id")
    keys = [
        "id",
        "parameters",
        "study_area_spec",
        "hydro_system",
        "hydro_level",
        "status",
        "progress",
        "message",
        "user",
        "job_id",
        "timings",
        "created_at",
        "started_at",
        "finished_at",
    ]
    return dict(zip(keys, row, strict=True))


def set_progress(conn: Connection, run_id: int, percent: float, message: str) -> None:
    """Record the run's progress (percent and a Spanish note) for pollers."""
    conn.execute(
        "UPDATE delimitation_proposalrun SET progress = %s, message = %s WHERE id = %s",
        [round(percent, 1), message, run_id],
    )


def execute_run(
    conn: Connection,
    run_id: int,
    *,
    data_dir: Path | None = None,
    progress: Progress | None = None,
) -> dict[str, Any]:
    """Run steps 1-6 for a stored run; marks it done (or failed, re-raising) and returns timings."""

    last = [0.0]

    def report(percent: float, message: str) -> None:
        # Pollers need a moving figure, not every step: at most two row updates a second.
        now = time.monotonic()
        if now - last[0] >= 0.5 or percent >= 100:
            set_progress(conn, run_id, percent, message)
            last[0] = now
        if progress is not None:
            progress(percent, message)

    _no_jit(conn)
    conn.execute(
        "UPDATE delimitation_proposalrun SET status = 'running', started_at = now(), "
        "finished_at = NULL, progress = 0 WHERE id = %s",
        [run_id],
    )
    try:
        timings = _execute(conn, run_id, data_dir, report)
    except Exception as exc:
        conn.execute(
            "UPDATE delimitation_proposalrun SET status = 'failed', finished_at = now(), "
            "message = %s WHERE id = %s",
            [f"Error: {exc}", run_id],
        )
        raise
    return timings


def _execute(
    conn: Connection, run_id: int, data_dir: Path | None, report: Callable[[float, str], None]
) -> dict[str, Any]:
    from hydrology.metrics import unit_water_metrics

    clock = time.perf_counter()
    timings: dict[str, float] = {}

    def lap(name: str) -> None:
        nonlocal clock
        now = time.perf_counter()
        timings[name] = round(now - clock, 3)
        clock = now

    run = _run_row(conn, run_id)
    params = parse_parameters(run["parameters"])
    system, level = run["hydro_system"], run["hydro_level"]
    report(2, "Seleccionando unidades hidrográficas del área de estudio")
    ids = candidate_units(conn, run_id)
    lap("units")
    if not ids:
        raise Unprocessable(
            f"Ninguna unidad del sistema '{system}' (nivel {level}) cae en el área de estudio."
        )
    report(10, f"Calculando cifras de {len(ids)} unidades")
    figures, fresh = cached_unit_figures(conn, ids, params, data_dir)
    timings["units_computed"] = fresh
    lap("unit_figures")
    report(60, "Métricas hídricas")
    for unit_id, water in unit_water_metrics(conn, ids).items():
        figures[unit_id]["water"] = water
    lap("water")
    report(75, "Semillas y alternativas")
    seeds = sorted(u for u in ids if figures[u]["pressure"] >= params.pressure_threshold)
    pressures = {u: figures[u]["pressure"] for u in ids}
    totals = {
        "hotspot_ha": sum(f["hotspot_ha"] for f in figures.values()),
        "tenure_ha": sum(f["tenure_ha"] for f in figures.values()),
    }
    network = drainage(conn, system, level)
    area = network.area_ha
    has_drainage = any(network.next_down.get(u) is not None for u in ids)
    if not seeds:
        growth = Growth()
    elif has_drainage:
        growth = grow_along_drainage(set(ids), seeds, network, pressures, params.max_area_ha)
    else:
        growth = adjacency_alternatives(
            set(ids),
            seeds,
            adjacency(conn, ids),
            area,
            pressures,
            params.max_area_ha,
            params.adjacency_gap,
        )
    lap("growth")
    # The same unit set reached twice (e.g. (c) equal to (a)) is one proposal.
    unique: dict[tuple[int, ...], Alternative] = {}
    for alt in growth.alternatives:
        unique.setdefault(alt.unit_ids, alt)
    scored = []
    for index, alt in enumerate(unique.values()):
        report(80 + 15 * index / max(len(unique), 1), f"Métricas de la alternativa {alt.key}")
        geom, metrics = proposal_metrics(conn, alt, figures, totals, params)
        scored.append((alt, geom, metrics))
    scored.sort(key=lambda s: (-s[2]["score"], s[2]["area_ha"], s[0].unit_ids))
    kept = [
        (alt, geom, {**metrics, **territory_metrics(conn, geom, metrics["area_ha"])})
        for alt, geom, metrics in scored[: params.alternatives]
    ]
    lap("proposal_metrics")
    summary = {
        "units": len(ids),
        "seeds": seeds,
        "drainage": "next_down" if has_drainage else "adyacencia (sin next_down)",
        "totals": {k: _r(v) for k, v in totals.items()},
        "unavailable": growth.unavailable,
        "discarded": [s[0].key for s in scored[params.alternatives :]],
        "unit_figures": {str(u): _unit_summary(figures[u]) for u in ids},
    }
    with conn.transaction():
        conn.execute("DELETE FROM delimitation_proposal WHERE run_id = %s", [run_id])
        for rank, (alt, geom, metrics) in enumerate(kept, start=1):
            metrics = {"alternative": alt.key, "label": alt.label, **metrics}
            conn.execute(
                """
                INSERT INTO delimitation_proposal
                    (run_id, rank, alternative, score, area_ha, geom, unit_ids, metrics)
                VALUES (%s, %s, %s, %s, %s, ST_Multi(ST_GeomFromWKB(%s, 9377)), %s, %s)
                """,
                [
                    run_id,
                    rank,
                    alt.key,
                    metrics["score"],
                    metrics["area_ha"],
                    geom,
                    list(alt.unit_ids),
                    Jsonb(metrics),
                ],
            )
        lap("store")
        message = (
            f"{len(kept)} propuestas a partir de {len(seeds)} unidades semilla."
            if seeds
            else "Ninguna unidad supera el umbral de presión minera: no hay propuestas."
        )
        conn.execute(
            "UPDATE delimitation_proposalrun SET status = 'done', progress = 100, message = %s, "
            "timings = %s, finished_at = now() WHERE id = %s",
            [message, Jsonb({**timings, "summary": summary}), run_id],
        )
    if report is not None:
        report(100, message)
    return timings


def _unit_summary(f: dict[str, Any]) -> dict[str, Any]:
    return {
        "area_ha": _r(f["area_ha"]),
        "pressure": _r(f["pressure"], 6),
        "hotspot_ha": _r(f["hotspot_ha"]),
        "hotspot_count": f["hotspot_count"],
        "tenure_ha": _r(f["tenure_ha"]),
        "tenure_count": f["tenure_count"],
        "exclusion_ha": _r(f["exclusion_ha"]),
        "ethnic_ha": _r(f["ethnic_ha"]),
        "hotspots_by_category": f["hotspots_by_category"],
        "tenures_by_type_status": f["tenures_by_type_status"],
        "protected_ha_by_category": f["protected_ha_by_category"],
        "municipalities_ha": {k: _r(v) for k, v in f["municipalities_ha"].items()},
        "aptitude_ha": {
            raster: {c: _r(ha) for c, ha in sorted(classes.items())}
            for raster, classes in sorted((f.get("aptitude") or {}).items())
        },
        "water": {
            k: v for k, v in (f.get("water") or {}).items() if k not in ("computed_at", "area_ha")
        },
    }


# --- documents ----------------------------------------------------------------------------

FEATURES_SQL = """
SELECT id, rank, alternative, score, area_ha, unit_ids, metrics,
       ST_AsGeoJSON(ST_Transform(geom, %(srid)s), %(decimals)s)::text
FROM delimitation_proposal WHERE {where} ORDER BY run_id, rank
"""


def _feature(row: tuple, run_id: int) -> dict[str, Any]:
    pid, rank, alt, score, area_ha, unit_ids, metrics, geometry = row
    return {
        "type": "Feature",
        "id": pid,
        "geometry": json.loads(geometry),
        "properties": {
            "run_id": run_id,
            "rank": rank,
            "alternative": alt,
            "score": score,
            "area_ha": area_ha,
            "unit_ids": unit_ids,
            **{k: v for k, v in metrics.items() if k not in ("alternative", "score", "area_ha")},
        },
    }


def run_document(conn: Connection, run_id: int, out_srid: int = 4326) -> dict[str, Any]:
    """The run: status, progress, parameters, timings and its proposals as GeoJSON Features."""
    run = _run_row(conn, run_id)
    decimals = 7 if out_srid in (4326, 4686) else 2
    rows = conn.execute(
        FEATURES_SQL.format(where="run_id = %(run)s"),
        {"run": run_id, "srid": out_srid, "decimals": decimals},
    ).fetchall()
    timings = dict(run["timings"] or {})
    summary = timings.pop("summary", {})
    return {
        "id": run["id"],
        "status": run["status"],
        "progress": run["progress"],
        "message": run["message"],
        "user": run["user"],
        "job_id": run["job_id"],
        "study_area": run["study_area_spec"],
        "hydro_system": run["hydro_system"],
        "hydro_level": run["hydro_level"],
        "parameters": run["parameters"],
        "timings": timings,
        "seeds": summary.get("seeds", []),
        "drainage": summary.get("drainage"),
        "totals": summary.get("totals", {}),
        "unavailable_alternatives": summary.get("unavailable", []),
        "unit_figures": summary.get("unit_figures", {}),
        "created_at": run["created_at"].isoformat() if run["created_at"] else None,
        "started_at": run["started_at"].isoformat() if run["started_at"] else None,
        "finished_at": run["finished_at"].isoformat() if run["finished_at"] else None,
        "proposals": {
            "type": "FeatureCollection",
            "features": [_feature(r, run_id) for r in rows],
        },
    }


def proposal_document(conn: Connection, proposal_id: int, out_srid: int = 4326) -> dict[str, Any]:
    """One proposal as a GeoJSON Feature (404 when unknown)."""
    row = conn.execute(
        "SELECT run_id FROM delimitation_proposal WHERE id = %s", [proposal_id]
    ).fetchone()
    if row is None:
        raise NotFound(f"No existe la propuesta {proposal_id}.", where="id")
    decimals = 7 if out_srid in (4326, 4686) else 2
    feature_row = conn.execute(
        FEATURES_SQL.format(where="id = %(id)s"),
        {"id": proposal_id, "srid": out_srid, "decimals": decimals},
    ).fetchone()
    return _feature(feature_row, row[0])


# --- adoption -----------------------------------------------------------------------------


def adopt(
    conn: Connection,
    proposal_id: int,
    user: Any,
    *,
    district: str | None = None,
    code: str | None = None,
    name: str | None = None,
    type_: str | None = None,
    comment: str = "",
    expected_etag: str | None = None,
    rules: Any = None,
) -> tuple[dict, bool]:
    """A draft district (new, or a new boundary version of `district`) from a proposal.

    Returns (district row, created). The version's source is 'proposal' and it points at the
    proposal; validation, roles, If-Match and the frozen-boundary rule are the districts'.
    """
    from delimitation import districts
    from delimitation.versions import HydroChoice

    row = conn.execute(
        "SELECT p.rank, p.alternative, ST_AsBinary(p.geom), r.id, r.hydro_system, r.hydro_level "
        "FROM delimitation_proposal p JOIN delimitation_proposalrun r ON r.id = p.run_id "
        "WHERE p.id = %s",
        [proposal_id],
    ).fetchone()
    if row is None:
        raise NotFound(f"No existe la propuesta {proposal_id}.", where="id")
    rank, alternative, geom, run_id, system, level = row
    geometry = wkb.loads(bytes(geom))
    hydro = HydroChoice(system, level)
    note = comment or f"Propuesta {alternative} (puesto {rank}) de la ejecución {run_id}"
    if district:
        if code or name or type_:
            raise InvalidInput(
                "Indique 'district' (distrito existente) o 'code', 'name' y 'type' (distrito "
                "nuevo), no ambos.",
                where="district",
            )
        current = districts.get(conn, district)
        from delimitation import lifecycle

        lifecycle.check_etag(current, expected_etag, required=True)
        updated, _, _ = districts.set_boundary(
            conn,
            district,
            geometry,
            user,
            expected_etag,
            source="proposal",
            comment=note,
            proposal_id=proposal_id,
            rules=rules,
            hydro=hydro,
        )
        return updated, False
    if not (code and name and type_):
        raise InvalidInput(
            "Para crear un distrito desde la propuesta indique 'code', 'name' y 'type' "
            "(o 'district' para dar un nuevo límite a uno existente).",
            where="code",
        )
    created, _ = districts.create(
        conn,
        code=code,
        name=name,
        type_=type_,
        geometry=geometry,
        user=user,
        source="proposal",
        comment=note,
        proposal_id=proposal_id,
        rules=rules,
        hydro=hydro,
    )
    return created, True
