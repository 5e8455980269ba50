"""Drainage topology on a real PostGIS: upstream closure, downstream path, dissolved area."""

from __future__ import annotations

import json

import psycopg
import pytest
from pyproj import Transformer
from shapely.geometry import shape

from geo.errors import NotFound
from hydrology import topology

# A hand-made basin of 10 km squares (EPSG:9377) in a row; arrows are next_down.
#   A -> C, B -> C, C -> E, F -> D, D -> E, E = outlet
EDGES = {"A": "C", "B": "C", "C": "E", "D": "E", "E": None, "F": "D"}
X0, Y0, SIDE = 4_900_000, 1_950_000, 10_000
TREE_SIZE = 10_000


@pytest.fixture(scope="module")
def db(database_url):
    with psycopg.connect(database_url, autocommit=True) as conn:
        yield conn


def insert_graph(conn, system: str, prefix: str, edges: dict[str, str | None]) -> dict[str, int]:
    """Insert one square unit per name and link next_down; returns name -> id."""
    ids = {}
    for i, name in enumerate(edges):
        x = X0 + i * SIDE
        ids[name] = conn.execute(
            "INSERT INTO hydrology_hydrounit (system, code, name, level, area_ha, geom) "
            "VALUES (%s, %s, %s, 1, 10000, ST_Multi(ST_MakeEnvelope(%s, %s, %s, %s, 9377))) "
            "RETURNING id",
            [system, f"{prefix}{name}", f"Unidad {name}", x, Y0, x + SIDE, Y0 + SIDE],
        ).fetchone()[0]
    for name, down in edges.items():
        if down:
            conn.execute(
                "UPDATE hydrology_hydrounit SET next_down_id = %s WHERE id = %s",
                [ids[down], ids[name]],
            )
    return ids


def delete_codes(conn, system: str, prefix: str) -> None:
    conn.execute(
        "DELETE FROM hydrology_hydrounit WHERE system = %s AND code LIKE %s", [system, prefix + "%"]
    )


@pytest.fixture(scope="module")
def basin(db):
    delete_codes(db, "watershed", "topo-")
    ids = insert_graph(db, "watershed", "topo-", EDGES)
    yield ids
    delete_codes(db, "watershed", "topo-")


@pytest.fixture(scope="module")
def tree(db):
    """10,000 units in a binary heap: unit i drains into unit i // 2; unit 1 is the outlet."""
    delete_codes(db, "hydrobasins", "tree-")
    db.execute(
        "INSERT INTO hydrology_hydrounit (system, code, name, level, area_ha, geom) "
        "SELECT 'hydrobasins', 'tree-' || i, '', 1, 1, ST_Multi(ST_MakeEnvelope("
        "%(x)s + (i %% 100) * 100, %(y)s + (i / 100) * 100, "
        "%(x)s + (i %% 100) * 100 + 100, %(y)s + (i / 100) * 100 + 100, 9377)) "
        "FROM generate_series(0, %(n)s - 1) AS i",
        {"x": X0, "y": Y0 + 100_000, "n": TREE_SIZE},
    )
    rows = db.execute(
        "SELECT substr(code, 6)::int + 1, id FROM hydrology_hydrounit "
        "WHERE system = 'hydrobasins' AND code LIKE 'tree-%%'"
    ).fetchall()
    ids = dict(rows)  # heap index (1-based) -> id
    db.execute(
        "UPDATE hydrology_hydrounit u SET next_down_id = d.id FROM hydrology_hydrounit d "
        "WHERE u.system = 'hydrobasins' AND u.code LIKE 'tree-%%' AND d.system = 'hydrobasins' "
        "AND substr(u.code, 6)::int > 0 "
        "AND d.code = 'tree-' || ((substr(u.code, 6)::int + 1) / 2 - 1)"
    )
    yield ids
    delete_codes(db, "hydrobasins", "tree-")


def names(ids: dict[str, int], found: list[int]) -> list[str]:
    by_id = {v: k for k, v in ids.items()}
    return [by_id[i] for i in found]


def test_upstream_closure_is_exact(db, basin):
    assert sorted(names(basin, topology.upstream_ids(db, basin["C"]))) == ["A", "B", "C"]
    assert sorted(names(basin, topology.upstream_ids(db, basin["E"]))) == list("ABCDEF")
    assert sorted(names(basin, topology.upstream_ids(db, basin["D"]))) == ["D", "F"]
    assert names(basin, topology.upstream_ids(db, basin["A"])) == ["A"]


def test_downstream_path_in_flow_order(db, basin):
    assert names(basin, topology.downstream_ids(db, basin["A"])) == ["A", "C", "E"]
    assert names(basin, topology.downstream_ids(db, basin["F"])) == ["F", "D", "E"]
    assert names(basin, topology.downstream_ids(db, basin["E"])) == ["E"]
    assert topology.outlet_of(db, basin["B"]) == basin["E"]


def test_dissolved_area_and_boundary(db, basin):
    up = topology.dissolve(db, topology.upstream_ids(db, basin["C"]), out_srid=9377)
    assert up.area_ha == pytest.approx(30_000, rel=1e-9)
    # A, B, C are three adjacent squares: the dissolved boundary is one 30 x 10 km rectangle.
    geom = shape(json.loads(up.geometry_json))
    assert geom.geom_type == "MultiPolygon" and len(geom.geoms) == 1
    assert geom.bounds == pytest.approx((X0, Y0, X0 + 3 * SIDE, Y0 + SIDE))
    whole = topology.dissolve(db, topology.upstream_ids(db, basin["E"]))
    assert whole.area_ha == pytest.approx(60_000, rel=1e-9)
    lon_min = shape(json.loads(whole.geometry_json)).bounds[0]
    lon, _ = Transformer.from_crs(9377, 4326, always_xy=True).transform(X0, Y0)
    assert lon_min == pytest.approx(lon, abs=1e-4)  # served in EPSG:4326 by default


def test_unknown_unit_is_404(db):
    with pytest.raises(NotFound, match="No existe la unidad hidrográfica 999999999"):
        topology.upstream_ids(db, 999_999_999)


def test_cycle_in_next_down_terminates(db):
    delete_codes(db, "watershed", "cyc-")
    ids = insert_graph(db, "watershed", "cyc-", {"P": "Q", "Q": "P"})
    try:
        assert sorted(names(ids, topology.upstream_ids(db, ids["P"]))) == ["P", "Q"]
        assert names(ids, topology.downstream_ids(db, ids["P"])) == ["P", "Q"]
    finally:
        delete_codes(db, "watershed", "cyc-")


def heap_subtree_size(k: int, n: int) -> int:
    """Nodes in the subtree of heap index k among 1..n."""
    size, level = 0, [k]
    while level:
        size += len(level)
        level = [c for p in level for c in (2 * p, 2 * p + 1) if c <= n]
    return size


def test_ten_thousand_unit_tree_counts(db, tree):
    assert len(topology.upstream_ids(db, tree[1])) == TREE_SIZE
    for k in (2, 3, 7, 100, 5000):
        assert len(topology.upstream_ids(db, tree[k])) == heap_subtree_size(k, TREE_SIZE)
    path = topology.downstream_ids(db, tree[TREE_SIZE])
    assert len(path) == TREE_SIZE.bit_length()  # 14 levels of the heap
    expected, k = [], TREE_SIZE
    while k:
        expected.append(tree[k])
        k //= 2
    assert path == expected


def test_graph_and_sql_agree_on_the_tree(db, tree):
    for k in (1, 2, 77, 4096):
        assert topology.upstream_ids(db, tree[k]) == topology.upstream_ids_sql(db, tree[k])
        assert topology.downstream_ids(db, tree[k]) == topology.downstream_ids_sql(db, tree[k])


def test_graph_is_reloaded_after_a_write(db, basin):
    assert len(topology.upstream_ids(db, basin["E"])) == 6
    extra = insert_graph(db, "watershed", "topo-extra-", {"G": None})["G"]
    try:
        db.execute(
            "UPDATE hydrology_hydrounit SET next_down_id = %s WHERE id = %s", [basin["F"], extra]
        )
        assert extra in topology.upstream_ids(db, basin["E"])
        assert topology.downstream_ids(db, extra) == [extra, basin["F"], basin["D"], basin["E"]]
    finally:
        delete_codes(db, "watershed", "topo-extra-")
    assert len(topology.upstream_ids(db, basin["E"])) == 6


def test_ten_thousand_unit_tree_dissolved_area(db, tree):
    # Every unit is a 1 ha square on a 100 x 100 grid: the whole tree covers 10,000 ha.
    assert topology.dissolve(db, topology.upstream_ids(db, tree[1])).area_ha == pytest.approx(
        10_000, rel=1e-9
    )
