"""Drainage topology of hydro units: upstream closure, downstream path, dissolved boundaries.

Closures are walked on an in-memory drainage graph (children lists and next_down of every
unit), loaded with one query and kept until the `hydro_units` layer revision changes (the
statement triggers of `layers.revisions` bump it on any write), so a closure over 10,000
units costs a few milliseconds. The same answers in SQL (recursive CTEs, `UNION`/`CYCLE`
stop on a malformed layer whose `next_down` loops) serve as reference and fallback
(bench/topology.py compares them). Walks stop on loops too.
"""

from __future__ import annotations

import threading
from collections import defaultdict, deque
from dataclasses import dataclass

from psycopg import Connection

from geo.errors import NotFound
from layers.revisions import TRIGGER_NAME

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


def upstream_ids_sql(conn: Connection, unit_id: int) -> list[int]:
    """`upstream_ids` by a recursive CTE (no cache)."""
    _require_unit(conn, unit_id)
    rows = conn.execute(UPSTREAM_SQL, {"unit": unit_id}).fetchall()
    return sorted(r[0] for r in rows)


def downstream_ids_sql(conn: Connection, unit_id: int) -> list[int]:
    """`downstream_ids` by a recursive CTE (no cache)."""
    _require_unit(conn, unit_id)
    return [r[0] for r in conn.execute(DOWNSTREAM_SQL, {"unit": unit_id}).fetchall()]


@dataclass(frozen=True)
class DrainageNetwork:
    """The drainage of one system and level, with what growing districts along it reads."""

    next_down: dict[int, int | None]
    area_ha: dict[int, float]
    upstream_ha: dict[int, float]  # area draining through each unit, its own included
    inflows: dict[int, list[int]]  # units whose next_down is this one, in id order
    neighbours: dict[int, set[int]]  # next_down links in both directions

    @classmethod
    def build(cls, units: list[tuple[int, int | None, float]]) -> DrainageNetwork:
        """From (id, next_down, area_ha) rows; links leaving the set are kept as next_down."""
        down = {u: d for u, d, _ in units}
        area = {u: a or 0.0 for u, _, a in units}
        inflows: dict[int, list[int]] = defaultdict(list)
        neighbours: dict[int, set[int]] = defaultdict(set)
        for u in sorted(down):
            d = down[u]
            if d is not None:
                inflows[d].append(u)
                neighbours[u].add(d)
                neighbours[d].add(u)
        return cls(down, area, upstream_areas(down, area), dict(inflows), dict(neighbours))


def upstream_areas(down: dict[int, int | None], area: dict[int, float]) -> dict[int, float]:
    """Accumulated area draining through each unit (units in a cycle keep their own)."""
    acc = {u: area.get(u, 0.0) for u in down}
    indegree: dict[int, int] = defaultdict(int)
    for d in down.values():
        if d is not None and d in acc:
            indegree[d] += 1
    queue = deque(sorted(u for u in down if indegree[u] == 0))
    while queue:
        u = queue.popleft()
        d = down[u]
        if d is None or d not in acc:
            continue
        acc[d] += acc[u]
        indegree[d] -= 1
        if indegree[d] == 0:
            queue.append(d)
    return acc


class DrainageGraph:
    """next_down and upstream children of every unit, as plain dicts."""

    def __init__(self, rows: list[tuple[int, int | None, str, int, float]]) -> None:
        """From (id, next_down, system, level, area_ha) rows of every unit."""
        self.next_down: dict[int, int | None] = {r[0]: r[1] for r in rows}
        self.children: dict[int, list[int]] = {}
        for unit, down, *_ in rows:
            if down is not None:
                self.children.setdefault(down, []).append(unit)
        self._rows = rows
        self._networks: dict[tuple[str, int], DrainageNetwork] = {}
        self._lock = threading.Lock()

    def network(self, system: str, level: int) -> DrainageNetwork:
        """The drainage of one system and level (built once per graph, i.e. per revision)."""
        with self._lock:
            found = self._networks.get((system, level))
            if found is None:
                found = DrainageNetwork.build(
                    [(r[0], r[1], r[4]) for r in self._rows if r[2] == system and r[3] == level]
                )
                self._networks[(system, level)] = found
            return found

    def require(self, unit_id: int) -> None:
        """404 for a unit that does not exist."""
        if unit_id not in self.next_down:
            raise NotFound(f"No existe la unidad hidrográfica {unit_id}.", where="id")

    def upstream(self, unit_id: int) -> list[int]:
        """The unit and every unit draining through it, sorted."""
        self.require(unit_id)
        seen = {unit_id}
        queue = deque([unit_id])
        children = self.children
        while queue:
            for child in children.get(queue.popleft(), ()):
                if child not in seen:
                    seen.add(child)
                    queue.append(child)
        return sorted(seen)

    def downstream(self, unit_id: int) -> list[int]:
        """Path from the unit to its outlet, in flow order (stops where a loop closes)."""
        self.require(unit_id)
        path = [unit_id]
        seen = {unit_id}
        down = self.next_down.get(unit_id)
        while down is not None and down not in seen:
            path.append(down)
            seen.add(down)
            down = self.next_down.get(down)
        return path


_graphs: dict[tuple, DrainageGraph] = {}
_graphs_lock = threading.Lock()


def drainage_graph(conn: Connection) -> DrainageGraph:
    """The drainage graph of this database, reloaded only after hydro units were written."""
    # The table's oid tells databases and schemas apart; the revision tells versions apart.
    # Without the revision trigger on the table (never installed) nothing is cached.
    oid, revision, tracked = conn.execute(
        "SELECT c.oid, (SELECT revision FROM layers_layerrevision WHERE layer = 'hydro_units'), "
        "EXISTS (SELECT 1 FROM pg_trigger t WHERE t.tgrelid = c.oid AND t.tgname = %s) "
        "FROM pg_class c WHERE c.oid = 'hydrology_hydrounit'::regclass",
        [TRIGGER_NAME],
    ).fetchone()
    key = (conn.info.host, conn.info.port, conn.info.dbname, oid, revision or 0)
    graph = _graphs.get(key) if tracked else None
    if graph is None:
        rows = conn.execute(
            "SELECT id, next_down_id, system, level, area_ha FROM hydrology_hydrounit"
        ).fetchall()
        graph = DrainageGraph(rows)
        if tracked:
            with _graphs_lock:
                for old in [k for k in _graphs if k[:4] == key[:4]]:
                    del _graphs[old]
                _graphs[key] = graph
    return graph


def upstream_ids(conn: Connection, unit_id: int) -> list[int]:
    """The unit and every unit draining through it, sorted by id (404 for an unknown unit)."""
    return drainage_graph(conn).upstream(unit_id)


def downstream_ids(conn: Connection, unit_id: int) -> list[int]:
    """The path from the unit to its outlet, in flow order, starting with the unit itself."""
    return drainage_graph(conn).downstream(unit_id)


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
