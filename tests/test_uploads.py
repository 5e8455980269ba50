"""Uploading files over HTTP: roles, path traversal and zip bombs refused, nothing stored."""

from __future__ import annotations

import io
import json
import zipfile
from pathlib import Path

import pytest

from app.rest.imports import safe_name

SAMPLE = Path(__file__).resolve().parent.parent / "data/samples/uraba/titulos_mineros.geojson"


@pytest.fixture(scope="module")
def headers(database_url):
    from django.contrib.auth.models import Group, User

    from app.accounts.models import ApiToken

    out = {}
    for role in ("analyst", "viewer"):
        user, _ = User.objects.get_or_create(username=f"subida-{role}")
        user.groups.add(Group.objects.get_or_create(name=role)[0])
        out[role] = {"Authorization": f"Bearer {ApiToken.issue(user)[1]}"}
    return out


def _two_tenures() -> bytes:
    collection = json.loads(SAMPLE.read_text())
    collection["features"] = collection["features"][:2]
    return json.dumps(collection).encode()


def _count(db) -> int:
    return db.execute("SELECT count(*) FROM layers_miningtenure").fetchone()[0]


def test_safe_name_never_leaves_the_folder():
    assert safe_name("../../etc/passwd") == "passwd"
    assert safe_name("C:\\Users\\x\\títulos mineros.zip") == "t_tulos_mineros.zip"
    assert safe_name("..") == "archivo"


def test_upload_by_role(client, headers, db):
    files = {"file": ("titulos.geojson", _two_tenures(), "application/geo+json")}
    assert client.post("/api/v1/layers/mining_tenures/imports", files=files).status_code == 401
    viewer = client.post(
        "/api/v1/layers/mining_tenures/imports", files=files, headers=headers["viewer"]
    )
    assert viewer.status_code == 403
    before = _count(db)
    done = client.post(
        "/api/v1/layers/mining_tenures/imports", files=files, headers=headers["analyst"]
    )
    assert done.status_code == 201, done.text
    assert done.json()["read"] == 2
    assert _count(db) - before == done.json()["inserted"]
    dry = client.post(
        "/api/v1/layers/mining_tenures/imports?dry-run=true",
        files=files,
        headers=headers["analyst"],
    )
    assert dry.status_code == 201 and dry.json()["dry_run"] is True


def _zip(members: dict[str, bytes]) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in members.items():
            archive.writestr(name, data)
    return buffer.getvalue()


@pytest.mark.parametrize(
    ("members", "fragment"),
    [
        ({"../../tmp/evil.geojson": b"{}"}, "ruta insegura: '../../tmp/evil.geojson'"),
        ({"/etc/evil.geojson": b"{}"}, "ruta insegura"),
        ({"big.geojson": b"\0" * (60 * 1024 * 1024)}, "bomba de compresión"),
    ],
    ids=["traversal", "absolute", "bomb"],
)
def test_hostile_zips_are_refused_and_nothing_is_written(client, headers, db, members, fragment):
    before = _count(db)
    batches = db.execute("SELECT count(*) FROM layers_importbatch").fetchone()[0]
    response = client.post(
        "/api/v1/layers/mining_tenures/imports",
        files={"file": ("subida.zip", _zip(members), "application/zip")},
        headers=headers["analyst"],
    )
    assert response.status_code == 400
    assert fragment in response.json()["detail"]
    assert _count(db) == before
    assert db.execute("SELECT count(*) FROM layers_importbatch").fetchone()[0] == batches


def test_upload_of_a_source_layer_refreshes_proposal_figures(app, client, headers, db, tmp_path):
    import dataclasses
    import time

    from delimitation import engine, jobs
    from delimitation.parameters import parse_parameters
    from tests import proposal_world

    settings = app.state.settings
    app.state.settings = dataclasses.replace(settings, precompute_figures=True)
    unit_ids = proposal_world.load(db, tmp_path)  # hydro units whose figures go stale
    try:
        collection = json.loads(SAMPLE.read_text())
        collection["features"] = collection["features"][2:4]
        files = {"file": ("titulos.geojson", json.dumps(collection).encode(), "application/json")}
        done = client.post(
            "/api/v1/layers/mining_tenures/imports", files=files, headers=headers["analyst"]
        )
        assert done.status_code == 201, done.text
        job_id = done.json()["figures_job"]
        row = db.execute(
            "SELECT task_name, queue_name FROM procrastinate_jobs WHERE id = %s", [job_id]
        ).fetchone()
        assert row == (jobs.PRECOMPUTE_TASK, jobs.QUEUE)
        # The embedded worker of the test app takes it; every unit ends with fresh figures.
        deadline = time.monotonic() + 120
        status = None
        while time.monotonic() < deadline:
            status = jobs.job_status(db, job_id)
            if status in ("succeeded", "failed"):
                break
            time.sleep(0.2)
        assert status == "succeeded"
        units = db.execute("SELECT count(*) FROM hydrology_hydrounit").fetchone()[0]
        current = engine.figures_fingerprint(db, parse_parameters({}), settings.data_dir)
        fresh = db.execute(
            "SELECT count(*) FROM delimitation_unitfigures WHERE fingerprint = %s", [current]
        ).fetchone()[0]
        assert units >= len(unit_ids) and fresh == units
        # A dry run never queues anything.
        dry = client.post(
            "/api/v1/layers/mining_tenures/imports?dry-run=true",
            files=files,
            headers=headers["analyst"],
        )
        assert dry.status_code == 201 and "figures_job" not in dry.json()
    finally:
        app.state.settings = settings
        proposal_world.unload(db)
