"""Small test world for the WFS / OGC API / real-client tests (SQL inserts, EPSG:9377).

Rectangles near X0, Y0 (Meta, away from the other test files' shapes), in metres:
    municipalities W0001 [0,10]x[0,10] km, W0002 [10,20]x[0,10] km
    hotspots W-1 [1,2]x[1,2] km (100 ha), W-2 [12,13]x[2,4] km (200 ha), W-3 [5,5.5]x[8,9] km
    tenures  W-T1 [2,8]x[2,6] km, W-T2 [14,18]x[1,9] km
Users: ogc_analyst (analyst, may edit hotspots), ogc_viewer (viewer only).
"""

from __future__ import annotations

import psycopg

X0, Y0 = 4_950_000, 1_850_000
KM = 1000
PASSWORD = "clave-de-prueba-123"
ANALYST = "ogc_analyst"
VIEWER = "ogc_viewer"


def rect(x0: float, y0: float, x1: float, y1: float) -> str:
    """EWKT MultiPolygon of a rectangle in km offsets from the origin."""
    a, b, c, d = X0 + x0 * KM, Y0 + y0 * KM, X0 + x1 * KM, Y0 + y1 * KM
    return f"SRID=9377;MULTIPOLYGON((({a} {b},{c} {b},{c} {d},{a} {d},{a} {b})))"


MUNICIPALITIES = {"W0001": (0, 0, 10, 10), "W0002": (10, 0, 20, 10)}
HOTSPOTS = {
    "W-1": ("explotacion_ilicita", "2021-03-01", 0.9, (1, 1, 2, 2)),
    "W-2": ("en_transito_legalidad", "2022-06-15", 0.5, (12, 2, 13, 4)),
    "W-3": ("desconocida", "2023-01-20", None, (5, 8, 5.5, 9)),
}
TENURES = {"W-T1": ("title", (2, 2, 8, 6)), "W-T2": ("application", (14, 1, 18, 9))}


def load(url: str) -> None:
    """Insert the world (idempotent)."""
    with psycopg.connect(url, autocommit=True) as conn:
        clear(conn)
        for code, box in MUNICIPALITIES.items():
            conn.execute(
                "INSERT INTO layers_municipality (code, name, department_id, legal_act, area_ha, "
                "geom) VALUES (%s, %s, 'W0', '', 10000, ST_GeomFromEWKT(%s))",
                [code, f"Municipio {code}", rect(*box)],
            )
        for source_id, (category, date, confidence, box) in HOTSPOTS.items():
            conn.execute(
                "INSERT INTO layers_mininghotspot (source, source_id, category, setting, "
                "detected_on, area_ha, confidence, synthetic, geom) VALUES ('ogc-test', %s, %s, "
                "'aluvial_tierra', %s, ST_Area(ST_GeomFromEWKT(%s)) / 10000, %s, true, "
                "ST_GeomFromEWKT(%s))",
                [source_id, category, date, rect(*box), confidence, rect(*box)],
            )
        for expediente, (kind, box) in TENURES.items():
            conn.execute(
                "INSERT INTO layers_miningtenure (tenure_type, expediente, holders, minerals, "
                "mineral_group, status, stage, modality, scale, municipalities_published, area_ha, "
                "source, geom) VALUES (%s, %s, ARRAY['Titular Uno'], ARRAY['oro'], 'metales', "
                "'vigente', '', '', 'pequeña', 'W0001', ST_Area(ST_GeomFromEWKT(%s)) / 10000, "
                "'ogc-test', ST_GeomFromEWKT(%s))",
                [kind, expediente, rect(*box), rect(*box)],
            )


def clear(conn: psycopg.Connection) -> None:
    """Remove the world's rows (and anything the edit tests created)."""
    conn.execute("DELETE FROM layers_municipality WHERE code = ANY(%s)", [list(MUNICIPALITIES)])
    conn.execute(
        "DELETE FROM layers_mininghotspot WHERE source IN ('ogc-test', 'reporte_campo', "
        "'qgis-test') OR source_id LIKE 'wfst-%%'"
    )
    conn.execute("DELETE FROM layers_miningtenure WHERE source = 'ogc-test'")


def users() -> None:
    """The analyst and viewer accounts (Django ORM; Django is set up by conftest)."""
    from django.contrib.auth.models import Group, User

    for name, group in ((ANALYST, "analyst"), (VIEWER, "viewer")):
        user, _ = User.objects.get_or_create(username=name)
        user.set_password(PASSWORD)
        user.is_active = True
        user.save()
        user.groups.add(Group.objects.get_or_create(name=group)[0])


def hotspot_id(url: str, source_id: str) -> int:
    """The primary key of a world hotspot."""
    with psycopg.connect(url) as conn:
        return conn.execute(
            "SELECT id FROM layers_mininghotspot WHERE source_id = %s", [source_id]
        ).fetchone()[0]
