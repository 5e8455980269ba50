"""The plan story on a real PostGIS: act -> Mesa -> plan with scoped actions -> approval ->
follow-up -> progress, with every refusal on the way."""

from __future__ import annotations

import datetime as dt

import pytest

from tests.cleanup import purge_districts_like

X0, Y0 = 4_700_000, 2_250_000  # district: a 20 km square in EPSG:9377
KM = 1000


def rect(x: float, y: float, width: float, height: float) -> str:
    return (
        f"SRID=9377;MULTIPOLYGON((({x} {y},{x + width} {y},{x + width} {y + height},"
        f"{x} {y + height},{x} {y})))"
    )


def square(x: float, y: float, size: float) -> str:
    return rect(x, y, size, size)


def lonlat_square(x: float, y: float, size: float) -> dict:
    from pyproj import Transformer

    to = Transformer.from_crs(9377, 4326, always_xy=True)
    ring = [
        to.transform(px, py)
        for px, py in [(x, y), (x + size, y), (x + size, y + size), (x, y + size), (x, y)]
    ]
    return {"type": "Polygon", "coordinates": [ring]}


@pytest.fixture(scope="module")
def world(database_url):
    from django.contrib.auth.models import Group, User

    from app.accounts.models import ApiToken
    from delimitation.models import BoundaryVersion, District
    from hydrology.models import HydroUnit
    from layers.models import EthnicTerritory, Municipality
    from plan.models import FocalPoint, Organisation

    Municipality.objects.filter(code__in=["97001", "97002", "97003"]).delete()
    for code, geom in [
        ("97001", rect(X0, Y0, 10 * KM, 20 * KM)),
        ("97002", rect(X0 + 10 * KM, Y0, 10 * KM, 20 * KM)),
        ("97003", square(X0 + 60 * KM, Y0, 10 * KM)),
    ]:
        Municipality.objects.create(code=code, name=f"Mun {code}", area_ha=10_000, geom=geom)
    inside = HydroUnit.objects.create(
        system="pomca",
        code="T-1",
        name="Río Norte",
        area_ha=20_000,
        geom=square(X0, Y0 + 10 * KM, 10 * KM),
    )
    outside = HydroUnit.objects.create(
        system="pomca",
        code="T-2",
        name="Río Lejano",
        area_ha=10_000,
        geom=square(X0 + 60 * KM, Y0, 10 * KM),
    )
    EthnicTerritory.objects.create(
        kind="resguardo_indigena",
        source_id="T-E1",
        name="Resguardo Prueba",
        area_ha=400,
        geom=square(X0 + 15 * KM, Y0 + 2 * KM, 2 * KM),
    )
    district = District.objects.create(
        code="dm-prueba", name="Distrito de prueba", type="vida_y_paz", status="delimited"
    )
    BoundaryVersion.objects.create(
        district=district, number=1, geom=square(X0, Y0, 20 * KM), area_ha=40_000, source="drawn"
    )
    orgs = {
        "minenergia": Organisation.objects.create(
            name="Ministerio de Minas y Energía T", acronym="MME", kind="national_entity"
        ),
        "gobernacion": Organisation.objects.create(
            name="Gobernación de Prueba", kind="territorial_entity"
        ),
        "car": Organisation.objects.create(
            name="Corporación Autónoma de Prueba", acronym="CAR", kind="environmental_authority"
        ),
        "coop": Organisation.objects.create(
            name="Cooperación Prueba", kind="international_cooperation"
        ),
    }

    def user(name: str, role: str, org: str | None = None) -> str:
        account, _ = User.objects.get_or_create(username=name)
        account.groups.add(Group.objects.get_or_create(name=role)[0])
        if org:
            FocalPoint.objects.update_or_create(user=account, defaults={"organisation": orgs[org]})
        return {"Authorization": f"Bearer {ApiToken.issue(account)[1]}"}

    yield {
        "district": district,
        "orgs": {k: v.pk for k, v in orgs.items()},
        "inside_unit": inside.pk,
        "outside_unit": outside.pk,
        "secretary": user("t-secretaria", "mesa_secretary"),
        "coordinator": user("t-coordinador", "coordinator"),
        "focal_mme": user("t-enlace-mme", "focal_point", "minenergia"),
        "focal_car": user("t-enlace-car", "focal_point", "car"),
    }
    purge_districts_like(database_url, "dm-prueba")
    Municipality.objects.filter(code__in=["97001", "97002", "97003"]).delete()
    HydroUnit.objects.filter(system="pomca", code__in=["T-1", "T-2"]).delete()
    EthnicTerritory.objects.filter(source_id="T-E1").delete()
    FocalPoint.objects.filter(organisation__in=orgs.values()).delete()
    Organisation.objects.filter(pk__in=[o.pk for o in orgs.values()]).delete()


def test_whole_plan_story(client, world):
    from delimitation.models import AdministrativeAct, BoundaryVersion

    code = world["district"].code
    orgs = world["orgs"]
    secretary, coordinator = world["secretary"], world["coordinator"]
    base = f"/api/v1/districts/{code}"

    # No act yet: the Mesa cannot be convened.
    refused = client.post(
        f"{base}/worktable", json={"secretary": orgs["minenergia"]}, headers=secretary
    )
    assert refused.status_code == 409, refused.text
    assert "no tiene acto de delimitación" in refused.json()["detail"]
    AdministrativeAct.objects.create(
        district=world["district"],
        kind="delimitation",
        number="Resolución 40999 T",
        date=dt.date(2025, 3, 1),
        boundary_version=BoundaryVersion.objects.get(district=world["district"], number=1),
    )
    assert (
        client.post(f"{base}/worktable", json={"secretary": orgs["minenergia"]}).status_code == 401
    )
    made = client.post(
        f"{base}/worktable",
        json={"secretary": orgs["minenergia"], "installed_on": "2025-04-01"},
        headers=secretary,
    )
    assert made.status_code == 201, made.text
    assert made.json()["convened_by"] == "Resolución 40999 T"

    delegate = {"person": "Ana Pérez", "position": "Directora", "active_from": "2025-04-01"}
    low = client.post(
        f"{base}/worktable/delegates",
        headers=secretary,
        json={**delegate, "organisation": orgs["gobernacion"], "grade": "profesional"},
    )
    assert low.status_code == 422
    assert "debe ser del nivel directivo o asesor" in low.json()["detail"]
    assert "'profesional'" in low.json()["detail"]
    for org, grade in [
        ("minenergia", "directivo"),
        ("gobernacion", "asesor"),
        ("car", "directivo"),
    ]:
        ok = client.post(
            f"{base}/worktable/delegates",
            headers=secretary,
            json={**delegate, "organisation": orgs[org], "grade": grade},
        )
        assert ok.status_code == 201, ok.text
    support = client.post(
        f"{base}/worktable/supporters",
        headers=secretary,
        json={"organisation": orgs["coop"], "stages": ["build", "execute"]},
    )
    assert support.status_code == 201
    not_supporter = client.post(
        f"{base}/worktable/supporters",
        headers=secretary,
        json={"organisation": orgs["car"], "stages": ["build"]},
    )
    assert not_supporter.status_code == 422

    plan = client.post(
        f"{base}/plan",
        json={"period_start": "2025-01-01", "period_end": "2028-12-31"},
        headers=secretary,
    )
    assert plan.status_code == 201

    def action(code_, component, scope, responsible="minenergia"):
        return client.post(
            f"{base}/plan/actions",
            headers=secretary,
            json={
                "code": code_,
                "title": f"Acción {code_}",
                "component": component,
                "purposes": [1, 8],
                "responsible": orgs[responsible],
                "scope": scope,
                "start": "2025-01-01",
                "end": "2026-12-31",
            },
        )

    minero = action("A1", "minero", {"kind": "hydro_units", "hydro_units": [world["inside_unit"]]})
    assert minero.status_code == 201, minero.text
    social = action("A2", "social", {"kind": "municipalities", "municipalities": ["97001"]})
    assert social.status_code == 201, social.text
    economico = action(
        "A3",
        "economico",
        {"kind": "drawn", "geometry": lonlat_square(X0 + 2 * KM, Y0 + 2 * KM, 3 * KM)},
        "gobernacion",
    )
    assert economico.status_code == 201, economico.text
    assert action("A4", "institucional", {"kind": "district"}).status_code == 201
    etnico = action(
        "A5",
        "etnico",
        {"kind": "drawn", "geometry": lonlat_square(X0 + 14 * KM, Y0 + 1 * KM, 4 * KM)},
        "car",
    )
    assert etnico.status_code == 201
    assert etnico.json()["properties"]["ethnic_territories"] == ["Resguardo Prueba"]
    ambiental = action(
        "A6", "ambiental", {"kind": "municipalities", "municipalities": ["97002"]}, "car"
    )
    assert ambiental.status_code == 201

    outside = action(
        "A7", "minero", {"kind": "hydro_units", "hydro_units": [world["outside_unit"]]}
    )
    assert outside.status_code == 422
    assert "se sale del límite del distrito" in outside.json()["detail"]
    assert "10.000,00 ha (100,0 % de su área) quedan fuera" in outside.json()["detail"]
    assert outside.json()["outside_ha"] == pytest.approx(10_000, rel=1e-6)
    half_out = action(
        "A8", "minero", {"kind": "drawn", "geometry": lonlat_square(X0 + 18 * KM, Y0, 4 * KM)}
    )
    assert half_out.status_code == 422
    assert half_out.json()["outside_ha"] == pytest.approx(800, rel=0.01)

    # A draft is corrected in place: a stray action is re-scoped, renamed, then removed.
    assert action("A9", "social", {"kind": "district"}).status_code == 201
    a9 = f"{base}/plan/actions/A9"
    assert client.patch(a9, json={"title": "Sin permiso"}).status_code == 401
    assert (
        client.patch(a9, json={"title": "Sin permiso"}, headers=world["focal_mme"]).status_code
        == 403
    )
    moved = client.patch(
        a9,
        headers=secretary,
        json={
            "title": "Acción social corregida",
            "component": "economico",
            "scope": {"kind": "municipalities", "municipalities": ["97002"]},
        },
    )
    assert moved.status_code == 200, moved.text
    props = moved.json()["properties"]
    assert (props["title"], props["component"], props["scope_kind"]) == (
        "Acción social corregida",
        "economico",
        "municipalities",
    )
    assert props["municipalities"] == ["97002"] and props["purposes"] == [1, 8]
    from plan.models import Action

    assert Action.objects.get(plan__district=world["district"], code="A9").geom.area == (
        pytest.approx(10 * KM * 20 * KM, rel=1e-6)
    )
    out = client.patch(
        a9,
        headers=secretary,
        json={
            "title": "No debe quedar",
            "scope": {"kind": "hydro_units", "hydro_units": [world["outside_unit"]]},
        },
    )
    assert out.status_code == 422 and "se sale del límite del distrito" in out.json()["detail"]
    bad = client.patch(a9, headers=secretary, json={"component": "lunar"})
    assert bad.status_code == 422 and "Componente desconocido 'lunar'" in bad.json()["detail"]
    taken = client.patch(a9, headers=secretary, json={"code": "A1"})
    assert taken.status_code == 409 and "Ya existe la acción 'A1'" in taken.json()["detail"]
    empty = client.patch(a9, headers=secretary, json={"title": None})
    assert empty.status_code == 400 and "title" in empty.json()["detail"]
    kept = Action.objects.get(plan__district=world["district"], code="A9")
    assert (kept.title, kept.component) == ("Acción social corregida", "economico")
    made = client.post(
        f"{a9}/indicators",
        headers=secretary,
        json={
            "name": "Indicador A9",
            "unit": "talleres",
            "baseline": 0,
            "target": 4,
            "target_date": "2026-12-31",
            "frequency": "annual",
        },
    )
    assert made.status_code == 201, made.text
    a9_indicator = f"{a9}/indicators/{made.json()['id']}"
    raised = client.patch(a9_indicator, headers=secretary, json={"target": 6})
    assert raised.status_code == 200 and raised.json()["target"] == 6
    assert raised.json()["unit"] == "talleres"
    wrong = client.patch(a9_indicator, headers=secretary, json={"frequency": "a veces"})
    assert wrong.status_code == 422 and "Frecuencia desconocida 'a veces'" in wrong.json()["detail"]
    assert (
        client.patch(f"{a9}/indicators/999999", headers=secretary, json={"target": 1}).status_code
        == 404
    )
    assert client.delete(a9_indicator, headers=secretary).status_code == 204
    assert client.delete(a9, headers=secretary).status_code == 204
    listed = client.get(f"{base}/plan/actions", headers=secretary).json()["features"]
    assert "A9" not in {f["properties"]["code"] for f in listed}
    from layers.models import AuditEntry

    trail = AuditEntry.objects.filter(object_type="action", object_id=str(kept.pk))
    assert list(trail.order_by("id").values_list("action", flat=True)) == [
        "create",
        "update",
        "delete",
    ]
    assert trail.get(action="update").before["title"] == "Acción A9"
    missing = client.patch(a9, headers=secretary, json={"title": "Otra vez"})
    assert missing.status_code == 404 and "No existe la acción 'A9'" in missing.json()["detail"]

    # Approval refused while actions lack indicators.
    etag = client.get(f"{base}/plan", headers=secretary).headers["etag"]
    incomplete = client.post(f"{base}/plan/approve", headers={**coordinator, "If-Match": etag})
    assert incomplete.status_code == 409
    assert "La acción A1 no tiene indicadores." in incomplete.json()["missing"]
    indicator_ids = {}
    for code_ in ["A1", "A2", "A3", "A4", "A5", "A6"]:
        made = client.post(
            f"{base}/plan/actions/{code_}/indicators",
            headers=secretary,
            json={
                "name": f"Indicador {code_}",
                "unit": "unidades",
                "baseline": 0,
                "target": 10,
                "target_date": "2026-12-31",
                "frequency": "quarterly",
            },
        )
        assert made.status_code == 201, made.text
        indicator_ids[code_] = made.json()["id"]
    assert (
        client.post(f"{base}/plan/approve", headers=secretary | {"If-Match": etag}).status_code
        == 403
    )
    assert client.post(f"{base}/plan/approve", headers=coordinator).status_code == 428
    assert (
        client.post(
            f"{base}/plan/approve", headers={**coordinator, "If-Match": '"999"'}
        ).status_code
        == 412
    )
    approved = client.post(f"{base}/plan/approve", headers={**coordinator, "If-Match": etag})
    assert approved.status_code == 200, approved.text
    assert approved.json()["status"] == "approved"
    # An approved plan is frozen: corrections go to a new version.
    frozen = client.patch(f"{base}/plan/actions/A1", headers=secretary, json={"title": "Tarde"})
    assert frozen.status_code == 409 and "solo un borrador se edita" in frozen.json()["detail"]
    assert client.delete(f"{base}/plan/actions/A1", headers=secretary).status_code == 409

    # Follow-up: own entity only, idempotent by period.
    figure = {
        "indicator": indicator_ids["A1"],
        "period": "2025-T1",
        "date": "2025-03-31",
        "value": 3,
    }
    first = client.post("/api/v1/followups", json=figure, headers=world["focal_mme"])
    assert first.status_code == 201
    again = client.post(
        "/api/v1/followups", json={**figure, "value": 4}, headers=world["focal_mme"]
    )
    assert again.status_code == 200
    assert again.json()["id"] == first.json()["id"]
    foreign = client.post("/api/v1/followups", json=figure, headers=world["focal_car"])
    assert foreign.status_code == 403
    assert "solo su entidad" in foreign.json()["detail"]
    bulk = client.post(
        "/api/v1/followups:bulk",
        headers=world["focal_car"],
        json=[
            {
                "indicator": indicator_ids["A6"],
                "period": "2025-T1",
                "date": "2025-03-31",
                "value": 10,
            },
            {
                "indicator": indicator_ids["A1"],
                "period": "2025-T1",
                "date": "2025-03-31",
                "value": 9,
            },
            {"indicator": 999999, "period": "2025-T1", "date": "2025-03-31", "value": 1},
            {"indicator": indicator_ids["A5"], "period": "2025-T1", "date": "no-date", "value": 1},
        ],
    ).json()["results"]
    assert [r["status"] for r in bulk] == [201, 403, 404, 400]

    progress = client.get(f"{base}/progress?hydro_system=pomca").json()
    actions = {a["code"]: a for a in progress["actions"]}
    assert actions["A1"]["attainment"] == pytest.approx(0.4)
    assert actions["A6"]["attainment"] == pytest.approx(1.0)
    assert actions["A2"]["attainment"] == pytest.approx(0.0)
    assert progress["by_component"]["minero"]["attainment"] == pytest.approx(0.4)
    assert progress["by_purpose"]["8"]["actions"] == 6
    assert progress["by_entity"]["CAR"]["attainment"] == pytest.approx(0.5)
    assert progress["by_municipality"]["97002 Mun 97002"]["actions"] == 3  # A4, A5, A6
    assert progress["by_hydro_unit"]["T-1 Río Norte"]["actions"] == 3  # A1, A2, A4

    # Anonymous readers see the published plan but no personal data of delegates.
    assert client.get(f"{base}/plan").json()["status"] == "approved"
    delegates = client.get(f"{base}/worktable").json()["delegates"]
    assert len(delegates) == 3 and all("person" not in d and "email" not in d for d in delegates)
    assert "person" in client.get(f"{base}/worktable", headers=secretary).json()["delegates"][0]


def test_action_scopes_are_a_layer_hidden_while_the_plan_is_draft(client, world):
    from plan.models import StrategicPlan

    plan = StrategicPlan.objects.filter(district=world["district"]).order_by("-version").first()
    if plan is None:
        pytest.skip("the story test creates the plan")
    url = "/api/v1/layers/plan_actions/features?district=dm-prueba"
    public = client.get(url).json()
    staff = client.get(url, headers=world["secretary"]).json()
    expected = plan.actions.count() if plan.status != "draft" else 0
    assert public["numberMatched"] == expected
    assert staff["numberMatched"] == plan.actions.count()
    StrategicPlan.objects.filter(pk=plan.pk).update(status="draft")
    try:
        assert client.get(url).json()["numberMatched"] == 0
        assert client.get(url, headers=world["secretary"]).json()["numberMatched"] == 6
    finally:
        StrategicPlan.objects.filter(pk=plan.pk).update(status=plan.status)
    one = next(f for f in staff["features"] if f["properties"]["code"] == "A1")
    assert one["properties"]["purposes"] == "1,8"
    assert one["properties"]["component"] == "minero"
    assert one["geometry"]["type"] == "MultiPolygon"


def test_dossier_pdf_renders_pages_that_are_not_blank(client, world, tmp_path):
    import shutil
    import subprocess

    import numpy as np
    from PIL import Image

    response = client.get("/api/v1/districts/dm-prueba/dossier.pdf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/pdf"
    pdf = tmp_path / "ficha.pdf"
    pdf.write_bytes(response.content)
    if shutil.which("pdfinfo") is None:
        pytest.fail("poppler-utils (pdfinfo/pdftoppm) missing: make test-deps installs it")
    info = subprocess.run(["pdfinfo", str(pdf)], capture_output=True, text=True, check=True)
    pages = int(
        next(line.split()[-1] for line in info.stdout.splitlines() if line.startswith("Pages:"))
    )
    assert pages == 4
    subprocess.run(
        ["pdftoppm", "-png", "-r", "40", "-f", "2", "-l", "2", str(pdf), str(tmp_path / "page")],
        check=True,
    )
    image = np.asarray(Image.open(next(tmp_path.glob("page*.png"))).convert("L"))
    assert image.std() > 5  # the map page has drawn content, not a blank page
    html = client.get("/api/v1/districts/dm-prueba/dossier.html").text
    assert "Ficha del distrito minero Distrito de prueba" in html
    assert "Resolución 40999 T" in html


def test_geopackage_and_tables_export(client, world, tmp_path):
    import io

    import pyogrio
    from openpyxl import load_workbook

    gpkg = tmp_path / "export.gpkg"
    gpkg.write_bytes(client.get("/api/v1/districts/dm-prueba/export.gpkg").content)
    layers = {
        name: pyogrio.read_info(gpkg, layer=name)["features"]
        for name, _ in pyogrio.list_layers(gpkg)
    }
    assert layers["limites"] == 1
    assert layers["acciones"] == 6
    assert pyogrio.read_info(gpkg, layer="acciones")["crs"] == "EPSG:9377"
    book = load_workbook(io.BytesIO(client.get("/api/v1/districts/dm-prueba/export.xlsx").content))
    assert book.sheetnames == ["acciones", "indicadores", "seguimientos"]
    assert book["acciones"].max_row == 7
    assert book["indicadores"].max_row == 7
    csv_text = client.get("/api/v1/districts/dm-prueba/export.csv").text
    rows = csv_text.strip().splitlines()
    assert rows[0].startswith("action,indicator,period")
    assert len(rows) == 1 + 2  # A1 and A6 have one figure each
