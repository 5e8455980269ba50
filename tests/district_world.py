"""A small hand-computable world in EPSG:9377 for the district tests (SQL inserts).

Origin X0, Y0 (Vaupés, far from the other test files' squares); all shapes are axis-aligned
rectangles in km offsets, so every overlap is exact hectares (1 km² = 100 ha).

    departments  Z1 [0,40]x[0,20]  Z2 [40,80]x[0,20]       (Colombia = [0,80]x[0,20])
    municipalities Z1001 [0,20]x[0,20]  Z1002 [20,40]x[0,20]  Z2001 [40,80]x[0,20]
    hydro units (pomca, level 1) 10 km squares U11 [0,10]x[0,10], U21 [10,20]x[0,10],
                 U12 [0,10]x[10,20], U22 [10,20]x[10,20], U31 [20,30]x[0,10]
    hotspots  H-CUT [14,18]x[1,3] (800 ha)   H-IN [1,2]x[1,2]   H-FAR [30,31]x[5,6]
    tenures   T-CUT [12,20]x[15,19] (3200 ha)
    protected P-PARK [2,6]x[12,16] excludes   P-LEY2 [2,4]x[2,4] does not   P-EDGE [14,18]x[8,10]
    ethnic    E-RES [6,10]x[4,6] resguardo (800 ha)
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager

import psycopg

X0, Y0 = 5_400_000, 1_600_000
KM = 1000
PREFIX = "tdm-"


def box(x0: float, y0: float, x1: float, y1: float) -> str:
    """EWKT MultiPolygon of a rectangle given in km offsets from the origin."""
    a, b, c, d = X0 + x0 * KM, Y0 + y0 * KM, X0 + x1 * KM, Y0 + y1 * KM
    return f"SRID=9377;MULTIPOLYGON((({a} {b},{c} {b},{c} {d},{a} {d},{a} {b})))"


def polygon(x0: float, y0: float, x1: float, y1: float) -> dict:
    """GeoJSON Polygon (EPSG:9377 coordinates) of a rectangle in km offsets."""
    a, b, c, d = X0 + x0 * KM, Y0 + y0 * KM, X0 + x1 * KM, Y0 + y1 * KM
    return {"type": "Polygon", "coordinates": [[[a, b], [c, b], [c, d], [a, d], [a, b]]]}


DEPARTMENTS = {"Z1": (0, 0, 40, 20), "Z2": (40, 0, 80, 20)}
MUNICIPALITIES = {
    "Z1001": ("Z1", (0, 0, 20, 20)),
    "Z1002": ("Z1", (20, 0, 40, 20)),
    "Z2001": ("Z2", (40, 0, 80, 20)),
}
UNITS = {
    "TU11": (0, 0, 10, 10),
    "TU21": (10, 0, 20, 10),
    "TU12": (0, 10, 10, 20),
    "TU22": (10, 10, 20, 20),
    "TU31": (20, 0, 30, 10),
}
HOTSPOTS = {"H-CUT": (14, 1, 18, 3), "H-IN": (1, 1, 2, 2), "H-FAR": (30, 5, 31, 6)}
TENURES = {"T-CUT": (12, 15, 20, 19)}
PROTECTED = {
    "P-PARK": ("parque_nacional", True, (2, 12, 6, 16)),
    "P-LEY2": ("ley2_b", False, (2, 2, 4, 4)),
    "P-EDGE": ("paramo", True, (14, 8, 18, 10)),
}
ETHNIC = {"E-RES": ("resguardo_indigena", (6, 4, 10, 6))}


def _area(rect: tuple) -> float:
    x0, y0, x1, y1 = rect
    return (x1 - x0) * (y1 - y0) * 100.0


def load(conn: psycopg.Connection) -> dict[str, int]:
    """Insert the world; returns hydro unit ids by code."""
    unload(conn)
    for code, rect in DEPARTMENTS.items():
        conn.execute(
            "INSERT INTO layers_department (code, name, area_ha, geom) VALUES (%s, %s, %s, %s)",
            [code, f"Departamento {code}", _area(rect), box(*rect)],
        )
    for code, (dep, rect) in MUNICIPALITIES.items():
        conn.execute(
            "INSERT INTO layers_municipality (code, name, department_id, legal_act, area_ha, geom) "
            "VALUES (%s, %s, %s, '', %s, %s)",
            [code, f"Municipio {code}", dep, _area(rect), box(*rect)],
        )
    units = {}
    for code, rect in UNITS.items():
        units[code] = conn.execute(
            "INSERT INTO hydrology_hydrounit (system, code, name, level, area_ha, geom) "
            "VALUES ('pomca', %s, %s, 1, %s, %s) RETURNING id",
            [code, f"Cuenca {code}", _area(rect), box(*rect)],
        ).fetchone()[0]
    for code, rect in HOTSPOTS.items():
        conn.execute(
            "INSERT INTO layers_mininghotspot (source, source_id, category, setting, area_ha, "
            "synthetic, geom) VALUES ('prueba', %s, 'explotacion_ilicita', 'aluvial_tierra', %s, "
            "true, %s)",
            [code, _area(rect), box(*rect)],
        )
    for code, rect in TENURES.items():
        conn.execute(
            "INSERT INTO layers_miningtenure (tenure_type, expediente, holders, minerals, "
            "mineral_group, status, stage, modality, scale, municipalities_published, area_ha, "
            "source, geom) VALUES ('title', %s, '{}', '{oro}', '', 'vigente', '', '', '', '', "
            "%s, 'prueba', %s)",
            [code, _area(rect), box(*rect)],
        )
    for name, (category, excludes, rect) in PROTECTED.items():
        conn.execute(
            "INSERT INTO layers_protectedarea (name, category, category_published, legal_basis, "
            "excludes_mining, area_ha, geom) VALUES (%s, %s, '', '', %s, %s, %s)",
            [name, category, excludes, _area(rect), box(*rect)],
        )
    for source_id, (kind, rect) in ETHNIC.items():
        conn.execute(
            "INSERT INTO layers_ethnicterritory (kind, source_id, name, people, legal_act, "
            "area_ha, geom) VALUES (%s, %s, %s, 'Cubeo', '', %s, %s)",
            [kind, source_id, f"Resguardo {source_id}", _area(rect), box(*rect)],
        )
    return units


def unload(conn: psycopg.Connection) -> None:
    """Remove the world and every test district (versions and acts need the purge switch)."""
    purge_districts(conn)
    conn.execute("DELETE FROM layers_municipality WHERE code = ANY(%s)", [list(MUNICIPALITIES)])
    conn.execute("DELETE FROM layers_department WHERE code = ANY(%s)", [list(DEPARTMENTS)])
    conn.execute(
        "DELETE FROM hydrology_hydrounit WHERE system = 'pomca' AND code = ANY(%s)", [list(UNITS)]
    )
    conn.execute("DELETE FROM layers_mininghotspot WHERE source = 'prueba'")
    conn.execute("DELETE FROM layers_miningtenure WHERE source = 'prueba'")
    conn.execute("DELETE FROM layers_protectedarea WHERE name = ANY(%s)", [list(PROTECTED)])
    conn.execute("DELETE FROM layers_ethnicterritory WHERE source_id = ANY(%s)", [list(ETHNIC)])


def purge_districts(conn: psycopg.Connection) -> None:
    """Delete the test districts with their immutable versions and acts."""
    with conn.transaction():
        conn.execute("SET LOCAL delimitation.purge = 'on'")
        ids = "SELECT id FROM delimitation_district WHERE code LIKE %s"
        like = PREFIX + "%"
        conn.execute(
            f"DELETE FROM delimitation_administrativeact WHERE district_id IN ({ids})", [like]
        )
        conn.execute(
            f"DELETE FROM delimitation_boundaryversion WHERE district_id IN ({ids})", [like]
        )
        conn.execute("DELETE FROM delimitation_district WHERE code LIKE %s", [like])


@contextmanager
def users(roles: dict[str, str]) -> Iterator[dict[str, dict[str, str]]]:
    """Bearer headers for users named after their role (e.g. {'ana': 'analyst'})."""
    from django.contrib.auth.models import Group, User

    from app.accounts.models import ApiToken

    headers = {}
    for name, role in roles.items():
        account, _ = User.objects.get_or_create(username=f"{PREFIX}{name}")
        account.groups.set([Group.objects.get_or_create(name=role)[0]])
        headers[name] = {"Authorization": f"Bearer {ApiToken.issue(account)[1]}"}
    yield headers
