"""Done-when of issue 5 on the Urabá sample: the whole plan story on real layers.

The samples are loaded through the importers (`app.cli` manifest entries, as `distritos
load-samples` does): DANE municipalities, POMCA basins, RUNAP and Ley 2.a, ANT resguardos and
consejos comunitarios, ANM titles. The district is the union of the seven gold-mining
municipalities of the Río Sucio and Río León basins, computed in SQL and posted to the API;
it goes draft -> proposed -> in_validation -> delimited (act). Then the Mesa, the plan with
actions in all six components scoped to a real basin, a real municipality and a drawn polygon,
approval, follow-ups, progress by number, the dossier PDF and the GeoPackage export. Every
figure is checked against an independent PostGIS query. Everything made here is removed.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
from pathlib import Path

import psycopg
import pytest

from geo.spanish_numbers import percent
from tests.cleanup import purge_districts_like

ROOT = Path(__file__).resolve().parent.parent
MANIFEST = ROOT / "data" / "samples" / "manifest.json"
CODE = "tpl-uraba"
MUNICIPALITIES = ["05234", "05284", "05842", "05138", "05004", "05480", "05172"]
LAYERS = {
    "departments": "layers_department",
    "municipalities": "layers_municipality",
    "protected_areas": "layers_protectedarea",
    "ethnic_territories": "layers_ethnicterritory",
    "mining_tenures": "layers_miningtenure",
    "hydro_units": "hydrology_hydrounit",
}
UNION = "SELECT ST_Union(geom) AS g FROM layers_municipality WHERE code = ANY(%(codes)s)"
ORGS = {
    "mme": ("Ministerio de Minas y Energía (prueba Urabá)", "MME-U", "national_entity"),
    "gob": ("Gobernación de Antioquia (prueba Urabá)", "GANT-U", "territorial_entity"),
    "car": ("Corpourabá (prueba Urabá)", "CPU-U", "environmental_authority"),
    "dabeiba": ("Alcaldía de Dabeiba (prueba Urabá)", "ADAB-U", "territorial_entity"),
    "oia": ("Organización Indígena de Antioquia (prueba Urabá)", "OIA-U", "ethnic_authority"),
    "coop": ("Cooperación alemana (prueba Urabá)", "GIZ-U", "international_cooperation"),
}
TODAY = dt.date.today()


def _wanted(entry: dict) -> bool:
    if entry["layer"] == "hydro_units":
        return entry.get("system") == "pomca"
    return entry["layer"] in LAYERS


def _samples_present(conn: psycopg.Connection) -> bool:
    """True when another module of this session already loaded what this story reads."""
    municipalities, basins, resguardos, titles = conn.execute(
        "SELECT (SELECT count(*) FROM layers_municipality WHERE code = ANY(%s)), "
        "(SELECT count(*) FROM hydrology_hydrounit WHERE system = 'pomca' "
        "AND code IN ('rio-sucio-alto', 'rio-leon')), "
        "(SELECT count(*) FROM layers_ethnicterritory WHERE kind = 'resguardo_indigena'), "
        "(SELECT count(*) FROM layers_miningtenure)",
        [MUNICIPALITIES],
    ).fetchone()
    return municipalities == len(MUNICIPALITIES) and basins == 2 and resguardos and titles


@pytest.fixture(scope="module")
def conn(database_url):
    with psycopg.connect(database_url, autocommit=True) as connection:
        yield connection


@pytest.fixture(scope="module")
def samples(conn):
    """The Urabá samples through the manifest's importers, loaded once (idempotent)."""
    from app.cli import _import_one, load_manifest

    if _samples_present(conn):
        yield "shared"
        return
    before = conn.execute("SELECT coalesce(max(id), 0) FROM layers_importbatch").fetchone()[0]
    for entry in load_manifest(MANIFEST):
        if _wanted(entry) and Path(entry["path"]).exists():
            _import_one(entry, show_progress=False)
    yield "loaded"
    purge_districts_like(conn.info.dsn, CODE)
    conn.execute(
        "UPDATE hydrology_hydrounit SET next_down_id = NULL, parent_id = NULL WHERE batch_id > %s",
        [before],
    )
    conn.execute(
        "DELETE FROM hydrology_unitwatermetrics WHERE unit_id IN "
        "(SELECT id FROM hydrology_hydrounit WHERE batch_id > %s)",
        [before],
    )
    for table in reversed(list(LAYERS.values())):
        conn.execute(f"DELETE FROM {table} WHERE batch_id > %s", [before])


@pytest.fixture(scope="module")
def world(samples, conn, database_url):
    """Organisations, users with tokens (secretary, analyst, coordinator, focal points)."""
    from django.contrib.auth.models import Group, User

    from app.accounts.models import ApiToken
    from plan.models import FocalPoint, Organisation

    purge_districts_like(database_url, CODE)
    orgs = {
        key: Organisation.objects.update_or_create(
            name=name, defaults={"acronym": acronym, "kind": kind}
        )[0]
        for key, (name, acronym, kind) in ORGS.items()
    }
    accounts = []

    def user(name: str, role: str, org: str | None = None) -> dict:
        account, _ = User.objects.get_or_create(username=f"tpl-{name}")
        account.groups.set([Group.objects.get_or_create(name=role)[0]])
        accounts.append(account.pk)
        if org:
            FocalPoint.objects.update_or_create(user=account, defaults={"organisation": orgs[org]})
        return {"Authorization": f"Bearer {ApiToken.issue(account)[1]}"}

    yield {
        "orgs": {k: v.pk for k, v in orgs.items()},
        "analyst": user("analista", "analyst"),
        "secretary": user("secretaria", "mesa_secretary"),
        "coordinator": user("coordinador", "coordinator"),
        "focal_mme": user("enlace-mme", "focal_point", "mme"),
        "focal_car": user("enlace-car", "focal_point", "car"),
    }
    purge_districts_like(database_url, CODE)
    FocalPoint.objects.filter(user_id__in=accounts).delete()
    User.objects.filter(pk__in=accounts).delete()
    Organisation.objects.filter(pk__in=[o.pk for o in orgs.values()]).delete()


def _one(conn: psycopg.Connection, sql: str, **params) -> tuple:
    return conn.execute(sql, {"codes": MUNICIPALITIES, **params}).fetchone()


def _delimited_district(client, conn, world) -> str:
    """Post the union of the seven municipalities and take it to `delimited` with an act."""
    boundary = _one(conn, f"SELECT ST_AsGeoJSON(g, 2) FROM ({UNION}) u")[0]
    made = client.post(
        "/api/v1/districts",
        headers=world["analyst"],
        json={
            "code": CODE,
            "name": "Río Sucio y Río León (Urabá antioqueño)",
            "type": "vida_y_paz",
            "geometry": json.loads(boundary),
            "crs": "EPSG:9377",
            "hydro_system": "pomca",
        },
    )
    assert made.status_code == 201, made.text
    etag = made.headers["etag"]
    base = f"/api/v1/districts/{CODE}"
    for to in ("proposed", "in_validation"):
        moved = client.post(
            f"{base}/transitions", json={"to": to}, headers={**world["analyst"], "If-Match": etag}
        )
        assert moved.status_code == 200, moved.text
        etag = moved.headers["etag"]
    # Only an act delimits: the transition is refused, the act accepted.
    refused = client.post(
        f"{base}/transitions",
        json={"to": "delimited"},
        headers={**world["coordinator"], "If-Match": etag},
    )
    assert refused.status_code == 409 and "acto administrativo" in refused.json()["detail"]
    act = client.post(
        f"{base}/acts",
        headers={**world["coordinator"], "If-Match": etag},
        json={
            "kind": "delimitation",
            "number": "Resolución 40777 de prueba Urabá",
            "date": "2025-06-30",
            "summary": "Delimita el distrito minero del Río Sucio y el Río León.",
        },
    )
    assert act.status_code == 201, act.text
    assert act.json()["status"] == "delimited"
    return base


def _unit_id(conn: psycopg.Connection, code: str) -> int:
    return conn.execute(
        "SELECT id FROM hydrology_hydrounit WHERE system = 'pomca' AND code = %s", [code]
    ).fetchone()[0]


def _drawn_square(conn: psycopg.Connection, municipality: str, half: float) -> dict:
    """A square (GeoJSON, EPSG:4326) of side 2*half metres on a point inside a municipality."""
    return json.loads(
        conn.execute(
            "SELECT ST_AsGeoJSON(ST_Transform(ST_Expand(ST_PointOnSurface(geom), %s), 4326), 7) "
            "FROM layers_municipality WHERE code = %s",
            [half, municipality],
        ).fetchone()[0]
    )


def test_plan_story_on_the_uraba_sample(client, conn, world):
    orgs = world["orgs"]
    secretary, coordinator = world["secretary"], world["coordinator"]
    base = _delimited_district(client, conn, world)

    # The Mesa, convened by the act; the decree's grade rule refuses a `profesional`.
    table = client.post(
        f"{base}/worktable",
        json={"secretary": orgs["mme"], "installed_on": "2025-07-15"},
        headers=secretary,
    )
    assert table.status_code == 201, table.text
    assert table.json()["convened_by"] == "Resolución 40777 de prueba Urabá"
    person = {"person": "Delegada de prueba", "position": "Directora", "active_from": "2025-07-15"}
    low = client.post(
        f"{base}/worktable/delegates",
        headers=secretary,
        json={**person, "organisation": orgs["gob"], "grade": "profesional"},
    )
    assert low.status_code == 422
    assert low.json()["detail"] == (
        "El delegado de Gobernación de Antioquia (prueba Urabá) debe ser del nivel directivo o "
        "asesor (Decreto 0977 de 2024); se recibió el nivel 'profesional'."
    )
    delegates = []
    for org, grade in [("mme", "directivo"), ("gob", "asesor"), ("car", "directivo")]:
        ok = client.post(
            f"{base}/worktable/delegates",
            headers=secretary,
            json={**person, "organisation": orgs[org], "grade": grade},
        )
        assert ok.status_code == 201, ok.text
        delegates.append(ok.json()["id"])
    for org, stages in [("oia", ["build", "follow_up"]), ("coop", ["execute"])]:
        supporter = client.post(
            f"{base}/worktable/supporters",
            headers=secretary,
            json={"organisation": orgs[org], "stages": stages},
        )
        assert supporter.status_code == 201, supporter.text
    session = client.post(
        f"{base}/worktable/sessions",
        headers=secretary,
        json={"date": "2025-08-01", "place": "Dabeiba", "attendees": delegates},
    )
    assert session.status_code == 201 and session.json()["attendees"] == 3

    plan = client.post(
        f"{base}/plan",
        json={"period_start": "2025-07-01", "period_end": "2029-06-30"},
        headers=secretary,
    )
    assert plan.status_code == 201, plan.text

    def action(code, component, scope, responsible="mme", end="2028-12-31", purposes=(1, 8)):
        return client.post(
            f"{base}/plan/actions",
            headers=secretary,
            json={
                "code": code,
                "title": f"Acción {code}",
                "component": component,
                "purposes": list(purposes),
                "responsible": orgs[responsible],
                "scope": scope,
                "start": "2025-07-01",
                "end": end,
                "budget_cop": 250_000_000,
            },
        )

    sucio = _unit_id(conn, "rio-sucio-alto")
    drawn = _drawn_square(conn, "05284", 1500)  # 3 km x 3 km in Frontino
    made = {
        "MIN-1": action("MIN-1", "minero", {"kind": "hydro_units", "hydro_units": [sucio]}),
        "SOC-1": action(
            "SOC-1",
            "social",
            {"kind": "municipalities", "municipalities": ["05234"]},
            "gob",
            purposes=(6, 10),
        ),
        "ECO-1": action(
            "ECO-1", "economico", {"kind": "drawn", "geometry": drawn}, "gob", purposes=(4, 9)
        ),
        "INS-1": action("INS-1", "institucional", {"kind": "district"}, end="2025-12-31"),
        "ETN-1": action(
            "ETN-1", "etnico", {"kind": "municipalities", "municipalities": ["05234"]}, "car"
        ),
        "AMB-1": action(
            "AMB-1",
            "ambiental",
            {"kind": "municipalities", "municipalities": ["05480"]},
            "car",
            purposes=(8, 11),
        ),
    }
    for code, response in made.items():
        assert response.status_code == 201, (code, response.text)
    assert made["MIN-1"].json()["properties"]["hydro_units"] == [sucio]

    # The étnico action over Dabeiba lists the resguardos it touches, as PostGIS finds them.
    expected_ethnic = [
        row[0]
        for row in conn.execute(
            "SELECT t.name FROM layers_ethnicterritory t JOIN layers_municipality m "
            "ON m.code = '05234' AND ST_Intersects(t.geom, m.geom) "
            "AND NOT ST_Touches(t.geom, m.geom) ORDER BY t.name"
        ).fetchall()
    ]
    listed = made["ETN-1"].json()["properties"]["ethnic_territories"]
    assert listed == expected_ethnic and len(listed) >= 3
    assert "Chaquenoda" in listed

    unknown = action(
        "MIN-3", "minero", {"kind": "municipalities", "municipalities": ["05234", "5999"]}
    )
    assert unknown.status_code == 422
    assert unknown.json()["detail"] == "No existen los municipios (códigos DIVIPOLA) 05999."
    no_unit = action("MIN-3", "minero", {"kind": "hydro_units", "hydro_units": [sucio, -1]})
    assert no_unit.json()["detail"] == "No existen las unidades hidrográficas [-1]."

    # Río León is half outside the district: refused, naming the hectares outside.
    leon = _unit_id(conn, "rio-leon")
    outside = action("MIN-2", "minero", {"kind": "hydro_units", "hydro_units": [leon]})
    assert outside.status_code == 422
    assert "se sale del límite del distrito" in outside.json()["detail"]
    outside_ha, share = _one(
        conn,
        f"SELECT ST_Area(ST_Difference(h.geom, u.g)) / 1e4, "
        f"ST_Area(ST_Difference(h.geom, u.g)) / ST_Area(h.geom) FROM ({UNION}) u, "
        "hydrology_hydrounit h WHERE h.id = %(leon)s",
        leon=leon,
    )
    assert outside.json()["outside_ha"] == pytest.approx(outside_ha, rel=1e-3)
    assert 0.3 < share < 0.7
    assert percent(100 * share) in outside.json()["detail"]  # es-CO: "46,8 %"

    # Approval refused while actions lack indicators and a responsible without a delegate.
    orphan = action("INS-2", "institucional", {"kind": "district"}, "dabeiba")
    assert orphan.status_code == 201
    etag = client.get(f"{base}/plan", headers=secretary).headers["etag"]
    incomplete = client.post(f"{base}/plan/approve", headers={**coordinator, "If-Match": etag})
    assert incomplete.status_code == 409
    missing = incomplete.json()["missing"]
    assert "La acción MIN-1 no tiene indicadores." in missing
    assert (
        "La entidad responsable de INS-2 (ADAB-U) no tiene delegado en la Mesa de Trabajo."
        in missing
    )
    assert len(missing) == 8  # seven actions without indicators, one entity without delegate
    # A delegate whose designation has ended does not count; a current one does.
    ended = {**person, "organisation": orgs["dabeiba"], "grade": "asesor"}
    for extra in ({"active_from": "2025-01-01", "active_to": "2025-06-30"}, {}):
        added = client.post(
            f"{base}/worktable/delegates", headers=secretary, json={**ended, **extra}
        )
        assert added.status_code == 201, added.text
        still = client.post(f"{base}/plan/approve", headers={**coordinator, "If-Match": etag})
        gap = "La entidad responsable de INS-2 (ADAB-U) no tiene delegado en la Mesa de Trabajo."
        assert (gap in still.json()["missing"]) is bool(extra)
    targets = {
        "MIN-1": (0, 20),
        "SOC-1": (0, 8),
        "ECO-1": (10, 30),
        "INS-1": (0, 4),
        "INS-2": (0, 2),
        "ETN-1": (0, 5),
        "AMB-1": (100, 500),
    }
    indicators = {}
    for code, (baseline, target) in targets.items():
        made_indicator = client.post(
            f"{base}/plan/actions/{code}/indicators",
            headers=secretary,
            json={
                "name": f"Indicador {code}",
                "unit": "unidades",
                "baseline": baseline,
                "target": target,
                "target_date": "2028-12-31",
                "frequency": "quarterly",
            },
        )
        assert made_indicator.status_code == 201, made_indicator.text
        indicators[code] = made_indicator.json()["id"]
    approved = client.post(f"{base}/plan/approve", headers={**coordinator, "If-Match": etag})
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved" and approved.json()["actions"] == 7

    # Follow-up: each entity its own actions; the bulk endpoint answers row by row.
    recent = (TODAY - dt.timedelta(days=10)).isoformat()
    mine = {"indicator": indicators["MIN-1"], "period": "P1", "date": recent, "value": 5}
    first = client.post("/api/v1/followups", json=mine, headers=world["focal_mme"])
    assert first.status_code == 201, first.text
    again = client.post("/api/v1/followups", json={**mine, "value": 8}, headers=world["focal_mme"])
    assert again.status_code == 200 and again.json()["id"] == first.json()["id"]
    foreign = client.post("/api/v1/followups", json=mine, headers=world["focal_car"])
    assert foreign.status_code == 403
    assert foreign.json()["detail"] == (
        "La acción MIN-1 es de MME-U; solo su entidad reporta su seguimiento."
    )
    bulk = client.post(
        "/api/v1/followups:bulk",
        headers=world["focal_car"],
        json=[
            {"indicator": indicators["AMB-1"], "period": "P1", "date": recent, "value": 300},
            {"indicator": indicators["ETN-1"], "period": "P1", "date": recent, "value": 9},
            {"indicator": indicators["MIN-1"], "period": "P1", "date": recent, "value": 20},
            {"indicator": indicators["ETN-1"], "period": "P2", "date": "no es fecha", "value": 1},
        ],
    )
    assert bulk.status_code == 200
    rows = bulk.json()["results"]
    assert [r["status"] for r in rows] == [201, 201, 403, 400]
    assert rows[2]["error"].startswith("La acción MIN-1 es de MME-U")
    assert "date" in rows[3]["error"]
    # The refused rows wrote nothing: MIN-1 still holds the MME figure.
    assert conn.execute(
        "SELECT value FROM plan_followup WHERE indicator_id = %s", [indicators["MIN-1"]]
    ).fetchall() == [(8.0,)]
    other = client.post(
        "/api/v1/followups",
        headers=secretary,
        json={"indicator": indicators["ECO-1"], "period": "P1", "date": recent, "value": 15},
    )
    assert other.status_code == 201

    # Progress, by number: MIN-1 8/20, ECO-1 5/20, ETN-1 clamped at 1, AMB-1 200/400.
    progress = client.get(f"{base}/progress").json()
    actions = {a["code"]: a for a in progress["actions"]}
    expected = {
        "MIN-1": 0.4,
        "SOC-1": 0.0,
        "ECO-1": 0.25,
        "INS-1": 0.0,
        "INS-2": 0.0,
        "ETN-1": 1.0,
        "AMB-1": 0.5,
    }
    assert {c: a["attainment"] for c, a in actions.items()} == pytest.approx(expected)
    assert progress["attainment"] == pytest.approx(round(sum(expected.values()) / 7, 4))
    by_component = {k: v["attainment"] for k, v in progress["by_component"].items()}
    assert by_component == pytest.approx(
        {
            "minero": 0.4,
            "social": 0.0,
            "economico": 0.25,
            "institucional": 0.0,
            "etnico": 1.0,
            "ambiental": 0.5,
        }
    )
    assert progress["by_entity"]["CPU-U"]["attainment"] == pytest.approx(0.75)
    assert progress["by_purpose"]["8"]["actions"] == 5
    assert progress["overdue"] == ["INS-1"]  # ended 2025-12-31, not done
    assert sorted(progress["without_followup"]) == ["INS-1", "INS-2", "SOC-1"]
    # By municipality: the scopes overlap the municipalities as PostGIS says (real codes).
    names = dict(
        conn.execute(
            "SELECT code, name FROM layers_municipality WHERE code = ANY(%s)", [MUNICIPALITIES]
        ).fetchall()
    )
    by_municipality = progress["by_municipality"]
    assert set(by_municipality) == {f"{c} {names[c]}" for c in MUNICIPALITIES}
    dabeiba = by_municipality[f"05234 {names['05234']}"]
    assert dabeiba["actions"] == 5  # MIN-1 (Río Sucio), SOC-1, ETN-1, INS-1, INS-2
    assert dabeiba["attainment"] == pytest.approx(round((0.4 + 0 + 1 + 0 + 0) / 5, 4))
    frontino = by_municipality[f"05284 {names['05284']}"]
    assert frontino["actions"] == 4  # MIN-1, ECO-1 (drawn), INS-1, INS-2
    mutata = by_municipality[f"05480 {names['05480']}"]
    assert mutata == {"actions": 3, "attainment": pytest.approx(round(0.5 / 3, 4))}
    unit = next(k for k in progress["by_hydro_unit"] if k.startswith("rio-sucio-alto "))
    assert progress["by_hydro_unit"][unit]["actions"] >= 4


@pytest.fixture
def story(world):
    from plan.models import StrategicPlan

    if not StrategicPlan.objects.filter(district__code=CODE, status="approved").exists():
        pytest.skip("the story test builds and approves the plan")
    return world


def test_dossier_pdf_on_the_uraba_sample(client, story, tmp_path):
    import numpy as np
    from PIL import Image

    response = client.get(f"/api/v1/districts/{CODE}/dossier.pdf")
    assert response.status_code == 200, response.text
    assert response.headers["content-type"] == "application/pdf"
    pdf = tmp_path / "ficha.pdf"
    pdf.write_bytes(response.content)
    if shutil.which("pdfinfo") is None:
        pytest.fail("poppler-utils (pdfinfo/pdftoppm) missing: make test-deps installs it")
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    pages = int(next(x.split()[-1] for x in info.stdout.splitlines() if x.startswith("Pages:")))
    assert pages == 4
    subprocess.run(
        ["pdftoppm", "-png", "-r", "40", "-f", "2", "-l", "2", str(pdf), str(tmp_path / "map")],
        check=True,
    )
    image = np.asarray(Image.open(next(tmp_path.glob("map*.png"))).convert("L"))
    assert image.std() > 10  # the map page has drawn content
    assert (image < 250).mean() > 0.05  # and not only a thin outline on white
    text = subprocess.run(
        ["pdftotext", "-f", "1", "-l", "1", str(pdf), "-"], capture_output=True, text=True
    ).stdout
    assert "Resolución 40777 de prueba Urabá" in text
    # The district's seven municipalities, not the neighbours its edges brush.
    listed = {line.split()[0] for line in text.splitlines() if line.strip()[:2] == "05"}
    assert listed == set(MUNICIPALITIES)
    assert "05234 Dabeiba: " in text and "(Dibujado)" in text  # Spanish, not DANE capitals
    assert "hasta el 30/06/2025" in text  # the ended designation is shown as such
    plan_text = subprocess.run(
        ["pdftotext", "-f", "3", "-l", "3", str(pdf), "-"], capture_output=True, text=True
    ).stdout
    assert "estado aprobado" in plan_text and "propósitos 8, 11" in plan_text


def test_geopackage_export_on_the_uraba_sample(client, story, conn, tmp_path):
    import pyogrio

    gpkg = tmp_path / "export.gpkg"
    response = client.get(f"/api/v1/districts/{CODE}/export.gpkg")
    assert response.status_code == 200
    gpkg.write_bytes(response.content)
    layers = {
        name: pyogrio.read_info(gpkg, layer=name)["features"]
        for name, _ in pyogrio.list_layers(gpkg)
    }
    versions = conn.execute(
        "SELECT count(*) FROM delimitation_boundaryversion v JOIN delimitation_district d "
        "ON d.id = v.district_id WHERE d.code = %s",
        [CODE],
    ).fetchone()[0]
    assert layers["limites"] == versions == 1
    assert layers["acciones"] == 7
    frame = pyogrio.read_dataframe(gpkg, layer="acciones")
    assert sorted(frame["code"]) == [
        "AMB-1",
        "ECO-1",
        "ETN-1",
        "INS-1",
        "INS-2",
        "MIN-1",
        "SOC-1",
    ]
    drawn = frame.loc[frame["code"] == "ECO-1", "geometry"].iloc[0]
    assert drawn.area / 1e4 == pytest.approx(900, rel=0.01)  # 3 km x 3 km


def test_admin_pages_for_the_mesa_secretary_on_the_sample(client, story):
    from django.contrib.auth.models import Group, User

    from plan.models import WorkTable

    account, _ = User.objects.get_or_create(username="tpl-admin-secretaria")
    account.is_staff = True
    account.set_password("clave-segura-123")
    account.save()
    account.groups.set([Group.objects.get(name="mesa_secretary")])
    table = WorkTable.objects.get(district__code=CODE)
    client.cookies.clear()
    try:
        login = client.get("/admin/login/")
        token = login.cookies.get("csrftoken") or client.cookies.get("csrftoken")
        logged = client.post(
            "/admin/login/",
            data={
                "username": account.username,
                "password": "clave-segura-123",
                "csrfmiddlewaretoken": token,
                "next": "/admin/",
            },
            headers={"Referer": "http://testserver/admin/login/"},
            follow_redirects=True,
        )
        assert logged.status_code == 200
        add = client.get("/admin/plan/action/add/")
        assert add.status_code == 200
        assert "Añadir acción" in add.text and "/static/vendor/ol/ol.js" in add.text
        page = client.get(f"/admin/plan/worktable/{table.pk}/change/")
        assert page.status_code == 200
        assert "Delegados" in page.text and "Delegada de prueba" in page.text
        assert page.text.count('value="directivo" selected') == 2
        listing = client.get("/admin/plan/action/?component__exact=etnico")
        assert listing.status_code == 200 and "ETN-1" in listing.text
    finally:
        client.cookies.clear()
        account.delete()
