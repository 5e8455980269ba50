"""geo.wkb (geo/_wkb.c) against GEOS: it may decline a valid polygon, never prove an invalid one.

Named cases cover each rule of geo/_wkb.c (contacts, crossings at a shared vertex,
cycles of touching rings, nesting, fold-backs, unusual WKB); a seeded fuzz of ~40,000
polygons built to be degenerate (small integer grids, unions of grid cells with holes that
touch, rotated so orientations become uncertain) checks the one property that matters. An
import of a file in EPSG:9377 mixing proved and repaired rows checks the rows' way through.
"""

from __future__ import annotations

import geopandas as gpd
import numpy as np
import pyarrow as pa
import pyogrio
import pytest
import shapely
from shapely import affinity

from geo import wkb as native
from geo.wkb import prove
from tests.import_files import forget_imports_since, last_batch, tenure, write_geojson


def proved(*geoms: shapely.Geometry, wkb: list[bytes] | None = None) -> list[int]:
    """Type id proved for each geometry (0 = not proved)."""
    values = wkb if wkb is not None else list(shapely.to_wkb(np.array(geoms, dtype=object)))
    return prove(pa.array(values, pa.binary())).type_ids.tolist()


def square(x: float, y: float, size: float = 1.0) -> list[tuple[float, float]]:
    return list(shapely.box(x, y, x + size, y + size).exterior.coords)


P = shapely.Polygon
M = shapely.MultiPolygon


def test_the_compiled_module_is_installed():
    # `make` builds it (setup.py); without it every import would go the slow GEOS way.
    assert native.AVAILABLE


VALID = {
    "square": P(square(0, 0, 10)),
    "collinear vertices": P([(0, 0), (5, 0), (10, 0), (10, 10), (0, 10), (0, 0)]),
    "hole inside": P(square(0, 0, 10), [square(2, 2, 3)]),
    "hole touching the shell at a vertex": P(
        [(0, 0), (10, 0), (10, 10), (0, 10), (0, 0)], [[(0, 0), (3, 1), (1, 3), (0, 0)]]
    ),
    "two holes touching each other once": P(square(0, 0, 10), [square(2, 2, 2), square(4, 4, 2)]),
    "parts apart": M([P(square(0, 0)), P(square(3, 3))]),
    "parts touching at a corner": M([P(square(0, 0)), P(square(1, 1))]),
    "part inside a hole": M([P(square(0, 0, 10), [square(2, 2, 6)]), P(square(4, 4, 2))]),
    "part in a hole touching it": M(
        [P(square(0, 0, 10), [square(2, 2, 6)]), P([(2, 2), (4, 3), (3, 4), (2, 2)])]
    ),
    "rotated grid cells with touching holes": affinity.rotate(
        P(square(0, 0, 5), [square(1, 1), square(2, 2), square(3, 1)]), 0.3, (0, 0), True
    ),
}

# Valid, but beyond what the proof settles: GEOS decides them.
DECLINED = {
    "three holes meeting at one point": P(
        square(0, 0, 10),
        [
            [(5, 5), (6, 4), (6, 6), (5, 5)],
            [(5, 5), (4, 6), (4, 4), (5, 5)],
            [(5, 5), (6, 7), (4, 7), (5, 5)],
        ],
    ),
    "a vertex on another ring's edge": P(square(0, 0, 10), [[(0, 5), (3, 4), (3, 6), (0, 5)]]),
    "repeated point": P([(0, 0), (10, 0), (10, 0), (10, 10), (0, 10), (0, 0)]),
}

INVALID = {
    "bow-tie": P([(0, 0), (10, 10), (10, 0), (0, 10), (0, 0)]),
    "ring touching itself": P([(0, 0), (10, 0), (10, 10), (5, 0), (0, 10), (0, 0)]),
    "spike folding back": P([(0, 0), (10, 0), (15, 0), (10, 0), (10, 10), (0, 10), (0, 0)]),
    "zero area": P([(0, 0), (5, 0), (10, 0), (0, 0)]),
    "hole outside": P(square(0, 0, 10), [square(20, 20, 2)]),
    "hole crossing the shell": P(square(0, 0, 10), [square(8, 8, 4)]),
    "hole crossing the shell at a shared vertex": P(
        [(0, 0), (10, 0), (10, 10), (0, 10), (0, 0)], [[(0, 0), (3, 1), (-1, 3), (0, 0)]]
    ),
    "hole sharing an edge with the shell": P(square(0, 0, 10), [square(0, 0, 2)]),
    "hole touching the shell twice": P(square(0, 0, 10), [[(0, 0), (10, 10), (5, 2), (0, 0)]]),
    "holes and shell touching in a cycle": P(
        square(0, 0, 4), [[(0, 0), (2, 1), (1, 2), (0, 0)], [(1, 2), (4, 4), (2, 3), (1, 2)]]
    ),
    "nested holes": P(square(0, 0, 10), [square(1, 1, 8), square(3, 3, 2)]),
    "duplicate holes": P(square(0, 0, 10), [square(1, 1, 2), square(1, 1, 2)]),
    "parts overlapping": M([P(square(0, 0, 2)), P(square(1, 1, 2))]),
    "parts sharing an edge": M([P(square(0, 0)), P(square(1, 0))]),
    "part inside another": M([P(square(0, 0, 10)), P(square(2, 2, 2))]),
    "three rings at one point, two crossing": P(
        square(0, 0, 10),
        [
            [(5, 5), (6, 4), (6, 6), (5, 5)],
            [(5, 5), (4, 6), (4, 4), (5, 5)],
            [(5, 5), (7, 5), (6, 8), (5, 5)],
        ],
    ),
}


@pytest.mark.parametrize("name", VALID)
def test_valid_polygons_are_proved(name):
    geom = VALID[name]
    assert shapely.is_valid(geom), shapely.is_valid_reason(geom)
    assert proved(geom) == [shapely.get_type_id(geom)]


@pytest.mark.parametrize("name", DECLINED)
def test_valid_polygons_beyond_the_proof_are_left_to_geos(name):
    geom = DECLINED[name]
    assert shapely.is_valid(geom), shapely.is_valid_reason(geom)
    assert proved(geom) == [0]


@pytest.mark.parametrize("name", INVALID)
def test_invalid_polygons_are_never_proved(name):
    geom = INVALID[name]
    assert not shapely.is_valid(geom), name
    assert proved(geom) == [0]


def test_unusual_wkb_is_left_to_geos():
    geom = P(square(0, 0, 10))
    big_endian = shapely.to_wkb(geom, byte_order=0)
    with_z = shapely.to_wkb(shapely.force_3d(geom, 5.0))
    nan = shapely.to_wkb(P([(0, 0), (np.nan, 0), (10, 10), (0, 10), (0, 0)]))
    repeated = shapely.to_wkb(P([(0, 0), (10, 0), (10, 0), (10, 10), (0, 10), (0, 0)]))
    unclosed = bytearray(shapely.to_wkb(geom))
    unclosed[-16:] = np.array([1.0, 1.0]).tobytes()  # last point no longer the first
    truncated = shapely.to_wkb(geom)[:-8]
    point = shapely.to_wkb(shapely.Point(1, 1))
    empty = shapely.to_wkb(P())
    rows = [big_endian, with_z, nan, repeated, bytes(unclosed), truncated, point, empty]
    assert proved(wkb=rows) == [0] * len(rows)
    # A null, and a sliced Arrow array (offset > 0), keep rows in their place.
    array = pa.array([None, big_endian, shapely.to_wkb(geom)], pa.binary())
    assert prove(array).type_ids.tolist() == [0, 0, 3]
    assert prove(array.slice(1)).type_ids.tolist() == [0, 3]
    assert prove(array.cast(pa.large_binary())).type_ids.tolist() == [0, 0, 3]


def test_area_and_envelope_are_those_of_geos():
    geoms = np.array([VALID[name] for name in VALID], dtype=object)
    proof = prove(pa.array(shapely.to_wkb(geoms), pa.binary()))
    assert proof.proved.all()
    np.testing.assert_allclose(proof.areas, shapely.area(geoms), rtol=1e-12)
    np.testing.assert_array_equal(proof.bounds, shapely.bounds(geoms))
    assert np.isnan(prove(pa.array([INVALID["bow-tie"].wkb])).areas).all()


def _fuzz(seed: int, count: int) -> tuple[np.ndarray, np.ndarray]:
    """Degenerate polygons on purpose, and the kind each was built as."""
    rng = np.random.default_rng(seed)

    def ring(n: int, grid: int) -> np.ndarray:
        points = rng.integers(0, grid, (n, 2)).astype(float)
        return np.vstack([points, points[:1]])

    def cells(size: int, share: float, at: int = 0) -> list[shapely.Geometry]:
        picked = rng.random((size, size)) < share
        boxes = [
            shapely.box(i + at, j + at, i + at + 1, j + at + 1)
            for i, j in zip(*picked.nonzero(), strict=True)
        ]
        union = shapely.union_all(boxes) if boxes else P()
        return list(getattr(union, "geoms", [union]))

    geoms, kinds = [], []
    for _ in range(count):
        kind = int(rng.integers(0, 5))
        if kind == 0:  # random rings on a small grid: collinear, touching, crossing
            holes = [ring(int(rng.integers(3, 5)), 6) for _ in range(int(rng.integers(0, 2)))]
            geom = P(ring(int(rng.integers(3, 8)), 6), holes)
        elif kind == 1:  # random parts on a small grid
            geom = M([P(ring(int(rng.integers(3, 6)), 5)) for _ in range(int(rng.integers(2, 4)))])
        elif kind == 2:  # unions of grid cells: holes touching shells and each other
            geom = shapely.union_all(cells(5, 0.6))
        elif kind == 3:  # a block with holes from random inner cells: edges, vertices, cycles
            size = int(rng.integers(3, 7))
            holes = [c.exterior.coords for c in cells(size, rng.uniform(0.1, 0.5), at=1)]
            outer = square(0, 0, size + 2) if rng.random() < 0.5 else square(1, 1, size)
            geom = P(outer, holes)
        else:  # separate cells as parts: corners, shared edges
            geom = M([P(c.exterior.coords) for c in cells(4, 0.4)] or [P(square(0, 0))])
        if geom.is_empty:
            continue
        if rng.random() < 0.5:  # rotated: orientations no longer exact
            geom = affinity.rotate(geom, rng.uniform(0, np.pi), (0, 0), use_radians=True)
        geoms.append(geom)
        kinds.append(kind)
    return np.array(geoms, dtype=object), np.array(kinds)


@pytest.mark.parametrize("seed", [1, 2])
def test_fuzz_never_proves_what_geos_rejects(seed):
    geoms, kinds = _fuzz(seed, 20_000)
    wkb = shapely.to_wkb(geoms)
    proof = prove(pa.array(wkb, pa.binary()))
    valid = shapely.is_valid(shapely.from_wkb(wkb))
    false_proofs = np.flatnonzero(proof.proved & ~valid)
    assert not len(false_proofs), [shapely.is_valid_reason(geoms[i]) for i in false_proofs[:5]]
    # The invalid side is well exercised, and the proof earns its keep on grid-like shapes.
    assert (~valid).sum() > 5_000
    grid = (kinds == 2) & valid
    assert proof.proved[grid].mean() > 0.95, proof.proved[grid].mean()
    np.testing.assert_allclose(
        proof.areas[proof.proved], shapely.area(geoms[proof.proved]), rtol=1e-12
    )


@pytest.fixture
def clean(db):
    start = last_batch(db)
    yield
    forget_imports_since(db, start)


def test_import_in_9377_mixes_proved_and_repaired_rows(db, tmp_path, clean):
    from layers.importer import run_import

    x, y = 4_700_000.0, 2_250_000.0
    with_touching_hole = P(square(x, y, 1000), [[(x, y), (x + 300, y + 100), (x + 100, y + 300)]])
    bow_tie = P([(x, y), (x + 500, y + 500), (x + 500, y), (x, y + 500), (x, y)])
    parts = M([P(square(x, y, 100)), P(square(x + 100, y + 100, 100))])
    geoms = [with_touching_hole, bow_tie, parts]
    rows = [tenure(f"PR-{i + 1}", -75.6, 6.2)["properties"] for i in range(3)]
    frame = gpd.GeoDataFrame(rows, geometry=geoms, crs=9377)
    path = tmp_path / "titulos_9377.gpkg"
    pyogrio.write_dataframe(frame, path, layer="titulos", promote_to_multi=False)
    assert proved(*geoms) == [3, 0, 6]

    summary = run_import("mining_tenures", path)
    assert (summary.read, summary.inserted, summary.repaired) == (3, 3, 1)
    (repair,) = summary.repairs
    assert repair.startswith("fila 2 (nombre 'PR-2', tipo 'title')")
    assert "autointersección en (4700250.0, 2250250.0)" in repair
    stored = dict(
        db.execute(
            "SELECT expediente, ST_AsBinary(geom) FROM layers_miningtenure "
            "WHERE expediente IN ('PR-1', 'PR-2', 'PR-3')"
        ).fetchall()
    )
    got = {code: shapely.from_wkb(bytes(value)) for code, value in stored.items()}
    assert got["PR-1"].equals(M([with_touching_hole]))
    assert got["PR-3"].equals(parts)
    assert shapely.is_valid(got["PR-2"]) and got["PR-2"].area == pytest.approx(125_000)
    areas = dict(
        db.execute(
            "SELECT expediente, area_ha FROM layers_miningtenure WHERE expediente LIKE 'PR-_'"
        ).fetchall()
    )
    assert areas["PR-1"] == pytest.approx(with_touching_hole.area / 10_000)
    assert areas["PR-3"] == pytest.approx(2.0)


def test_multipolygon_ewkb_in_c_matches_the_arrow_splice(monkeypatch):
    from layers import pgcopy

    geoms = np.array(
        [VALID["square"], VALID["parts apart"], VALID["hole inside"]] * 50, dtype=object
    )
    wkb = pa.array(shapely.to_wkb(geoms, byte_order=1), pa.binary())
    polygons = shapely.get_type_id(geoms) == 3
    in_c = pgcopy.ewkb_multipolygons(wkb, polygons, 9377)
    monkeypatch.setattr(native, "_wkb", None)
    in_arrow = pgcopy.ewkb_multipolygons(wkb, polygons, 9377)
    assert in_c.equals(in_arrow)
    back = shapely.from_wkb(in_c.to_numpy(zero_copy_only=False))
    assert set(shapely.get_type_id(back)) == {6} and set(shapely.get_srid(back)) == {9377}
    assert all(b.equals(g) for b, g in zip(back, geoms, strict=True))
    # A slice (Arrow offset) reads its own rows.
    assert pgcopy.ewkb_multipolygons(wkb.slice(1, 4), polygons[1:5], 9377).equals(
        in_arrow.slice(1, 4)
    )


def test_fuzz_of_large_polygons_never_proves_what_geos_rejects():
    # Hundreds of segments per polygon: the sweep's sort and pruning beyond the small cases.
    rng = np.random.default_rng(7)
    geoms = []
    for _ in range(1_500):
        count = int(rng.integers(30, 400))
        angles = rng.uniform(0, 2 * np.pi, count)
        if rng.random() < 0.7:  # a star polygon; unsorted angles cross themselves
            angles = np.sort(angles)
        radii = rng.uniform(1, 10, count)
        ring = np.column_stack([radii * np.cos(angles), radii * np.sin(angles)])
        if rng.random() < 0.5:
            ring = np.round(ring, int(rng.integers(0, 3)))
        holes = []
        for _ in range(int(rng.integers(0, 4))):
            centre, radius = rng.uniform(-3, 3, 2), rng.uniform(0.2, 1.5)
            around = np.sort(rng.uniform(0, 2 * np.pi, int(rng.integers(3, 40))))
            holes.append(centre + radius * np.column_stack([np.cos(around), np.sin(around)]))
        geom = P(ring, holes)
        if rng.random() < 0.5:
            geom = affinity.rotate(geom, rng.uniform(0, 180), (0, 0))
        if rng.random() < 0.3:  # tall: the sweep runs along y
            geom = affinity.scale(geom, 1, rng.uniform(5, 50))
        geoms.append(geom)
    wkb = shapely.to_wkb(np.array(geoms, dtype=object))
    proof = prove(pa.array(wkb, pa.binary()))
    valid = shapely.is_valid(shapely.from_wkb(wkb))
    assert not (proof.proved & ~valid).any()
    assert (~valid).sum() > 250 and proof.proved[valid].mean() > 0.8


def test_reprojected_polygons_are_proved_and_geos_checks_only_the_rest(
    db, tmp_path, clean, monkeypatch
):
    from layers import import_geometry
    from layers.importer import run_import

    checked: list[int] = []
    polygonal = import_geometry.cleaner("polygon")

    def spy(geoms, locate=None):
        checked.append(len(geoms))
        return polygonal(geoms, locate)

    monkeypatch.setattr(import_geometry, "cleaner", lambda kind: spy)
    features = [tenure(f"RP-{i}", -75.7 + i * 0.02, 6.2) for i in range(4)]
    bow_tie = [[[-75.6, 6.2], [-75.59, 6.21], [-75.59, 6.2], [-75.6, 6.21], [-75.6, 6.2]]]
    features[2]["geometry"] = {"type": "Polygon", "coordinates": bow_tie}
    path = write_geojson(tmp_path / "lonlat.geojson", features)  # EPSG:4326: reprojected
    summary = run_import("mining_tenures", path)
    assert (summary.inserted, summary.repaired) == (4, 1)
    assert checked == [1]  # only the bow-tie reached GEOS's check
    assert "fila 3 (nombre 'RP-2'" in summary.repairs[0]
    assert "autointersección en (-75.595, 6.205)" in summary.repairs[0]
    valid = db.execute(
        "SELECT bool_and(ST_IsValid(geom)), count(*) FROM layers_miningtenure "
        "WHERE expediente LIKE 'RP-_'"
    ).fetchone()
    assert valid == (True, 4)
