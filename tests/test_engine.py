"""The proposal engine on a small synthetic world with drainage (tests/proposal_world.py).

World (10 km squares in EPSG:9377, origin far from any other test's data):

    row 2:                      d1
    row 1:  c2   c1   c0        d0
    row 0:  a0   a1   a2   a3

Drainage: a0 -> a1 -> a2 -> a3 -> (out); c2 -> c1 -> c0 -> a2 (a larger river: 3 units
upstream against a1's 2); d0 -> d1 -> (out). Hotspots: 500 ha in a0, 300 ha in d1 (seeds),
50 ha 'con_permisos' in c0 (no seed). A resguardo covers part of a2, a national park part of
a3. Municipalities 99001 (columns 0-1) and 99002 (columns 2-3) of department 99.
"""

from __future__ import annotations

import pytest

from delimitation import alternatives, engine
from delimitation.parameters import ProposalParameters, parse_parameters
from geo.errors import InvalidInput, Unprocessable
from tests import proposal_world


@pytest.fixture(scope="module")
def world(database_url, tmp_path_factory):
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        ids = proposal_world.load(conn, tmp_path_factory.mktemp("rasters"))
        yield conn, ids
        proposal_world.unload(conn)


def _request(**parameters) -> engine.ProposalRequest:
    return engine.parse_request(
        {
            "study_area": {"municipalities": ["99001", "99002"]},
            "hydro_system": "derived",
            "parameters": parameters,
        }
    )


def _run(conn, **parameters) -> dict:
    run_id, _ = engine.create_run(conn, _request(**parameters), "tester")
    engine.execute_run(conn, run_id)
    return engine.run_document(conn, run_id, 9377)


def _by_alternative(doc: dict) -> dict[str, dict]:
    return {f["properties"]["alternative"]: f for f in doc["proposals"]["features"]}


def test_units_figures_and_seeds(world):
    conn, ids = world
    doc = _run(conn)
    assert doc["status"] == "done" and doc["progress"] == 100
    assert sorted(int(u) for u in doc["unit_figures"]) == sorted(ids.values())
    assert doc["seeds"] == sorted([ids["a0"], ids["d1"]])
    a0 = doc["unit_figures"][str(ids["a0"])]
    assert a0["hotspot_ha"] == pytest.approx(500, abs=0.01)
    assert a0["pressure"] == pytest.approx(0.05, abs=1e-6)
    a1 = doc["unit_figures"][str(ids["a1"])]
    # Title and application overlap by 200 ha: counted once for pressure, per type in the table.
    assert a1["tenure_ha"] == pytest.approx(600, abs=0.01)
    assert a1["tenures_by_type_status"]["title|Activo"]["ha"] == pytest.approx(400, abs=0.01)
    assert a1["pressure"] == pytest.approx(0.25 * 600 / 10000, abs=1e-6)
    assert doc["unit_figures"][str(ids["c0"])]["hotspots_by_category"] == {
        "con_permisos": {"ha": pytest.approx(50, abs=0.01), "count": 1}
    }
    assert doc["unit_figures"][str(ids["a0"])]["municipalities_ha"] == {"99001": 10000.0}
    assert doc["totals"]["hotspot_ha"] == pytest.approx(850, abs=0.01)


def test_alternatives_follow_drainage(world):
    conn, ids = world
    doc = _run(conn)
    props = _by_alternative(doc)
    assert set(props) == {"a1", "b1", "a2", "c2"}
    assert props["a1"]["properties"]["unit_ids"] == [ids["a0"]]
    # (b) stops at a2, where the larger river from c0 (3 units upstream vs 2) joins.
    assert props["b1"]["properties"]["unit_ids"] == sorted([ids["a0"], ids["a1"], ids["a2"]])
    assert props["c2"]["properties"]["unit_ids"] == sorted([ids["d0"], ids["d1"]])
    unavailable = {u["alternative"] for u in doc["unavailable_alternatives"]}
    assert "b2" in unavailable
    ranks = [f["properties"]["rank"] for f in doc["proposals"]["features"]]
    assert ranks == [1, 2, 3, 4]
    scores = [f["properties"]["score"] for f in doc["proposals"]["features"]]
    assert scores == sorted(scores, reverse=True)


def test_geometry_is_union_of_units_and_figures(world):
    conn, ids = world
    doc = _run(conn)
    run_id = doc["id"]
    b1 = _by_alternative(doc)["b1"]
    units = b1["properties"]["unit_ids"]
    sym = conn.execute(
        "SELECT ST_Area(ST_SymDifference(p.geom, (SELECT ST_Union(geom) FROM "
        "hydrology_hydrounit WHERE id = ANY(%s)))) FROM delimitation_proposal p "
        "WHERE p.run_id = %s AND p.alternative = 'b1'",
        [units, run_id],
    ).fetchone()[0]
    assert sym == pytest.approx(0, abs=1e-3)
    m = b1["properties"]
    assert m["area_ha"] == pytest.approx(30000, abs=0.01)
    # 3 squares in a row: 4*pi*A / P^2 with A = 3e8 m2, P = 80 km.
    assert m["polsby_popper"] == pytest.approx(4 * 3.141592653589793 * 3e8 / 80_000**2, abs=1e-4)
    assert m["watershed_integrity"] == 1.0
    assert m["hotspot_share_captured"] == pytest.approx(500 / 850, abs=1e-4)
    assert m["tenure_share_captured"] == pytest.approx(1.0, abs=1e-4)
    assert m["consulta_previa_flag"] is True
    assert m["ethnic_territories"][0]["name"] == "Resguardo de Prueba"
    assert m["ethnic_ha"] == pytest.approx(800, abs=0.01)
    assert m["exclusion_ha"] == 0
    # 3 km cells: unit edges (10, 20, 30 km) fall mid-cell; exact coverage still gives 1/2.
    assert m["aptitude_shares"][proposal_world.RASTER] == {"alta": 0.5, "baja": 0.5}
    a1_aptitude = doc["unit_figures"][str(ids["a1"])]["aptitude_ha"][proposal_world.RASTER]
    assert a1_aptitude == {"alta": pytest.approx(5000, abs=0.01), "baja": pytest.approx(5000)}
    assert [(x["code"], x["ha"]) for x in m["municipalities"]] == [
        ("99001", 20000.0),
        ("99002", 10000.0),
    ]
    assert m["municipalities"][0]["share_of_proposal"] == pytest.approx(2 / 3, abs=1e-4)
    assert m["departments"][0]["share_of_proposal"] == pytest.approx(1.0)
    w = ProposalParameters().weights
    expected = (
        w.hotspot_captured * 500 / 850
        + w.tenure_captured * 1.0
        + w.compactness * m["polsby_popper"]
        + w.integrity
        - w.ethnic * 800 / 30000
    )
    assert m["score"] == pytest.approx(expected, abs=1e-4)


def test_deterministic_rerun(world):
    conn, _ = world
    first, second = _run(conn), _run(conn)
    assert first["id"] != second["id"]
    for a, b in zip(first["proposals"]["features"], second["proposals"]["features"], strict=True):
        assert a["geometry"] == b["geometry"]
        assert {k: v for k, v in a["properties"].items() if k != "run_id"} == {
            k: v for k, v in b["properties"].items() if k != "run_id"
        }
    same = conn.execute(
        "SELECT bool_and(ST_Equals(p.geom, q.geom)) FROM delimitation_proposal p "
        "JOIN delimitation_proposal q ON q.rank = p.rank AND q.run_id = %s WHERE p.run_id = %s",
        [second["id"], first["id"]],
    ).fetchone()[0]
    assert same is True


def test_max_area_cuts_whole_units(world):
    conn, ids = world
    doc = _run(conn, max_area_ha=20000.0)
    props = _by_alternative(doc)
    b1 = props["b1"]["properties"]
    assert b1["unit_ids"] == sorted([ids["a0"], ids["a1"]])
    assert b1["cut_at_max_area"] is True
    assert all(f["properties"]["area_ha"] <= 20000.01 for f in doc["proposals"]["features"])


def test_threshold_without_seeds(world):
    conn, _ = world
    doc = _run(conn, pressure_threshold=5.0)
    assert doc["status"] == "done"
    assert doc["proposals"]["features"] == []
    assert "Ninguna unidad" in doc["message"]


def test_parameters_validation():
    with pytest.raises(InvalidInput, match="Parámetros desconocidos: umbral"):
        parse_parameters({"umbral": 0.1})
    with pytest.raises(InvalidInput, match="Valores desconocidos en 'hotspot_categories'"):
        parse_parameters({"hotspot_categories": ["mala"]})
    with pytest.raises(InvalidInput, match="Pesos desconocidos: foo"):
        parse_parameters({"weights": {"foo": 1}})
    with pytest.raises(InvalidInput, match="entre 1 y 1e"):
        parse_parameters({"max_area_ha": 0})
    params = parse_parameters({"tenure_types": ["title", "title"], "alternatives": 3})
    assert params.tenure_types == ("title",) and params.alternatives == 3
    assert parse_parameters(params.to_json()) == params
    with pytest.raises(InvalidInput, match="Campos desconocidos: foo"):
        engine.parse_request({"study_area": {"departments": ["05"]}, "foo": 1})
    with pytest.raises(InvalidInput, match="exactamente uno"):
        engine.parse_request({"study_area": {"departments": ["05"], "municipalities": ["05001"]}})


def test_unknown_municipality_is_refused(world):
    conn, _ = world
    request = engine.parse_request(
        {"study_area": {"municipalities": ["99001", "99999"]}, "hydro_system": "derived"}
    )
    with pytest.raises(InvalidInput, match="Municipios desconocidos: 99999"):
        engine.create_run(conn, request)


def test_adjacency_fallback_joins_seeds_through_gap():
    # A 1x4 strip: seeds at both ends are 2 units apart; gap 2 joins them, gap 1 does not.
    adjacency = {1: {2}, 2: {1, 3}, 3: {2, 4}, 4: {3}}
    area = dict.fromkeys(adjacency, 10.0)
    pressure = {1: 0.5, 2: 0.0, 3: 0.0, 4: 0.4}
    joined = alternatives.adjacency_alternatives(
        {1, 2, 3, 4}, [1, 4], adjacency, area, pressure, 1000, gap=2
    )
    assert [a.unit_ids for a in joined.alternatives] == [(1, 2, 3, 4)]
    assert {u["alternative"] for u in joined.unavailable} == {"b1", "c1"}
    apart = alternatives.adjacency_alternatives(
        {1, 2, 3, 4}, [1, 4], adjacency, area, pressure, 1000, gap=1
    )
    assert [a.unit_ids for a in apart.alternatives] == [(1,), (4,)]


def test_cached_figures_follow_data_changes(world):
    conn, ids = world
    first = _run(conn)
    assert first["timings"]["units_computed"] in (0, len(ids))
    warm = _run(conn)
    assert warm["timings"]["units_computed"] == 0
    assert warm["unit_figures"] == first["unit_figures"]
    # A new hotspot bumps the layer revision: the cache is not read, c1 becomes a seed.
    conn.execute(
        "INSERT INTO layers_mininghotspot (source, source_id, category, setting, area_ha, "
        f"synthetic, geom) VALUES ('test_engine', 'h-new', 'explotacion_ilicita', 'veta', 400, "
        f"true, {proposal_world.square_in('c1', 400)})"
    )
    try:
        changed = _run(conn)
        assert changed["timings"]["units_computed"] == len(ids)
        assert changed["unit_figures"][str(ids["c1"])]["hotspot_ha"] == pytest.approx(400, abs=0.01)
        assert ids["c1"] in changed["seeds"]
    finally:
        conn.execute("DELETE FROM layers_mininghotspot WHERE source_id = 'h-new'")


def test_precomputed_figures_serve_the_first_run(world):
    conn, ids = world
    conn.execute("DELETE FROM delimitation_unitfigures")
    cold = _run(conn)
    assert cold["timings"]["units_computed"] == len(ids)
    conn.execute("DELETE FROM delimitation_unitfigures")
    done = engine.precompute_unit_figures(conn, None, "derived")
    assert done and all(d["system"] == "derived" for d in done)
    assert all(d["computed"] == d["units"] for d in done)
    assert sum(d["units"] for d in done) >= len(ids)
    cached = conn.execute(
        "SELECT count(*) FROM delimitation_unitfigures WHERE unit_id = ANY(%s)",
        [list(ids.values())],
    ).fetchone()[0]
    assert cached == len(ids)
    first = _run(conn)
    assert first["timings"]["units_computed"] == 0
    assert first["unit_figures"] == cold["unit_figures"]
    assert first["seeds"] == cold["seeds"]
    # Idempotent: nothing left to compute.
    again = engine.precompute_unit_figures(conn, None, "derived")
    assert [d["computed"] for d in again] == [0] * len(again)
    with pytest.raises(Unprocessable, match="sistema 'ninguno'"):
        engine.precompute_unit_figures(conn, None, "ninguno")


def test_study_area_by_geometry_and_by_department(world):
    conn, ids = world
    x0, y0 = proposal_world.X0, proposal_world.Y0
    square = [[x0, y0], [x0 + 20_000, y0], [x0 + 20_000, y0 + 20_000], [x0, y0 + 20_000], [x0, y0]]
    request = engine.parse_request(
        {
            "study_area": {
                "geometry": {"type": "Polygon", "coordinates": [square]},
                "crs": "EPSG:9377",
            },
            "hydro_system": "derived",
        }
    )
    run_id, estimate = engine.create_run(conn, request)
    # a2 and c0 only touch the square's edge: 0 % inside, below min_unit_overlap.
    assert engine.candidate_units(conn, run_id) == sorted(
        [ids["a0"], ids["a1"], ids["c2"], ids["c1"]]
    )
    assert estimate >= 4
    request = engine.parse_request(
        {"study_area": {"departments": ["99"]}, "hydro_system": "derived"}
    )
    run_id, _ = engine.create_run(conn, request)
    assert engine.candidate_units(conn, run_id) == sorted(ids.values())
