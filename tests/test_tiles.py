"""Vector and raster tiles on a real PostGIS: decoded MVT contents, sizes, cache, drafts."""

from __future__ import annotations

import dataclasses
import io
import json

import mapbox_vector_tile
import morecantile
import numpy as np
import pytest
from PIL import Image
from pyproj import Transformer
from shapely import wkb as shapely_wkb
from shapely.geometry import shape
from shapely.ops import unary_union

from layers.registry import get_layer
from layers.revisions import revisions, tables_to_layers
from layers.tiles import MAX_TILE_BYTES, TileAddress, render_tile

TMS = morecantile.tms.get("WebMercatorQuad")
TO_9377 = Transformer.from_crs(4326, 9377, always_xy=True)
# A 3 x 2 block of 20 km municipalities with wiggly shared borders, east of Bogotá.
ORIGIN = (5_000_000.0, 2_100_000.0)
CELL = 20_000.0
CODES = [f"9{i:04d}" for i in range(6)]


def _wiggly_column(x: float, y0: float, y1: float) -> list[tuple[float, float]]:
    """A vertical border with many vertices (the same for both neighbours)."""
    ys = np.linspace(y0, y1, 41)
    return [(x + (250.0 if i % 2 else 0.0) * (0 < i < 40), y) for i, y in enumerate(ys)]


def _cell_polygon(col: int, row: int) -> str:
    x0, y0 = ORIGIN[0] + col * CELL, ORIGIN[1] + row * CELL
    left = _wiggly_column(x0, y0, y0 + CELL)
    right = _wiggly_column(x0 + CELL, y0, y0 + CELL)
    ring = left + list(reversed(right)) + [left[0]]
    return "MULTIPOLYGON(((" + ", ".join(f"{x} {y}" for x, y in ring) + ")))"


@pytest.fixture(scope="module")
def db(database_url):
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        yield conn


@pytest.fixture(scope="module")
def municipalities(db):
    """Six adjacent municipalities; two tenures, one tiny hotspot inside them."""
    db.execute("DELETE FROM layers_municipality WHERE code = ANY(%s)", [CODES])
    for i, code in enumerate(CODES):
        db.execute(
            "INSERT INTO layers_municipality (code, name, department_id, legal_act, area_ha, geom) "
            "VALUES (%s, %s, '99', 'Ley de prueba', 40000, ST_GeomFromText(%s, 9377))",
            [code, f"Municipio de prueba {i}", _cell_polygon(i % 3, i // 3)],
        )
    x, y = ORIGIN[0] + 5_000, ORIGIN[1] + 5_000
    for expediente, status in (("T-PUB-1", "vigente"), ("T-BORRADOR-1", "borrador")):
        db.execute(
            "INSERT INTO layers_miningtenure (tenure_type, expediente, holders, minerals, "
            "mineral_group, status, stage, modality, scale, municipalities_published, area_ha, "
            "source, geom) VALUES ('title', %s, ARRAY['Empresa A', 'Empresa B'], ARRAY['oro'], "
            "'metales preciosos', %s, 'explotación', 'contrato de concesión', 'pequeña', "
            "'Prueba', 400, 'prueba', ST_Multi(ST_MakeEnvelope(%s, %s, %s, %s, 9377)))",
            [expediente, status, x, y, x + 2_000, y + 2_000],
        )
        x += 4_000
    db.execute(
        "INSERT INTO layers_mininghotspot (source, source_id, category, setting, area_ha, "
        "synthetic, geom) VALUES ('prueba', 'H1', 'explotacion_ilicita', 'aluvial_tierra', 0.25, "
        "true, ST_Multi(ST_MakeEnvelope(%s, %s, %s, %s, 9377)))",
        [ORIGIN[0] + 30_000, ORIGIN[1] + 10_000, ORIGIN[0] + 30_050, ORIGIN[1] + 10_050],
    )
    db.execute(
        "INSERT INTO layers_mininghotspot (source, source_id, category, setting, area_ha, "
        "synthetic, geom) VALUES ('prueba', 'H2', 'explotacion_ilicita', 'aluvial_tierra', "
        "0.0025, true, ST_Multi(ST_MakeEnvelope(%s, %s, %s, %s, 9377)))",
        [ORIGIN[0] + 30_200, ORIGIN[1] + 10_000, ORIGIN[0] + 30_205, ORIGIN[1] + 10_005],
    )
    yield CODES
    db.execute("DELETE FROM layers_municipality WHERE code = ANY(%s)", [CODES])
    db.execute("DELETE FROM layers_miningtenure WHERE source = 'prueba'")
    db.execute("DELETE FROM layers_mininghotspot WHERE source = 'prueba'")


def _tile_over(x9377: float, y9377: float, z: int) -> morecantile.Tile:
    lon, lat = Transformer.from_crs(9377, 4326, always_xy=True).transform(x9377, y9377)
    return TMS.tile(lon, lat, z)


def _decode(content: bytes) -> dict:
    return mapbox_vector_tile.decode(content)


def _block_tile(z: int) -> morecantile.Tile:
    return _tile_over(ORIGIN[0] + 1.5 * CELL, ORIGIN[1] + CELL, z)


def test_tile_has_every_feature_with_published_attributes(client, municipalities):
    t = _block_tile(8)
    response = client.get(f"/tiles/municipalities/{t.z}/{t.x}/{t.y}.pbf")
    assert response.status_code == 200
    assert response.headers["content-type"] == "application/vnd.mapbox-vector-tile"
    layer = _decode(response.content)["municipalities"]
    ours = [f for f in layer["features"] if f["properties"]["code"] in CODES]
    assert sorted(f["properties"]["code"] for f in ours) == CODES
    published = {p.name for p in get_layer("municipalities").properties}
    assert set(ours[0]["properties"]) == published
    first = next(f for f in ours if f["properties"]["code"] == CODES[0])
    assert first["properties"]["name"] == "Municipio de prueba 0"
    assert first["properties"]["legal_act"] == "Ley de prueba"
    assert first["properties"]["area_ha"] == 40000
    assert layer["extent"] == 4096


def test_neighbours_share_borders_without_gaps(client, municipalities):
    for z in (6, 8, 10):
        t = _block_tile(z)
        content = client.get(f"/tiles/municipalities/{t.z}/{t.x}/{t.y}.pbf").content
        features = _decode(content)["municipalities"]["features"]
        polygons = [shape(f["geometry"]) for f in features if f["properties"]["code"] in CODES]
        if len(polygons) < 6:
            continue  # the block straddles tiles at this zoom; checked at the others
        union = unary_union(polygons)
        # Gap-free: the union is one polygon without holes, and nothing overlaps.
        assert union.geom_type == "Polygon", z
        assert len(union.interiors) == 0, z
        assert union.area == pytest.approx(sum(p.area for p in polygons), rel=1e-3), z


def test_tiny_polygons_become_points_or_counts_instead_of_vanishing(client, municipalities):
    # Low zoom: the two sub-pixel hotspots are merged into one point of their cell and class.
    t = _tile_over(ORIGIN[0] + 30_000, ORIGIN[1] + 10_000, 6)
    content = client.get(f"/tiles/mining_hotspots/{t.z}/{t.x}/{t.y}.pbf").content
    features = _decode(content)["mining_hotspots"]["features"]
    assert len(features) == 1
    assert features[0]["geometry"]["type"] == "Point"
    assert features[0]["properties"] == {"category": "explotacion_ilicita", "count": 2}
    # Zoom 10: H2 (5 m) is still sub-pixel and stays one point with its own attributes;
    # H1 (50 m) is drawn as a polygon.
    t = _tile_over(ORIGIN[0] + 30_000, ORIGIN[1] + 10_000, 10)
    content = client.get(f"/tiles/mining_hotspots/{t.z}/{t.x}/{t.y}.pbf").content
    by_id = {
        f["properties"]["source_id"]: f for f in _decode(content)["mining_hotspots"]["features"]
    }
    assert by_id["H2"]["geometry"]["type"] == "Point"
    assert by_id["H1"]["geometry"]["type"] == "Polygon"
    assert by_id["H1"]["properties"]["category"] == "explotacion_ilicita"


def test_each_polygon_is_labelled_once_across_tiles(client, municipalities):
    """A municipality crossing several tiles is drawn in each but has one label point, in
    the tile holding its point on surface, carrying only its code and name."""
    z = 11
    corners = [
        _tile_over(ORIGIN[0] + dx, ORIGIN[1] + dy, z)
        for dx in (1.0, 3 * CELL - 1.0)
        for dy in (1.0, 2 * CELL - 1.0)
    ]
    xs = range(min(t.x for t in corners), max(t.x for t in corners) + 1)
    ys = range(min(t.y for t in corners), max(t.y for t in corners) + 1)
    drawn: dict[str, int] = {}
    labels: dict[str, list[dict]] = {}
    for x in xs:
        for y in ys:
            response = client.get(f"/tiles/municipalities/{z}/{x}/{y}.pbf")
            if response.status_code == 204:
                continue
            decoded = _decode(response.content)
            for f in decoded.get("municipalities", {"features": []})["features"]:
                code = f["properties"]["code"]
                drawn[code] = drawn.get(code, 0) + 1
            for f in decoded.get("municipalities_labels", {"features": []})["features"]:
                assert f["geometry"]["type"] == "Point"
                labels.setdefault(f["properties"]["code"], []).append(f["properties"])
    assert all(drawn[code] >= 2 for code in CODES), drawn
    for i, code in enumerate(CODES):
        assert labels[code] == [{"code": code, "name": f"Municipio de prueba {i}"}]
    below = client.get(f"/tiles/municipalities/7/{xs[0] >> 4}/{ys[0] >> 4}.pbf")
    assert "municipalities_labels" not in _decode(below.content)  # named from zoom 8


def test_composite_tile_holds_each_layer(client, municipalities):
    t = _block_tile(9)
    response = client.get(f"/tiles/municipalities,mining_tenures/{t.z}/{t.x}/{t.y}.pbf")
    decoded = _decode(response.content)
    assert {name for name in decoded if not name.endswith("_labels")} == {
        "municipalities",
        "mining_tenures",
    }
    tenures = decoded["mining_tenures"]["features"]
    assert {f["properties"]["expediente"] for f in tenures} >= {"T-PUB-1"}
    tenure = next(f for f in tenures if f["properties"]["expediente"] == "T-PUB-1")
    assert tenure["properties"]["holders"] == "Empresa A; Empresa B"
    assert isinstance(tenure["id"], int)


def test_gzip_etag_cache_control_and_304(client, municipalities):
    t = _block_tile(8)
    url = f"/tiles/municipalities/{t.z}/{t.x}/{t.y}.pbf"
    raw = client.get(url, headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in raw.headers
    zipped = client.get(url, headers={"Accept-Encoding": "gzip"})
    assert zipped.headers["content-encoding"] == "gzip"
    assert zipped.content == raw.content  # httpx decodes; the bytes match the plain tile
    assert raw.headers["cache-control"] == "public, max-age=60"
    etag = raw.headers["etag"]
    again = client.get(url, headers={"If-None-Match": etag})
    assert again.status_code == 304
    assert again.content == b""


def test_zoom_range_bad_tiles_and_unknown_layers(client, municipalities):
    # mining_tenures starts at z5 (registry): an empty 204 below it.
    assert client.get("/tiles/mining_tenures/3/2/3.pbf").status_code == 204
    bad = client.get("/tiles/municipalities/3/9/1.pbf")
    assert bad.status_code == 404
    assert "no existe" in bad.json()["detail"]
    unknown = client.get("/tiles/no_such_layer/3/2/3.pbf")
    assert unknown.status_code == 404
    assert "Capa desconocida" in unknown.json()["detail"]


def test_cache_is_fresh_after_an_sql_write(client, db, municipalities):
    t = _block_tile(8)
    url = f"/tiles/municipalities/{t.z}/{t.x}/{t.y}.pbf"

    def name_of(code: str) -> str:
        features = _decode(client.get(url).content)["municipalities"]["features"]
        return next(f["properties"]["name"] for f in features if f["properties"]["code"] == code)

    assert name_of(CODES[1]) == "Municipio de prueba 1"
    cached = db.execute(
        "SELECT revisions FROM layers_tilecache WHERE layers = 'municipalities' AND public "
        "AND z = %s AND x = %s AND y = %s",
        [t.z, t.x, t.y],
    ).fetchone()
    assert cached is not None  # the tile was cached
    before = revisions(db, ["municipalities"])["municipalities"]
    etag = client.get(url).headers["etag"]
    # A write that bypasses the service entirely (as psql, QGIS or an importer would).
    db.execute("UPDATE layers_municipality SET name = 'Nombre nuevo' WHERE code = %s", [CODES[1]])
    assert revisions(db, ["municipalities"])["municipalities"] == before + 1
    assert name_of(CODES[1]) == "Nombre nuevo"
    assert client.get(url).headers["etag"] != etag
    db.execute(
        "UPDATE layers_municipality SET name = 'Municipio de prueba 1' WHERE code = %s",
        [CODES[1]],
    )
    assert name_of(CODES[1]) == "Municipio de prueba 1"


def test_every_registry_table_has_the_revision_trigger(db):
    rows = db.execute(
        "SELECT c.relname FROM pg_trigger g JOIN pg_class c ON c.oid = g.tgrelid "
        "WHERE g.tgname = 'layers_revision_bump'"
    ).fetchall()
    triggered = {row[0] for row in rows}
    tables = db.execute(
        "SELECT relname FROM pg_class WHERE relkind = 'r' AND relname = ANY(%s)",
        [list(tables_to_layers(__import__("layers.registry").registry.all_layers()))],
    ).fetchall()
    assert {row[0] for row in tables} <= triggered
    assert "layers_municipality" in triggered


def test_anonymous_tiles_never_hold_drafts(db, municipalities):
    # A layer whose anonymous readers must not see drafts (as districts and proposals are).
    layer = dataclasses.replace(
        get_layer("mining_tenures"),
        name="tenures_with_drafts",
        public_filter="t.status <> 'borrador'",
    )
    t = _tile_over(ORIGIN[0] + 7_000, ORIGIN[1] + 6_000, 10)
    tile = TileAddress(t.z, t.x, t.y)
    public = _decode(render_tile(db, [layer], tile, public_only=True))
    staff = _decode(render_tile(db, [layer], tile, public_only=False))
    public_ids = {f["properties"]["expediente"] for f in public["tenures_with_drafts"]["features"]}
    staff_ids = {f["properties"]["expediente"] for f in staff["tenures_with_drafts"]["features"]}
    assert "T-BORRADOR-1" not in public_ids
    assert {"T-PUB-1", "T-BORRADOR-1"} <= staff_ids


def test_registry_layers_with_a_public_filter_are_public_or_refused(client):
    from layers.registry import ANONYMOUS, all_layers

    for layer in [x for x in all_layers() if x.public_filter]:
        t = TMS.tile(-74.0, 4.6, max(layer.min_zoom, 5))
        response = client.get(f"/tiles/{layer.name}/{t.z}/{t.x}/{t.y}.pbf")
        if ANONYMOUS in layer.read_roles:
            assert response.status_code in (200, 204)
            assert response.headers["cache-control"].startswith("public")
        else:
            assert response.status_code == 403
            assert "permiso" in response.json()["detail"]


@pytest.fixture(scope="module")
def national(db):
    """The 1,122 DANE municipalities of the sample GeoPackage in a scratch table."""
    import pyogrio

    frame = pyogrio.read_dataframe("data/samples/national/dane_mgn2018.gpkg", layer="municipios")
    db.execute("DROP TABLE IF EXISTS tiles_test_national")
    db.execute(
        "CREATE TABLE tiles_test_national (code text PRIMARY KEY, name text, department_id text, "
        "legal_act text, area_ha float, geom geometry(MultiPolygon, 9377))"
    )
    code_col = next(c for c in frame.columns if c.upper() in ("MPIO_CDPMP", "MPIO_CCNCT"))
    name_col = next(c for c in frame.columns if c.upper() in ("MPIO_CNMBR",))
    with db.cursor() as cur:
        for row in frame.itertuples():
            cur.execute(
                "INSERT INTO tiles_test_national VALUES (%s, %s, %s, '', 0, "
                "ST_Multi(ST_Transform(ST_SetSRID(ST_GeomFromWKB(%s), 4326), 9377)))",
                [
                    getattr(row, code_col),
                    getattr(row, name_col),
                    str(getattr(row, code_col))[:2],
                    shapely_wkb.dumps(row.geometry),
                ],
            )
    db.execute("CREATE INDEX ON tiles_test_national USING gist (geom)")
    yield dataclasses.replace(get_layer("municipalities"), table="tiles_test_national")
    db.execute("DROP TABLE IF EXISTS tiles_test_national")


def test_z5_national_municipality_tiles_stay_under_the_cap(db, national):
    total = db.execute("SELECT count(*) FROM tiles_test_national").fetchone()[0]
    assert total == 1122
    seen: set[str] = set()
    sizes = []
    for t in TMS.tiles(-81.8, -4.3, -66.8, 13.5, [5]):
        data = render_tile(db, [national], TileAddress(t.z, t.x, t.y), public_only=True)
        sizes.append(len(data))
        assert len(data) <= MAX_TILE_BYTES
        if data:
            for f in _decode(data)["municipalities"]["features"]:
                seen.add(f["properties"]["code"])
    # No municipality lost: every one of them is in some z5 tile.
    assert len(seen) == total
    assert max(sizes) > 10_000


def test_tilejson_describes_the_layer(client, municipalities):
    body = client.get("/tiles/municipalities.json").json()
    assert body["tilejson"] == "3.0.0"
    assert body["tiles"][0].endswith("/tiles/municipalities/{z}/{x}/{y}.pbf")
    assert body["minzoom"] == 0 and body["maxzoom"] == 14
    assert body["vector_layers"][0]["id"] == "municipalities"
    assert body["vector_layers"][0]["fields"]["name"] == "Nombre"
    labels = body["vector_layers"][1]
    assert (labels["id"], labels["minzoom"]) == ("municipalities_labels", 8)
    assert labels["fields"] == {"code": "Código DIVIPOLA", "name": "Nombre"}
    minx, miny, maxx, maxy = body["bounds"]
    assert minx < maxx and miny < maxy


def test_style_has_spanish_legends_for_every_layer(client):
    style = client.get("/styles/default.json").json()
    assert style["version"] == 8
    legends = {item["layer"]: item for item in style["metadata"]["dm:legends"]}
    tenure_labels = {c["label"] for c in legends["mining_tenures"]["classes"]}
    assert "Título minero" in tenure_labels and "Solicitud" in tenure_labels
    assert legends["protected_areas"]["property"] == "category"
    assert any(c["label"] == "Páramo" for c in legends["protected_areas"]["classes"])
    assert {"hydro_units", "ethnic_territories", "mining_hotspots"} <= set(legends)
    ids = {layer["id"] for layer in style["layers"]}
    assert {"mining_tenures-fill", "municipalities-line", "mining_hotspots-point"} <= ids
    assert style["sources"]["municipalities"]["tiles"][0].endswith(
        "/tiles/municipalities/{z}/{x}/{y}.pbf"
    )


# ---- raster tiles ---------------------------------------------------------------------------

CLASS_TABLE = [
    {"value": 1, "label": "Aptitud alta", "color": "#1a9850"},
    {"value": 2, "label": "Aptitud media", "color": "#fee08b"},
    {"value": 3, "label": "No apta", "color": "#d73027"},
]


@pytest.fixture(scope="module")
def raster_client(database_url, db, tmp_path_factory):
    """An app whose DATA_DIR holds a class raster (three vertical bands) and the sample DEM."""
    import shutil

    import rasterio
    from fastapi.testclient import TestClient
    from rasterio.transform import from_origin

    from app.main import create_app
    from app.settings import DatabaseSettings, Settings

    data_dir = tmp_path_factory.mktemp("rasters")
    # 0.01° pixels over -75..-72 lon, 3..6 lat: classes 1, 2, 3 by longitude thirds.
    values = np.repeat(np.array([1, 2, 3], dtype="uint8"), 100)[np.newaxis, :].repeat(300, 0)
    with rasterio.open(
        data_dir / "aptitud.tif",
        "w",
        driver="GTiff",
        width=300,
        height=300,
        count=1,
        dtype="uint8",
        crs="EPSG:4326",
        transform=from_origin(-75.0, 6.0, 0.01, 0.01),
        nodata=0,
    ) as dst:
        dst.write(values, 1)
    shutil.copy("data/samples/dem_meta_250m.tif", data_dir / "dem.tif")
    db.execute("DELETE FROM layers_rasterlayer WHERE name IN ('aptitud-prueba', 'dem-prueba')")
    for name, theme, path, table in (
        ("aptitud-prueba", "aptitude", "aptitud.tif", CLASS_TABLE),
        ("dem-prueba", "elevation", "dem.tif", []),
    ):
        db.execute(
            "INSERT INTO layers_rasterlayer (name, title, theme, path, crs, resolution, nodata, "
            "bounds_4326, class_table, synthetic, source) VALUES (%s, %s, %s, %s, 'EPSG:4326', "
            "0.01, 0, ARRAY[-75, 3, -72, 6], %s, true, 'prueba')",
            [name, f"Prueba {name}", theme, path, json.dumps(table)],
        )
    app = create_app(Settings(database=DatabaseSettings(url=database_url), data_dir=data_dir))
    with TestClient(app) as test_client:
        yield test_client
    db.execute("DELETE FROM layers_rasterlayer WHERE name IN ('aptitud-prueba', 'dem-prueba')")


def _pixels(content: bytes) -> np.ndarray:
    return np.asarray(Image.open(io.BytesIO(content)).convert("RGBA"))


def test_class_raster_tile_pixels_are_the_class_colours(raster_client):
    for lon, color in ((-74.7, (0x1A, 0x98, 0x50)), (-73.3, (0xFE, 0xE0, 0x8B))):
        t = TMS.tile(lon, 4.5, 10)
        response = raster_client.get(f"/tiles/raster/aptitud-prueba/{t.z}/{t.x}/{t.y}.png")
        assert response.status_code == 200
        assert response.headers["content-type"] == "image/png"
        pixels = _pixels(response.content)
        assert pixels.shape == (256, 256, 4)
        assert (pixels[..., :3] == color).all(axis=-1).mean() == 1.0
        assert (pixels[..., 3] == 255).all()
    # Across the class border (lon -74) both colours appear and nothing else.
    t = TMS.tile(-74.0, 4.5, 8)
    pixels = _pixels(raster_client.get(f"/tiles/raster/aptitud-prueba/8/{t.x}/{t.y}.png").content)
    opaque = pixels[pixels[..., 3] == 255][:, :3]
    colours = {tuple(int(v) for v in c) for c in np.unique(opaque, axis=0)}
    assert colours <= {(0x1A, 0x98, 0x50), (0xFE, 0xE0, 0x8B), (0xD7, 0x30, 0x27)}
    assert len(colours) >= 2
    # Outside the raster: 204.
    assert raster_client.get("/tiles/raster/aptitud-prueba/9/10/10.png").status_code == 204


def test_raster_legend_and_hillshade(raster_client):
    legend = raster_client.get("/tiles/raster/aptitud-prueba/legend.json").json()
    assert legend["type"] == "classes"
    assert [c["label"] for c in legend["classes"]] == ["Aptitud alta", "Aptitud media", "No apta"]
    assert legend["classes"][2]["color"] == "#d73027"
    dem_legend = raster_client.get("/tiles/raster/dem-prueba/legend.json").json()
    assert dem_legend["type"] == "hillshade"
    import rasterio

    with rasterio.open("data/samples/dem_meta_250m.tif") as src:
        bounds = rasterio.warp.transform_bounds(src.crs, "EPSG:4326", *src.bounds)
    t = TMS.tile((bounds[0] + bounds[2]) / 2, (bounds[1] + bounds[3]) / 2, 9)
    response = raster_client.get(f"/tiles/raster/dem-prueba/{t.z}/{t.x}/{t.y}.png")
    assert response.status_code == 200
    pixels = _pixels(response.content)
    gray = pixels[..., 0][pixels[..., 3] == 255].astype(float)
    assert gray.size > 0.5 * 256 * 256
    # Relief, not a flat fill: shading varies and is grey (R = G = B).
    assert gray.std() > 5
    assert (pixels[..., 0] == pixels[..., 1]).all()
    unknown = raster_client.get("/tiles/raster/nada/legend.json")
    assert unknown.status_code == 404


def test_draft_district_only_in_staff_tiles(client, municipalities):
    from django.contrib.auth.models import Group, User

    from app.accounts.models import ApiToken

    user, _ = User.objects.get_or_create(username="analista_teselas")
    user.groups.add(Group.objects.get_or_create(name="analyst")[0])
    _, raw = ApiToken.issue(user)
    auth = {"Authorization": f"Bearer {raw}"}
    to_4326 = Transformer.from_crs(9377, 4326, always_xy=True)
    x0, y0 = ORIGIN[0] + 2_000, ORIGIN[1] + 2_000
    ring = [
        to_4326.transform(x, y)
        for x, y in (
            (x0, y0),
            (x0 + 9_000, y0),
            (x0 + 9_000, y0 + 9_000),
            (x0, y0 + 9_000),
            (x0, y0),
        )
    ]
    created = client.post(
        "/api/v1/districts",
        headers=auth,
        json={
            "code": "dm-teselas-borrador",
            "name": "Distrito borrador de teselas",
            "type": "vida_y_paz",
            "geometry": {"type": "Polygon", "coordinates": [[list(p) for p in ring]]},
        },
    )
    assert created.status_code in (201, 409), created.text
    # The square's centre: its label point, so the tile holds both the shape and the label.
    t = _tile_over(x0 + 4_500, y0 + 4_500, 10)
    url = f"/tiles/districts/{t.z}/{t.x}/{t.y}.pbf"
    anonymous = client.get(url)
    codes = set()
    if anonymous.status_code == 200:
        codes = {
            f["properties"]["code"]
            for layer in _decode(anonymous.content).values()
            for f in layer["features"]
        }
    assert "dm-teselas-borrador" not in codes
    staff = client.get(url, headers=auth)
    assert staff.status_code == 200
    assert staff.headers["cache-control"].startswith("private")
    decoded = _decode(staff.content)
    features = decoded["districts"]["features"]
    draft = next(f for f in features if f["properties"]["code"] == "dm-teselas-borrador")
    assert draft["properties"]["status"] == "draft"
    assert draft["properties"]["name"] == "Distrito borrador de teselas"
    labels = [
        f["properties"]
        for f in decoded["districts_labels"]["features"]
        if f["properties"]["code"] == "dm-teselas-borrador"
    ]
    assert labels == [{"code": "dm-teselas-borrador", "name": "Distrito borrador de teselas"}]
