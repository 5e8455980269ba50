"""Upstream closure and downstream path on 10,000 hydro units: ours vs a naive walk.

Data (SYNTHETIC): a random recursive tree of 10,000 units (unit i drains into a random unit
j < i, seed 7; unit 0 is the outlet), each a 1 ha square, in a throwaway schema whose table
has the name and columns `hydrology.topology` queries, so the project's own functions run
unchanged. Ours is `topology.upstream_ids` (in-memory drainage graph, warm: it is reloaded
only after hydro units are written); the recursive CTE it replaces is printed too. The peer
is what an ORM loop does: one query per unit to fetch the units draining into it
(breadth-first), all on the same connection.

Prints the median of 7 runs of each and ends with one JSON line.
"""

from __future__ import annotations

import json
import random
import statistics
import sys
import time
from pathlib import Path

import psycopg

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from app import cluster  # noqa: E402
from hydrology import topology  # noqa: E402
from layers.revisions import TRIGGER_NAME  # noqa: E402

UNITS = 10_000
ROUNDS = 7
SCHEMA = "bench_topology"


def build(conn: psycopg.Connection) -> int:
    """The synthetic tree in its own schema (dropped first); returns its deepest unit."""
    rng = random.Random(7)
    conn.execute(f"DROP SCHEMA IF EXISTS {SCHEMA} CASCADE")
    conn.execute(f"CREATE SCHEMA {SCHEMA}")
    conn.execute(
        f"CREATE TABLE {SCHEMA}.hydrology_hydrounit (id bigint PRIMARY KEY, "
        "next_down_id bigint, area_ha double precision, geom geometry(MultiPolygon, 9377))"
    )
    rows = [(0, None)] + [(i, rng.randrange(i)) for i in range(1, UNITS)]
    with conn.cursor().copy(
        f"COPY {SCHEMA}.hydrology_hydrounit (id, next_down_id) FROM STDIN"
    ) as copy:
        for row in rows:
            copy.write_row(row)
    conn.execute(
        f"UPDATE {SCHEMA}.hydrology_hydrounit SET area_ha = 1, geom = ST_Multi(ST_MakeEnvelope("
        "5000000 + (id % 100) * 100, 2000000 + (id / 100) * 100, "
        "5000100 + (id % 100) * 100, 2000100 + (id / 100) * 100, 9377))"
    )
    conn.execute(f"CREATE INDEX ON {SCHEMA}.hydrology_hydrounit (next_down_id)")
    conn.execute(f"ANALYZE {SCHEMA}.hydrology_hydrounit")
    # The revision trigger every registry table carries, so the drainage graph is cached.
    conn.execute(
        f"CREATE TRIGGER {TRIGGER_NAME} AFTER INSERT OR UPDATE OR DELETE OR TRUNCATE ON "
        f"{SCHEMA}.hydrology_hydrounit FOR EACH STATEMENT "
        "EXECUTE FUNCTION layers_bump_revision('hydro_units')"
    )
    depth = [0] * UNITS
    for unit, down in rows[1:]:
        depth[unit] = depth[down] + 1
    return max(range(UNITS), key=depth.__getitem__)


def naive_upstream(conn: psycopg.Connection, unit_id: int) -> list[int]:
    """One query per unit, breadth-first: the ORM `unit.upstream.all()` recursion."""
    found, queue = [unit_id], [unit_id]
    while queue:
        current = queue.pop()
        rows = conn.execute(
            "SELECT id FROM hydrology_hydrounit WHERE next_down_id = %s", [current]
        ).fetchall()
        for (child,) in rows:
            found.append(child)
            queue.append(child)
    return sorted(found)


def median_ms(fn, *args) -> tuple[float, object]:
    times, result = [], None
    for _ in range(ROUNDS):
        start = time.perf_counter()
        result = fn(*args)
        times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times), result


def main() -> None:
    url = cluster.database_url() or cluster.start()
    with psycopg.connect(url, autocommit=True) as conn:
        deepest = build(conn)
        conn.execute(f"SET search_path = {SCHEMA}, public")
        topology.upstream_ids(conn, 0)  # load the graph once
        ours_ms, ours = median_ms(topology.upstream_ids, conn, 0)
        cte_ms, cte = median_ms(topology.upstream_ids_sql, conn, 0)
        peer_ms, peer = median_ms(naive_upstream, conn, 0)
        assert ours == peer == cte and len(ours) == UNITS
        down_ms, path = median_ms(topology.downstream_ids, conn, deepest)
        union_ms, dissolved = median_ms(topology.dissolve, conn, ours, 9377)
        conn.execute(f"DROP SCHEMA {SCHEMA} CASCADE")
    print(
        f"upstream closure of {UNITS} units: graph {ours_ms:.1f} ms, recursive CTE "
        f"{cte_ms:.1f} ms, naive {peer_ms:.1f} ms"
    )
    print(f"downstream path ({len(path)} units): {down_ms:.2f} ms")
    print(f"dissolved boundary of {UNITS} units: {union_ms:.0f} ms, {dissolved.area_ha:.0f} ha")
    print(
        json.dumps(
            {
                "benchmark": "topology_upstream_10k_units",
                "ours": round(ours_ms, 2),
                "peer": round(peer_ms, 2),
                "ratio": round(ours_ms / peer_ms, 4),
                "target": "ours <= 50 ms",
            }
        )
    )


if __name__ == "__main__":
    main()
