"""District exports: GeoPackage (boundary versions, actions with scope, proposals used) and
tables of actions, indicators and follow-ups as XLSX or CSV."""

from __future__ import annotations

import csv
import io
import tempfile
from pathlib import Path

import geopandas as gpd
import pandas as pd
from django.db import connection
from openpyxl import Workbook
from shapely import wkb

from delimitation.models import District

_ACTIONS = (
    "SELECT a.code, a.title, a.component, array_to_string(a.purposes, ',') AS purposes, "
    "o.name AS responsible, a.status, a.scope_kind, a.start::text AS start, "
    'a."end"::text AS "end", ST_AsBinary(ST_Multi(ST_CollectionExtract(a.geom, {kind}))) '
    "AS geom FROM plan_action a JOIN plan_strategicplan p ON p.id = a.plan_id "
    "JOIN plan_organisation o ON o.id = a.responsible_id WHERE p.district_id = %s "
    "AND NOT ST_IsEmpty(ST_CollectionExtract(a.geom, {kind})) ORDER BY a.code"
)

# Actions may be polygons, lines or points: one GeoPackage layer per dimension.
GEOPACKAGE_LAYERS = {
    "acciones": _ACTIONS.format(kind=3),
    "acciones_lineas": _ACTIONS.format(kind=2),
    "acciones_puntos": _ACTIONS.format(kind=1),
    "limites": (
        "SELECT v.number AS version, v.source, v.author, v.comment, v.area_ha, "
        "v.created_at::text AS created_at, ST_AsBinary(v.geom) AS geom "
        "FROM delimitation_boundaryversion v WHERE v.district_id = %s ORDER BY v.number"
    ),
    "propuestas": (
        "SELECT pr.id AS proposal, pr.rank, pr.score, pr.area_ha, ST_AsBinary(pr.geom) AS geom "
        "FROM delimitation_proposal pr JOIN delimitation_boundaryversion v "
        "ON v.proposal_id = pr.id WHERE v.district_id = %s ORDER BY pr.id"
    ),
}

TABLE_QUERIES = {
    "acciones": (
        "SELECT a.code, a.title, a.component, array_to_string(a.purposes, ',') AS purposes, "
        'o.name AS responsible, a.status, a.scope_kind, a.start, a."end", a.budget_cop, '
        "a.funding_source, a.action_plan_ref FROM plan_action a "
        "JOIN plan_strategicplan p ON p.id = a.plan_id JOIN plan_organisation o "
        "ON o.id = a.responsible_id WHERE p.district_id = %s ORDER BY a.code"
    ),
    "indicadores": (
        "SELECT a.code AS action, i.id, i.name, i.unit, i.baseline, i.target, i.target_date, "
        "i.frequency, i.evaluation_criterion FROM plan_indicator i JOIN plan_action a "
        "ON a.id = i.action_id JOIN plan_strategicplan p ON p.id = a.plan_id "
        "WHERE p.district_id = %s ORDER BY a.code, i.id"
    ),
    "seguimientos": (
        "SELECT a.code AS action, i.name AS indicator, f.period, f.date, f.value, f.narrative, "
        "f.evidence_url, f.reported_by FROM plan_followup f JOIN plan_indicator i "
        "ON i.id = f.indicator_id JOIN plan_action a ON a.id = i.action_id "
        "JOIN plan_strategicplan p ON p.id = a.plan_id WHERE p.district_id = %s "
        "ORDER BY a.code, i.id, f.date"
    ),
}


def _query(sql: str, district_id: int) -> tuple[list[str], list[tuple]]:
    with connection.cursor() as cursor:
        cursor.execute(sql, [district_id])
        return [c.name for c in cursor.description], cursor.fetchall()


def export_geopackage(district: District) -> bytes:
    """A GeoPackage (EPSG:9377) with one layer per table that has rows."""
    with tempfile.TemporaryDirectory() as folder:
        path = Path(folder) / f"{district.code}.gpkg"
        for layer, sql in GEOPACKAGE_LAYERS.items():
            columns, rows = _query(sql, district.pk)
            if not rows:
                continue
            frame = pd.DataFrame(rows, columns=columns)
            frame["geom"] = [wkb.loads(bytes(g)) for g in frame["geom"]]
            gpd.GeoDataFrame(frame, geometry="geom", crs="EPSG:9377").to_file(
                path, layer=layer, driver="GPKG", engine="pyogrio"
            )
        return path.read_bytes() if path.exists() else b""


def export_xlsx(district: District) -> bytes:
    """Actions, indicators and follow-ups, one sheet each."""
    book = Workbook()
    book.remove(book.active)
    for sheet, sql in TABLE_QUERIES.items():
        columns, rows = _query(sql, district.pk)
        ws = book.create_sheet(sheet)
        ws.append(columns)
        for row in rows:
            ws.append([float(v) if hasattr(v, "as_tuple") else v for v in row])
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def export_csv(district: District, table: str = "seguimientos") -> str:
    """One table as CSV (UTF-8 with header)."""
    columns, rows = _query(TABLE_QUERIES[table], district.pk)
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    writer.writerows(rows)
    return buffer.getvalue()
