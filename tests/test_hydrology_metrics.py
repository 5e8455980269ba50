"""Per-unit water metrics on squares with known river lengths, intakes and protected areas."""

from __future__ import annotations

import psycopg
import pytest

from hydrology.metrics import compute_water_metrics, unit_water_metrics

X0, Y0, KM = 4_600_000, 1_700_000, 1000
TAG = "test-metrics"


@pytest.fixture(scope="module")
def db(database_url):
    with psycopg.connect(database_url, autocommit=True) as conn:
        yield conn


def box(x0: float, y0: float, x1: float, y1: float) -> str:
    return f"SRID=9377;MULTIPOLYGON((({x0} {y0},{x1} {y0},{x1} {y1},{x0} {y1},{x0} {y0})))"


def line(*points: tuple[float, float]) -> str:
    return "SRID=9377;MULTILINESTRING((" + ",".join(f"{x} {y}" for x, y in points) + "))"


def add_river(conn, name: str, order: int | None, wkt: str) -> None:
    conn.execute(
        "INSERT INTO hydrology_river (name, strahler_order, source, length_km, geom) "
        "VALUES (%s, %s, %s, ST_Length(%s::geometry) / 1000, %s::geometry)",
        [name, order, TAG, wkt, wkt],
    )


def add_protected(conn, name: str, category: str, wkt: str) -> None:
    conn.execute(
        "INSERT INTO layers_protectedarea (name, category, category_published, legal_basis, "
        "excludes_mining, area_ha, geom) VALUES (%s, %s, '', '', true, "
        "ST_Area(%s::geometry) / 10000, %s::geometry)",
        [f"{TAG} {name}", category, wkt, wkt],
    )


def cleanup(conn) -> None:
    conn.execute("DELETE FROM hydrology_river WHERE source = %s", [TAG])
    conn.execute("DELETE FROM hydrology_waterintake WHERE source = %s", [TAG])
    conn.execute("DELETE FROM layers_protectedarea WHERE name LIKE %s", [TAG + "%"])
    conn.execute("DELETE FROM hydrology_hydrounit WHERE code LIKE 'met-%%'")


@pytest.fixture(scope="module")
def units(db):
    """Two adjacent 10 km squares: west (W) and east (E)."""
    cleanup(db)
    ids = {}
    for name, x in (("W", X0), ("E", X0 + 10 * KM)):
        ids[name] = db.execute(
            "INSERT INTO hydrology_hydrounit (system, code, name, level, area_ha, geom) "
            "VALUES ('watershed', %s, %s, 1, 10000, %s::geometry) RETURNING id",
            [f"met-{name}", name, box(x, Y0, x + 10 * KM, Y0 + 10 * KM)],
        ).fetchone()[0]
    # W: a 4 km order-1 stream inside; a 3 km unordered ditch inside; an order-2 river
    # crossing both units (10 km in each).
    add_river(db, "quebrada", 1, line((X0 + 1 * KM, Y0 + 1 * KM), (X0 + 1 * KM, Y0 + 5 * KM)))
    add_river(db, "canal", None, line((X0 + 2 * KM, Y0 + 8 * KM), (X0 + 5 * KM, Y0 + 8 * KM)))
    add_river(db, "río", 2, line((X0, Y0 + 5 * KM), (X0 + 20 * KM, Y0 + 5 * KM)))
    # Two intakes in W, one in E.
    for name, x, y in (("b1", 3, 3), ("b2", 6, 6), ("b3", 15, 2)):
        db.execute(
            "INSERT INTO hydrology_waterintake (name, serves_municipality_id, aqueduct, source, "
            "geom) VALUES (%s, '50001', 'Acueducto', %s, ST_SetSRID(ST_MakePoint(%s, %s), 9377))",
            [name, TAG, X0 + x * KM, Y0 + y * KM],
        )
    # W: a park over its western half (5,000 ha) holding a 2 x 2 km páramo (400 ha); a 1 x 1 km
    # Ramsar wetland straddling the W/E seam (50 ha each side); a Ley 2ª reserve over both
    # units, which is not a protected area.
    add_protected(db, "parque", "parque_nacional", box(X0, Y0, X0 + 5 * KM, Y0 + 10 * KM))
    add_protected(db, "páramo", "paramo", box(X0 + KM, Y0 + KM, X0 + 3 * KM, Y0 + 3 * KM))
    add_protected(
        db,
        "humedal",
        "humedal_ramsar",
        box(X0 + 9.5 * KM, Y0 + 8 * KM, X0 + 10.5 * KM, Y0 + 9 * KM),
    )
    add_protected(db, "ley 2", "ley2_b", box(X0 - KM, Y0 - KM, X0 + 21 * KM, Y0 + 11 * KM))
    yield ids
    cleanup(db)


def test_metrics_on_known_squares(db, units):
    metrics = unit_water_metrics(db, [units["W"], units["E"]])
    west, east = metrics[units["W"]], metrics[units["E"]]
    assert west["river_km_by_order"] == {"1": 4.0, "2": 10.0, "sin_orden": 3.0}
    assert west["river_km"] == pytest.approx(17.0)
    assert west["intakes"] == 2
    assert west["paramo_ha"] == pytest.approx(400.0)
    assert west["wetland_ha"] == pytest.approx(50.0)
    # Park 5,000 ha (the páramo inside it is not counted twice) + half the wetland.
    assert west["protected_ha"] == pytest.approx(5050.0)
    assert west["protected_share"] == pytest.approx(0.505)
    assert east["river_km_by_order"] == {"2": 10.0}
    assert east["intakes"] == 1
    assert east["paramo_ha"] == 0
    assert east["wetland_ha"] == pytest.approx(50.0)
    assert east["protected_share"] == pytest.approx(0.005)


def test_metrics_are_cached_and_refreshed_after_a_write(db, units):
    unit_water_metrics(db, [units["E"]])
    before = db.execute(
        "SELECT computed_at FROM hydrology_unitwatermetrics WHERE unit_id = %s", [units["E"]]
    ).fetchone()[0]
    # Read again: served from the cache, not recomputed.
    unit_water_metrics(db, [units["E"]])
    again = db.execute(
        "SELECT computed_at FROM hydrology_unitwatermetrics WHERE unit_id = %s", [units["E"]]
    ).fetchone()[0]
    assert again == before
    # A new 2.5 km order-3 river in E bumps the rivers revision: the cache is stale.
    add_river(db, "nuevo", 3, line((X0 + 12 * KM, Y0 + 1 * KM), (X0 + 14.5 * KM, Y0 + 1 * KM)))
    east = unit_water_metrics(db, [units["E"]])[units["E"]]
    assert east["river_km_by_order"] == {"2": 10.0, "3": 2.5}
    assert east["river_km"] == pytest.approx(12.5)


def test_unknown_units_are_absent(db, units):
    assert unit_water_metrics(db, [999_999_999]) == {}
    assert unit_water_metrics(db, []) == {}
    assert compute_water_metrics(db, [units["W"]]) == 1
