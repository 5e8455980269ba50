"""The viewer and the workspace in Debian's headless Chromium (Playwright, no browser download)."""

from __future__ import annotations

import io
import os
import re

import numpy as np
import pytest
from PIL import Image
from pyproj import Transformer

playwright_api = pytest.importorskip("playwright.sync_api")

CHROMIUM = "/usr/bin/chromium"
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--use-angle=swiftshader",
    "--enable-unsafe-swiftshader",
]
TO_4326 = Transformer.from_crs(9377, 4326, always_xy=True)
# Test data near Segovia (Antioquia), in EPSG:9377.
X0, Y0 = 4_750_000.0, 2_300_000.0
CODES = ["98001", "98002"]
TILE_URL = re.compile(r"/tiles/([a-z_,]+)/\d+/\d+/\d+\.pbf")

pytestmark = pytest.mark.skipif(not os.path.exists(CHROMIUM), reason="sin /usr/bin/chromium")


@pytest.fixture(scope="module")
def db(database_url):
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        yield conn


@pytest.fixture(scope="module")
def map_data(db):
    """Two municipalities, a mining title and a protected area in the same 30 km."""
    db.execute("DELETE FROM layers_municipality WHERE code = ANY(%s)", [CODES])
    for i, code in enumerate(CODES):
        x = X0 + i * 15_000
        db.execute(
            "INSERT INTO layers_municipality (code, name, department_id, legal_act, area_ha, geom) "
            "VALUES (%s, %s, '05', '', 22500, ST_Multi(ST_MakeEnvelope(%s, %s, %s, %s, 9377)))",
            [code, f"Municipio visor {i}", x, Y0, x + 15_000, Y0 + 15_000],
        )
    db.execute(
        "INSERT INTO layers_miningtenure (tenure_type, expediente, holders, minerals, "
        "mineral_group, status, stage, modality, scale, municipalities_published, area_ha, "
        "source, geom) VALUES ('title', 'VISOR-001', ARRAY['Empresa'], ARRAY['oro'], '', "
        "'vigente', '', '', '', '', 1600, 'prueba-visor', "
        "ST_Multi(ST_MakeEnvelope(%s, %s, %s, %s, 9377)))",
        [X0 + 3_000, Y0 + 3_000, X0 + 7_000, Y0 + 7_000],
    )
    db.execute(
        "INSERT INTO layers_protectedarea (name, category, category_published, legal_basis, "
        "excludes_mining, area_ha, geom) VALUES ('Páramo de prueba', 'paramo', '', '', true, 2000, "
        "ST_Multi(ST_MakeEnvelope(%s, %s, %s, %s, 9377)))",
        [X0 + 18_000, Y0 + 4_000, X0 + 26_000, Y0 + 11_000],
    )
    yield
    db.execute("DELETE FROM layers_municipality WHERE code = ANY(%s)", [CODES])
    db.execute("DELETE FROM layers_miningtenure WHERE source = 'prueba-visor'")
    db.execute("DELETE FROM layers_protectedarea WHERE name = 'Páramo de prueba'")


@pytest.fixture(scope="module")
def browser():
    with playwright_api.sync_playwright() as p:
        instance = p.chromium.launch(executable_path=CHROMIUM, headless=True, args=ARGS)
        yield instance
        instance.close()


def _open(browser, url: str):
    page = browser.new_page(viewport={"width": 1200, "height": 800})
    errors: list[str] = []
    page.on("console", lambda m: errors.append(m.text) if m.type == "error" else None)
    page.on("pageerror", lambda e: errors.append(str(e)))
    tiles: dict[str, int] = {}

    def on_response(response):
        match = TILE_URL.search(response.url)
        if match and response.status == 200:
            for name in match.group(1).split(","):
                tiles[name] = tiles.get(name, 0) + 1
        if "/fonts/" in response.url:
            key = "glyphs" if response.status == 200 else f"glyphs {response.status}"
            tiles[key] = tiles.get(key, 0) + 1

    page.on("response", on_response)
    page.goto(url)
    page.wait_for_function("window.dmReady === true", timeout=90_000)
    return page, errors, tiles


def _go(page, lon: float, lat: float, zoom: float) -> None:
    page.evaluate(
        "([lon, lat, zoom]) => new Promise((resolve) => { dmMap.once('idle', resolve); "
        "dmMap.jumpTo({center: [lon, lat], zoom: zoom}); })",
        [lon, lat, zoom],
    )


def test_viewer_renders_three_layers_and_opens_a_popup(browser, live_server, map_data, tmp_path):
    page, errors, tiles = _open(browser, live_server + "/map")
    center = TO_4326.transform(X0 + 15_000, Y0 + 7_500)
    _go(page, center[0], center[1], 10)
    assert {"municipalities", "mining_tenures", "protected_areas"} <= set(tiles), tiles
    rendered = page.evaluate(
        "[...new Set(dmMap.queryRenderedFeatures().map(f => f.layer.metadata['dm:layer']))]"
    )
    assert {"municipalities", "mining_tenures", "protected_areas"} <= set(rendered)
    # Names are written on the map with glyphs served by the app itself (no font server).
    assert tiles.get("glyphs", 0) >= 1 and not any(k.startswith("glyphs ") for k in tiles)
    labels = page.evaluate(
        "dmMap.queryRenderedFeatures({layers: ['municipalities-label']})"
        ".map(f => f.properties.name)"
    )
    assert {"Municipio visor 1", "Municipio visor 2"} & set(labels), labels
    assert len(labels) == len(set(labels)), labels  # one label per municipality, not per tile
    # The screenshot is a map, not a blank canvas: several colours and real contrast.
    shot = np.asarray(Image.open(io.BytesIO(page.locator("#map").screenshot())).convert("RGB"))
    colours = np.unique(shot.reshape(-1, 3), axis=0)
    assert len(colours) > 20
    assert shot.std() > 8
    background = np.array([0xF4, 0xF1, 0xEA])
    assert (np.abs(shot.astype(int) - background).sum(axis=-1) > 30).mean() > 0.02
    # Layer toggles and the legend are in Spanish.
    assert page.locator("label[for=toggle-mining_tenures]").inner_text().strip() == (
        "Títulos y solicitudes mineras"
    )
    assert "Título minero" in page.locator("#layer-list").inner_text()
    # A click on the title opens its pop-up with its published attributes.
    lon, lat = TO_4326.transform(X0 + 5_000, Y0 + 5_000)
    x, y = page.evaluate(
        "([lon, lat]) => { const p = dmMap.project([lon, lat]); return [p.x, p.y]; }", [lon, lat]
    )
    page.locator("#map canvas").click(position={"x": x, "y": y})
    popup = page.locator(".maplibregl-popup")
    popup.wait_for(timeout=10_000)
    text = popup.inner_text()
    assert "Títulos y solicitudes mineras" in text
    assert "VISOR-001" in text
    assert "Código de expediente" in text
    # Search by municipality.
    page.fill("#search-text", "Municipio visor 1")
    page.locator("#search-results li", has_text="98002").wait_for(timeout=10_000)
    assert errors == [], errors
    page.close()


def test_embed_page_and_snippet(browser, live_server, map_data):
    page, errors, _ = _open(browser, live_server + "/map?district=DM-X")
    snippet = page.input_value("#embed-snippet")
    assert snippet.startswith('<iframe src="' + live_server + "/map/embed?district=DM-X")
    page.close()
    page, errors, _ = _open(browser, live_server + "/map/embed")
    assert page.locator(".topbar").count() == 0
    assert page.locator("#embed-snippet").count() == 0
    assert errors == [], errors
    page.close()


def _analyst(db):
    # Playwright's sync API runs an event loop in this thread; the ORM calls here are plain sync.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    from django.contrib.auth.models import Group, User

    user, _ = User.objects.get_or_create(username="analista_visor")
    user.set_password("clave-de-prueba-123")
    user.is_staff = True  # the Django login form of the admin only admits staff
    user.save()
    group, _ = Group.objects.get_or_create(name="analyst")
    user.groups.add(group)
    return user


def test_workspace_draws_validates_and_saves_a_version(browser, live_server, map_data, db):
    import httpx

    probe = httpx.post(live_server + "/api/v1/validate", json={})
    if probe.status_code == 404:
        pytest.skip("POST /api/v1/validate todavía no existe")
    user = _analyst(db)
    from app.accounts.models import ApiToken

    _, raw = ApiToken.issue(user)
    auth = {"Authorization": f"Bearer {raw}"}
    lon0, lat0 = TO_4326.transform(X0 + 1_000, Y0 + 1_000)
    lon1, lat1 = TO_4326.transform(X0 + 12_000, Y0 + 12_000)
    square = {
        "type": "Polygon",
        "coordinates": [[[lon0, lat0], [lon1, lat0], [lon1, lat1], [lon0, lat1], [lon0, lat0]]],
    }
    for code, x in (("visor-cuenca-a", X0), ("visor-cuenca-b", X0 + 10_000)):
        db.execute(
            "INSERT INTO hydrology_hydrounit (system, code, name, level, area_ha, geom) VALUES "
            "('pomca', %s, %s, 1, 13000, ST_Multi(ST_MakeEnvelope(%s, %s, %s, %s, 9377))) "
            "ON CONFLICT DO NOTHING",
            [code, f"Cuenca {code[-1]}", x, Y0, x + 10_000, Y0 + 13_000],
        )
    created = httpx.post(
        live_server + "/api/v1/districts",
        headers=auth,
        json={
            "code": "dm-visor-01",
            "name": "Distrito visor",
            "type": "vida_y_paz",
            "geometry": square,
        },
    )
    assert created.status_code in (201, 409), created.text
    page = browser.new_page(viewport={"width": 1200, "height": 800})
    page.goto(live_server + "/admin/login/?next=/workspace")
    page.fill("#id_username", "analista_visor")
    page.fill("#id_password", "clave-de-prueba-123")
    page.click("input[type=submit]")
    page.wait_for_url(re.compile(r"/workspace"))
    page.wait_for_function("window.dmReady === true", timeout=90_000)
    page.locator("#district option[value='dm-visor-01']").wait_for(state="attached")
    page.select_option("#district", "dm-visor-01")
    page.wait_for_function("dmDraw.getSnapshot().length > 0", timeout=20_000)
    # Draw a new polygon with the mouse (terra-draw polygon mode), closing on the first vertex.
    page.evaluate("dmDraw.clear()")
    page.click("#draw-polygon")
    corners = [(X0 + 2_000, Y0 + 2_000), (X0 + 11_000, Y0 + 2_000), (X0 + 11_000, Y0 + 11_000)]
    corners += [(X0 + 2_000, Y0 + 11_000), (X0 + 2_000, Y0 + 2_000)]
    canvas = page.locator("#map canvas")
    for x9377, y9377 in corners:
        lon, lat = TO_4326.transform(x9377, y9377)
        x, y = page.evaluate(
            "([a, b]) => { const p = dmMap.project([a, b]); return [p.x, p.y]; }", [lon, lat]
        )
        canvas.click(position={"x": x, "y": y})
    page.wait_for_function("window.dmLastReport !== undefined", timeout=30_000)
    report = page.evaluate("window.dmLastReport")
    assert "valid" in report and isinstance(report["findings"], list)
    page.wait_for_function(
        "['Límite válido.', 'El límite tiene errores.'].includes("
        "document.getElementById('validation').textContent)",
        timeout=30_000,
    )
    # Snap to watersheds: the drawing cuts the two test basins; the button replaces it with
    # the union of the units more than half inside, and the new report has integrity 1.0.
    page.wait_for_function(
        "window.dmLastReport.watershed && window.dmLastReport.watershed.snap.geometry "
        "&& !document.getElementById('snap-watersheds').disabled",
        timeout=30_000,
    )
    snap = page.evaluate("window.dmLastReport.watershed.snap")
    assert snap["unit_ids"] and snap["area_ha"] > 0
    page.click("#snap-watersheds")
    # Earlier debounced validations may still answer: wait for the report of the snapped shape.
    page.wait_for_function(
        "([ha]) => window.dmLastReport && Math.abs(window.dmLastReport.area_ha - ha) < ha * 1e-3",
        arg=[snap["area_ha"]],
        timeout=30_000,
    )
    snapped = page.evaluate("window.dmLastReport")
    assert snapped["watershed"]["integrity"] == pytest.approx(1.0, abs=1e-3)
    assert snapped["area_ha"] == pytest.approx(snap["area_ha"], rel=1e-3)
    page.fill("#comment", "Ajuste dibujado en el navegador")
    page.click("#save-version")
    page.wait_for_function("document.getElementById('save-status').textContent.length > 0")
    saved = page.inner_text("#save-status")
    versions = db.execute(
        "SELECT count(*) FROM delimitation_boundaryversion v JOIN delimitation_district d "
        "ON d.id = v.district_id WHERE d.code = 'dm-visor-01'"
    ).fetchone()[0]
    assert "guardada" in saved, saved
    assert versions >= 2
    page.close()
    db.execute("DELETE FROM hydrology_hydrounit WHERE code LIKE 'visor-cuenca-%%'")
