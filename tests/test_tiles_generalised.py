"""The low-zoom generalised store behind vector tiles (layers.tile_generalised).

Store tiles are compared with tiles built from the storage tables (`use_store=False`):
same features and attributes, geometries within the snapping tolerance, shared borders
without gaps, the same sub-pixel counts; edits show in low-zoom tiles at once, and the
service rebuilds the store by itself afterwards.
"""

from __future__ import annotations

import contextlib
import time

import mapbox_vector_tile
import morecantile
import pytest
from pyproj import Transformer
from shapely.geometry import shape
from shapely.ops import unary_union

from app.tiles.symbology import class_properties
from layers import tile_generalised
from layers.registry import get_layer
from layers.tiles import STORE_MAX_ZOOM, TileAddress, render_tile

TMS = morecantile.tms.get("WebMercatorQuad")
TO_4326 = Transformer.from_crs(9377, 4326, always_xy=True)
# A 4 x 3 block of 15 km municipalities with wiggly shared borders (south-west of the block
# of tests/test_tiles.py, so the two never share a tile feature).
ORIGIN = (4_760_000.0, 1_880_000.0)
CELL = 15_000.0
CODES = [f"8{i:04d}" for i in range(12)]
LAYERS = ("municipalities", "mining_hotspots", "mining_tenures")
# Tolerance of a stored geometry against the live one, in tile units: both are snapped to
# grids of 4 units (the live one in EPSG:9377, the stored one in EPSG:3857) then to 1.
TOLERANCE_UNITS = 6.0


def _border(x: float, y0: float, y1: float) -> list[tuple[float, float]]:
    """A vertical border with 61 vertices, zig-zagging 300 m (the same for both sides)."""
    step = (y1 - y0) / 60
    return [(x + (300.0 if i % 2 and 0 < i < 60 else 0.0), y0 + i * step) for i in range(61)]


def _cell(col: int, row: int) -> str:
    x0, y0 = ORIGIN[0] + col * CELL, ORIGIN[1] + row * CELL
    left, right = _border(x0, y0, y0 + CELL), _border(x0 + CELL, y0, y0 + CELL)
    ring = left + list(reversed(right)) + [left[0]]
    return "MULTIPOLYGON(((" + ", ".join(f"{x} {y}" for x, y in ring) + ")))"


def _classes() -> dict[str, str]:
    # The class attributes the service aggregates by (as app/tiles/vector.py passes them).
    published = {p.name for name in LAYERS for p in get_layer(name).properties}
    return {k: v for k, v in class_properties().items() if v in published}


def _insert_hotspot(db, source_id: str, x: float, y: float, size: float) -> None:
    db.execute(
        "INSERT INTO layers_mininghotspot (source, source_id, category, setting, area_ha, "
        "synthetic, geom) VALUES ('prueba-generalizada', %s, 'explotacion_ilicita', "
        "'aluvial_tierra', %s, true, ST_Multi(ST_MakeEnvelope(%s, %s, %s, %s, 9377)))",
        [source_id, size * size / 10_000, x, y, x + size, y + size],
    )


@pytest.fixture(scope="module")
def db(database_url):
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        yield conn


@pytest.fixture(scope="module")
def block(db):
    """Twelve neighbouring municipalities, 40 tiny hotspots and two large ones, 3 tenures."""
    db.execute("DELETE FROM layers_municipality WHERE code = ANY(%s)", [CODES])
    for i, code in enumerate(CODES):
        db.execute(
            "INSERT INTO layers_municipality (code, name, department_id, legal_act, area_ha, geom) "
            "VALUES (%s, %s, '99', 'Acuerdo de prueba', 22500, ST_GeomFromText(%s, 9377))",
            [code, f"Municipio generalizado {i}", _cell(i % 4, i // 4)],
        )
    for i in range(40):
        # A 5 x 8 cluster of 10 m hotspots 60 m apart: sub-pixel up to z9 and beyond.
        x = ORIGIN[0] + 20_000 + (i % 5) * 60
        y = ORIGIN[1] + 20_000 + (i // 5) * 60
        _insert_hotspot(db, f"G{i:02d}", x, y, 10.0)
    _insert_hotspot(db, "GRANDE-1", ORIGIN[0] + 35_000, ORIGIN[1] + 10_000, 3_000.0)
    _insert_hotspot(db, "GRANDE-2", ORIGIN[0] + 45_000, ORIGIN[1] + 30_000, 2_500.0)
    for i, (dx, dy) in enumerate(((5_000, 5_000), (25_000, 12_000), (50_000, 35_000))):
        x, y = ORIGIN[0] + dx, ORIGIN[1] + dy
        db.execute(
            "INSERT INTO layers_miningtenure (tenure_type, expediente, holders, minerals, "
            "mineral_group, status, stage, modality, scale, municipalities_published, area_ha, "
            "source, geom) VALUES ('title', %s, ARRAY['Empresa G'], ARRAY['oro'], "
            "'metales preciosos', 'vigente', 'explotación', 'contrato de concesión', "
            "'pequeña', 'Prueba', 900, 'prueba-generalizada', "
            "ST_Multi(ST_MakeEnvelope(%s, %s, %s, %s, 9377)))",
            [f"G-TIT-{i}", x, y, x + 3_000, y + 3_000],
        )
    yield CODES
    db.execute("DELETE FROM layers_municipality WHERE code = ANY(%s)", [CODES])
    db.execute("DELETE FROM layers_mininghotspot WHERE source = 'prueba-generalizada'")
    db.execute("DELETE FROM layers_miningtenure WHERE source = 'prueba-generalizada'")


def _fresh(db, names=LAYERS) -> None:
    """Bring the stores of these layers to the current revision (the service's background
    refresher may be building one already: wait for it)."""
    layers = [get_layer(name) for name in names]
    deadline = time.monotonic() + 30
    while tile_generalised.stale_layers(db, layers, _classes()):
        tile_generalised.refresh_stale(db, layers, _classes())
        assert time.monotonic() < deadline, "the generalised store never became fresh"
        time.sleep(0.05)


@contextlib.contextmanager
def _no_rebuild(database_url: str, names: tuple[str, ...]):
    """Hold the refreshers' advisory locks: nobody rebuilds these stores meanwhile."""
    import psycopg

    with psycopg.connect(database_url, autocommit=True) as conn:
        for name in names:
            conn.execute("SELECT pg_advisory_lock(hashtext('layers_tilegeometry:' || %s))", [name])
        yield
        conn.execute("SELECT pg_advisory_unlock_all()")


def _tile(x: float, y: float, z: int) -> TileAddress:
    lon, lat = TO_4326.transform(x, y)
    t = TMS.tile(lon, lat, z)
    return TileAddress(t.z, t.x, t.y)


def _centre(z: int) -> TileAddress:
    return _tile(ORIGIN[0] + 2 * CELL, ORIGIN[1] + 1.5 * CELL, z)


def _features(db, name: str, tile: TileAddress, use_store: bool, public_only=True) -> list:
    data = render_tile(db, [get_layer(name)], tile, public_only, _classes(), use_store=use_store)
    return mapbox_vector_tile.decode(data)[name]["features"] if data else []


def _by_key(features: list, key: str) -> dict:
    return {f["properties"][key]: f for f in features if key in f["properties"]}


def test_store_tiles_have_the_live_features_attributes_and_shapes(db, block):
    _fresh(db)
    for z in range(5, STORE_MAX_ZOOM + 1):
        tile = _centre(z)
        stored = _by_key(_features(db, "municipalities", tile, True), "code")
        live = _by_key(_features(db, "municipalities", tile, False), "code")
        ours = set(CODES) & set(live)
        assert ours, z
        assert set(CODES) & set(stored) == ours, z
        for code in ours:
            assert stored[code]["properties"] == live[code]["properties"], (z, code)
            a, b = shape(stored[code]["geometry"]), shape(live[code]["geometry"])
            assert a.is_valid, (z, code)
            # Same shape within the snapping tolerance (tile units).
            assert a.hausdorff_distance(b) <= TOLERANCE_UNITS, (z, code)
            # Areas differ only along the outline: less than a grid step (4 units) wide.
            assert a.symmetric_difference(b).area <= 4 * b.length, (z, code)
        assert stored[CODES[5]]["properties"]["name"] == "Municipio generalizado 5"
        assert stored[CODES[5]]["properties"]["legal_act"] == "Acuerdo de prueba"
        tenures = _by_key(_features(db, "mining_tenures", tile, True), "expediente")
        live_tenures = _by_key(_features(db, "mining_tenures", tile, False), "expediente")
        drawn = {k for k in live_tenures if k.startswith("G-TIT-")}
        assert {k for k in tenures if k.startswith("G-TIT-")} == drawn, z
        for key in drawn:
            assert tenures[key]["properties"] == live_tenures[key]["properties"]
            assert tenures[key]["id"] == live_tenures[key]["id"]


def test_store_keeps_neighbours_without_gaps(db, block):
    _fresh(db)
    checked = 0
    for z in range(5, STORE_MAX_ZOOM + 1):
        features = _features(db, "municipalities", _centre(z), True)
        polygons = [shape(f["geometry"]) for f in features if f["properties"]["code"] in CODES]
        if len(polygons) < len(CODES):
            continue  # the block straddles tiles at this zoom; checked at the others
        union = unary_union(polygons)
        assert union.geom_type == "Polygon", z
        assert len(union.interiors) == 0, z
        assert union.area == pytest.approx(sum(p.area for p in polygons), rel=1e-3), z
        checked += 1
    assert checked >= 3


def test_store_counts_sub_pixel_hotspots_like_the_live_tiles(db, block):
    _fresh(db)
    for z in range(5, STORE_MAX_ZOOM + 1):
        tile = _tile(ORIGIN[0] + 20_100, ORIGIN[1] + 20_200, z)
        stored = _features(db, "mining_hotspots", tile, True)
        live = _features(db, "mining_hotspots", tile, False)
        counted = [f for f in stored if f["properties"].get("count")]
        # The 40 tiny hotspots are all counted, by category, as points with no other value.
        assert sum(f["properties"]["count"] for f in counted) == sum(
            f["properties"].get("count") or 0 for f in live
        ), z
        assert sum(f["properties"]["count"] for f in counted) >= 40, z
        assert all(f["geometry"]["type"] == "Point" for f in counted)
        assert {f["properties"]["category"] for f in counted} == {"explotacion_ilicita"}
        assert all(set(f["properties"]) == {"category", "count"} for f in counted)
        big = {f["properties"].get("source_id") for f in stored} & {"GRANDE-1", "GRANDE-2"}
        live_big = {f["properties"].get("source_id") for f in live} & {"GRANDE-1", "GRANDE-2"}
        assert big == live_big, z


def test_fresh_store_is_what_tiles_read(db, block):
    """Proof the store is read when fresh: a (test-only) shift of stored rows shows."""
    _fresh(db)
    tile = _centre(7)
    before = _by_key(_features(db, "municipalities", tile, True), "code")[CODES[5]]
    db.execute(
        "UPDATE layers_tilegeometry SET geom = ST_Translate(geom, 5000, 0) "
        "WHERE layer = 'municipalities' AND fid = %s AND z = 7",
        [CODES[5]],
    )
    try:
        shifted = _by_key(_features(db, "municipalities", tile, True), "code")[CODES[5]]
        live = _by_key(_features(db, "municipalities", tile, False), "code")[CODES[5]]
        dx = shape(shifted["geometry"]).centroid.x - shape(before["geometry"]).centroid.x
        # 5 km at z7 is 5000 / (40,075,017 / 128 / 4096) = 65 tile units.
        assert dx == pytest.approx(65.4, abs=2)
        assert shape(live["geometry"]).centroid.x == pytest.approx(
            shape(before["geometry"]).centroid.x, abs=2
        )
    finally:
        assert tile_generalised.refresh(
            db, get_layer("municipalities"), _classes().get("municipalities"), force=True
        )
    restored = _by_key(_features(db, "municipalities", tile, True), "code")[CODES[5]]
    assert shape(restored["geometry"]).equals(shape(before["geometry"]))


def test_edits_and_imports_show_in_low_zoom_tiles_at_once(client, db, database_url, block):
    _fresh(db)
    tile = _centre(6)
    url = f"/tiles/municipalities/{tile.z}/{tile.x}/{tile.y}.pbf"
    spot = _tile(ORIGIN[0] + 20_100, ORIGIN[1] + 20_200, 6)
    hotspots_url = f"/tiles/mining_hotspots/{spot.z}/{spot.x}/{spot.y}.pbf"
    layers = [get_layer("municipalities"), get_layer("mining_hotspots")]

    def municipality(code: str) -> dict:
        features = mapbox_vector_tile.decode(client.get(url).content)["municipalities"]
        return _by_key(features["features"], "code")[code]

    def counted() -> int:
        content = client.get(hotspots_url).content
        features = mapbox_vector_tile.decode(content)["mining_hotspots"]["features"]
        return sum(f["properties"].get("count") or 0 for f in features)

    before = municipality(CODES[6])
    hotspots_before = counted()
    try:
        with _no_rebuild(database_url, ("municipalities", "mining_hotspots")):
            # Writes that bypass the service (as psql, QGIS or an importer's COPY would): a
            # renamed municipality grown 6 km eastwards into its neighbour, and a new hotspot.
            db.execute(
                "UPDATE layers_municipality SET name = 'Renombrado', geom = ST_Multi(ST_Union("
                "geom, ST_MakeEnvelope(ST_XMax(geom), ST_YMin(geom) + 1000, ST_XMax(geom) + 6000, "
                "ST_YMax(geom) - 1000, 9377))) WHERE code = %s",
                [CODES[6]],
            )
            _insert_hotspot(db, "NUEVO-1", ORIGIN[0] + 20_010, ORIGIN[1] + 20_010, 10.0)
            # The store is stale (nobody may rebuild it now) and the very next tiles are right.
            assert set(tile_generalised.stale_layers(db, layers, _classes())) == set(layers)
            after = municipality(CODES[6])
            assert after["properties"]["name"] == "Renombrado"
            assert shape(after["geometry"]).area / shape(before["geometry"]).area > 1.2
            assert counted() == hotspots_before + 1
        # The service rebuilds the store by itself (low-zoom requests poke a background
        # refresher): wait for it, then the store tiles carry the edit too.
        deadline = time.monotonic() + 30
        while tile_generalised.stale_layers(db, layers, _classes()):
            assert time.monotonic() < deadline, "the service never rebuilt the store"
            client.get(url)
            time.sleep(0.2)
        rebuilt = _by_key(_features(db, "municipalities", tile, True), "code")[CODES[6]]
        assert rebuilt["properties"]["name"] == "Renombrado"
        assert shape(rebuilt["geometry"]).area == pytest.approx(
            shape(after["geometry"]).area, rel=0.02
        )
        assert counted() == hotspots_before + 1
    finally:
        db.execute(
            "UPDATE layers_municipality SET name = 'Municipio generalizado 6', "
            "geom = ST_GeomFromText(%s, 9377) WHERE code = %s",
            [_cell(2, 1), CODES[6]],
        )
        db.execute("DELETE FROM layers_mininghotspot WHERE source_id = 'NUEVO-1'")


def test_stale_store_is_never_read(db, database_url, block):
    _fresh(db)
    tile = _centre(8)
    layer = get_layer("municipalities")
    try:
        with _no_rebuild(database_url, ("municipalities",)):
            db.execute(
                "UPDATE layers_municipality SET name = 'Sin reconstruir' WHERE code = %s",
                [CODES[1]],
            )
            assert tile_generalised.stale_layers(db, [layer], _classes()) == [layer]
            stored = _by_key(_features(db, "municipalities", tile, True), "code")
            assert stored[CODES[1]]["properties"]["name"] == "Sin reconstruir"
    finally:
        db.execute(
            "UPDATE layers_municipality SET name = 'Municipio generalizado 1' WHERE code = %s",
            [CODES[1]],
        )


def test_store_applies_the_public_filter(client, db, block):
    from django.contrib.auth.models import Group, User

    from app.accounts.models import ApiToken

    user, _ = User.objects.get_or_create(username="analista_generalizado")
    user.groups.add(Group.objects.get_or_create(name="analyst")[0])
    _, raw = ApiToken.issue(user)
    x0, y0 = ORIGIN[0] + 16_000, ORIGIN[1] + 16_000
    ring = [
        TO_4326.transform(x, y)
        for x, y in (
            (x0, y0),
            (x0 + 8_000, y0),
            (x0 + 8_000, y0 + 8_000),
            (x0, y0 + 8_000),
            (x0, y0),
        )
    ]
    created = client.post(
        "/api/v1/districts",
        headers={"Authorization": f"Bearer {raw}"},
        json={
            "code": "dm-generalizado-borrador",
            "name": "Distrito borrador generalizado",
            "type": "vida_y_paz",
            "geometry": {"type": "Polygon", "coordinates": [[list(p) for p in ring]]},
        },
    )
    assert created.status_code in (201, 409), created.text
    _fresh(db, ("districts",))
    tile = _tile(x0 + 4_000, y0 + 4_000, 7)

    def codes(public_only: bool) -> set[str]:
        features = _features(db, "districts", tile, True, public_only=public_only)
        return {f["properties"]["code"] for f in features}

    assert "dm-generalizado-borrador" in codes(public_only=False)
    assert "dm-generalizado-borrador" not in codes(public_only=True)
    anonymous = client.get(f"/tiles/districts/{tile.z}/{tile.x}/{tile.y}.pbf")
    if anonymous.status_code == 200:
        features = mapbox_vector_tile.decode(anonymous.content)["districts"]["features"]
        assert "dm-generalizado-borrador" not in {f["properties"]["code"] for f in features}


def test_size_cap_retry_reads_the_store_two_zooms_up(db, block):
    """Over the byte cap, the slim retry (4x coarser grid) keeps the live retry's content."""
    _fresh(db)
    layer = get_layer("municipalities")
    for z in (6, 8):
        tile = _centre(z)
        full = [render_tile(db, [layer], tile, True, _classes(), use_store=u) for u in (1, 0)]
        cap = min(map(len, full)) - 1  # one byte too many for both paths: the retry runs
        retried = {
            use: _by_key(
                mapbox_vector_tile.decode(
                    render_tile(db, [layer], tile, True, _classes(), cap, use_store=use)
                )["municipalities"]["features"],
                "code",
            )
            for use in (True, False)
        }
        stored, live = retried[True], retried[False]
        assert set(CODES) & set(stored) == set(CODES) & set(live) != set(), z
        for code in set(CODES) & set(live):
            # Only the id, label and class attributes are kept.
            assert (
                stored[code]["properties"]
                == live[code]["properties"]
                == {
                    "code": code,
                    "name": live[code]["properties"]["name"],
                }
            )
            a, b = shape(stored[code]["geometry"]), shape(live[code]["geometry"])
            assert a.hausdorff_distance(b) <= 4 * TOLERANCE_UNITS, (z, code)


def test_store_is_read_only_for_the_zooms_it_was_built_with(db, database_url, block):
    _fresh(db)
    layer = get_layer("municipalities")
    tile = _centre(8)
    before = _by_key(_features(db, "municipalities", tile, True), "code")[CODES[5]]
    try:
        with _no_rebuild(database_url, ("municipalities",)):
            # A store built for zooms up to 7 (the registry's range changed since): its z8 rows
            # (shifted here to be told apart) are not read, and the layer counts as stale.
            db.execute(
                "UPDATE layers_tilegeometry SET geom = ST_Translate(geom, 5000, 0) "
                "WHERE layer = 'municipalities' AND fid = %s AND z = 8",
                [CODES[5]],
            )
            db.execute("UPDATE layers_tilegeneralised SET zmax = 7 WHERE layer = 'municipalities'")
            assert tile_generalised.stale_layers(db, [layer], _classes()) == [layer]
            now = _by_key(_features(db, "municipalities", tile, True), "code")[CODES[5]]
            assert shape(now["geometry"]).centroid.x == pytest.approx(
                shape(before["geometry"]).centroid.x, abs=6
            )
    finally:
        assert tile_generalised.refresh(db, layer, _classes().get("municipalities"), force=True)
    assert not tile_generalised.stale_layers(db, [layer], _classes())
