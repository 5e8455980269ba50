"""A synthetic world with drainage for the proposal engine tests (SQL inserts).

World (10 km squares in EPSG:9377, origin far from any other test's data):

    row 2:                      d1
    row 1:  c2   c1   c0        d0
    row 0:  a0   a1   a2   a3

Drainage: a0 -> a1 -> a2 -> a3 -> (out); c2 -> c1 -> c0 -> a2 (a larger river: 3 units
upstream against a1's 2); d0 -> d1 -> (out). Hotspots: 500 ha in a0, 300 ha in d1 (seeds),
50 ha 'con_permisos' in c0 (no seed). A resguardo covers part of a2, a national park part of
a3. Municipalities 99001 (columns 0-1) and 99002 (columns 2-3) of department 99.
An aptitude raster (3 km cells, class 1 west of x = 15 km, class 2 east of it) is written
to a temporary folder and catalogued as 'apt-prueba'.
"""

from __future__ import annotations

from pathlib import Path

import numpy as np
import psycopg
import rasterio
from rasterio.transform import from_origin

X0, Y0, S = 3_100_000, 1_100_000, 10_000
CELLS = {
    "a0": (0, 0),
    "a1": (1, 0),
    "a2": (2, 0),
    "a3": (3, 0),
    "c2": (0, 1),
    "c1": (1, 1),
    "c0": (2, 1),
    "d0": (3, 1),
    "d1": (3, 2),
}
DOWN = {"a0": "a1", "a1": "a2", "a2": "a3", "c2": "c1", "c1": "c0", "c0": "a2", "d0": "d1"}


def box(x0: float, y0: float, x1: float, y1: float) -> str:
    return f"ST_Multi(ST_MakeEnvelope({X0 + x0}, {Y0 + y0}, {X0 + x1}, {Y0 + y1}, 9377))"


def cell(code: str) -> str:
    col, row = CELLS[code]
    return box(col * S, row * S, (col + 1) * S, (row + 1) * S)


def square_in(code: str, ha: float, dx: float = 1000, dy: float = 1000) -> str:
    """A square of `ha` hectares inside a cell, offset from its lower-left corner."""
    col, row = CELLS[code]
    side = (ha * 10_000) ** 0.5
    x, y = col * S + dx, row * S + dy
    return box(x, y, x + side, y + side)


RASTER = "apt-prueba"


def write_raster(folder: Path) -> Path:
    """Class 1 west of x = 15 km, class 2 east of it, 3 km cells over [0, 42] x [0, 30] km."""
    cell = 3000
    cols, rows = 14, 10
    data = np.where(np.arange(cols) * cell < 15_000, 1, 2).astype("uint8")
    data = np.repeat(data[np.newaxis, :], rows, axis=0)
    path = folder / "apt_prueba.tif"
    with rasterio.open(
        path,
        "w",
        driver="GTiff",
        width=cols,
        height=rows,
        count=1,
        dtype="uint8",
        crs="EPSG:9377",
        transform=from_origin(X0, Y0 + rows * cell, cell, cell),
        nodata=0,
    ) as ds:
        ds.write(data, 1)
    return path


def load(conn: psycopg.Connection, folder: Path) -> dict[str, int]:
    """Insert the world; returns unit ids by cell name."""
    unload(conn)
    path = write_raster(folder)
    conn.execute(
        "INSERT INTO layers_rasterlayer (name, title, theme, path, crs, resolution, nodata, "
        "bounds_4326, class_table, synthetic, source) VALUES (%s, 'Aptitud de prueba', "
        "'aptitude', %s, 'EPSG:9377', 3000, 0, '{0,0,0,0}', %s, true, 'prueba')",
        [RASTER, str(path), '[{"value": 1, "label": "alta"}, {"value": 2, "label": "baja"}]'],
    )
    conn.execute(
        f"INSERT INTO layers_department (code, name, area_ha, geom) "
        f"VALUES ('99', 'Sintético', 120000, {box(0, 0, 4 * S, 3 * S)})"
    )
    for code, x0, x1 in (("99001", 0, 2 * S), ("99002", 2 * S, 4 * S)):
        conn.execute(
            f"INSERT INTO layers_municipality (code, name, department_id, area_ha, geom, "
            f"legal_act) VALUES ('{code}', 'Municipio {code}', '99', 60000, "
            f"{box(x0, 0, x1, 3 * S)}, '')"
        )
    ids = {}
    for code in CELLS:
        ids[code] = conn.execute(
            f"INSERT INTO hydrology_hydrounit (system, code, name, level, area_ha, geom) "
            f"VALUES ('derived', 'T-{code}', 'Unidad {code}', 1, 10000, {cell(code)}) "
            f"RETURNING id"
        ).fetchone()[0]
    for code, down in DOWN.items():
        conn.execute(
            "UPDATE hydrology_hydrounit SET next_down_id = %s WHERE id = %s",
            [ids[down], ids[code]],
        )
    for n, (code, ha, category) in enumerate(
        (
            ("a0", 500, "explotacion_ilicita"),
            ("d1", 300, "explotacion_ilicita"),
            ("c0", 50, "con_permisos"),
        )
    ):
        conn.execute(
            f"INSERT INTO layers_mininghotspot (source, source_id, category, setting, "
            f"area_ha, synthetic, geom) VALUES ('test_engine', 'h{n}', '{category}', "
            f"'veta', {ha}, true, {square_in(code, ha)})"
        )
    # A title and an application overlapping half of it, both in a1: 400 + 200 ha dissolved.
    conn.execute(
        f"INSERT INTO layers_miningtenure (tenure_type, expediente, area_ha, status, geom, "
        f"holders, minerals, mineral_group, stage, modality, scale, "
        f"municipalities_published, source) "
        f"SELECT v.*, '{{}}'::text[], '{{}}'::text[], '', '', '', '', '', 'test' FROM (VALUES "
        f"('title', 'TE-1', 400.0, 'Activo', {box(S + 1000, 1000, S + 3000, 3000)}), "
        f"('application', 'TE-2', 400.0, 'Radicada', {box(S + 2000, 1000, S + 4000, 3000)})"
        f") v"
    )
    conn.execute(
        f"INSERT INTO layers_ethnicterritory (kind, source_id, name, people, area_ha, geom, "
        f"legal_act) VALUES ('resguardo_indigena', 'TE-R1', 'Resguardo de Prueba', 'Emberá', "
        f"800, "
        f"{box(2 * S, 0, 2 * S + 2000, 4000)}, '')"
    )
    conn.execute(
        f"INSERT INTO layers_protectedarea (name, category, excludes_mining, area_ha, geom, "
        f"category_published, legal_basis) VALUES ('Parque de Prueba', 'parque_nacional', "
        f"true, 1000, {box(3 * S, 0, 3 * S + 1000, 10_000)}, '', '')"
    )
    return ids


def unload(conn: psycopg.Connection) -> None:
    """Remove the world, its runs and any district adopted from them."""
    with conn.transaction():
        conn.execute("SET LOCAL delimitation.purge = 'on'")
        districts = "SELECT id FROM delimitation_district WHERE code LIKE 'tpe-%'"
        conn.execute(f"DELETE FROM delimitation_boundaryversion WHERE district_id IN ({districts})")
        conn.execute("DELETE FROM delimitation_district WHERE code LIKE 'tpe-%'")
    runs = (
        "SELECT id FROM delimitation_proposalrun WHERE study_area_spec->'municipalities' ? '99001'"
    )
    conn.execute(f"DELETE FROM delimitation_proposal WHERE run_id IN ({runs})")
    conn.execute(f"DELETE FROM delimitation_proposalrun WHERE id IN ({runs})")
    conn.execute("DELETE FROM layers_rasterlayer WHERE name = %s", [RASTER])
    units = "SELECT id FROM hydrology_hydrounit WHERE code LIKE 'T-%'"
    conn.execute(f"DELETE FROM hydrology_unitwatermetrics WHERE unit_id IN ({units})")
    conn.execute("DELETE FROM hydrology_hydrounit WHERE code LIKE 'T-%'")
    conn.execute("DELETE FROM layers_mininghotspot WHERE source = 'test_engine'")
    conn.execute("DELETE FROM layers_miningtenure WHERE expediente LIKE 'TE-%'")
    conn.execute("DELETE FROM layers_ethnicterritory WHERE source_id = 'TE-R1'")
    conn.execute("DELETE FROM layers_protectedarea WHERE name = 'Parque de Prueba'")
    conn.execute("DELETE FROM layers_municipality WHERE code IN ('99001', '99002')")
    conn.execute("DELETE FROM layers_department WHERE code = '99'")
