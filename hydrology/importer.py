"""Hydrographic units from published layers: IDEAM zoning, POMCA basins, watersheds, HydroBASINS.

The base template (layers.importer) loads the units; these classes map fields and, inside the
same transaction, link parents and `next_down` by the published codes. Where a layer
publishes no drainage topology, `next_down` stays empty and the summary says so: adjacency
is never used to guess it (DEM derivation in hydrology.derive fills it properly).
"""

from __future__ import annotations

import csv
from functools import lru_cache
from pathlib import Path
from typing import Any, ClassVar

import pyarrow as pa
import pyarrow.compute as pc

from layers import values
from layers.importer import Column, Importer, ImportSummary
from layers.values import Issues

IDEAM_TABLE = (
    Path(__file__).resolve().parent.parent
    / "data"
    / "samples"
    / "national"
    / "ideam_zonificacion_hidrografica_2013.csv"
)
SYSTEMS = ("ideam", "pomca", "watershed", "hydrobasins")
NO_TOPOLOGY = (
    "El archivo no publica next_down (topología de drenaje): queda vacío. No se infiere por "
    "adyacencia; puede derivarse del DEM (hydrology.derive)."
)


def _system(label: str) -> str | None:
    return label if label in SYSTEMS else None


@lru_cache(maxsize=1)
def ideam_names() -> dict[str, tuple[int, str, str | None]]:
    """IDEAM 2013 zoning code table: code -> (level, name, parent code) for AH, ZH and SZH."""
    table: dict[str, tuple[int, str, str | None]] = {}
    if not IDEAM_TABLE.exists():
        return table
    with open(IDEAM_TABLE, encoding="utf-8") as handle:
        for row in csv.DictReader(handle):
            ah, zh, szh = row["COD_AH"].strip(), row["COD_ZH"].strip(), row["COD_SZH"].strip()
            table.setdefault(ah, (1, row["NOM_AH"].strip(), None))
            table.setdefault(zh, (2, row["NOM_ZH"].strip(), ah))
            table[szh] = (3, row["NOM_SZH"].strip(), zh)
    return table


def _slug(name: str) -> str:
    folded = values.fold(name)
    return "-".join("".join(c if c.isalnum() else " " for c in folded).split())[:60]


class HydroUnitImporter(Importer):
    """Units keyed by (system, code); parents and next_down linked by published codes."""

    layer = "hydro_units"
    model = "hydrology.HydroUnit"
    table = "hydrology_hydrounit"
    key = ("system", "code")
    replace_scope = ("system",)  # IDEAM zoning never replaces POMCA or derived units
    required = ("system", "name")
    columns = (
        Column(
            "system",
            convert=values.choice(_system, strict=True, allowed=", ".join(SYSTEMS)),
        ),
        Column("code"),
        Column("name"),
        Column("level", "int4"),
    )
    extra = (Column("parent_code"), Column("next_down_code"))

    def convert_batch(self, batch: pa.RecordBatch, issues: Issues) -> dict[str, pa.Array]:
        data = super().convert_batch(batch, issues)
        if "code" not in data and "name" in data:
            # No published code: a slug of the name is stable across re-imports of the file.
            names = data["name"]
            slugs = {n: _slug(n) for n in pc.unique(names).to_pylist() if n is not None}
            keys = pa.array(list(slugs), pa.string())
            table = pa.array(list(slugs.values()), pa.string())
            data["code"] = pc.take(table, pc.index_in(names, value_set=keys))
        return data

    def after_upsert(self, cursor: Any, batch_id: int | None, summary: ImportSummary) -> None:
        self.link_parents(cursor)
        if "next_down_code" not in self.sources and "next_down_code" not in self.fixed:
            summary.warn(NO_TOPOLOGY)
            return
        # Reset first: a re-import that drops a link must not keep the old one.
        cursor.execute(
            """
            UPDATE hydrology_hydrounit t SET next_down_id = d.id
            FROM import_stage s
            LEFT JOIN hydrology_hydrounit d ON d.system = s.system AND d.code = s.next_down_code
            WHERE t.system = s.system AND t.code = s.code
            """
        )
        cursor.execute(
            """
            SELECT count(*), (array_agg(s.code || ' → ' || s.next_down_code ORDER BY s.row_no))[1:5]
            FROM import_stage s
            LEFT JOIN hydrology_hydrounit d ON d.system = s.system AND d.code = s.next_down_code
            WHERE s.next_down_code IS NOT NULL AND d.id IS NULL
            """
        )
        dangling, examples = cursor.fetchone()
        if dangling:
            summary.warn(
                f"{dangling} unidades drenan a códigos que no están cargados; su next_down "
                f"queda vacío (p. ej. {', '.join(examples)})."
            )

    def link_parents(self, cursor: Any) -> None:
        """Point each unit at its parent by the published parent code."""
        cursor.execute(
            """
            UPDATE hydrology_hydrounit t SET parent_id = p.id
            FROM import_stage s
            JOIN hydrology_hydrounit p ON p.system = s.system AND p.code = s.parent_code
            WHERE t.system = s.system AND t.code = s.code
            """
        )


class HydrobasinsUnits(HydroUnitImporter):
    """HydroBASINS (HYBAS_ID, NEXT_DOWN with 0 for sinks, PFAF_ID whose digits are the level)."""

    label = "HydroBASINS"
    system = "hydrobasins"
    required = ("system", "code")
    signature = ("HYBAS_ID", "NEXT_DOWN")
    fields: ClassVar[dict[str, tuple[str, ...]]] = {
        "code": ("HYBAS_ID",),
        "next_down_code": ("NEXT_DOWN",),
        "pfafstetter": ("PFAF_ID",),
    }
    helpers = ("pfafstetter",)
    constants: ClassVar[dict[str, Any]] = {"system": "hydrobasins"}

    def convert_batch(self, batch: pa.RecordBatch, issues: Issues) -> dict[str, pa.Array]:
        data = super().convert_batch(batch, issues)
        if "next_down_code" in data:
            data["next_down_code"] = pc.if_else(
                pc.equal(data["next_down_code"], "0"), None, data["next_down_code"]
            )
        if "pfafstetter" in self.sources:
            source = self.sources["pfafstetter"]
            codes = values.text(batch.column(source), issues, source)
            data["level"] = pc.cast(pc.utf8_length(codes), pa.int32())
        return data


class IdeamUnits(HydroUnitImporter):
    """IDEAM 2013 zoning at subzone level; zones and areas are dissolved from their subzones."""

    label = "IDEAM zonificación hidrográfica 2013"
    system = "ideam"
    required = ("system", "code")
    signature = ("COD_SZH",)
    fields: ClassVar[dict[str, tuple[str, ...]]] = {
        "code": ("COD_SZH",),
        "name": ("NOM_SZH",),
        "parent_code": ("COD_ZH",),
        "area_code": ("COD_AH",),
    }
    extra = (Column("parent_code"), Column("next_down_code"), Column("area_code"))
    constants: ClassVar[dict[str, Any]] = {"system": "ideam", "level": 3}

    def convert_batch(self, batch: pa.RecordBatch, issues: Issues) -> dict[str, pa.Array]:
        data = super().convert_batch(batch, issues)
        table = ideam_names()
        codes = data["code"].to_pylist()
        unknown = sorted({c for c in codes if c is not None and c not in table})
        if unknown:
            issues.warn(
                "Códigos de subzona que no están en la tabla IDEAM 2013: " + ", ".join(unknown[:10])
            )

        def filled(name: str, lookup) -> pa.Array:
            # The shapefile often carries codes only; the code table gives names and parents.
            given = data.get(name)
            given = given.to_pylist() if given is not None else [None] * len(codes)
            return pa.array(
                [g or lookup(c) for c, g in zip(codes, given, strict=True)], pa.string()
            )

        def entry(code: str | None) -> tuple[int, str | None, str | None]:
            return table.get(code or "", (0, None, None))

        data["name"] = filled("name", lambda c: entry(c)[1])
        data["parent_code"] = filled("parent_code", lambda c: entry(c)[2])
        zones = data["parent_code"].to_pylist()
        data["area_code"] = pa.array(
            [
                a or entry(z)[2]
                for z, a in zip(
                    zones,
                    _listed(data.get("area_code"), len(codes)),
                    strict=True,
                )
            ],
            pa.string(),
        )
        return data

    def after_upsert(self, cursor: Any, batch_id: int | None, summary: ImportSummary) -> None:
        table = ideam_names()
        named = {"codes": list(table), "names": [table[c][1] for c in table]}
        made = []
        # Zones (level 2) dissolved from this file's subzones, then areas (level 1) from zones.
        for level, parent, child in ((2, "parent_code", "code"), (1, "area_code", "parent_code")):
            cursor.execute(
                f"""
                WITH links AS (
                    SELECT DISTINCT {parent} AS parent, {child} AS child FROM import_stage
                    WHERE {parent} IS NOT NULL
                ), dissolved AS (
                    SELECT l.parent, ST_Multi(ST_Union(u.geom)) AS g
                    FROM links l
                    JOIN hydrology_hydrounit u ON u.system = 'ideam' AND u.code = l.child
                    GROUP BY l.parent
                ), up AS (
                    INSERT INTO hydrology_hydrounit
                        (system, code, name, level, area_ha, geom, batch_id)
                    SELECT 'ideam', d.parent, COALESCE(n.name, ''), %(level)s,
                           ST_Area(d.g) / 10000.0, d.g, %(batch)s
                    FROM dissolved d
                    LEFT JOIN unnest(%(codes)s::text[], %(names)s::text[]) AS n(code, name)
                           ON n.code = d.parent
                    ON CONFLICT (system, code) DO UPDATE SET name = EXCLUDED.name,
                        level = EXCLUDED.level, area_ha = EXCLUDED.area_ha,
                        geom = EXCLUDED.geom, batch_id = EXCLUDED.batch_id
                    RETURNING 1
                )
                SELECT count(*) FROM up
                """,
                {**named, "level": level, "batch": batch_id},
            )
            made.append(cursor.fetchone()[0])
            cursor.execute(
                f"""
                UPDATE hydrology_hydrounit t SET parent_id = p.id
                FROM (SELECT DISTINCT {parent} AS parent, {child} AS child FROM import_stage) l
                JOIN hydrology_hydrounit p ON p.system = 'ideam' AND p.code = l.parent
                WHERE t.system = 'ideam' AND t.code = l.child
                """
            )
        summary.warn(
            f"Se disolvieron {made[0]} zonas hidrográficas (nivel 2) y {made[1]} áreas "
            "hidrográficas (nivel 1) a partir de las subzonas, con nombres de la tabla IDEAM."
        )
        summary.warn(NO_TOPOLOGY)


class WatershedUnits(HydroUnitImporter):
    """Watersheds of an environmental authority (CORPOURABA `nomb_cuenc`)."""

    label = "cuencas (autoridad ambiental)"
    system = "watershed"
    fields: ClassVar[dict[str, tuple[str, ...]]] = {
        "code": ("cod_cuenca", "codigo"),
        "name": ("nomb_cuenc", "nombre_cuenca", "nombre"),
        "next_down_code": ("next_down", "drena_a"),
    }
    signature = ("nomb_cuenc",)
    constants: ClassVar[dict[str, Any]] = {"system": "watershed", "level": 1}


class PomcaUnits(HydroUnitImporter):
    """POMCA planning basins (`nombre`)."""

    label = "cuencas POMCA"
    system = "pomca"
    fields: ClassVar[dict[str, tuple[str, ...]]] = {
        "code": ("cod_pomca", "codigo"),
        "name": ("nombre", "nom_pomca"),
        "next_down_code": ("next_down", "drena_a"),
    }
    signature = ("nombre",)
    constants: ClassVar[dict[str, Any]] = {"system": "pomca", "level": 1}


def _listed(array: pa.Array | None, size: int) -> list:
    return array.to_pylist() if array is not None else [None] * size
