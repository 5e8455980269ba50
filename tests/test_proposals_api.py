"""REST API of the proposal engine: inline runs, durable background jobs, adoption, visibility."""

from __future__ import annotations

import time

import pytest

from delimitation import jobs
from tests import proposal_world
from tests.district_world import users

BODY = {
    "study_area": {"municipalities": ["99001", "99002"]},
    "hydro_system": "derived",
    "hydro_level": 1,
}


@pytest.fixture(scope="module")
def world(database_url, tmp_path_factory):
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        ids = proposal_world.load(conn, tmp_path_factory.mktemp("rasters"))
        yield conn, ids
        proposal_world.unload(conn)


@pytest.fixture(scope="module")
def headers(world):
    with users({"ana": "analyst", "vic": "viewer"}) as h:
        yield h


def test_anonymous_and_viewers_cannot_propose(client, world, headers):
    assert client.post("/api/v1/proposals", json=BODY).status_code == 401
    refused = client.post("/api/v1/proposals", json=BODY, headers=headers["vic"])
    assert refused.status_code == 403
    assert "proponer distritos" in refused.json()["detail"]


def test_unknown_parameter_is_a_clear_400(client, world, headers):
    response = client.post(
        "/api/v1/proposals",
        json={**BODY, "parameters": {"umbral": 0.3}},
        headers=headers["ana"],
    )
    assert response.status_code == 400
    assert "Parámetros desconocidos: umbral" in response.json()["detail"]


def test_inline_run_then_adopt(client, world, headers):
    conn, ids = world
    response = client.post("/api/v1/proposals", json=BODY, headers=headers["ana"])
    assert response.status_code == 201, response.text
    doc = response.json()
    assert doc["status"] == "done" and doc["progress"] == 100
    assert response.headers["location"].endswith(f"/api/v1/proposals/runs/{doc['id']}")
    features = doc["proposals"]["features"]
    assert [f["properties"]["alternative"] for f in features][:1] and len(features) == 4
    b1 = next(f for f in features if f["properties"]["alternative"] == "b1")
    assert b1["properties"]["unit_ids"] == sorted([ids["a0"], ids["a1"], ids["a2"]])
    assert b1["properties"]["consulta_previa_flag"] is True
    # GeoJSON in EPSG:4326 by default: lon/lat of the synthetic world.
    lon, lat = b1["geometry"]["coordinates"][0][0][0]
    assert -90 < lon < -60 and -10 < lat < 15

    single = client.get(b1["properties"]["href"], headers=headers["ana"])
    assert single.status_code == 200
    assert single.json()["properties"]["unit_ids"] == b1["properties"]["unit_ids"]

    adopted = client.post(
        b1["properties"]["adopt"],
        json={"code": "tpe-uraba", "name": "Distrito de prueba", "type": "vida_y_paz"},
        headers=headers["ana"],
    )
    assert adopted.status_code == 201, adopted.text
    etag = adopted.headers["etag"]
    row = conn.execute(
        "SELECT v.number, v.source, v.proposal_id, ST_Area(ST_SymDifference(v.geom, p.geom)), "
        "d.status FROM delimitation_boundaryversion v JOIN delimitation_district d "
        "ON d.id = v.district_id JOIN delimitation_proposal p ON p.id = v.proposal_id "
        "WHERE d.code = 'tpe-uraba'"
    ).fetchone()
    assert row[:3] == (1, "proposal", b1["id"])
    assert row[3] == pytest.approx(0, abs=1e-3)
    assert row[4] == "draft"

    a1 = next(f for f in features if f["properties"]["alternative"] == "a1")
    stale = client.post(
        a1["properties"]["adopt"],
        json={"district": "tpe-uraba"},
        headers={**headers["ana"], "If-Match": '"tpe-uraba-999"'},
    )
    assert stale.status_code == 412
    updated = client.post(
        a1["properties"]["adopt"],
        json={"district": "tpe-uraba"},
        headers={**headers["ana"], "If-Match": etag},
    )
    assert updated.status_code == 200, updated.text
    version = conn.execute(
        "SELECT v.number, v.area_ha FROM delimitation_boundaryversion v JOIN "
        "delimitation_district d ON d.id = v.district_id WHERE d.code = 'tpe-uraba' "
        "ORDER BY v.number DESC LIMIT 1"
    ).fetchone()
    assert version[0] == 2 and version[1] == pytest.approx(10000, abs=0.01)


def test_background_job_runs_on_the_queue(client, world, headers, database_url):
    conn, ids = world
    response = client.post(
        "/api/v1/proposals", json={**BODY, "execution": "background"}, headers=headers["ana"]
    )
    assert response.status_code == 202, response.text
    queued = response.json()
    assert queued["status"] == "queued" and queued["progress"] == 0
    assert response.headers["location"] == queued["job"]
    # A real procrastinate worker drains the queue (the app's embedded worker may race it:
    # the queue's row lock lets exactly one of them take the job).
    jobs.run_worker(database_url, wait=False)
    deadline = time.monotonic() + 60
    while True:
        doc = client.get(queued["job"], headers=headers["ana"]).json()
        # The run is stored before the worker marks the job itself succeeded: wait for both.
        finished = doc["status"] == "failed" or (
            doc["status"] == "done" and doc["job_status"] == "succeeded"
        )
        if finished or time.monotonic() > deadline:
            break
        time.sleep(0.2)
    assert doc["status"] == "done", doc["message"]
    assert doc["progress"] == 100
    assert doc["job_status"] == "succeeded"
    # Same request, same data: the queued run reproduces the inline run's proposals.
    inline = client.post("/api/v1/proposals", json=BODY, headers=headers["ana"]).json()
    strip = [
        (f["properties"]["unit_ids"], f["properties"]["score"], f["geometry"])
        for f in inline["proposals"]["features"]
    ]
    assert strip == [
        (f["properties"]["unit_ids"], f["properties"]["score"], f["geometry"])
        for f in doc["proposals"]["features"]
    ]


def test_proposals_are_hidden_from_anonymous_readers(client, world, headers):
    conn, _ = world
    run = conn.execute("SELECT max(run_id) FROM delimitation_proposal").fetchone()[0]
    assert client.get(f"/api/v1/proposals/runs/{run}").status_code == 401
    assert client.get("/api/v1/layers/proposals/features").status_code in (403, 404)
    listed = client.get("/api/v1/layers/proposals/features", headers=headers["ana"])
    assert listed.status_code == 200
    assert listed.json()["features"]


def test_cli_propose_and_worker(world, capsys, database_url):
    import json

    from app.cli import main

    assert (
        main(["propose", "--municipalities", "99001,99002", "--system", "derived", "--json"]) == 0
    )
    doc = json.loads(capsys.readouterr().out)
    assert doc["status"] == "done"
    assert {f["properties"]["alternative"] for f in doc["proposals"]["features"]} == {
        "a1",
        "b1",
        "a2",
        "c2",
    }
    # Queue a run, then `distritos worker --once` drains the queue and exits.
    conn, _ = world
    from delimitation import engine

    request = engine.parse_request({**BODY, "execution": "background"})
    run_id, _ = engine.create_run(conn, request, "cli")
    jobs.enqueue(database_url, conn, run_id)
    assert main(["worker", "--once"]) == 0
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        status = conn.execute(
            "SELECT status FROM delimitation_proposalrun WHERE id = %s", [run_id]
        ).fetchone()[0]
        if status in ("done", "failed"):
            break
        time.sleep(0.2)
    assert status == "done"


def test_cli_precompute_figures(world, capsys):
    import json

    from app.cli import main

    conn, ids = world
    conn.execute("DELETE FROM delimitation_unitfigures")
    assert main(["precompute-figures", "--system", "derived", "--json"]) == 0
    summary = json.loads(capsys.readouterr().out)
    assert summary["levels"] and all(level["system"] == "derived" for level in summary["levels"])
    assert sum(level["computed"] for level in summary["levels"]) >= len(ids)
    assert main(["precompute-figures", "--system", "derived"]) == 0
    text = capsys.readouterr().out
    assert "0 calculadas ahora, " in text and "ya estaban al día" in text
    assert main(["precompute-figures", "--system", "ninguno"]) != 0
    assert "No hay unidades hidrográficas del sistema 'ninguno'" in capsys.readouterr().err
