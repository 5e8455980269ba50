"""Done-when of issue 4 on the Urabá sample: proposals from POMCA basins around mining pressure.

The sample is loaded through the importers (the entries of data/samples/manifest.json that the
engine reads): DANE departments and municipalities, POMCA basins (hydro system `pomca`, no
`next_down` published), protected areas, ethnic territories, the real ANM tenures, the
synthetic hotspots and the synthetic aptitude raster. Everything imported here is removed at
the end (by import batch), so other test modules see the database as before.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.district_world import users

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "data" / "samples" / "manifest.json"
LAYERS = {
    "departments",
    "municipalities",
    "protected_areas",
    "ethnic_territories",
    "mining_tenures",
    "mining_hotspots",
}
TABLES = (
    "layers_mininghotspot",
    "layers_miningtenure",
    "layers_ethnicterritory",
    "layers_protectedarea",
    "layers_municipality",
    "layers_department",
)
MUNICIPALITIES = ["05234", "05284", "05842", "05138", "05004", "05480", "05172"]


def _wanted(entry: dict) -> bool:
    if entry["layer"] == "hydro_units":
        return entry.get("system") == "pomca"
    if entry["layer"] == "rasters":
        return entry.get("theme") == "aptitude"
    return entry["layer"] in LAYERS


@pytest.fixture(scope="module")
def uraba(database_url):
    import psycopg

    from app.cli import _import_one, load_manifest

    with psycopg.connect(database_url, autocommit=True) as conn:
        before = conn.execute("SELECT coalesce(max(id), 0) FROM layers_importbatch").fetchone()[0]
        rasters = {r[0] for r in conn.execute("SELECT name FROM layers_rasterlayer").fetchall()}
        loaded = []
        for entry in load_manifest(MANIFEST):
            if _wanted(entry) and Path(entry["path"]).exists():
                _import_one(entry, show_progress=False)
                loaded.append(entry["layer"])
        yield conn, loaded
        with conn.transaction():
            conn.execute("SET LOCAL delimitation.purge = 'on'")
            districts = "SELECT id FROM delimitation_district WHERE code LIKE 'tpu-%'"
            conn.execute(
                f"DELETE FROM delimitation_boundaryversion WHERE district_id IN ({districts})"
            )
            conn.execute("DELETE FROM delimitation_district WHERE code LIKE 'tpu-%'")
        runs = "SELECT id FROM delimitation_proposalrun WHERE hydro_system = 'pomca'"
        conn.execute(f"DELETE FROM delimitation_proposal WHERE run_id IN ({runs})")
        conn.execute(f"DELETE FROM delimitation_proposalrun WHERE id IN ({runs})")
        units = "SELECT id FROM hydrology_hydrounit WHERE batch_id > %s"
        conn.execute(f"DELETE FROM hydrology_unitwatermetrics WHERE unit_id IN ({units})", [before])
        conn.execute("DELETE FROM hydrology_hydrounit WHERE batch_id > %s", [before])
        for table in TABLES:
            conn.execute(f"DELETE FROM {table} WHERE batch_id > %s", [before])
        conn.execute(
            "DELETE FROM layers_rasterlayer WHERE batch_id > %s AND NOT name = ANY(%s)",
            [before, list(rasters)],
        )


@pytest.fixture(scope="module")
def run(uraba, client):
    conn, _ = uraba
    with users({"ana": "analyst"}) as headers:
        response = client.post(
            "/api/v1/proposals",
            json={
                "study_area": {"municipalities": MUNICIPALITIES},
                "hydro_system": "pomca",
                "hydro_level": None,
            },
            headers=headers["ana"],
        )
        assert response.status_code == 201, response.text
        yield conn, response.json(), headers


def test_sample_loaded_through_importers(uraba):
    conn, loaded = uraba
    assert {"municipalities", "hydro_units", "mining_tenures"} <= set(loaded)
    units, with_down = conn.execute(
        "SELECT count(*), count(next_down_id) FROM hydrology_hydrounit WHERE system = 'pomca' "
        "AND code NOT LIKE 'TU%%'"
    ).fetchone()
    assert units >= 5 and with_down == 0


def test_ranked_alternatives_from_pomca_units(run):
    conn, doc, _ = run
    assert doc["status"] == "done"
    assert doc["drainage"].startswith("adyacencia")
    features = doc["proposals"]["features"]
    assert features, doc["message"]
    assert [f["properties"]["rank"] for f in features] == list(range(1, len(features) + 1))
    scores = [f["properties"]["score"] for f in features]
    assert scores == sorted(scores, reverse=True)
    # Without next_down, (b) and (c) are reported unavailable, never faked by adjacency.
    assert {u["alternative"][0] for u in doc["unavailable_alternatives"]} >= {"b", "c"}
    names = {n["name"] for f in features for n in f["properties"]["municipalities"]}
    assert names & {"Dabeiba", "Frontino", "Mutatá", "Chigorodó", "DABEIBA", "FRONTINO"}
    for feature in features:
        p = feature["properties"]
        assert set(p["seed_units"]) <= set(p["unit_ids"])
        assert p["watershed_integrity"] == 1.0
        assert 0 < p["polsby_popper"] <= 1


def test_geometry_is_the_union_of_the_listed_units(run):
    conn, doc, _ = run
    for feature in doc["proposals"]["features"]:
        sym, area = conn.execute(
            "SELECT ST_Area(ST_SymDifference(p.geom, u.g)), ST_Area(u.g) / 10000.0 "
            "FROM delimitation_proposal p, (SELECT ST_Union(geom) AS g FROM hydrology_hydrounit "
            "WHERE id = ANY(%s)) u WHERE p.id = %s",
            [feature["properties"]["unit_ids"], feature["id"]],
        ).fetchone()
        assert sym / 10000.0 < 1e-3 * area
        assert feature["properties"]["area_ha"] == pytest.approx(area, rel=1e-6)


def test_figures_recomputed_independently(run):
    conn, doc, _ = run
    best = doc["proposals"]["features"][0]["properties"]
    ids = best["unit_ids"]
    # Tenure area: dissolve the tenures first, then clip by each unit (the engine clips first).
    tenure_ha = conn.execute(
        "SELECT coalesce(sum(ST_Area(ST_Intersection(u.geom, t.g))), 0) / 10000.0 "
        "FROM hydrology_hydrounit u, (SELECT ST_Union(geom) AS g FROM layers_miningtenure) t "
        "WHERE u.id = ANY(%s)",
        [ids],
    ).fetchone()[0]
    assert best["tenure_ha"] == pytest.approx(tenure_ha, rel=1e-4, abs=0.05)
    total = sum(f["tenure_ha"] for f in doc["unit_figures"].values())
    assert best["tenure_share_captured"] == pytest.approx(best["tenure_ha"] / total, abs=1e-4)
    top = best["municipalities"][0]
    ha = conn.execute(
        "SELECT ST_Area(ST_Intersection(m.geom, p.geom)) / 10000.0 FROM layers_municipality m, "
        "delimitation_proposal p WHERE m.code = %s AND p.id = %s",
        [top["code"], doc["proposals"]["features"][0]["id"]],
    ).fetchone()[0]
    assert top["ha"] == pytest.approx(ha, abs=0.01)
    ethnic = conn.execute(
        "SELECT count(*) FROM layers_ethnicterritory e, delimitation_proposal p "
        "WHERE p.id = %s AND ST_Intersects(e.geom, p.geom) "
        "AND ST_Area(ST_Intersection(e.geom, p.geom)) > 100",
        [doc["proposals"]["features"][0]["id"]],
    ).fetchone()[0]
    assert best["consulta_previa_flag"] is (ethnic > 0 or bool(best["ethnic_territories"]))
    # Seeds follow the documented formula from the stored unit figures.
    params = doc["parameters"]
    for unit_id, figures in doc["unit_figures"].items():
        pressure = (
            params["hotspot_weight"] * figures["hotspot_ha"]
            + params["tenure_weight"] * figures["tenure_ha"]
        ) / figures["area_ha"]
        assert pressure == pytest.approx(figures["pressure"], abs=1e-5)
        assert (int(unit_id) in doc["seeds"]) is (
            figures["pressure"] >= params["pressure_threshold"]
        )


def test_adopt_best_proposal(run, client):
    conn, doc, headers = run
    best = doc["proposals"]["features"][0]
    response = client.post(
        best["properties"]["adopt"],
        json={"code": "tpu-rio-sucio", "name": "Río Sucio y Río León", "type": "vida_y_paz"},
        headers=headers["ana"],
    )
    assert response.status_code == 201, response.text
    body = response.json()
    assert body["status"] == "draft"
    source, proposal = conn.execute(
        "SELECT v.source, v.proposal_id FROM delimitation_boundaryversion v JOIN "
        "delimitation_district d ON d.id = v.district_id WHERE d.code = 'tpu-rio-sucio'"
    ).fetchone()
    assert (source, proposal) == ("proposal", best["id"])
