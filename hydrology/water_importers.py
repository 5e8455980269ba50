"""Rivers (lines) and water intakes (points) from published files, on the import template.

Both are keyed by (source, source_id). `source` is the product (HydroRIVERS), a field of the
file, `--set source=...`, or else the file's name; `source_id` is the published identifier
when there is a durable one (HYRIV_ID, a code column) and otherwise a fingerprint of the
shape in EPSG:9377 (geo.fingerprint): OBJECTIDs are renumbered on every export, the shape is
not. Re-importing the same file therefore updates its rows instead of duplicating them.
"""

from __future__ import annotations

from typing import Any, ClassVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from geo.fingerprint import PREFIX, geometry_fingerprints
from layers import values
from layers.importer import STAGE, Column, Importer, ImportSummary
from layers.values import Issues

MAX_ROW_WARNINGS = 20  # per-row warnings listed; the count is always given
STRAHLER_MAX = 12  # the Amazon is order 12 in HydroRIVERS; anything above is a typo


def strahler(array: pa.Array, issues: Issues, field: str) -> pa.Array:
    """Strahler orders as int32; values outside 1..12 (0 often means "unknown") become null."""
    orders = values.integer(array, issues, field)
    outside = pc.or_(pc.less(orders, 1), pc.greater(orders, STRAHLER_MAX))
    mask = np.asarray(outside.fill_null(False).to_numpy(zero_copy_only=False), dtype=bool)
    if mask.any():
        sample = orders[int(np.flatnonzero(mask)[0])].as_py()
        issues.warn(
            f"Órdenes de Strahler fuera de 1–{STRAHLER_MAX} en '{field}' se dejaron vacíos "
            f"(p. ej. {sample})."
        )
    return pc.if_else(outside, None, orders)


def municipality_code(array: pa.Array, issues: Issues, field: str) -> pa.Array:
    """DIVIPOLA municipality codes zero-padded to 5 digits (5154 -> '05154', warned); a value
    that is no code of 1 to 5 digits becomes null (the intake importer warns per row)."""
    codes = values.text(array, issues, field)
    digits = pc.match_substring_regex(codes, "^[0-9]{1,5}$")
    return values.divipola(5)(pc.if_else(digits, array, None), issues, field)


class SourceKeyedImporter(Importer):
    """Rows keyed by (source, source_id), the id published or fingerprinted from the shape."""

    key = ("source", "source_id")
    duplicate_hint = (
        f"Un source_id '{PREFIX}…' es la huella de la geometría: esas filas repiten la misma "
        "geometría; quite las repetidas o indique un identificador con --map source_id=CAMPO."
    )

    def start(self, summary: ImportSummary) -> None:
        if "source" not in self.sources and "source" not in self.fixed:
            self.fixed["source"] = summary.file
            summary.warn(
                f"El archivo no indica la fuente: se usó su nombre, '{summary.file}'. Con "
                '--set source="..." la fuente (y con ella la llave de reimportación) no '
                "depende del nombre del archivo."
            )

    def convert_batch(self, batch: pa.RecordBatch, issues: Issues) -> dict[str, pa.Array]:
        data = super().convert_batch(batch, issues)
        # Rows without a published id get a fingerprint once their geometry is clean.
        published = data.pop("source_id", None)
        if published is not None:
            data["_published_id"] = published
        return data

    def after_geometry(self, geoms: np.ndarray, data: dict[str, pa.Array], issues: Issues) -> None:
        fingerprints = pa.array(geometry_fingerprints(geoms), pa.string())
        published = data.pop("_published_id", None)
        data["source_id"] = (
            fingerprints if published is None else pc.coalesce(published, fingerprints)
        )
        limit = self.limits.get("source_id")
        if published is not None and limit:
            lengths = pc.utf8_length(published).fill_null(0).to_numpy(zero_copy_only=False)
            source = self.sources.get("source_id", "source_id")
            issues.reject(
                lengths > limit, lambda i: f"el valor de '{source}' supera {limit} caracteres"
            )

    def describe(self, data: dict[str, pa.Array], index: int) -> str:
        """The published id (never a fingerprint) and the name, for messages."""
        parts = []
        for name in ("source_id", "name"):
            column = data.get(name)
            value = column[index].as_py() if column is not None else None
            if value is None or value == "" or str(value).startswith(PREFIX):
                continue
            parts.append(f"{self.sources.get(name, name)} '{value}'")
        return ", ".join(parts)


class RiverImporter(SourceKeyedImporter):
    """Rivers and streams: LineStrings stored as MultiLineStrings with length_km in 9377."""

    layer = "rivers"
    model = "hydrology.River"
    table = "hydrology_river"
    geometry_kind = "line"
    defaults: ClassVar[dict[str, Any] | None] = {"name": "", "source": ""}
    columns = (
        Column("source"),
        Column("source_id"),
        Column("name"),
        Column("strahler_order", "int4", convert=strahler),
    )
    fields: ClassVar[dict[str, tuple[str, ...]]] = {
        "source": ("source", "fuente_datos"),
        "source_id": ("source_id", "id_drenaje", "cod_drenaje"),
        "name": ("name", "nombre", "nombre_geo", "nom_rio", "nombre_rio"),
        "strahler_order": ("strahler_order", "strahler", "orden", "ord_stra"),
    }


class HydroRivers(RiverImporter):
    """HydroRIVERS (HYRIV_ID, ORD_STRA); unnamed reaches, globally unique ids."""

    label = "HydroRIVERS"
    signature = ("HYRIV_ID",)
    fields: ClassVar[dict[str, tuple[str, ...]]] = {
        "source_id": ("HYRIV_ID",),
        "strahler_order": ("ORD_STRA",),
    }
    constants: ClassVar[dict[str, Any]] = {"source": "HydroRIVERS"}


class IdeamDrainage(RiverImporter):
    """IDEAM/IGAC "drenaje sencillo" style: NOMBRE_GEO or NOM_RIO or NOMBRE, ORDEN or STRAHLER."""

    label = "IDEAM drenaje sencillo"
    fields: ClassVar[dict[str, tuple[str, ...]]] = {
        "source": ("fuente_datos",),
        "name": ("NOMBRE_GEO", "NOM_RIO", "NOMBRE"),
        "strahler_order": ("ORDEN", "STRAHLER"),
    }

    @classmethod
    def recognises(cls, file_fields: list[str]) -> bool:
        # Plain NOMBRE is too common to claim a file; these names are the product's own.
        present = {f.upper() for f in file_fields}
        return bool(present & {"NOMBRE_GEO", "NOM_RIO", "ORDEN", "STRAHLER"})


class WaterIntakeImporter(SourceKeyedImporter):
    """Water intakes (bocatomas): one Point each, with the municipality they serve."""

    layer = "water_intakes"
    model = "hydrology.WaterIntake"
    table = "hydrology_waterintake"
    geometry_kind = "point"
    defaults: ClassVar[dict[str, Any] | None] = {"name": "", "aqueduct": "", "source": ""}
    columns = (
        Column("source"),
        Column("source_id"),
        Column("name"),
        Column("serves_municipality_id", convert=municipality_code),
        Column("aqueduct"),
    )
    # The code as published, staged only, so unresolved codes are reported row by row.
    extra = (Column("municipality_code"),)
    fields: ClassVar[dict[str, tuple[str, ...]]] = {
        "source": ("source", "fuente_datos"),
        "source_id": ("source_id", "cod_bocatoma", "id_bocatoma", "codigo_bocatoma", "codigo"),
        "name": ("name", "nombre", "nombre_bocatoma", "nom_bocatoma", "bocatoma"),
        "serves_municipality_id": (
            "serves_municipality",
            "serves_municipality_id",
            "cod_mpio",
            "mpio_ccnct",
            "cod_dane",
            "codigo_dane",
            "divipola",
            "municipio",
        ),
        "aqueduct": ("aqueduct", "acueducto", "prestador", "nom_prestador"),
    }

    def convert_batch(self, batch: pa.RecordBatch, issues: Issues) -> dict[str, pa.Array]:
        data = super().convert_batch(batch, issues)
        data.pop("municipality_code", None)
        if "serves_municipality_id" in self.sources:
            source = self.sources["serves_municipality_id"]
            data["municipality_code"] = values.text(batch.column(source), issues, source)
        elif "serves_municipality_id" in self.fixed:
            constant = pa.array([self.fixed["serves_municipality_id"]] * batch.num_rows)
            data["municipality_code"] = values.text(constant, issues, "serves_municipality_id")
        return data

    def before_upsert(self, cursor: Any, summary: ImportSummary) -> None:
        """Codes of no loaded municipality: warn per row and keep the intake without one.

        The intake (its point, name and aqueduct) is what the water metrics count; a wrong
        or not yet loaded code in one attribute should neither lose it nor block the file,
        and a dangling code would make every join to municipalities silently miss it.
        """
        field = self.sources.get("serves_municipality_id", "serves_municipality_id")
        # One pass: unlink the staged rows whose code names no loaded municipality and return
        # them (with whether the code was malformed, i.e. already null) for the warnings.
        cursor.execute(
            f"""
            UPDATE {STAGE} s SET serves_municipality_id = NULL
            FROM (
                SELECT row_no, serves_municipality_id IS NULL AS malformed FROM {STAGE} u
                WHERE u.municipality_code IS NOT NULL AND NOT EXISTS (
                    SELECT 1 FROM layers_municipality m WHERE m.code = u.serves_municipality_id)
            ) AS bad
            WHERE s.row_no = bad.row_no
            RETURNING s.row_no, s.municipality_code, s.name, bad.malformed
            """
        )
        unresolved = sorted(cursor.fetchall())
        if not unresolved:
            return
        cursor.execute("SELECT EXISTS (SELECT 1 FROM layers_municipality)")
        loaded = cursor.fetchone()[0]
        for row_no, code, name, malformed in unresolved[:MAX_ROW_WARNINGS]:
            where = f"fila {row_no}" + (
                f" ({self.sources.get('name', 'name')} '{name}')" if name else ""
            )
            why = (
                "no es un código DIVIPOLA de municipio (5 dígitos)"
                if malformed
                else "no está entre los municipios cargados"
            )
            summary.warn(
                f"{where}: el código de municipio '{code}' de '{field}' {why}; la bocatoma se "
                "importa sin municipio abastecido."
            )
        if len(unresolved) > MAX_ROW_WARNINGS:
            summary.warn(
                f"… y {len(unresolved) - MAX_ROW_WARNINGS} bocatomas más con códigos de "
                "municipio sin resolver."
            )
        if not loaded:
            summary.warn(
                "No hay municipios cargados: importe la capa municipalities y vuelva a importar "
                "las bocatomas para enlazarlas."
            )


class MunicipalIntakes(WaterIntakeImporter):
    """Intake inventories of municipalities and CARs: NOMBRE, COD_MPIO/MPIO_CCNCT/MUNICIPIO,
    ACUEDUCTO/PRESTADOR."""

    label = "bocatomas (NOMBRE, COD_MPIO, ACUEDUCTO)"

    @classmethod
    def recognises(cls, file_fields: list[str]) -> bool:
        present = {f.upper() for f in file_fields}
        return bool(present & {"COD_MPIO", "MPIO_CCNCT", "MUNICIPIO"}) and bool(
            present & {"ACUEDUCTO", "PRESTADOR", "NOMBRE"}
        )
